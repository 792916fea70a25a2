"""The forgery pass of a video run: cue scores per window, fused, written back per frame.

Runs after the face pass, from what the store already holds (mesh, blendshapes, pose) plus the
audio energy, in chunks of two minutes so memory stays flat. The applicant's face (face 0) is
scored. Each frame gets the fused probability of the window it falls in (``forgery``) and each
cue's window score (``fg_*``); frames whose windows lack evidence stay empty. The session result
and every window's cue evidence are stored too. See :mod:`app.core.forensics.cues` for the cues and
their validity limits, and :mod:`app.core.forensics.cues.fusion` for the monotone fusion: its default
weights are priors; a workspace may hold fitted ones (:func:`active_weights`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from app.core.analysers.au import RAW_NAMES
from app.core.face.landmarker import N_LANDMARKS
from app.core.face.quality import QualityGate
from app.core.analysers.forensics import PX_COLUMNS
from app.core.forensics.cues import avsync, blink, freq, headpose, sbi, temporal
from app.core.forensics.cues.base import FaceSeries
from app.core.forensics.cues.fusion import DEFAULT_WEIGHTS, fuse
from app.core.forensics.cues.series import frame_energy
from app.store import forgery as fstore
from app.store import runs
from app.store.workspace import Workspace

CUES = (("temporal", temporal), ("blink", blink), ("headpose", headpose), ("avsync", avsync), ("sbi", sbi),
        ("freq", freq))
CHUNK_S = 120.0
N_BLEND = 52


def rotation_from_pose(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """4x4 matrix whose rotation is Rz(roll)·Ry(yaw)·Rx(pitch), the inverse of ``pose_from_matrix``."""
    y, p, r = np.radians([yaw, pitch, roll])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    m = np.eye(4, dtype=np.float32)
    m[:3, :3] = rz @ ry @ rx
    return m


def _series(rows: list[dict[str, Any]], width: int, height: int, audio: Any,
            speech: list[tuple[float, float]] | None = None) -> FaceSeries:
    n = len(rows)
    t = np.array([r["t_sec"] for r in rows], dtype=np.float64)
    gate = QualityGate()  # the cues read faces the AU gate drops only as blurred (see its docstring)
    usable = np.array([r["xyz"] is not None and (bool(r["usable"]) or (r.get("face_h") is not None and gate.forgery_check(
        r["face_h"], r["yaw"] or 0.0, r["pitch"] or 0.0)[0])) for r in rows])
    lms = np.zeros((n, N_LANDMARKS, 3), np.float32)
    bss = np.zeros((n, N_BLEND), np.float32)
    mats = np.tile(np.eye(4, dtype=np.float32), (n, 1, 1))
    for i, r in enumerate(rows):
        if not usable[i]:
            continue
        lms[i] = np.frombuffer(r["xyz"], dtype=np.float16).reshape(N_LANDMARKS, 3)
        bss[i] = np.frombuffer(r["raw"], dtype=np.float32)[:N_BLEND]
        mats[i] = rotation_from_pose(r["yaw"], r["pitch"], r["roll"])
    energy = frame_energy(audio.slice(float(t[0]), float(t[-1]) + 0.1), audio.sr, t - t[0]) if audio is not None else None
    if energy is not None and speech is not None:
        # Only the applicant's own speech should move their mouth: mask out everyone else's.
        own = np.zeros(n, dtype=bool)
        for a, b in speech:
            own |= (t >= a) & (t <= b)
        energy = np.where(own, energy, np.nan)
    px = {c: np.array([np.nan if r.get(c) is None else r[c] for r in rows], dtype=np.float64) for c in PX_COLUMNS}
    frames = np.array([r["frame"] for r in rows], dtype=np.int64)
    return FaceSeries(t, usable, lms, bss, mats, width, height, energy, px, frames)


def forgery_pass(ws: Workspace, run_id: int, path: str, integrity: float | None = None,
                 weights: dict[str, float] | None = None,
                 speech: list[tuple[float, float]] | None = None,
                 cancel: Callable[[], bool] | None = None) -> dict[str, Any] | None:
    """Score the applicant's face of a finished video run; returns the session result.

    ``cancel`` is polled between chunks; a cancelled pass stores no session result and returns
    None (the next analyze of the same media runs it again).

    ``speech`` lists the applicant's utterances (start, end) when voice analysis found them; the
    audio-visual cue then ignores everyone else's speech.
    """
    from app.core.voice.audio import load_audio

    assert len(RAW_NAMES) > N_BLEND  # raw blobs start with the 52 blendshapes
    run = runs.get_run(ws, run_id)
    media = ws.media(run["media_id"])
    width, height = int(media.get("width") or 0), int(media.get("height") or 0)
    w = dict(DEFAULT_WEIGHTS if weights is None else weights)
    face, end = 0, fstore.last_time(ws, run_id)
    session_parts: dict[str, list[float]] = {name: [] for name, _ in CUES}
    track = load_audio(path) if media.get("has_audio") else None
    try:
        audio = track if track is not None and track.has_audio and track.n_samples > 0 else None
        t0 = 0.0
        while t0 <= end:
            if cancel is not None and cancel():
                return None
            rows = fstore.series_rows(ws, run_id, face, t0, t0 + CHUNK_S)
            t0 += CHUNK_S
            if len(rows) < 2:
                continue
            series = _series(rows, width, height, audio, speech)
            cues = [mod.score_windows(series) for _, mod in CUES]
            fused = fuse(cues, w, integrity)
            for cue in cues:
                if math.isfinite(cue.session_score):
                    session_parts[cue.name].append(float(cue.session_score))
            _write_chunk(ws, run_id, face, rows, series, cues, fused)
    finally:
        if track is not None:
            track.close()
    session_cues = {k: (float(np.mean(v)) if v else float("nan")) for k, v in session_parts.items()}
    from app.core.forensics.cues.fusion import combine

    extra = {} if integrity is None else {"integrity": float(integrity)}
    prob, contrib = combine({**session_cues, **extra}, w)
    result = {"probability": None if not math.isfinite(prob) else round(prob, 4),
              "cues": {k: (None if not math.isfinite(v) else round(v, 4)) for k, v in session_cues.items()},
              "contributions": contrib, "integrity": integrity}
    fstore.write_session(ws, run_id, face, result["probability"], integrity, result, w)
    ws.flush()
    return result


def active_weights(ws: Workspace) -> dict[str, float] | None:
    """The workspace's active fitted fusion weights (``vigil forgery-eval --fit``), or None: the
    documented defaults apply. Weights that break the fusion's constraints are refused."""
    from app.core.errors import VigilError
    from app.core.forensics.cues.fusion import FORM, check_weights

    model = fstore.active_model(ws, "fusion")
    if model is None:
        return None
    params = model["params"]
    try:
        if params.get("form") != FORM:
            raise ValueError(f"it was fitted for fusion {params.get('form')!r}, this Vigil fuses with {FORM!r}")
        check_weights(params["weights"])
    except (KeyError, TypeError, ValueError) as exc:
        raise VigilError(f"fusion model {model['version']} in {ws.path} cannot be used ({exc}); "
                         "re-run vigil forgery-eval --fit") from exc
    return dict(params["weights"])


def save_fusion(ws: Workspace, weights: dict[str, float], note: str, **facts: Any) -> str:
    """Record fitted fusion ``weights`` as the workspace's active fusion; returns its version."""
    from datetime import UTC, datetime

    from app.core.forensics.cues.fusion import FORM, check_weights

    check_weights(weights)
    version = f"fusion-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
    fstore.add_model(ws, "fusion", version, {"form": FORM, "weights": weights, **facts}, note=note)
    return version


def activate_blend_model(ws: Workspace, weights: str, report: dict[str, Any]) -> str:
    """Make ``weights`` (from ``vigil train-forgery``) the workspace's blending CNN; returns where
    the installed copy lies."""
    from app.core.analysers.forensics import install_blend_weights

    dst, digest = install_blend_weights(weights)
    record = {"weights": str(dst), "trained_from": report.get("train_files"), "validated_on": report.get("val_files"),
              "val": report.get("val"), "source": str(weights)}
    fstore.add_model(ws, "blend", f"blendnet-{digest[:12]}", record, sha256=digest)
    return str(dst)


def with_blend_model(ws: Workspace, config: Any) -> Any:
    """``config`` (a PipelineConfig) with the workspace's active blending CNN, unless it names one."""
    import dataclasses

    from app.core.analysers.forensics import verified_blend_weights

    model = fstore.active_model(ws, "blend")
    if model is None or config.blend_weights or "forensics" not in config.analysers:
        return config
    path = verified_blend_weights(model["params"]["weights"], model["sha256"])  # refused before a run starts
    return dataclasses.replace(config, blend_weights=str(path), blend_sha256=model["sha256"])


def _write_chunk(ws: Workspace, run_id: int, face: int, rows: list[dict[str, Any]], series: FaceSeries,
                 cues: list[Any], fused: Any) -> None:
    """Per-frame columns from the window each frame falls in, and the windows' evidence."""
    def at(starts: np.ndarray, ends: np.ndarray, values: np.ndarray, t: float) -> float | None:
        hit = np.flatnonzero((starts <= t) & (t < ends))
        if not len(hit):
            hit = np.flatnonzero((starts <= t) & (t <= ends))
        v = float(values[hit[0]]) if len(hit) else float("nan")
        return round(v, 4) if math.isfinite(v) else None

    updates = []
    for r, t in zip(rows, series.t):
        u = {"frame": r["frame"], "track": r["track"],
             "forgery": at(fused.window_start, fused.window_end, fused.probability, t) if r["usable"] else None}
        for cue in cues:
            u[f"fg_{cue.name}"] = at(cue.window_start, cue.window_end, cue.score, t) if r["usable"] else None
        updates.append(u)
    runs.update_rows(ws, run_id, updates)
    windows = []
    for k, (a, b) in enumerate(zip(fused.window_start, fused.window_end)):
        p = float(fused.probability[k])
        evidence = {"contributions": fused.contributions[k] if k < len(fused.contributions) else {},
                    "cues": {c.name: _evidence_at(c, 0.5 * (a + b)) for c in cues}}
        windows.append({"start_s": round(float(a), 3), "end_s": round(float(b), 3),
                        "probability": round(p, 4) if math.isfinite(p) else None,
                        "cues_json": json.dumps(evidence, default=_jsonable)})
    fstore.write_windows(ws, run_id, face, windows)


def _evidence_at(cue: Any, mid: float) -> dict[str, Any]:
    hit = np.flatnonzero((cue.window_start <= mid) & (mid <= cue.window_end))
    if not len(hit):
        return {}
    k = int(hit[0])
    s = float(cue.score[k])
    return {"score": round(s, 4) if math.isfinite(s) else None, "evidence": cue.evidence[k] if k < len(cue.evidence) else {}}


def _jsonable(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
