"""Analyser registry: one module per analyser, chosen by name when the pipeline is built.

Each entry lists its ``options`` and ``default`` (py-feat's ``SUPPORTED_MODELS`` pattern); unknown
names raise ``ValueError``. Order matters: an analyser may read the columns of the ones before it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.core.analysers.base import Analyser, FaceBatch


def _au(**_: Any) -> Analyser:
    from app.core.analysers.au import AUAnalyser

    return AUAnalyser()


def _expression(cnn_stride: int = 2, **_: Any) -> Analyser:
    from app.core.analysers.expression import ExpressionAnalyser

    return ExpressionAnalyser(cnn_stride=cnn_stride)


def _forensics(blend_weights: str | None = None, blend_sha256: str | None = None, **_: Any) -> Analyser:
    from app.core.analysers.forensics import PixelForensics

    return PixelForensics(blend_weights, blend_sha256)


REGISTRY: dict[str, dict[str, Any]] = {
    "au": {"options": ("blendshapes+geometry",), "default": "blendshapes+geometry",
           "models": ("face_landmarker",), "factory": _au},
    "expression": {"options": ("mini-xception+emfacs",), "default": "mini-xception+emfacs",
                   "models": ("fer_mini_xception",), "factory": _expression},
    "forensics": {"options": ("sbi+block+sharpness+spectrum",), "default": "sbi+block+sharpness+spectrum",
                  "models": ("sbi_blendnet",), "factory": _forensics},
}
DEFAULT_ANALYSERS: tuple[str, ...] = ("au", "expression", "forensics")


def build(names: tuple[str, ...] = DEFAULT_ANALYSERS, **params: Any) -> list[Analyser]:
    """Instantiate analysers by name, in order; raises ``ValueError`` on an unknown name."""
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown analyser(s) {unknown}; choose from {sorted(REGISTRY)}")
    factories: list[Callable[..., Analyser]] = [REGISTRY[n]["factory"] for n in names]
    return [f(**params) for f in factories]


__all__ = ["REGISTRY", "DEFAULT_ANALYSERS", "Analyser", "FaceBatch", "build"]
