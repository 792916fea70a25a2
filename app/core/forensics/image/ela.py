"""Error-level analysis (ELA).

Method (Krawetz, "A Picture's Worth...", Black Hat 2007): re-save the image as JPEG at quality 90
and take the absolute difference to the input. Regions that share the image's compression history
re-compress to a similar error level; a pasted or retouched region often does not. We average the
difference over 16x16 blocks, compare each block to the image's own robust distribution
(median / MAD z-score, both directions) and score the share of the largest contiguous group of
outlying blocks. ELA is content dependent (edges and texture raise the error), so the score is
deliberately conservative and only contiguous groups count.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from app.core.forensics.image.blocks import MapResult, block_reduce, outlier_map, robust_z

QUALITY = 90
BLOCK = 16
Z_THRESHOLD = 4.0
SHARE_SCALE = 0.04


def ela_difference(img: Image.Image, quality: int = QUALITY) -> np.ndarray:
    """Per-pixel error level: mean over RGB of ``|img - resave(img, quality)|`` as float32 (H, W)."""
    rgb = img.convert("RGB")
    buf = io.BytesIO()
    rgb.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    again = np.asarray(Image.open(buf).convert("RGB"), dtype=np.float32)
    return np.abs(np.asarray(rgb, dtype=np.float32) - again).mean(axis=2)


def error_level(img: Image.Image) -> MapResult:
    """Run ELA on a PIL image.

    Parameters
    ----------
    img : PIL.Image.Image
        The image as loaded (any mode; converted to RGB).

    Returns
    -------
    MapResult
        ``map``: per-pixel anomaly (0 = typical error level, 1 = |z| >= 8 at block level);
        ``score``: share of the largest contiguous outlying region, saturating;
        ``evidence``: block statistics and the region box in pixels.
    """
    diff = ela_difference(img)
    h, w = diff.shape
    if h < 2 * BLOCK or w < 2 * BLOCK:
        return MapResult(np.zeros((h, w), np.float32), 0.0, {"skipped": "image too small"})
    # Smooth a little so single-pixel edges do not dominate a block mean.
    means = block_reduce(cv2.GaussianBlur(diff, (3, 3), 0), BLOCK)
    z = robust_z(means)
    pix, score, ev = outlier_map(z, (h, w), BLOCK, Z_THRESHOLD, SHARE_SCALE)
    ev.update(quality=QUALITY, block=BLOCK, mean_error=round(float(diff.mean()), 3),
              block_mean_median=round(float(np.median(means)), 3),
              max_abs_z=round(float(np.abs(z).max()), 2))
    return MapResult(pix, score, ev)
