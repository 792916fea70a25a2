"""Noise-residual inconsistency.

Method (after Mahdian & Saic, "Using noise inconsistencies for blind image forensics", Image and
Vision Computing 27(10), 2009, and Lyu, Pan & Zhang, IJCV 2014): a camera image carries one sensor /
processing noise level across the frame; a region spliced in from another source, or smoothed by a
retouching tool, carries a different one. We take the high-pass residual ``gray - median3x3(gray)``,
estimate the noise level of every 16x16 block robustly (1.4826 * MAD of the residual), take logs,
and flag blocks whose level departs strongly from the image's robust distribution (median / MAD
z-score, both directions). Only contiguous groups of outlying blocks raise the score.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.stats import median_abs_deviation

from app.core.forensics.image.blocks import MapResult, outlier_map, robust_z

BLOCK = 16
Z_THRESHOLD = 4.0
SHARE_SCALE = 0.04


def residual(gray: np.ndarray) -> np.ndarray:
    """High-pass noise residual: ``gray - median3x3(gray)`` as float32."""
    g = gray.astype(np.uint8) if gray.dtype != np.uint8 else gray
    return g.astype(np.float32) - cv2.medianBlur(g, 3).astype(np.float32)


def block_sigma(res: np.ndarray, block: int = BLOCK) -> np.ndarray:
    """Robust noise level per block: ``1.4826 * median(|r - median(r)|)``, floored at 0.1."""
    h, w = res.shape[0] // block, res.shape[1] // block
    tiles = res[: h * block, : w * block].reshape(h, block, w, block).transpose(0, 2, 1, 3)
    tiles = tiles.reshape(h, w, block * block)
    mad = median_abs_deviation(tiles, axis=2, scale="normal")  # 1.4826 * MAD
    # MAD is 0 in very flat JPEG blocks; blend in the std so those blocks still get a level.
    return np.maximum(mad * 0.5 + 0.5 * tiles.std(axis=2), 0.1)


def noise_inconsistency(gray: np.ndarray) -> MapResult:
    """Run the noise check on an 8-bit grayscale image (H, W).

    Returns
    -------
    MapResult
        ``map``: per-pixel anomaly 0–1; ``score``: share of the largest contiguous region of
        blocks with an outlying noise level, saturating; ``evidence``: noise statistics.
    """
    h, w = gray.shape
    if h < 2 * BLOCK or w < 2 * BLOCK:
        return MapResult(np.zeros((h, w), np.float32), 0.0, {"skipped": "image too small"})
    sigma = block_sigma(residual(gray))
    z = robust_z(np.log(sigma))
    pix, score, ev = outlier_map(z, (h, w), BLOCK, Z_THRESHOLD, SHARE_SCALE)
    ev.update(block=BLOCK, median_sigma=round(float(np.median(sigma)), 3),
              max_abs_z=round(float(np.abs(z).max()), 2))
    return MapResult(pix, score, ev)
