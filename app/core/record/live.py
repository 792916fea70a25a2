"""The live preview of a recording: the latest frame, its face box, and live AU and expression values.

The recorder hands every captured frame to :meth:`LivePreview.on_frame`, which only keeps the latest
(it must never slow capture). A worker thread runs the face landmarker, the AU analyser and the
expression analyser on the latest frame it can afford, on a copy scaled to :data:`ANALYSE_WIDTH`, and
counts the frames it skipped. The display (the Record dialog, or the benchmark) polls
:meth:`LivePreview.snapshot` at its own rate. Nothing here is stored: the full analysis runs on the
recorded file after Stop.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from app.core.analysers import FaceBatch, build
from app.core.analysers.au import AU_NAMES
from app.core.analysers.columns import EXPRESSIONS
from app.core.face.quality import QualityGate
from app.core.media import VideoFrame

ANALYSE_WIDTH = 640  # the landmarker reads a copy this wide (its own input is 256 px; bigger costs time)
CNN_EVERY_S = 0.5  # the expression CNN runs at most this often; the AU fusion updates every analysed frame
#: AUs shown as live bars (the ones a reviewer reads first in an interview).
LIVE_AUS: tuple[str, ...] = ("AU01", "AU02", "AU04", "AU06", "AU07", "AU09", "AU12", "AU14", "AU15", "AU17",
                             "AU20", "AU23", "AU24", "AU25", "AU26", "AU43")


@dataclass
class LiveResult:
    """Live analysis of one frame (values are indicative; the stored analysis is the full pass)."""

    t: float
    box: tuple[float, float, float, float] | None  # x, y, w, h in the full frame's pixels
    usable: bool
    reason: str | None
    aus: dict[str, float] = field(default_factory=dict)
    expressions: dict[str, float] = field(default_factory=dict)


@dataclass
class LiveCounters:
    """How the preview kept up: frames offered by capture, analysed, and skipped by the live analysis."""

    offered: int = 0
    analysed: int = 0
    analyse_s: float = 0.0

    @property
    def skipped(self) -> int:
        return max(0, self.offered - self.analysed)


class LivePreview:
    """Latest-frame slot plus a live-analysis thread (``analyse=False``: picture only)."""

    def __init__(self, analyse: bool = True, width: int = ANALYSE_WIDTH):
        self.analyse, self.width = analyse, width
        self._lock = threading.Lock()
        self._frame: np.ndarray | None = None
        self._t = 0.0
        self._seq = 0
        self._result: LiveResult | None = None
        self.counters = LiveCounters()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    # capture side ---------------------------------------------------------------------------------
    def on_frame(self, image: np.ndarray, t: float) -> None:
        """The recorder's tap: keep the latest frame (no copy; frames are never written to)."""
        with self._lock:
            self._frame, self._t = image, t
            self._seq += 1
            self.counters.offered += 1
        self._wake.set()

    def snapshot(self) -> tuple[np.ndarray | None, float, int, LiveResult | None]:
        """``(latest frame, its capture time, its sequence number, latest live result)``."""
        with self._lock:
            return self._frame, self._t, self._seq, self._result

    # analysis side --------------------------------------------------------------------------------
    def start(self) -> None:
        if self.analyse and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="vigil-live-analysis", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        from app.core.face.landmarker import FaceLandmarker
        from app.core.pipeline import _measure

        try:
            lm = FaceLandmarker(max_faces=1)
            au, expr = build(("au", "expression"), cnn_stride=1)
        except Exception as exc:  # no model: the preview still shows the picture
            self.error = f"live analysis unavailable: {exc}".splitlines()[0]
            return
        gate, last_seq, k, last_cnn = QualityGate(), 0, 0, -1e9
        try:
            while not self._stop.is_set():
                self._wake.wait(0.5)
                self._wake.clear()
                with self._lock:
                    img, t, seq = self._frame, self._t, self._seq
                if img is None or seq == last_seq:
                    continue
                last_seq = seq
                t0 = time.perf_counter()
                h, w = img.shape[:2]
                scale = min(1.0, self.width / w)
                small = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) \
                    if scale < 1.0 else img
                faces = lm.detect(small, t)
                res = LiveResult(t, None, False, "no face")
                if faces:
                    want_crop = t - last_cnn >= CNN_EVERY_S
                    row, raw, usable, crop, _ = _measure(VideoFrame(k, t, small), faces[0], gate, want_crop)
                    last_cnn = t if crop is not None else last_cnn
                    x, y, bw, bh = faces[0].bbox
                    res = LiveResult(t, (x / scale, y / scale, bw / scale, bh / scale), usable, row["reason"])
                    batch = FaceBatch(frame=np.array([k]), track=np.zeros(1, np.int64), usable=np.array([usable]),
                                      raw=raw[None, :], crops=(crop if crop is not None else np.zeros((64, 64), np.uint8))[None],
                                      has_crop=np.array([crop is not None]), columns={}, t=np.array([t]))
                    batch.columns.update(au.process(batch))
                    batch.columns.update(expr.process(batch))
                    if usable:
                        res.aus = {a: float(batch.columns[a][0]) for a in AU_NAMES if np.isfinite(batch.columns[a][0])}
                        res.expressions = {e: float(batch.columns[e][0]) for e in EXPRESSIONS
                                           if np.isfinite(batch.columns[e][0])}
                k += 1
                with self._lock:
                    self._result = res
                    self.counters.analysed += 1
                    self.counters.analyse_s += time.perf_counter() - t0
        finally:
            lm.close()


STALE_S = 0.3  # a face box older than this (the live analysis fell behind) is not drawn on a newer frame


def render(image: np.ndarray, result: LiveResult | None, max_width: int, t: float | None = None) -> np.ndarray:
    """The frame (captured at ``t``) scaled to at most ``max_width`` with the live face box drawn
    when the box is recent enough to still sit on the face (RGB, contiguous)."""
    h, w = image.shape[:2]
    scale = min(1.0, max_width / w)
    out = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR) \
        if scale < 1.0 else image.copy()
    if result is not None and result.box is not None and (t is None or abs(t - result.t) <= STALE_S):
        x, y, bw, bh = (v * scale for v in result.box)
        colour = (60, 200, 90) if result.usable else (230, 160, 40)
        cv2.rectangle(out, (int(x), int(y)), (int(x + bw), int(y + bh)), colour, 2)
    return np.ascontiguousarray(out)
