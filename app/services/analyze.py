"""Analyse a video into a case: probe, resume or start a run, stream batches into the store, finalise."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app import __version__
from app.core import pipeline
from app.core.face.tracker import FaceTracker, face_order
from app.core.forensics.integrity import CaptureRecord, IntegrityScan
from app.core.analysers.baseline import Baseline
from app.core.face.blink import blink_mask
from app.core.finalize import ROW_COLUMNS, baseline_from_sample, eye_closure, score_rows, usable_seconds
from app.core.errors import CaseNotFound, VigilError
from app.core.media import MediaInfo, probe
from app.core.models import model_path, run_record
from app.store import runs
from app.store.workspace import Workspace

Progress = Callable[[int, int, float], None]


@dataclass
class AnalyzeResult:
    """Outcome of :func:`analyze_video`."""

    case_id: int
    run_id: int
    status: str  # completed | already | interrupted
    frames: int
    note: str | None = None
    usable: int = 0


@dataclass
class Registered:
    """A media file known to the workspace: its probe, case and media ids."""

    info: MediaInfo
    case_id: int
    media_id: int


def register(ws: Workspace, path: str | Path, case_name: str | None, model_names: list[str],
             require_video: bool = True) -> Registered:
    """Probe the file, check the models, and find or create its case and media rows.

    Bad input and altered models raise before anything is written.
    """
    info = probe(str(path), require_video=require_video)
    for name in model_names:
        model_path(name)
    case_id = _existing_case(ws, case_name) if case_name else None
    known = ws.media_by_sha(info.sha256, case_id)
    if known:
        return Registered(info, known[0]["case_id"], known[0]["id"])
    if case_id is None:
        case_id = ws.create_case(case_name or Path(path).stem)
    return Registered(info, case_id, ws.add_media(case_id, info.to_dict()))


def analyze_video(
    ws: Workspace,
    path: str | Path,
    case_name: str | None = None,
    config: pipeline.PipelineConfig | None = None,
    progress: Progress | None = None,
    cancel: Callable[[], bool] | None = None,
    reg: Registered | None = None,
) -> AnalyzeResult:
    """Analyse ``path`` into the workspace, resuming an unfinished run of the same media.

    Raises ``KeyboardInterrupt`` after marking the run interrupted (what was committed stays), and
    :class:`~app.core.errors.VigilError` for bad input.
    """
    from app.services.forgery import with_blend_model

    config = with_blend_model(ws, config or pipeline.PipelineConfig())
    reg = reg or register(ws, path, case_name, config.model_names())
    info, case_id = reg.info, reg.case_id
    params = config.params()
    run = runs.latest_run(ws, reg.media_id, params)
    if run is not None and run["status"] == "completed":
        return AnalyzeResult(run["case_id"], run["id"], "already", run["frames_done"], "already analysed",
                             runs.usable_frames(ws, run["id"]))
    if run is not None:
        # Resume at a frame where the expression CNN runs, so the rows after it are the rows an
        # uninterrupted run would have written (the few frames re-analysed are replaced).
        step = math.lcm(config.stride, config.cnn_stride, config.pixel_stride)
        run_id = run["id"]
        start = (run["last_frame"] + 1) // step * step
        runs.delete_from(ws, run_id, start)
        tracker = FaceTracker.restore(runs.track_states(ws, run_id))
        runs.set_status(ws, run_id, "running", f"resumed at frame {start}")
    else:
        run_id = runs.start_run(ws, case_id, reg.media_id, params, run_record(config.model_names()), __version__)
        start, tracker = 0, FaceTracker()

    total = info.frame_count or int(round(info.duration_s * info.fps))
    total = max(1, -(-total // config.stride))
    done = runs.frames_before(ws, run_id, start)
    report = pipeline.RunReport()
    # With forgery detection on, the capture-integrity checks ride along on this pass's decoding
    # instead of decoding the file a second time (kept only if the pass reads the file to its end).
    scan = IntegrityScan() if "forensics" in config.analysers and not ws.media(reg.media_id).get(
        "integrity_json") else None
    try:
        for batch in pipeline.run(str(path), config, start=start, tracker=tracker, cancel=cancel, report=report,
                                  observers=(scan,) if scan else ()):
            done += len({r["frame"] for r in batch.rows})
            runs.write_batch(ws, run_id, batch.rows, batch.meshes, batch.last_frame, done)
            if progress:
                progress(done, total, batch.t_sec)
        ws.flush()
    except BaseException as exc:
        ws.flush()
        interrupted = isinstance(exc, KeyboardInterrupt)
        last = runs.get_run(ws, run_id)["last_frame"]
        note = (f"interrupted after frame {last}; run analyze again to resume" if interrupted
                else f"failed after frame {last}: {exc}")
        runs.set_status(ws, run_id, "interrupted" if interrupted else "failed", note)
        raise
    if cancel is not None and cancel():
        last = runs.get_run(ws, run_id)["last_frame"]
        runs.set_status(ws, run_id, "interrupted", f"cancelled after frame {last}; run analyze again to resume")
        return AnalyzeResult(case_id, run_id, "interrupted", done, "cancelled")
    if scan is not None and scan.complete and scan.times:
        store_integrity(ws, reg, scan.report(info.path, capture_of(ws, reg.media_id)).to_dict())
    finalize(ws, run_id)
    usable = runs.usable_frames(ws, run_id)
    note = report.end_note
    if done == 0:
        note = "no frames could be decoded"
    elif usable == 0:
        note = "no usable face in any frame; every frame is kept, marked unusable with its reason"
    runs.set_status(ws, run_id, "completed", note)
    return AnalyzeResult(case_id, run_id, "completed", done, note, usable)


def capture_of(ws: Workspace, media_id: int) -> CaptureRecord | None:
    """What live capture recorded about a media file Vigil recorded itself (device, virtual camera)."""
    from app.store.recording import capture_record

    data = capture_record(ws, media_id)
    return CaptureRecord.from_dict(data) if data else None


def store_integrity(ws: Workspace, reg: Registered, report: dict) -> None:
    """Keep a media file's capture-integrity report with its media row, audited in the same transaction."""
    ws.set_integrity(reg.media_id, report)


def _existing_case(ws: Workspace, name: str) -> int | None:
    try:
        return int(ws.find_case(name)["id"])
    except CaseNotFound:  # a new case of that name will be made
        return None


def finalize(ws: Workspace, run_id: int, baselines: dict[int, Baseline] | None = None) -> None:
    """Number faces (0 = applicant) and re-score every row against each face's session baseline.

    ``baselines`` overrides the estimated baseline per face (a reviewer-marked neutral segment).
    """
    import json

    analysers = json.loads(runs.get_run(ws, run_id)["params_json"] or "{}").get("analysers", ["au"])
    emotion = "au" in analysers  # a run without the AU analyser (compliance) gets no AU or expression scores
    areas = {tid: s["area_sum"] or 0.0 for tid, s in runs.track_states(ws, run_id).items()}
    runs.set_face_order(ws, run_id, face_order(areas))
    for face in runs.faces(ws, run_id):
        t_parts, eye_parts = [], []
        for rows in runs.face_rows(ws, run_id, face, ("frame", "t_sec", "usable", "raw")):
            t_parts.append(np.array([r["t_sec"] for r in rows]))
            eye_parts.append(eye_closure(rows))
        t, closure = np.concatenate(t_parts or [np.zeros(0)]), np.concatenate(eye_parts or [np.zeros(0)])
        base = (baselines or {}).get(face)
        if base is None:
            base = baseline_from_sample(runs.raw_sample(ws, run_id, face), usable_seconds(t, np.isfinite(closure)))
        if base is None:
            continue  # this face never passed the quality gate: nothing to score
        blink = blink_mask(closure, t)
        k = 0
        for rows in runs.face_rows(ws, run_id, face, ROW_COLUMNS):
            runs.update_rows(ws, run_id, score_rows(rows, base, blink[k : k + len(rows)], emotion))
            k += len(rows)
    ws.flush()


def rescore_with_baseline(ws: Workspace, run_id: int, face: int, t0: float, t1: float) -> int:
    """Re-score a run with a reviewer-marked neutral segment of one face as its baseline.

    Returns the number of usable frames in the segment; raises ``VigilError`` when it has none.
    Other faces keep their estimated baselines. Nothing is decoded again.
    """
    base = baseline_from_sample(runs.raw_between(ws, run_id, face, t0, t1), t1 - t0, marked=True)
    if base is None:
        raise VigilError(f"no usable frames of face {face} between {t0:.2f} s and {t1:.2f} s to use as a baseline")
    finalize(ws, run_id, {face: base})
    ws.audit("baseline.set", runs.get_run(ws, run_id)["case_id"],
             {"run_id": run_id, "face": face, "t0": t0, "t1": t1})
    return len(runs.raw_between(ws, run_id, face, t0, t1))
