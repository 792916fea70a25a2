"""A whole recording through ``vigil analyze``: video and voice into one case, then exported.

Uses a mock interview built from real media (see the ``interview_clip`` fixture): a talking-head
video whose audio is an espeak-ng interviewer asking three questions and a LibriVox reader answering.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from app.core.voice.acoustic import ACOUSTIC_NAMES
from app.core.voice.text import TEXT_NAMES
from app.store import runs
from app.store.workspace import Workspace

pytestmark = pytest.mark.slow


def vigil(*args: str, env_dir: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, VIGIL_DATA_DIR=str(env_dir))
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env, timeout=900)


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory, interview_clip: Path) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("session")
    ws = d / "w.db"
    p = vigil("analyze", str(interview_clip), "--workspace", str(ws), env_dir=d)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().isdigit()
    return ws, d


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_one_export_call_writes_frames_utterances_and_features(analysed: tuple[Path, Path]) -> None:
    ws, d = analysed
    p = vigil("export", "latest", "--workspace", str(ws), "--frames-csv", str(d / "f.csv"),
              "--utterances-csv", str(d / "u.csv"), "--features-csv", str(d / "x.csv"), env_dir=d)
    assert p.returncode == 0, p.stderr
    header = (d / "u.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("start_s,end_s,speaker,lang,text,arousal,arousal_level,deception_risk")
    utts = _rows(d / "u.csv")
    assert 7 <= len(utts) <= 10  # four questions, four answers (a long answer may split)
    assert {u["speaker"] for u in utts} == {"A", "B"}
    assert all(u["lang"] == "en" for u in utts)
    starts = [float(u["start_s"]) for u in utts]
    assert starts == sorted(starts)
    # The applicant is the one who answers: the LibriVox reader, not the interviewer who asks.
    applicant = [u for u in utts if u["is_applicant"] == "1"]
    assert applicant and len({u["speaker"] for u in applicant}) == 1
    text = " ".join(u["text"].lower() for u in applicant)
    assert "dashwood" in text and "disposed" in text
    asker = " ".join(u["text"].lower() for u in utts if u["is_applicant"] == "0")
    assert "income" in asker and "loan" in asker and "dashwood" not in asker
    for u in applicant:
        assert 0.0 <= float(u["deception_risk"]) <= 1.0 and u["arousal"] != ""
        assert 0.0 < float(u["arousal_level"]) < 1.0  # the baseline answers get a level too
        assert "uncalibrated" in u["risk_model"]
    assert any(u["is_baseline"] == "1" for u in applicant)
    # Only the applicant is scored: the interviewer's questions carry no risk, arousal or model.
    interviewer = [u for u in utts if u["is_applicant"] == "0"]
    assert interviewer and all(u["deception_risk"] == u["arousal"] == u["arousal_level"] == u["risk_model"] == ""
                               for u in interviewer)
    # The silences inserted before the answers grow 0.6, 0.75, 0.9, 1.05 s; the clips add their own
    # leading and trailing silence (< 0.8 s), so the measured latencies keep that order and range.
    lat = [float(u["latency_s"]) for u in applicant if u["latency_s"]]
    assert len(lat) >= 3 and lat == sorted(lat), lat
    assert all(0.6 <= x <= 1.05 + 0.8 for x in lat), lat
    feats = _rows(d / "x.csv")
    assert len(feats) == len(utts)
    cols = list(feats[0])
    assert sum(c.startswith("ac_") for c in cols) == len(ACOUSTIC_NAMES) >= 600
    assert sum(c.startswith("tx_") for c in cols) == len(TEXT_NAMES) >= 200
    assert len(_rows(d / "f.csv")) > 100


def test_evidence_names_cues_and_the_baseline(analysed: tuple[Path, Path]) -> None:
    ws, _ = analysed
    with Workspace.open(ws) as w:
        run = runs.case_run(w, w.find_case("latest")["id"], kind="voice")
        assert run["status"] == "completed"
        models = {m["name"] for m in json.loads(run["models_json"])}
        assert {"silero_vad", "whisper_base"} <= models
        utts = list(w.db.query("select * from utterances where run_id = ? order by start_s", [run["id"]]))
    base = [u for u in utts if u["is_baseline"]]
    assert base and all(u["is_applicant"] for u in base)
    ev = json.loads(next(u for u in utts if u["is_applicant"] and not u["is_baseline"])["evidence_json"])
    assert ev["top_cues"] and all("baseline" in c["label"] or ":" in c["label"] for c in ev["top_cues"])
    assert "not a finding of deception" in ev["note"]


def test_video_without_audio_is_analysed_with_a_note(tmp_path: Path, single_face: Path) -> None:
    silent = tmp_path / "silent.mp4"
    with av.open(str(single_face)) as src, av.open(str(silent), "w") as out:
        vs = out.add_stream("libx264", rate=30)
        vs.width, vs.height, vs.pix_fmt = 640, 360, "yuv420p"
        for k, frame in enumerate(src.decode(video=0)):
            img = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")
            img.pts = k
            out.mux(vs.encode(img))
        out.mux(vs.encode())
    p = vigil("analyze", str(silent), "--workspace", str(tmp_path / "w.db"), env_dir=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "no audio track" in p.stderr
    assert "Traceback" not in p.stderr


def test_no_voice_skips_voice_and_audio_only_skips_faces(tmp_path: Path) -> None:
    speech = Path(__file__).resolve().parents[1] / "resources" / "sample" / "speech_en.flac"
    ws = tmp_path / "w.db"
    p = vigil("analyze", str(speech), "--workspace", str(ws), "--no-voice", env_dir=tmp_path)
    assert p.returncode == 0, p.stderr
    p = vigil("analyze", str(speech), "--workspace", str(ws), "--asr-model", "whisper-tiny.en", env_dir=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "audio only" in p.stderr
    with Workspace.open(ws) as w:
        kinds = [r["kind"] for r in w.db.query("select kind from runs")]
        assert kinds == ["voice"]
        texts = [r["text"].lower() for r in w.db.query("select text from utterances")]
    assert any("dashwood" in t for t in texts)


def test_subtitles_replace_speech_recognition(tmp_path: Path) -> None:
    speech = Path(__file__).resolve().parents[1] / "resources" / "sample" / "speech_en.flac"
    srt = tmp_path / "call.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:07,500\nMister Dashwood considered his power.\n\n"
                   "2\n00:00:07,500 --> 00:00:11,500\nHe was not an ill disposed young man.\n", encoding="utf-8")
    ws = tmp_path / "w.db"
    p = vigil("analyze", str(speech), "--workspace", str(ws), "--transcript", str(srt), env_dir=tmp_path)
    assert p.returncode == 0, p.stderr
    with Workspace.open(ws) as w:
        texts = [r["text"] for r in w.db.query("select text from utterances order by start_s")]
        models = [m["name"] for r in w.db.query("select models_json from runs") for m in json.loads(r["models_json"])]
    assert texts[0] == "Mister Dashwood considered his power."
    assert texts[1] == "He was not an ill disposed young man."
    assert "whisper_base" not in models


def test_bad_subtitle_file_is_one_clear_line(tmp_path: Path) -> None:
    speech = Path(__file__).resolve().parents[1] / "resources" / "sample" / "speech_en.flac"
    bad = tmp_path / "bad.srt"
    bad.write_bytes(np.random.default_rng(0).bytes(300))
    p = vigil("analyze", str(speech), "--workspace", str(tmp_path / "w.db"), "--transcript", str(bad), env_dir=tmp_path)
    assert p.returncode == 2
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "bad.srt" in lines[0] and "Traceback" not in p.stderr
