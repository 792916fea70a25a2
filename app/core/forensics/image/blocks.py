"""Shared helpers for block statistics, robust z-scores and connected anomaly regions."""

from __future__ import annotations

import cv2
import numpy as np
from scipy.stats import median_abs_deviation


def block_reduce(values: np.ndarray, block: int, func: str = "mean") -> np.ndarray:
    """Reduce a 2-D array to one value per ``block`` x ``block`` tile.

    Parameters
    ----------
    values : numpy.ndarray
        2-D float array.
    block : int
        Tile side in pixels; a partial last row/column of tiles is dropped.
    func : str
        ``"mean"`` or ``"std"``.

    Returns
    -------
    numpy.ndarray
        Array of shape ``(H // block, W // block)``.
    """
    h, w = values.shape[0] // block, values.shape[1] // block
    tiles = values[: h * block, : w * block].reshape(h, block, w, block)
    if func == "std":
        return tiles.std(axis=(1, 3))
    return tiles.mean(axis=(1, 3))


def robust_z(values: np.ndarray) -> np.ndarray:
    """Robust z-score: ``(x - median) / (1.4826 * MAD)`` with a small floor on the scale."""
    med = float(np.median(values))
    mad = float(median_abs_deviation(values, axis=None, scale="normal"))  # 1.4826 * MAD
    scale = max(mad, 1e-6, 0.05 * abs(med))
    return (values - med) / scale


def largest_region(mask: np.ndarray) -> tuple[int, tuple[int, int, int, int] | None]:
    """Size and bounding box ``(x, y, w, h)`` (in mask cells) of the largest 4-connected True region."""
    if not mask.any():
        return 0, None
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=4)
    if n <= 1:
        return 0, None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h, area = (int(v) for v in stats[best])
    return area, (x, y, w, h)


def upsample(cells: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinearly resize a per-block map to the image ``shape`` ``(H, W)``, clipped to 0–1."""
    out = cv2.resize(cells.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.clip(out, 0.0, 1.0)


def region_score(z: np.ndarray, threshold: float, scale: float) -> tuple[float, dict]:
    """Score how much of the image forms one contiguous anomalous region.

    Blocks with ``|z| > threshold`` are anomalous; the largest 4-connected group's share of all blocks
    is mapped through ``1 - exp(-share / scale)``. Groups of fewer than 4 blocks count as nothing, so
    isolated texture blocks do not raise the score.

    Returns
    -------
    tuple
        ``(score, evidence)`` where evidence holds the region size and its block box.
    """
    mask = np.abs(z) > threshold
    area, box = largest_region(mask)
    share = area / max(z.size, 1) if area >= 4 else 0.0
    score = float(1.0 - np.exp(-share / scale)) if share > 0 else 0.0
    return score, {"anomalous_blocks": int(mask.sum()), "region_blocks": int(area),
                   "region_share": round(share, 4), "region_box_blocks": box}


class MapResult:
    """Outcome of a pixel-level check: per-pixel map (H, W) in 0–1, a score in 0–1 and evidence."""

    __slots__ = ("map", "score", "evidence")

    def __init__(self, map_: np.ndarray, score: float, evidence: dict) -> None:
        self.map = map_
        self.score = float(score)
        self.evidence = evidence


def outlier_map(z: np.ndarray, shape: tuple[int, int], block: int, threshold: float,
                scale: float) -> tuple[np.ndarray, float, dict]:
    """Per-pixel map (0..1) of the blocks whose robust z-score is far out, the region score, and its
    evidence with the region's box in pixels: the part ELA and the noise check share."""
    h, w = shape
    cells = np.clip((np.abs(z) - 2.0) / 6.0, 0.0, 1.0)
    pix = np.zeros((h, w), np.float32)
    hb, wb = cells.shape
    pix[: hb * block, : wb * block] = upsample(cells, (hb * block, wb * block))
    score, ev = region_score(z, threshold, scale)
    box = ev.pop("region_box_blocks")
    ev["region_box_px"] = [v * block for v in box] if box else None
    return pix, score, ev
