"""Min/max envelope of a recording's sound, streamed (see :func:`app.services.timeline.waveform_envelope`).

The decoder's frames are mixed to mono at the stream's own rate and reduced to the min and max of
small fixed blocks as they arrive; the blocks are merged into the requested bins at the end. So the
memory held is a few blocks per bin whatever the length, and nothing is resampled.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from app.core.media.probe import open_media
from app.core.voice.audio import declared_duration, decoded_frames

CHUNK = 1 << 18  # samples mixed and reduced at a time
_EMPTY = np.zeros(0, np.float32)


_PLANAR_FLOAT = {"fltp": np.float32, "dblp": np.float64}


def _mono(frame: Any) -> np.ndarray:
    """One decoded audio frame as float32 mono in -1..1."""
    n_ch = max(1, len(frame.layout.channels))
    kind = _PLANAR_FLOAT.get(frame.format.name)
    if kind is not None:
        # AAC, MP3 and Opus decode to planar float: read the planes in place, no per-frame stacking
        # (an hour of 48 kHz AAC is 170 000 frames, so per-frame overhead is what costs).
        n = frame.samples
        mono = np.frombuffer(frame.planes[0], kind, count=n).astype(np.float32)
        for c in range(1, min(n_ch, len(frame.planes))):
            mono += np.frombuffer(frame.planes[c], kind, count=n)
        return mono * np.float32(1.0 / n_ch) if n_ch > 1 else mono
    arr = frame.to_ndarray()
    if not frame.format.is_planar:
        arr = arr.reshape(-1, n_ch).T
    if arr.dtype == np.int16:
        scale = 1.0 / 32768.0
    elif arr.dtype == np.int32:
        scale = 1.0 / 2147483648.0
    elif arr.dtype == np.uint8:
        arr, scale = arr.astype(np.float32) - 128.0, 1.0 / 128.0
    else:
        scale = 1.0
    mono = arr[0].astype(np.float32) if arr.shape[0] == 1 else arr.mean(axis=0, dtype=np.float32)
    return mono * np.float32(scale) if scale != 1.0 else mono


class _Blocks:
    """Accumulates samples; keeps the min and max of every ``block`` consecutive samples."""

    def __init__(self, block: int) -> None:
        self.block = block
        self.pending: list[np.ndarray] = []
        self.n_pending = 0
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.n = 0

    def add(self, x: np.ndarray) -> None:
        self.pending.append(x)
        self.n_pending += len(x)
        if self.n_pending >= CHUNK:
            self._reduce(final=False)

    def _reduce(self, final: bool) -> None:
        if not self.pending:
            return
        x = np.concatenate(self.pending)
        m = len(x) // self.block * self.block
        if final and m < len(x):  # the last partial block counts too
            x = np.concatenate([x, np.full(self.block - (len(x) - m), x[-1], np.float32)])
            m = len(x)
        if m:
            b = x[:m].reshape(-1, self.block)
            self.lo.append(b.min(axis=1))
            self.hi.append(b.max(axis=1))
            self.n += m
        rest = x[m:]
        self.pending, self.n_pending = ([rest], len(rest)) if len(rest) else ([], 0)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        self._reduce(final=True)
        if not self.lo:
            return _EMPTY, _EMPTY
        return np.concatenate(self.lo), np.concatenate(self.hi)


def envelope(path: str | os.PathLike[str], bins: int = 20000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(t_centre, lo, hi)`` float32 over ``bins`` bins (fewer for a very short file); see
    :func:`app.services.timeline.waveform_envelope`."""
    bins = max(1, int(bins))
    container, _ = open_media(path, require_video=False)
    try:
        if not container.streams.audio:
            return _EMPTY, _EMPTY, _EMPTY
        stream = container.streams.audio[0]
        sr = int(stream.codec_context.sample_rate or stream.rate or 0)
        if sr <= 0:
            return _EMPTY, _EMPTY, _EMPTY
        declared = declared_duration(container, stream, has_video=False)
        # Blocks of at most a quarter bin, so merging blocks into bins keeps the bins even.
        block = int(np.clip(declared * sr / bins / 4, 1, 4096)) if declared else 64
        acc = _Blocks(block)
        t_start = (container.start_time or 0) / 1e6
        offset, first = 0.0, True
        for frame in decoded_frames(container, stream, path):
            if first:
                # Sound that starts after the container does starts later on the time axis too.
                offset = max(0.0, float(frame.time or 0.0) - t_start) if frame.time is not None else 0.0
                first = False
            acc.add(_mono(frame))
        lo, hi = acc.result()
    finally:
        container.close()
    if not len(lo):
        return _EMPTY, _EMPTY, _EMPTY
    nb = min(bins, len(lo))
    edges = np.linspace(0, len(lo), nb + 1).astype(np.int64)
    lo_b = np.minimum.reduceat(lo, edges[:-1])
    hi_b = np.maximum.reduceat(hi, edges[:-1])
    centre = offset + (edges[:-1] + edges[1:]) * (0.5 * block / sr)
    return centre.astype(np.float32), np.clip(lo_b, -1, 1).astype(np.float32), np.clip(hi_b, -1, 1).astype(np.float32)
