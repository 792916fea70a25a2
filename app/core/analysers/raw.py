"""The raw per-frame face features every AU is computed from: 52 blendshapes, then mesh geometry."""

from __future__ import annotations

import numpy as np

from app.core.face.geometry import GEOMETRY_NAMES, face_frame, geometry_features
from app.core.face.landmarker import BLENDSHAPE_NAMES

RAW_NAMES: tuple[str, ...] = BLENDSHAPE_NAMES + GEOMETRY_NAMES
RAW_INDEX: dict[str, int] = {n: i for i, n in enumerate(RAW_NAMES)}

#: Blendshapes that signal expression (not gaze, blinks or the model's own "_neutral").
EXPRESSIVE = np.array([i for i, n in enumerate(BLENDSHAPE_NAMES) if not n.startswith(("_", "eyeLook", "eyeBlink"))])


def raw_vector(blendshapes: np.ndarray, landmarks: np.ndarray, matrix: np.ndarray, width: int, height: int
               ) -> np.ndarray:
    """One face's raw features in :data:`RAW_NAMES` order (float32)."""
    geo = geometry_features(face_frame(landmarks, matrix, width, height))
    return np.concatenate([blendshapes, geo]).astype(np.float32)
