"""Frame-by-frame agreement of Vigil's action units with another tool's (OpenFace, py-feat).

The usual way to validate an AU tool is to compare it frame by frame with an established one
(or with FACS-coded video). Per AU this module gives:

* **Pearson r** (:func:`scipy.stats.pearsonr`): whether the two rise and fall together; it does
  not care about scale or offset, so it is the one figure that means the same against py-feat's
  presence probabilities (0-1) as against OpenFace's intensities (0-5).
* **ICC(3,1)** (:func:`icc_3_1`): consistency of single ratings, two-way mixed effects (Shrout &
  Fleiss 1979, case 3). Unlike r it is hurt when one tool's spread differs from the other's, so it
  is only meaningful on a shared scale.
* **mean offset**, Vigil minus reference, in the scales' own units.
* **frames paired**: frames where both tools have a value.

An AU *moves* in the reference when its standard deviation over the paired frames is at least
:data:`MOVE_SD_FRACTION` of the reference's scale (0.1 on OpenFace's 0-5, 0.02 on py-feat's 0-1);
the summary is the mean r over the AUs that move and that Vigil measures. An AU that moves in
the reference while Vigil's stays flat has no defined r; it counts as r = 0 in that mean, since
Vigil missed the movement (leaving it out would flatter Vigil).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

from app.core.au_io import AUTable

#: Fewest frames paired for an AU to get r and ICC.
MIN_PAIRS = 5
#: Reference SD, as a fraction of its scale, from which an AU counts as moving.
MOVE_SD_FRACTION = 0.02
#: Below this SD (in the scale's units) a series counts as flat (no variance).
FLAT_SD = 1e-9


def icc_3_1(ratings: np.ndarray) -> float:
    """ICC(3,1): two-way mixed effects, consistency, single rater (Shrout & Fleiss 1979).

    Shrout, P. E. & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
    reliability. *Psychological Bulletin* 86(2), 420-428, Table 1 case 3:
    ``ICC(3,1) = (BMS - EMS) / (BMS + (k - 1) EMS)``, where BMS is the between-targets mean square
    and EMS the residual mean square of the two-way ANOVA of ``n`` targets by ``k`` raters.

    Parameters
    ----------
    ratings : (n targets, k raters) array without NaN; here frames by (Vigil, reference).

    Returns
    -------
    float
        NaN when it is undefined (fewer than 2 targets or raters, or no variance at all).
    """
    x = np.asarray(ratings, np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2 or not np.isfinite(x).all():
        return math.nan
    n, k = x.shape
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()  # between targets
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()  # between raters
    ss_err = ((x - grand) ** 2).sum() - ss_rows - ss_cols
    bms = ss_rows / (n - 1)
    ems = ss_err / ((n - 1) * (k - 1))
    denom = bms + (k - 1) * ems
    return math.nan if denom <= 0 else float((bms - ems) / denom)


def pair_frames(case_frame: np.ndarray, case_t: np.ndarray, ref_frame: np.ndarray,
                ref_t: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, str]:
    """Indices ``(i_case, i_ref)`` of paired rows, and how they were paired (``"frame"``/``"time"``).

    Rows pair by frame number unless the reference has timestamps that disagree with the case's
    frame times (by more than half a frame, in the median over the frames both have): then each
    case frame takes the reference row nearest in time, within half a frame, one to one.
    """
    case_frame = np.asarray(case_frame, np.int64)
    ref_frame = np.asarray(ref_frame, np.int64)
    common, ic, ir = np.intersect1d(case_frame, ref_frame, assume_unique=False, return_indices=True)
    if ref_t is None or len(case_t) < 2:
        return ic, ir, "frame"
    case_t = np.asarray(case_t, np.float64)
    ref_t = np.asarray(ref_t, np.float64)
    dt = float(np.median(np.diff(case_t)))
    half = 0.5 * dt if dt > 0 else 0.0
    ok = np.isfinite(ref_t[ir])
    if ok.any() and float(np.median(np.abs(case_t[ic][ok] - ref_t[ir][ok]))) <= half:
        return ic, ir, "frame"
    # By time: the nearest reference row to each case frame, kept when within half a frame.
    valid = np.flatnonzero(np.isfinite(ref_t))
    if not len(valid) or half <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), "time"
    order = valid[np.argsort(ref_t[valid], kind="stable")]
    rt = ref_t[order]
    if len(rt) == 1:
        j = np.zeros(len(case_t), np.int64)
    else:
        j = np.clip(np.searchsorted(rt, case_t), 1, len(rt) - 1)
        j = np.where(np.abs(rt[j - 1] - case_t) <= np.abs(rt[j] - case_t), j - 1, j)
    gap = np.abs(rt[j] - case_t)
    i_case = np.flatnonzero(gap <= half)
    i_ref = order[j[i_case]]
    # One to one: a reference row claimed by several case frames stays with the nearest.
    best: dict[int, int] = {}
    for a, b in zip(i_case, i_ref):
        if b not in best or gap[a] < gap[best[b]]:
            best[int(b)] = int(a)
    pairs = sorted((a, b) for b, a in best.items())
    return (np.array([p[0] for p in pairs], np.int64), np.array([p[1] for p in pairs], np.int64), "time")


def _num(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), 4)


def au_agreement(vigil: np.ndarray, ref: np.ndarray, move_floor: float) -> dict[str, Any]:
    """Agreement of one AU over paired frames (NaN where either tool has no value).

    Returns r, icc, offset (Vigil - reference), n (frames with both values), ref_sd, vigil_sd,
    moves (reference SD >= ``move_floor``) and reason (why r is missing, else "").
    """
    v = np.asarray(vigil, np.float64)
    f = np.asarray(ref, np.float64)
    both = np.isfinite(v) & np.isfinite(f)
    v, f = v[both], f[both]
    n = int(both.sum())
    out: dict[str, Any] = {"r": None, "icc": None, "offset": None, "n": n, "ref_sd": None, "vigil_sd": None,
                           "moves": False, "reason": ""}
    if n == 0:
        out["reason"] = "no frame paired"
        return out
    ref_sd, vig_sd = float(np.std(f)), float(np.std(v))
    out.update(ref_sd=_num(ref_sd), vigil_sd=_num(vig_sd), offset=_num(float(np.mean(v - f))),
               moves=bool(n >= MIN_PAIRS and ref_sd >= move_floor))
    if n < MIN_PAIRS:
        out["reason"] = f"only {n} frames paired (needs {MIN_PAIRS})"
        return out
    out["icc"] = _num(icc_3_1(np.column_stack([v, f])))
    if ref_sd <= FLAT_SD and vig_sd <= FLAT_SD:
        out["reason"] = "no variance in either"
    elif ref_sd <= FLAT_SD:
        out["reason"] = "no variance in the reference"
    elif vig_sd <= FLAT_SD:
        out["reason"] = "no variance in Vigil"
    else:
        out["r"] = _num(float(stats.pearsonr(v, f).statistic))
    return out


def compare(case_frame: np.ndarray, case_t: np.ndarray, case_aus: Mapping[str, np.ndarray],
            ref: AUTable, vigil_names: Sequence[str] | None = None) -> dict[str, Any]:
    """Agreement of a case's AUs (NaN where the face was unusable) with a reference table.

    Parameters
    ----------
    case_frame, case_t : the case's frame numbers (0-based) and times in seconds, one row per frame.
    case_aus : AU name -> Vigil's values on those rows.
    ref : the other tool's AUs (:func:`app.core.au_io.read_au_csv`).
    vigil_names : the AUs Vigil measures (default: the keys of ``case_aus``).

    Returns
    -------
    dict
        ``paired_by``, ``frames`` (reference, reference_valid, case, paired), ``move_floor``,
        ``move_rule``, ``aus`` (one dict per reference AU, see :func:`au_agreement`, plus ``au``),
        ``moving`` (AUs counted in the mean), ``mean_r_moving`` and ``notes``.
    """
    names = set(vigil_names if vigil_names is not None else case_aus)
    ic, ir, how = pair_frames(case_frame, case_t, ref.frame, ref.t)
    floor = MOVE_SD_FRACTION * ref.scale_max
    rows = []
    for au in ref.au_names:
        if au not in names or au not in case_aus:
            rows.append({"au": au, "r": None, "icc": None, "offset": None, "n": 0, "ref_sd": None, "vigil_sd": None,
                         "moves": False, "reason": f"Vigil does not measure {au}"})
            continue
        row = au_agreement(np.asarray(case_aus[au], np.float64)[ic], ref.aus[au][ir], floor)
        rows.append({"au": au, **row})
    paired_any = np.zeros(len(ic), dtype=bool)
    for au in ref.au_names:
        if au in case_aus and au in names:
            paired_any |= np.isfinite(np.asarray(case_aus[au], np.float64)[ic]) & np.isfinite(ref.aus[au][ir])
    moving = [r for r in rows if r["moves"] and not r["reason"].startswith("Vigil does not")]
    rs = [r["r"] if r["r"] is not None else 0.0 for r in moving]  # None here: flat in Vigil
    notes = list(ref.notes)
    if ref.scale_max != 5.0:
        notes.append(f"the reference is {ref.source}'s {ref.scale}, Vigil's AUs are intensities 0-5: offset and "
                     "ICC compare different scales; r is scale-free")
    if any(r["reason"] == "no variance in Vigil" and r["moves"] for r in rows):
        notes.append("an AU that moves in the reference but is flat in Vigil counts as r = 0 in the mean")
    return {
        "paired_by": how,
        "frames": {"reference": len(ref), "reference_valid": ref.valid, "case": int(len(case_frame)),
                   "paired": int(paired_any.sum())},
        "move_floor": round(floor, 4),
        "move_rule": (f"an AU moves when its reference SD over the paired frames is at least {floor:g} "
                      f"({MOVE_SD_FRACTION:.0%} of the {ref.scale} scale) with at least {MIN_PAIRS} frames paired"),
        "aus": rows,
        "moving": [r["au"] for r in moving],
        "mean_r_moving": _num(float(np.mean(rs))) if rs else None,
        "notes": notes,
    }
