"""Min/max pyramids, and the plot item that draws a long series from them.

An hour at 30 fps is 108 000 samples per series. Instead of scanning them on every repaint (what
pyqtgraph's clip-to-view + peak downsampling does), each series keeps a pyramid: level ``k`` holds
the minimum and the maximum of every block of ``2**k`` samples (NaN only where the whole block is
NaN). A repaint picks the level with at most one block per pixel column and draws only the blocks
in view, so it costs the same at a minute or an hour of data and a spike one frame long still shows.
Pooling to the screen is presentation, not analysis.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems.PlotCurveItem import arrayToLineSegments
from PySide6 import QtCore, QtGui

#: Levels stop when a level has this few blocks.
_MIN_BLOCKS = 64


def _halve(a: np.ndarray, op: Any) -> np.ndarray:
    """``op`` of neighbouring pairs along axis 0 (an odd last element is kept as it is)."""
    m = len(a) // 2 * 2
    out = op(a[0:m:2], a[1:m:2])
    return np.concatenate([out, a[m:]]) if m < len(a) else out


class Pyramid:
    """Per-level block starts ``x``, minima ``lo`` and maxima ``hi`` of a series sorted by ``x``.

    ``lo`` and ``hi`` may be 2-D (samples x channels, e.g. the 25 AUs); ``hi`` defaults to ``lo``
    (a plain series), or is a separate upper envelope (the audio's per-bin min/max).
    """

    def __init__(self, x: np.ndarray, lo: np.ndarray, hi: np.ndarray | None = None, *,
                 need_lo: bool = True) -> None:
        x = np.asarray(x, np.float64)
        lo = np.asarray(lo)
        hi = lo if hi is None else np.asarray(hi)
        self.levels: list[tuple[np.ndarray, np.ndarray | None, np.ndarray]] = [(x, lo if need_lo else None, hi)]
        while len(x) > _MIN_BLOCKS:
            x = x[0::2]
            lo = _halve(lo, np.fmin) if need_lo else lo
            hi = _halve(hi, np.fmax)
            self.levels.append((x, lo if need_lo else None, hi))
        x0 = self.levels[0][0]
        self.dt = float(np.median(np.diff(x0[:200]))) if len(x0) > 1 else 1.0 / 30.0
        self.end = float(x0[-1]) + self.dt if len(x0) else 0.0

    def __len__(self) -> int:
        return len(self.levels[0][0])

    def window(self, x0: float, x1: float, width_px: int) -> tuple[int, int, int]:
        """``(level, j0, j1)``: the coarsest level needed for ``width_px`` columns over ``[x0, x1]``
        and the blocks of that level that cover it (one extra on each side, to draw to the edge)."""
        xs = self.levels[0][0]
        i0, i1 = np.searchsorted(xs, (x0, x1))
        n = max(int(i1 - i0), 1)
        k = min(max(0, math.ceil(math.log2(n / max(width_px, 1)))) if n > width_px else 0, len(self.levels) - 1)
        xk = self.levels[k][0]
        j0 = max(int(np.searchsorted(xk, x0, "right")) - 2, 0)
        j1 = min(int(np.searchsorted(xk, x1)) + 1, len(xk))
        return k, j0, j1

    def block_ends(self, k: int, j0: int, j1: int) -> np.ndarray:
        """Where the blocks ``j0:j1`` of level ``k`` end (the next block's start; the data's end last)."""
        xk = self.levels[k][0]
        return np.append(xk[j0 + 1:j1], xk[j1] if j1 < len(xk) else self.end)


def _polygon(x: np.ndarray, y: np.ndarray) -> QtGui.QPolygonF:
    poly = pg.functions.create_qpolygonf(len(x))
    arr = pg.functions.ndarray_from_qpolygonf(poly)
    arr[:, 0] = x
    arr[:, 1] = y
    return poly


class SeriesItem(pg.GraphicsObject):
    """A line (``fill_level=None``) or an area filled down to ``fill_level``, drawn from a :class:`Pyramid`.

    Zoomed out, a line sweeps each column's min and max (the envelope stays exact); an area is
    filled up to each column's max. ``step=True`` draws an area as flat steps over whole samples,
    so a one-sample spike of an indicator (no usable face) keeps at least one pixel. NaN breaks a
    line; an area treats NaN as ``fill_level``. Only the blocks in view are turned into a path,
    and the path is kept until the view or the data changes.
    """

    def __init__(self, pen: Any = "w", brush: Any = None, fill_level: float | None = None,
                 step: bool = False) -> None:
        super().__init__()
        self._pen = pg.mkPen(pen) if pen is not None else None
        self._brush = pg.mkBrush(brush) if brush is not None else None
        self.fill_level = fill_level
        self.step = step
        self.pyramid: Pyramid | None = None
        self.envelope = False
        self._bounds = QtCore.QRectF()
        self._key: tuple | None = None
        self._line: Any = None  # a QPainterPath, or line segments for a wide pen
        self._fill: QtGui.QPolygonF | None = None
        self._shown: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))

    # -- data and style ------------------------------------------------------------------------
    def setData(self, x: Any, y: Any, hi: Any = None, **_: Any) -> None:  # noqa: N802 - pyqtgraph's name
        """The samples (``x`` ascending); with ``hi``, ``y`` is the lower and ``hi`` the upper envelope."""
        x = np.asarray(x, np.float64)
        y = np.asarray(y, np.float32)
        self.envelope = hi is not None
        filled = self.fill_level is not None
        if filled:
            y = np.where(np.isfinite(y), y, np.float32(self.fill_level))
        self.pyramid = Pyramid(x, y, None if hi is None else np.asarray(hi, np.float32),
                               need_lo=not filled) if len(x) else None
        self.prepareGeometryChange()
        self._bounds = self._data_bounds(x, y, hi, self.fill_level)
        self._key = None
        self.update()

    def clear(self) -> None:
        """Draw nothing."""
        self.setData(np.zeros(0), np.zeros(0))

    def setPen(self, *args: Any, **kw: Any) -> None:  # noqa: N802
        """The line's pen (``None``: no line)."""
        self._pen = pg.mkPen(*args, **kw) if args and args[0] is not None or kw else None
        self._key = None  # thin and wide pens are drawn from different primitives
        self.update()

    def setBrush(self, *args: Any, **kw: Any) -> None:  # noqa: N802
        """The area's brush."""
        self._brush = pg.mkBrush(*args, **kw)
        self.update()

    def shown_points(self) -> tuple[np.ndarray, np.ndarray]:
        """The ``(x, y)`` of the line or outline drawn last (what reached the screen, not the data)."""
        return self._shown

    # -- QGraphicsItem -------------------------------------------------------------------------
    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802
        return self._bounds

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange: Any = None) -> tuple[float, float] | None:  # noqa: N802,N803
        """pyqtgraph's auto-range hook (the tracks use fixed ranges; kept for completeness)."""
        if self._bounds.isNull():
            return None
        r = self._bounds
        return (r.left(), r.right()) if ax == 0 else (r.top(), r.bottom())

    def paint(self, p: QtGui.QPainter, *_: Any) -> None:
        vb = self.getViewBox()
        if self.pyramid is None or vb is None:
            return
        (x0, x1), _y = vb.viewRange()
        px = abs(p.transform().m11()) * (x1 - x0)  # pixel columns the view spans
        key = self.pyramid.window(x0, x1, int(px) or 1000)
        if key != self._key:
            self._build(*key)
            self._key = key
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        if self._fill is not None and self._brush is not None:
            p.setPen(QtCore.Qt.PenStyle.NoPen)
            p.setBrush(self._brush)
            p.drawPolygon(self._fill)
        if self._line is not None and self._pen is not None:
            p.setPen(self._pen)
            p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
            if isinstance(self._line, QtGui.QPainterPath):
                p.drawPath(self._line)
            else:  # a wide pen: separate segments (Qt strokes a dense path of wide lines 100x slower)
                p.drawLines(*self._line.drawargs())

    # -- internals -----------------------------------------------------------------------------
    def _build(self, k: int, j0: int, j1: int) -> None:
        xk, lo, hi = self.pyramid.levels[k]
        x, hi = xk[j0:j1], hi[j0:j1]
        if self.fill_level is not None:
            if self.step:
                ends = self.pyramid.block_ends(k, j0, j1)
                x = np.column_stack([x, ends]).ravel()
                hi = np.repeat(hi, 2)
            self._shown = (x, hi)
            if len(x) == 0:
                self._fill, self._line = None, None
                return
            base = float(self.fill_level)
            self._fill = _polygon(np.concatenate([[x[0]], x, [x[-1]]]), np.concatenate([[base], hi, [base]]))
            self._line = self._line_of(x, hi.astype(np.float64)) if self._pen is not None else None
            return
        if k > 0 or self.envelope:  # sweep each block's min and max
            lo = lo[j0:j1]
            x = np.repeat(x, 2)
            y = np.column_stack([lo, hi]).ravel()
        else:
            y = hi
        self._shown = (x, y)
        self._fill = None
        self._line = self._line_of(x, y.astype(np.float64))

    def _line_of(self, x: np.ndarray, y: np.ndarray) -> Any:
        """A path for thin pens; line segments for opaque wide ones (as pyqtgraph's PlotCurveItem does)."""
        pen = self._pen
        if pen is not None and pen.widthF() > 1.0 and pen.color().alpha() == 255 and pen.isSolid():
            return arrayToLineSegments(x, y, connect="finite", finiteCheck=True)
        return pg.arrayToQPath(x, y, connect="finite")

    @staticmethod
    def _data_bounds(x: np.ndarray, y: np.ndarray, hi: Any, fill: float | None) -> QtCore.QRectF:
        if len(x) == 0:
            return QtCore.QRectF()
        ys = y if hi is None else np.concatenate([y, np.asarray(hi, np.float32)])
        fin = ys[np.isfinite(ys)]
        lo_y, hi_y = (float(fin.min()), float(fin.max())) if len(fin) else (0.0, 0.0)
        if fill is not None:
            lo_y, hi_y = min(lo_y, fill), max(hi_y, fill)
        return QtCore.QRectF(float(x[0]), lo_y, max(float(x[-1] - x[0]), 1e-9), max(hi_y - lo_y, 1e-9))
