"""Blending-boundary cue: the self-blended-image CNN's verdict on the face, per window.

Every face swap pastes a generated inner face into the original frame and must blend it in
somewhere; Shiohara & Yamasaki (CVPR 2022) train a detector for exactly that boundary on real
faces alone, against "self-blends" of those faces (:mod:`app.core.forensics.sbi`). The pipeline
stores the CNN's probability (``px_sbi``) on every few frames; this cue takes the window median
(robust to a single odd frame) and maps it to 0..1 with :func:`~.base.squash`: 0 up to
:data:`REF` (what untouched faces score), 0.5 at :data:`HIGH`.

Validity: the shipped weights were trained on a handful of identities (see
``models/cards/sbi_blendnet.md``); on the development set's 29 real and 8 scored fake videos the
cue's AUC is 0.76 [0.59, 0.93] (``models/cards/forgery_fusion.md``). ``vigil train-forgery``
retrains them on an institution's own recordings and ``vigil forgery-eval --fit`` re-weighs the cue
on its labelled videos.
"""

from __future__ import annotations

from app.core.forensics.cues._pixelcue import score_pixel_windows
from app.core.forensics.cues.base import CueResult, FaceSeries, squash

NAME = "sbi"
REF = 0.5    # window median probability of untouched faces stays below this (see the card)
HIGH = 0.8


def _rate(med: dict[str, float]) -> tuple[float, dict[str, float]]:
    s = squash(med["px_sbi"], REF, HIGH)
    return s, {"blend": s}


def score_windows(data: FaceSeries, window_s: float = 4.0) -> CueResult:
    """Score each window by the median blending probability of its measured frames.

    Evidence: ``px_sbi`` (median probability), ``n_frames``, ``evidence_frames`` (the frames with
    the highest probability).
    """
    return score_pixel_windows(data, NAME, ("px_sbi",), window_s, _rate, "px_sbi")
