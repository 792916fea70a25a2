"""Capture-integrity checks on real clips and on doctored variants this file makes with PyAV."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from app.core.errors import MediaError
from app.core.forensics.integrity import CaptureRecord, IntegrityReport, file_integrity, match_virtual_camera


def _frames(path: Path, limit: int | None = None, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """Decoded RGB frames of a clip, optionally resized to ``size`` (w, h)."""
    out = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            if size:
                f = f.reformat(width=size[0], height=size[1])
            out.append(f.to_ndarray(format="rgb24"))
            if limit and len(out) >= limit:
                break
    return out


def _write(path: Path, frames: list[np.ndarray], pts_ms: list[int] | None = None, fps: int = 30,
           fmt: str | None = None, metadata: dict[str, str] | None = None) -> Path:
    """Encode RGB frames with libx264; ``pts_ms`` gives per-frame times in ms (else constant fps)."""
    with av.open(str(path), "w", format=fmt) as c:
        c.metadata.update(metadata or {})
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "23"}
        if pts_ms is not None:
            s.codec_context.time_base = Fraction(1, 1000)
        for i, img in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            if pts_ms is not None:
                vf.pts, vf.time_base = pts_ms[i], Fraction(1, 1000)
            c.mux(s.encode(vf))
        c.mux(s.encode(None))
    return path


def _check(report: IntegrityReport, name: str):
    f = report.finding(name)
    assert f is not None
    return f


def test_original_scores_low(single_face: Path) -> None:
    r = file_integrity(single_face)
    assert r.score < 0.15, r.to_dict()
    assert r.summary["frames"] == 72
    for name in ("frozen", "loop", "format_change", "timing"):
        assert _check(r, name).score == 0.0, name
    meta = _check(r, "metadata")
    assert "FFmpeg" in meta.summary and 0 < meta.score <= 0.3  # single_face.mp4 carries a Lavf encoder tag
    json.dumps(r.to_dict())  # JSON-able


def test_frozen_stretch_found_with_its_frame_range(single_face: Path, tmp_path: Path) -> None:
    fr = _frames(single_face)
    doctored = fr[:20] + [fr[20]] * 30 + fr[21:]  # frame 20 shown 30 times: frames 20..49 identical
    r = file_integrity(_write(tmp_path / "frozen.mp4", doctored))
    f = _check(r, "frozen")
    assert f.score > 0.3 and f.evidence["run_count"] == 1, f.evidence
    run = f.evidence["runs"][0]
    assert abs(run["first_frame"] - 20) <= 2 and abs(run["last_frame"] - 49) <= 2, run
    assert "frozen" in f.summary
    assert r.score > file_integrity(single_face).score
    assert _check(r, "loop").score == 0.0  # a still picture is not a loop


def test_looped_clip_found(talking_head: Path, tmp_path: Path) -> None:
    fr = _frames(talking_head, limit=240, size=(320, 180))  # 10 s at 23.976 fps
    looped = fr + fr[:36]  # the first 1.5 s appended again
    r = file_integrity(_write(tmp_path / "looped.mp4", looped, fps=24))
    f = _check(r, "loop")
    assert f.score >= 0.6, f.evidence
    top = f.evidence["loops"][0]
    assert top["first"] <= 5 and abs(top["copy_first"] - (240 + top["first"])) <= 2, top
    assert top["last"] - top["first"] >= 15
    plain = file_integrity(_write(tmp_path / "plain.mp4", fr, fps=24))
    assert _check(plain, "loop").score == 0.0, _check(plain, "loop").evidence


def test_resolution_change_mid_stream(single_face: Path, tmp_path: Path) -> None:
    big, small = _frames(single_face, limit=30), _frames(single_face, limit=60, size=(320, 180))[30:]
    a = _write(tmp_path / "a.ts", big, pts_ms=[i * 33 for i in range(30)], fmt="mpegts")
    b = _write(tmp_path / "b.ts", small, pts_ms=[(30 + i) * 33 for i in range(30)], fmt="mpegts")
    joined = tmp_path / "joined.ts"
    joined.write_bytes(a.read_bytes() + b.read_bytes())
    r = file_integrity(joined)
    f = _check(r, "format_change")
    assert f.score >= 0.6, f.evidence
    change = f.evidence["changes"][0]
    assert change["from"].startswith("640x360") and change["to"].startswith("320x180")
    assert abs(change["frame"] - 30) <= 2, change


def test_reencode_tag_is_a_weak_metadata_cue(single_face: Path, tmp_path: Path) -> None:
    out = _write(tmp_path / "export.mp4", _frames(single_face), metadata={"comment": "Exported with HandBrake 1.6.1"})
    r = file_integrity(out)
    meta = _check(r, "metadata")
    assert "HandBrake" in meta.summary and "HandBrake" in meta.evidence["writing_apps"]
    assert 0 < meta.score <= 0.5
    assert r.score < 0.3  # a re-encode on its own must not look like fraud


def test_timing_gap_found(single_face: Path, tmp_path: Path) -> None:
    fr = _frames(single_face, limit=60)
    pts = [i * 33 for i in range(30)] + [1000 + i * 33 for i in range(30, 60)]  # 1 s jump after frame 29
    r = file_integrity(_write(tmp_path / "gap.mp4", fr, pts_ms=pts))
    f = _check(r, "timing")
    assert f.evidence["gap_count"] == 1 and 0.8 <= f.evidence["missing_s"] <= 1.2, f.evidence
    assert abs(f.evidence["gaps"][0]["after_s"] - 29 * 0.033) < 0.05
    assert f.score >= 0.5 and "skips" in f.summary
    even = file_integrity(_write(tmp_path / "even.mp4", fr, pts_ms=[i * 33 for i in range(60)]))
    assert _check(even, "timing").score < 0.1


def test_phone_original_is_not_flagged_for_timing(face_noface: Path) -> None:
    r = file_integrity(face_noface)
    assert _check(r, "timing").evidence["gap_count"] == 0
    assert _check(r, "frozen").score == 0.0 and _check(r, "loop").score == 0.0
    assert r.score < 0.2


@pytest.mark.parametrize("name, product", [
    ("OBS Virtual Camera", "OBS Virtual Camera"), ("OBS-Camera", "OBS Virtual Camera"),
    ("ManyCam Virtual Webcam", "ManyCam"), ("XSplit VCam", "XSplit VCam"), ("Snap Camera", "Snap Camera"),
    ("DroidCam Source 3", "DroidCam"), ("e2eSoft VCam", "e2eSoft VCam"), ("VCam", "e2eSoft VCam"),
    ("Camera (NVIDIA Broadcast)", "NVIDIA Broadcast"), ("CyberLink YouCam 10", "CyberLink YouCam"),
    ("Logitech Capture", "Logitech Capture"), ("Camo", "Camo"), ("EpocCam", "EpocCam"), ("e2eSoft iVCam", "iVCam"),
    ("Iriun Webcam", "Iriun Webcam"), ("NDI Webcam Input", "NDI Virtual Input"),
    ("Elgato Virtual Camera", "Elgato Camera Hub"), ("Dummy video device (0x0000)", "v4l2loopback"),
    ("AlterCam Virtual Camera", "AlterCam"), ("SplitCam Video Driver", "SplitCam"),
    ("Some Virtual Webcam", "virtual camera (unnamed product)"),
])
def test_virtual_camera_names_match(name: str, product: str) -> None:
    assert match_virtual_camera(name) == product


@pytest.mark.parametrize("name", ["Integrated Camera", "FaceTime HD Camera", "Logitech BRIO", "HD Pro Webcam C920",
                                  "USB2.0 HD UVC WebCam", "Microsoft® LifeCam HD-3000", "Razer Kiyo",
                                  "Elgato Facecam", "Insta360 Link", "HP TrueVision HD Camera", ""])
def test_real_cameras_do_not_match(name: str) -> None:
    assert match_virtual_camera(name) is None


def test_capture_record_round_trip_and_virtual_camera_finding(single_face: Path) -> None:
    rec = CaptureRecord(source="camera", device_name="OBS Virtual Camera", device_id="/dev/video4",
                        started_at="2026-11-25T10:00:00+00:00", os="Linux-6.1", app_version="0.3.0")
    rec.set_intervals([33.3] * 1000 + [120.0])
    assert rec.virtual_camera == "OBS Virtual Camera"
    assert len(rec.frame_intervals_ms) <= 600 and rec.interval_summary["count"] == 1001
    assert rec.interval_summary["max"] == 120.0
    back = CaptureRecord.from_dict(json.loads(json.dumps(rec.to_dict())))
    assert back == rec
    with pytest.raises(ValueError):
        CaptureRecord(source="webcam")
    r = file_integrity(single_face, capture=rec)
    vc = _check(r, "virtual_camera")
    assert vc.score == 1.0 and "OBS" in vc.summary and r.score >= 0.99
    assert r.to_dict()["capture"]["device_name"] == "OBS Virtual Camera"


def test_max_frames_limits_the_pass(talking_head: Path) -> None:
    r = file_integrity(talking_head, max_frames=50)
    assert r.summary["frames"] == 50


def test_bad_input_raises_media_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError):
        file_integrity(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    with pytest.raises(MediaError):
        file_integrity(junk)
