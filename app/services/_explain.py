"""Why a score is what it is, at a time or over an interval (see :func:`explain`).

Nothing is re-computed here: every number comes from what the analysis stored (frame columns, the
forgery windows' cue evidence, the utterances' scoring evidence and lexicon hits) or from the same
baseline statistics the voice scoring uses (:func:`app.services.voice.load_scoring_inputs`). The
sentences are plain English; the fixed words of each (``label``, ``direction``) are also given
separately, with the numbers apart, so the GUI can translate them.
"""

from __future__ import annotations

import json
import math
import re
import threading
from typing import Any

from app.core.analysers.au import AU_NAMES, ESTIMATED, FACS_NAMES
from app.core.forensics.cues.fusion import CUE_ORDER as CUE_NAMES
from app.core.analysers.columns import EXPRESSIONS
from app.core.voice import scoring
from app.services import compliance
from app.store import queries
from app.store.workspace import Workspace

TOP_AUS = 5
TOP_FEATURES = 8
EVIDENCE_WINDOWS = 3
FACE = 0  # explanations are about the applicant
#: Plain names and units of the voice features that enter arousal (scoring.AROUSAL_CUES).
FEATURE_LABELS: dict[str, tuple[str, str]] = {
    "ac_f0_semitone_mean": ("pitch", "semitones"),
    "ac_f0_semitone_sd": ("pitch variation", "semitones"),
    "ac_loudness_mean": ("loudness", "%"),
    "ac_loudness_sd": ("loudness variation", "%"),
    "ac_alpha_ratio_mean": ("voice brightness (alpha ratio)", "dB"),
    "ac_hammarberg_mean": ("spectral tilt (Hammarberg index)", "dB"),
    "ac_syllable_rate": ("speaking rate", "%"),
}
_lock = threading.Lock()
_cache: dict[tuple[Any, ...], Any] = {}


def _cached(key: tuple[Any, ...], fn: Any) -> Any:
    """Memoise per (workspace, run, data version): the value is recomputed after any commit."""
    with _lock:
        if key in _cache:
            return _cache[key]
    value = fn()
    with _lock:
        if len(_cache) > 16:
            _cache.clear()
        _cache[key] = value
    return value


def _first_frame(ws: Workspace, run_id: int, t: float, strict: bool, bounds: tuple[int, int]) -> int | None:
    """Smallest frame whose time is >= t (> t when ``strict``): a binary search over the frame
    index (frame times increase with the frame number), so no scan of the times is needed."""
    lo, hi = bounds[0], bounds[1] + 1
    while lo < hi:
        mid = (lo + hi) // 2
        row = queries.row_at_or_after(ws, run_id, FACE, mid)
        if row is None or (row[1] > t if strict else row[1] >= t):
            hi = mid
        else:
            lo = row[0] + 1
    row = queries.row_at_or_after(ws, run_id, FACE, lo)
    return None if row is None else row[0]


def frame_span(ws: Workspace, run_id: int, t0: float, t1: float | None) -> tuple[int, int] | None:
    """Frame range for a time (the nearest frame) or an interval (frames inside it), or None."""
    bounds = queries.frame_bounds(ws, run_id, FACE)
    if bounds is None:
        return None
    if t1 is None:
        after = _first_frame(ws, run_id, t0, False, bounds)
        cands = [r for r in (queries.row_at_or_after(ws, run_id, FACE, after) if after is not None else None,
                             queries.row_before(ws, run_id, FACE, bounds[1] + 1 if after is None else after)) if r]
        best = min(cands, key=lambda r: abs(r[1] - t0))[0]
        return best, best
    f0 = _first_frame(ws, run_id, t0, False, bounds)
    g = _first_frame(ws, run_id, t1, True, bounds)
    last = queries.row_before(ws, run_id, FACE, bounds[1] + 1 if g is None else g)
    if f0 is None or last is None or last[0] < f0:
        return None
    return f0, last[0]


def _reason_key(reason: str) -> str:
    # "head turned away (yaw +48 deg)" -> "head turned away": the numbers differ frame to frame.
    return re.sub(r"\s*\(.*\)\s*$", "", reason or "").strip() or "unknown"


def _face_part(ws: Workspace, run_id: int, span: tuple[int, int] | None, key: tuple[Any, ...]) -> dict[str, Any]:
    cols = list(AU_NAMES) + list(EXPRESSIONS)
    session = _cached(key + ("session",), lambda: queries.column_means(ws, run_id, FACE, AU_NAMES)["means"])
    if span is None:
        return {"quality": {"usable_share": 0.0, "reasons": {}, "frames": 0}, "expression": None, "top_aus": [],
                "frames": None}
    stats = queries.column_means(ws, run_id, FACE, cols, span[0], span[1])
    reasons: dict[str, int] = {}
    for r, n in queries.reason_counts(ws, run_id, FACE, span[0], span[1]).items():
        reasons[_reason_key(r)] = reasons.get(_reason_key(r), 0) + n
    quality = {"usable_share": stats["usable"] / stats["n"] if stats["n"] else 0.0, "reasons": reasons,
               "frames": stats["n"]}
    m = stats["means"]
    expression = None
    if stats["usable"]:
        probs = {e: round(float(m[e]), 4) for e in EXPRESSIONS if m[e] is not None}
        if probs:
            expression = {"dominant": max(probs, key=lambda e: probs[e]), "probs": probs}
    aus = sorted((a for a in AU_NAMES if m[a] is not None), key=lambda a: -float(m[a]))[:TOP_AUS]
    top = [{"au": a, "name": FACS_NAMES.get(a, a), "value": round(float(m[a]), 3),
            "mean_session": None if session.get(a) is None else round(float(session[a]), 3),
            "estimated_from": ESTIMATED[a][0] if a in ESTIMATED else None} for a in aus]
    return {"quality": quality, "expression": expression, "top_aus": top, "frames": list(span)}


def _window_frames(ws: Workspace, run_id: int, w: dict[str, Any]) -> list[int]:
    # A window's end is its next window's start: the frame there belongs to the next window.
    end = float(w["end_s"])
    span = frame_span(ws, run_id, float(w["start_s"]), math.nextafter(end, -math.inf))
    if span is None:
        span = frame_span(ws, run_id, float(w["start_s"]), end)
    return [] if span is None else [span[0], span[1]]


def _integrity_part(ws: Workspace, media_id: int | None, weights: dict[str, Any]) -> dict[str, Any] | None:
    """The media file's capture-integrity checks (whole file): score, fusion weight, every finding."""
    row = ws.media(media_id) if media_id is not None else None
    raw = (row or {}).get("integrity_json")
    rec = _recording_part(ws, media_id)
    if not raw:
        return {"score": None, "weight": None, "findings": [], "recording": rec} if rec else None
    rep = json.loads(raw)
    check_weights = (rep.get("summary") or {}).get("weights") or {}
    findings = [{"check": f.get("check"), "score": f.get("score"),
                 "weighted": round(float(check_weights.get(f.get("check"), 1.0)) * float(f.get("score") or 0.0), 4),
                 "evidence": f.get("evidence") or {}} for f in rep.get("findings") or []]
    return {"score": rep.get("score"), "weight": weights.get("integrity"), "findings": findings, "recording": rec}


def _recording_part(ws: Workspace, media_id: int | None) -> dict[str, Any] | None:
    """For a file Vigil recorded: the disclosure shown, its confirmation, and the capture record's gist."""
    from app.store.recording import recording

    r = recording(ws, media_id) if media_id is not None else None
    if r is None:
        return None
    cap = r["capture"]
    return {"disclosure": r["disclosure_text"], "confirmed": bool(r["consent_confirmed"]),
            "confirmed_by": r["confirmed_by"], "confirmed_at": r["confirmed_at"], "device": cap.get("device_name"),
            "backend": cap.get("backend"), "virtual_camera": cap.get("virtual_camera"),
            "dropped_frames": cap.get("dropped_frames"), "resolution_changes": len(cap.get("resolution_changes") or []),
            "interval_ms": (cap.get("interval_summary") or {}).get("median"), "audio": (cap.get("audio") or {}).get("device_name")}


def _carrier(contributions: dict[str, float], weights: dict[str, Any]) -> dict[str, Any]:
    """Which cue carries the shown window's fused probability, and the probability with no cue
    finding anything (the fusion's prior); empty for runs fused by the former weighted-mean rule,
    whose contributions cannot be read this way."""
    from app.core.forensics.cues.fusion import carrier

    if "_bias" not in weights or "_scale" in weights:
        return {}
    return {"carried_by": carrier(contributions), "prior": round(1.0 / (1.0 + math.exp(-float(weights["_bias"]))), 4)}


def _forgery_part(ws: Workspace, run_id: int, t0: float, t1: float | None,
                  media_id: int | None = None) -> dict[str, Any]:
    """Fused probability, each cue's score, weight and evidence, the frames to look at, and the
    capture integrity of the file."""
    windows = queries.forgery_windows(ws, run_id, FACE, t0, t0 if t1 is None else t1)
    session = queries.forgery_session(ws, run_id, FACE)
    weights = json.loads(session["weights_json"] or "{}") if session else {}
    out: dict[str, Any] = {"probability": None, "insufficient": True, "cues": {}, "evidence_frames": [],
                           "evidence_times": [], "windows": len(windows),
                           "session_probability": session["probability"] if session else None,
                           "integrity": _integrity_part(ws, media_id, weights)}
    if t1 is None:  # at a time: the one window it falls in (a boundary belongs to the later window)
        windows = [w for w in windows if w["start_s"] <= t0 < w["end_s"]] or windows[-1:]
        out["windows"] = len(windows)
    if not windows:
        out["reason"] = "no forgery analysis covers this time"
        return out
    scored = [w for w in windows if w["probability"] is not None]
    top = sorted(scored, key=lambda w: -float(w["probability"]))[:EVIDENCE_WINDOWS]
    if scored:
        probs = [float(w["probability"]) for w in scored]
        out.update(probability=round(max(probs) if t1 is None else sum(probs) / len(probs), 4), insufficient=False,
                   max_probability=round(max(probs), 4))
    per_cue: dict[str, list[float]] = {}
    for w in windows:
        for name, c in json.loads(w["cues_json"] or "{}").get("cues", {}).items():
            if c and c.get("score") is not None:
                per_cue.setdefault(name, []).append(float(c["score"]))
    # Over an interval a cue's score is its mean over the windows; its evidence is the most
    # suspicious window's, named by ``evidence_window``.
    shown = top[0] if top else windows[0]
    frames = _window_frames(ws, run_id, shown)
    out["evidence_window"] = [shown["start_s"], shown["end_s"]]
    ref = json.loads(shown["cues_json"] or "{}")
    out.update(_carrier(ref.get("contributions") or {}, weights))
    if out["integrity"] is not None:
        out["integrity"]["contribution"] = (ref.get("contributions") or {}).get("integrity")
    for name in CUE_NAMES:
        c = (ref.get("cues") or {}).get(name)
        if c is None and name not in per_cue:
            continue
        scores = per_cue.get(name, [])
        evidence = {k: v for k, v in ((c or {}).get("evidence") or {}).items() if k != "frames"}
        if frames:  # stored "frames" count within the pass's chunk; these are the video's frame numbers
            evidence["frames"] = frames
        out["cues"][name] = {
            "score": None if not scores else round(sum(scores) / len(scores) if t1 is not None else scores[0], 4),
            "weight": weights.get(name), "evidence": evidence,
            "contribution": (ref.get("contributions") or {}).get(name)}
    if t1 is None:
        out["evidence_frames"] = frames  # first and last frame of the window
    else:  # the first frame of each of the most suspicious windows
        out["evidence_frames"] = sorted({f[0] for f in (_window_frames(ws, run_id, w) for w in top) if f} or frames)
    rows = [queries.row_at_or_after(ws, run_id, FACE, f) for f in out["evidence_frames"]]
    out["evidence_times"] = [r[1] if r else None for r in rows]  # for seeking to the frames
    if out["insufficient"]:
        out["reason"] = "too few usable frames for the cues in this span"
    return out


def _risk_words(hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The lexicon hits shown as risk words (``scoring.risk_words``), with character offsets."""
    return [{"word": h.get("text") or h.get("term"), "start": h.get("start"), "end": h.get("end"),
             "category": h.get("category"), "group": h.get("group"), "meaning_en": h.get("meaning_en"),
             "meaning_zh": h.get("meaning_zh")} for h in scoring.risk_words(hits)]


def _utterance(u: dict[str, Any]) -> dict[str, Any]:
    ev = json.loads(u["evidence_json"] or "{}")
    hits = ev.get("lexicon_hits") or ev.get("words") or []
    evidence = {k: v for k, v in ev.items() if k not in ("lexicon_hits", "words")}
    return {"idx": u["idx"], "start_s": u["start_s"], "end_s": u["end_s"], "speaker": u["speaker"],
            "is_applicant": bool(u["is_applicant"]), "is_baseline": bool(u["is_baseline"]), "text": u["text"] or "",
            "lang": u["lang"], "risk_words": _risk_words(hits), "deception_risk": u["deception_risk"],
            "arousal": u["arousal"], "arousal_level": u.get("arousal_level"), "latency_s": u["latency_s"], "evidence": evidence}


def _plain(label: str, unit: str, value: float, base: float, z: float) -> tuple[str, str, float, str]:
    """(sentence, direction, amount, unit of the amount), e.g. ("pitch 18% above baseline", "above", 18, "%").

    Semitones, dB and seconds are compared as differences, "%" as a relative change, anything
    else (rates of words) in baseline standard deviations.
    """
    diff = value - base
    if unit in ("semitones", "dB", "s"):
        amount, shown = abs(diff), unit
    elif unit == "%" and abs(base) > 1e-9:
        amount, shown = abs(100.0 * diff / base), "%"
    else:
        amount, shown = abs(z), "SD"
    if amount < (0.5 if shown == "%" else 0.05):
        return f"{label} at baseline", "at", 0.0, shown
    direction = "above" if diff > 0 else "below"
    num = f"{amount:.0f}%" if shown == "%" else f"{amount:.1f} {shown}"
    return f"{label} {num} {direction} baseline", direction, round(amount, 2), shown


def _features(ws: Workspace, run_id: int, utts: list[dict[str, Any]], key: tuple[Any, ...]) -> list[dict[str, Any]]:
    """The applicant's voice and wording in ``utts`` against their baseline, largest changes first."""
    from app.services.voice import load_scoring_inputs, stored_features

    _, applicant, _, base = _cached(key + ("voice",), lambda: load_scoring_inputs(ws, run_id))
    if base is None:
        return []
    own = [u for u in utts if u["speaker"] == applicant]  # the baseline is the applicant's own
    if not own:
        return []
    feats = [stored_features(u) for u in own]
    labels = dict(FEATURE_LABELS)
    labels.update({c.key: (c.label, "SD") for c in scoring.RISK_CUES if c.relative and c.key != "arousal"})
    labels["latency_s"] = ("delay before answering", "s")
    out = []
    for k, (label, unit) in labels.items():
        vals = [float(f[k]) for f in feats if f.get(k) is not None and math.isfinite(float(f[k]))]
        b = base.mean.get(k, math.nan)
        if not vals or not math.isfinite(b):
            continue
        v = sum(vals) / len(vals)
        z = base.z(k, v)
        plain, direction, amount, shown = _plain(label, unit, v, b, z)
        out.append({"name": k, "label": label, "value": round(v, 4), "baseline": round(b, 4), "z": round(z, 2),
                    "direction": direction, "amount": amount, "unit": shown, "plain": plain})
    out.sort(key=lambda d: -abs(d["z"]))
    return out[:TOP_FEATURES]


def explain(ws: Workspace, case_id: int, t0: float, t1: float | None = None) -> dict[str, Any]:
    """Why the applicant's scores at ``t0`` (``t1`` None: the nearest frame and the utterance under
    it) or over ``[t0, t1]`` are what they are.

    Returns
    -------
    dict
        ``t0``, ``t1``, ``frames`` ([first, last] frame numbers used, or None);
        ``quality``: ``usable_share``, ``reasons`` {reason: frames}, ``frames``;
        ``expression``: ``dominant`` and ``probs`` (mean over usable frames), or None;
        ``top_aus``: up to 5 of {``au``, ``name`` (FACS), ``value``, ``mean_session``};
        ``forgery``: ``probability`` (the window's, or the mean over the interval's windows),
        ``insufficient``, ``cues`` {cue: ``score``, ``weight``, ``evidence``, ``contribution`` (log-odds
        the cue adds to the shown window's probability)}, ``carried_by`` (the cue adding the most, None
        when no cue finds anything) and ``prior`` (the probability then),
        ``evidence_frames`` (frame numbers to look at) and ``evidence_times`` (their seconds),
        ``evidence_window`` ([start, end] of the window whose evidence is shown: over an interval
        the most suspicious one, while cue scores are means over the interval's windows),
        ``max_probability``, ``session_probability``, ``reason`` (plain English) when
        ``insufficient``, and ``integrity``: the file's capture-integrity ``score``, its fusion
        ``weight`` and ``findings`` [{``check``, ``score``, ``weighted``, ``evidence``}], or None;
        ``utterances``: those under the time or overlapping the interval, each with ``text``,
        ``risk_words`` [{``word``, ``start``, ``end`` (character offsets), ``category``...}],
        ``deception_risk``, ``arousal`` (SD from the applicant's baseline), ``arousal_level`` (0-1,
        absolute, against population norms) and the scoring ``evidence`` (top cues, model, note);
        ``emotion_not_run``: ``{"reason", "purpose"}`` when a compliance profile kept emotion analysis
        (AUs, expression, arousal, risk) from running on the case, else None;
        ``features_vs_baseline``: up to 8 of {``name``, ``label``, ``value``, ``baseline``, ``z``,
        ``direction``, ``amount``, ``unit``, ``plain``} for the applicant's utterances in scope.
    """
    runs = queries.case_runs(ws, case_id)
    ws.find_case(case_id)
    version = queries.data_version(ws)
    out: dict[str, Any] = {"t0": t0, "t1": t1}
    video, voice = runs.get("video"), runs.get("voice")
    if video is not None:
        key = (str(ws.path), video["id"], version)
        span = frame_span(ws, video["id"], t0, t1)
        out.update(_face_part(ws, video["id"], span, key))
        out["forgery"] = _forgery_part(ws, video["id"], t0, t1, video["media_id"])
    else:
        out.update(quality={"usable_share": 0.0, "reasons": {}, "frames": 0}, expression=None, top_aus=[],
                   frames=None, forgery={"probability": None, "insufficient": True, "cues": {},
                                         "evidence_frames": [], "evidence_times": [], "windows": 0,
                                         "session_probability": None, "reason": "the video is not analysed yet"})
    out["emotion_not_run"] = compliance.emotion_not_run(ws, case_id)
    out["utterances"], out["features_vs_baseline"] = [], []
    if voice is not None:
        rows = queries.utterances_overlapping(ws, voice["id"], t0, t0 if t1 is None else t1)
        out["utterances"] = [_utterance(u) for u in rows]
        if rows:
            out["features_vs_baseline"] = _features(ws, voice["id"], rows, (str(ws.path), voice["id"], version))
    return out
