"""``vigil calibrate``: fit the deception-risk model on the institution's own outcomes.

Input: a CSV with a ``case`` column (id or name) and either a ``label`` column (1 = bad outcome,
e.g. fraud confirmed or default; 0 = good) or an ``outcome`` column (e.g. days overdue) turned into
a label by ``--outcome-threshold`` (default 30 days: bad if ``outcome > 30``).

Each case becomes the mean cue vector of its applicant's utterances (baseline-relative, exactly as
the per-utterance model sees them). A logistic regression on those vectors replaces the default
weights. Its quality is reported honestly: cross-validated ROC AUC (stratified k-fold) and
Spearman's rho between the cross-validated risk and the outcome, like the seed's table of risk
against real days overdue. With fewer than 20 usable cases, or fewer than 5 in either class, it
refuses: a model fitted on less would only look good by chance.
"""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import CaseNotFound, VigilError
from app.core.voice import scoring
from app.services.voice import load_scoring_inputs
from app.store import runs
from app.store import voice as vstore
from app.store.workspace import Workspace

MIN_CASES = 20
MIN_PER_CLASS = 5


def _read_labels(path: Path, threshold: float) -> list[tuple[str, int, float | None]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise VigilError(f"{path}: cannot read the labels file ({exc.strerror or exc})") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise VigilError(f"{path}: not a UTF-8 CSV labels file ({str(exc).splitlines()[0][:100]})") from exc
    if not rows or "case" not in rows[0] or not ({"label", "outcome"} & set(rows[0])):
        raise VigilError(f"{path}: needs a 'case' column and a 'label' (0/1) or 'outcome' (e.g. days overdue) column")
    out = []
    for k, r in enumerate(rows, start=2):
        try:
            case = (r.get("case") or "").strip()
            if not case:
                raise VigilError(f"{path}, line {k}: no case id")
            if r.get("label") not in (None, ""):
                out.append((case, int(float(r["label"])), None))
            else:
                v = float(r.get("outcome"))  # type: ignore[arg-type]  # None: TypeError below
                if v != v:
                    raise ValueError("nan")
                out.append((case, int(v > threshold), v))
        except (TypeError, ValueError, OverflowError, AttributeError, KeyError) as exc:
            raise VigilError(f"{path}, line {k}: label/outcome is not a number") from exc
    return out


def case_vector(ws: Workspace, case_id: int) -> np.ndarray | None:
    """Mean cue vector of a case's applicant utterances, or ``None`` without a voice analysis."""
    run = runs.case_run(ws, case_id, kind="voice")
    if run is None:
        return None
    utts, applicant, _, base = load_scoring_inputs(ws, run["id"])
    own = [u for u in utts if u["speaker"] == applicant]
    if not own or base is None:
        return None
    keys = [c.key for c in scoring.RISK_CUES]
    return np.array([[scoring.cue_vector(u, base)[k] for k in keys] for u in own]).mean(axis=0)


def calibrate(ws: Workspace, labels: str | Path, outcome_threshold: float = 30.0) -> dict[str, Any]:
    """Fit, cross-validate and save the risk model; returns the report."""
    from scipy.stats import spearmanr
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rows = _read_labels(Path(labels), outcome_threshold)
    xs, ys, outcomes, skipped = [], [], [], []
    for ref, y, outcome in rows:
        try:
            case = ws.find_case(ref)
        except CaseNotFound:
            skipped.append(f"{ref} (no such case)")
            continue
        v = case_vector(ws, case["id"])
        if v is None:
            skipped.append(f"{ref} (no voice analysis)")
            continue
        xs.append(v), ys.append(y), outcomes.append(outcome if outcome is not None else float(y))
    n, pos = len(ys), int(sum(ys))
    if n < MIN_CASES or min(pos, n - pos) < MIN_PER_CLASS:
        raise VigilError(
            f"too few cases to calibrate: {n} usable ({pos} bad, {n - pos} good); needs at least {MIN_CASES} "
            f"with {MIN_PER_CLASS} in each class" + (f"; skipped {len(skipped)}: {', '.join(skipped[:5])}" if skipped else ""))
    x, y = np.array(xs), np.array(ys)
    clf = LogisticRegression(C=1.0, max_iter=1000)
    folds = StratifiedKFold(n_splits=min(5, pos, n - pos), shuffle=True, random_state=0)
    cv_p = cross_val_predict(clf, x, y, cv=folds, method="predict_proba")[:, 1]
    auc = float(roc_auc_score(y, cv_p))
    rho = spearmanr(cv_p, outcomes).statistic
    clf.fit(x, y)
    keys = [c.key for c in scoring.RISK_CUES]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    model = {"version": f"calibrated-{stamp} (n={n}, CV AUC {auc:.2f})", "calibrated": True,
             "intercept": float(clf.intercept_[0]), "weights": dict(zip(keys, map(float, clf.coef_[0]))),
             "outcome_threshold": outcome_threshold}
    model_id = vstore.save_risk_model(ws, model, n, auc, None if math.isnan(rho) else float(rho))
    return {"model_id": model_id, "version": model["version"], "cases": n, "bad": pos, "good": n - pos,
            "cv_auc": round(auc, 3), "spearman_rho": None if math.isnan(rho) else round(float(rho), 3),
            "weights": {k: round(v, 3) for k, v in model["weights"].items()}, "skipped": skipped}
