"""Exports of a case: the per-frame CSV (py-feat-like wide table) for now; more formats join here."""

from __future__ import annotations

import csv
from pathlib import Path

from app.core.analysers.au import AU_NAMES, LATERAL_AUS
from app.core.analysers.columns import EXPRESSIONS
from app.core.errors import VigilError
from app.store import runs
from app.store.workspace import Workspace

# (CSV header, database column). The first columns are a fixed contract; more may follow.
FRAME_COLUMNS: tuple[tuple[str, str], ...] = (
    ("frame", "frame"), ("time_s", "t_sec"), ("face", "face"), ("usable", "usable"),
    ("yaw", "yaw"), ("pitch", "pitch"), ("roll", "roll"),
    *((a, a) for a in AU_NAMES),
    *((e, e) for e in EXPRESSIONS),
    ("reason", "reason"), ("track", "track"), ("face_x", "face_x"), ("face_y", "face_y"),
    ("face_w", "face_w"), ("face_h", "face_h"), ("sharpness", "sharpness"), ("blink", "blink"),
    *((f"{a}_asym", f"{a}_asym") for a in LATERAL_AUS),
    ("forgery", "forgery"), ("fg_temporal", "fg_temporal"), ("fg_blink", "fg_blink"),
    ("fg_headpose", "fg_headpose"), ("fg_avsync", "fg_avsync"), ("fg_sbi", "fg_sbi"), ("fg_freq", "fg_freq"),
)
_SCORES = (set(AU_NAMES) | set(EXPRESSIONS) | {"blink"} | {f"{a}_asym" for a in LATERAL_AUS}
           | {"forgery", "fg_temporal", "fg_blink", "fg_headpose", "fg_avsync", "fg_sbi", "fg_freq"})


def _fmt(v: object) -> object:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4f}".rstrip("0").rstrip(".") if v == v else ""
    return v


def frames_csv(ws: Workspace, case_id: int, out: str | Path) -> int:
    """Write the case's frames CSV; returns the number of rows written."""
    run = runs.case_run(ws, case_id)
    if run is None:
        raise VigilError(f"case {case_id} has no video analysis to export")
    out = Path(out)
    db_cols = [c for _, c in FRAME_COLUMNS]
    n = 0
    try:
        with out.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow([h for h, _ in FRAME_COLUMNS])
            for row in runs.export_rows(ws, run["id"], db_cols):
                usable = bool(row["usable"])
                w.writerow([_fmt(row[c]) if usable or c not in _SCORES else "" for c in db_cols])
                n += 1
    except OSError as exc:
        raise VigilError(f"{out}: cannot write the CSV ({exc.strerror or exc})") from exc
    return n


UTTERANCE_COLUMNS: tuple[str, ...] = (
    "start_s", "end_s", "speaker", "lang", "text", "arousal", "arousal_level", "deception_risk",
    "is_applicant", "is_baseline", "latency_s", "risk_model", "top_cues", "risk_words",
)


def _voice_run(ws: Workspace, case_id: int) -> dict:
    run = runs.case_run(ws, case_id, kind="voice")
    if run is None:
        raise VigilError(f"case {case_id} has no voice analysis to export (analysed with --no-voice?)")
    return run


def utterances_csv(ws: Workspace, case_id: int, out: str | Path) -> int:
    """Write one row per utterance: times, speaker, language, text, scores and their top cues."""
    import json

    from app.core.voice.scoring import risk_words
    from app.store import voice as vstore

    run = _voice_run(ws, case_id)
    n = 0
    try:
        with Path(out).open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(UTTERANCE_COLUMNS)
            for u in vstore.utterances(ws, run["id"]):
                ev = json.loads(u["evidence_json"] or "{}")
                cues = "; ".join(f"{c['label']}: risk {c['contribution']:+.2f}" for c in ev.get("top_cues", []))
                words = "; ".join(f"{h.get('text', h.get('term'))} [{h.get('category')}]"
                                  for h in risk_words(ev.get("lexicon_hits", [])))
                w.writerow([_fmt(u["start_s"]), _fmt(u["end_s"]), u["speaker"], u["lang"], u["text"],
                            _fmt(u["arousal"]), _fmt(u["arousal_level"]), _fmt(u["deception_risk"]), u["is_applicant"], u["is_baseline"],
                            _fmt(u["latency_s"]), u["risk_model"], cues, words])
                n += 1
    except OSError as exc:
        raise VigilError(f"{out}: cannot write the CSV ({exc.strerror or exc})") from exc
    return n


def features_csv(ws: Workspace, case_id: int, out: str | Path) -> int:
    """Write the wide feature table: one row per utterance, ``ac_*`` acoustic and ``tx_*`` text columns."""
    from app.core.voice.acoustic import ACOUSTIC_NAMES
    from app.core.voice.text import TEXT_NAMES
    from app.services.voice import stored_features
    from app.store import voice as vstore

    run = _voice_run(ws, case_id)
    cols = [f"ac_{n}" for n in ACOUSTIC_NAMES] + [f"tx_{n}" for n in TEXT_NAMES]
    n = 0
    try:
        with Path(out).open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["start_s", "end_s", "speaker", *cols])
            for u in vstore.utterances(ws, run["id"]):
                feats = stored_features(u)
                w.writerow([_fmt(u["start_s"]), _fmt(u["end_s"]), u["speaker"], *(_fmt(feats.get(c)) for c in cols)])
                n += 1
    except OSError as exc:
        raise VigilError(f"{out}: cannot write the CSV ({exc.strerror or exc})") from exc
    return n
