"""BlendNet: a small CNN that scores a 128 x 128 face crop for a blending boundary (torch; training only).

Trained by :mod:`app.core.forensics.sbi.train` (``vigil train-forgery``) on real faces (label 0) against
their self-blends (label 1), then exported to ONNX (:func:`load_blendnet`, :mod:`app.core.onnx_export`).
Analyses run the export with :class:`app.core.forensics.sbi.detector.BlendDetector`, which needs no torch.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from app.core.forensics.sbi.detector import INPUT_SIZE, MEAN, STD

__all__ = ["CHANNELS", "INPUT_SIZE", "BlendNet", "export_blendnet", "load_blendnet", "to_tensor"]

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


def load_blendnet(weights_path: str | os.PathLike[str]) -> BlendNet:
    """A BlendNet in eval mode with the state_dict of ``weights_path`` (a ``.pt`` from training)."""
    net = BlendNet()
    net.load_state_dict(torch.load(Path(weights_path), map_location="cpu", weights_only=True))
    return net.eval()


def export_blendnet(weights_path: str | os.PathLike[str], out: str | os.PathLike[str]) -> str:
    """Export the BlendNet of ``weights_path`` to the ONNX file ``out``; returns its sha256."""
    from app.core.onnx_export import export_onnx

    return export_onnx(load_blendnet(weights_path), (1, 3, INPUT_SIZE, INPUT_SIZE), out, "logit")
