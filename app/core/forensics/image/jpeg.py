"""JPEG traces: quantisation tables, estimated quality, double compression.

* Quality: the luminance/chrominance tables read by PIL (``img.quantization``, natural order) are
  compared with the IJG standard tables (ITU-T T.81 Annex K) scaled for qualities 1–100 with the
  libjpeg rule (``s = 5000/q`` below 50, else ``200 - 2q``). An exact or near match gives the
  quality; a poor match means a non-standard table (camera firmware, Photoshop, other encoders).
* Double compression (Lukáš & Fridrich, DFRWS 2003; Popescu & Farid, IH 2004): re-quantising DCT
  coefficients with a second step ``q2`` after a first step ``q1 != q2`` leaves periodic peaks and
  gaps in the coefficient histograms. We decode the luma plane without colour conversion, take the
  8x8 DCT on the JPEG grid, divide low-frequency AC coefficients by their current step, build the
  integer histogram, remove its smooth envelope and measure the strongest Fourier peak of the
  remainder relative to the median spectrum. Single compression leaves a near-flat spectrum.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=np.int64)
_CHROMA = np.full(64, 99, dtype=np.int64)
_CHROMA[[0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 24, 25]] = [17, 18, 24, 47, 18, 21, 26, 66, 24, 26,
                                                           56, 47, 66]
_CHROMA[19] = 99

# Low-frequency AC positions (row, col) used for the histogram test.
AC_POSITIONS = ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0))
HIST_RANGE = 40
PEAK_THRESHOLD = 12.0


def ijg_table(base: np.ndarray, quality: int) -> np.ndarray:
    """IJG-scaled quantisation table for ``quality`` in 1..100 (values clamped to 1..255)."""
    q = min(max(int(quality), 1), 100)
    scale = 5000 // q if q < 50 else 200 - 2 * q
    return np.clip((base * scale + 50) // 100, 1, 255)


def estimate_quality(tables: dict[int, list[int]]) -> dict:
    """Match PIL quantisation tables against the scaled IJG tables.

    Returns
    -------
    dict
        ``quality`` (best IJG quality), ``mean_abs_error`` (per entry, 0 for an exact IJG table),
        ``standard`` (True when the tables are IJG tables within rounding) and ``tables`` count.
    """
    best_q, best_err = 0, float("inf")
    for q in range(1, 101):
        errs = []
        for idx, arr in tables.items():
            base = _LUMA if idx == 0 else _CHROMA
            errs.append(np.abs(np.asarray(arr, dtype=np.int64) - ijg_table(base, q)).mean())
        err = float(np.mean(errs))
        if err < best_err:
            best_q, best_err = q, err
    return {"quality": best_q, "mean_abs_error": round(best_err, 3),
            "standard": best_err <= 0.5, "tables": len(tables)}


def _luma_plane(path: str) -> np.ndarray | None:
    """Decoded JPEG luma (Y) without colour conversion, or None when unavailable."""
    with Image.open(path) as img:
        if img.format != "JPEG":
            return None
        if img.mode in ("RGB", "YCbCr"):
            img.draft("YCbCr", img.size)
        img.load()
        if img.mode == "YCbCr":
            return np.asarray(img, dtype=np.float32)[:, :, 0]
        return np.asarray(img.convert("L"), dtype=np.float32)


def _block_dct(y: np.ndarray) -> np.ndarray:
    """Orthonormal 8x8 DCT of every grid-aligned block: shape (n_blocks, 8, 8)."""
    h, w = (y.shape[0] // 8) * 8, (y.shape[1] // 8) * 8
    blocks = (y[:h, :w] - 128.0).reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 8, 8)
    return np.stack([cv2.dct(b) for b in blocks]) if len(blocks) else np.zeros((0, 8, 8))


def histogram_peak(values: np.ndarray) -> float:
    """Periodicity statistic of an integer coefficient histogram.

    The histogram over ``[-HIST_RANGE, HIST_RANGE]`` (bin 0 excluded, both sides folded by
    ``|k|`` so the big zero bin does not dominate) is divided by its 5-bin moving-average envelope;
    the strongest Fourier magnitude of the (mean-removed) ratio above the lowest frequencies is
    returned relative to the median magnitude.
    """
    k = np.abs(values[np.abs(values) <= HIST_RANGE]).astype(np.int64)
    hist = np.bincount(k, minlength=HIST_RANGE + 1)[1:].astype(np.float64)
    nonzero = np.nonzero(hist)[0]
    if hist.sum() < 200 or len(nonzero) < 6:
        return 0.0
    hist = hist[: nonzero[-1] + 1]
    env = np.convolve(hist, np.ones(5) / 5.0, mode="same") + 1.0
    ratio = hist / env
    spec = np.abs(np.fft.rfft(ratio - ratio.mean()))
    if len(spec) < 5:
        return 0.0
    band = spec[2:]
    return float(band.max() / (np.median(band) + 1e-6))


def double_compression(path: str, tables: dict[int, list[int]]) -> dict:
    """Double-compression test on a JPEG file.

    Parameters
    ----------
    path : str
        The JPEG file (must be readable by PIL).
    tables : dict
        Its quantisation tables (``img.quantization``), natural order.

    Returns
    -------
    dict
        ``statistic`` (max periodicity over the tested AC positions), ``per_coefficient`` values,
        ``threshold`` and ``fired`` (statistic above threshold).
    """
    y = _luma_plane(path)
    luma = np.asarray(tables.get(0, []), dtype=np.float64)
    if y is None or luma.size != 64 or min(y.shape) < 64:
        return {"statistic": 0.0, "per_coefficient": {}, "threshold": PEAK_THRESHOLD, "fired": False}
    coeffs = _block_dct(y)
    per = {}
    for r, c in AC_POSITIONS:
        step = luma[r * 8 + c]
        per[f"{r},{c}"] = round(histogram_peak(np.rint(coeffs[:, r, c] / step)), 2)
    stat = max(per.values()) if per else 0.0
    return {"statistic": stat, "per_coefficient": per, "threshold": PEAK_THRESHOLD,
            "fired": bool(stat > PEAK_THRESHOLD)}


def jpeg_traces(path: str, img: Image.Image) -> dict:
    """Quality, table standardness and double-compression evidence; ``{"jpeg": False}`` otherwise."""
    tables = getattr(img, "quantization", None) or {}
    if img.format != "JPEG" or not tables:
        return {"jpeg": False}
    out = {"jpeg": True, **estimate_quality(tables)}
    out["double_compression"] = double_compression(path, tables)
    return out
