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
