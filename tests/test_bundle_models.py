"""Models the packaged app leaves out (manifest ``"bundled": false``, Whisper tiny.en).

The packaged app is recognised by PyInstaller's ``sys.frozen`` and ``sys._MEIPASS``; here they are
set on this process (``_MEIPASS`` = the repository, so every shipped model is really found and
verified) to show what the bundle does, and unset to show a source installation keeps the model.
``installer/smoke_test.py`` shows the same on a real bundle.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.core.errors import ModelError
from app.core.models import NOT_INSTALLED, load_manifest, verify
from app.core.voice.whisper_models import whisper_model_dir

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def packaged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(REPO), raising=False)
    monkeypatch.delenv("VIGIL_MODELS", raising=False)


def test_only_whisper_tiny_en_is_left_out_of_the_bundle() -> None:
    left_out = [m.name for m in load_manifest().values() if not m.bundled]
    assert left_out == ["whisper_tiny_en"]


def test_source_installation_keeps_whisper_tiny_en() -> None:
    assert verify(load_manifest()["whisper_tiny_en"]) == "ok"
    assert (whisper_model_dir("whisper-tiny.en") / "model.bin").is_file()


def test_packaged_app_reports_tiny_en_as_not_installed_in_one_line(packaged: None) -> None:
    manifest = load_manifest()
    assert verify(manifest["whisper_tiny_en"]) == NOT_INSTALLED
    assert verify(manifest["fer_mini_xception"]) == "ok"  # the shipped models are still checked
    with pytest.raises(ModelError) as err:
        whisper_model_dir("whisper-tiny.en")
    msg = str(err.value)
    assert "not part of this installation" in msg and "--asr-model whisper-base" in msg and "\n" not in msg


def test_packaged_models_verify_passes_and_lists_the_left_out_model(packaged: None,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from app.cli import main

    assert main(["models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["whisper_tiny_en"]["bundled"] is False and rows["fer_mini_xception"]["bundled"] is True
