"""The case report's plots, drawn with matplotlib (Agg) into PNG bytes.

Each plot bins the per-frame series to at most :data:`BINS` columns first, so a 20-minute case
(about 30 000 frames) draws as fast as a 20-second one. Chinese labels need a CJK font: the one
:func:`cjk_font` finds is registered with matplotlib (and with reportlab by the PDF writer).
"""

from __future__ import annotations

import io
import math
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

BINS = 600
WIDTH_IN = 7.2
# Okabe-Ito (as the review window's expression track), neutral grey.
EXPR_COLORS = {"neutral": "#bbbbbb", "happiness": "#e69f00", "sadness": "#56b4e9", "surprise": "#f0e442",
               "fear": "#009e73", "disgust": "#cc79a7", "anger": "#d55e00", "contempt": "#0072b2"}
_FONT_SET = False
CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian fonts-wqy-microhei (the Makefile installs it)
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
)

def cjk_font() -> str | None:
    """Path of a TrueType (.ttf/.ttc) font with Chinese glyphs, or None: ``VIGIL_CJK_FONT``, then the usual
    places of WenQuanYi Micro Hei, Noto Sans CJK, Microsoft YaHei and PingFang, then fontconfig."""
    env = os.environ.get("VIGIL_CJK_FONT")
    if env and Path(env).is_file():
        return env
    for p in CANDIDATES:
        if Path(p).is_file():
            return p
    if shutil.which("fc-match"):
        try:
            out = subprocess.run(["fc-match", "-f", "%{file}", ":lang=zh-cn"], capture_output=True, text=True,
                                 timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        # OpenType/CFF (.otf) fonts cannot be embedded by reportlab; only TrueType ones.
        if out and Path(out).is_file() and out.lower().endswith((".ttf", ".ttc")) and "dejavu" not in out.lower():
            return out
    return None




def use_font(path: str | None) -> None:
    """Register a (CJK) font file with matplotlib and make it the first choice."""
    global _FONT_SET
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import font_manager, rcParams

    if path and not _FONT_SET:
        font_manager.fontManager.addfont(path)
        name = font_manager.FontProperties(fname=path).get_name()
        rcParams["font.sans-serif"] = [name, *rcParams["font.sans-serif"]]
        rcParams["font.family"] = "sans-serif"
        rcParams["axes.unicode_minus"] = False
        _FONT_SET = True


def _binned(t: np.ndarray, y: np.ndarray, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``y`` (rows; NaN ignored) in at most BINS equal time bins; returns (bin centres, means)."""
    n = max(1, min(BINS, len(t)))
    edges = np.linspace(0.0, max(duration, float(t[-1]) if len(t) else 1.0, 1e-3), n + 1)
    idx = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, n - 1)
    y2 = y.reshape(len(y), -1).astype(np.float64)
    ok = np.isfinite(y2)
    sums = np.zeros((n, y2.shape[1]))
    cnt = np.zeros((n, y2.shape[1]))
    np.add.at(sums, idx, np.where(ok, y2, 0.0))
    np.add.at(cnt, idx, ok)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, sums / np.maximum(cnt, 1), np.nan)
    return 0.5 * (edges[:-1] + edges[1:]), mean


def _fig(height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH_IN, height), dpi=110, layout="constrained")


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _empty(ax: Any, msg: str) -> None:
    ax.text(0.5, 0.5, msg, ha="center", va="center", transform=ax.transAxes, color="#666666")
    ax.set_axis_off()


def _time_axis(ax: Any, duration: float, tr: Callable[[str], str]) -> None:
    ax.set_xlim(0, max(duration, 1e-3))
    ax.set_xlabel(tr("Time (s)"))


def expression_timeline(tl: Any, tr: Callable[[str], str]) -> bytes:
    fig = _fig(2.2)
    ax = fig.add_subplot()
    if not len(tl) or not np.isfinite(tl.expressions).any():
        _empty(ax, tr("No face data"))
        return _png(fig)
    x, m = _binned(tl.t, tl.expressions, tl.duration_s)
    m = np.nan_to_num(m, nan=0.0)
    ax.stackplot(x, m.T, colors=[EXPR_COLORS.get(n, "#999999") for n in tl.expr_names],
                 labels=[tr(n) for n in tl.expr_names], linewidth=0)
    ax.set_ylim(0, 1)
    ax.set_ylabel(tr("Probability"))
    _time_axis(ax, tl.duration_s, tr)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 1.28), ncol=8, fontsize=7, frameon=False,
              handlelength=1.0, columnspacing=0.8)
    return _png(fig)


def au_heatmap(tl: Any, tr: Callable[[str], str]) -> bytes:
    from app.services.timeline import AU_LABELS

    fig = _fig(3.4)
    ax = fig.add_subplot()
    if not len(tl) or not np.isfinite(tl.aus).any():
        _empty(ax, tr("No face data"))
        return _png(fig)
    x, m = _binned(tl.t, tl.aus, tl.duration_s)
    im = ax.imshow(m.T, aspect="auto", origin="upper", cmap="magma", vmin=0, vmax=5, interpolation="nearest",
                   extent=(0, max(tl.duration_s, float(x[-1])), len(tl.au_names) - 0.5, -0.5))
    ax.set_yticks(range(len(tl.au_names)))
    ax.set_yticklabels([f"{a} {tr(AU_LABELS.get(a, ''))}" for a in tl.au_names], fontsize=5.5)
    _time_axis(ax, tl.duration_s, tr)
    cb = fig.colorbar(im, ax=ax, pad=0.01, fraction=0.03)
    cb.set_label(tr("Intensity (0–5)"), fontsize=7)
    return _png(fig)


def forgery_timeline(tl: Any, tr: Callable[[str], str], cue_label: Callable[[str], str]) -> bytes:
    fig = _fig(2.2)
    ax = fig.add_subplot()
    wins = [w for w in tl.forgery_windows if w.get("probability") is not None]
    if not wins and not (len(tl) and np.isfinite(tl.forgery).any()):
        _empty(ax, tr("No forgery analysis"))
        return _png(fig)
    for k, cue in enumerate(tl.cues):
        pts = [(w["start_s"], w["end_s"], (w.get("cues") or {}).get(cue)) for w in wins]
        pts = [(a, b, v) for a, b, v in pts if v is not None and math.isfinite(float(v))]
        if pts:
            xs = [p for a, b, _ in pts for p in (a, b)]
            ys = [float(v) for _, _, v in pts for _ in (0, 1)]
            ax.plot(xs, ys, lw=0.9, alpha=0.75, label=cue_label(cue), color=f"C{k + 1}")
    if wins:
        xs = [p for w in wins for p in (w["start_s"], w["end_s"])]
        ys = [float(w["probability"]) for w in wins for _ in (0, 1)]
        ax.fill_between(xs, ys, color="#d55e00", alpha=0.18, lw=0)
        ax.plot(xs, ys, color="#d55e00", lw=2.0, label=tr("Forgery probability"))
    ax.axhline(0.5, color="#666666", lw=0.6, ls="--")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel(tr("Score (0–1)"))
    _time_axis(ax, tl.duration_s, tr)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, 1.3), ncol=4, fontsize=7, frameon=False)
    return _png(fig)


def voice_plot(tl: Any, tr: Callable[[str], str]) -> bytes:
    fig = _fig(2.6)
    utts = [u for u in tl.utterances if u.get("is_applicant")]
    if not utts:
        _empty(fig.add_subplot(), tr("No applicant speech"))
        return _png(fig)
    a1, a2 = fig.subplots(2, 1, sharex=True)
    s = np.array([float(u["start_s"]) for u in utts])
    w = np.maximum(np.array([float(u["end_s"]) for u in utts]) - s, 0.1)
    ar = np.array([float(u["arousal"]) if u.get("arousal") is not None else np.nan for u in utts])
    risk = np.array([float(u["deception_risk"]) if u.get("deception_risk") is not None else np.nan for u in utts])
    base = np.array([bool(u.get("is_baseline")) for u in utts])
    ok = np.isfinite(ar)  # one bar call per colour: hundreds of answers draw as fast as a few
    a1.bar(s[ok], ar[ok], width=w[ok], align="edge", alpha=0.8,
           color=np.where(ar[ok] > 0, "#d55e00", "#0072b2").tolist())
    for mask, hatch in ((np.isfinite(risk) & base, "//"), (np.isfinite(risk) & ~base, None)):
        if mask.any():
            a2.bar(s[mask], risk[mask], width=w[mask], align="edge", color="#cc79a7", alpha=0.85, hatch=hatch,
                   edgecolor="#ffffff")
    a1.axhline(0, color="#666666", lw=0.6)
    a1.set_ylabel(tr("Arousal (SD)"), fontsize=7)
    a2.set_ylim(0, 1)
    a2.set_ylabel(tr("Risk (0–1)"), fontsize=7)
    _time_axis(a2, tl.duration_s, tr)
    a2.text(0.995, 0.95, tr("hatched: baseline answers"), transform=a2.transAxes, ha="right", va="top",
            fontsize=6.5, color="#666666")
    return _png(fig)
