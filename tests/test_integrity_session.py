"""Capture integrity is computed once per media file during analysis and kept with the media row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.pipeline import PipelineConfig
from app.services.session import analyze_media
from app.store.workspace import Workspace

pytestmark = pytest.mark.slow


def test_integrity_is_stored_with_the_media(tmp_path: Path, single_face: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path))
    with Workspace.open(tmp_path / "w.db") as ws:
        res = analyze_media(ws, single_face, None, PipelineConfig(), None)
        stored = json.loads(ws.db.execute("select integrity_json from media").fetchone()[0])
        assert stored["score"] == res.integrity["score"]
        assert 0.0 <= stored["score"] < 0.3  # an untouched real clip
        assert {f["check"] for f in stored["findings"]} >= {"frozen", "loop", "timing", "metadata"}
        again = analyze_media(ws, single_face, None, PipelineConfig(), None)
        assert again.video.status == "already" and again.integrity == stored
        actions = [r[0] for r in ws.db.execute("select action from audit where action = 'media.integrity'")]
        assert actions == ["media.integrity"]


def _strip_timing(report: dict) -> dict:
    out = json.loads(json.dumps(report))
    out["summary"].pop("scan_s")
    return out


def test_video_pass_collects_the_same_report_as_a_separate_scan(tmp_path: Path, single_face: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The integrity checks ride on the analysis's own decoding; they must find what a separate pass finds."""
    from app.core.forensics import integrity
    from app.core.forensics.integrity import file_integrity
    from tests.test_integrity import _frames, _write

    fr = _frames(single_face)
    frozen = _write(tmp_path / "frozen.mp4", fr[:20] + [fr[20]] * 30 + fr[21:])
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path))
    separate = []
    monkeypatch.setattr(integrity, "file_integrity", lambda p: separate.append(p) or file_integrity(p))
    with Workspace.open(tmp_path / "w.db") as ws:
        res = analyze_media(ws, frozen, None, PipelineConfig(), None)
        stored = json.loads(ws.db.execute("select integrity_json from media").fetchone()[0])
    assert separate == []  # the file was not decoded a second time
    assert stored == res.integrity
    assert [f["check"] for f in stored["findings"] if f["score"] > 0.3] == ["frozen"]
    assert _strip_timing(stored) == _strip_timing(file_integrity(frozen).to_dict())


def test_cancelled_pass_keeps_no_partial_integrity_and_the_resume_completes_it(
        tmp_path: Path, single_face: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.forensics.integrity import file_integrity

    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path))
    config = PipelineConfig(batch_frames=8)
    with Workspace.open(tmp_path / "w.db") as ws:
        calls = {"n": 0}

        def cancel() -> bool:  # stop after the second batch
            calls["n"] += 1
            return calls["n"] > 2

        res = analyze_media(ws, single_face, None, config, None, cancel=cancel)
        assert res.interrupted and res.integrity is None
        assert ws.db.execute("select integrity_json from media").fetchone()[0] is None
        again = analyze_media(ws, single_face, None, config, None)
        assert again.video.status == "completed" and not again.interrupted
        stored = json.loads(ws.db.execute("select integrity_json from media").fetchone()[0])
    assert stored["summary"]["frames"] == 72  # every frame, though the resumed pass analysed only the rest
    assert _strip_timing(stored) == _strip_timing(file_integrity(single_face).to_dict())
