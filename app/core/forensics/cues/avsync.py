"""Audio-visual synchrony cue: does the mouth move with the speech?

A talking face opens its mouth as it speaks: mouth opening and speech energy correlate positively
with the face slightly leading the sound (tens of milliseconds). A replayed, dubbed or re-enacted face
driven by other audio shows little or no such correlation, or one at a larger lag.

Per frame: mouth opening is the pose-normalised inner-lip gap ``g_lip_gap``
(:mod:`app.core.face.geometry`); speech energy is ``20 log10(RMS)`` of ``audio_energy``. Frames
within :data:`SPEECH_DB` of the session's 95th percentile and louder than :data:`FLOOR_DBFS` count
as speech (zero, NaN and quieter frames do not). Per window: the Pearson correlation of the two at
every lag within +-:data:`MAX_LAG_S` (0.5 s) over frames that are usable and in speech; the best lag
and its correlation ``r`` are kept. A best lag further than :data:`LAG_OK_S` from zero halves ``r``.
The score is ``clip((R_OK - r) / (R_OK - R_NONE), 0, 1)``.

Insufficient (NaN): no audio, a window with fewer than :data:`MIN_SPEECH_FRAMES` speech frames, or a
flat signal. Only the subject's own speech should be scored: a caller that knows the turns sets
``audio_energy`` to NaN where someone else speaks (an interviewer's voice is not expected to move the
applicant's mouth).

Reference values: no fixture holds real synchronised speech (the talking head's audio is digital
silence), so :data:`R_OK` / :data:`R_NONE` are set by judgement, not calibrated on real speech; they
need re-fitting on genuine interviews. Measured null level: the looped talking head against the
unrelated interview dialogue gives best-lag correlations of 0.11-0.79 per 2 s window (the best of
25 lags over ~48 frames is biased upwards), so single windows are noisy and the session score, one
correlation over all speech frames, is the steadier number.
"""

from __future__ import annotations

import numpy as np

from app.core.face.geometry import GEOMETRY_NAMES, face_frame, geometry_features
from app.core.forensics.cues.base import CueResult, FaceSeries, empty_result, windows

NAME = "avsync"
LIP_GAP = GEOMETRY_NAMES.index("g_lip_gap")
MAX_LAG_S = 0.5
LAG_OK_S = 0.2
SPEECH_DB = 30.0
FLOOR_DBFS = -45.0  # below this RMS level no frame is speech (room noise; single_face peaks at -49)
MIN_SPEECH_FRAMES = 12
R_OK, R_NONE = 0.5, 0.1


def mouth_opening(data: FaceSeries) -> np.ndarray:
    """(N,) ``g_lip_gap`` per frame; NaN where unusable."""
    out = np.full(len(data), np.nan)
    for i in np.flatnonzero(data.usable):
        q = face_frame(data.landmarks[i], data.matrix[i], data.width, data.height)
        out[i] = geometry_features(q)[LIP_GAP]
    return out


def speech_log_energy(data: FaceSeries) -> np.ndarray | None:
    """(N,) log energy with non-speech frames set to NaN; None without audio or speech."""
    if data.audio_energy is None:
        return None
    e = np.asarray(data.audio_energy, dtype=np.float64)
    good = np.isfinite(e) & (e > 0)
    if not good.any():
        return None
    db = np.full(len(e), np.nan)
    db[good] = 20.0 * np.log10(e[good])
    top = np.percentile(db[good], 95)
    db[~good | (db < top - SPEECH_DB) | (db < FLOOR_DBFS)] = np.nan
    return db if np.isfinite(db).any() else None


def best_lag(mouth: np.ndarray, energy: np.ndarray, idx: np.ndarray, max_lag: int) -> tuple[float, int, int]:
    """Best correlation of ``mouth[i]`` with ``energy[i + lag]`` for ``i`` in ``idx``, ``|lag| <= max_lag``.

    Returns
    -------
    ``(r, lag_frames, n_pairs)``; r is NaN when no lag has enough finite, non-constant pairs.
    """
    best = (float("nan"), 0, 0)
    n = len(mouth)
    for lag in range(-max_lag, max_lag + 1):
        j = idx + lag
        keep = (j >= 0) & (j < n)
        a, b = mouth[idx[keep]], energy[j[keep]]
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() < MIN_SPEECH_FRAMES or np.std(a[ok]) < 1e-9 or np.std(b[ok]) < 1e-9:
            continue
        r = float(np.corrcoef(a[ok], b[ok])[0, 1])
        if not np.isfinite(best[0]) or r > best[0]:
            best = (r, lag, int(ok.sum()))
    return best


def _score(r: float, lag_s: float) -> tuple[float, float]:
    if not np.isfinite(r):
        return float("nan"), float("nan")
    r_eff = r if abs(lag_s) <= LAG_OK_S else 0.5 * r
    return float(np.clip((R_OK - r_eff) / (R_OK - R_NONE), 0.0, 1.0)), r_eff


def score_windows(data: FaceSeries, window_s: float = 2.0) -> CueResult:
    """Score audio-visual synchrony per window (see module doc).

    Parameters
    ----------
    data : the face series (needs ``audio_energy``).
    window_s : window length in seconds (non-overlapping); 2-4 s suits the correlation.

    Returns
    -------
    CueResult
        Evidence per window: ``r`` (best correlation), ``lag_s`` (positive: sound after mouth),
        ``r_effective``, ``n_pairs``, ``frames``.
    """
    if len(data) == 0:
        return empty_result(NAME)
    mouth, energy = mouth_opening(data), speech_log_energy(data)
    max_lag = int(round(MAX_LAG_S * data.fps())) if len(data) > 1 else 0
    starts, ends, scores, evidence = [], [], [], []
    for t0, t1, idx in windows(data.t, window_s):
        ev: dict = {"frames": (int(idx[0]), int(idx[-1])) if len(idx) else None}
        score = float("nan")
        if energy is not None and len(idx):
            r, lag, npairs = best_lag(mouth, energy, idx, max_lag)
            lag_s = lag / max(data.fps(), 1e-9)
            score, r_eff = _score(r, lag_s)
            ev.update(r=r, lag_s=lag_s, r_effective=r_eff, n_pairs=npairs)
        starts.append(t0), ends.append(t1), scores.append(score), evidence.append(ev)
    session = float("nan")
    if energy is not None:
        r, lag, _ = best_lag(mouth, energy, np.arange(len(data)), max_lag)
        session, _ = _score(r, lag / max(data.fps(), 1e-9))
    return CueResult(NAME, np.asarray(starts), np.asarray(ends), np.asarray(scores, dtype=np.float64),
                     evidence, session)
