"""Action-unit tracks: the 25-row heat map (one image) and the lines of a few selected AUs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore

from app.ui.i18n import N_, tr
from app.ui.timelines._base import (SERIES, Track, fast_curve, fmt_time, gap_curve, nearest, qcolor,
                                   set_filled, time_buckets)
from app.ui.timelines._series import Pyramid, SeriesItem

#: AUs drawn as lines until the reviewer picks others: brow lowerer, cheek raiser, smile, lip corner depressor.
DEFAULT_SELECTED = ("AU04", "AU06", "AU12", "AU15")
#: Maximum intensity of the FACS scale.
AU_MAX = 5.0


class AUHeatTrack(Track):
    """25 rows (AU01 at the top) x time, intensity 0-5, as one ``ImageItem``.

    Zoomed out, an hour holds 108k frames per row: the visible slice is max-pooled to one column per
    screen pixel (a short strong action stays visible), so the image never exceeds the view width.
    The pooling starts from a max pyramid (blocks of 2, 4, 8 … frames), so it touches at most about
    two blocks per column however long the recording is.
    Frames without a usable face are left transparent.
    """

    key = "aus"
    _tick_length = 0  # AU names only
    title = N_("Action units")
    hint = N_("intensity 0–5")
    stretch = 2.3
    y_padding = 0.0

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self._t = np.zeros(0)
        self._aus = np.zeros((0, 0), np.float32)
        self._pyr: Pyramid | None = None
        self.last_image_shape: tuple[int, ...] = (0, 0)
        self.restyle()

    def set_data(self, data: Any) -> None:
        """Keep the AU matrix; the image itself is made for the visible range by ``update_view``."""
        self.names = list(data.au_names)
        self._t = np.asarray(data.t, np.float64)
        self._aus = np.asarray(data.aus, np.float32).reshape(len(self._t), len(self.names))
        self._pyr = Pyramid(self._t, self._aus, need_lo=False) if len(self._t) else None
        n = max(len(self.names), 1)
        self.set_y_range(0.0, float(n))
        self._ticks()
        r = self.vb.viewRange()[0]
        self.update_view(r[0], r[1], int(self.vb.width()) or 1000)

    def update_view(self, t0: float, t1: float, width_px: int) -> None:
        """Max-pool the visible frames to at most one column per pixel and show them as RGBA."""
        if len(self._t) == 0 or not self.names:
            self.image.clear()
            self.last_image_shape = (len(self.names), 0)
            return
        lo = max(t0, float(self._t[0]))
        hi = min(t1, float(self._t[-1]) + self._dt())
        if hi <= lo:
            self.image.clear()
            return
        i0, i1 = np.searchsorted(self._t, [lo, hi])
        n_vis = int(i1 - i0)
        n = int(max(1, min(width_px, 4000)))
        if n_vis <= n:
            block = self._aus[i0:i1]
            x0 = float(self._t[i0]) if n_vis else lo
            x1 = float(self._t[i1 - 1]) + self._dt() if n_vis else hi
        else:
            # The finest pyramid level with at least one block per column (blocks of 2**k frames).
            k = max(int(np.floor(np.log2(n_vis / n))), 0)
            k = min(k, len(self._pyr.levels) - 1)
            xk, _lo, mk = self._pyr.levels[k]
            edges = time_buckets(xk, lo, hi, n)
            starts = np.minimum(edges[:-1], max(edges[-1] - 1, 0))
            # fmax ignores NaN: a column is blank only when none of its frames had a usable face.
            block = np.fmax.reduceat(mk[: max(edges[-1], 1)], starts, axis=0)
            block[edges[1:] <= edges[:-1]] = np.nan  # empty columns (gaps in the recording)
            x0, x1 = lo, hi
        rgba = self._colorize(block.T[::-1])  # row 0 of the image is drawn at y=0: put AU01 on top
        self.image.setImage(rgba, autoLevels=False, levels=None)
        self.image.setRect(QtCore.QRectF(x0, 0.0, max(x1 - x0, 1e-6), float(len(self.names))))
        self.last_image_shape = rgba.shape[:2]

    def hover_text(self, t: float, y: float) -> str:
        """The AU under the mouse, its FACS name and its intensity at the nearest frame."""
        from app.services.timeline import AU_LABELS

        i = nearest(self._t, t)
        row = len(self.names) - 1 - int(np.floor(y))
        if i is None or not 0 <= row < len(self.names):
            return ""
        name = self.names[row]
        v = float(self._aus[i, row])
        value = f"{v:.1f} / 5" if np.isfinite(v) else tr("insufficient evidence")
        return f"{name} {tr(AU_LABELS.get(name, ''))}\n{fmt_time(self._t[i])}  {value}"

    def restyle(self) -> None:
        """The colour ramp follows the theme (background-coloured at 0, strong colour at 5)."""
        lo = qcolor(self.colors.get("heatmap_lo", self.colors["bg"]))
        hi = qcolor(self.colors.get("heatmap_hi", "#0072B2"))
        cmap = pg.ColorMap([0.0, 1.0], [lo, hi])
        self._lut = cmap.getLookupTable(0.0, 1.0, 256, alpha=True).astype(np.uint8)
        ins = qcolor(self.colors.get("insufficient", "#9999994D"))
        self._nan_rgba = np.array([ins.red(), ins.green(), ins.blue(), ins.alpha()], np.uint8)
        if len(self._t):
            r = self.vb.viewRange()[0]
            self.update_view(r[0], r[1], int(self.vb.width()) or 1000)

    def _colorize(self, values: np.ndarray) -> np.ndarray:
        idx = np.clip(np.nan_to_num(values, nan=0.0) / AU_MAX * 255.0, 0, 255).astype(np.uint8)
        rgba = self._lut[idx]
        rgba[~np.isfinite(values)] = self._nan_rgba  # no usable face: the shared "insufficient" grey
        return np.ascontiguousarray(rgba)

    def _dt(self) -> float:
        return float(np.median(np.diff(self._t[:200]))) if len(self._t) > 1 else 1.0 / 30.0

    def _ticks(self) -> None:
        n = len(self.names)
        pos = [(n - j - 0.5, name) for j, name in enumerate(self.names)]
        # Level 0 (always drawn) every 4th AU; level 1 fills in the rest when the track is tall enough.
        self.plot.getAxis("left").setTicks([pos[::4], [p for j, p in enumerate(pos) if j % 4]])
        self.plot.getAxis("left").setStyle(tickLength=0)


class AULinesTrack(Track):
    """The intensity of a few selected AUs over time, one thin line each, with a legend."""

    key = "au_lines"
    title = N_("Selected AUs")
    hint = N_("intensity 0–5")
    stretch = 1.3
    y_range = (0.0, AU_MAX)

    def __init__(self) -> None:
        super().__init__()
        self.selected: list[str] = list(DEFAULT_SELECTED)
        self.curves: dict[str, SeriesItem] = {}
        self.legend = self.add_legend()
        self.gaps = gap_curve()
        self.plot.addItem(self.gaps)
        self.plot.getAxis("left").setTicks([[(0.0, "0"), (2.5, ""), (5.0, "5")]])
        self._data: Any = None

    def set_data(self, data: Any) -> None:
        """Draw the selected AUs from ``data.aus``."""
        self._data = data
        self._draw()

    def set_selected(self, names: list[str]) -> None:
        """Show these AUs (names as in ``data.au_names``, e.g. ``"AU12"``)."""
        self.selected = list(names)
        self._draw()

    def restyle(self) -> None:
        """Series colours and the legend."""
        self._draw()

    def retranslate(self) -> None:
        """Title and the legend's "insufficient evidence"."""
        super().retranslate()
        if hasattr(self, "legend"):
            self._legend()

    def _legend(self) -> None:
        ins = self.colors.get("insufficient", "#9999994D")
        entries = [(SERIES[k % len(SERIES)], name) for k, name in enumerate(self.curves)]
        self.legend.set_entries([*entries, (ins[:7], tr("insufficient evidence"))], self.colors)

    def _draw(self) -> None:
        for c in self.curves.values():
            self.plot.removeItem(c)
        self.curves.clear()
        data = self._data
        names = list(data.au_names) if data is not None else []
        t = np.asarray(data.t, np.float64) if data is not None else np.zeros(0)
        aus = np.asarray(data.aus, np.float32).reshape(len(t), len(names)) if data is not None else None
        for k, name in enumerate(n for n in self.selected if n in names):
            c = fast_curve(pen=pg.mkPen(SERIES[k % len(SERIES)], width=1.4))
            self.plot.addItem(c)  # before setData: clip-to-view needs its view box
            c.setData(t, aus[:, names.index(name)])
            self.curves[name] = c
        if aus is not None and len(names):
            set_filled(self.gaps, t, (~np.isfinite(aus).all(axis=1)).astype(np.float32) * AU_MAX)
        self.gaps.setBrush(pg.mkBrush(qcolor(self.colors.get("insufficient", "#9999994D"))))
        self._legend()
