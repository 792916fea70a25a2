"""Metadata traces of editing software (EXIF, XMP, ICC, embedded thumbnail).

Checks, each reported with the raw values as evidence:

* EXIF ``Software`` (0x0131) and XMP ``CreatorTool`` / ``photoshop:`` namespace / application names
  (Photoshop, GIMP, Meitu / 美图, 醒图, PicsArt, Snapseed, Lightroom, Canva …) in the metadata
  segments (for JPEG: the bytes before the first start-of-scan marker).
* ``DateTime`` (ModifyDate) later than ``DateTimeOriginal``: the file was written after capture.
* Camera-style EXIF (capture date or exposure tags) without ``Make`` / ``Model``: stripped identity.
* An embedded EXIF thumbnail that no longer matches the main image (aspect or content).

Metadata is easy to strip or forge, so these findings weigh less than pixel evidence in the total.
"""

from __future__ import annotations

import io
from datetime import datetime

import numpy as np
from PIL import Image

EDITORS = ("adobe photoshop", "photoshop:", "gimp", "meitu", "美图", "醒图", "xingtu", "picsart",
           "snapseed", "lightroom", "canva", "pixlr", "facetune", "beautycam", "photoscape",
           "paint.net", "affinity photo")
_EXIF_IFD = 0x8769
_IFD1 = 1


def _metadata_bytes(path: str, fmt: str | None) -> bytes:
    """The part of the file where metadata lives (JPEG header before SOS; else the first 256 KiB)."""
    with open(path, "rb") as fh:
        data = fh.read(4 << 20)
    if fmt == "JPEG":
        sos = data.find(b"\xff\xda")
        return data[: sos if sos > 0 else len(data)]
    return data[: 256 << 10]


def _parse_time(value: object) -> datetime | None:
    try:
        return datetime.strptime(str(value).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _thumbnail_check(img: Image.Image, exif: Image.Exif) -> dict | None:
    """Compare the EXIF IFD1 JPEG thumbnail with a downscaled main image; None when absent."""
    raw = img.info.get("exif")
    try:
        ifd1 = exif.get_ifd(_IFD1)
    except (KeyError, ValueError, TypeError):
        return None
    off, length = ifd1.get(0x0201), ifd1.get(0x0202)
    if not raw or not off or not length:
        return None
    tiff = raw[6:] if raw.startswith(b"Exif\x00\x00") else raw
    try:
        with Image.open(io.BytesIO(tiff[off: off + length])) as th:
            thumb = np.asarray(th.convert("L").resize((64, 64)), dtype=np.float64)
            t_aspect = th.width / th.height
    except (OSError, ValueError):
        return {"thumbnail": "unreadable", "mismatch": True}
    main = np.asarray(img.convert("L").resize((64, 64)), dtype=np.float64)
    corr = float(np.corrcoef(thumb.ravel(), main.ravel())[0, 1]) if thumb.std() and main.std() else 0.0
    aspect_off = abs(t_aspect - img.width / img.height) > 0.15
    return {"thumbnail_correlation": round(corr, 3), "thumbnail_aspect_mismatch": aspect_off,
            "mismatch": bool(aspect_off or corr < 0.8)}


def metadata_traces(path: str, img: Image.Image) -> tuple[float, list[str], dict]:
    """Inspect metadata for traces of editing.

    Parameters
    ----------
    path : str
        Image file.
    img : PIL.Image.Image
        The same file opened with PIL (not yet converted).

    Returns
    -------
    tuple
        ``(score 0–1, plain-language reasons, evidence dict)``.
    """
    exif = img.getexif()
    sub = exif.get_ifd(_EXIF_IFD) if exif else {}
    software = str(exif.get(0x0131, "")).strip("\x00 ")
    make, model = exif.get(0x010F), exif.get(0x0110)
    modified, original = _parse_time(exif.get(0x0132)), _parse_time(sub.get(0x9003))
    blob = _metadata_bytes(path, img.format).decode("utf-8", "ignore").lower()
    hits = sorted({name for name in EDITORS if name in blob or name in software.lower()})
    icc = img.info.get("icc_profile")
    ev: dict = {"software": software or None, "make": make, "model": model,
                "modify_date": str(modified) if modified else None,
                "date_time_original": str(original) if original else None,
                "editor_strings": hits, "has_exif": bool(exif), "has_icc": bool(icc)}
    reasons: list[str] = []
    score = 0.0
    if hits:
        label = software or ", ".join(hits)
        reasons.append(f"metadata names editing software ({label})")
        score = max(score, 0.7)
    if modified and original and (modified - original).total_seconds() > 60:
        reasons.append(f"file was modified on {modified} after it was taken on {original}")
        score = max(score, 0.4)
    camera_like = original is not None or any(t in sub for t in (0x829A, 0x829D, 0x8827))
    if camera_like and not (make or model):
        reasons.append("photo has capture data but the camera make/model were removed")
        score = max(score, 0.3)
    thumb = _thumbnail_check(img, exif) if exif else None
    if thumb:
        ev["thumbnail"] = thumb
        if thumb.get("mismatch"):
            reasons.append("embedded thumbnail does not match the picture (edited after capture)")
            score = max(score, 0.6)
    return score, reasons, ev
