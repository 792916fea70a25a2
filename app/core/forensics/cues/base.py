"""Shared types of the forgery cues: the per-frame face data they read and the result they return.

Every cue module exposes ``score_windows(data: FaceSeries, window_s: float) -> CueResult``: a pure
function over arrays (no decoding), scoring each analysis window in 0..1 where 0 looks like a real,
unmanipulated face and 1 is strongly anomalous. NaN means the window holds too little evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class FaceSeries:
    """Per-frame face data of one video (one tracked face).

    Attributes
    ----------
    t : (N,) float64 frame times in seconds, increasing.
    usable : (N,) bool, True where a face was found in the frame.
    landmarks : (N, 478, 3) float32 normalised landmarks (x, y in 0..1; z on the x scale).
    blendshapes : (N, 52) float32 in ``BLENDSHAPE_NAMES`` order.
    matrix : (N, 4, 4) float32 facial transformation matrices.
    width, height : image size in pixels.
    audio_energy : (N,) speech RMS at each frame time, or None without audio.
    px : per-frame pixel measurements (``px_sbi``, ``px_block``, ``px_sharp``, ``px_spec``), (N,)
        each, NaN on frames without one (they are taken every few frames).
    frame : (N,) video frame numbers, for evidence (empty when unknown).
    """

    t: np.ndarray
    usable: np.ndarray
    landmarks: np.ndarray
    blendshapes: np.ndarray
    matrix: np.ndarray
    width: int
    height: int
    audio_energy: np.ndarray | None = None
    px: dict[str, np.ndarray] = field(default_factory=dict)
    frame: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(len(self.t))

    def take(self, idx: np.ndarray) -> FaceSeries:
        """A new series holding frames ``idx`` (copies), times as given."""
        return FaceSeries(self.t[idx].copy(), self.usable[idx].copy(), self.landmarks[idx].copy(),
                          self.blendshapes[idx].copy(), self.matrix[idx].copy(), self.width, self.height,
                          None if self.audio_energy is None else self.audio_energy[idx].copy(),
                          {k: v[idx].copy() for k, v in self.px.items()},
                          self.frame[idx].copy() if len(self.frame) else self.frame)

    def fps(self) -> float:
        """Median frame rate (frames per second); 0 for fewer than two frames."""
        if len(self.t) < 2:
            return 0.0
        return float(1.0 / max(np.median(np.diff(self.t)), 1e-6))


@dataclass
class CueResult:
    """Scores of one cue over the windows of a series.

    Attributes
    ----------
    name : cue name (``"temporal"``, ``"blink"``, ...).
    window_start, window_end : (W,) seconds.
    score : (W,) in 0..1, NaN where the window holds insufficient evidence.
    evidence : one dict per window with the numbers behind the score and the frames used.
    session_score : whole-video score in 0..1, NaN when insufficient.
    """

    name: str
    window_start: np.ndarray
    window_end: np.ndarray
    score: np.ndarray
    evidence: list[dict] = field(default_factory=list)
    session_score: float = float("nan")


def windows(t: np.ndarray, window_s: float, hop_s: float | None = None) -> list[tuple[float, float, np.ndarray]]:
    """Cut frame times into windows.

    Parameters
    ----------
    t : (N,) frame times in seconds.
    window_s : window length in seconds.
    hop_s : step between window starts; defaults to ``window_s`` (no overlap).

    Returns
    -------
    list of ``(start, end, frame_indices)``; the last window is kept only when it covers at least
    half a window (a shorter video gives one window covering all of it).
    """
    t = np.asarray(t, dtype=np.float64)
    if len(t) == 0 or window_s <= 0:
        return []
    hop = window_s if hop_s is None or hop_s <= 0 else hop_s
    t0, t_end = float(t[0]), float(t[-1])
    if t_end - t0 < window_s:
        return [(t0, t_end, np.arange(len(t)))]
    out = []
    start = t0
    while start < t_end:
        end = start + window_s
        if end > t_end + 1e-9 and (t_end - start) < 0.5 * window_s:
            break
        idx = np.flatnonzero((t >= start) & (t < end))
        out.append((start, min(end, t_end), idx))
        if end >= t_end:
            break
        start += hop
    return out


def squash(x: float, ref: float, high: float) -> float:
    """Map an anomaly measure to 0..1: 0 at or below ``ref`` (real-clip level), 0.5 at ``high``.

    With ``r = (x - ref) / (high - ref)`` the score is ``r**2 / (1 + r**2)`` (a logistic in
    ``log r``): 0.2 at r = 0.5, 0.8 at r = 2, approaching 1 beyond. NaN stays NaN.
    """
    if not np.isfinite(x):
        return float("nan")
    if x <= ref:
        return 0.0
    z = np.log(max(x - ref, 1e-12) / max(high - ref, 1e-12))
    return float(1.0 / (1.0 + np.exp(-2.0 * z)))


def nan_mean(x: np.ndarray) -> float:
    """Mean of the finite values; NaN when there are none (without a RuntimeWarning)."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    return float(x.mean()) if len(x) else float("nan")


def empty_result(name: str) -> CueResult:
    """A result with no windows (empty series)."""
    z = np.zeros(0)
    return CueResult(name, z, z.copy(), z.copy(), [], float("nan"))
