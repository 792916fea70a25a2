"""The blending-boundary CNN at analysis time: BlendNet's ONNX export run with onnxruntime.

:mod:`app.core.forensics.sbi.model` defines and trains BlendNet in torch; ``tools/export_onnx.py``
(the shipped ``models/sbi_blendnet.onnx``) and ``vigil train-forgery`` (an institution's own model)
export it. This module needs no torch.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from app.core.errors import VigilError
from app.core.onnx_cpu import cpu_session

INPUT_SIZE = 128
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def blend_input(crops: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 RGB crops -> normalised (N, 3, H, W) float32, as :func:`.model.to_tensor`."""
    x = np.ascontiguousarray(crops).transpose(0, 3, 1, 2).astype(np.float32)
    x /= np.float32(255.0)
    mean = np.asarray(MEAN, np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(STD, np.float32).reshape(1, 3, 1, 1)
    return np.ascontiguousarray((x - mean) / std)


class BlendDetector:
    """Probability that a face crop contains a blending boundary.

    Parameters
    ----------
    model_path : BlendNet's ONNX export (``sbi_blendnet.onnx`` or one written by ``vigil train-forgery``).
    batch_size : crops per forward pass.
    """

    def __init__(self, model_path: str | os.PathLike[str], batch_size: int = 64) -> None:
        self.model_path = Path(model_path)
        if self.model_path.suffix.lower() == ".pt":
            raise VigilError(f"{self.model_path}: torch weights; Vigil runs the blending CNN from its ONNX "
                             "export (re-run vigil train-forgery --activate, which writes and activates one)")
        self.session = cpu_session(self.model_path)
        self.batch_size = batch_size

    def score(self, crops: np.ndarray) -> np.ndarray:
        """Blending probability for each crop.

        Parameters
        ----------
        crops : (N, 128, 128, 3) uint8 RGB, from :func:`~app.core.forensics.sbi.blend.face_crop`.

        Returns
        -------
        numpy.ndarray
            (N,) float32 in 0..1.
        """
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3) or crops.dtype != np.uint8:
            raise ValueError(f"expected (N, {INPUT_SIZE}, {INPUT_SIZE}, 3) uint8 crops, got "
                             f"{crops.shape} {crops.dtype}")
        out = []
        for i in range(0, len(crops), self.batch_size):
            logit = np.asarray(self.session.run(None, {"x": blend_input(crops[i:i + self.batch_size])})[0])
            out.append(1.0 / (1.0 + np.exp(-logit.astype(np.float64))))
        if not out:
            return np.zeros(0, np.float32)
        return np.concatenate(out).astype(np.float32)
