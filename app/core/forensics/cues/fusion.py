"""Fuse the per-window cue scores into a forgery probability.

Each cue score ``s`` in 0..1 becomes a logit ``z = log(s / (1 - s))`` (``s`` clipped to
[:data:`EPS`, 1 - :data:`EPS`]). A window's forgery probability is

    p = sigmoid(bias + scale * sum_k w_k z_k / sum_k w_k)

over the cues that have evidence in that window (NaN scores drop out and the remaining weights are
renormalised), so with the defaults (``bias = 0``, ``scale = 1``) it is the weighted mean of the
cues in logit space: cues that all say 0.8 fuse to 0.8. The cues in :data:`ONE_SIDED` look for one
specific trace (a pasted face's blending edge, a re-compressed face's JPEG grid): when they do not
find it (score below 0.5) that is no evidence that the face is genuine, so they count only when
they score 0.5 or more; otherwise they drop out like a cue without evidence. With no evidence at all, p is NaN. The
session probability applies the same rule to the cues' session scores. An optional
``integrity_score`` (0..1, e.g. from file-integrity checks) enters every window and the session
as one more cue named ``"integrity"``.

:func:`fit` re-fits the weights by logistic regression on labelled cue scores; it returns weights
in the same form (normalised cue weights plus ``"_scale"`` and ``"_bias"``), so that ``fuse`` with
them reproduces the fitted model whenever every cue has evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.core.forensics.cues.base import CueResult

EPS = 0.02
CUE_ORDER: tuple[str, ...] = ("temporal", "blink", "headpose", "avsync", "sbi", "freq")
ONE_SIDED: frozenset[str] = frozenset({"sbi", "freq"})

# Default weights: uncalibrated priors until enough labelled interviews exist for :func:`fit`.
DEFAULT_WEIGHTS: dict[str, float] = {
    "temporal": 1.0,   # landmark/blendshape flicker and shape drift: generic to frame-wise synthesis
    "headpose": 1.0,   # Yang et al. 2019: strong on face swaps that keep the original outer face
    "avsync": 1.0,     # strong for replayed or dubbed video, but only where the subject speaks
    "blink": 0.5,      # weak alone: modern generators blink; needs >= 15 s of face
    "sbi": 0.5,        # blending-boundary CNN: shipped weights know few identities (see its card)
    "freq": 1.0,       # blocking / blur / spectral traces of a face processed apart from its frame
    "integrity": 1.0,  # file-level evidence supplied by the caller (edits, re-encodes)
    "_scale": 1.0,     # multiplies the weighted mean logit
    "_bias": 0.0,      # added to the logit
}


@dataclass
class FusionResult:
    """Fused forgery probabilities.

    Attributes
    ----------
    window_start, window_end : (W,) seconds, the grid of the cue with the most windows.
    probability : (W,) forgery probability per window, NaN where no cue has evidence.
    contributions : per window, ``{cue: w_k * z_k / sum_w}`` of the cues that had evidence.
    session_probability : from the cues' session scores, NaN when none has evidence.
    weights : the weights used.
    """

    window_start: np.ndarray
    window_end: np.ndarray
    probability: np.ndarray
    contributions: list[dict[str, float]] = field(default_factory=list)
    session_probability: float = float("nan")
    weights: dict[str, float] = field(default_factory=dict)


def to_logit(score: np.ndarray | float) -> np.ndarray:
    """Cue score(s) 0..1 to logits (clipped at :data:`EPS`); NaN stays NaN."""
    s = np.clip(np.asarray(score, dtype=np.float64), EPS, 1.0 - EPS)
    return np.log(s / (1.0 - s))


def combine(scores: dict[str, float], weights: dict[str, float]) -> tuple[float, dict[str, float]]:
    """Probability and per-cue contributions from one set of cue scores (see module doc)."""
    used = {k: float(v) for k, v in scores.items() if np.isfinite(v) and weights.get(k, 0.0) > 0.0
            and not (k in ONE_SIDED and v < 0.5)}
    if not used:
        return float("nan"), {}
    total = sum(weights[k] for k in used)
    contrib = {k: weights[k] * float(to_logit(v)) / total for k, v in used.items()}
    z = weights.get("_bias", 0.0) + weights.get("_scale", 1.0) * sum(contrib.values())
    return float(1.0 / (1.0 + np.exp(-z))), contrib


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
    weights : cue weights plus optional ``"_scale"`` / ``"_bias"``; :data:`DEFAULT_WEIGHTS` if None.
    integrity_score : optional 0..1 file-integrity score, fused as the ``"integrity"`` cue.

    Returns
    -------
    FusionResult
    """
    w = dict(DEFAULT_WEIGHTS if weights is None else weights)
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
    """Fit fusion weights by L2-regularised logistic regression.

    Parameters
    ----------
    cue_matrix : (M, K) cue scores 0..1 (NaN = no evidence, treated as a neutral logit 0).
    labels : (M,) 1 for manipulated, 0 for genuine.
    names : the K cue names, in column order.
    c : inverse regularisation strength.

    Returns
    -------
    dict
        Normalised non-negative cue weights (summing to 1; a negative coefficient, i.e. a cue
        pointing the wrong way on this data, is set to 0) plus ``"_scale"`` and ``"_bias"``.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(cue_matrix, dtype=np.float64)
    y = np.asarray(labels).astype(int)
    if x.ndim != 2 or x.shape[1] != len(names) or len(y) != len(x):
        raise ValueError(f"cue_matrix {x.shape} does not match {len(names)} names and {len(y)} labels")
    if len(np.unique(y)) < 2:
        raise ValueError("fit needs both genuine (0) and manipulated (1) examples")
    z = np.nan_to_num(to_logit(x), nan=0.0)
    model = LogisticRegression(C=c, max_iter=1000).fit(z, y)
    coef = np.clip(model.coef_[0], 0.0, None)
    total = float(coef.sum())
    norm = coef / total if total > 0 else np.full(len(names), 1.0 / len(names))
    out = {n: float(v) for n, v in zip(names, norm)}
    out["_scale"] = total
    out["_bias"] = float(model.intercept_[0])
    return out
