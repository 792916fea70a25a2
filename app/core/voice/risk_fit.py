"""Fit the deception-risk model on an institution's outcomes, per answer, with honest validation.

One row per applicant answer (the level the model is applied at): every exported acoustic and
text feature and the response latency as a clipped z-score against the applicant's baseline
(:func:`app.core.voice.scoring.full_vector`), the lending-fraud scores as they are; the label is
the case's outcome. The model is an L2-regularised logistic regression with standardisation inside
a scikit-learn ``Pipeline``; its strength ``C`` is chosen by an inner cross-validation. Answers of
one case never sit on both sides of a split (grouped folds by case, outer and inner), so an
applicant's voice or wording cannot leak from training into the test fold.

Reported: the cross-validated ROC AUC per answer with a 95 % interval from a bootstrap over cases
(answers of one case are not independent, so whole cases are resampled), Spearman's rho between
the cross-validated risk and the outcome (per answer, and per case on the mean risk of its
answers), and the AUC per case.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

C_GRID = (0.001, 0.01, 0.1, 1.0)
OUTER_FOLDS = 5
INNER_FOLDS = 3
N_BOOT = 1000


def _pipeline() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(max_iter=2000))])


def _search(x: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int) -> Any:
    """``GridSearchCV`` over :data:`C_GRID` with grouped, stratified inner folds, fitted."""
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

    folds = min(INNER_FOLDS, _max_folds(y, groups))
    gs = GridSearchCV(_pipeline(), {"lr__C": list(C_GRID)}, scoring="roc_auc",
                      cv=StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed))
    return gs.fit(x, y, groups=groups)


def _max_folds(y: np.ndarray, groups: np.ndarray) -> int:
    """At most as many folds as there are cases in the smaller class."""
    labels = {g: int(v) for g, v in zip(groups, y)}
    pos = sum(labels.values())
    return max(2, min(pos, len(labels) - pos))


def case_bootstrap_auc(y: np.ndarray, p: np.ndarray, groups: np.ndarray, n_boot: int = N_BOOT,
                       seed: int = 0) -> tuple[float, float]:
    """95 % percentile interval of the per-answer AUC, resampling whole cases with replacement."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    cases = np.unique(groups)
    rows = {c: np.flatnonzero(groups == c) for c in cases}
    aucs = []
    for _ in range(n_boot):
        idx = np.concatenate([rows[c] for c in rng.choice(cases, size=len(cases), replace=True)])
        if len(np.unique(y[idx])) == 2:
            aucs.append(roc_auc_score(y[idx], p[idx]))
    lo, hi = np.percentile(aucs, [2.5, 97.5]) if aucs else (math.nan, math.nan)
    return float(lo), float(hi)


def _rho(a: np.ndarray, b: np.ndarray) -> float | None:
    from scipy.stats import spearmanr

    if len(np.unique(a)) < 2 or len(np.unique(b)) < 2:
        return None
    r = spearmanr(a, b).statistic
    return None if not math.isfinite(r) else float(r)


def fit_risk_model(x: np.ndarray, y: np.ndarray, groups: np.ndarray, outcome: np.ndarray, keys: list[str],
                   seed: int = 0, n_boot: int = N_BOOT) -> dict[str, Any]:
    """Cross-validate, then fit on everything, a per-answer risk model.

    Parameters
    ----------
    x : numpy.ndarray
        ``(answers, features)`` baseline-relative inputs (see the module docstring).
    y : numpy.ndarray
        0/1 label of each answer's case.
    groups : numpy.ndarray
        Case of each answer (folds never split a case).
    outcome : numpy.ndarray
        The outcome behind the label (e.g. days overdue; the label itself when none), for rho.
    keys : list of str
        Feature names, one per column of ``x``.

    Returns
    -------
    dict
        ``model`` (the parameters :func:`app.core.voice.scoring.score` applies: ``features``,
        ``center``, ``scale``, ``coef``, ``intercept``, ``C``) and the validation figures:
        ``cv_auc``, ``cv_auc_ci``, ``spearman_rho`` (per answer), ``case_auc``,
        ``case_spearman_rho``, ``answers``, ``cases``, ``top`` (features by absolute
        standardised coefficient).
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    x, y, groups, outcome = (np.asarray(a) for a in (x, y, groups, outcome))
    y = y.astype(int)
    outer = StratifiedGroupKFold(n_splits=min(OUTER_FOLDS, _max_folds(y, groups)), shuffle=True, random_state=seed)
    cv_p = np.full(len(y), math.nan)
    chosen = []
    for train, test in outer.split(x, y, groups):
        gs = _search(x[train], y[train], groups[train], seed)
        chosen.append(gs.best_params_["lr__C"])
        cv_p[test] = gs.predict_proba(x[test])[:, 1]
    auc = float(roc_auc_score(y, cv_p))
    lo, hi = case_bootstrap_auc(y, cv_p, groups, n_boot, seed)
    cases = np.unique(groups)
    case_p = np.array([cv_p[groups == c].mean() for c in cases])
    case_y = np.array([y[groups == c][0] for c in cases])
    case_out = np.array([outcome[groups == c][0] for c in cases])
    final = _search(x, y, groups, seed).best_estimator_
    scaler, lr = final.named_steps["scale"], final.named_steps["lr"]
    coef = lr.coef_[0]
    order = np.argsort(-np.abs(coef))
    model = {"kind": "full", "features": list(keys), "center": [float(v) for v in scaler.mean_],
             "scale": [float(v) for v in scaler.scale_], "coef": [float(v) for v in coef],
             "intercept": float(lr.intercept_[0]), "C": float(lr.C)}
    return {"model": model, "answers": int(len(y)), "cases": int(len(cases)), "bad_cases": int(case_y.sum()),
            "cv_auc": auc, "cv_auc_ci": (lo, hi), "spearman_rho": _rho(cv_p, outcome),
            "case_auc": float(roc_auc_score(case_y, case_p)) if len(np.unique(case_y)) == 2 else None,
            "case_spearman_rho": _rho(case_p, case_out), "outer_C": chosen,
            "top": [(keys[j], float(coef[j])) for j in order[:15]], "cv_risk": cv_p}
