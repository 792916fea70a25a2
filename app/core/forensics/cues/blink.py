"""Blink-dynamics cue: blink rate and duration against human norms.

Early face swaps blinked rarely or never (their training photos show open eyes); re-enactments can
hold the eyes of the driving video still. Human norms (Bentivoglio et al. 1997, Movement Disorders
12(6)): about 17 blinks/min at rest, 26 in conversation and 4.5 while reading; a blink lasts
roughly 100-400 ms.

Detection: :mod:`app.core.face.blink`, the same definition as the frames export's blink flag (a
closure by hysteresis on the mean eyeBlink score; up to ``MAX_BLINK_S`` it is a blink). Longer
closures (eyes shut, or a laughing squint) are neither counted nor part of the open-eye time the
rate is computed over.

Scoring: a blink rate needs tens of seconds, so each window is judged on a context of
:data:`CONTEXT_S` (30 s) centred on it, clipped to the video; with less than :data:`MIN_SPAN_S`
(15 s) of usable face the window is insufficient (NaN). So the cue effectively uses 15-60 s
windows whatever ``window_s`` is (for a window longer than the context, the window itself).

* rate: the Poisson probability ``p`` of seeing at most the observed number of blinks if the subject
  blinked at the lowest norm, :data:`NORM_LOW_PER_MIN` (4.5/min, reading), over the open-eye time;
  ``s_rate = clip(-log10(p) / 2, 0, 1)`` (p = 0.1 -> 0.5, p = 0.01 -> 1). No blink in 60 s of open
  eyes gives p = 0.011 (score 0.98); none in 20 s, p = 0.22 (0.33).
* duration: with at least 3 blinks, the median duration against the 400 ms norm,
  ``s_dur = squash(median, 0.4 s, 0.7 s)``. (Too-short blinks cannot be told from detector noise at
  video frame rates, so only over-long ones count.)

The window score is ``max(s_rate, s_dur)``; the session score applies the same test to the whole
video. Measured on the real WolfgangLanger clip (19.7 s): 3 blinks (median 208 ms) in 13.8 s of
open eyes (the rest is a laughing squint), 13/min, p = 0.98, score 0.005.
"""

from __future__ import annotations

import math

import numpy as np

from app.core.face import blink as eye
from app.core.face.blink import EYE_BLINK, MAX_BLINK_S  # noqa: F401 (EYE_BLINK: the signal's blendshapes)
from app.core.forensics.cues.base import CueResult, FaceSeries, empty_result, squash, windows

NAME = "blink"
CONTEXT_S = 30.0
MIN_SPAN_S = 15.0
NORM_LOW_PER_MIN = 4.5
DURATION_REF = (0.4, 0.7)  # seconds: top of the human norm, clearly too slow


def closures(data: FaceSeries) -> list[tuple[int, int]]:
    """Eye closures of a face series as ``(first, last)`` frame indices (see :mod:`app.core.face.blink`)."""
    return eye.closures(eye.eye_closure(data.blendshapes), data.usable)


def blink_stats(data: FaceSeries, idx: np.ndarray, events: list[tuple[int, int]]) -> dict:
    """Blink count, open-eye seconds, usable span and blink durations within frames ``idx``."""
    dt = eye.frame_dt(data.t)
    inside = np.zeros(len(data), dtype=bool)
    inside[idx] = True
    open_mask = inside & data.usable
    blinks = []
    for a, b in events:
        if not inside[a]:
            continue
        dur = float(dt[a:b + 1].sum())
        if dur <= MAX_BLINK_S:
            blinks.append(dur)
        else:
            open_mask[a:b + 1] = False
    return {"n_blinks": len(blinks), "open_s": float(dt[open_mask].sum()),
            "span_s": float(dt[inside & data.usable].sum()), "durations_s": blinks}


def _poisson_cdf(k: int, lam: float) -> float:
    return float(sum(math.exp(-lam) * lam ** j / math.factorial(j) for j in range(k + 1)))


def score_stats(st: dict) -> tuple[float, dict]:
    """Score (0..1, NaN when insufficient) and its numbers from :func:`blink_stats` output."""
    ev = {k: st[k] for k in ("n_blinks", "open_s", "span_s")}
    if st["span_s"] < MIN_SPAN_S:  # abstain: a rate over a few seconds says nothing
        return float("nan"), {**ev, "abstain_short_s": MIN_SPAN_S}
    open_min = st["open_s"] / 60.0
    rate = st["n_blinks"] / open_min if open_min > 0 else float("nan")
    p = _poisson_cdf(st["n_blinks"], NORM_LOW_PER_MIN * open_min)
    s_rate = float(np.clip(-math.log10(max(p, 1e-12)) / 2.0, 0.0, 1.0))
    s_dur = 0.0
    med = float(np.median(st["durations_s"])) if st["durations_s"] else float("nan")
    if len(st["durations_s"]) >= 3:
        s_dur = squash(med, *DURATION_REF)
    ev.update(rate_per_min=rate, p_low_rate=p, median_duration_s=med, s_rate=s_rate, s_duration=s_dur)
    return max(s_rate, s_dur), ev


def score_windows(data: FaceSeries, window_s: float = 2.0) -> CueResult:
    """Score blink dynamics per window, each judged on a >= 15 s context (see module doc).

    Parameters
    ----------
    data : the face series.
    window_s : window length in seconds (non-overlapping); the evidence span is wider.

    Returns
    -------
    CueResult
        Evidence per window: ``n_blinks``, ``open_s``, ``span_s``, ``rate_per_min``,
        ``p_low_rate``, ``median_duration_s``, sub-scores, ``frames`` and ``context`` (seconds).
    """
    if len(data) == 0:
        return empty_result(NAME)
    events = closures(data)
    t = data.t
    starts, ends, scores, evidence = [], [], [], []
    for t0, t1, idx in windows(t, window_s):
        if t1 - t0 >= CONTEXT_S:
            c0, c1 = t0, t1
        else:
            mid = 0.5 * (t0 + t1)
            c0 = max(float(t[0]), min(mid - CONTEXT_S / 2, float(t[-1]) - CONTEXT_S))
            c1 = c0 + CONTEXT_S
        ctx = np.flatnonzero((t >= c0) & (t <= c1))
        score, ev = score_stats(blink_stats(data, ctx, events))
        ev.update(frames=(int(idx[0]), int(idx[-1])) if len(idx) else None, context=(c0, min(c1, float(t[-1]))))
        starts.append(t0), ends.append(t1), scores.append(score), evidence.append(ev)
    session, _ = score_stats(blink_stats(data, np.arange(len(data)), events))
    return CueResult(NAME, np.asarray(starts), np.asarray(ends), np.asarray(scores, dtype=np.float64),
                     evidence, session)
