"""Shared pieces of the timeline tracks: the x-only view box, the time axis, the track base class.

Every track is one ``pg.PlotItem`` in column 1 of the view's layout, with its title (a
``LabelItem``) in column 0 and a left axis of fixed width, so all tracks line up on one time axis.
Tracks only draw what :class:`app.services.timeline.TimelineData` holds; the transforms they apply
(stacking, pooling to the screen width, eliding text) are presentation, not analysis.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from app.ui import theme
from app.ui.i18n import tr
from app.ui.timelines._series import SeriesItem

#: Width of the title column and of every plot's left (tick) axis, in pixels.
LABEL_W = 132
AXIS_W = 46

#: Colours of the thin per-cue forgery lines and of the selected AU lines, in order.
SERIES = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#17becf", "#e377c2", "#bcbd22", "#8c564b")


def qcolor(spec: str, alpha: int | None = None) -> QtGui.QColor:
    """A ``QColor`` from the theme's ``#rrggbb`` or ``#rrggbbaa`` (Qt itself reads 9 digits as ARGB)."""
    if len(spec) == 9 and spec.startswith("#"):
        c = QtGui.QColor(spec[:7])
        c.setAlpha(int(spec[7:], 16))
    else:
        c = QtGui.QColor(spec)
    if alpha is not None:
        c.setAlpha(alpha)
    return c


def fast_curve(pen: Any = "w", brush: Any = None, fillLevel: float | None = None,  # noqa: N803
               **_: Any) -> SeriesItem:
    """A curve that stays fast with 108k points: drawn from a min/max pyramid, only what is in view."""
    return SeriesItem(pen=pen, brush=brush, fill_level=fillLevel)


def fmt_time(t: float) -> str:
    """``m:ss.s`` (or ``h:mm:ss.s``), as on the time axis."""
    t = max(float(t), 0.0)
    h, rem = divmod(t, 3600)
    m, sec = divmod(rem, 60)
    return f"{int(h)}:{int(m):02d}:{sec:04.1f}" if h >= 1 else f"{int(m)}:{sec:04.1f}"


def nearest(t: np.ndarray, x: float) -> int | None:
    """Index of the sample nearest time ``x`` (None when there are none)."""
    if len(t) == 0:
        return None
    i = int(np.clip(np.searchsorted(t, x), 1, len(t) - 1)) if len(t) > 1 else 0
    return i - 1 if len(t) > 1 and abs(t[i - 1] - x) <= abs(t[i] - x) else i


def gap_curve() -> SeriesItem:
    """A filled indicator (1 where there is no usable evidence) for "insufficient evidence" shading.

    One item for any number of gaps, drawn as steps over whole frames; max-pooled to the screen,
    so even a one-frame gap stays visible zoomed out.
    """
    item = SeriesItem(pen=None, fill_level=0.0, step=True)
    item.setZValue(-2)
    return item


def set_filled(curve: SeriesItem, x: np.ndarray, y: np.ndarray) -> None:
    """Data of a filled curve (NaN counts as the fill level)."""
    curve.setData(x, y)


def time_buckets(t: np.ndarray, t0: float, t1: float, n: int) -> np.ndarray:
    """Index edges splitting the samples inside ``[t0, t1]`` into ``n`` equal time columns."""
    return np.searchsorted(t, np.linspace(t0, t1, n + 1))


class Legend(pg.TextItem):
    """A one-line colour key in the top-right corner of a plot: ``■ name`` per series, as HTML.

    Drawn in screen pixels (it does not scale with the data) on a translucent background, so it
    costs a single item however many series it names. When the plot is narrower than the key, the
    key wraps onto more lines instead of running off the plot's left edge. ``on_height`` is told
    the key's height in pixels after each placement (a track keeps that strip free of data).
    """

    def __init__(self, vb: pg.ViewBox, on_height: Callable[[float], None] | None = None) -> None:
        super().__init__("", anchor=(1, 0))
        self.setParentItem(vb)
        self.setZValue(60)
        self._vb = vb
        self._on_height = on_height
        vb.sigResized.connect(self._place)
        self.entries: list[tuple[str, str]] = []

    def set_entries(self, entries: list[tuple[str, str]], colors: dict[str, str]) -> None:
        """``entries``: (colour, already-translated name) pairs."""
        self.entries = list(entries)
        fg = colors.get("fg", "#1A1A1A")
        # Non-breaking spaces inside an entry: a narrow plot wraps the key between entries only.
        parts = [f"<span style='color:{c[:7]}'>&#9632;</span>&nbsp;{html.escape(n).replace(' ', '&nbsp;')}"
                 for c, n in entries]
        self.setHtml(f"<div style='font-size:7pt; color:{fg}'>{'&nbsp;&nbsp; '.join(parts)}</div>")
        self.fill = pg.mkBrush(qcolor(colors.get("bg", "#ffffff")[:7], 200))
        self._place()

    def _place(self) -> None:
        """Top-right corner; wrapped between entries (never inside one) when the plot is narrower."""
        avail = max(float(self._vb.width()) - 4.0, 60.0)
        self.setTextWidth(-1)
        if self.textItem.document().idealWidth() > avail:
            self.setTextWidth(avail)
        self.setPos(self._vb.width() - 2, 0)
        if self._on_height is not None:
            self._on_height(float(self.textItem.boundingRect().height()) if self.entries else 0.0)


class TimeAxis(pg.AxisItem):
    """Bottom axis in seconds, labelled ``m:ss`` (or ``h:mm:ss``) with round minute steps when zoomed out."""

    _STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802
        span = maxVal - minVal
        target = span / max(size / 80.0, 1.0)
        if target < 1.0 or not math.isfinite(target):
            return super().tickSpacing(minVal, maxVal, size)
        major = next((s for s in self._STEPS if s >= target), self._STEPS[-1])
        minor = next((s for s in reversed(self._STEPS) if s <= major / 4), major / 5)
        return [(float(major), 0.0), (float(minor), 0.0)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        out = []
        for v in values:
            sign, v = ("-" if v < 0 else ""), abs(v)
            h, rem = divmod(v, 3600)
            m, s = divmod(rem, 60)
            sec = f"{s:04.1f}" if spacing < 1 else f"{int(round(s)) % 60:02d}"
            out.append(f"{sign}{int(h)}:{int(m):02d}:{sec}" if h >= 1 else f"{sign}{int(m)}:{sec}")
        return out


class TimeViewBox(pg.ViewBox):
    """A view box that navigates in time only.

    Left click or drag seeks (``sigSeek``); Shift + left drag selects a span (``sigSelect``); the
    wheel zooms x around the mouse; right or middle drag, or a drag on the time axis, pans.
    """

    sigSeek = QtCore.Signal(float)
    sigSelect = QtCore.Signal(float, float, bool)  # t0, t1, finished

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=True, y=False)
        self._sel_from: float | None = None

    def _x(self, scene_pos: QtCore.QPointF) -> float:
        return float(self.mapSceneToView(scene_pos).x())

    def mouseClickEvent(self, ev: Any) -> None:  # noqa: N802
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            self.sigSeek.emit(self._x(ev.scenePos()))
        else:
            ev.ignore()

    def mouseDragEvent(self, ev: Any, axis: int | None = None) -> None:  # noqa: N802
        btn = ev.button()
        if axis is None and btn == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            x = self._x(ev.scenePos())
            if ev.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier:
                if ev.isStart():
                    self._sel_from = self._x(ev.buttonDownScenePos())
                if self._sel_from is not None:
                    self.sigSelect.emit(min(self._sel_from, x), max(self._sel_from, x), bool(ev.isFinish()))
            else:
                self.sigSeek.emit(x)  # scrubbing: the cursor follows the mouse
            return
        if btn in (QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.RightButton,
                   QtCore.Qt.MouseButton.MiddleButton):
            ev.accept()
            dx = self._x(ev.lastScenePos()) - self._x(ev.scenePos())
            self.translateBy(x=dx)
            return
        ev.ignore()


class Track:
    """One stacked track: a title, a plot with a fixed-width left axis, and a cursor line.

    Subclasses set ``key``, ``title``, ``hint``, ``stretch`` and the y range, and implement
    ``set_data``; ``update_view`` is called (coalesced) after the visible time range changes.
    """

    key = "track"
    title = "Track"
    hint = ""
    stretch = 1.0
    y_range: tuple[float, float] = (0.0, 1.0)
    y_padding = 0.12
    _top_px = 0.0  # pixels at the top kept free of data (under the legend)
    _empty = False  # no data to show: the left axis draws no line, ticks or numbers
    _tick_length = -5  # pyqtgraph's default; tracks with label-only axes set 0

    def __init__(self) -> None:
        self.vb = TimeViewBox()
        self.plot = pg.PlotItem(viewBox=self.vb, axisItems={"bottom": TimeAxis("bottom")})
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.showAxis("bottom", False)
        self.plot.getAxis("left").setWidth(AXIS_W)
        for name in ("left", "bottom", "top", "right"):
            ax = self.plot.getAxis(name)
            ax.enableAutoSIPrefix(False)  # else every range change re-renders each axis' label HTML
            if name != "left":
                ax.unlinkFromView()  # hidden x axes need not follow the range (the time axis relinks)
        # The left axes only change with the y range or the height: draw them from a cached pixmap.
        self.plot.getAxis("left").setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.plot.layout.setContentsMargins(0, 0, 4, 0)
        self.vb.setDefaultPadding(0.0)
        self.vb.disableAutoRange()
        self.set_y_range(*self.y_range)
        self.label = pg.LabelItem("", justify="right")
        self.label.setMaximumWidth(LABEL_W)
        self.cursor = pg.InfiniteLine(0.0, angle=90, movable=False)
        self.cursor.setZValue(50)
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self.selection = pg.LinearRegionItem((0, 0), movable=False)
        self.selection.setZValue(-5)
        self.selection.hide()
        self.plot.addItem(self.selection, ignoreBounds=True)
        self.colors: dict[str, str] = theme.colors()

    # -- overridable ---------------------------------------------------------------------------
    def set_data(self, data: Any) -> None:
        """Draw ``data`` (a TimelineData); replaces what is shown."""

    def update_view(self, t0: float, t1: float, width_px: int) -> None:
        """Redraw what depends on the visible range (pooled images, text)."""

    def restyle(self) -> None:
        """Apply ``self.colors`` to the track's own items."""

    def hover_text(self, t: float, y: float) -> str:
        """What the mouse is over at time ``t``, height ``y`` (plain text for a tooltip; "" for none)."""
        return ""

    def has_data(self, data: Any) -> bool:
        """Whether ``data`` gives this track anything to draw (frames, by default)."""
        return data is not None and len(getattr(data, "t", ())) > 0

    # -- shared --------------------------------------------------------------------------------
    def set_empty(self, empty: bool) -> None:
        """An empty track shows no axis: without data, stacked tracks' numbers ran into each other."""
        self._empty = empty
        self._style_left_axis()

    def _shows_values(self) -> bool:
        """Whether the left axis writes its numbers when the track has data (overridable)."""
        return True

    def _style_left_axis(self) -> None:
        ax = self.plot.getAxis("left")
        ax.setStyle(showValues=self._shows_values() and not self._empty,
                    tickLength=0 if self._empty else self._tick_length)
        ax.setPen(pg.mkPen(None) if self._empty else pg.mkPen(self.colors["grid"]))

    def set_y_range(self, lo: float, hi: float) -> None:
        """Fix the y range; numeric tracks keep a margin so the end tick labels are not cut off."""
        self.y_range = (lo, hi)
        self._apply_y_range()

    def add_legend(self) -> Legend:
        """A colour key in the top-right corner, with the data range lowered to stay below it."""
        return Legend(self.vb, self._reserve_top)

    def _reserve_top(self, px: float) -> None:
        self._top_px = px
        self._apply_y_range()

    def _apply_y_range(self) -> None:
        """The y range plus its margin; when a legend sits on top, the range grows upwards so the
        highest value is drawn just below the legend (up to 60% of the plot's height)."""
        lo, hi = self.y_range
        pad = (hi - lo) * self.y_padding
        bottom, top = lo - pad, hi + pad
        height = float(self.vb.height())
        if self._top_px > 0 and height > 0:
            f = min((self._top_px + 1.0) / height, 0.6)
            top = max(top, (hi - f * bottom) / (1.0 - f))
        self.vb.setYRange(bottom, top, padding=0.0)

    def apply_colors(self, colors: dict[str, str]) -> None:
        """Take theme colours (missing names keep their defaults) and restyle."""
        self.colors = {**theme.colors(), **colors}
        fg = self.colors["fg"]
        for name in ("left", "bottom"):
            ax = self.plot.getAxis(name)
            ax.setPen(pg.mkPen(self.colors["grid"]))
            ax.setTextPen(pg.mkPen(fg))
        self._style_left_axis()
        self.cursor.setPen(pg.mkPen(self.colors["cursor"], width=2))
        self.selection.setBrush(pg.mkBrush(qcolor(self.colors["selection"])))
        for ln in self.selection.lines:
            ln.setPen(pg.mkPen(qcolor(self.colors["selection"][:7], 160)))
        self.restyle()
        self.retranslate()

    def retranslate(self) -> None:
        """Set the title (and its plain-language hint) through :func:`app.ui.i18n.tr`."""
        fg, muted = self.colors["fg"], self.colors.get("muted", self.colors["fg"])
        hint = f"<br><span style='font-size:7pt; color:{muted}'>{tr(self.hint)}</span>" if self.hint else ""
        self.label.setText(f"<b>{tr(self.title)}</b>{hint}", color=fg, size="8pt")

    def set_time_axis(self, visible: bool) -> None:
        """Show the time axis under this track (only the last track shows it)."""
        ax = self.plot.getAxis("bottom")
        self.plot.showAxis("bottom", visible)
        if visible:
            ax.setHeight(26)
            if ax.linkedView() is None:
                ax.linkToView(self.vb)
        elif ax.linkedView() is not None:
            ax.unlinkFromView()

