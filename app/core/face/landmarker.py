"""MediaPipe FaceLandmarker (Tasks API, video mode) behind a small numpy interface.

The model file is the vendored ``models/face_landmarker.task`` (Google, Apache-2.0), checked against
its sha256 in the manifest before it is loaded. Video mode tracks the face from frame to frame and
needs strictly increasing millisecond timestamps; each MediaPipe graph here enforces that itself, so
a container with repeated timestamps cannot crash it.

Faces too small for the whole-frame pass (a seated person in a 1080p room shot, a face in a wide
movie shot) are searched for in tiles and then tracked in a crop around the face, each crop with its
own video-mode graph; see :mod:`app.core.face.roi` for how and for what changes in the
transformation matrix. An ordinary talking head, found by the whole-frame pass, never takes that path.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.face import roi
from app.core.models import model_path

log = logging.getLogger(__name__)

BLENDSHAPE_NAMES: tuple[str, ...] = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft",
    "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight",
    "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
)
N_LANDMARKS = 478


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what MediaPipe's C++ side prints straight to file descriptor 2 (glog/TFLite banners).

    The CLI's stderr is for the user; these lines would read as errors. Python-level writes are
    flushed first so nothing of ours is lost.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (frozen GUI): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@dataclass(slots=True)
class FaceObservation:
    """One face in one frame, as the landmarker saw it.

    Attributes
    ----------
    landmarks : (478, 3) float32, x and y normalised to the image (0..1), z on the x scale.
    blendshapes : (52,) float32 in :data:`BLENDSHAPE_NAMES` order, 0..1.
    matrix : (4, 4) float32 facial transformation matrix (canonical face -> camera space); for a
        ``"crop"`` face its translation is that of the crop's camera (see :mod:`app.core.face.roi`).
    bbox : (x, y, w, h) in pixels, from the landmarks.
    source : ``"frame"`` (the whole-frame pass) or ``"crop"`` (tracked in a crop around the face).
    """

    landmarks: np.ndarray
    blendshapes: np.ndarray
    matrix: np.ndarray
    bbox: tuple[float, float, float, float]
    source: str = "frame"

    @property
    def area(self) -> float:
        """Face box area in pixels."""
        return self.bbox[2] * self.bbox[3]


def _observations(result: Any, width: int, height: int, crop: roi.Crop | None = None) -> list[FaceObservation]:
    """MediaPipe's result as observations in frame coordinates (``crop``: the result is the crop's)."""
    faces = []
    for i, lms in enumerate(result.face_landmarks):
        pts = np.array([(p.x, p.y, p.z) for p in lms], dtype=np.float32)
        if crop is not None:
            pts = crop.to_frame(pts)
        bs = np.array([c.score for c in result.face_blendshapes[i]], dtype=np.float32)
        mat = np.asarray(result.facial_transformation_matrixes[i], dtype=np.float32)
        x0, y0 = float(pts[:, 0].min() * width), float(pts[:, 1].min() * height)
        x1, y1 = float(pts[:, 0].max() * width), float(pts[:, 1].max() * height)
        faces.append(FaceObservation(pts, bs, mat, (x0, y0, x1 - x0, y1 - y0), "frame" if crop is None else "crop"))
    return faces


class _Graph:
    """One video-mode MediaPipe FaceLandmarker graph with its own strictly increasing timestamps."""

    def __init__(self, num_faces: int, min_confidence: float) -> None:
        from mediapipe.tasks.python import vision
        from mediapipe.tasks.python.core.base_options import BaseOptions

        opts = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=model_path(FaceLandmarker.MODEL).read_bytes()),
            running_mode=vision.RunningMode.VIDEO,
            num_faces=num_faces,
            min_face_detection_confidence=min_confidence,
            min_face_presence_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        with quiet_native_stderr():
            self._task = vision.FaceLandmarker.create_from_options(opts)
        self._last_ms = -1
        self._calls = 0

    def run(self, image: np.ndarray, t_sec: float) -> Any:
        import mediapipe as mp

        ms = max(int(round(t_sec * 1000.0)), self._last_ms + 1)
        self._last_ms = ms
        img = mp.Image(image_format=mp.ImageFormat.SRGB, data=image)
        self._calls += 1
        if self._calls <= 2:  # the graph prints its start-up banners on the first inferences
            with quiet_native_stderr():
                return self._task.detect_for_video(img, ms)
        return self._task.detect_for_video(img, ms)

    def close(self) -> None:
        self._task.close()


@dataclass
class _CropTrack:
    """A face followed in a crop around its last box, by its own graph."""

    graph: _Graph
    crop: roi.Crop

    def step(self, image: np.ndarray, t_sec: float) -> FaceObservation | None:
        h, w = image.shape[:2]
        faces = _observations(self.graph.run(self.crop.cut(image), t_sec), w, h, self.crop)
        if not faces:
            return None
        self.crop = self.crop.follow(faces[0].bbox)
        return faces[0]


class FaceLandmarker:
    """Video-mode face landmarker producing :class:`FaceObservation` lists.

    Parameters
    ----------
    max_faces : how many faces to look for in each frame.
    min_confidence : detection, presence and tracking confidence threshold.
    small_faces : when the whole-frame pass finds fewer than ``max_faces``, search tiles and track
        faces in crops (see :mod:`app.core.face.roi`); False gives the whole-frame pass alone.
    """

    MODEL = "face_landmarker"
    SEARCH_EVERY_S = 0.5  # while fewer than max_faces are seen: search at most this often (video time)
    SPARE_EVERY_S = 2.0  # while only small crop-path faces are seen: look for one more this often
    SMALL = 0.2  # a face shorter than this share of the frame height counts as small

    def __init__(self, max_faces: int = 1, min_confidence: float = 0.5, small_faces: bool = True) -> None:
        os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's C++ chatter off stderr
        self.max_faces = max_faces
        self.min_confidence = min_confidence
        self.small_faces = small_faces
        self._whole = _Graph(max_faces, min_confidence)
        self._tracks: list[_CropTrack] = []
        self._idle: list[_Graph] = []  # graphs of lost tracks, for reuse (creating one takes ~0.1 s)
        self._detector: Any = None
        self._next_search = -math.inf

    def detect(self, image: np.ndarray, t_sec: float) -> list[FaceObservation]:
        """Find faces in one RGB frame at time ``t_sec`` (timestamps are forced strictly increasing)."""
        h, w = image.shape[:2]
        faces = self._follow(image, t_sec) if self._tracks else []
        if len(faces) < self.max_faces:
            whole = _observations(self._whole.run(image, t_sec), w, h)
            faces += [f for f in whole if all(roi.iou(f.bbox, g.bbox) < 0.3 for g in faces)]
        if self.small_faces:
            small = all(f.bbox[3] < self.SMALL * h for f in faces)
            want = self.max_faces + 1 if faces and small and len(self._tracks) == len(faces) else self.max_faces
            if len(faces) < want and t_sec >= self._next_search:
                every = self.SEARCH_EVERY_S if len(faces) < self.max_faces else self.SPARE_EVERY_S
                self._next_search = t_sec + every
                faces += self._search(image, t_sec, faces, want - len(faces))
        faces.sort(key=lambda f: -f.area)
        return faces[: self.max_faces]

    def _follow(self, image: np.ndarray, t_sec: float) -> list[FaceObservation]:
        """Step every crop track; lost ones (and ones that drifted onto another's face) end."""
        faces: list[FaceObservation] = []
        kept = []
        for track in self._tracks:
            obs = track.step(image, t_sec)
            if obs is None or any(roi.iou(obs.bbox, f.bbox) > 0.5 for f in faces):
                self._idle.append(track.graph)
                continue
            faces.append(obs)
            kept.append(track)
        if len(kept) < len(self._tracks):
            self._next_search = -math.inf  # a face was lost: look again at once
        self._tracks = kept
        return faces

    def _search(self, image: np.ndarray, t_sec: float, seen: list[FaceObservation],
                n: int) -> list[FaceObservation]:
        """Look for up to ``n`` faces not in ``seen``, tile size by tile size (coarse first); each one
        the landmarker confirms in a crop around it becomes a crop track."""
        import mediapipe as mp

        h, w = image.shape[:2]
        found: list[FaceObservation] = []
        for side in roi.tile_sides(w, h):
            cands = []
            for x, y in roi.tiles(w, h, side):
                tile, k = roi.tile_image(image, x, y, side)
                for d in self._tile_detector().detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=tile)).detections:
                    b = d.bounding_box
                    cands.append(((x + b.origin_x * k, y + b.origin_y * k, b.width * k, b.height * k),
                                  d.categories[0].score))
            for box, _ in roi.merge(cands):
                cx, cy = box[0] + box[2] / 2.0, box[1] + box[3] / 2.0
                if len(found) >= n or any(roi.contains(f.bbox, cx, cy) for f in seen + found):
                    continue
                track = _CropTrack(self._idle.pop() if self._idle else _Graph(1, self.min_confidence),
                                   roi.Crop.around(box, roi.SEED_SCALE, w, h))
                obs = track.step(image, t_sec)
                if obs is None:
                    self._idle.append(track.graph)
                    continue
                self._tracks.append(track)
                found.append(obs)
            if found:
                break
        return found

    def _tile_detector(self) -> Any:
        """The bundle's own BlazeFace detector in image mode, for the search tiles (created on first use)."""
        if self._detector is None:
            from mediapipe.tasks.python import vision
            from mediapipe.tasks.python.core.base_options import BaseOptions

            with zipfile.ZipFile(model_path(self.MODEL)) as bundle:
                buf = bundle.read("face_detector.tflite")
            opts = vision.FaceDetectorOptions(base_options=BaseOptions(model_asset_buffer=buf),
                                              running_mode=vision.RunningMode.IMAGE,
                                              min_detection_confidence=self.min_confidence)
            with quiet_native_stderr():
                self._detector = vision.FaceDetector.create_from_options(opts)
        return self._detector

    def close(self) -> None:
        """Release the MediaPipe graphs."""
        for g in [self._whole, *self._idle, *(t.graph for t in self._tracks)]:
            g.close()
        self._tracks, self._idle = [], []
        if self._detector is not None:
            self._detector.close()
            self._detector = None

    def __enter__(self) -> FaceLandmarker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
