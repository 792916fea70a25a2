"""``vigil calibrate``: fit the deception-risk model on the institution's own outcomes.

Input: a CSV with a ``case`` column (id or name) and either a ``label`` column (1 = bad outcome,
e.g. fraud confirmed or default; 0 = good) or an ``outcome`` column (e.g. days overdue) turned into
a label by ``--outcome-threshold`` (default 30 days: bad if ``outcome > 30``).

The model is fitted at the level it is applied: one row per applicant answer (the interviewer's
utterances stay out), every exported acoustic and text feature relative to that applicant's
baseline, the case's label on each of its answers. :func:`app.core.voice.risk_fit.fit_risk_model`
does the fitting (L2 logistic regression, standardised, C by inner cross-validation, folds grouped
by case) and reports the cross-validated AUC per answer with a case-bootstrap interval and
Spearman's rho against the outcome. The fitted model replaces the literature defaults for every
later score. With fewer than 20 usable cases, or fewer than 5 in either class, it refuses: a model
fitted on less would only look good by chance. A case analysed without its emotion parts (an
employee or hiring interview under the EU profile, AI Act Art. 5(1)(f)) is left out and listed as
skipped: deception risk is an emotion-recognition output, so its outcomes must not train it.
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
from app.services.compliance import emotion_not_run
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


def case_answers(ws: Workspace, case_id: int) -> tuple[list[dict[str, Any]], scoring.Baseline] | None:
    """The applicant's answers of a case's voice analysis and their baseline, or ``None`` without one."""
    run = runs.case_run(ws, case_id, kind="voice")
    if run is None:
        return None
    utts, applicant, _, base = load_scoring_inputs(ws, run["id"])
    own = [u for u in utts if u["speaker"] == applicant]
    if not own or base is None:
        return None
    return own, base


def calibrate(ws: Workspace, labels: str | Path, outcome_threshold: float = 30.0, seed: int = 0) -> dict[str, Any]:
    """Fit, cross-validate and save the risk model; returns the report (see the module docstring)."""
    from app.core.voice.risk_fit import fit_risk_model

    rows = _read_labels(Path(labels), outcome_threshold)
    cases, skipped = [], []
    for ref, y, outcome in rows:
        try:
            case = ws.find_case(ref)
        except CaseNotFound:
            skipped.append(f"{ref} (no such case)")
            continue
        if emotion_not_run(ws, case["id"]):
            skipped.append(f"{ref} (analysed without emotion analysis under its compliance profile)")
            continue
        got = case_answers(ws, case["id"])
        if got is None:
            skipped.append(f"{ref} (no voice analysis)")
            continue
        cases.append((case["id"], y, outcome if outcome is not None else float(y), got))
    n, pos = len(cases), sum(c[1] for c in cases)
    if n < MIN_CASES or min(pos, n - pos) < MIN_PER_CLASS:
        raise VigilError(
            f"too few cases to calibrate: {n} usable ({pos} bad, {n - pos} good); needs at least {MIN_CASES} "
            f"with {MIN_PER_CLASS} in each class" + (f"; skipped {len(skipped)}: {', '.join(skipped[:5])}" if skipped else ""))
    keys = sorted({k for _, _, _, (own, _) in cases for u in own for k in scoring.model_features(u)})
    x, y, groups, outcomes = [], [], [], []
    for case_id, label, outcome, (own, base) in cases:
        for u in own:
            x.append(scoring.full_vector(u, base, keys))
            y.append(label), groups.append(case_id), outcomes.append(outcome)
    fit = fit_risk_model(np.array(x), np.array(y), np.array(groups), np.array(outcomes, float), keys, seed=seed)
    auc, (lo, hi) = fit["cv_auc"], fit["cv_auc_ci"]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    model = {**fit["model"], "version": f"calibrated-{stamp} (n={n} cases, per-answer CV AUC {auc:.2f})",
             "calibrated": True, "outcome_threshold": outcome_threshold, "cv_auc": auc, "cv_auc_ci": [lo, hi]}
    rho = fit["spearman_rho"]
    model_id = vstore.save_risk_model(ws, model, n, auc, rho)

    def r3(v: float | None) -> float | None:
        return None if v is None or not math.isfinite(v) else round(float(v), 3)

    return {"model_id": model_id, "version": model["version"], "cases": n, "bad": pos, "good": n - pos,
            "answers": fit["answers"], "features": len(keys), "C": model["C"],
            "cv_auc": r3(auc), "cv_auc_ci": [r3(lo), r3(hi)], "spearman_rho": r3(rho),
            "case_auc": r3(fit["case_auc"]), "case_spearman_rho": r3(fit["case_spearman_rho"]),
            "top_features": [{"feature": k, "weight": round(w, 3)} for k, w in fit["top"]], "skipped": skipped}


def calibrate_summary(report: dict[str, Any]) -> str:
    """The calibration report as readable text, each figure with what it means."""
    def num(v: float | None, fmt: str = "{:.2f}") -> str:
        return "n/a" if v is None else fmt.format(v)

    lo, hi = report["cv_auc_ci"]
    lines = [
        f"Calibrated on {report['cases']} cases ({report['bad']} bad, {report['good']} good): "
        f"{report['answers']} applicant answers, {report['features']} features relative to each applicant's baseline.",
        f"Model: L2 logistic regression, C = {report['C']:g} chosen by inner cross-validation; "
        "folds are grouped by case, so no case is on both sides.",
        "",
        f"  cross-validated AUC per answer   {num(report['cv_auc'])}  (95% CI {num(lo)}-{num(hi)}, bootstrap over cases)",
        f"  Spearman rho, risk vs outcome    {num(report['spearman_rho'], '{:+.2f}')}  (per answer)",
        f"  AUC per case (mean risk)         {num(report['case_auc'])}",
        f"  Spearman rho per case            {num(report['case_spearman_rho'], '{:+.2f}')}",
        "",
        "AUC 0.5 is chance, 1.0 perfect ranking; an interval that includes 0.5 means no usable signal.",
        "Strongest features (weight per standard deviation; + raises the risk):",
    ]
    lines += [f"  {t['feature']:36} {t['weight']:+.3f}" for t in report["top_features"][:10]]
    lines.append(f"Saved as '{report['version']}'; analyses and baseline changes from now on score with it.")
    if report["skipped"]:
        lines.append(f"Skipped {len(report['skipped'])}: {', '.join(report['skipped'][:5])}")
    return "\n".join(lines)
