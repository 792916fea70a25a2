"""BlendNet: a small CNN that scores a 128 x 128 face crop for a blending boundary.

Trained by :mod:`app.core.forensics.sbi.train` (``vigil train-forgery``) on real faces (label 0) against their self-blends (label 1).
:class:`BlendDetector` loads the weights and scores crops made by
:func:`app.core.forensics.sbi.blend.face_crop`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

INPUT_SIZE = 128
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
CHANNELS = (16, 32, 64, 128, 128)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True), nn.MaxPool2d(2))


class BlendNet(nn.Module):
    """Five 3x3 conv blocks (BN, ReLU, 2x2 max-pool), global average pool, one logit (~245k params)."""

    def __init__(self) -> None:
        super().__init__()
        chans = (3, *CHANNELS)
        self.features = nn.Sequential(*[_block(a, b) for a, b in zip(chans[:-1], chans[1:])])
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(CHANNELS[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, shape (N,), for normalised (N, 3, 128, 128) input."""
        f = self.features(x).mean(dim=(2, 3))
        return self.head(self.drop(f)).squeeze(1)


def to_tensor(crops: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 RGB crops -> normalised (N, 3, H, W) float32 tensor."""
    x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


class BlendDetector:
    """Probability that a face crop contains a blending boundary.

    Parameters
    ----------
    weights_path : a ``BlendNet`` state_dict saved by ``vigil train-forgery``.
    batch_size : crops per forward pass.
    """

    def __init__(self, weights_path: str | os.PathLike[str], batch_size: int = 64) -> None:
        self.weights_path = Path(weights_path)
        state = torch.load(self.weights_path, map_location="cpu", weights_only=True)
        self.net = BlendNet()
        self.net.load_state_dict(state)
        self.net.eval()
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
        with torch.inference_mode():
            for i in range(0, len(crops), self.batch_size):
                out.append(torch.sigmoid(self.net(to_tensor(crops[i:i + self.batch_size]))).numpy())
        if not out:
            return np.zeros(0, np.float32)
        return np.concatenate(out).astype(np.float32)
