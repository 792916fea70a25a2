"""The recorder: a capture thread per source, one writer thread, a preview tap and the capture record.

Capture never waits on the disk: frames and sound blocks go through a bounded queue to the writer
thread, which encodes and writes them (the encoder and the muxer release the GIL). A frame that
finds the queue full is dropped and counted. The preview is a tap on the capture thread: it gets
every frame and keeps only what it can afford (the live analysis counts what it skipped).

:meth:`Recorder.capture_record` is what the capture-integrity check and the case read: the device
and its backend, the virtual-camera match, frame-interval statistics, dropped frames and
resolution changes.
"""

from __future__ import annotations

import datetime as _dt
import logging
import platform
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app import __version__
from app.core.errors import VigilError
from app.core.forensics._virtualcam import CaptureRecord
from app.core.record.audio import AudioSource
from app.core.record.video import FileVideoSource, VideoSource
from app.core.record.writer import DiskFull, FragmentedWriter

log = logging.getLogger(__name__)
QUEUE_FRAMES = 90  # ~3 s of picture buffered for a slow disk before frames are dropped
OnFrame = Callable[[np.ndarray, float], None]


@dataclass
class RecordingResult:
    """How a recording ended."""

    path: Path
    frames: int
    seconds: float
    stopped_by: str  # duration | user | source-ended | disk-full | error
    message: str | None
    capture: dict[str, Any] = field(default_factory=dict)


class Recorder:
    """Record ``video`` (and ``audio``, optional) into ``out`` until :meth:`stop` or ``duration``.

    Parameters
    ----------
    on_frame : called on the capture thread with every RGB frame and its capture time (the
        preview); it must return quickly.
    """

    def __init__(self, video: VideoSource, audio: AudioSource | None, out: str | Path,
                 duration: float | None = None, on_frame: OnFrame | None = None):
        self.video, self.audio, self.out = video, audio, Path(out)
        self.duration, self.on_frame = duration, on_frame
        self._q: queue.Queue = queue.Queue(QUEUE_FRAMES)
        self._stop = threading.Event()
        self._finished = threading.Event()
        self.stopped_by = "user"
        self.message: str | None = None
        self.times: list[float] = []
        self.sizes: list[tuple[int, int, float]] = []  # (width, height, t) at each resolution change
        self.queue_dropped = 0
        self.writer: FragmentedWriter | None = None
        self.started_at: str | None = None
        self.t_start = 0.0
        self._threads: list[threading.Thread] = []

    # -- life cycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the sources and the file and start recording (raises on a bad source or path)."""
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.video.start()
        first = self.video.read()
        if first is None:
            self.video.close()
            raise VigilError(f"{self.video.info.name}: the video source gave no picture")
        img, t = first
        h, w = img.shape[:2]
        try:
            self.writer = FragmentedWriter(self.out, w, h, self.video.info.fps,
                                           self.audio.rate if self.audio else None,
                                           self.audio.channels if self.audio else 1)
        except BaseException:
            self.video.close()
            raise
        self.started_at = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self.t_start = t
        self._accept(img, t)
        if self.audio is not None:
            try:
                self.audio.start(lambda s, ta: self._put(("a", s, ta), block=False))
            except BaseException:  # the sound device refused: leave nothing open
                self.video.close()
                self.writer.close()
                raise
        for target, name in ((self._capture, "vigil-capture"), (self._write, "vigil-writer")):
            th = threading.Thread(target=target, name=name, daemon=True)
            th.start()
            self._threads.append(th)

    def stop(self) -> None:
        """Ask the recording to stop (returns at once; :meth:`wait` for the result)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> RecordingResult | None:
        """Block until the file is finished; ``None`` if ``timeout`` passed first."""
        if not self._finished.wait(timeout):
            return None
        return self.result()

    @property
    def running(self) -> bool:
        return bool(self._threads) and not self._finished.is_set()

    def elapsed(self) -> float:
        return (self.times[-1] - self.times[0]) if len(self.times) > 1 else 0.0

    # -- threads ----------------------------------------------------------------------------------
    def _put(self, item: tuple, block: bool = True) -> None:
        try:
            self._q.put(item, block=block, timeout=0.5 if block else None)
        except queue.Full:
            if item[0] == "v":
                self.queue_dropped += 1

    def _accept(self, img: np.ndarray, t: float) -> None:
        h, w = img.shape[:2]
        if not self.sizes or self.sizes[-1][:2] != (w, h):
            self.sizes.append((w, h, t - self.t_start))
        self.times.append(t)
        try:
            self._q.put(("v", img, t), block=False)
        except queue.Full:
            self.queue_dropped += 1
        if self.on_frame is not None:
            try:
                self.on_frame(img, t)
            except Exception:  # the preview must never stop the recording
                log.exception("preview callback failed")

    def _capture(self) -> None:
        try:
            while not self._stop.is_set():
                got = self.video.read()
                if got is None:
                    self.stopped_by, self.message = "source-ended", f"{self.video.info.name}: the video source ended"
                    break
                img, t = got
                if self.duration is not None and t - self.t_start >= self.duration:
                    self.stopped_by = "duration"
                    break
                self._accept(img, t)
        except Exception as exc:
            log.exception("capture failed")
            self.stopped_by, self.message = "error", f"capture stopped: {exc}".splitlines()[0]
        finally:
            if self.audio is not None:
                self.audio.stop()
            self.video.close()
            self._q.put(("end", None, 0.0))

    def _write(self) -> None:
        assert self.writer is not None
        disk_full = False
        try:
            while True:
                kind, data, t = self._q.get()
                if kind == "end":
                    break
                if disk_full:
                    continue  # drain: the capture thread must never block on a dead writer
                try:
                    if kind == "v":
                        self.writer.write_video(data, t)
                    else:
                        self.writer.write_audio(data, t)
                except DiskFull as exc:
                    disk_full = True
                    self.stopped_by, self.message = "disk-full", str(exc)
                    self._stop.set()
                except VigilError as exc:
                    disk_full = True
                    self.stopped_by, self.message = "error", str(exc)
                    self._stop.set()
        finally:
            try:
                self.writer.close()
            except VigilError as exc:
                self.message = self.message or str(exc)
            self._finished.set()

    # -- the record -------------------------------------------------------------------------------
    def capture_record(self) -> dict[str, Any]:
        """The capture-integrity record of this recording (plain JSON)."""
        info = self.video.info
        rec = CaptureRecord(source=info.kind if info.kind in ("camera", "screen") else "file",
                            device_name=info.name, device_id=info.device_id, started_at=self.started_at,
                            os=platform.platform(), app_version=__version__)
        iv = np.diff(np.asarray(self.times)) * 1000.0
        rec.set_intervals(iv.tolist())
        med = float(np.median(iv)) if iv.size else 0.0
        late = int(np.sum(np.maximum(np.round(iv / med) - 1, 0))) if med > 0 else 0
        d = rec.to_dict()
        d.update(backend=info.backend, live_source=info.kind, nominal_fps=info.fps,
                 frames_captured=len(self.times), frames_written=self.writer.frames if self.writer else 0,
                 dropped_frames=self.queue_dropped + late, dropped_by_writer_queue=self.queue_dropped,
                 dropped_by_source=late,
                 resolution_changes=[dict(width=w, height=h, t=round(t, 3)) for w, h, t in self.sizes[1:]],
                 resolution=f"{self.sizes[0][0]}x{self.sizes[0][1]}" if self.sizes else None,
                 seconds=round(self.elapsed(), 3))
        if isinstance(self.video, FileVideoSource):  # a file knows exactly which frames it gave
            d["source_frames"] = self.video.frames_read
            d["dropped_by_source"] = max(0, self.video.frames_read - len(self.times)
                                         - (1 if self.stopped_by == "duration" else 0))
            d["late_frames"] = self.video.late_frames
            d["dropped_frames"] = self.queue_dropped + d["dropped_by_source"]
        if self.audio is not None:
            d["audio"] = dict(device_name=self.audio.name, backend=self.audio.backend, rate=self.audio.rate,
                              channels=self.audio.channels)
            al = self.writer.aligner if self.writer else None
            if al is not None:
                d["audio"].update(inserted_s=round(al.inserted / al.rate, 4), dropped_s=round(al.dropped / al.rate, 4),
                                  max_offset_ms=round(al.max_error_s * 1000, 2))
        else:
            d["audio"] = None
        return d

    def result(self) -> RecordingResult:
        return RecordingResult(self.out, self.writer.frames if self.writer else 0, round(self.elapsed(), 3),
                               self.stopped_by, self.message, self.capture_record())


def record(video: VideoSource, audio: AudioSource | None, out: str | Path, duration: float | None = None,
           should_stop: Callable[[], bool] | None = None, on_frame: OnFrame | None = None) -> RecordingResult:
    """Record until ``duration``, the source's end, a full disk, or ``should_stop()`` turns True."""
    rec = Recorder(video, audio, out, duration, on_frame)
    rec.start()
    try:
        while rec.wait(0.1) is None:
            if should_stop is not None and should_stop():
                rec.stop()
    except KeyboardInterrupt:
        rec.stop()
        rec.wait()
    return rec.result()
