"""Per-frame quality gate: is this face good enough to be scored?

A frame fails the gate when there is no face, the face is too small, too blurred, or turned too far
from the camera. Failing frames keep a row with ``usable = 0`` and a plain-language reason, and their
AU and expression cells stay empty: they are "insufficient evidence", never scored as if good.

Thresholds (defaults, chosen for interview video):

=============  =====================================================================
check          fails when
=============  =====================================================================
presence       the landmarker finds no face
size           face box height < 60 px (AUs are not readable below this)
sharpness      variance of the Laplacian of the face crop, rescaled to 96 px high, < 15
pose           |yaw| > 35 degrees or |pitch| > 30 degrees
=============  =====================================================================

The forgery cues read a face under the same size and pose limits but without the sharpness test
(:meth:`QualityGate.forgery_check`): a dark or soft recording (DFDC's dim 1080p rooms) scores as
"blurred" while its mesh still tracks, and a face softer than its surroundings is itself what the
frequency cue looks for, so excluding blurred faces would hide that evidence. A face under 60 px
stays out of both: at that size the mesh jitter is not the face's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class QualityGate:
    """Thresholds of the quality gate (see module docstring)."""

    min_face_px: float = 60.0
    min_sharpness: float = 15.0
    max_yaw: float = 35.0
    max_pitch: float = 30.0

    def check(self, face_h: float, sharpness: float, yaw: float, pitch: float) -> tuple[bool, str]:
        """Return ``(usable, reason)``; reason is ``""`` for a usable frame."""
        if face_h < self.min_face_px:
            return False, f"face too small ({face_h:.0f} px high, needs {self.min_face_px:.0f})"
        if sharpness < self.min_sharpness:
            return False, f"face blurred (sharpness {sharpness:.0f}, needs {self.min_sharpness:.0f})"
        if abs(yaw) > self.max_yaw:
            return False, f"head turned away (yaw {yaw:+.0f} deg)"
        if abs(pitch) > self.max_pitch:
            return False, f"head tilted up or down (pitch {pitch:+.0f} deg)"
        return True, ""

    def forgery_check(self, face_h: float, yaw: float, pitch: float) -> tuple[bool, str]:
        """``(ok, reason)`` for the forgery cues: :meth:`check` without the sharpness test."""
        return self.check(face_h, self.min_sharpness, yaw, pitch)


NO_FACE = "no face found"


def sharpness(grey: np.ndarray, bbox: tuple[float, float, float, float]) -> float:
    """Variance of the Laplacian over the face box, rescaled to 96 px high (scale-comparable)."""
    x, y, w, h = bbox
    H, W = grey.shape[:2]
    x0, y0 = max(int(x), 0), max(int(y), 0)
    x1, y1 = min(int(x + w), W), min(int(y + h), H)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return 0.0
    crop = grey[y0:y1, x0:x1]
    scale = 96.0 / crop.shape[0]
    crop = cv2.resize(crop, (max(8, int(crop.shape[1] * scale)), 96), interpolation=cv2.INTER_LINEAR)
    return float(cv2.Laplacian(crop, cv2.CV_32F).var())
