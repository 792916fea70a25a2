"""Forgery track: the fused probability, thin per-cue lines, and shading where evidence is insufficient."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg

from app.ui.i18n import N_, cue_label, cue_short_label, tr
from app.ui.timelines._base import SERIES, Track, fast_curve, fmt_time, gap_curve, nearest, qcolor, set_filled
from app.ui.timelines._series import SeriesItem


class ForgeryTrack(Track):
    """The calibrated forgery probability (0-1) as a thick line over thin per-cue lines.

    Where the fused score is NaN the app had too little evidence to score: those spans are shaded
    and named in the legend, so a gap never reads as "genuine". The shading is one filled curve of
    the NaN indicator (peak-downsampled like the others), not one item per gap.
    """

    key = "forgery"
    title = N_("Forgery")
    hint = N_("probability 0–1")
    stretch = 1.5
    y_range = (0.0, 1.0)

    def __init__(self) -> None:
        super().__init__()
        self.gaps = gap_curve()
        self.score = fast_curve()
        self.score.setZValue(10)
        self.cue_curves: dict[str, SeriesItem] = {}
        for item in (self.gaps, self.score):
            self.plot.addItem(item)
        self.threshold = pg.InfiniteLine(0.5, angle=0, movable=False)
        self.threshold.setZValue(-1)
        self.plot.addItem(self.threshold, ignoreBounds=True)
        self.legend = self.add_legend()
        self.plot.getAxis("left").setTicks([[(0.0, "0"), (0.5, "0.5"), (1.0, "1")]])
        self._cues: list[str] = []
        self._t = np.zeros(0)
        self._score = np.zeros(0, np.float32)
        self._cue_values: dict[str, np.ndarray] = {}

    def has_data(self, data: Any) -> bool:
        return data is not None and (bool(getattr(data, "forgery_windows", None))
                                     or bool(np.isfinite(np.asarray(getattr(data, "forgery", []), np.float32)).any()))

    def set_data(self, data: Any) -> None:
        """Fused score, per-cue scores, and the insufficient-evidence indicator."""
        t = np.asarray(data.t, np.float64)
        score = np.asarray(data.forgery, np.float32)
        self._t, self._score = t, score
        self.score.setData(t, score)
        set_filled(self.gaps, t, (~np.isfinite(score)).astype(np.float32))
        cues = {k: np.asarray(v, np.float32) for k, v in (data.cues or {}).items()}
        if list(cues) != self._cues:
            for c in self.cue_curves.values():
                self.plot.removeItem(c)
            self.cue_curves = {k: fast_curve() for k in cues}
            for c in self.cue_curves.values():
                self.plot.addItem(c)
            self._cues = list(cues)
            self.restyle()
        for k, v in cues.items():
            self.cue_curves[k].setData(t, v)
        self._cue_values = cues

    def hover_text(self, t: float, y: float) -> str:
        """Fused probability and each cue's score at the nearest frame."""
        i = nearest(self._t, t)
        if i is None:
            return ""
        v = float(self._score[i])
        head = f"{tr('Forgery score')} {v:.2f}" if np.isfinite(v) else tr("insufficient evidence")
        cues = [f"{cue_label(k)} {float(c[i]):.2f}" for k, c in self._cue_values.items() if np.isfinite(c[i])]
        return "\n".join([f"{fmt_time(self._t[i])}  {head}", *cues])

    def restyle(self) -> None:
        """Colours and the legend (score, insufficient evidence, then each cue)."""
        # The fused score is drawn in the text colour: every cue colour (and "forgery", which the
        # theme shares with the A/V-sync cue) stays free for the thin cue lines.
        self.score.setPen(pg.mkPen(self.colors["fg"], width=2.2))
        ins = self.colors.get("insufficient", "#9999994D")
        self.gaps.setBrush(pg.mkBrush(qcolor(ins)))
        self.threshold.setPen(pg.mkPen(qcolor(self.colors["grid"][:7]), width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
        entries = [(self.colors["fg"], tr("Forgery score"))]
        for k, (name, c) in enumerate(self.cue_curves.items()):
            col = self.colors.get(f"cue.{name}", SERIES[k % len(SERIES)])
            c.setPen(pg.mkPen(qcolor(col, 170), width=1))
            entries.append((col, cue_short_label(name)))
        entries.append((ins[:7], tr("insufficient evidence")))
        self.legend.set_entries(entries, self.colors)

    def retranslate(self) -> None:
        """Title and legend through ``tr``."""
        super().retranslate()
        if hasattr(self, "legend"):
            self.restyle()
