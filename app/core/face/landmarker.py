"""MediaPipe FaceLandmarker (Tasks API, video mode) behind a small numpy interface.

The model file is the vendored ``models/face_landmarker.task`` (Google, Apache-2.0), checked against
its sha256 in the manifest before it is loaded. Video mode tracks the face from frame to frame and
needs strictly increasing millisecond timestamps; :class:`FaceLandmarker` enforces that itself, so a
container with repeated timestamps cannot crash it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

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
    matrix : (4, 4) float32 facial transformation matrix (canonical face -> camera space).
    bbox : (x, y, w, h) in pixels, from the landmarks.
    """

    landmarks: np.ndarray
    blendshapes: np.ndarray
    matrix: np.ndarray
    bbox: tuple[float, float, float, float]

    @property
    def area(self) -> float:
        """Face box area in pixels."""
        return self.bbox[2] * self.bbox[3]


class FaceLandmarker:
    """Video-mode face landmarker producing :class:`FaceObservation` lists.

    Parameters
    ----------
    max_faces : how many faces to look for in each frame.
    min_confidence : detection, presence and tracking confidence threshold.
    """

    MODEL = "face_landmarker"

    def __init__(self, max_faces: int = 1, min_confidence: float = 0.5) -> None:
        os.environ.setdefault("GLOG_minloglevel", "2")  # keep MediaPipe's C++ chatter off stderr
        from mediapipe.tasks.python import vision
        from mediapipe.tasks.python.core.base_options import BaseOptions

        self.max_faces = max_faces
        opts = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=model_path(self.MODEL).read_bytes()),
            running_mode=vision.RunningMode.VIDEO,
            num_faces=max_faces,
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

    def detect(self, image: np.ndarray, t_sec: float) -> list[FaceObservation]:
        """Find faces in one RGB frame at time ``t_sec`` (timestamps are forced strictly increasing)."""
        import mediapipe as mp

        ms = max(int(round(t_sec * 1000.0)), self._last_ms + 1)
        self._last_ms = ms
        h, w = image.shape[:2]
        img = mp.Image(image_format=mp.ImageFormat.SRGB, data=image)
        if self._calls < 2:  # the graph prints its start-up banners on the first inferences
            with quiet_native_stderr():
                result = self._task.detect_for_video(img, ms)
        else:
            result = self._task.detect_for_video(img, ms)
        self._calls += 1
        faces = []
        for i, lms in enumerate(result.face_landmarks):
            pts = np.array([(p.x, p.y, p.z) for p in lms], dtype=np.float32)
            bs = np.array([c.score for c in result.face_blendshapes[i]], dtype=np.float32)
            mat = np.asarray(result.facial_transformation_matrixes[i], dtype=np.float32)
            x0, y0 = float(pts[:, 0].min() * w), float(pts[:, 1].min() * h)
            x1, y1 = float(pts[:, 0].max() * w), float(pts[:, 1].max() * h)
            faces.append(FaceObservation(pts, bs, mat, (x0, y0, x1 - x0, y1 - y0)))
        return faces

    def close(self) -> None:
        """Release the MediaPipe graph."""
        self._task.close()

    def __enter__(self) -> FaceLandmarker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
