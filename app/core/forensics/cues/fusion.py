"""Fuse the per-window cue scores into a forgery probability that a strong cue can carry.

Every cue looks for one kind of trace, so a cue that finds nothing is no evidence that the face is
genuine: it must not cancel a cue that found something. Each cue score ``s`` in 0..1 (0 is the
level of real faces, 0.5 the cue's own "anomalous" mark) becomes a non-negative evidence

    e = max(0, log(s / (1 - s)))        (s clipped to [EPS, 1 - EPS])

which is 0 for a cue at or below 0.5, for a cue without evidence (NaN) and for a cue that is not
run at all. A window's forgery probability is a logistic model with non-negative weights:

    p = sigmoid(bias + sum_k w_k e_k),   w_k >= 0,   bias <= 0,   w_k >= -bias / logit(0.95)

so that

* raising any cue never lowers ``p`` (monotone: ``e`` and the weights are non-negative);
* a cue that is missing, has too little evidence or reads at most 0.5 adds nothing: ``p`` is then
  what the other cues make it, down to the prior ``sigmoid(bias)`` when none finds anything;
* any single cue at 0.95 gives ``p >= 0.5`` whatever the others read (:func:`check_weights`
  enforces the bound on every weight, fitted or not).

With no cue holding evidence at all, ``p`` is NaN (insufficient). Each cue's contribution is
``w_k e_k`` on the log-odds scale; the cue with the largest contribution is the one that
:func:`carrier` names as carrying the score. The session probability applies the same rule to the
cues' session scores. An optional ``integrity_score`` (0..1, from the file's capture-integrity
checks) enters every window and the session as one more cue named ``"integrity"``.

The defaults (:data:`DEFAULT_WEIGHTS`) are priors, not fitted: prior probability 0.05, every cue
but audio-visual sync (which fires on real talking clips) and head pose (which never fires) weight 1.0, the least the single-cue rule allows at that prior. A single cue at ``s`` then gives
``p = sigmoid(logit(0.05) + logit(s))``: 0.11 at s = 0.7, 0.17 at 0.8, 0.5 at 0.95, 0.72 at 0.98;
two cues at 0.9 give 0.80. :func:`fit` re-fits the weights and the bias by maximum likelihood with
those constraints (scipy's L-BFGS-B over bounded parameters; scikit-learn's logistic regression
cannot bound the signs of its coefficients).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.core.forensics.cues.base import CueResult

EPS = 0.02
CUE_ORDER: tuple[str, ...] = ("temporal", "blink", "headpose", "avsync", "sbi", "freq")
FORM = "nonneg-logistic-v1"  # the fusion rule the weights belong to (recorded with fitted weights)
STRONG = 0.95                # a single cue at this score carries the fused probability to >= 0.5
PRIOR = 0.05                 # default probability when no cue finds anything
E_STRONG = float(np.log(STRONG / (1.0 - STRONG)))  # the evidence of a cue at STRONG

DEFAULT_WEIGHTS: dict[str, float] = {
    "temporal": 1.0,   # landmark/blendshape flicker and shape drift: generic to frame-wise synthesis
    # headpose (Yang et al. 2019) is left out too: MediaPipe fits one mesh to the whole face, so the
    # central and whole-face poses agree on swaps as on real faces; on the devset it read under 0.01
    # on 36 of the 42 videos, never above 0.12, AUC 0.36 (models/cards/forgery_fusion.md).
    # Still computed and shown.
    # avsync is left out of the default fusion (it is still computed and shown): on the devset it
    # read >= 0.5 on 8 of 17 real talking clips and scores no fake (models/cards/forgery_fusion.md).
    "blink": 1.0,      # weak alone: modern generators blink; needs >= 15 s of face
    "sbi": 1.0,        # blending-boundary CNN: shipped weights know few identities (see its card)
    "freq": 1.0,       # blocking / blur / spectral traces of a face processed apart from its frame
    "integrity": 1.0,  # file-level evidence supplied by the caller (edits, re-encodes)
    "_bias": -E_STRONG,  # log-odds with no evidence from any cue: logit(PRIOR), PRIOR = 1 - STRONG
}


@dataclass
class FusionResult:
    """Fused forgery probabilities.

    Attributes
    ----------
    window_start, window_end : (W,) seconds, the grid of the cue with the most windows.
    probability : (W,) forgery probability per window, NaN where no cue has evidence.
    contributions : per window, ``{cue: w_k * e_k}`` (log-odds added) of the cues that had evidence.
    session_probability : from the cues' session scores, NaN when none has evidence.
    weights : the weights used.
    """

    window_start: np.ndarray
    window_end: np.ndarray
    probability: np.ndarray
    contributions: list[dict[str, float]] = field(default_factory=list)
    session_probability: float = float("nan")
    weights: dict[str, float] = field(default_factory=dict)


def evidence(score: np.ndarray | float) -> np.ndarray:
    """Cue score(s) 0..1 to non-negative evidence ``max(0, logit(s))`` (clipped at :data:`EPS`);
    NaN (no evidence) becomes 0."""
    s = np.clip(np.asarray(score, dtype=np.float64), EPS, 1.0 - EPS)
    return np.nan_to_num(np.maximum(np.log(s / (1.0 - s)), 0.0), nan=0.0)


def check_weights(weights: dict[str, float]) -> None:
    """Raise ValueError unless ``weights`` obey the fusion's constraints (see module doc)."""
    bias = float(weights.get("_bias", 0.0))
    if not np.isfinite(bias) or bias > 0:
        raise ValueError(f"fusion bias must be finite and <= 0, got {bias}")
    floor = -bias / E_STRONG
    for k, v in weights.items():
        if k.startswith("_"):
            continue
        if not np.isfinite(v) or v < floor - 1e-9:
            raise ValueError(f"fusion weight of {k} is {v}; it must be >= {floor:.3f} so that a single "
                             f"cue at {STRONG} gives at least 0.5")


def combine(scores: dict[str, float], weights: dict[str, float]) -> tuple[float, dict[str, float]]:
    """Probability and per-cue contributions (log-odds) from one set of cue scores (see module doc).

    Cues without a weight are ignored; NaN when no weighted cue has a finite score.
    """
    used = {k: float(v) for k, v in scores.items() if k in weights and not k.startswith("_") and np.isfinite(v)}
    if not used:
        return float("nan"), {}
    contrib = {k: float(weights[k] * evidence(v)) for k, v in used.items()}
    z = float(weights.get("_bias", 0.0)) + sum(contrib.values())
    return float(1.0 / (1.0 + np.exp(-z))), contrib


def carrier(contributions: dict[str, float]) -> str | None:
    """The cue that adds the most to the log-odds, or None when no cue adds anything."""
    best = max(contributions.items(), key=lambda kv: kv[1], default=(None, 0.0))
    return best[0] if best[1] > 0 else None


def _score_at(cue: CueResult, mid: float) -> float:
    """The cue's score for the window containing time ``mid`` (NaN when none does)."""
    hit = np.flatnonzero((cue.window_start <= mid) & (mid <= cue.window_end))
    return float(cue.score[hit[0]]) if len(hit) else float("nan")


def fuse(cues: list[CueResult], weights: dict[str, float] | None = None,
         integrity_score: float | None = None) -> FusionResult:
    """Fuse cue results window by window and for the session.

    Parameters
    ----------
    cues : results of the cue modules (names must match the weight keys to count).
    weights : cue weights plus ``"_bias"``; :data:`DEFAULT_WEIGHTS` if None. Checked with
        :func:`check_weights` (ValueError when they break the constraints).
    integrity_score : optional 0..1 file-integrity score, fused as the ``"integrity"`` cue.

    Returns
    -------
    FusionResult
    """
    w = dict(DEFAULT_WEIGHTS if weights is None else weights)
    check_weights(w)
    grid = max(cues, key=lambda c: len(c.score)) if cues else None
    starts = np.asarray(grid.window_start if grid is not None else [], dtype=np.float64)
    ends = np.asarray(grid.window_end if grid is not None else [], dtype=np.float64)
    extra = {} if integrity_score is None else {"integrity": float(integrity_score)}
    probs, contribs = [], []
    for a, b in zip(starts, ends):
        mid = 0.5 * (a + b)
        p, c = combine({**{cue.name: _score_at(cue, mid) for cue in cues}, **extra}, w)
        probs.append(p), contribs.append(c)
    session, _ = combine({**{cue.name: float(cue.session_score) for cue in cues}, **extra}, w)
    return FusionResult(starts, ends, np.asarray(probs, dtype=np.float64), contribs, session, w)


def fit(cue_matrix: np.ndarray, labels: np.ndarray, names: Sequence[str] = CUE_ORDER,
        c: float = 1.0) -> dict[str, float]:
    """Fit the fusion's weights and bias by L2-regularised maximum likelihood within its constraints.

    The weights are parametrised as ``w_k = v_k - bias / logit(0.95)`` with ``v_k >= 0`` and
    ``bias <= 0``, so every candidate obeys :func:`check_weights`; L-BFGS-B (scipy) handles the
    bounds. The L2 penalty ``sum w_k**2 / (2 c)`` is ridge regression's; as every weight is at
    least ``-bias / logit(0.95)`` it also keeps the bias finite when the labels are separable.

    Parameters
    ----------
    cue_matrix : (M, K) cue scores 0..1 (NaN = no evidence, neutral like a score <= 0.5).
    labels : (M,) 1 for manipulated, 0 for genuine.
    names : the K cue names, in column order.
    c : inverse regularisation strength.

    Returns
    -------
    dict
        Cue weights plus ``"_bias"``, ready for :func:`fuse`.
    """
    from scipy.optimize import minimize

    x = np.asarray(cue_matrix, dtype=np.float64)
    y = np.asarray(labels).astype(np.float64)
    if x.ndim != 2 or x.shape[1] != len(names) or len(y) != len(x):
        raise ValueError(f"cue_matrix {x.shape} does not match {len(names)} names and {len(y)} labels")
    if len(np.unique(y)) < 2:
        raise ValueError("fit needs both genuine (0) and manipulated (1) examples")
    e = evidence(x)
    k = e.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        v, b = theta[:k], theta[k]
        w = v - b / E_STRONG
        z = b + e @ w
        p = 1.0 / (1.0 + np.exp(-z))
        nll = float(np.sum(np.logaddexp(0.0, z) - y * z))
        g_z = p - y
        g_w = e.T @ g_z + w / c
        g_b = float(g_z.sum() - g_w.sum() / E_STRONG)
        return nll + float(w @ w) / (2 * c), np.append(g_w, g_b)

    theta0 = np.append(np.zeros(k), DEFAULT_WEIGHTS["_bias"])
    bounds = [(0.0, None)] * k + [(None, 0.0)]
    res = minimize(loss, theta0, jac=True, method="L-BFGS-B", bounds=bounds)
    v, b = res.x[:k], float(res.x[k])
    out = {n: float(vi - b / E_STRONG) for n, vi in zip(names, v)}
    # b + w_k * E_STRONG >= 0 must hold in floating point too, not only up to rounding
    out["_bias"] = max(b, -min(out.values()) * E_STRONG)
    return out
