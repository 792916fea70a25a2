"""Exports of a case: the per-frame CSV (py-feat-like wide table) for now; more formats join here."""

from __future__ import annotations

import csv
from pathlib import Path

from app.core.analysers.au import AU_NAMES, LATERAL_AUS
from app.core.analysers.columns import EXPRESSIONS
from app.core.errors import VigilError
from app.store import audit, runs
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


def record_export(ws: Workspace, case_id: int, kind: str, out: str | Path, rows: int, **facts: object) -> None:
    """Append the ``export`` audit entry of a file just written: what, where, how many rows, its sha256."""
    import hashlib

    path = Path(out)
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        digest = None  # type: ignore[assignment]
    audit.record(ws, audit.Entry("export", case_id, {"kind": kind, "path": str(path.resolve()), "rows": rows,
                                                     "sha256": digest.hexdigest() if digest else None, **facts}))


def landmark_columns(n: int = 478) -> list[str]:
    """Headers of the raw face-mesh columns (image-normalised x, y and relative depth z of each point)."""
    return [f"lm{i}_{a}" for i in range(n) for a in "xyz"]


def frames_csv(ws: Workspace, case_id: int, out: str | Path, landmarks: bool = False) -> int:
    """Write the case's frames CSV; returns the number of rows written.

    Raw face-mesh landmarks are biometric data: they are left out unless ``landmarks`` asks for
    them (478 x/y/z columns after the others). The export is audited.
    """
    import numpy as np

    run = runs.case_run(ws, case_id)
    if run is None:
        raise VigilError(f"case {case_id} has no video analysis to export")
    out = Path(out)
    db_cols = [c for _, c in FRAME_COLUMNS]
    lm_cols = landmark_columns() if landmarks else []
    blank = [""] * len(lm_cols)
    n = 0
    try:
        with out.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow([h for h, _ in FRAME_COLUMNS] + lm_cols)
            for row in runs.export_rows(ws, run["id"], db_cols, mesh=landmarks):
                usable = bool(row["usable"])
                cells = [_fmt(row[c]) if usable or c not in _SCORES else "" for c in db_cols]
                if landmarks:
                    xyz = row["xyz"]
                    cells += ([f"{v:.4f}" for v in np.frombuffer(xyz, dtype=np.float16).astype(np.float32)]
                              if xyz is not None and len(xyz) == 2 * len(lm_cols) else blank)
                w.writerow(cells)
                n += 1
    except OSError as exc:
        raise VigilError(f"{out}: cannot write the CSV ({exc.strerror or exc})") from exc
    record_export(ws, case_id, "frames_csv", out, n, landmarks=landmarks)
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
    record_export(ws, case_id, "utterances_csv", out, n)
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
    record_export(ws, case_id, "features_csv", out, n)
    return n
