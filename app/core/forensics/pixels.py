"""Per-frame pixel measurements of the face that the forgery cues need (the rest use the mesh).

These run inside the video pass on every ``pixel_stride``-th usable frame (the only place that
holds pixels) and are stored per frame, so the forgery pass can window them without decoding:

- ``px_block``: JPEG blocking inside the face. A face region that was JPEG-compressed on its own
  and pasted back (an edited or re-compressed face) carries the 8 x 8 block grid of that JPEG; the
  frame around it does not. Measured on native pixels (no resampling): the mean absolute step
  between neighbouring columns (rows) folded by position modulo 8; ``log(max / median)`` of the
  eight phases, minus the same for a ring of frame around the face (so a whole frame that is
  blocky, which is the capture-integrity check's business, does not count). Real webcam and
  phone video: about 0.0-0.2; a face re-saved at JPEG quality 50: about 0.4-0.6.
- ``px_sharp``: sharpness mismatch along the face-mask edge, ``log`` of the high-frequency energy
  inside the face over that in a band just outside the mask (the face of a swap is rendered at a
  lower resolution and scaled up: it is blurrier than the hair, ears and background around it).
- ``px_spec``: the azimuthally averaged power spectrum of the central face (Durall et al., CVPR
  2020, "Watch your up-convolution"): the mean log power of the top third of frequencies minus
  that of the low-mid band. Generators that up-sample leave excess energy in that tail.
- ``px_sbi``: the blending-boundary CNN's probability on the face crop (see :mod:`.sbi`).

All are NaN where the face is too small to measure.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.core.forensics.sbi.blend import crop_box

PATCH_MARGIN = 0.6    # the native patch handed over by the pipeline: face plus 60 % on each side
MIN_FACE_PX = 40      # below this the measurements are noise
SPEC_SIZE = 64


def native_patch(rgb: np.ndarray, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The face with a wide margin at native resolution, and the landmarks in its coordinates.

    Parameters
    ----------
    rgb : H x W x 3 uint8 frame.
    pts : (478, 2+) landmark pixel coordinates.

    Returns
    -------
    (patch, pts) or None when the face is smaller than :data:`MIN_FACE_PX`.
    """
    xy = np.asarray(pts, dtype=np.float32)[:, :2]
    if float(np.ptp(xy[:, 0])) < MIN_FACE_PX:
        return None
    x0, y0, side = crop_box(xy, PATCH_MARGIN)
    h, w = rgb.shape[:2]
    ix0, iy0 = max(int(x0), 0), max(int(y0), 0)
    ix1, iy1 = min(int(x0 + side) + 1, w), min(int(y0 + side) + 1, h)
    patch = np.ascontiguousarray(rgb[iy0:iy1, ix0:ix1])
    return patch, (xy - [ix0, iy0]).astype(np.float32)


def _hull(shape: tuple[int, ...], pts: np.ndarray) -> np.ndarray:
    m = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(m, cv2.convexHull(pts.astype(np.int32)), 1)
    return m


def _phase_peak(region: np.ndarray) -> float:
    """``log(max / median)`` of the mean absolute neighbour step folded modulo 8 (both axes)."""
    if region.shape[0] < 24 or region.shape[1] < 24:
        return float("nan")
    out = []
    for d in (np.abs(np.diff(region, axis=1)).mean(axis=0), np.abs(np.diff(region, axis=0)).mean(axis=1)):
        n = len(d) // 8 * 8
        phases = d[:n].reshape(-1, 8).mean(axis=0)
        out.append(np.log((phases.max() + 1e-3) / (np.median(phases) + 1e-3)))
    return float(np.mean(out))


def blockiness(grey: np.ndarray, pts: np.ndarray) -> float:
    """JPEG block-grid strength inside the face minus that of the frame around it."""
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    size = float(max(hi - lo))
    cx, cy = (lo + hi) / 2.0
    s = 0.5 * size
    face = grey[max(int(cy - s / 2), 0):int(cy + s / 2), max(int(cx - s / 2), 0):int(cx + s / 2)]
    inner = _phase_peak(face)
    # reference: the patch rows above the face (hair, background) or below it (neck, clothes)
    top = grey[:max(int(lo[1]), 0)]
    bottom = grey[int(hi[1]):]
    ref = [v for v in (_phase_peak(top), _phase_peak(bottom)) if np.isfinite(v)]
    return inner - (min(ref) if ref else 0.0)


def sharpness_mismatch(grey: np.ndarray, pts: np.ndarray) -> float:
    """``log`` of the high-pass energy inside the face over that in a band just outside its mask."""
    size = float(np.ptp(pts[:, 0]))
    hp = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.0))
    mask = _hull(grey.shape, pts)
    k = max(3, int(0.12 * size)) | 1
    kernel = np.ones((k, k), np.uint8)
    inner = cv2.erode(mask, kernel) > 0
    band = (cv2.dilate(mask, kernel) > 0) & (mask == 0)
    if inner.sum() < 50 or band.sum() < 50:
        return float("nan")
    return float(np.log(hp[inner].mean() + 1e-3) - np.log(hp[band].mean() + 1e-3))


def spectral_tail(grey: np.ndarray, pts: np.ndarray) -> float:
    """Durall et al.'s azimuthal power spectrum of the central face: high band minus low-mid band."""
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    cx, cy = (lo + hi) / 2.0
    s = 0.5 * float(max(hi - lo))
    sq = grey[max(int(cy - s / 2), 0):int(cy + s / 2), max(int(cx - s / 2), 0):int(cx + s / 2)]
    if min(sq.shape) < 16:
        return float("nan")
    sq = cv2.resize(sq, (SPEC_SIZE, SPEC_SIZE), interpolation=cv2.INTER_AREA)
    power = np.abs(np.fft.fftshift(np.fft.fft2(sq - sq.mean()))) ** 2
    yy, xx = np.indices(power.shape)
    r = np.hypot(yy - SPEC_SIZE // 2, xx - SPEC_SIZE // 2).astype(int)
    profile = np.bincount(r.ravel(), np.log(power.ravel() + 1e-6)) / np.maximum(np.bincount(r.ravel()), 1)
    half = SPEC_SIZE // 2
    return float(profile[int(0.62 * half):half].mean() - profile[int(0.15 * half):int(0.38 * half)].mean())


def measure(patch: np.ndarray, pts: np.ndarray) -> dict[str, float]:
    """``px_block``, ``px_sharp`` and ``px_spec`` of one native face patch (see module doc)."""
    grey = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return {"px_block": blockiness(grey, pts), "px_sharp": sharpness_mismatch(grey, pts),
            "px_spec": spectral_tail(grey, pts)}
