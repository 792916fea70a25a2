"""Record a remote interview into a case: sources, the disclosure and its confirmation, the capture record.

What the CLI (``vigil record``) and the GUI (File > Record interview…) share. The recording itself
is :mod:`app.core.record`; this module checks consent, opens the sources the user named, adds the
finished file to a case and keeps the disclosure, its confirmation and the capture record with it.
The capture-integrity check of the later analysis reads that record (device, backend, virtual camera).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import VigilError
from app.core.record import (AudioSource, RecordingResult, VideoSource, list_audio_inputs, list_cameras,
                             open_audio_source, open_video_source, record)
from app.services import compliance
from app.services.users import os_user
from app.store.recording import save_recording
from app.store.workspace import Workspace

DISCLOSURE = {
    "zh": "本次视频面谈将被录音录像，并在本机上进行分析（面部表情、语音及画面真实性），用于贷款申请的风险审核。"
          "分析结果仅作为审核人员的参考，不会自动作出任何决定。您有权拒绝录制。",
    "en": "This video interview is being recorded and analysed on this computer (facial expression, voice "
          "and the authenticity of the picture) for the risk review of your loan application. The results "
          "only assist the reviewer; no decision is made automatically. You may decline to be recorded.",
}
DEFAULT_DISCLOSURE = DISCLOSURE["zh"] + "\n\n" + DISCLOSURE["en"]


class ConsentMissing(VigilError):
    """Recording was asked for without confirming that the applicant was informed."""


@dataclass
class RecordOutcome:
    """A finished recording, in its case."""

    case_id: int
    media_id: int
    result: RecordingResult


def disclosure_text(text: str | None = None) -> str:
    """The disclosure to show: ``text`` (or ``@FILE`` to read it from a file), else the default in zh + en."""
    if not text:
        return DEFAULT_DISCLOSURE
    if text.startswith("@"):
        try:
            return Path(text[1:]).read_text(encoding="utf-8").strip() or DEFAULT_DISCLOSURE
        except OSError as exc:
            raise VigilError(f"{text[1:]}: cannot read the disclosure text ({exc.strerror})") from None
    return text


def list_sources() -> dict[str, list[dict[str, Any]]]:
    """Video sources (cameras, screens) and audio inputs, as ``--video`` / ``--audio`` values with names."""
    video = [dict(spec=f"camera:{c.index}", name=c.name, backend=c.backend, path=c.path) for c in list_cameras()]
    try:
        import mss

        with mss.mss() as m:
            for i, mon in enumerate(m.monitors[1:], 1):
                video.append(dict(spec=f"screen:{mon['left']},{mon['top']},{mon['width']},{mon['height']}",
                                  name=f"screen {i} (whole; give a region of the call window)", backend="mss"))
    except Exception:  # no display: no screen to offer
        pass
    audio = [dict(spec=str(d.index), name=d.name, backend=d.hostapi, channels=d.channels,
                  loopback=d.loopback, default=d.default) for d in list_audio_inputs()]
    return {"video": video, "audio": audio}


def open_sources(video: str, audio: str) -> tuple[VideoSource, AudioSource | None]:
    """Open the named sources (one-line errors: no camera, no audio device, bad spec)."""
    v = open_video_source(video)
    a = open_audio_source(audio)
    return v, a


def require_consent(confirmed: bool) -> None:
    """Refuse to record before the operator confirmed the applicant was informed."""
    if not confirmed:
        raise ConsentMissing("the applicant must be shown the disclosure before recording: confirm it with "
                             "--consent-confirmed (or answer the question on a terminal)")


def add_recording_to_case(ws: Workspace, result: RecordingResult, case_name: str | None, disclosure: str,
                          confirmed: bool, video: str, audio: str, confirmed_by: str | None = None) -> RecordOutcome:
    """Put a finished recording into a case (new, or ``case_name``'s) with its consent and capture record."""
    from app.services.analyze import register

    if result.frames == 0:
        raise VigilError(f"{result.path}: nothing was recorded" + (f" ({result.message})" if result.message else ""))
    reg = register(ws, result.path, case_name, [], require_video=True)
    lang = "zh+en" if disclosure == DEFAULT_DISCLOSURE else "custom"
    who = confirmed_by or os_user()
    save_recording(ws, reg.media_id, reg.case_id, disclosure, lang, confirmed, who,
                   result.capture, video, audio, result.stopped_by, result.message)
    if confirmed:  # the same disclosure is the case's disclosure record for the compliance profiles
        compliance.record_consent(ws, reg.case_id, "disclosure", disclosure,
                                  given_by=f"applicant (informed; confirmed by {who})", by=who)
    return RecordOutcome(reg.case_id, reg.media_id, result)


def record_interview(ws: Workspace, video: str, audio: str, out: str | Path, *, duration: float | None = None,
                     case_name: str | None = None, disclosure: str | None = None, confirmed: bool = False,
                     should_stop: Callable[[], bool] | None = None,
                     on_frame: Callable[[Any, float], None] | None = None) -> RecordOutcome:
    """Check consent, record until ``duration`` / ``should_stop()`` / a full disk, and file it in a case."""
    require_consent(confirmed)
    text = disclosure_text(disclosure)
    if duration is not None and duration <= 0:
        raise VigilError("--duration must be more than 0 seconds")
    v, a = open_sources(video, audio)
    result = record(v, a, out, duration, should_stop, on_frame)
    return add_recording_to_case(ws, result, case_name, text, confirmed, video, audio)


def preview_benchmark(video: str | Path, seconds: float = 10.0, display_hz: float = 60.0) -> dict[str, Any]:
    """Record ``video`` played as if live with the live preview on, as the Record dialog does.

    The display loop polls at ``display_hz`` and renders each new frame the way the dialog does
    (scaled to its preview width, face box drawn; Qt's own painting is not included). Returns the
    preview's frames per second, the live analysis' rate and skipped frames, and the recording's
    dropped frames (for ``vigil bench``: ``record_preview_fps``).
    """
    import tempfile
    import time

    from app.core.record import Recorder
    from app.core.record.live import LivePreview, render

    preview = LivePreview()
    preview.start()
    with tempfile.TemporaryDirectory() as tmp:
        rec = Recorder(open_video_source(f"file:{video}"), None, Path(tmp) / "preview.mp4", seconds, preview.on_frame)
        rec.start()
        shown, last, t_first, t_last = 0, 0, None, 0.0
        while rec.wait(1.0 / display_hz) is None:
            frame, t_frame, seq, result = preview.snapshot()
            if frame is not None and seq != last:
                render(frame, result, 960, t_frame)
                last, shown, t_last = seq, shown + 1, time.perf_counter()
                t_first = t_first or t_last
        res = rec.result()
    preview.stop()
    c = preview.counters
    span = (t_last - t_first) if t_first else 0.0
    return {"record_preview_fps": round((shown - 1) / span, 1) if span > 0 else 0.0,
            "record_preview_resolution": res.capture.get("resolution"), "record_source_fps": res.capture.get("nominal_fps"),
            "record_live_analysis_fps": round(c.analysed / max(res.seconds, 1e-9), 1),
            "record_live_skipped": c.skipped, "record_live_offered": c.offered,
            "record_dropped_frames": res.capture.get("dropped_frames"), "record_frames": res.frames,
            "record_source_stalls": res.capture.get("late_frames", 0)}
