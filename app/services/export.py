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
)
_SCORES = set(AU_NAMES) | set(EXPRESSIONS) | {"blink"} | {f"{a}_asym" for a in LATERAL_AUS}


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
