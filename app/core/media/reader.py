"""Stream decoded video frames as RGB arrays with strictly increasing timestamps.

The file is never held in memory: PyAV demuxes and decodes packet by packet. Frame times come from
the container timestamps (so a wrong declared frame rate does not matter) and are repaired where
they are missing, repeated or go backwards, because the face landmarker downstream needs strictly
increasing timestamps.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import av.error
import numpy as np

from app.core.media.probe import FPS_SAMPLE, damage_hint, declared_frames, open_media, typical_interval

MIN_STEP_S = 1e-3  # timestamps closer than this to the previous one count as repeated


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One decoded frame.

    Attributes
    ----------
    index : int
        Position among all decoded frames, from 0, in presentation order.
    t : float
        Seconds since the first frame, strictly increasing.
    image : numpy.ndarray
        H x W x 3 uint8 RGB, C-contiguous.
    """

    index: int
    t: float
    image: np.ndarray


class FrameClock:
    """Turn raw frame timestamps into strictly increasing seconds from the first frame.

    A raw time is used as is (minus the first frame's) when it is at least :data:`MIN_STEP_S`
    after the previous output; otherwise (missing, repeated, backwards) the output is the previous
    one plus the frame interval. The interval is measured from the raw steps of the first ~120
    frames (:func:`~app.core.media.probe.typical_interval`), else ``fallback_interval``.

    Parameters
    ----------
    fallback_interval : float
        Seconds per frame to use before any step has been measured (from the declared rate).
    """

    def __init__(self, fallback_interval: float) -> None:
        self.fallback_interval = fallback_interval
        self._steps: list[float] = []
        self._interval: float | None = None
        self._origin: float | None = None
        self._last_raw: float | None = None
        self._prev: float | None = None
        self.repaired = 0

    @property
    def last(self) -> float | None:
        """The last time handed out, ``None`` before the first frame."""
        return self._prev

    @property
    def interval(self) -> float:
        """Current frame interval in seconds (measured, else the fallback)."""
        if self._interval is None:
            measured = typical_interval(self._steps)
            if len(self._steps) >= FPS_SAMPLE:
                self._interval = measured
            return measured or self.fallback_interval
        return self._interval

    def __call__(self, raw: float | None) -> float:
        """Seconds for the next frame, given its raw time in seconds (``None`` when unknown)."""
        if raw is not None:
            if self._last_raw is not None and raw > self._last_raw and len(self._steps) < FPS_SAMPLE:
                self._steps.append(raw - self._last_raw)
            self._last_raw = raw
            if self._origin is None:  # frames before the first timestamp keep their derived times
                self._origin = raw - (0.0 if self._prev is None else self._prev + self.interval)
        rel = None if raw is None or self._origin is None else raw - self._origin
        if self._prev is None:
            t = 0.0 if rel is None else rel
        elif rel is None or rel < self._prev + MIN_STEP_S - 1e-9:
            t = self._prev + self.interval
            self.repaired += 1
        else:
            t = rel
        self._prev = t
        return t


class FrameReader:
    """Iterate over the decoded frames of a video file.

    Parameters
    ----------
    path : str or os.PathLike
    start : int, default 0
        First frame index to yield. Earlier frames are decoded (exact indexes and timestamps need
        them) but not converted to RGB.
    stride : int, default 1
        Yield only frames whose index is a multiple of ``stride``; others are decoded, not converted.
    max_frames : int or None
        Stop after yielding this many frames.
    observers : sequence, optional
        Objects told about everything decoded (e.g.
        :class:`~app.core.forensics.integrity.IntegrityScan`): ``on_packet(packet)`` for every
        demuxed video packet, ``on_frame(frame)`` for every decoded PyAV frame (skipped ones too),
        and ``on_end(container, stream, error)`` once the stream has ended, ``error`` saying why
        decoding stopped early. Not called when the reader is closed before the end. They run on
        the decoding thread.

    Attributes
    ----------
    fps_container : float or None
        Declared frame rate of the stream.
    frames_read : int
        Frames yielded so far.
    frames_decoded : int
        Frames decoded so far (yielded or skipped).
    ended_early : bool
        True when decoding stopped before the end of the video (truncated or damaged file).
    end_note : str or None
        Why it ended early, e.g. ``"decoding stopped at frame 137: invalid data ..."``.

    Raises
    ------
    MediaError
        On construction, when the file cannot be opened (same messages as :func:`probe`).
    """

    def __init__(self, path: str | os.PathLike[str], start: int = 0, stride: int = 1,
                 max_frames: int | None = None, observers: Sequence[Any] = ()) -> None:
        if start < 0 or stride < 1 or (max_frames is not None and max_frames < 0):
            raise ValueError(f"bad frame range: start={start}, stride={stride}, max_frames={max_frames}")
        self.path = Path(path)
        self.start, self.stride, self.max_frames = start, stride, max_frames
        self.observers = tuple(observers)
        self._container, self._stream = open_media(self.path)
        rate = self._stream.average_rate or self._stream.guessed_rate or self._stream.base_rate
        self.fps_container = float(rate) if rate else None
        self.frames_read = 0
        self.frames_decoded = 0
        self.ended_early = False
        self.end_note: str | None = None
        self._gen = self._frames()

    def __iter__(self) -> Iterator[VideoFrame]:
        return self

    def __next__(self) -> VideoFrame:
        return next(self._gen)

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Stop decoding and release the file; safe to call more than once.

        Call it from the thread that iterates (:func:`~app.core.media.prefetch.prefetch` does).
        """
        self._gen.close()
        self._container.close()

    def _stop(self, note: str) -> None:
        self.ended_early = True
        self.end_note = f"decoding stopped at frame {self.frames_decoded}: {note}"

    def _frames(self) -> Iterator[VideoFrame]:
        stream, container = self._stream, self._container
        stream.thread_type = "AUTO"
        clock = FrameClock(1.0 / self.fps_container if self.fps_container else 1.0 / 30.0)
        tb = stream.time_base
        wanted = self.max_frames
        try:
            if wanted == 0:
                return
            for packet in container.demux(stream):
                for ob in self.observers:
                    ob.on_packet(packet)
                for frame in packet.decode():
                    for ob in self.observers:
                        ob.on_frame(frame)
                    out = self._take(frame, clock, tb)
                    if out is not None:
                        yield out
                        if wanted is not None and self.frames_read >= wanted:
                            return
            self._check_complete(clock)
            self._ended(self.end_note)
        except av.error.FFmpegError as exc:
            self._stop(_describe(exc))
            self._ended(self.end_note)
        finally:
            container.close()

    def _ended(self, error: str | None) -> None:
        for ob in self.observers:
            ob.on_end(self._container, self._stream, error)

    def _take(self, frame: Any, clock: FrameClock, tb: Any) -> VideoFrame | None:
        """Time-stamp one decoded frame; convert it to RGB only when it is to be yielded."""
        ts = frame.pts if frame.pts is not None else frame.dts
        base = frame.time_base or tb
        t = clock(float(ts * base) if ts is not None and base else None)
        index = self.frames_decoded
        self.frames_decoded += 1
        if index < self.start or index % self.stride:
            return None
        image = frame.to_ndarray(format="rgb24")
        turns = int(round((frame.rotation or 0) / 90.0)) % 4
        if turns:  # phone video: show it upright, as players do (display matrix, counterclockwise)
            image = np.rot90(image, k=turns)
        image = np.ascontiguousarray(image)
        self.frames_read += 1
        return VideoFrame(index=index, t=t, image=image)

    def _check_complete(self, clock: FrameClock) -> None:
        """After a quiet end of stream, flag a file holding fewer frames (or seconds) than declared."""
        expected, n = declared_frames(self._stream), self.frames_decoded
        duration = self._container.duration / 1e6 if self._container.duration else None
        if expected and n < expected - 1:
            of = f"{n} of {expected}"
        elif not expected and duration and (clock.last or 0.0) < 0.9 * duration - 1.0:
            of = f"{n} ({clock.last or 0.0:.1f} s of {duration:.1f} s)"
        else:
            return
        hint = damage_hint(self.path)
        self.ended_early = True
        self.end_note = f"decoding stopped at frame {of}: the file is truncated or damaged" + (
            f" ({hint})" if hint else "")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, av.error.InvalidDataError):
        return "invalid data (the file is truncated or damaged)"
    return (getattr(exc, "strerror", None) or str(exc)).lower()


def iter_frames(path: str | os.PathLike[str], start: int = 0, stride: int = 1,
                max_frames: int | None = None, observers: Sequence[Any] = ()) -> FrameReader:
    """Decoded frames of ``path``; see :class:`FrameReader` (this returns one).

    Examples
    --------
    >>> with iter_frames("interview.mp4", stride=2) as frames:  # doctest: +SKIP
    ...     for frame in frames:
    ...         process(frame.index, frame.t, frame.image)
    """
    return FrameReader(path, start=start, stride=stride, max_frames=max_frames, observers=observers)
