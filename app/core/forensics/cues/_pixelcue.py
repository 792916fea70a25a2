"""Shared windowing of the per-frame pixel measurements (taken every few frames, NaN between)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.core.forensics.cues.base import CueResult, FaceSeries, empty_result, nan_mean, windows

MIN_SAMPLES = 4  # measured frames a window needs


def score_pixel_windows(data: FaceSeries, name: str, columns: tuple[str, ...], window_s: float,
                        rate: Callable[[dict[str, float]], tuple[float, dict[str, float]]],
                        worst: str) -> CueResult:
    """Window the ``columns`` of ``data.px`` by their medians and score each window with ``rate``.

    ``rate`` maps the window medians to ``(score, sub-scores)``. Evidence per window: the medians,
    the sub-scores, the number of measured frames, and the three frames with the highest ``worst``
    value (the frames a reviewer should look at).
    """
    if len(data) == 0 or not all(c in data.px for c in columns):
        return empty_result(name)
    cols = {c: np.asarray(data.px[c], dtype=np.float64) for c in columns}
    measured = np.isfinite(cols[columns[0]]) & data.usable
    starts, ends, scores, evidence = [], [], [], []
    for t0, t1, idx in windows(data.t, window_s):
        good = idx[measured[idx]]
        ev: dict = {"n_frames": int(len(good))}
        score = float("nan")
        if len(good) >= MIN_SAMPLES:
            med = {c: float(np.nanmedian(v[good])) if np.isfinite(v[good]).any() else float("nan")
                   for c, v in cols.items()}
            score, subs = rate(med)
            top = good[np.argsort(-np.nan_to_num(cols[worst][good], nan=-np.inf))[:3]]
            frames = data.frame[top] if len(data.frame) else top
            ev.update({k: round(v, 4) for k, v in med.items() if np.isfinite(v)})
            ev.update({f"s_{k}": round(v, 4) for k, v in subs.items() if np.isfinite(v)})
            ev["evidence_frames"] = [int(f) for f in frames]
        starts.append(t0), ends.append(t1), scores.append(score), evidence.append(ev)
    sc = np.asarray(scores, dtype=np.float64)
    session = nan_mean(sc)
    good = np.flatnonzero(measured)
    if not np.isfinite(session) and len(good) >= MIN_SAMPLES:
        # A short or low-frame-rate clip (a GIF made into a video) has too few measured frames in
        # every window: the session is then judged on all of them together.
        med = {c: float(np.nanmedian(v[good])) if np.isfinite(v[good]).any() else float("nan")
               for c, v in cols.items()}
        session, _ = rate(med)
    return CueResult(name, np.asarray(starts), np.asarray(ends), sc, evidence, session)
