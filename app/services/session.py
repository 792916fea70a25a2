"""Analyse a whole recording: video and voice side by side, into one case.

The video pipeline runs on the calling thread and voice analysis on a worker thread, so the wall
time is close to the longer of the two, not their sum (the landmarker and speech recognition spend
most of their time in native code outside the GIL). Either can be absent: a video without audio gets
empty voice tracks and a note; an audio-only file gets no face tracks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from app.core.errors import VigilError
from app.core.pipeline import PipelineConfig
from app.services import compliance
from app.services.analyze import (AnalyzeResult, Progress, Registered, analyze_video, capture_of, register,
                                  store_integrity)
from app.services.voice import VoiceConfig, VoiceResult, analyze_voice
from app.store.workspace import Workspace


@dataclass
class SessionResult:
    """What :func:`analyze_media` did."""

    case_id: int
    video: AnalyzeResult | None
    voice: VoiceResult | None
    notes: list[str]
    integrity: dict | None = None
    forgery: dict | None = None
    interrupted: bool = False
    emotion_refused: str | None = None  # why emotion analysis was not run (a compliance profile), or None


def analyze_media(ws: Workspace, path: str | Path, case_name: str | None = None,
                  video: PipelineConfig | None = None, voice: VoiceConfig | None = None,
                  progress_video: Progress | None = None, progress_voice: Progress | None = None,
                  cancel: Callable[[], bool] | None = None, purpose: str | None = None) -> SessionResult:
    """Analyse video and voice of ``path`` concurrently; ``voice=None`` skips voice analysis.

    ``cancel`` is polled throughout (between frame batches, utterances and forgery chunks); once it
    returns True both passes stop at the next such point, keep what they committed and the result
    says ``interrupted``: the same call later resumes. A ``KeyboardInterrupt`` stops the voice
    worker too.

    ``purpose`` records why the interview was held on the case. The workspace's compliance profile
    is checked before any analysis (:func:`app.services.compliance.check_analysis`): it may refuse
    the whole analysis, or only its emotion parts; then the video runs without the AU and expression
    analysers and the voice without arousal and deception risk, the reason kept in both runs'
    parameters and in the audit trail.
    """
    video = video or PipelineConfig()
    if voice is not None and voice.transcript:  # a bad subtitle file is the user's input: fail first
        from app.core.voice.asr import read_subtitles

        read_subtitles(voice.transcript)
    names = video.model_names() + (voice.model_names() if voice else [])
    reg = register(ws, path, case_name, names, require_video=False)
    if purpose:
        compliance.set_purpose(ws, reg.case_id, purpose)
    parts, reason = compliance.check_analysis(ws, reg.case_id)
    refused = None if "emotion" in parts else reason
    if refused:
        video = replace(video, analysers=tuple(a for a in video.analysers if a not in compliance.EMOTION_ANALYSERS),
                        emotion_refused=refused)
        voice = replace(voice, emotion_refused=refused) if voice is not None else None
    info = reg.info
    notes: list[str] = []
    stop = threading.Event()

    def cancelled() -> bool:
        return stop.is_set() or (cancel is not None and cancel())

    vres: VoiceResult | None = None
    future = None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigil-voice")
    try:
        if voice is not None and info.has_audio:
            future = pool.submit(analyze_voice, ws, reg.case_id, reg.media_id, path, voice, progress_voice, cancelled)
        elif voice is not None:
            notes.append("no audio track: voice timelines are empty")
        ares = analyze_video(ws, path, case_name, video, progress_video, cancelled, reg) if info.has_video else None
        if not info.has_video:
            notes.append("audio only: no face tracks")
        if future is not None:
            try:
                vres = future.result()
            except VigilError as exc:  # a damaged audio track must not cost the video analysis
                if not info.has_video:
                    raise
                notes.append(f"voice analysis failed: {exc}")
        integrity = media_integrity(ws, reg) if info.has_video and not cancelled() else None
        forgery = _forgery(ws, ares, path, integrity, vres, cancelled) if ares is not None and not cancelled() else None
    except BaseException:
        stop.set()
        if future is not None:
            future.result()  # let the voice worker mark its run interrupted before we leave
        raise
    finally:
        pool.shutdown(wait=True)
    return SessionResult(reg.case_id, ares, vres, notes, integrity, forgery, cancelled(), refused)


def _forgery(ws: Workspace, ares: AnalyzeResult, path: str | Path, integrity: dict | None,
             vres: VoiceResult | None, cancel: Callable[[], bool]) -> dict | None:
    """The forgery pass of a finished video run (once; a rerun reads the stored result)."""
    import json

    from app.services.forgery import forgery_pass
    from app.store import forgery as fstore

    if ares.status not in ("completed", "already"):
        return None
    stored = fstore.sessions(ws, ares.run_id)
    if stored:
        return json.loads(stored[0]["cues_json"])
    from app.services.forgery import active_weights
    from app.store import voice as vstore

    score = integrity.get("score") if integrity else None
    speech = None
    if vres is not None and vres.utterances:
        speech = [(u["start_s"], u["end_s"]) for u in vstore.utterances(ws, vres.run_id) if u["is_applicant"]]
    return forgery_pass(ws, ares.run_id, str(path), score, active_weights(ws), speech, cancel)


def media_integrity(ws: Workspace, reg: Registered) -> dict:
    """The media's capture-integrity report: the one the video pass collected, else computed now."""
    import json

    from app.core.forensics.integrity import file_integrity

    stored = ws.media(reg.media_id).get("integrity_json")
    if stored:
        return json.loads(stored)
    report = file_integrity(reg.info.path, capture=capture_of(ws, reg.media_id)).to_dict()
    store_integrity(ws, reg, report)
    return report
