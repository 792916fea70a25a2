"""Self-blended images (SBI) and the face crop shared by training and inference.

Following Shiohara & Yamasaki (CVPR 2022, "Detecting Deepfakes with Self-Blended Images"), a
pseudo-fake is made from one real face alone: a slightly altered copy of the face (the *source*:
colour, sharpness and a small geometric shift) is blended back into the original (the *target*)
under a soft mask built from the face landmarks. What is left is exactly what every face swap must
leave somewhere: a blending boundary and a statistical mismatch between the inner face and its
surroundings. A detector trained on such pairs never sees a real deepfake.
"""

from __future__ import annotations

import cv2
import numpy as np

CROP_SIZE = 128
CROP_MARGIN = 0.25


def _xy(pts: np.ndarray) -> np.ndarray:
    """(N, 2) float32 pixel coordinates from (N, 2) or (N, 3) landmarks."""
    return np.asarray(pts, dtype=np.float32)[:, :2]


def crop_box(pts: np.ndarray, margin: float = CROP_MARGIN) -> tuple[float, float, float]:
    """Square box around the landmarks: ``(x0, y0, side)`` in pixels.

    Parameters
    ----------
    pts : (N, 2) or (N, 3) landmark pixel coordinates.
    margin : fraction of the face size added on each side.
    """
    xy = _xy(pts)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    cx, cy = (lo + hi) / 2.0
    side = float(max(hi - lo)) * (1.0 + 2.0 * margin)
    side = max(side, 4.0)
    return float(cx - side / 2.0), float(cy - side / 2.0), side


def crop_square(rgb: np.ndarray, box: tuple[float, float, float], size: int) -> np.ndarray:
    """Cut ``box`` out of ``rgb`` (edge-replicated where it leaves the image) and resize to ``size``."""
    x0, y0, side = box
    ix0, iy0 = int(np.floor(x0)), int(np.floor(y0))
    iside = int(np.ceil(side))
    h, w = rgb.shape[:2]
    pad = max(0, -ix0, -iy0, ix0 + iside - w, iy0 + iside - h)
    src = rgb
    if pad:
        src = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    patch = src[iy0 + pad:iy0 + pad + iside, ix0 + pad:ix0 + pad + iside]
    interp = cv2.INTER_AREA if iside > size else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(patch, (size, size), interpolation=interp))


def face_crop(rgb: np.ndarray, pts: np.ndarray, size: int = CROP_SIZE,
              margin: float = CROP_MARGIN) -> np.ndarray:
    """Square face crop around the mesh, resized to ``size`` x ``size``.

    The same function makes the training and the inference crops, so both see the face at the same
    scale and with the same resampling.

    Parameters
    ----------
    rgb : H x W x 3 uint8 RGB image.
    pts : (478, 2) or (478, 3) landmark pixel coordinates.
    size : output side in pixels.
    margin : fraction of the face size kept around the mesh on each side (~25 %).

    Returns
    -------
    numpy.ndarray
        ``size`` x ``size`` x 3 uint8.
    """
    return crop_square(rgb, crop_box(pts, margin), size)


def _jitter_colour(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random HSV shift, brightness and contrast on a float32 RGB image in 0..255."""
    hsv = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-6, 6)) % 180.0
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(0.8, 1.2) + rng.uniform(-10, 10), 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] + rng.uniform(-15, 15), 0, 255)
    out = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    mean = out.mean()
    out = (out - mean) * rng.uniform(0.85, 1.15) + mean + rng.uniform(-12, 12)
    return np.clip(out, 0, 255)


def _blur_or_sharpen(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur or unsharp masking, chosen at random."""
    sigma = rng.uniform(0.5, 1.6)
    blurred = cv2.GaussianBlur(img, (0, 0), sigma)
    if rng.random() < 0.5:
        return blurred
    amount = rng.uniform(0.3, 1.2)
    return np.clip(img + amount * (img - blurred), 0, 255)


def _shift_scale(img: np.ndarray, centre: np.ndarray, face: float, rng: np.random.Generator) -> np.ndarray:
    """Resize by 0.9-1.1 about the face centre and translate by up to +-3 % of the face size."""
    s = rng.uniform(0.9, 1.1)
    tx, ty = rng.uniform(-0.03, 0.03, size=2) * face
    cx, cy = float(centre[0]), float(centre[1])
    m = np.array([[s, 0.0, (1 - s) * cx + tx], [0.0, s, (1 - s) * cy + ty]], dtype=np.float64)
    h, w = img.shape[:2]
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _elastic(mask: np.ndarray, face: float, rng: np.random.Generator) -> np.ndarray:
    """Smooth random displacement of the mask, a few per cent of the face size at most."""
    h, w = mask.shape
    alpha = rng.uniform(0.01, 0.04) * face
    smooth = max(face * 0.08, 2.0)
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), smooth)
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), smooth)
    scale = alpha / max(float(np.abs(dx).max()), float(np.abs(dy).max()), 1e-6)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(mask, gx + dx * scale, gy + dy * scale, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def blend_mask(shape: tuple[int, int], pts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Soft self-blending mask (float32, 0..1) from the landmarks' convex hull.

    The hull is randomly eroded or dilated, deformed elastically, Gaussian-blurred with a random
    kernel and scaled by a random blend ratio in 0.25..1.
    """
    xy = _xy(pts)
    face = float(max(xy.max(axis=0) - xy.min(axis=0)))
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(xy).astype(np.int32)), 1)
    k = int(round(rng.uniform(0.0, 0.08) * face))
    if k >= 1:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
        mask = cv2.erode(mask, kernel) if rng.random() < 0.6 else cv2.dilate(mask, kernel)
    m = _elastic(mask.astype(np.float32), face, rng)
    ksize = 2 * int(round(rng.uniform(0.02, 0.12) * face)) + 1
    m = cv2.GaussianBlur(m, (ksize, ksize), 0)
    ksize2 = 2 * int(round(rng.uniform(0.01, 0.06) * face)) + 1
    m = cv2.GaussianBlur(m, (ksize2, ksize2), 0)
    peak = float(m.max())
    if peak > 0:
        m = m / peak
    return (m * rng.uniform(0.25, 1.0)).astype(np.float32)


def self_blend(rgb: np.ndarray, pts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One self-blended pseudo-fake of ``rgb``.

    Parameters
    ----------
    rgb : H x W x 3 uint8 RGB image (the *target*).
    pts : (478, 2) or (478, 3) MediaPipe landmark pixel coordinates of the face in ``rgb``.
    rng : numpy random generator; the output is a pure function of the inputs and its state.

    Returns
    -------
    numpy.ndarray
        Same shape, uint8: ``mask * source + (1 - mask) * target``, where the source is the target
        after colour jitter, blur or sharpening and a small rescale/shift.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 image, got shape {rgb.shape}")
    target = rgb.astype(np.float32)
    xy = _xy(pts)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    face = float(max(hi - lo))
    src = _jitter_colour(target, rng)
    src = _blur_or_sharpen(src, rng)
    src = _shift_scale(src, (lo + hi) / 2.0, face, rng)
    m = blend_mask(rgb.shape[:2], xy, rng)[..., None]
    out = m * src + (1.0 - m) * target
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def xray_blend(rgb: np.ndarray, pts: np.ndarray, donor: np.ndarray, donor_pts: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """A pseudo-fake with another person's inner face (Li et al., "Face X-ray", CVPR 2020).

    The donor face is aligned to the target by a landmark similarity transform, its colours are
    partly matched to the target's (per-channel mean and spread, random strength), and it is blended
    in under the same random mask as :func:`self_blend`. Training mixes these with self-blends so
    the network sees seams between different skins, not only a face's seam with itself.
    """
    xy, dxy = _xy(pts), _xy(donor_pts)
    m, _ = cv2.estimateAffinePartial2D(dxy, xy)
    if m is None:
        return self_blend(rgb, pts, rng)
    h, w = rgb.shape[:2]
    src = cv2.warpAffine(donor.astype(np.float32), m, (w, h), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)
    target = rgb.astype(np.float32)
    hull = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(xy).astype(np.int32)), 1)
    inside = hull.astype(bool)
    if inside.sum() > 16:
        k = rng.uniform(0.0, 1.0)
        mu_s, sd_s = src[inside].mean(0), src[inside].std(0) + 1e-3
        mu_t, sd_t = target[inside].mean(0), target[inside].std(0) + 1e-3
        matched = (src - mu_s) / sd_s * sd_t + mu_t
        src = np.clip(k * matched + (1 - k) * src, 0, 255)
    mask = blend_mask((h, w), xy, rng)[..., None]
    out = mask * src + (1.0 - mask) * target
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
