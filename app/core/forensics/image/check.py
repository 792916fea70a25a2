"""Still-image tampering check (PS篡改识别): run every check and combine them into one report.

The overall score is a weighted noisy-OR, ``1 - prod(1 - w_i * s_i)``, over the per-check scores
``s_i`` (each 0–1, saturating and conservative). Weights: copy-move 0.9, ELA 0.6, noise 0.5,
double JPEG compression 0.4, non-standard JPEG tables 0.1, metadata 0.35. Pixel evidence therefore
dominates; metadata alone (easily stripped or forged, and set by harmless apps) cannot push the
score above 0.35. The heat map is the per-pixel maximum of copy-move (full weight), ELA and noise
(each scaled by 0.8).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from app.core.errors import MediaError
from app.core.forensics.image.copymove import clone_map, clone_score, find_clones
from app.core.forensics.image.ela import error_level
from app.core.forensics.image.jpeg import jpeg_traces
from app.core.forensics.image.metadata import metadata_traces
from app.core.forensics.image.noise import noise_inconsistency

WEIGHTS = {"copy_move": 0.9, "ela": 0.6, "noise": 0.5, "double_jpeg": 0.4, "jpeg_tables": 0.1,
           "metadata": 0.35}
MAX_PIXELS = 60_000_000


@dataclass
class Finding:
    """One check's result: ``score`` 0–1, a plain-language ``summary`` and raw ``evidence``."""

    check: str
    score: float
    summary: str
    evidence: dict = field(default_factory=dict)


@dataclass
class ImageReport:
    """Combined result of :func:`check_image`; ``heatmap`` is float (H, W) in 0–1."""

    path: str
    score: float
    findings: list[Finding]
    heatmap: np.ndarray


def _load(path: str | os.PathLike[str]) -> tuple[Image.Image, np.ndarray]:
    """Open and fully decode an image; raise MediaError naming the file on any problem."""
    p = Path(path)
    if not p.is_file():
        raise MediaError(f"{p}: file not found")
    if p.stat().st_size == 0:
        raise MediaError(f"{p}: file is empty (0 bytes)")
    try:
        img = Image.open(p)
        if img.width * img.height > MAX_PIXELS:
            raise MediaError(f"{p}: image too large ({img.width}x{img.height})")
        img.load()
        rgb = np.asarray(img.convert("RGB"))
    except UnidentifiedImageError:
        raise MediaError(f"{p}: not an image file") from None
    except (OSError, ValueError, SyntaxError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MediaError(f"{p}: damaged image ({detail})") from None
    return img, rgb


def _pixel_summary(name: str, score: float, ev: dict) -> str:
    box = ev.get("region_box_px")
    if score <= 0 or not box:
        return f"{name}: consistent across the image"
    x, y, w, h = box
    return f"{name}: a {w}x{h} px region at ({x}, {y}) stands out from the rest of the image"


def _jpeg_findings(traces: dict) -> list[Finding]:
    if not traces.get("jpeg"):
        return []
    dc = traces["double_compression"]
    stat, thr = dc["statistic"], dc["threshold"]
    dscore = float(np.clip((stat - thr) / (2 * thr), 0.0, 1.0)) if dc["fired"] else 0.0
    dsum = (f"JPEG was compressed at least twice (periodic DCT histogram, statistic {stat:.1f} > {thr:.0f});"
            " the file was re-saved after an earlier save" if dc["fired"] else
            f"no sign of double JPEG compression (statistic {stat:.1f} <= {thr:.0f})")
    q = traces["quality"]
    tsum = (f"standard JPEG tables, quality about {q}" if traces["standard"] else
            f"non-standard JPEG tables (closest standard quality {q}); written by a camera or an editor")
    return [Finding("double_jpeg", dscore, dsum, dc),
            Finding("jpeg_tables", 0.0 if traces["standard"] else 0.3, tsum,
                    {k: traces[k] for k in ("quality", "mean_abs_error", "standard", "tables")})]


def check_image(path: str | os.PathLike[str]) -> ImageReport:
    """Run all tampering checks on one still image.

    Parameters
    ----------
    path : str or os.PathLike
        JPEG, PNG, WebP, BMP … readable by Pillow.

    Returns
    -------
    ImageReport
        Overall score (weighted noisy-OR), one :class:`Finding` per check and a 0–1 heat map.

    Raises
    ------
    MediaError
        The file is missing, empty, not an image, or truncated/damaged.
    """
    img, rgb = _load(path)
    spath = str(path)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    findings: list[Finding] = []

    regions = find_clones(gray)
    cm_score = clone_score(regions)
    if regions:
        r = regions[0]
        summary = (f"a {r.target[2]}x{r.target[3]} px region appears twice (copy-move), shifted by "
                   f"({r.shift[0]:+d}, {r.shift[1]:+d}) px")
    else:
        summary = "no duplicated regions found"
    findings.append(Finding("copy_move", cm_score, summary,
                            {"regions": [vars(x) for x in regions[:5]]}))
    ela = error_level(img)
    findings.append(Finding("ela", ela.score, _pixel_summary("error level (ELA)", ela.score, ela.evidence),
                            ela.evidence))
    noise = noise_inconsistency(gray)
    findings.append(Finding("noise", noise.score, _pixel_summary("noise level", noise.score, noise.evidence),
                            noise.evidence))
    findings.extend(_jpeg_findings(jpeg_traces(spath, img)))
    m_score, reasons, m_ev = metadata_traces(spath, img)
    findings.append(Finding("metadata", m_score, "; ".join(reasons) or "no editing traces in metadata", m_ev))

    total = 1.0 - float(np.prod([1.0 - WEIGHTS[f.check] * f.score for f in findings]))
    heat = np.maximum(clone_map(regions, gray.shape), 0.8 * np.maximum(ela.map, noise.map))
    return ImageReport(spath, round(float(np.clip(total, 0.0, 1.0)), 4), findings,
                       heat.astype(np.float32))


def save_heatmap(report: ImageReport, image_path: str | os.PathLike[str], out_png: str | os.PathLike[str],
                 alpha: float = 0.45) -> None:
    """Write ``out_png``: the image with the heat map (JET colormap) alpha-blended over it."""
    _, rgb = _load(image_path)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    heat = report.heatmap
    if heat.shape != bgr.shape[:2]:
        heat = cv2.resize(heat, (bgr.shape[1], bgr.shape[0]))
    colour = cv2.applyColorMap(np.uint8(np.clip(heat, 0, 1) * 255), cv2.COLORMAP_JET)
    weight = (alpha * np.clip(heat, 0, 1))[..., None]
    out = (bgr * (1 - weight) + colour * weight).astype(np.uint8)
    if not cv2.imwrite(str(out_png), out):
        raise MediaError(f"{out_png}: cannot write heat map PNG")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def to_json(report: ImageReport) -> dict:
    """JSON-ready dict of the report (heat map summarised by its shape and peak, not embedded)."""
    return {"path": report.path, "score": report.score,
            "heatmap": {"shape": list(report.heatmap.shape), "max": round(float(report.heatmap.max()), 4)},
            "findings": [{"check": f.check, "score": round(f.score, 4), "summary": f.summary,
                          "evidence": _plain(f.evidence)} for f in report.findings]}
