"""The whole case as one JSON document (``vigil export CASE --json PATH``).

Frames are summarised per second (one record per face and second: frames, usable share, mean head
pose, AUs, expressions and forgery score over its usable frames) so that an hour stays a few MB;
utterances, forgery windows and sessions, annotations, tiers, decisions, the media with its
capture-integrity record, and the runs with their models and parameters are written in full.
The layout is ``resources/schema/case_export.schema.json`` (JSON Schema draft 2020-12); a test
validates exports against it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from app.core.analysers.au import AU_NAMES
from app.core.analysers.columns import EXPRESSIONS
from app.core.errors import VigilError
from app.services import review
from app.services.export import record_export
from app.store import queries, runs
from app.store import voice as vstore
from app.store.workspace import Workspace

FORMAT = "vigil-case-export"
FORMAT_VERSION = 1
_POSE = ("yaw", "pitch", "roll")
_CUES = ("fg_temporal", "fg_blink", "fg_headpose", "fg_avsync", "fg_sbi", "fg_freq")
_COLS = ("frame", "t_sec", "usable", *_POSE, *AU_NAMES, *EXPRESSIONS, "forgery", *_CUES)


def _num(v: Any, digits: int = 4) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return round(f, digits) if math.isfinite(f) else None


def _loads(raw: Any) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return None


def _clean(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf become null, numpy scalars plain numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return _num(obj, 6)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def seconds_summary(m: np.ndarray, face: int) -> list[dict[str, Any]]:
    """One record per whole second of a face's frame matrix (columns :data:`_COLS`)."""
    if not len(m):
        return []
    sec = np.floor(m[:, 1]).astype(np.int64)
    out = []
    bounds = np.flatnonzero(np.diff(sec)) + 1
    for rows in np.split(m, bounds):
        use = rows[rows[:, 2] > 0.5]
        def mean(k: int) -> float | None:
            col = use[:, k] if len(use) else np.zeros(0)
            col = col[np.isfinite(col)]
            return _num(col.mean()) if len(col) else None
        base = 3
        out.append({
            "second": int(np.floor(rows[0, 1])), "face": face, "frames": int(len(rows)), "usable": int(len(use)),
            "first_frame": int(rows[0, 0]), "last_frame": int(rows[-1, 0]),
            "pose": {p: mean(base + i) for i, p in enumerate(_POSE)},
            "au": {a: mean(base + 3 + i) for i, a in enumerate(AU_NAMES)},
            "expression": {e: mean(base + 3 + len(AU_NAMES) + i) for i, e in enumerate(EXPRESSIONS)},
            "forgery": mean(base + 3 + len(AU_NAMES) + len(EXPRESSIONS)),
            "cues": {c[3:]: mean(base + 4 + len(AU_NAMES) + len(EXPRESSIONS) + i) for i, c in enumerate(_CUES)},
        })
    return out


def _run(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r["id"], "kind": r["kind"], "status": r["status"], "app_version": r.get("app_version"),
            "started_at": r.get("started_at"), "finished_at": r.get("finished_at"),
            "frames_done": r.get("frames_done"), "note": r.get("note"),
            "params": _loads(r.get("params_json")) or {}, "models": _loads(r.get("models_json")) or []}


def _utterance(u: dict[str, Any]) -> dict[str, Any]:
    return {"idx": u["idx"], "start_s": _num(u["start_s"]), "end_s": _num(u["end_s"]), "speaker": u["speaker"],
            "is_applicant": bool(u["is_applicant"]), "is_baseline": bool(u["is_baseline"]), "lang": u["lang"],
            "text": u["text"] or "", "latency_s": _num(u["latency_s"]), "arousal": _num(u["arousal"]),
            "arousal_level": _num(u.get("arousal_level")), "deception_risk": _num(u["deception_risk"]),
            "risk_model": u["risk_model"], "words": _loads(u.get("words_json")) or [],
            "evidence": _loads(u["evidence_json"]) or {}}


def case_document(ws: Workspace, case_ref: str | int) -> dict[str, Any]:
    """The case as a plain, JSON-ready dict (see the module docstring)."""
    from app.paths import models_dir

    case = ws.find_case(case_ref)
    cid = case["id"]
    newest = queries.case_runs(ws, cid)
    run_rows = {k: runs.get_run(ws, r["id"]) for k, r in newest.items()}
    video, voice = run_rows.get("video"), run_rows.get("voice")
    media_id = next((r["media_id"] for r in run_rows.values()), None)
    media = dict(ws.media(media_id)) if media_id is not None else None
    if media is not None:
        media["probe"] = _loads(media.pop("probe_json", None))
        media["integrity"] = _loads(media.pop("integrity_json", None))
    seconds: list[dict[str, Any]] = []
    windows: list[dict[str, Any]] = []
    sessions: list[dict[str, Any]] = []
    if video is not None:
        for face in runs.faces(ws, video["id"]) or [0]:
            m = queries.frame_matrix(ws, video["id"], face, _COLS)
            seconds += seconds_summary(m, face)
            for w in queries.forgery_windows(ws, video["id"], face):
                windows.append({"face": face, "start_s": _num(w["start_s"]), "end_s": _num(w["end_s"]),
                                "probability": _num(w["probability"]), "evidence": _loads(w["cues_json"]) or {}})
            s = queries.forgery_session(ws, video["id"], face)
            if s is not None:
                sessions.append({"face": face, "probability": _num(s["probability"]),
                                 "integrity_score": _num(s["integrity_score"]), "cues": _loads(s["cues_json"]) or {},
                                 "weights": _loads(s["weights_json"]) or {}})
    utts = [_utterance(u) for u in vstore.utterances(ws, voice["id"])] if voice else []
    try:
        manifest = json.loads((models_dir() / "manifest.json").read_text(encoding="utf-8")).get("models", [])
    except (OSError, ValueError):
        manifest = []
    used = {m.get("name") for r in run_rows.values() for m in (_loads(r.get("models_json")) or [])}
    doc = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "case": {k: case.get(k) for k in ("id", "name", "applicant_ref", "status", "created_at", "updated_at")},
        "media": media,
        "runs": [_run(r) for r in run_rows.values()],
        "models": [m for m in manifest if m.get("name") in used],
        "frames_per_second": seconds,
        "utterances": utts,
        "forgery_windows": windows,
        "forgery_sessions": sessions,
        "tiers": review.tiers(ws),
        "annotations": [{k: a[k] for k in ("id", "tier", "start_s", "end_s", "label", "note", "author",
                                           "created_at", "updated_at")} for a in review.annotations(ws, cid)],
        "decisions": review.decisions(ws, cid),
    }
    return _clean(doc)


def export_json(ws: Workspace, case_ref: str | int, out: str | Path) -> int:
    """Write :func:`case_document` to ``out``; returns the number of per-second frame records."""
    doc = case_document(ws, case_ref)
    try:
        Path(out).write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    except OSError as exc:
        raise VigilError(f"{out}: cannot write the JSON ({exc.strerror or exc})") from exc
    record_export(ws, doc["case"]["id"], "json", out, len(doc["frames_per_second"]))
    return len(doc["frames_per_second"])
