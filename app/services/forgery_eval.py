"""``vigil forgery-eval``: measure the forgery indicator on the institution's own real and fake videos.

Every video under ``--real`` and ``--fake`` is analysed (faces and the forgery pass; no speech
recognition) into an analysis workspace: a temporary one, or ``cache`` (kept, so a second
evaluation of the same files reuses the face pass and only re-runs the forgery cues on what is
stored). Each video's fused score is the session probability of the fusion active in the target
``workspace`` (the documented defaults when none was fitted) over its cue session scores.

The report gives, with the numbers of real and fake videos:

* the video-level ROC AUC and equal error rate of the fused score, the AUC with a 95% bootstrap
  interval, and the same AUC and interval for every cue alone (over the videos it scored);
* with ``refit``: leave-one-group-out cross-validated AUC (with its interval) of the constrained
  fusion fit (:func:`app.core.forensics.cues.fusion.fit`, over :data:`FIT_KEYS`, the cues the
  default fusion weighs): every group's videos are scored by
  weights fitted on the other groups only; and the leave-pair-out AUC (:func:`leave_pair_out`),
  free of the pooled scores' bias against weak models. Then the weights fitted on all the videos
  are recorded as the workspace's active fusion (with the cross-validated AUC beside them); the in-sample AUC of
  those weights flatters them and is not reported as their accuracy.

Groups come from a CSV of ``path,group`` (``groups``; a path matches a video by its full path or its
file name; ``#`` lines are comments); a video it does not list is a group of its own.
``resources/forgery/devset_groups.csv`` groups the correlated clips of the development set.

The bootstrap resamples groups, not videos (a cluster bootstrap), so correlated clips move
together; scipy's ``stats.bootstrap`` resamples single observations only, hence the few lines here.
The interval is the 2.5-97.5 percentile of the resampled AUCs (resamples lacking a class skipped),
computed from the real-fake pair outcomes, so no model is refitted inside the bootstrap.
"""

from __future__ import annotations

import csv
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import VigilError
from app.core.forensics.cues.fusion import CUE_ORDER, DEFAULT_WEIGHTS, carrier, combine, fit
from app.core.pipeline import PipelineConfig
from app.services.forgery import active_weights, forgery_pass, save_fusion
from app.services.session import analyze_media
from app.store.workspace import Workspace

VIDEO_EXT = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".wmv", ".m4v"}
CUE_KEYS = CUE_ORDER + ("integrity",)
# The fit weighs the cues the default fusion weighs: a cue left out of it (avsync fires on real
# faces, headpose never fires) would only tie the bias up (every fused weight has a floor).
FIT_KEYS = tuple(c for c in CUE_KEYS if c in DEFAULT_WEIGHTS)
_FIT_COLS = [CUE_KEYS.index(c) for c in FIT_KEYS]
N_BOOT = 2000
MIN_PER_CLASS = 5


def _videos(folder: str | Path) -> list[Path]:
    d = Path(folder)
    if not d.is_dir():
        raise VigilError(f"{d}: not a folder of videos")
    found = sorted(p for p in d.rglob("*") if p.suffix.lower() in VIDEO_EXT and p.is_file())
    if not found:
        raise VigilError(f"{d}: no video files ({', '.join(sorted(VIDEO_EXT))})")
    return found


def read_groups(path: str | Path) -> dict[str, str]:
    """``{path or file name: group}`` from a CSV of ``path,group`` (header and ``#`` lines skipped)."""
    p = Path(path)
    try:
        lines = [ln for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    except (OSError, UnicodeDecodeError) as exc:
        raise VigilError(f"{p}: cannot read the groups file ({exc})") from exc
    out: dict[str, str] = {}
    for k, row in enumerate(csv.reader(lines)):
        if k == 0 and [c.strip().lower() for c in row[:2]] == ["path", "group"]:
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise VigilError(f"{p}: line {k + 1} is not 'path,group': {','.join(row)!r}")
        out[row[0].strip()] = row[1].strip()
    return out


def _group_of(path: Path, groups: dict[str, str]) -> str:
    return groups.get(str(path)) or groups.get(path.name) or f"file:{path.name}"


def auc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC AUC over the finite scores (NaN when a class is missing)."""
    from sklearn.metrics import roc_auc_score

    ok = np.isfinite(s)
    if len(np.unique(y[ok])) < 2:
        return float("nan")
    return float(roc_auc_score(y[ok], s[ok]))


def _eer(y: np.ndarray, s: np.ndarray) -> float:
    from sklearn.metrics import roc_curve

    ok = np.isfinite(s)
    if len(np.unique(y[ok])) < 2:
        return float("nan")
    fpr, tpr, _ = roc_curve(y[ok], s[ok])
    k = int(np.argmin(np.abs((1 - tpr) - fpr)))
    return float((fpr[k] + 1 - tpr[k]) / 2)


def pair_matrix(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(C, reals, fakes)``: ``C[i, j]`` is 1 where fake ``fakes[j]`` outscores real ``reals[i]``,
    0.5 on a tie, else 0 (finite scores only); its mean is the AUC."""
    ok = np.isfinite(s)
    reals, fakes = np.flatnonzero(ok & (y == 0)), np.flatnonzero(ok & (y == 1))
    d = s[fakes][None, :] - s[reals][:, None]
    return (d > 0) + 0.5 * (d == 0), reals, fakes


def pair_interval(c: np.ndarray, g_real: np.ndarray, g_fake: np.ndarray, n_boot: int = N_BOOT,
                  seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the mean of pair outcomes ``c`` (reals x fakes) under a bootstrap
    over groups: each resample draws the groups with replacement and weighs every pair by how
    often its two videos' groups were drawn (see module doc)."""
    names, inv = np.unique(np.r_[g_real, g_fake], return_inverse=True)
    if c.size == 0 or len(names) < 2:
        return float("nan"), float("nan")
    counts = np.random.default_rng(seed).multinomial(len(names), np.full(len(names), 1 / len(names)), n_boot)
    m_r, m_f = counts[:, inv[:len(g_real)]], counts[:, inv[len(g_real):]]
    den = m_r.sum(1) * m_f.sum(1)
    keep = den > 0
    if keep.sum() < n_boot // 2:
        return float("nan"), float("nan")
    vals = np.einsum("br,rf,bf->b", m_r[keep], c, m_f[keep]) / den[keep]
    lo, hi = np.percentile(vals, [2.5, 97.5])
    return float(lo), float(hi)


def bootstrap_auc(y: np.ndarray, s: np.ndarray, groups: np.ndarray, n_boot: int = N_BOOT,
                  seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the AUC under a bootstrap over groups (see module doc)."""
    c, reals, fakes = pair_matrix(y, s)
    return pair_interval(c, groups[reals], groups[fakes], n_boot, seed)


def _figure(y: np.ndarray, s: np.ndarray, groups: np.ndarray, seed: int) -> dict[str, Any]:
    ok = np.isfinite(s)
    lo, hi = bootstrap_auc(y, s, groups, seed=seed)
    return {"auc": _r(auc(y, s)), "ci95": [_r(lo), _r(hi)], "n_real": int((y[ok] == 0).sum()),
            "n_fake": int((y[ok] == 1).sum())}


def _score_video(ws: Workspace, path: Path, label: str, weights: dict[str, float]) -> dict[str, Any]:
    """Analyse (or reuse) one video, re-run the forgery cues on what is stored, fuse with ``weights``."""
    res = analyze_media(ws, path, f"{label}:{path.name}", PipelineConfig(), None)
    integrity = (res.integrity or {}).get("score")
    forgery = res.forgery or {}
    if res.video is not None and res.video.status == "already":  # stored cues may be from older code
        from app.core.forensics.integrity import file_integrity
        from app.store import runs

        report = file_integrity(path).to_dict()  # the integrity checks too
        ws.set_integrity(runs.get_run(ws, res.video.run_id)["media_id"], report)
        integrity = report["score"]
        forgery = forgery_pass(ws, res.video.run_id, str(path), integrity, weights) or {}
    cues = {c: v for c, v in (forgery.get("cues") or {}).items()}
    cues["integrity"] = integrity
    vals = {c: (float(v) if v is not None else float("nan")) for c, v in cues.items()}
    p, contrib = combine(vals, weights)
    return {"path": str(path), "label": label, "score": _r(p), "cues": cues, "carried_by": carrier(contrib)}


def evaluate(real: str | Path, fake: str | Path, plot: str | Path | None = None, refit: bool = False,
             progress: Any = None, workspace: Workspace | None = None, cache: str | Path | None = None,
             groups: str | Path | None = None, seed: int = 0) -> dict[str, Any]:
    """Score every video and report the figures of the module doc; ``refit`` also cross-validates a
    constrained fit and records the weights fitted on all videos in ``workspace`` (required then)."""
    if refit and workspace is None:
        raise ValueError("refit needs the workspace that records the fitted fusion")
    items = [(p, "real") for p in _videos(real)] + [(p, "fake") for p in _videos(fake)]
    if refit and min(sum(lab == k for _, lab in items) for k in ("real", "fake")) < MIN_PER_CLASS:
        raise VigilError(f"too few videos to fit the fusion: needs at least {MIN_PER_CLASS} real and "
                         f"{MIN_PER_CLASS} fake")
    group_map = read_groups(groups) if groups else {}
    weights = (active_weights(workspace) if workspace is not None else None) or dict(DEFAULT_WEIGHTS)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Workspace.open(Path(cache) if cache else Path(tmp) / "eval.db") as ws:
        for k, (path, label) in enumerate(items):
            try:
                row = _score_video(ws, path, label, weights)
            except VigilError as exc:
                row = {"path": str(path), "label": label, "score": None, "cues": {}, "error": str(exc)}
            rows.append(dict(row, group=_group_of(path, group_map)))
            if progress:
                progress(k + 1, len(items), 0.0)
    y = np.array([1 if r["label"] == "fake" else 0 for r in rows])
    g = np.array([r["group"] for r in rows])
    s = np.array([r["score"] if r["score"] is not None else np.nan for r in rows], dtype=float)
    x = _cue_matrix(rows)
    report: dict[str, Any] = {
        **_figure(y, s, g, seed), "eer": _r(_eer(y, s)), "n_groups": int(len(np.unique(g))),
        "fusion": {k: round(v, 4) for k, v in weights.items()},
        "cues": {c: _figure(y, x[:, j], g, seed) for j, c in enumerate(CUE_KEYS)}, "videos": rows}
    if plot:
        _plot(y, s, Path(plot), auc(y, s))
        report["plot"] = str(plot)
    if refit:
        report["fit"] = _fit(workspace, x, y, g, seed)
    return report


def _cue_matrix(rows: list[dict[str, Any]]) -> np.ndarray:
    return np.array([[r["cues"].get(c) if r["cues"].get(c) is not None else np.nan for c in CUE_KEYS]
                     for r in rows], dtype=float).reshape(len(rows), len(CUE_KEYS))


def cross_validated(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Out-of-group fused scores: each group's videos scored by weights fitted on the other groups
    (sklearn's LeaveOneGroupOut); NaN where the training groups lack a class."""
    from sklearn.model_selection import LeaveOneGroupOut

    out = np.full(len(y), np.nan)
    for train, test in LeaveOneGroupOut().split(x, y, groups):
        if len(np.unique(y[train])) < 2:
            continue
        w = fit(x[train][:, _FIT_COLS], y[train], names=FIT_KEYS)
        out[test] = [combine(dict(zip(CUE_KEYS, row)), w)[0] for row in x[test]]
    return out


def leave_pair_out(x: np.ndarray, y: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair outcomes (as :func:`pair_matrix`) where every real-fake pair is scored by weights fitted
    without the groups of either video (leave-pair-out, Airola et al. 2011).

    Pooled leave-one-group-out scores come from different fits: holding out a group of fakes
    lowers the fitted prior of exactly those videos, which drags a weak model's pooled AUC below
    chance. Scoring both videos of a pair with one fit removes that bias. One fit per pair of groups.
    """
    c, reals, fakes = pair_matrix(y, np.zeros(len(y)))
    fits: dict[frozenset[str], dict[str, float] | None] = {}
    for a, i in enumerate(reals):
        for b, j in enumerate(fakes):
            out = frozenset((groups[i], groups[j]))
            if out not in fits:
                train = ~np.isin(groups, list(out))
                fits[out] = (fit(x[train][:, _FIT_COLS], y[train], names=FIT_KEYS)
                             if len(np.unique(y[train])) == 2 else None)
            w = fits[out]
            if w is None:
                c[a, b] = np.nan
                continue
            p_i, p_j = (combine(dict(zip(CUE_KEYS, x[k])), w)[0] for k in (i, j))
            c[a, b] = 1.0 if p_j > p_i else 0.5 if p_j == p_i else 0.0
    return c, reals, fakes


def _pair_figure(c: np.ndarray, g_real: np.ndarray, g_fake: np.ndarray, seed: int) -> dict[str, Any]:
    ok = np.isfinite(c)
    lo, hi = pair_interval(np.where(ok, c, 0.5), g_real, g_fake, seed=seed)
    return {"auc": _r(float(c[ok].mean()) if ok.any() else float("nan")), "ci95": [_r(lo), _r(hi)],
            "n_real": int(len(g_real)), "n_fake": int(len(g_fake)), "pairs": int(ok.sum())}


def _fit(ws: Workspace, x: np.ndarray, y: np.ndarray, g: np.ndarray, seed: int) -> dict[str, Any]:
    cv = dict(_figure(y, cross_validated(x, y, g), g, seed), method="leave-one-group-out")
    c, reals, fakes = leave_pair_out(x, y, g)
    lpo = dict(_pair_figure(c, g[reals], g[fakes], seed), method="leave-pair-of-groups-out")
    weights = fit(x[:, _FIT_COLS], y, names=FIT_KEYS)
    version = save_fusion(ws, weights, "fitted on the evaluation videos; its accuracy is the cross-validated AUC",
                          n_real=int((y == 0).sum()), n_fake=int((y == 1).sum()), n_groups=int(len(np.unique(g))),
                          cv=cv, cv_pairs=lpo)
    return {"version": version, "weights": {k: round(v, 4) for k, v in weights.items()}, "cv": cv,
            "cv_pairs": lpo, "saved": str(ws.path)}


def _plot(y: np.ndarray, s: np.ndarray, out: Path, value: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    ok = np.isfinite(s)
    fig, ax = plt.subplots(figsize=(5, 5))
    if len(np.unique(y[ok])) == 2:
        fpr, tpr, _ = roc_curve(y[ok], s[ok])
        ax.plot(fpr, tpr, label=f"forgery indicator (AUC {value:.2f})")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
    ax.set_xlabel("false positive rate (real flagged)")
    ax.set_ylabel("true positive rate (fake caught)")
    ax.set_title("Vigil forgery indicator, video level")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _r(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), 4)
