"""``vigil record``: one-line failures (no camera, no audio device, no consent), a recording filed in a
case with its disclosure, confirmation and capture record, and that record reaching the integrity check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.store.recording import case_recordings, recording
from app.store.workspace import Workspace
from tests.test_record_core import make_sync_media

REPO = Path(__file__).resolve().parents[1]


def vigil(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory, talking_head: Path) -> tuple[Path, Path]:
    return make_sync_media(tmp_path_factory.mktemp("cli"), talking_head, seconds=5.0)


def _one_line_error(r: subprocess.CompletedProcess, *words: str) -> None:
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vigil: error: "), r.stderr
    assert all(w in lines[0] for w in words), lines[0]
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_no_camera_is_one_line_and_exit_2(tmp_path):
    r = vigil("record", "--video", "camera:97", "--audio", "none", "--out", str(tmp_path / "x.mp4"),
              "--workspace", str(tmp_path / "w.db"), "--consent-confirmed")
    _one_line_error(r, "no camera")
    assert not (tmp_path / "x.mp4").exists()


def test_no_audio_device_is_one_line_and_exit_2(tmp_path, media):
    from app.core.record import list_audio_inputs

    which = "default" if not list_audio_inputs() else "no-such-audio-device-xyz"
    r = vigil("record", "--video", f"file:{media[0]}", "--audio", which, "--out", str(tmp_path / "x.mp4"),
              "--workspace", str(tmp_path / "w.db"), "--consent-confirmed")
    _one_line_error(r, "audio input device")
    assert not (tmp_path / "x.mp4").exists()


def test_without_consent_nothing_is_recorded(tmp_path, media):
    r = vigil("record", "--video", f"file:{media[0]}", "--audio", "none", "--out", str(tmp_path / "x.mp4"),
              "--workspace", str(tmp_path / "w.db"))
    _one_line_error(r, "disclosure", "--consent-confirmed")
    assert not (tmp_path / "x.mp4").exists()


def test_list_names_the_file_and_none_sources():
    r = vigil("record", "--list", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data) == {"video", "audio"}
    assert "file:PATH" in vigil("record", "--list").stdout


def test_recording_goes_into_a_case_with_consent_and_capture_record(tmp_path, media):
    video, wav = media
    ws_path, out = tmp_path / "w.db", tmp_path / "rec.mp4"
    r = vigil("record", "--video", f"file:{video}", "--audio", f"file:{wav}", "--duration", "3", "--out", str(out),
              "--workspace", str(ws_path), "--case", "Applicant 7", "--consent-confirmed")
    assert r.returncode == 0, r.stderr
    case_id = int(r.stdout.strip())
    with Workspace.open(ws_path) as ws:
        case = ws.find_case(case_id)
        assert case["name"] == "Applicant 7"
        recs = case_recordings(ws, case_id)
        assert len(recs) == 1
        rec = recs[0]
        assert rec["consent_confirmed"] == 1 and rec["confirmed_at"]
        assert "录音录像" in rec["disclosure_text"] and "being recorded" in rec["disclosure_text"]
        cap = rec["capture"]
        assert cap["device_name"] == video.name and cap["frames_written"] > 60 and "interval_summary" in cap
        media_row = ws.media(rec["media_id"])
        assert Path(media_row["path"]).resolve() == out.resolve()
        actions = [a["action"] for a in ws.db.query("select action from audit where case_id = ?", [case_id])]
        assert "recording.consent" in actions and "recording.capture" in actions


def test_analyze_reads_the_capture_record_into_the_integrity_check(tmp_path, media):
    """A recording whose device was a virtual camera: the analysis' integrity report must say so."""
    from app.services.record import add_recording_to_case, open_sources, DEFAULT_DISCLOSURE
    from app.services.session import analyze_media
    from app.core.pipeline import PipelineConfig
    from app.core.record import record

    video, _ = media
    v, a = open_sources(f"file:{video}", "none")
    v.info.kind, v.info.name = "camera", "OBS Virtual Camera"  # the name the OS would report for OBS's camera
    res = record(v, a, tmp_path / "obs.mp4", duration=2.0)
    with Workspace.open(tmp_path / "w.db") as ws:
        out = add_recording_to_case(ws, res, None, DEFAULT_DISCLOSURE, True, "camera:0", "none")
        assert recording(ws, out.media_id)["capture"]["virtual_camera"] == "OBS Virtual Camera"
        s = analyze_media(ws, res.path, None, PipelineConfig(), None)
        assert s.case_id == out.case_id
        vc = next(f for f in s.integrity["findings"] if f["check"] == "virtual_camera")
        assert vc["score"] == 1.0 and "OBS" in vc["summary"]
        assert s.integrity["score"] >= 0.99
        assert s.forgery is not None and s.forgery["integrity"] == s.integrity["score"]  # into the fusion
