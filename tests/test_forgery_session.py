"""The forgery pass inside ``analyze``: per-frame columns, stored windows and session, on real clips."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from app.core.pipeline import PipelineConfig
from app.services.export import frames_csv
from app.services.session import analyze_media
from app.store import forgery as fstore
from app.store.workspace import Workspace

pytestmark = pytest.mark.slow


def _analyse(ws: Workspace, path: Path) -> tuple[dict, list[dict[str, str]], Path]:
    res = analyze_media(ws, path, None, PipelineConfig(), None)
    out = Path(ws.path).with_suffix(f".{path.stem}.csv")
    frames_csv(ws, res.case_id, out)
    with out.open(newline="") as fh:
        return res.forgery, list(csv.DictReader(fh)), out


def test_real_clip_scores_low_and_fills_the_columns(tmp_path: Path, talking_head: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path))
    with Workspace.open(tmp_path / "w.db") as ws:
        forgery, rows, _ = _analyse(ws, talking_head)
        assert forgery["probability"] is not None and forgery["probability"] < 0.2
        usable = [r for r in rows if r["usable"] == "1"]
        assert usable and all(r["forgery"] != "" for r in usable)
        assert all(0.0 <= float(r["forgery"]) <= 1.0 for r in usable)
        assert all(r["forgery"] == "" for r in rows if r["usable"] == "0")
        windows = list(ws.db.query("select * from forgery_windows"))
        assert len(windows) >= 8  # 20 s in 2 s windows
        ev = json.loads(windows[0]["cues_json"])
        assert set(ev["cues"]) == {"temporal", "blink", "headpose", "avsync", "sbi", "freq"}
        assert forgery["cues"]["freq"] is not None and forgery["cues"]["freq"] < 0.1
        assert forgery["cues"]["sbi"] is not None and forgery["cues"]["sbi"] < 0.1
        assert all(r["fg_freq"] != "" for r in usable)
        assert len(fstore.sessions(ws, 1)) == 1


def test_looped_unsynced_interview_scores_higher(tmp_path: Path, talking_head: Path, interview_clip: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The mock interview loops the talking head and its dialogue is not the face's speech."""
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path))
    with Workspace.open(tmp_path / "w.db") as ws:
        real, _, _ = _analyse(ws, talking_head)
        fake, rows, _ = _analyse(ws, interview_clip)
    assert fake["probability"] > real["probability"] + 0.2
    assert fake["cues"]["avsync"] > 0.5
    assert fake["integrity"] > 0.5  # the loop found by capture integrity


def test_forgery_eval_reports_auc_per_video_and_per_cue(tmp_path: Path, single_face: Path, talking_head: Path,
                                                        interview_clip: Path) -> None:
    import os
    import shutil
    import sqlite3
    import subprocess
    import sys

    for d, clips in (("real", (single_face, talking_head)), ("fake", (interview_clip,))):
        (tmp_path / d).mkdir()
        for c in clips:
            shutil.copy(c, tmp_path / d / c.name)
    env = dict(os.environ, VIGIL_DATA_DIR=str(tmp_path / "data"))
    target, cache = tmp_path / "target.db", tmp_path / "cache.db"
    cmd = [sys.executable, "-m", "app", "forgery-eval", "--real", str(tmp_path / "real"), "--fake",
           str(tmp_path / "fake"), "--workspace", str(target), "--cache", str(cache), "--json",
           "--plot", str(tmp_path / "roc.png")]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert {v["label"] for v in report["videos"]} == {"real", "fake"} and len(report["videos"]) == 3
    fake = next(v for v in report["videos"] if v["label"] == "fake")
    assert all(v["score"] < fake["score"] for v in report["videos"] if v["label"] == "real")
    assert fake["carried_by"] in ("avsync", "integrity")  # the loop and the foreign dialogue carry it
    assert report["auc"] == 1.0 and (report["n_real"], report["n_fake"]) == (2, 1)
    assert report["n_groups"] == 3  # one group per file by default
    assert set(report["cues"]) == {"temporal", "blink", "headpose", "avsync", "sbi", "freq", "integrity"}
    assert (tmp_path / "roc.png").stat().st_size > 1000
    # the cache is kept: a second evaluation reuses its face pass (no new run) and scores the same
    p = subprocess.run(cmd[:-2], capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, p.stderr
    again = json.loads(p.stdout)
    assert [v["score"] for v in again["videos"]] == [v["score"] for v in report["videos"]]
    assert sqlite3.connect(cache).execute("select count(*) from runs").fetchone()[0] == 3
    p = subprocess.run(cmd[:-2] + ["--fit"], capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 2 and "too few videos" in p.stderr and "Traceback" not in p.stderr
    assert sqlite3.connect(target).execute("select count(*) from forgery_models").fetchone()[0] == 0
