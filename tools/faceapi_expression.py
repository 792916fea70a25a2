"""face-api.js's expression net run from its ONNX export (development tool, no torch; not shipped).

The network and weights are face-api.js's (MIT), ported to torch and exported to
``.cache/faceapi_expression.onnx`` by ``tools/export_faceapi_expression.py``. It sees a 112x112 RGB
crop of the face and gives 7 probabilities in :data:`FACEAPI_CLASSES` order. It was compared with the
shipped mini-Xception by ``tools/compare_expression_cnns.py`` and not adopted (not clearly better on
the design data; ``models/cards/fer_mini_xception.md``, "Compared with"). The export matched
face-api.js itself (0.22.2 on tfjs-core 1.7.0, CPU backend) within 2e-6 on 44 real face crops.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.core.onnx_cpu import cpu_session

__all__ = ["FACEAPI_CLASSES", "INPUT_SIZE", "MEAN_RGB", "FaceApiExpressionNet", "faceapi_input"]

#: Output order of face-api.js's ``FaceExpressions`` (neutral, happy, sad, angry, fearful, disgusted,
#: surprised), in Vigil's class names.
FACEAPI_CLASSES: tuple[str, ...] = ("neutral", "happiness", "sadness", "anger", "fear", "disgust", "surprise")

#: Side of the square RGB input crop, in pixels.
INPUT_SIZE = 112

#: face-api.js ``FaceFeatureExtractor``: ``normalize(x, meanRgb).div(255)``.
MEAN_RGB = np.array([122.782, 117.001, 104.298], dtype=np.float32)


def faceapi_input(rgb: np.ndarray) -> np.ndarray:
    """uint8 (N, 112, 112, 3) RGB crops -> float32 (N, 3, 112, 112): ``(x - MEAN_RGB) / 255`` as face-api.js."""
    x = np.asarray(rgb).astype(np.float32)
    x -= MEAN_RGB
    x /= np.float32(255.0)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def checked_rgb_crops(faces: np.ndarray) -> np.ndarray:
    """``faces`` as uint8 (N, 112, 112, 3) (one 3-D crop becomes N = 1); ValueError otherwise."""
    faces = np.asarray(faces)
    if faces.ndim == 3:
        faces = faces[None]
    if faces.ndim != 4 or faces.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3):
        raise ValueError(f"expected (N, {INPUT_SIZE}, {INPUT_SIZE}, 3) RGB crops, got {faces.shape}")
    if faces.dtype != np.uint8:
        raise ValueError(f"expected uint8 crops, got {faces.dtype}")
    return faces


class FaceApiExpressionNet:
    """uint8 RGB face crops in, seven face-api.js probabilities out (onnxruntime, CPU)."""

    classes: tuple[str, ...] = FACEAPI_CLASSES

    def __init__(self, model_path: Path) -> None:
        self.session = cpu_session(model_path)

    def predict(self, faces: np.ndarray) -> np.ndarray:
        """(N, 112, 112, 3) uint8 RGB crops -> float32 (N, 7) softmax in :data:`FACEAPI_CLASSES` order.

        Raises
        ------
        ValueError
            If the crops are not uint8 or not 112x112x3.
        """
        faces = checked_rgb_crops(faces)
        if faces.shape[0] == 0:
            return np.zeros((0, len(FACEAPI_CLASSES)), dtype=np.float32)
        return np.asarray(self.session.run(None, {"x": faceapi_input(faces)})[0], dtype=np.float32)
