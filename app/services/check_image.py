"""Service wrapper for the still-image tampering check (used by the CLI)."""

from __future__ import annotations

from app.core.forensics.image.check import check_image, save_heatmap, to_json


def run_check(path: str, heatmap_png: str | None = None) -> dict:
    """Check one image for tampering and return the JSON-ready report.

    Parameters
    ----------
    path : str
        The image file.
    heatmap_png : str or None
        Where to write the heat-map overlay PNG; nothing is written when None.

    Returns
    -------
    dict
        :func:`app.core.forensics.image.check.to_json` output, plus ``heatmap_png`` when written.

    Raises
    ------
    app.core.errors.MediaError
        Bad input (missing, empty, not an image, damaged).
    """
    report = check_image(path)
    out = to_json(report)
    if heatmap_png:
        save_heatmap(report, path, heatmap_png)
        out["heatmap_png"] = heatmap_png
    return out
