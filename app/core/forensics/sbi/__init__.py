"""Blending-boundary detector trained on self-blended images (Shiohara & Yamasaki, CVPR 2022).

:mod:`.blend` makes the pseudo-fakes and the face crops; :mod:`.model` holds the small CNN (torch:
training and export only); :mod:`.detector` runs its ONNX export with onnxruntime at analysis time. ``vigil train-forgery`` (:mod:`.train`) trains it on an institution's own real recordings.
"""

from __future__ import annotations

from app.core.forensics.sbi.blend import face_crop, self_blend

__all__ = ["face_crop", "self_blend"]
