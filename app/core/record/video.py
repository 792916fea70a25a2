"""Live video sources: a camera (OpenCV), a screen region (mss) and a file played as if live (PyAV).

Every source yields RGB frames (H x W x 3 uint8, what the analysis pipeline reads) stamped with
the monotonic clock at the moment the frame arrived, so picture and sound can be aligned by
capture time. A file source sleeps until each frame's presentation time, so a recording of it
behaves like a camera (it serves tests and demos).
"""

from __future__ import annotations

import os
import platform
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from app.core.errors import VigilError

SCREEN_FPS = 30.0


class SourceError(VigilError):
    """A capture source cannot be opened or stopped delivering (one line for the user)."""


@dataclass
class SourceInfo:
    """What the capture-integrity record says about a source."""

    kind: str  # camera | screen | file
    name: str
    backend: str
    device_id: str | None = None
    fps: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class CameraDevice:
    """A camera as the operating system lists it."""

    index: int
    name: str
    backend: str
    path: str | None = None


def _backend_names() -> list[str]:
    """OpenCV's capture backends on this platform (V4L2, AVFoundation, DirectShow, Media Foundation)."""
    try:
        return [cv2.videoio_registry.getBackendName(b) for b in cv2.videoio_registry.getCameraBackends()]
    except (AttributeError, cv2.error):
        return []


def list_cameras(max_index: int = 8) -> list[CameraDevice]:
    """Cameras present, with their names where the OS gives them and OpenCV's backend.

    Linux names come from ``/sys/class/video4linux`` (no device is opened; metadata-only nodes of
    the same camera are skipped). Elsewhere OpenCV does not name devices: indices that open are
    listed as ``camera N`` with the backend that opened them.
    """
    backends = _backend_names()
    sysfs = Path("/sys/class/video4linux")
    if platform.system() == "Linux":
        out = []
        for node in sorted(sysfs.glob("video*"), key=lambda p: int(p.name[5:] or 0)) if sysfs.is_dir() else ():
            idx = int(node.name[5:])
            try:
                name = (node / "name").read_text().strip()
                index_file = node / "index"
                if index_file.exists() and index_file.read_text().strip() not in ("", "0"):
                    continue  # the metadata node of a camera listed already
            except OSError:
                continue
            out.append(CameraDevice(idx, name, "V4L2", f"/dev/{node.name}"))
        return out
    names = _ffmpeg_camera_names()
    out = []
    for idx in range(max_index):
        cap = cv2.VideoCapture(idx)
        try:
            if cap.isOpened():
                out.append(CameraDevice(idx, names[idx] if idx < len(names) else f"camera {idx}",
                                        cap.getBackendName() or (backends[:1] or ["?"])[0]))
        finally:
            cap.release()
    return out


def _ffmpeg_camera_names() -> list[str]:
    """Camera names in the OS's order on Windows (DirectShow) and macOS (AVFoundation), via FFmpeg's
    device listing (which only logs them); empty where FFmpeg lacks the device layer.

    OpenCV's DirectShow and AVFoundation backends number cameras in the same enumeration order, so
    the n-th name belongs to ``camera:n``. Not exercised on Linux, where V4L2 names are read instead.
    """
    import re

    import av
    import av.logging

    fmt = {"Windows": "dshow", "Darwin": "avfoundation"}.get(platform.system())
    if fmt is None:
        return []
    with av.logging.Capture() as logs:
        try:
            av.open("dummy" if fmt == "dshow" else "", format=fmt, options={"list_devices": "true"})
        except Exception:  # noqa: BLE001 - listing always "fails" (FFmpeg stops after printing the devices)
            pass
    text = [str(m[2]) for m in logs]
    if fmt == "dshow":
        return [m.group(1) for line in text if (m := re.search(r'"([^"]+)"\s*\(video\)', line))]
    names, video = [], False
    for line in text:
        if "video devices" in line:
            video = True
        elif "audio devices" in line:
            video = False
        elif video and (m := re.search(r"\[\d+\]\s*(.+)", line)):
            names.append(m.group(1).strip())
    return names


class VideoSource:
    """Base class: ``start()``, then ``read()`` until it returns ``None`` (end), then ``close()``."""

    info: SourceInfo

    def start(self) -> None:
        """Open the device or file (raises :class:`SourceError`)."""

    def read(self) -> tuple[np.ndarray, float] | None:
        """The next RGB frame and its monotonic capture time; ``None`` when the source ended."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file."""


class CameraSource(VideoSource):
    """A camera by index (``camera:0``) or by a part of its name (``camera:OBS``)."""

    def __init__(self, which: str, width: int | None = None, height: int | None = None, fps: float | None = None):
        cams = list_cameras()
        if which.isdigit():
            idx = int(which)
            dev = next((c for c in cams if c.index == idx), None)
        else:
            dev = next((c for c in cams if which.lower() in c.name.lower()), None)
            if dev is None:
                raise SourceError(f"no camera named like {which!r}" + (
                    f" (cameras: {', '.join(c.name for c in cams)})" if cams else ": no camera found"))
            idx = dev.index
        if dev is None and platform.system() == "Linux":
            raise SourceError(f"no camera {which}" + (f" (cameras: {', '.join(str(c.index) for c in cams)})"
                                                     if cams else ": no camera found"))
        self.index, self.want = idx, (width, height, fps)
        self.cap: Any = None
        name = dev.name if dev else f"camera {idx}"
        self.info = SourceInfo("camera", name, dev.backend if dev else "", dev.path if dev else str(idx))

    def start(self) -> None:
        self.cap = cv2.VideoCapture(self.index)
        if not self.cap.isOpened():
            raise SourceError(f"camera {self.info.name} cannot be opened (in use by another program?)")
        w, h, fps = self.want
        if w and h:
            self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
            self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
        if fps:
            self.cap.set(cv2.CAP_PROP_FPS, fps)
        self.info.backend = self.cap.getBackendName() or self.info.backend
        self.info.fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 30.0) or 30.0

    def read(self) -> tuple[np.ndarray, float] | None:
        ok, img = self.cap.read()
        t = time.monotonic()
        if not ok or img is None:
            return None
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB), t

    def close(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None


class ScreenSource(VideoSource):
    """A region of the screen (``screen:X,Y,W,H``) grabbed with mss at a steady rate."""

    def __init__(self, x: int, y: int, w: int, h: int, fps: float = SCREEN_FPS):
        if w < 16 or h < 16:
            raise SourceError(f"screen region {w}x{h} is too small (at least 16x16)")
        self.region = {"left": x, "top": y, "width": w - w % 2, "height": h - h % 2}
        self.period = 1.0 / fps
        self._grab: Any = None
        self._next = 0.0
        disp = os.environ.get("DISPLAY", "") if platform.system() == "Linux" else ""
        self.info = SourceInfo("screen", f"screen region {x},{y},{w}x{h}" + (f" on {disp}" if disp else ""),
                               "mss", disp or None, fps)

    def start(self) -> None:
        self._open()
        self._next = time.monotonic()

    def _open(self) -> None:
        import mss

        try:
            self._grab = mss.mss()  # X11 handles are per thread: opened again in the capture thread
            self._grab.grab(self.region)
        except Exception as exc:  # mss raises its own ScreenShotError and X errors
            raise SourceError(f"cannot capture the screen region: {exc}".splitlines()[0]) from exc
        self._thread = threading.get_ident()

    def read(self) -> tuple[np.ndarray, float] | None:
        if threading.get_ident() != self._thread:
            self._open()
        delay = self._next - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next = max(self._next + self.period, time.monotonic() - self.period)
        shot = self._grab.grab(self.region)
        t = time.monotonic()
        img = np.frombuffer(shot.bgra, np.uint8).reshape(shot.height, shot.width, 4)
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB), t

    def close(self) -> None:
        if self._grab is not None:
            self._grab.close()
            self._grab = None


class FileVideoSource(VideoSource):
    """A video file played at its own pace, as if it came from a camera (``file:PATH``)."""

    def __init__(self, path: str | Path, loop: bool = False):
        self.path = Path(path)
        if not self.path.is_file():
            raise SourceError(f"{path}: no such video file")
        self.loop = loop
        self.container: Any = None
        self.frames_read = 0
        self._last: float | None = None
        self.late_frames = 0  # frames delivered more than one interval after their due time
        self.info = SourceInfo("file", self.path.name, "PyAV (file played as live)", str(self.path.resolve()))

    def _open(self) -> None:
        import av

        try:
            self.container = av.open(str(self.path))
            stream = self.container.streams.video[0]
        except (av.error.FFmpegError, IndexError) as exc:
            raise SourceError(f"{self.path}: not a readable video ({exc})".splitlines()[0]) from exc
        stream.thread_type = "AUTO"
        self.info.fps = float(stream.average_rate or 30.0)
        self._frames = self.container.decode(stream)
        self._first: float | None = None

    def start(self) -> None:
        self._open()
        self._t0 = time.monotonic()
        self._offset = 0.0

    def read(self) -> tuple[np.ndarray, float] | None:
        import av

        while True:
            try:
                frame = next(self._frames)
                break
            except (StopIteration, av.error.FFmpegError):
                if not self.loop or self.frames_read == 0:
                    return None
                self._offset += (self._last or 0.0) + 1.0 / self.info.fps
                self.container.close()
                self._open()
        pts = float(frame.time) if frame.time is not None else self.frames_read / self.info.fps
        if self._first is None:  # the clock starts when the first picture is out, as a camera's would
            self._first = pts
            if self.frames_read == 0:
                self._t0 = time.monotonic()
        self._last = pts - self._first
        img = frame.to_ndarray(format="rgb24")  # before the wait, so the frame is stamped as it is "taken"
        due = self._t0 + self._offset + self._last
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.frames_read += 1
        # Like a camera's driver timestamp, a frame is stamped when it was "exposed": its due time. Coming
        # late (the sleep's wake-up latency, or a decoder stalled by a busy machine) is delivery delay,
        # not capture time; deliveries more than one frame interval late are counted.
        if time.monotonic() - due >= 1.0 / self.info.fps:
            self.late_frames += 1
        return img, due

    def close(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None


def open_video_source(spec: str) -> VideoSource:
    """``camera:N`` or ``camera:NAME``, ``screen:X,Y,W,H`` or ``file:PATH`` (raises :class:`SourceError`)."""
    kind, _, arg = spec.partition(":")
    if kind == "camera":
        return CameraSource(arg or "0")
    if kind == "screen":
        try:
            x, y, w, h = (int(v) for v in arg.split(","))
        except ValueError:
            raise SourceError(f"--video {spec}: a screen region is screen:X,Y,W,H (pixels)") from None
        return ScreenSource(x, y, w, h)
    if kind == "file":
        return FileVideoSource(arg)
    raise SourceError(f"--video {spec}: use camera:N, screen:X,Y,W,H or file:PATH")
