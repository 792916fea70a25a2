"""``vigil forgery-eval``: measure the forgery indicator on the institution's own real and fake videos.

Every video under ``--real`` and ``--fake`` is analysed (faces and the forgery pass; no speech
recognition) into a temporary workspace. The report gives the video-level ROC AUC and equal error
rate of the fused session probability, the AUC of each cue alone, and every video's score. With
``fit`` the fusion weights are re-fitted on these videos (logistic regression over the cue scores,
integrity included) and saved as a versioned fusion model that later analyses use; refitting on
the same videos that measure it flatters it, so the report says so and the AUC shown is the one
measured before fitting.
"""

from __future__ import annotations

import json
import math
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import VigilError
from app.core.forensics.cues.fusion import fit
from app.core.pipeline import PipelineConfig
from app.paths import user_data_dir
from app.services.session import analyze_media
from app.store.workspace import Workspace

VIDEO_EXT = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".wmv", ".m4v"}
CUE_KEYS = ("temporal", "blink", "headpose", "avsync", "sbi", "freq", "integrity")


def fusion_dir() -> Path:
    """Where fitted fusion models are kept (``active.json`` is the one analyses use)."""
    return user_data_dir() / "fusion"


def active_weights() -> dict[str, float] | None:
    """The fitted fusion weights in use, or ``None`` (the documented defaults apply)."""
    path = fusion_dir() / "active.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))["weights"]
    except (OSError, ValueError, KeyError) as exc:
        raise VigilError(f"{path}: the fitted forgery fusion model cannot be read ({exc}); delete it to use the defaults") from exc


def _videos(folder: str | Path) -> list[Path]:
    d = Path(folder)
    if not d.is_dir():
        raise VigilError(f"{d}: not a folder of videos")
    found = sorted(p for p in d.rglob("*") if p.suffix.lower() in VIDEO_EXT and p.is_file())
    if not found:
        raise VigilError(f"{d}: no video files ({', '.join(sorted(VIDEO_EXT))})")
    return found


def _auc_eer(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import roc_auc_score, roc_curve

    ok = np.isfinite(s)
    if len(np.unique(y[ok])) < 2:
        return float("nan"), float("nan")
    fpr, tpr, _ = roc_curve(y[ok], s[ok])
    fnr = 1 - tpr
    k = int(np.argmin(np.abs(fnr - fpr)))
    return float(roc_auc_score(y[ok], s[ok])), float((fpr[k] + fnr[k]) / 2)


def evaluate(real: str | Path, fake: str | Path, plot: str | Path | None = None, refit: bool = False,
             progress: Any = None) -> dict[str, Any]:
    """Score every video, report AUC/EER (and per-cue AUC); optionally fit and save the fusion."""
    items = [(p, "real") for p in _videos(real)] + [(p, "fake") for p in _videos(fake)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Workspace.open(Path(tmp) / "eval.db") as ws:
        for k, (path, label) in enumerate(items):
            try:
                res = analyze_media(ws, path, f"{label}:{path.name}", PipelineConfig(), None)
                f = res.forgery or {}
                cues = dict(f.get("cues") or {}, integrity=(res.integrity or {}).get("score"))
                rows.append({"path": str(path), "label": label, "score": f.get("probability"), "cues": cues})
            except VigilError as exc:
                rows.append({"path": str(path), "label": label, "score": None, "cues": {}, "error": str(exc)})
            if progress:
                progress(k + 1, len(items), 0.0)
    y = np.array([1 if r["label"] == "fake" else 0 for r in rows])
    s = np.array([r["score"] if r["score"] is not None else np.nan for r in rows], dtype=float)
    auc, eer = _auc_eer(y, s)
    cue_auc = {}
    for c in CUE_KEYS:
        v = np.array([r["cues"].get(c) if r["cues"].get(c) is not None else np.nan for r in rows], dtype=float)
        cue_auc[c] = _auc_eer(y, v)[0]
    report: dict[str, Any] = {"auc": _r(auc), "eer": _r(eer), "videos": rows, "cues": {c: _r(a) for c, a in cue_auc.items()},
                              "n_real": int((y == 0).sum()), "n_fake": int((y == 1).sum())}
    if plot:
        _plot(y, s, Path(plot), auc)
        report["plot"] = str(plot)
    if refit:
        report["fit"] = _fit(rows, y)
    return report


def _fit(rows: list[dict[str, Any]], y: np.ndarray) -> dict[str, Any]:
    if min((y == 0).sum(), (y == 1).sum()) < 5:
        raise VigilError("too few videos to fit the fusion: needs at least 5 real and 5 fake")
    x = np.array([[r["cues"].get(c) if r["cues"].get(c) is not None else np.nan for c in CUE_KEYS] for r in rows],
                 dtype=float)
    weights = fit(x, y, names=CUE_KEYS)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    model = {"version": f"fusion-{stamp}", "weights": weights, "n_real": int((y == 0).sum()),
             "n_fake": int((y == 1).sum()), "note": "fitted on the evaluation videos; measure on other videos"}
    d = fusion_dir()
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{model['version']}.json").write_text(json.dumps(model, indent=2), encoding="utf-8")
    (d / "active.json").write_text(json.dumps(model, indent=2), encoding="utf-8")
    return {"version": model["version"], "weights": {k: round(v, 3) for k, v in weights.items()}, "saved": str(d)}


def _plot(y: np.ndarray, s: np.ndarray, out: Path, auc: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    ok = np.isfinite(s)
    fig, ax = plt.subplots(figsize=(5, 5))
    if len(np.unique(y[ok])) == 2:
        fpr, tpr, _ = roc_curve(y[ok], s[ok])
        ax.plot(fpr, tpr, label=f"forgery indicator (AUC {auc:.2f})")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
    ax.set_xlabel("false positive rate (real flagged)")
    ax.set_ylabel("true positive rate (fake caught)")
    ax.set_title("Vigil forgery indicator, video level")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _r(v: float) -> float | None:
    return None if not math.isfinite(v) else round(v, 4)
