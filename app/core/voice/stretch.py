"""Speech at another speed with its pitch kept: streaming WSOLA time-scale modification.

Waveform-similarity overlap-add (Verhelst & Roelands, ICASSP 1993): the output is built from
Hann-windowed frames of the input laid down every ``hop`` samples; the frame for output hop ``k``
is taken near input position ``k * hop * speed``, shifted by up to ``search`` samples to where it
best continues the previous frame's waveform, so the periods line up and the voice keeps its pitch
instead of sounding like a tape at the wrong speed. At speed 1 every shift is 0 and the output is
the input itself.

The player pulls blocks of output with :meth:`TimeStretch.read` from PortAudio's callback thread;
each block costs one short correlation per 16 ms of sound.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TimeStretch"]


class TimeStretch:
    """Reads ``samples`` (int16 or float, mono) from ``start`` at ``speed`` (0.25-4) with pitch kept.

    ``frame_ms`` is the analysis frame (about two pitch periods of a low voice), ``search_ms`` how
    far a frame may move to match the waveform.
    """

    def __init__(self, samples: np.ndarray, sr: int, speed: float, start: int = 0,
                 frame_ms: float = 32.0, search_ms: float = 10.0) -> None:
        if not 0.25 - 1e-9 <= speed <= 4.0 + 1e-9:
            raise ValueError(f"speed {speed} is outside 0.25-4")
        self.x = samples
        self.speed = float(speed)
        self.scale = 1.0 / 32768.0 if np.issubdtype(samples.dtype, np.integer) else 1.0
        self.n = max(2 * (int(sr * frame_ms / 1000.0) // 2), 16)
        self.hop = self.n // 2
        self.search = int(sr * search_ms / 1000.0)
        k = np.arange(self.n)
        self.win = (0.5 - 0.5 * np.cos(2.0 * np.pi * k / self.n)).astype(np.float32)  # sums to 1 at n/2 hops
        self._nominal = float(max(0, start))  # where the next frame should come from
        self._cont: int | None = None  # where the previous frame's waveform continues
        self._acc = np.zeros(self.n, np.float32)
        self._out = np.zeros(0, np.float32)

    @property
    def position(self) -> float:
        """Input position (samples) the sound being read has reached."""
        return self._nominal

    def _frame(self, a: int) -> np.ndarray:
        seg = np.asarray(self.x[max(a, 0):max(a, 0) + self.n], np.float32) * self.scale
        return seg if len(seg) == self.n else np.pad(seg, (0, self.n - len(seg)))

    def _step(self) -> np.ndarray:
        a = int(round(self._nominal))
        best = a
        if self._cont is not None and self.speed != 1.0:
            lo, hi = max(0, a - self.search), min(len(self.x) - self.n, a + self.search)
            if hi > lo:
                ref = self._frame(self._cont)
                region = np.asarray(self.x[lo:hi + self.n], np.float32) * self.scale
                best = lo + int(np.argmax(np.correlate(region, ref, mode="valid")))
        self._acc += self.win * self._frame(best)
        out, self._acc = self._acc[:self.hop].copy(), np.concatenate([self._acc[self.hop:],
                                                                      np.zeros(self.hop, np.float32)])
        self._cont = best + self.hop
        self._nominal += self.hop * self.speed
        return out

    def read(self, frames: int) -> np.ndarray:
        """The next ``frames`` output samples as float32 in [-1, 1]; silence past the end."""
        parts = [self._out]
        have = len(self._out)
        while have < frames:
            if self._nominal >= len(self.x) + self.n:
                parts.append(np.zeros(frames - have, np.float32))
                break
            step = self._step()
            parts.append(step)
            have += len(step)
        buf = np.concatenate(parts)
        self._out = buf[frames:]
        return buf[:frames]
