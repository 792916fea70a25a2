"""End-of-run scoring: the whole session's baseline replaces the provisional one.

While a video streams, AU intensities are measured against a running baseline so the timelines can
fill in. When the run ends (or when a reviewer marks a new baseline segment) every usable row of a
face is re-scored from its stored raw features and CNN output: AU intensities against the final
baseline, the expression fusion, and blink events. No video is decoded again.
"""

from __future__ import annotations

import numpy as np

from app.core.analysers.au import AU_NAMES, LATERAL_AUS, RAW_NAMES, estimate_baseline, intensities
from app.core.analysers.columns import CNN_NAMES, EXPRESSIONS
from app.core.analysers.expression import fuse

_BLINK = (RAW_NAMES.index("eyeBlinkLeft"), RAW_NAMES.index("eyeBlinkRight"))
SCORE_COLUMNS: tuple[str, ...] = AU_NAMES + tuple(f"{a}_asym" for a in LATERAL_AUS) + EXPRESSIONS + ("blink",)
ROW_COLUMNS: tuple[str, ...] = ("frame", "track", "t_sec", "usable", "raw") + CNN_NAMES


def decode_raw(blobs: list[bytes]) -> np.ndarray:
    """Stack raw-feature blobs (float32) into an (N, len(RAW_NAMES)) array."""
    if not blobs:
        return np.zeros((0, len(RAW_NAMES)), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1)[:, : len(RAW_NAMES)]


def baseline_from_sample(blobs: list[bytes]) -> np.ndarray | None:
    """The session baseline of a face from a sample of its usable rows (None without any)."""
    raw = decode_raw(blobs)
    return estimate_baseline(raw) if len(raw) else None


def eye_closure(rows: list[dict[str, object]]) -> np.ndarray:
    """Mean eyeBlink value of each row; NaN where the row is unusable."""
    out = np.full(len(rows), np.nan)
    for i, r in enumerate(rows):
        if r["usable"]:
            v = np.frombuffer(r["raw"], dtype=np.float32)  # type: ignore[arg-type]
            out[i] = (v[_BLINK[0]] + v[_BLINK[1]]) / 2.0
    return out


def score_rows(rows: list[dict[str, object]], baseline: np.ndarray, blink: np.ndarray) -> list[dict[str, object]]:
    """Re-scored columns for a chunk of one face's rows (``frame``/``track`` keep the key)."""
    use = [i for i, r in enumerate(rows) if r["usable"]]
    out: list[dict[str, object]] = [
        {"frame": r["frame"], "track": r["track"], **{c: None for c in SCORE_COLUMNS}} for r in rows
    ]
    for i, r in enumerate(rows):
        out[i]["blink"] = int(bool(blink[i])) if r["usable"] else None
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
