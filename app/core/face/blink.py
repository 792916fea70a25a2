"""Blinks: the one definition that the frames export (AU45 flag) and the forgery blink cue share.

The blink signal is the mean of MediaPipe's ``eyeBlinkLeft`` and ``eyeBlinkRight``. A closure starts
when it rises above :data:`ON` and ends when it falls below :data:`OFF` (hysteresis, so a noisy
signal near one threshold does not split one blink into several); a frame without a usable face
ends an open closure, which is dropped (its length is unknown). A closure lasting at most
:data:`MAX_BLINK_S` is a blink; a longer one is eyes shut (or a laughing squint, which MediaPipe
also reports as "blink"). Durations are the sum of the frames' time steps, so variable frame rates
count correctly. Human blinks last about 100-400 ms (Bentivoglio et al. 1997); 1 s still admits a
slow blink, which the forgery cue wants to see.
"""

from __future__ import annotations

import numpy as np

ON, OFF = 0.45, 0.30
MAX_BLINK_S = 1.0
EYE_BLINK = (9, 10)  # eyeBlinkLeft, eyeBlinkRight in BLENDSHAPE_NAMES


def eye_closure(blendshapes: np.ndarray) -> np.ndarray:
    """Mean eyeBlink score of each row of an (N, 52) blendshape array."""
    return np.asarray(blendshapes, dtype=np.float64)[:, list(EYE_BLINK)].mean(axis=1)


def closures(closure: np.ndarray, usable: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Eye closures as ``(first, last)`` frame indices (inclusive), by hysteresis on ``closure``.

    ``closure`` is the blink signal per frame in time order (NaN where there is no usable face);
    ``usable`` marks the frames with a usable face (default: where ``closure`` is finite).
    """
    c = np.asarray(closure, dtype=np.float64)
    ok = np.isfinite(c) if usable is None else np.asarray(usable, dtype=bool) & np.isfinite(c)
    out, start = [], None
    for i in range(len(c)):
        if not ok[i]:
            start = None
            continue
        if start is None and c[i] > ON:
            start = i
        elif start is not None and c[i] < OFF:
            out.append((start, i - 1))
            start = None
    return out


def frame_dt(t: np.ndarray) -> np.ndarray:
    """Seconds each frame stands for (its step to the next one; the median step for the last)."""
    t = np.asarray(t, dtype=np.float64)
    if len(t) < 2:
        return np.zeros(len(t))
    d = np.diff(t)
    return np.append(d, np.median(d))


def blink_mask(closure: np.ndarray, t: np.ndarray, usable: np.ndarray | None = None) -> np.ndarray:
    """Mark the frames inside blinks (closures of at most :data:`MAX_BLINK_S`)."""
    dt = frame_dt(t)
    out = np.zeros(len(closure), dtype=bool)
    for a, b in closures(closure, usable):
        if dt[a : b + 1].sum() <= MAX_BLINK_S:
            out[a : b + 1] = True
    return out
