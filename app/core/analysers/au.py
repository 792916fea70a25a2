"""25 FACS action units, intensity 0-5, from canonical-frame mesh geometry and MediaPipe blendshapes.

Every AU is a weighted sum of *terms*. A term takes one raw feature (a blendshape, or a pose-free
geometry distance from :mod:`app.core.face.geometry`), subtracts the person's neutral reference
(:mod:`app.core.analysers.baseline`: own calm frames blended with a population prior), drops the part
inside the reference's dead zone, and divides by the change that counts as a maximal action in that
direction (the feature's ``span``: the 99th percentile of that change over the devset's expressive
real faces, ``models/au_norms.json``). The weighted sum (0..1) is scaled to FACS intensity
0-5 (A=1 trace ... E=5 maximum). Lateral AUs are computed per side; the AU is the mean of both sides
and its asymmetry (left minus right) is kept too. A *damp* feature (a smile, a blink) scales an AU
down while it is active, where that action moves the same landmarks for another reason.

Design choices, each measured on the devset's real faces (``tools/au_tune.py``, the model card
``models/cards/au_geometry.md``):

* brow and upper-lid AUs (01, 02, 04, 05) and the lip stretcher (20) use canonical-frame geometry
  only: MediaPipe's brow, eye-wide and stretch blendshapes follow head pitch (browDown r = +0.88
  with pitch on a news clip whose brows stay still). A variant that regressed the pitch-following
  part out of blendshapes and geometry (slopes fitted on 14 calm talking clips) lowered the mean
  |r| between these AUs and pitch on those clips by 0.01 only and raised it on three other clips
  (0.25 -> 0.40), so it was not kept;
* ``noseSneer`` is 0 on every devset frame, so AU09 comes from the nose wings rising towards the
  eyes, the upper lip rising and the inner brows lowering; the nose wings alone also "rise" when a
  face looks down with its eyes closed, so they carry less than half of it;
* a smile raises the upper lip, parts and thins the lips, and a laugh's squint pulls the brows
  down: AU04, AU10, AU16, AU20, AU23 and AU24 are damped by the smile (``mouthSmile`` above the
  person's neutral; on a smiling talking clip AU04 read >= 1 on 57 % of the frames without this);
* AU07 (lid tightener) is the eye narrowing without a smile; AU06 (cheek raiser) includes it;
* AU11 (nasolabial deepener) and AU13 (sharp lip puller) cannot be measured from the mesh: they are
  **estimates from their neighbours** (:data:`ESTIMATED`), and say so wherever they are shown.

====  ==========================  ===============================================================
AU    FACS name                   terms (weight, direction); damped by
====  ==========================  ===============================================================
01    inner brow raiser           inner-brow height .7 up, inner brow-eye distance .3 up
02    outer brow raiser           outer-brow height 1 up
04    brow lowerer                inner-brow height .6 down, inner brow-eye distance .4 down; smile
05    upper lid raiser            eye opening 1 up
06    cheek raiser                eyeSquint .35, lower-lid height .35 up, mouthSmile .3; blink
07    lid tightener               eye opening .4 down, lower-lid height .4 up, eyeSquint .2; blink, smile
09    nose wrinkler               nose-wing-to-eye .4 down, upper-lip-to-nose .4 down, brow-eye .2 down; smile
10    upper lip raiser            upper-lip-to-nose .5 down, mouthUpperUp .5; smile
11    nasolabial deepener         estimate: 0.6 x AU10
12    lip corner puller           mouthSmile .5, corner height (lip midline) .25 up, corner height (nose) .25 up
13    sharp lip puller            estimate: 0.5 x AU12
14    dimpler                     mouthDimple .8, mouthPress .2
15    lip corner depressor        mouthFrown .4, corner height (lip midline) .3 down, (nose) .3 down
16    lower lip depressor         mouthLowerDown 1; smile
17    chin raiser                 mouthShrugLower .8, mouthShrugUpper .2
18    lip pucker                  mouthPucker .7, mouth width .3 down
20    lip stretcher               mouth half-width (corner to midline) 1 up; smile
22    lip funneler                mouthFunnel 1
23    lip tightener               lip red thickness .5 down, mouthPress .3, mouthRoll .1 + .1; smile
24    lip pressor                 mouthPress .5, lip red thickness .3 down, mouthClose .2; smile
25    lips part                   inner-lip gap .6 up, jawOpen .4
26    jaw drop                    jawOpen .7, nose-chin distance .3 up
27    mouth stretch               inner-lip gap and nose-chin distance beyond 40 % of their span
28    lip suck                    mouthRollLower .5, mouthRollUpper .5
43    eyes closed                 eyeBlink .7, eye opening .3 down
====  ==========================  ===============================================================

Blink events (AU45) come from :mod:`app.core.face.blink`. Validity: see the model card; compare
shapes over time (correlation) with FACS tools rather than absolute levels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from app.core.analysers.baseline import Baseline, RunningBaseline, norms
from app.core.analysers.raw import RAW_INDEX, RAW_NAMES

if TYPE_CHECKING:
    from app.core.analysers.base import FaceBatch

__all__ = ["AU_NAMES", "FACS_NAMES", "LATERAL_AUS", "RAW_NAMES", "ESTIMATED", "SPECS", "intensities", "AUAnalyser"]

AU_NAMES: tuple[str, ...] = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU11", "AU12", "AU13", "AU14",
    "AU15", "AU16", "AU17", "AU18", "AU20", "AU22", "AU23", "AU24", "AU25", "AU26", "AU27", "AU28",
    "AU43",
)

#: FACS name of each AU, e.g. ``FACS_NAMES["AU12"] == "lip corner puller"``, read from the table in
#: this module's docstring (its one source, so the names cannot drift from the documented definitions).
FACS_NAMES: dict[str, str] = {
    f"AU{m.group(1)}": m.group(2).strip()
    for m in re.finditer(r"^(\d\d)\s{2,}([a-z][a-z ]+?)\s{2,}", __doc__ or "", re.MULTILINE)
}

#: AUs the mesh cannot measure: (the measured AU they are estimated from, factor).
ESTIMATED: dict[str, tuple[str, float]] = {"AU11": ("AU10", 0.6), "AU13": ("AU12", 0.5)}


@dataclass(frozen=True)
class Term:
    """One contribution: ``weight * relu((relu(sign * (x - ref) - dead) / span) - offset) / (1 - offset)``."""

    feature: str  # may contain {S} (Left/Right) or {s} (L/R) for lateral AUs
    weight: float
    sign: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True)
class AUSpec:
    """How one AU is computed; ``damp`` features scale it down while they rise above neutral."""

    name: str
    terms: tuple[Term, ...]
    lateral: bool = False
    damp: tuple[str, ...] = ()


T = Term
_SMILE, _BLINK = "mouthSmile{S}", "eyeBlink{S}"
SPECS: tuple[AUSpec, ...] = (
    AUSpec("AU01", (T("g_inner_brow_{s}", .7), T("g_brow_eye_in_{s}", .3)), True),
    AUSpec("AU02", (T("g_outer_brow_{s}", 1.0),), True),
    AUSpec("AU04", (T("g_inner_brow_{s}", .6, -1), T("g_brow_eye_in_{s}", .4, -1)), True, (_SMILE,)),
    AUSpec("AU05", (T("g_eye_open_{s}", 1.0),), True),
    AUSpec("AU06", (T("eyeSquint{S}", .35), T("g_lower_lid_{s}", .35), T("mouthSmile{S}", .3)), True,
           (_BLINK,)),
    AUSpec("AU07", (T("g_eye_open_{s}", .4, -1), T("g_lower_lid_{s}", .4), T("eyeSquint{S}", .2)), True,
           (_BLINK, _SMILE)),
    AUSpec("AU09", (T("g_nose_wing", .4, -1), T("g_upper_lip", .4, -1), T("g_brow_eye_in_{s}", .2, -1)), True,
           (_SMILE,)),
    AUSpec("AU10", (T("g_upper_lip", .5, -1), T("mouthUpperUp{S}", .5)), True, (_SMILE,)),
    AUSpec("AU11", (), True),
    AUSpec("AU12", (T("mouthSmile{S}", .5), T("g_corner_up_{s}", .25), T("g_corner_nose_{s}", .25)), True),
    AUSpec("AU13", (), True),
    AUSpec("AU14", (T("mouthDimple{S}", .8), T("mouthPress{S}", .2)), True),
    AUSpec("AU15", (T("mouthFrown{S}", .4), T("g_corner_up_{s}", .3, -1), T("g_corner_nose_{s}", .3, -1)), True),
    AUSpec("AU16", (T("mouthLowerDown{S}", 1.0),), True, (_SMILE,)),
    AUSpec("AU17", (T("mouthShrugLower", .8), T("mouthShrugUpper", .2))),
    AUSpec("AU18", (T("mouthPucker", .7), T("g_mouth_width", .3, -1))),
    AUSpec("AU20", (T("g_half_width_{s}", 1.0),), True, (_SMILE,)),
    AUSpec("AU22", (T("mouthFunnel", 1.0),)),
    AUSpec("AU23", (T("g_lip_thickness", .5, -1), T("mouthPress{S}", .3), T("mouthRollLower", .1),
                    T("mouthRollUpper", .1)), True, (_SMILE,)),
    AUSpec("AU24", (T("mouthPress{S}", .5), T("g_lip_thickness", .3, -1), T("mouthClose", .2)), True, (_SMILE,)),
    AUSpec("AU25", (T("g_lip_gap", .6), T("jawOpen", .4))),
    AUSpec("AU26", (T("jawOpen", .7), T("g_jaw", .3))),
    AUSpec("AU27", (T("g_lip_gap", .5, offset=.4), T("g_jaw", .5, offset=.4))),
    AUSpec("AU28", (T("mouthRollLower", .5), T("mouthRollUpper", .5))),
    AUSpec("AU43", (T("eyeBlink{S}", .7), T("g_eye_open_{s}", .3, -1)), True),
)
LATERAL_AUS: tuple[str, ...] = tuple(s.name for s in SPECS if s.lateral)
DAMP_FULL = 0.5  # a damping action fully damps at this share of its span above neutral


def _feature(name: str, side: str) -> int:
    return RAW_INDEX[name.replace("{S}", "Left" if side == "L" else "Right").replace("{s}", side)]


def _compile(spec: AUSpec, side: str) -> tuple[np.ndarray, ...]:
    nm = norms()
    idx = np.array([_feature(t.feature, side) for t in spec.terms], dtype=int)
    w = np.array([t.weight for t in spec.terms])
    sign = np.array([t.sign for t in spec.terms])
    span = np.array([(nm.up if t.sign > 0 else nm.down)[i] for t, i in zip(spec.terms, idx)])
    off = np.array([t.offset for t in spec.terms])
    damp = np.array([_feature(d, side) for d in spec.damp], dtype=int)
    return idx, w, sign, span, off, damp


_COMPILED: dict[tuple[str, str], tuple[np.ndarray, ...]] = {}


def _compiled(name: str, side: str) -> tuple[np.ndarray, ...]:
    if not _COMPILED:
        _COMPILED.update({(s.name, sd): _compile(s, sd) for s in SPECS for sd in ("L", "R")})
    return _COMPILED[(name, side)]


def intensities(raw: np.ndarray, baseline: Baseline) -> tuple[np.ndarray, np.ndarray]:
    """AU intensities (N, 25) on 0-5 and asymmetries (N, len(LATERAL_AUS)) on -5..5.

    Parameters
    ----------
    raw : (N, len(RAW_NAMES)) raw features of usable frames.
    baseline : the person's neutral reference (:func:`app.core.analysers.baseline.estimate_baseline`).
    """
    raw = np.atleast_2d(raw).astype(np.float64)[:, : len(RAW_NAMES)]
    delta = raw - baseline.values
    up = norms().up
    out = np.zeros((raw.shape[0], len(SPECS)))
    asym = np.zeros((raw.shape[0], len(LATERAL_AUS)))
    sides_of: dict[str, list[np.ndarray]] = {}
    li = 0
    for j, spec in enumerate(SPECS):
        sides = []
        for side in ("L", "R") if spec.lateral else ("L",):
            if spec.name in ESTIMATED:
                src, k = ESTIMATED[spec.name]
                sides.append(k * sides_of[src][len(sides)])
                continue
            idx, w, sign, span, off, damp = _compiled(spec.name, side)
            e = np.maximum(sign * delta[:, idx] - baseline.dead[idx], 0.0) / span
            x = np.maximum(e - off, 0.0) / (1.0 - off)
            v = np.clip(x @ w, 0.0, 1.0)
            if damp.size:
                act = (delta[:, damp] - baseline.dead[damp]) / (DAMP_FULL * up[damp])
                v *= 1.0 - np.clip(act, 0.0, 1.0).max(axis=1)
            sides.append(5.0 * v)
        sides_of[spec.name] = sides if len(sides) == 2 else sides * 2
        out[:, j] = np.mean(sides, axis=0)
        if spec.lateral:
            asym[:, li] = sides[0] - sides[1]
            li += 1
    return out.astype(np.float32), asym.astype(np.float32)


class AUAnalyser:
    """Registry entry ``au``: provisional AU intensities against a running per-track baseline."""

    name = "au"
    models: tuple[str, ...] = ("face_landmarker", "au_norms")
    columns: tuple[str, ...] = AU_NAMES + tuple(f"{a}_asym" for a in LATERAL_AUS)

    def __init__(self) -> None:
        self.baseline = RunningBaseline()

    def process(self, batch: FaceBatch) -> dict[str, np.ndarray]:
        """AU columns for every usable face of the batch (NaN elsewhere)."""
        n = len(batch)
        out = np.full((n, len(AU_NAMES)), np.nan, dtype=np.float32)
        asym = np.full((n, len(LATERAL_AUS)), np.nan, dtype=np.float32)
        for i in np.flatnonzero(batch.usable):
            self.baseline.add(int(batch.track[i]), batch.raw[i, : len(RAW_NAMES)], float(batch.t[i]))
        for tr in np.unique(batch.track[batch.usable]):
            sel = batch.usable & (batch.track == tr)
            base = self.baseline.get(int(tr))
            out[sel], asym[sel] = intensities(batch.raw[sel, : len(RAW_NAMES)], base)
        cols = {a: out[:, j] for j, a in enumerate(AU_NAMES)}
        cols.update({f"{a}_asym": asym[:, j] for j, a in enumerate(LATERAL_AUS)})
        return cols
