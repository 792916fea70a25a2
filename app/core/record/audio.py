"""Live audio sources: an input device (sounddevice, loopback/monitor devices included), a file played
as if live, or none.

A source delivers blocks of float32 samples (frames x channels) through a callback, each stamped
with the monotonic capture time of its first sample, so the writer can place sound against picture
by capture time rather than by counting samples from the start (sound cards drift).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.core.record.video import SourceError

RATE = 48000
BLOCK_S = 0.02  # 20 ms blocks
OnAudio = Callable[[np.ndarray, float], None]
_LOOPBACK = re.compile(r"monitor|loopback|stereo mix|what u hear|blackhole|soundflower|wave out|立体声混音",
                       re.IGNORECASE)


class NoAudioDevice(SourceError):
    """No audio input device is available (one line, exit status 2)."""


@dataclass
class AudioDevice:
    """An input device as PortAudio lists it."""

    index: int
    name: str
    hostapi: str
    channels: int
    rate: float
    loopback: bool
    default: bool


def list_audio_inputs() -> list[AudioDevice]:
    """Input devices, loopback/monitor devices (the call's own sound) marked as such."""
    try:
        import sounddevice as sd

        devices, apis = sd.query_devices(), sd.query_hostapis()
        default_in = sd.default.device[0]
    except (OSError, ImportError):  # PortAudio missing: no devices to offer
        return []
    out = []
    for d in devices:
        if d["max_input_channels"] > 0:
            out.append(AudioDevice(d["index"], d["name"], apis[d["hostapi"]]["name"], d["max_input_channels"],
                                   d["default_samplerate"], bool(_LOOPBACK.search(d["name"])),
                                   d["index"] == default_in))
    return out


class AudioSource:
    """Base class: ``start(on_audio)`` delivers blocks until ``stop()``."""

    name = "none"
    backend = ""
    channels = 1
    rate = RATE

    def start(self, on_audio: OnAudio) -> None:
        """Begin delivering ``(samples, t_first_sample)`` blocks to ``on_audio`` (from another thread)."""

    def stop(self) -> None:
        """Stop delivering; return once no more callbacks come."""

    @property
    def ended(self) -> bool:
        """True when the source has nothing more to give (a file at its end)."""
        return False


class DeviceAudioSource(AudioSource):
    """An input device by index or by a part of its name; ``default`` is the system's default input."""

    def __init__(self, which: str):
        devs = list_audio_inputs()
        if not devs:
            raise NoAudioDevice("no audio input device found (use --audio none or --audio file:PATH)")
        if which == "default":
            dev = next((d for d in devs if d.default), devs[0])
        elif which.isdigit():
            dev = next((d for d in devs if d.index == int(which)), None)
        else:
            dev = next((d for d in devs if which.lower() in d.name.lower()), None)
        if dev is None:
            raise NoAudioDevice(f"no audio input device {which!r} (inputs: {', '.join(d.name for d in devs)})")
        self.dev = dev
        self.name, self.backend = dev.name, dev.hostapi
        self.channels = min(2, dev.channels)
        self.rate = int(dev.rate) or RATE
        self._stream: Any = None

    def start(self, on_audio: OnAudio) -> None:
        import sounddevice as sd

        def callback(indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            # Capture time of the first sample: now, less the block's length and the input latency.
            on_audio(indata.copy(), time.monotonic() - frames / self.rate - latency)

        try:
            self._stream = sd.InputStream(device=self.dev.index, channels=self.channels, samplerate=self.rate,
                                          dtype="float32", blocksize=int(self.rate * BLOCK_S), callback=callback)
            latency = float(self._stream.latency or 0.0)
            self._stream.start()
        except sd.PortAudioError as exc:
            raise NoAudioDevice(f"audio device {self.name!r} cannot be opened: {exc}".splitlines()[0]) from exc

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None


class FileAudioSource(AudioSource):
    """The sound of a file played at its own pace, as if live (``file:PATH``)."""

    backend = "PyAV (file played as live)"

    def __init__(self, path: str | Path, rate: int = RATE, delay_s: float = 0.0):
        """``delay_s``: start playing that long after :meth:`start` (a call whose sound joins late)."""
        import av

        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"{path}: no such audio file")
        try:
            with av.open(str(self.path)) as c:
                a = c.streams.audio[0]
                self.channels = min(2, a.channels or 1)
        except (av.error.FFmpegError, IndexError) as exc:
            raise SourceError(f"{path}: no readable audio track").with_traceback(None) from exc
        self.name, self.rate, self.delay_s = self.path.name, rate, delay_s
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_audio: OnAudio) -> None:
        self._thread = threading.Thread(target=self._run, args=(on_audio,), name="vigil-audio-file", daemon=True)
        self._thread.start()

    def _run(self, on_audio: OnAudio) -> None:
        import av

        layout = "stereo" if self.channels == 2 else "mono"
        rs = av.AudioResampler(format="flt", layout=layout, rate=self.rate)
        block = int(self.rate * BLOCK_S)
        if self._stop.wait(self.delay_s):
            self._done.set()
            return
        t0, pos, buf = time.monotonic(), 0, np.zeros((0, self.channels), np.float32)
        try:
            with av.open(str(self.path)) as c:
                for frame in c.decode(c.streams.audio[0]):
                    for out in rs.resample(frame):
                        buf = np.concatenate([buf, out.to_ndarray().reshape(-1, self.channels)])
                    while len(buf) >= block and not self._stop.is_set():
                        # deliver each block when its last sample has "arrived", like a sound card
                        delay = t0 + (pos + block) / self.rate - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                        on_audio(buf[:block], t0 + pos / self.rate)
                        buf, pos = buf[block:], pos + block
                    if self._stop.is_set():
                        return
        finally:
            self._done.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def ended(self) -> bool:
        return self._done.is_set()


def open_audio_source(spec: str) -> AudioSource | None:
    """``none``, ``default``, a device index or name, or ``file:PATH`` (raises :class:`SourceError`)."""
    if spec in ("none", ""):
        return None
    if spec.startswith("file:"):
        return FileAudioSource(spec[5:])
    return DeviceAudioSource(spec)
