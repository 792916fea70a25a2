"""Glottal pulses, jitter and shimmer behind :mod:`app.core.voice.acoustic`.

Pulses are tracked in the waveform of each voiced run (guided by the YIN period of
:mod:`app.core.voice._acoustic_lld`), and the perturbation measures follow the definitions of the
Praat manual (Boersma & Weenink, "Voice 2. Jitter" and "Voice 3. Shimmer"), which go back to
Koike (1973), Horii (1979, 1980) and Baken & Orlikoff (2000). The algorithms are re-implemented
from those published descriptions; no Praat code is used.

References
----------
Boersma, P., & Weenink, D. Praat: doing phonetics by computer, manual pages "Voice 2. Jitter",
"Voice 3. Shimmer" and "Sound: To PointProcess (periodic, cc)".
Baken, R. J., & Orlikoff, R. F. (2000). *Clinical measurement of speech and voice* (2nd ed.).
Farrús, M., Hernando, J., & Ejarque, P. (2007). Jitter and shimmer measurements for speaker
recognition. *Proc. Interspeech*, 778-781 (formulas of jitter local/rap/ppq5, shimmer local/dB/apq).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.core.voice._acoustic_lld import HOP, SR, Pitch, runs

PERIOD_MIN_S, PERIOD_MAX_S = 1e-4, 0.02  # Praat's period floor and ceiling
MAX_PERIOD_FACTOR = 1.3  # Praat: consecutive periods differing more are not compared
MAX_AMPLITUDE_FACTOR = 1.6  # Praat: consecutive amplitudes differing more are not compared
PERTURBATION_HALF_WINDOW = 0.03  # s; per-frame jitter / shimmer pools pulses in +-30 ms
MIN_CORRELATION = 0.3  # pulse tracking stops where period-to-period correlation drops below this


def _peak(x: np.ndarray, c: int, radius: int) -> tuple[float, float, int] | None:
    """Parabolically refined maximum of ``x`` within ``c +- radius``: (position, value, integer index)."""
    lo, hi = max(1, c - radius), min(len(x) - 1, c + radius + 1)
    if hi <= lo:
        return None
    k = lo + int(np.argmax(x[lo:hi]))
    a, b, d = x[k - 1], x[k], x[min(k + 1, len(x) - 1)]
    den = a - 2 * b + d
    shift = float(np.clip(0.5 * (a - d) / den, -0.5, 0.5)) if den < 0 else 0.0
    return k + shift, float(b - 0.25 * (a - d) * shift), k


def _walk(x: np.ndarray, t: int, step: int, period_at: Callable[[float], float],
          out: list[tuple[float, float]]) -> None:
    """Follow pulses from the peak at sample ``t`` in direction ``step`` (+1 / -1).

    The next pulse lies at the lag, within 0.75-1.25 local periods, at which the one-period
    neighbourhood of the current pulse correlates best with the waveform (the cross-correlation
    method of Praat's "To PointProcess (periodic, cc)" as described in its manual); the lag is
    refined by parabolic interpolation of the correlation, so pulse positions are fractional. The
    amplitude of a pulse is the (parabolically refined) waveform peak within half a period of it.
    Appends ``(position, amplitude)`` to ``out``; stops at the run's edge or where the correlation
    drops below 0.3.
    """
    n = len(x)
    pos = float(t)
    for _ in range(n):
        period = float(period_at(t))
        h = min(int(round(period / 2)), t, n - t)
        if h < 4:
            return
        tmpl = x[t - h: t + h]
        lo = t + step * int(0.75 * period)
        hi = t + step * int(np.ceil(1.25 * period))
        c_lo, c_hi = max(min(lo, hi), h), min(max(lo, hi), n - h)
        if c_hi - c_lo < 2:
            return
        cand = np.lib.stride_tricks.sliding_window_view(x[c_lo - h: c_hi + h], 2 * h)
        energy = np.einsum("ij,ij->i", cand, cand) * float(tmpl @ tmpl)
        corr = (cand @ tmpl) / np.sqrt(np.maximum(energy, 1e-30))
        best = int(np.argmax(corr))
        if corr[best] < MIN_CORRELATION:
            return
        shift = 0.0
        if 0 < best < len(corr) - 1:
            a, b, d = corr[best - 1], corr[best], corr[best + 1]
            den = a - 2 * b + d
            shift = float(np.clip(0.5 * (a - d) / den, -0.5, 0.5)) if den < 0 else 0.0
        nxt = c_lo + best
        pos += nxt + shift - t
        peak = _peak(x, nxt, h)
        out.append((pos, peak[1] if peak is not None else float(x[nxt])))
        t = nxt


def glottal_pulses(y: np.ndarray, p: Pitch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Glottal pulse positions (fractional samples), peak amplitudes and voiced-run index per pulse.

    In each voiced run the polarity with the larger extreme is used, tracking starts at the run's
    strongest peak and walks both ways with :func:`_walk`, guided by the local YIN period.
    """
    pos: list[np.ndarray] = []
    amp: list[np.ndarray] = []
    rid: list[np.ndarray] = []
    for i, (a, b) in enumerate(runs(p.voiced)):
        s, e = max(0, a * HOP - HOP // 2), min(len(y), (b - 1) * HOP + HOP // 2 + 1)
        x = y[s:e].astype(np.float64)
        if len(x) < 16:
            continue
        if x.max() < -x.min():
            x = -x
        centres = np.arange(a, b) * HOP - s
        periods = SR / p.f0[a:b]

        def period_at(t: float, _c: np.ndarray = centres, _p: np.ndarray = periods) -> float:
            return float(np.interp(t, _c, _p))

        anchor = _peak(x, int(np.argmax(x)), 1)
        if anchor is None:
            continue
        fwd: list[tuple[float, float]] = []
        bwd: list[tuple[float, float]] = []
        _walk(x, anchor[2], 1, period_at, fwd)
        _walk(x, anchor[2], -1, period_at, bwd)
        pts = np.array(bwd[::-1] + [anchor[:2]] + fwd, dtype=np.float64)
        pos.append(pts[:, 0] + s)
        amp.append(pts[:, 1])
        rid.append(np.full(len(pts), i))
    if not pos:
        return np.zeros(0), np.zeros(0), np.zeros(0, int)
    return np.concatenate(pos), np.concatenate(amp), np.concatenate(rid)


def _centred(seq: np.ndarray, okpair: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """|seq[i] - mean(seq[i-h..i+h])| where all 2h neighbouring pairs are valid: (indices, terms)."""
    if len(seq) < 2 * h + 1:
        return np.zeros(0, int), np.zeros(0)
    win = np.lib.stride_tricks.sliding_window_view(seq, 2 * h + 1)
    ok = np.lib.stride_tricks.sliding_window_view(okpair, 2 * h).all(axis=1)
    centre = np.arange(h, len(seq) - h)
    terms = np.abs(seq[centre] - win.mean(axis=1))
    return centre[ok], terms[ok]


def perturbation_terms(pos: np.ndarray, amp: np.ndarray, rid: np.ndarray) -> dict[str, tuple]:
    """Per-period jitter and per-pulse shimmer terms, Praat's definitions (Boersma & Weenink, Praat manual).

    Jitter: local = |T_i - T_(i-1)|, rap = |T_i - mean of 3 periods|, ppq5 = |T_i - mean of 5|,
    each divided by the mean period. Shimmer on pulse peak amplitudes A: local = |A_i - A_(i-1)|,
    local_db = |20 log10(A_i / A_(i-1))|, apq3 / apq5 = |A_i - mean of 3 / 5 amplitudes|, divided by
    the mean amplitude (except local_db). Periods outside 0.1-20 ms, period pairs differing by more
    than a factor 1.3 and amplitude pairs differing by more than 1.6 are excluded, as in Praat.

    Returns
    -------
    dict
        ``name -> (term positions, terms, denominator positions, denominator values)``, positions in
        samples; the denominator is None for ``shimmer_local_db``.
    """
    empty = (np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))
    names = ("jitter_local", "jitter_rap", "jitter_ppq5",
             "shimmer_local", "shimmer_local_db", "shimmer_apq3", "shimmer_apq5")
    if len(pos) < 3:
        return {k: empty for k in names}
    per = np.diff(pos)
    mid = pos[:-1] + per / 2
    valid = (rid[1:] == rid[:-1]) & (per >= PERIOD_MIN_S * SR) & (per <= PERIOD_MAX_S * SR)
    ratio = np.maximum(per[1:], per[:-1]) / np.maximum(np.minimum(per[1:], per[:-1]), 1e-9)
    ok_t = valid[1:] & valid[:-1] & (ratio <= MAX_PERIOD_FACTOR)
    safe_amp = np.maximum(amp, 1e-12)
    a_ratio = np.maximum(safe_amp[1:], safe_amp[:-1]) / np.minimum(safe_amp[1:], safe_amp[:-1])
    ok_a = valid & (amp[1:] > 0) & (amp[:-1] > 0) & (a_ratio <= MAX_AMPLITUDE_FACTOR)
    t_den = (mid[valid], per[valid])
    touched = np.zeros(len(pos), bool)
    touched[:-1] |= ok_a
    touched[1:] |= ok_a
    a_den = (pos[touched], amp[touched])
    out: dict[str, tuple] = {}
    out["jitter_local"] = (pos[1:-1][ok_t], np.abs(np.diff(per))[ok_t], *t_den)
    for name, h in (("jitter_rap", 1), ("jitter_ppq5", 2)):
        idx, terms = _centred(per, ok_t, h)
        out[name] = (mid[idx], terms, *t_den)
    out["shimmer_local"] = (mid[ok_a], np.abs(np.diff(amp))[ok_a], *a_den)
    db = np.abs(20.0 * np.log10(safe_amp[1:] / safe_amp[:-1]))
    out["shimmer_local_db"] = (mid[ok_a], db[ok_a], None, None)
    for name, h in (("shimmer_apq3", 1), ("shimmer_apq5", 2)):
        idx, terms = _centred(amp, ok_a, h)
        out[name] = (pos[idx], terms, *a_den)
    return out


def _window_mean(at: np.ndarray, pos: np.ndarray, val: np.ndarray, half: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and count of ``val`` (sorted by ``pos``) within ``at +- half`` for every point of ``at``."""
    order = np.argsort(pos)
    pos, val = pos[order], val[order]
    csum = np.concatenate([[0.0], np.cumsum(val)])
    lo = np.searchsorted(pos, at - half, side="left")
    hi = np.searchsorted(pos, at + half, side="right")
    cnt = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        return (csum[hi] - csum[lo]) / cnt, cnt


def perturbation(terms: dict[str, tuple], voiced: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Per-frame (voiced frames with >= 2 terms in +-30 ms) and pooled (whole utterance) values."""
    centres = np.arange(len(voiced)) * float(HOP)
    half = PERTURBATION_HALF_WINDOW * SR
    frames: dict[str, np.ndarray] = {}
    pooled: dict[str, float] = {}
    for name, (tp, tv, dp, dv) in terms.items():
        if len(tv) == 0:
            frames[name] = np.full(len(voiced), np.nan)
            pooled[name] = float("nan")
            continue
        num, cnt = _window_mean(centres, tp, tv, half)
        if dv is None:
            val, pooled[name] = num, float(np.mean(tv))
        else:
            den, _ = _window_mean(centres, dp, dv, half)
            with np.errstate(invalid="ignore", divide="ignore"):
                val = num / den
            pooled[name] = float(np.mean(tv) / np.mean(dv))
        frames[name] = np.where(voiced & (cnt >= 2), val, np.nan)
    return frames, pooled
