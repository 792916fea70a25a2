"""Expression track: the 8 class probabilities stacked, or a band coloured by the dominant class."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from app.ui.i18n import N_, tr
from app.ui.timelines._base import (Track, fast_curve, fmt_time, gap_curve, nearest, qcolor, set_filled,
                                   time_buckets)
from app.ui.timelines._series import SeriesItem

MODES = ("stacked", "band")


class ExpressionTrack(Track):
    """Stacked area of the expression probabilities (``"stacked"``) or the dominant class (``"band"``).

    Unusable frames carry no probabilities: they are drawn as an empty gap, never as "neutral".
    The band is one image pooled to the screen width (the most frequent class per column).
    """

    key = "expression"
    title = N_("Expression")
    hint = N_("share of each class")
    stretch = 1.4
    y_padding = 0.2  # room for the "0" label inside the track
    y_range = (0.0, 1.0)

    def __init__(self) -> None:
        super().__init__()
        self.mode = "stacked"
        self.names: list[str] = []
        self.curves: list[SeriesItem] = []
        self.band = pg.ImageItem(axisOrder="row-major")
        self.band.hide()
        self.plot.addItem(self.band)
        self.gaps = gap_curve()
        self.plot.addItem(self.gaps)
        self.legend = self.add_legend()
        self.plot.getAxis("left").setTicks([[(0.0, "0"), (1.0, "1")], [(0.5, "")]])
        self._t = np.zeros(0)
        self._cls = np.zeros(0, np.int16)
        self._probs = np.zeros((0, 0), np.float32)

    def set_data(self, data: Any) -> None:
        """Stack the probabilities (cumulative sums, drawn top class first) and keep the dominant class."""
        names = list(data.expr_names)
        if names != self.names:
            self._build(names)
        self._t = np.asarray(data.t, np.float64)
        probs = np.asarray(data.expressions, np.float32).reshape(len(self._t), len(names))
        usable = np.isfinite(probs).all(axis=1) if len(names) else np.zeros(len(self._t), bool)
        cum = np.cumsum(np.nan_to_num(probs, nan=0.0), axis=1)
        for i, curve in enumerate(self.curves):
            set_filled(curve, self._t, cum[:, i])
        set_filled(self.gaps, self._t, (~usable).astype(np.float32))
        self._probs = probs
        cls = np.where(usable, np.argmax(np.nan_to_num(probs, nan=-1.0), axis=1) if len(names) else -1, -1)
        self._cls = cls.astype(np.int16)
        self._apply_mode()

    def set_mode(self, mode: str) -> None:
        """``"stacked"`` or ``"band"``."""
        if mode not in MODES:
            raise ValueError(f"expression mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self._apply_mode()

    def update_view(self, t0: float, t1: float, width_px: int) -> None:
        """The dominant class per frame, or per screen column (its most frequent class) when zoomed out."""
        if self.mode != "band" or len(self._t) == 0:
            return
        k = len(self.names)
        i0, i1 = (int(i) for i in np.searchsorted(self._t, [t0, t1]))
        i0, i1 = max(i0 - 1, 0), min(i1 + 1, len(self._t))
        n = int(max(1, min(width_px, 4000)))
        if i1 - i0 <= n:  # fewer frames than pixels: one column per frame, no pooling
            dominant = self._cls[i0:i1].astype(np.int64)
            x0 = float(self._t[i0])
            x1 = float(self._t[i1 - 1]) + (float(np.median(np.diff(self._t[i0:i1]))) if i1 - i0 > 1 else 1.0 / 30)
        else:
            edges = time_buckets(self._t, t0, t1, n)
            col = np.repeat(np.arange(n), np.diff(edges))
            cls = self._cls[edges[0]:edges[-1]]
            keep = cls >= 0
            counts = np.bincount(col[keep] * k + cls[keep], minlength=n * k).reshape(n, k)
            dominant = np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), -1)
            x0, x1 = t0, t1
        rgba = self._lut()[np.where(dominant >= 0, dominant, k)]
        self.band.setImage(rgba[np.newaxis, :, :], autoLevels=False, levels=None)
        self.band.setRect(QtCore.QRectF(x0, 0.0, max(x1 - x0, 1e-6), 1.0))

    def hover_text(self, t: float, y: float) -> str:
        """The three most likely classes at the nearest frame."""
        i = nearest(self._t, t)
        if i is None or not self.names:
            return ""
        p = self._probs[i]
        if not np.isfinite(p).all():
            return f"{fmt_time(self._t[i])}  {tr('insufficient evidence')}"
        top = np.argsort(p)[::-1][:3]
        return f"{fmt_time(self._t[i])}  " + ", ".join(f"{tr(self.names[k])} {p[k]:.0%}" for k in top)

    def restyle(self) -> None:
        """Class colours from the theme."""
        for name, curve in zip(self.names, self.curves):
            col = self._color(name)
            curve.setBrush(pg.mkBrush(qcolor(col, 215)))
            curve.setPen(pg.mkPen(qcolor(col), width=1))
        self.gaps.setBrush(pg.mkBrush(qcolor(self.colors.get("insufficient", "#9999994D"))))
        self._legend()
        self._apply_mode()

    def retranslate(self) -> None:
        """Title and legend names through ``tr``."""
        super().retranslate()
        self._legend()

    def _legend(self) -> None:
        entries = [(self._color(n), tr(n)) for n in self.names]
        entries.append((self.colors.get("insufficient", "#999999")[:7], tr("insufficient evidence")))
        self.legend.set_entries(entries, self.colors)

    # -- internals -----------------------------------------------------------------------------
    def _build(self, names: list[str]) -> None:
        for c in self.curves:
            self.plot.removeItem(c)
        self.names = names
        self.curves = []
        for i, _ in enumerate(names):
            c = fast_curve(fillLevel=0.0)
            c.setZValue(len(names) - i)  # lower cumulative sums drawn on top of higher ones
            self.plot.addItem(c)
            self.curves.append(c)
        self.restyle()

    def _color(self, name: str) -> str:
        return self.colors.get(f"expr.{name}", self.colors.get(name, "#999999"))

    def _lut(self) -> np.ndarray:
        lut = np.zeros((len(self.names) + 1, 4), np.uint8)
        for i, name in enumerate(self.names):
            c = qcolor(self._color(name))
            lut[i] = (c.red(), c.green(), c.blue(), 255)
        return lut  # last row: no usable face, transparent

    def _shows_values(self) -> bool:
        return getattr(self, "mode", "stacked") == "stacked"

    def _apply_mode(self) -> None:
        stacked = self.mode == "stacked"
        for c in self.curves:
            c.setVisible(stacked)
        self.band.setVisible(not stacked)
        self._style_left_axis()
        if not stacked:
            r = self.vb.viewRange()[0]
            self.update_view(r[0], r[1], int(self.vb.width()) or 1000)

