"""The video player: a clock, a frame decoder on its own thread, and the audio output.

The UI thread never decodes. :class:`FrameDecoder` owns the PyAV container on a worker thread and
decodes exactly the frame asked for (the latest request wins): it seeks to the keyframe before the
target time and decodes forward to the frame whose timestamp matches the frames table's ``t_sec``,
or, while playing, simply decodes on from where it is. It also fetches the frame's overlay data
(:func:`app.services.timeline.frame_overlay`, a few ms) so the view gets picture and overlay
together. :class:`Player` keeps the clock (wall time times speed), asks for the frame under it and
tells the timelines where it is, at most 30 times a second.
"""

from __future__ import annotations

import logging
import threading
import time
from fractions import Fraction
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

from app.ui.audio_out import AudioOut

log = logging.getLogger("vigil.ui")
FORWARD_DECODE_S = 2.0  # a target this far ahead of the last decoded frame is reached by decoding on
CURSOR_HZ = 30


class FrameDecoder:
    """Decode single frames of one video on a private thread; results go to ``sink``.

    Parameters
    ----------
    path : str
        The video file.
    sink : callable
        ``sink(index, t, image, overlay)`` called on the decoder thread with the table index asked
        for, the decoded frame's time in seconds since the first frame, a ``QImage`` (RGB888, owns
        its pixels) and the overlay dict or ``None``.
    overlay : callable, optional
        ``overlay(frame_number) -> dict | None`` run on the decoder thread.
    """

    def __init__(self, path: str, sink: Any, overlay: Any = None) -> None:
        import av

        self.path, self.sink, self.overlay = path, sink, overlay
        self._container = av.open(path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._tb = self._stream.time_base or Fraction(1, 90000)
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.interval = 1.0 / float(rate) if rate else 1.0 / 30.0
        self._origin: float | None = None
        self._gen: Any = None
        self._last_t: float | None = None
        self._cond = threading.Condition()
        self._request: tuple[int, int, float] | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="vigil-decoder", daemon=True)
        self._thread.start()

    def request(self, index: int, frame: int, t: float) -> None:
        """Ask for the frame at table ``index`` (frame number ``frame``, time ``t``); latest wins."""
        with self._cond:
            self._request = (index, frame, t)
            self._cond.notify()

    def close(self) -> None:
        """Stop the thread (waits for the frame in progress) and release the file."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=5.0)

    # -- decoder thread --------------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            while True:
                with self._cond:
                    while self._request is None and not self._stop:
                        self._cond.wait()
                    if self._stop:
                        return
                    index, frame, t = self._request
                    self._request = None
                try:
                    got = self._decode_at(t)
                except Exception:  # noqa: BLE001 - a damaged stretch must not kill the player
                    log.exception("decoding %s at %.3f s", self.path, t)
                    continue
                if got is None:
                    continue
                ft, image = got
                ov = None
                if self.overlay is not None and frame >= 0:
                    try:
                        ov = self.overlay(frame)
                    except Exception:  # noqa: BLE001
                        log.exception("overlay of frame %d", frame)
                self.sink(index, ft, image, ov)
        finally:
            self._container.close()

    def _time(self, frame: Any) -> float | None:
        ts = frame.pts if frame.pts is not None else frame.dts
        return None if ts is None else float(ts * self._tb)

    def _seek(self, t: float) -> None:
        if self._origin is None:
            self._container.seek(0, stream=self._stream)
            first = next(self._container.decode(self._stream))
            self._origin = self._time(first) or 0.0
        raw = max(0.0, t + self._origin)
        self._container.seek(int(raw / self._tb), stream=self._stream, backward=True, any_frame=False)
        self._gen = self._container.decode(self._stream)
        self._last_t = None

    def _decode_at(self, t: float) -> tuple[float, QImage] | None:
        """The frame whose time is nearest ``t`` (within half a frame), as a QImage."""
        half = self.interval / 2.0
        ahead = self._last_t is not None and self._last_t < t - half and t - self._last_t < FORWARD_DECODE_S
        if not ahead:
            self._seek(t)
        for attempt in range(2):
            prev = None
            for frame in self._gen:
                raw = self._time(frame)
                ft = self._last_t + self.interval if raw is None and self._last_t is not None else (raw or 0.0) - (self._origin or 0.0)
                self._last_t = ft
                if ft >= t - half:
                    if prev is None and ft > t + half and attempt == 0 and t > half:
                        break  # landed after the target (no keyframe index): seek a second earlier
                    return ft, self._to_image(frame)
                prev = frame
            else:  # end of file: show the last frame; the next request seeks afresh
                last, self._last_t = self._last_t, None
                return None if prev is None else (last or 0.0, self._to_image(prev))
            self._seek(max(0.0, t - 1.0))
        return None

    @staticmethod
    def _to_image(frame: Any) -> QImage:
        rgb = frame.to_ndarray(format="rgb24")
        turns = int(round((getattr(frame, "rotation", 0) or 0) / 90.0)) % 4
        if turns:  # phone video upright, as the analysis saw it
            rgb = np.rot90(rgb, k=turns)
        rgb = np.ascontiguousarray(rgb)
        h, w, _ = rgb.shape
        return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class Player(QObject):
    """Playback state and clock of one case's video.

    Signals
    -------
    frameShown(int, float, object, object)
        Table index, decoded frame time, ``QImage``, overlay dict (UI thread).
    positionChanged(float)
        The clock, at most 30 times a second while playing, and after every seek.
    playingChanged(bool)
    audioNote(str)
        Why there is no sound, when there is none (for a tooltip).
    """

    frameShown = Signal(int, float, object, object)
    positionChanged = Signal(float)
    playingChanged = Signal(bool)
    audioNote = Signal(str)
    _decoded = Signal(int, float, object, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.t = np.zeros(0)
        self.frames = np.zeros(0, np.int64)
        self.duration = 0.0
        self.speed = 1.0
        self.fps = 30.0
        self._pos = 0.0
        self._index = -1
        self.shown_index = -1
        self.shown_t: float | None = None
        self._playing = False
        self._wall0 = 0.0
        self._pos0 = 0.0
        self._decoder: FrameDecoder | None = None
        self.audio = AudioOut(self)
        self.audio.note.connect(self.audioNote)
        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / CURSOR_HZ))
        self._timer.timeout.connect(self._tick)
        self._decoded.connect(self._show)

    # -- media -----------------------------------------------------------------------------------
    def open(self, path: str | None, t: np.ndarray, frames: np.ndarray, duration: float,
             overlay: Any = None, fps: float = 30.0) -> None:
        """Show ``path`` whose frames are at times ``t`` (frame numbers ``frames``).

        ``t`` may be empty while an analysis has not reached the video yet: times then follow
        ``fps``. ``overlay(frame_number)`` supplies the overlay data (called off the UI thread).
        """
        self.close()
        self.fps = fps or 30.0
        self.set_table(t, frames, duration)
        if path:
            try:
                self._decoder = FrameDecoder(path, self._decoded.emit, overlay)
            except Exception as exc:  # noqa: BLE001 - the review goes on without the picture
                log.warning("cannot open %s for playback: %s", path, exc)
                self._decoder = None
            self.audio.open(path)
        self.seek(0.0)

    def set_table(self, t: np.ndarray, frames: np.ndarray, duration: float | None = None) -> None:
        """Replace the frame-time table (it grows during a live analysis)."""
        self.t = np.asarray(t, dtype=np.float64)
        self.frames = np.asarray(frames, dtype=np.int64)
        last = float(self.t[-1]) if len(self.t) else 0.0
        self.duration = max(float(duration or 0.0), last)

    def close(self) -> None:
        """Stop playing and release the file."""
        self.pause()
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None
        self.audio.close()
        self.shown_index, self.shown_t = -1, None

    # -- position --------------------------------------------------------------------------------
    def position(self) -> float:
        """The clock in seconds."""
        if self._playing:
            return min(self.duration, self._pos0 + (time.monotonic() - self._wall0) * self.speed)
        return self._pos

    def current_index(self) -> int:
        """Index into the frame table of the frame under the clock (-1 when there is no table)."""
        return self._index

    def current_frame(self) -> int:
        """Video frame number under the clock."""
        if 0 <= self._index < len(self.frames):
            return int(self.frames[self._index])
        return int(round(self._pos * self.fps))

    def index_at(self, t: float) -> int:
        """Table index of the frame nearest ``t``."""
        n = len(self.t)
        if n == 0:
            return -1
        i = int(np.searchsorted(self.t, t))
        if i >= n:
            return n - 1
        if i > 0 and t - self.t[i - 1] <= self.t[i] - t:
            return i - 1
        return i

    def seek(self, t: float) -> None:
        """Go to time ``t`` (clamped) and show the frame there."""
        t = float(min(max(t, 0.0), self.duration))
        self._pos = t
        if self._playing:
            self._pos0, self._wall0 = t, time.monotonic()
            self.audio.start(t, self.speed)
        self._index = self.index_at(t)
        self._request()
        self.positionChanged.emit(t)

    def step(self, frames: int) -> None:
        """Move ``frames`` frames (negative: back) and pause."""
        self.pause()
        if len(self.t):
            i = min(max(self.index_at(self._pos) + frames, 0), len(self.t) - 1)
            self.seek(float(self.t[i]))
        else:
            self.seek(self._pos + frames / self.fps)

    def _request(self) -> None:
        if self._decoder is None:
            return
        i = self._index
        if i >= 0:
            self._decoder.request(i, int(self.frames[i]), float(self.t[i]))
        else:
            self._decoder.request(-1, -1, self._pos)

    # -- playing ---------------------------------------------------------------------------------
    def is_playing(self) -> bool:
        """Whether the clock runs."""
        return self._playing

    def play(self) -> None:
        """Start the clock (from the start when at the end)."""
        if self._playing:
            return
        if self._pos >= self.duration - 1e-3:
            self._pos = 0.0
        self._pos0, self._wall0 = self._pos, time.monotonic()
        self._playing = True
        self.audio.start(self._pos, self.speed)
        self._timer.start()
        self.playingChanged.emit(True)

    def pause(self) -> None:
        """Stop the clock where it is."""
        if not self._playing:
            return
        self._pos = self.position()
        self._playing = False
        self._timer.stop()
        self.audio.stop()
        self.playingChanged.emit(False)

    def toggle(self) -> None:
        """Play or pause."""
        self.pause() if self._playing else self.play()

    def set_speed(self, speed: float) -> None:
        """Playback speed, 0.25 to 2."""
        speed = float(min(max(speed, 0.25), 2.0))
        if self._playing:
            self._pos0, self._wall0 = self.position(), time.monotonic()
            self.audio.start(self._pos0, speed)
        self.speed = speed

    def _tick(self) -> None:
        t = self.position()
        self._pos = t
        i = self.index_at(t)
        if i != self._index or i < 0:
            self._index = i
            self._request()
        self.positionChanged.emit(t)
        if t >= self.duration:
            self.pause()

    def _show(self, index: int, t: float, image: Any, overlay: Any) -> None:
        self.shown_index, self.shown_t = index, t
        self.frameShown.emit(index, t, image, overlay)
