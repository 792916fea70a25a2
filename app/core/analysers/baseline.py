"""Running per-person neutral baseline for the streaming pass.

While a video streams, each face track keeps a bounded reservoir sample of its usable frames' raw
features; the baseline is re-estimated from it every few frames. Memory stays flat in video length.
These provisional values let the timelines fill in while analysis runs; when the run ends the whole
session's baseline replaces them (see :mod:`app.core.finalize`).
"""

from __future__ import annotations

import numpy as np

from app.core.analysers.au import estimate_baseline


class RunningBaseline:
    """Reservoir-sampled baseline per track.

    Parameters
    ----------
    capacity : most frames kept per track.
    refresh : re-estimate after this many new frames.
    seed : random seed (the sample, and so the provisional values, are reproducible).
    """

    def __init__(self, capacity: int = 1500, refresh: int = 30, seed: int = 0) -> None:
        self.capacity, self.refresh = capacity, refresh
        self._rng = np.random.default_rng(seed)
        self._samples: dict[int, list[np.ndarray]] = {}
        self._seen: dict[int, int] = {}
        self._since: dict[int, int] = {}
        self._base: dict[int, np.ndarray] = {}

    def add(self, track: int, raw: np.ndarray) -> None:
        """Offer one usable frame's raw features to the track's reservoir."""
        sample = self._samples.setdefault(track, [])
        seen = self._seen.get(track, 0) + 1
        self._seen[track] = seen
        if len(sample) < self.capacity:
            sample.append(raw)
        else:
            j = int(self._rng.integers(0, seen))
            if j < self.capacity:
                sample[j] = raw
        self._since[track] = self._since.get(track, 0) + 1
        if track not in self._base or self._since[track] >= self.refresh:
            self._base[track] = estimate_baseline(np.stack(sample))
            self._since[track] = 0

    def get(self, track: int) -> np.ndarray | None:
        """Current baseline of a track, or ``None`` before its first usable frame."""
        return self._base.get(track)
