"""``TimelineView``: the stacked, time-synchronised tracks and the annotation lanes under them.

One ``GraphicsLayoutWidget``: column 0 holds the track titles, column 1 the plots, every plot's x
linked to the first, so a single time axis (under the last row) serves them all. The view draws
what :class:`app.services.timeline.TimelineData` holds and edits annotations only through an
:class:`app.services.review.AnnotationStack`; it computes no scores.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from app.ui import i18n, theme
from app.ui.timelines._aus import AUHeatTrack, AULinesTrack
from app.ui.timelines._base import LABEL_W, Track
from app.ui.timelines._expression import ExpressionTrack
from app.ui.timelines._forgery import ForgeryTrack
from app.ui.timelines._editing import AnnotationEditing
from app.ui.timelines._lanes import AnnotationLane
from app.ui.timelines._reference import ReferenceAUTrack, sync_tracks
from app.ui.timelines._voice import ArousalTrack, RiskTrack, SpeechTrack, WaveformTrack

if TYPE_CHECKING:
    from app.services.review import AnnotationStack
    from app.services.timeline import TimelineData


# Antialiasing and OpenGL off: with an hour of data, plain raster drawing is what stays smooth.
pg.setConfigOptions(antialias=False, useOpenGL=False)

#: Height of the time axis under the last row, pixels.
AXIS_H = 26
#: Narrowest time span the view zooms into, seconds (about 6 frames at 30 fps).
MIN_SPAN_S = 0.2
_ARRAYS = ("t", "frame", "usable", "expressions", "aus", "forgery")


class TimelineView(AnnotationEditing, QtWidgets.QWidget):
    """Stacked tracks on one time axis (seconds), a shared cursor, and one annotation lane per tier.

    Mouse: click or drag on a track seeks (the cursor follows); Shift+drag selects a span; the wheel
    zooms time around the mouse; right/middle drag or a drag on the time axis pans. Keys (while the
    timeline has focus): ``+``/``-`` zoom, Delete removes the selected annotation.
    """

    seekRequested = QtCore.Signal(float)
    intervalSelected = QtCore.Signal(float, float)
    annotationSelected = QtCore.Signal(object)
    #: A plain-language message for the status bar (an edit the stack refused, "press I first").
    messageRequested = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.glw.ci.setSpacing(0)
        self.glw.ci.setContentsMargins(2, 2, 8, 2)
        self.glw.installEventFilter(self)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.glw)
        self.setMinimumHeight(360)
        self.expression = ExpressionTrack()
        self.au_heat = AUHeatTrack()
        self.au_lines = AULinesTrack()
        self.forgery = ForgeryTrack()
        self.waveform = WaveformTrack()
        self.speech = SpeechTrack()
        self.risk = RiskTrack()
        self.arousal = ArousalTrack()
        self.tracks: list[Track] = [self.expression, self.au_heat, self.au_lines, self.forgery, self.waveform,
                                    self.speech, self.risk, self.arousal]
        self.lanes: list[AnnotationLane] = []
        self.follow = True
        self._data: Any = None
        self._cursor = 0.0
        self._duration = 60.0
        self._stack: AnnotationStack | None = None
        self._tiers: list[dict] = []
        self._current_tier: int | None = None
        self._mark_in: float | None = None
        self._selected: dict | None = None
        self._view_timer = QtCore.QTimer(self)
        self._view_timer.setSingleShot(True)
        self._view_timer.setInterval(0)  # coalesce the many range changes of one drag into one redraw
        self._view_timer.timeout.connect(self._update_views)
        for tr_ in self.tracks:
            self._wire(tr_)
        self.tracks[0].vb.sigXRangeChanged.connect(self._view_timer.start)
        self.tracks[0].vb.sigResized.connect(self._view_timer.start)
        # Tooltips follow the mouse at most 30 times a second (pyqtgraph's crosshair example).
        self._hover = pg.SignalProxy(self.glw.scene().sigMouseMoved, rateLimit=30, slot=self._on_hover)
        self._layout()
        self.apply_colors(theme.colors())
        self._show_empty()
        i18n.notifier().changed.connect(self.retranslate)
        theme.notifier().changed.connect(self._on_theme)
        self.show_range(0.0, self._duration)

    # -- data ------------------------------------------------------------------------------------
    def set_data(self, data: TimelineData) -> None:
        """Replace everything shown with ``data`` and show its whole duration."""
        self._data = data
        if sync_tracks(self, data):  # another tool's imported AUs: a track of their own
            self._layout()
        for track in self.tracks:
            track.set_data(data)
        self._set_duration(data)
        self.show_range(0.0, self._duration)
        self._update_views()
        self._show_empty()

    def _show_empty(self) -> None:
        """Tracks without data show no axis (their numbers would stack beside the titles)."""
        for track in self.tracks:
            track.set_empty(not track.has_data(self._data))

    def append_data(self, data: TimelineData) -> None:
        """Add rows that came after what is shown (live analysis); the visible range stays."""
        if self._data is None or len(self._data.t) == 0:
            x0, x1 = self.view_range()
            self.set_data(data)
            if self._data is not None and len(data.t) and x1 - x0 > MIN_SPAN_S and self._duration > x1:
                self.show_range(x0, x1)
            return
        old = self._data
        merged: dict[str, Any] = {k: np.concatenate([np.asarray(getattr(old, k)), np.asarray(getattr(data, k))])
                                  for k in _ARRAYS}
        merged["cues"] = {k: np.concatenate([np.asarray(v), np.asarray((data.cues or {}).get(k, np.full(
            len(data.t), np.nan, np.float32)))]) for k, v in (old.cues or {}).items()}
        utts = {u["idx"]: u for u in (old.utterances or [])}
        utts.update({u["idx"]: u for u in (data.utterances or [])})
        merged["utterances"] = sorted(utts.values(), key=lambda u: u["start_s"])
        merged["forgery_windows"] = data.forgery_windows or old.forgery_windows
        merged["duration_s"] = max(float(old.duration_s or 0.0), float(data.duration_s or 0.0))
        x0, x1 = self.view_range()
        showing_all = x1 >= self._duration - 1e-6
        self._data = dataclasses.replace(old, **merged)
        for track in self.tracks:
            track.set_data(self._data)
        self._set_duration(self._data)
        # While the reviewer watches everything analysed so far, keep watching everything as it grows.
        self.show_range(x0, self._duration if showing_all else x1)
        self._update_views()
        self._show_empty()

    def set_waveform(self, t: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        """The audio envelope from :func:`app.services.timeline.waveform_envelope`."""
        self.waveform.set_waveform(t, lo, hi)
        self.waveform.set_empty(not self.waveform.has_data(self._data))

    def data(self) -> Any:
        """The TimelineData shown (None before ``set_data``)."""
        return self._data

    # -- tracks --------------------------------------------------------------------------------
    def set_selected_aus(self, names: list[str]) -> None:
        """Which AUs the "Selected AUs" track (and each imported tool's AU track) draws (e.g. ``["AU06", "AU12"]``)."""
        self.au_lines.set_selected(names)
        for track in self.reference_tracks():
            track.set_selected(names)

    def reference_tracks(self) -> list[ReferenceAUTrack]:
        """The tracks of other tools' imported AUs (``vigil import-au``), in order."""
        return [t for t in self.tracks if isinstance(t, ReferenceAUTrack)]

    def selected_aus(self) -> list[str]:
        """The AUs drawn as lines."""
        return list(self.au_lines.selected)

    def set_expression_mode(self, mode: str) -> None:
        """``"stacked"`` probabilities or the dominant-class ``"band"``."""
        self.expression.set_mode(mode)

    def expression_mode(self) -> str:
        """``"stacked"`` or ``"band"``."""
        return self.expression.mode

    def all_tracks(self) -> list[Track]:
        """Every row, tracks first then lanes."""
        return [*self.tracks, *self.lanes]

    # -- cursor and navigation -----------------------------------------------------------------
    def set_cursor(self, t: float) -> None:
        """Move every track's cursor; when following, page the view so the cursor stays in it."""
        self._cursor = float(t)
        for track in self.all_tracks():
            track.cursor.setValue(self._cursor)
        if self.follow:
            x0, x1 = self.view_range()
            if not (x0 <= self._cursor <= x1):
                w = x1 - x0
                self.show_range(self._cursor - 0.1 * w, self._cursor + 0.9 * w)

    def cursor(self) -> float:
        """The cursor time in seconds."""
        return self._cursor

    def zoom(self, factor: float) -> None:
        """Zoom time by ``factor`` (2 shows half as many seconds) around the cursor, or the middle."""
        if factor <= 0:
            return
        x0, x1 = self.view_range()
        c = self._cursor if x0 <= self._cursor <= x1 else (x0 + x1) / 2
        w = max((x1 - x0) / factor, MIN_SPAN_S)
        f = (c - x0) / (x1 - x0) if x1 > x0 else 0.5
        self.show_range(c - f * w, c + (1 - f) * w)

    def pan(self, seconds: float) -> None:
        """Shift the visible range by ``seconds`` (negative: earlier)."""
        x0, x1 = self.view_range()
        self.show_range(x0 + seconds, x1 + seconds)

    def show_range(self, t0: float, t1: float) -> None:
        """Show ``[t0, t1]`` seconds (clamped to the recording)."""
        if t1 - t0 < MIN_SPAN_S:
            c = (t0 + t1) / 2
            t0, t1 = c - MIN_SPAN_S / 2, c + MIN_SPAN_S / 2
        self.tracks[0].vb.setXRange(float(t0), float(t1), padding=0.0)

    def view_range(self) -> tuple[float, float]:
        """The visible time range ``(t0, t1)`` in seconds."""
        x0, x1 = self.tracks[0].vb.viewRange()[0]
        return float(x0), float(x1)

    # -- theme and language --------------------------------------------------------------------
    def apply_colors(self, colors: dict[str, str]) -> None:
        """Theme colours (from :func:`app.ui.theme.colors`) on every track."""
        self._colors = dict(colors)
        self.glw.setBackground(colors.get("bg", "#ffffff"))
        for track in self.all_tracks():
            track.apply_colors(colors)

    def _on_theme(self, *_: Any) -> None:
        self.apply_colors(theme.colors())

    def retranslate(self, *_: Any) -> None:
        """Track titles, legends and hints in the current language."""
        for track in self.all_tracks():
            track.retranslate()
        self._view_timer.start()

    # -- Qt events -----------------------------------------------------------------------------
    def resizeEvent(self, ev: Any) -> None:  # noqa: N802
        super().resizeEvent(ev)
        self._row_heights()

    def keyPressEvent(self, ev: Any) -> None:  # noqa: N802
        if not self._key(ev):
            super().keyPressEvent(ev)

    def eventFilter(self, obj: Any, ev: Any) -> bool:  # noqa: N802
        if obj is self.glw and ev.type() == QtCore.QEvent.Type.KeyPress and self._key(ev):
            return True
        return super().eventFilter(obj, ev)

    # -- internals -----------------------------------------------------------------------------
    def _key(self, ev: Any) -> bool:
        k = ev.key()
        if k in (QtCore.Qt.Key.Key_Plus, QtCore.Qt.Key.Key_Equal):
            self.zoom(2.0)
        elif k in (QtCore.Qt.Key.Key_Minus, QtCore.Qt.Key.Key_Underscore):
            self.zoom(0.5)
        elif k in (QtCore.Qt.Key.Key_Delete, QtCore.Qt.Key.Key_Backspace):
            return self.delete_selected()
        else:
            return False
        return True

    def _wire(self, track: Track) -> None:
        track.vb.sigSeek.connect(self._on_seek)
        track.vb.sigSelect.connect(self._on_select_span)
        if track is not self.tracks[0]:
            track.plot.setXLink(self.tracks[0].plot)

    def _layout(self) -> None:
        ci = self.glw.ci
        ci.clear()
        rows = self.all_tracks()
        for r, track in enumerate(rows):
            ci.addItem(track.label, row=r, col=0)
            ci.addItem(track.plot, row=r, col=1)
            track.set_time_axis(r == len(rows) - 1)
            track.cursor.setValue(self._cursor)
        ci.layout.setColumnFixedWidth(0, LABEL_W)
        ci.layout.setColumnStretchFactor(1, 1)
        # Re-adding rows makes Qt shrink the central item to its minimum; give it the view back.
        ci.setGeometry(self.glw.range)
        self._row_heights()

    def _row_heights(self) -> None:
        rows = self.all_tracks()
        h = max(self.glw.height() - 6 - AXIS_H, 100)
        unit = h / sum(t.stretch for t in rows)
        for r, track in enumerate(rows):
            px = track.stretch * unit + (AXIS_H if r == len(rows) - 1 else 0)
            self.glw.ci.layout.setRowFixedHeight(r, px)
        self._view_timer.start()

    def _set_duration(self, data: Any) -> None:
        t = np.asarray(data.t)
        dur = float(data.duration_s or 0.0)
        if len(t):
            dur = max(dur, float(t[-1]))
        if data.utterances:
            dur = max(dur, max(float(u["end_s"]) for u in data.utterances))
        self._duration = dur if dur > 0 else 60.0
        for track in self.all_tracks():
            track.vb.setLimits(**self._limits())

    def _limits(self) -> dict[str, float]:
        pad = max(self._duration * 0.02, 0.5)
        return {"xMin": -pad, "xMax": self._duration + pad, "minXRange": MIN_SPAN_S}

    def _update_views(self) -> None:
        x0, x1 = self.view_range()
        width = int(self.tracks[0].vb.width()) or 1000
        for track in self.all_tracks():
            track.update_view(x0, x1, width)

    def _on_hover(self, args: tuple) -> None:
        pos = args[0]
        for track in self.all_tracks():
            if track.vb.sceneBoundingRect().contains(pos):
                p = track.vb.mapSceneToView(pos)
                text = track.hover_text(float(p.x()), float(p.y()))
                if text:
                    QtWidgets.QToolTip.showText(QtGui.QCursor.pos(), text, self.glw)
                    return
        QtWidgets.QToolTip.hideText()

    def _on_seek(self, t: float) -> None:
        t = min(max(float(t), 0.0), self._duration)
        for track in self.all_tracks():
            track.selection.hide()
        self.set_cursor(t)
        self.seekRequested.emit(t)

    def _on_select_span(self, t0: float, t1: float, finished: bool) -> None:
        t0, t1 = max(t0, 0.0), min(t1, self._duration)
        for track in self.all_tracks():
            track.selection.setRegion((t0, t1))
            track.selection.show()
        if finished and t1 > t0:
            self.intervalSelected.emit(t0, t1)
