"""Sound for the player: the recording's 16 kHz track through a ``sounddevice`` output stream.

The track is decoded once, off the UI thread (:func:`app.core.voice.audio.load_audio`, int16 PCM
on disk as a memmap). Playing opens an output stream positioned at the player's clock; PortAudio's
callback thread pulls the next block from :class:`app.core.voice.stretch.TimeStretch`, which at
speeds other than 1x keeps the voice's pitch (at 1x it hands the samples through unchanged). On a
machine with no audio device (servers, CI) the player is silent, logs that once and goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from app.ui.i18n import N_

log = logging.getLogger("vigil.ui")
_warned: set[str] = set()

NO_DEVICE = N_("No sound: this computer has no audio output device.")
NO_TRACK = N_("This recording has no sound track.")


def _warn_once(key: str, msg: str, *args: Any) -> None:
    if key not in _warned:
        _warned.add(key)
        log.info(msg, *args)


class AudioOut(QObject):
    """Plays one recording's audio from a given time; silent without a device.

    Signals
    -------
    note(str)
        Why there is no sound right now ("" when there is).
    """

    note = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.track: Any = None
        self._stream: Any = None
        self._reader: Any = None  # the TimeStretch the callback reads from
        self._lock = threading.Lock()
        self._path: str | None = None
        self._pending: tuple[float, float, float] | None = None  # (t, speed, monotonic) asked before the track was ready
        self.last_note = ""
        self.note.connect(self._remember)

    def open(self, path: str) -> None:
        """Decode ``path``'s audio in the background."""
        from app.ui.workers import run_in_thread

        self.close()
        self._path = path

        def load() -> Any:
            from app.core.voice.audio import load_audio

            return path, load_audio(path)

        def failed(exc: BaseException) -> None:
            _warn_once(f"load:{path}", "no playable audio in %s: %s", path, exc)
            self.note.emit(NO_TRACK)

        run_in_thread(load, self._set_track, failed)

    def _remember(self, text: str) -> None:
        self.last_note = text

    def _set_track(self, result: Any) -> None:
        path, track = result
        if path != self._path:  # another file was opened meanwhile
            track.close()
            return
        self.track = track
        if not track.has_audio or track.n_samples == 0:
            self.note.emit(NO_TRACK)
        elif self._pending is not None:  # playing started before the sound was decoded: join in
            t, speed, since = self._pending
            self.start(t + (time.monotonic() - since) * speed, speed)

    def start(self, t: float, speed: float) -> None:
        """Play from ``t`` seconds at ``speed`` (restarts the stream); the voice keeps its pitch."""
        self.stop()
        tr = self.track
        if tr is None:
            self._pending = (t, speed, time.monotonic())
            return
        self._pending = None
        if not tr.has_audio or tr.n_samples == 0:
            return
        from app.core.voice.stretch import TimeStretch

        with self._lock:
            self._reader = TimeStretch(tr.samples, tr.sr, speed, start=int(max(0.0, t) * tr.sr))
        try:
            import sounddevice as sd

            self._stream = sd.OutputStream(samplerate=tr.sr, channels=1, dtype="float32", callback=self._callback)
            self._stream.start()
        except Exception as exc:  # noqa: BLE001 - PortAudio missing or no device: play silently
            self._stream = None
            _warn_once("device", "audio output unavailable, playing silently: %s", exc)
            self.note.emit(NO_DEVICE)
            return
        self.note.emit("")

    def _callback(self, out: np.ndarray, frames: int, _time: Any, _status: Any) -> None:
        with self._lock:
            reader = self._reader
            out[:, 0] = reader.read(frames) if reader is not None else 0.0

    def stop(self) -> None:
        """Stop the sound (keeps the decoded track)."""
        self._pending = None
        s, self._stream = self._stream, None
        if s is not None:
            try:
                s.stop()
                s.close()
            except Exception:  # noqa: BLE001
                log.debug("closing the audio stream", exc_info=True)

    def close(self) -> None:
        """Stop and drop the decoded track (its scratch files go with it)."""
        self.stop()
        self._path = None
        if self.track is not None:
            self.track.close()
            self.track = None
