"""Export Resemblyzer's GE2E voice encoder to ONNX (``models/speaker_encoder.onnx``).

Development tool (not shipped; needs torch, which Vigil does not use at run time). It fetches the
``Resemblyzer==0.1.4`` wheel (Apache-2.0) with ``pip download``, reads ``resemblyzer/pretrained.pt``
(the state dict of a 3-layer LSTM over 40-band mel frames, hidden size 256, and a 256x256 linear
layer), re-creates Resemblyzer's ``VoiceEncoder.forward`` in torch, loads the weights and exports
it with ``torch.onnx.export``. The graph takes a batch of partial utterances, float32
``(batch, frames, 40)`` mel power frames (librosa's mel spectrogram, not log), and gives float32
``(batch, 256)``: ReLU of the linear layer over the last layer's final hidden state, L2-normed.
The mel front end and the averaging of partial utterances stay in Python
(:mod:`app.core.voice.speaker`), as in Resemblyzer.

Usage::

    python tools/export_speaker_onnx.py [OUT]   # default models/speaker_encoder.onnx

It prints the sha256 for ``models/manifest.json`` and the largest difference between torch and
onnxruntime on random input.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
WHEEL = "Resemblyzer==0.1.4"


class GE2EEncoder(nn.Module):
    """Resemblyzer's ``VoiceEncoder`` network (``voice_encoder.py``), without its device handling."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(40, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)
        self.relu = nn.ReLU()

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)
        raw = self.relu(self.linear(hidden[-1]))
        return raw / torch.norm(raw, dim=1, keepdim=True)


def pretrained_state(dest: Path) -> dict:
    """The wheel's ``model_state`` (LSTM and linear weights; GE2E's similarity scale is dropped)."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), WHEEL],
                   check=True)
    wheel = next(dest.glob("Resemblyzer-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        (dest / "pretrained.pt").write_bytes(zf.read("resemblyzer/pretrained.pt"))
    ckpt = torch.load(dest / "pretrained.pt", map_location="cpu", weights_only=False)
    return {k: v for k, v in ckpt["model_state"].items() if k.startswith(("lstm.", "linear."))}


def main(out: Path) -> None:
    model = GE2EEncoder()
    with tempfile.TemporaryDirectory() as tmp:
        model.load_state_dict(pretrained_state(Path(tmp)), strict=True)
    model.eval()
    example = torch.rand(2, 160, 40)
    torch.onnx.export(model, (example,), str(out), input_names=["mels"], output_names=["embeddings"],
                      dynamic_axes={"mels": {0: "batch", 1: "frames"}, "embeddings": {0: "batch"}},
                      opset_version=17, dynamo=False)
    import onnxruntime as ort

    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random((5, 160, 40), dtype=np.float32) * 3
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    got = sess.run(None, {"mels": x})[0]
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    print("sha256", hashlib.sha256(out.read_bytes()).hexdigest())
    print(f"max |torch - onnxruntime| on random input: {np.abs(ref - got).max():.2e}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "models" / "speaker_encoder.onnx")
