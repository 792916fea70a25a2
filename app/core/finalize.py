"""End-of-run scoring: the whole session's baseline replaces the provisional one.

While a video streams, AU intensities are measured against a running baseline so the timelines can
fill in. When the run ends (or when a reviewer marks a new baseline segment) every usable row of a
face is re-scored from its stored raw features and CNN output: AU intensities against the final
baseline, the expression fusion, and blink events. No video is decoded again.
"""

from __future__ import annotations

import numpy as np

from app.core.analysers.au import AU_NAMES, LATERAL_AUS, RAW_NAMES, intensities
from app.core.analysers.baseline import Baseline, estimate_baseline
from app.core.analysers.columns import CNN_NAMES, EXPRESSIONS
from app.core.analysers.expression import fuse
from app.core.face import blink as eye
SCORE_COLUMNS: tuple[str, ...] = AU_NAMES + tuple(f"{a}_asym" for a in LATERAL_AUS) + EXPRESSIONS + ("blink",)
ROW_COLUMNS: tuple[str, ...] = ("frame", "track", "t_sec", "usable", "raw") + CNN_NAMES


def decode_raw(blobs: list[bytes]) -> np.ndarray:
    """Stack raw-feature blobs (float32) into an (N, len(RAW_NAMES)) array.

    Rows written before a feature existed (an older analysis) read NaN for it.
    """
    width = 4 * len(RAW_NAMES)
    if all(len(b) >= width for b in blobs):  # the usual case: one vectorised read
        joined = b"".join(b[:width] for b in blobs)
        return np.frombuffer(joined, dtype=np.float32).reshape(len(blobs), len(RAW_NAMES)).copy()
    out = np.full((len(blobs), len(RAW_NAMES)), np.nan, dtype=np.float32)
    for i, b in enumerate(blobs):
        v = np.frombuffer(b, dtype=np.float32)[: len(RAW_NAMES)]
        out[i, : len(v)] = v
    return out


def baseline_from_sample(blobs: list[bytes], seconds: float, marked: bool = False) -> Baseline | None:
    """The neutral reference of a face from a sample of its usable rows (None without any).

    ``seconds`` is how much footage of the face the rows stand for; ``marked`` says a reviewer
    marked them as neutral (see :func:`app.core.analysers.baseline.estimate_baseline`).
    """
    raw = decode_raw(blobs)
    return estimate_baseline(raw, seconds, marked) if len(raw) else None


def usable_seconds(t: np.ndarray, usable: np.ndarray) -> float:
    """Seconds of footage in which a face was usable (each frame counts its time step)."""
    return float(eye.frame_dt(t)[np.asarray(usable, dtype=bool)].sum())


def eye_closure(rows: list[dict[str, object]]) -> np.ndarray:
    """The blink signal of each row (:func:`app.core.face.blink.eye_closure`); NaN where unusable."""
    out = np.full(len(rows), np.nan)
    use = [i for i, r in enumerate(rows) if r["usable"]]
    if use:
        out[use] = eye.eye_closure(decode_raw([rows[i]["raw"] for i in use]))  # type: ignore[misc]
    return out


def score_rows(rows: list[dict[str, object]], baseline: Baseline, blink: np.ndarray,
               emotion: bool = True) -> list[dict[str, object]]:
    """Re-scored columns for a chunk of one face's rows (``frame``/``track`` keep the key).

    ``emotion=False`` (a run without the AU and expression analysers) re-scores blinks only.
    """
    use = [i for i, r in enumerate(rows) if r["usable"]]
    out: list[dict[str, object]] = [
        {"frame": r["frame"], "track": r["track"], **{c: None for c in SCORE_COLUMNS}} for r in rows
    ]
    for i, r in enumerate(rows):
        out[i]["blink"] = int(bool(blink[i])) if r["usable"] else None
    if not emotion:
        return [{"frame": o["frame"], "track": o["track"], "blink": o["blink"]} for o in out]
    if not use:
        return out
    raw = decode_raw([rows[i]["raw"] for i in use])  # type: ignore[misc]
    au, asym = intensities(raw, baseline)
    cnn = np.array([[rows[i][c] if rows[i][c] is not None else np.nan for c in CNN_NAMES] for i in use], dtype=float)
    cnn = np.where(np.isnan(cnn), 1.0 / len(CNN_NAMES), cnn)
    expr = fuse(cnn, au, asym)
    for k, i in enumerate(use):
        o = out[i]
        for j, a in enumerate(AU_NAMES):
            o[a] = round(float(au[k, j]), 4)
        for j, a in enumerate(LATERAL_AUS):
            o[f"{a}_asym"] = round(float(asym[k, j]), 4)
        for j, e in enumerate(EXPRESSIONS):
            o[e] = round(float(expr[k, j]), 4)
    return out
