"""Voice tracks: waveform envelope, speaker turns with the transcript, deception risk and arousal."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from app.ui.i18n import N_, tr
from app.ui.timelines._base import Track, fast_curve, fmt_time, qcolor

#: At most this many transcript labels at once; zoomed further out, the bars alone show the turns.
MAX_TEXTS = 80
#: A bar narrower than this (pixels) gets no text.
MIN_TEXT_PX = 28


def _utterance_arrays(utts: list[dict], key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start, end and ``key`` of the utterances where ``key`` has a value."""
    rows = [(u["start_s"], u["end_s"], u[key]) for u in utts if u.get(key) is not None]
    if not rows:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    a = np.asarray(rows, np.float64)
    return a[:, 0], a[:, 1], a[:, 2]


def _steps(s: np.ndarray, e: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A step line that holds each utterance's value over its span and breaks between utterances."""
    x = np.column_stack([s, e, e]).ravel()
    y = np.column_stack([v, v, np.full_like(v, np.nan)]).ravel()
    return x, y


class WaveformTrack(Track):
    """The audio's min/max envelope (``waveform_envelope`` bins) as one line drawn from a min/max pyramid."""

    key = "waveform"
    title = N_("Waveform")
    stretch = 0.7
    y_range = (-1.0, 1.0)
    y_padding = 0.05

    def __init__(self) -> None:
        super().__init__()
        self.curve = fast_curve()
        self.plot.addItem(self.curve)
        self.plot.getAxis("left").setTicks([[(-1.0, ""), (0.0, "0"), (1.0, "")]])
        self.note = pg.TextItem("", anchor=(0.5, 0.5))
        self.note.setParentItem(self.vb)
        self.note.hide()
        self.vb.sigResized.connect(self._place_note)

    def set_data(self, data: Any) -> None:
        """Only notes when the recording has no audio; the envelope comes through ``set_waveform``."""
        self._show_note(not bool(getattr(data, "has_audio", True)))

    def has_data(self, data: Any) -> bool:
        """An envelope has been set (it comes after the case's data, from the audio file)."""
        return self._samples > 0

    _samples = 0

    def set_waveform(self, t: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        """One line sweeps each bin's min and max (the pyramid pools bins further when zoomed out)."""
        t = np.asarray(t, np.float64)
        self._samples = len(t)
        self.curve.setData(t, np.asarray(lo, np.float32), np.asarray(hi, np.float32))
        self._show_note(len(t) == 0)

    def restyle(self) -> None:
        """Waveform colour."""
        self.curve.setPen(pg.mkPen(self.colors.get("waveform", self.colors["fg"]), width=1))
        self.note.setColor(self.colors.get("muted", self.colors["fg"]))

    def retranslate(self) -> None:
        """Title and the no-audio note."""
        super().retranslate()
        self.note.setText(tr("No audio in this recording"))

    def _show_note(self, show: bool) -> None:
        self.note.setVisible(show)
        self._place_note()

    def _place_note(self) -> None:
        self.note.setPos(self.vb.width() / 2, self.vb.height() / 2)


class SpeechTrack(Track):
    """Speaker turns as bars (one row per speaker, the applicant's row marked) with the transcript
    written inside the bars; only utterances in view get text, elided to their bar."""

    key = "speech"
    _tick_length = 0  # speaker names only
    title = N_("Speakers")
    hint = N_("transcript inside turns")
    stretch = 1.0
    y_range = (0.0, 2.0)
    y_padding = 0.0

    def __init__(self) -> None:
        super().__init__()
        self.bars = pg.BarGraphItem(x0=[], x1=[], y0=[], y1=[])
        self.plot.addItem(self.bars)
        self.utts: list[dict] = []
        self.rows: dict[str, int] = {}
        self._s = np.zeros(0)
        self._e = np.zeros(0)
        self._texts: list[pg.TextItem] = []
        self.visible_texts: list[str] = []
        self._font = QtGui.QFont()
        self._font.setPointSizeF(7.5)
        self._applicant: set[str] = set()

    def has_data(self, data: Any) -> bool:
        return data is not None and bool(getattr(data, "utterances", None))

    def set_data(self, data: Any) -> None:
        """One bar per utterance; rows by speaker label, applicant first (top)."""
        self.utts = sorted(data.utterances or [], key=lambda u: u["start_s"])
        speakers = sorted({str(u.get("speaker") or "?") for u in self.utts})
        applicant = {str(u.get("speaker")) for u in self.utts if u.get("is_applicant")}
        speakers.sort(key=lambda s: (s not in applicant, s))
        n = max(len(speakers), 2)
        self.rows = {s: n - 1 - i for i, s in enumerate(speakers)}  # first speaker on the top row
        self._applicant = applicant
        self.set_y_range(0.0, float(n))
        self._s = np.asarray([u["start_s"] for u in self.utts], np.float64)
        self._e = np.asarray([u["end_s"] for u in self.utts], np.float64)
        self._draw_bars()
        self._ticks()
        self.retranslate()
        r = self.vb.viewRange()[0]
        self.update_view(r[0], r[1], int(self.vb.width()) or 1000)

    def update_view(self, t0: float, t1: float, width_px: int) -> None:
        """Place elided transcript text in the bars that are in view and wide enough."""
        self.visible_texts = []
        if not self.utts or t1 <= t0:
            self._hide_texts(0)
            return
        px_per_s = width_px / (t1 - t0)
        i0 = int(np.searchsorted(self._e, t0))  # utterances are sorted and do not overlap much
        i1 = int(np.searchsorted(self._s, t1))
        fm = QtGui.QFontMetrics(self._font)
        used = 0
        for i in range(i0, min(i1, len(self.utts))):
            if used >= MAX_TEXTS:
                break
            u = self.utts[i]
            a, b = max(u["start_s"], t0), min(u["end_s"], t1)
            w = (b - a) * px_per_s - 6
            text = (u.get("text") or "").strip()
            if w < MIN_TEXT_PX or not text:
                continue
            shown = fm.elidedText(text, QtCore.Qt.TextElideMode.ElideRight, int(w))
            if not shown or shown == "…":
                continue
            item = self._text_item(used)
            item.setText(shown)
            item.setPos(a, self.rows.get(str(u.get("speaker") or "?"), 0) + 0.5)
            item.show()
            self.visible_texts.append(shown)
            used += 1
        self._hide_texts(used)

    def hover_text(self, t: float, y: float) -> str:
        """The whole utterance under the mouse, with who said it and its scores."""
        for u in self.utts:
            if u["start_s"] <= t <= u["end_s"] and int(np.floor(y)) == self.rows.get(str(u.get("speaker") or "?")):
                who = str(u.get("speaker") or "?") + (f" ({tr('applicant')})" if u.get("is_applicant") else "")
                lines = [f"{who}  {fmt_time(u['start_s'])}–{fmt_time(u['end_s'])}", (u.get("text") or "").strip()]
                if u.get("deception_risk") is not None:
                    lines.append(f"{tr('Deception risk')} {u['deception_risk']:.2f}")
                if u.get("arousal") is not None:
                    lines.append(f"{tr('Arousal')} {u['arousal']:+.1f} SD")
                if u.get("arousal_level") is not None:
                    lines.append(f"{tr('Arousal level')} {u['arousal_level']:.2f} (0–1)")
                return "\n".join(line for line in lines if line)
        return ""

    def restyle(self) -> None:
        """Speaker colours and text colour."""
        self._draw_bars()
        for item in self._texts:
            item.setColor(self.colors["fg"])

    def retranslate(self) -> None:
        """Title, and a key saying which speaker is the applicant (in the applicant's colour)."""
        fg, muted = self.colors["fg"], self.colors.get("muted", self.colors["fg"])
        app_col = self.colors.get("applicant", "#E69F00")[:7]
        who = ", ".join(sorted(self._applicant))
        key = (f"<span style='color:{app_col}'>&#9632;</span> {who} = {tr('applicant')}" if who
               else tr(self.hint))
        self.label.setText(f"<b>{tr(self.title)}</b><br><span style='font-size:7pt; color:{muted}'>{key}</span>",
                           color=fg, size="8pt")

    # -- internals -----------------------------------------------------------------------------
    def _draw_bars(self) -> None:
        if not self.utts:
            # pyqtgraph 0.14 fails on empty ``pens`` lists: clear with the shared pen instead.
            self.bars.setOpts(x0=[], x1=[], y0=[], y1=[], brushes=None, pens=None, pen=None, brush=None)
            return
        app_col = self.colors.get("applicant", "#E69F00")
        other = self.colors.get("speaker_a", "#56B4E9")
        if other.lower() == app_col.lower():
            other = self.colors.get("speaker_b", "#999999")
        brush_app, brush_other = pg.mkBrush(qcolor(app_col, 120)), pg.mkBrush(qcolor(other, 110))
        pen_plain = pg.mkPen(qcolor(self.colors["fg"], 60), width=1)
        pen_base = pg.mkPen(self.colors.get("tier.Baseline", "#009E73"), width=2.5)
        rows = np.asarray([self.rows.get(str(u.get("speaker") or "?"), 0) for u in self.utts], np.float64)
        brushes = [brush_app if u.get("is_applicant") else brush_other for u in self.utts]
        pens = [pen_base if u.get("is_baseline") else pen_plain for u in self.utts]
        self.bars.setOpts(x0=self._s, x1=self._e, y0=rows + 0.08, y1=rows + 0.92, brushes=brushes, pens=pens)

    def _ticks(self) -> None:
        ax = self.plot.getAxis("left")
        ax.setTicks([[(row + 0.5, s) for s, row in self.rows.items()]])
        ax.setStyle(tickLength=0)

    def _text_item(self, k: int) -> pg.TextItem:
        while len(self._texts) <= k:
            item = pg.TextItem("", color=self.colors["fg"], anchor=(0, 0.5))
            item.setFont(self._font)
            item.setZValue(20)
            self.plot.addItem(item, ignoreBounds=True)
            self._texts.append(item)
        return self._texts[k]

    def _hide_texts(self, start: int) -> None:
        for item in self._texts[start:]:
            item.hide()


class _UtteranceValueTrack(Track):
    """A per-utterance value drawn as a step line over light bars from the zero line."""

    field = "deception_risk"
    color_key = "risk"

    def __init__(self) -> None:
        super().__init__()
        self.bars = pg.BarGraphItem(x0=[], x1=[], y0=[], y1=[])
        self.line = pg.PlotCurveItem(connect="finite")
        self.zero = pg.InfiniteLine(0.0, angle=0, movable=False)
        for item in (self.bars, self.line):
            self.plot.addItem(item)
        self.plot.addItem(self.zero, ignoreBounds=True)
        self.values = np.zeros(0)

    def has_data(self, data: Any) -> bool:
        return data is not None and bool(getattr(data, "utterances", None))

    def set_data(self, data: Any) -> None:
        """Steps per utterance that has a value (the interviewer's turns usually have none)."""
        s, e, v = _utterance_arrays(data.utterances or [], self.field)
        self.values = v
        self._range(v)
        x, y = _steps(s, e, v)
        self.line.setData(x, y)
        self.bars.setOpts(x0=s, x1=e, y0=np.zeros_like(v), y1=v)
        self.restyle()

    def restyle(self) -> None:
        """The series colour."""
        col = self.colors.get(self.color_key, "#D55E00")
        self.line.setPen(pg.mkPen(col, width=2))
        self.bars.setOpts(brush=pg.mkBrush(qcolor(col, 60)), pen=pg.mkPen(None))
        self.zero.setPen(pg.mkPen(qcolor(self.colors["grid"][:7]), width=1))

    def _range(self, v: np.ndarray) -> None:
        """Fixed y range; subclasses widen it to the data."""


class RiskTrack(_UtteranceValueTrack):
    """Deception risk per utterance (0-1, relative to the applicant's own baseline)."""

    key = "risk"
    title = N_("Deception risk")
    hint = N_("0–1, vs own baseline")
    field = "deception_risk"
    color_key = "risk"
    stretch = 0.9
    y_range = (0.0, 1.0)
    y_padding = 0.2  # room for the end labels inside the track

    def __init__(self) -> None:
        super().__init__()
        self.plot.getAxis("left").setTicks([[(0.0, "0"), (1.0, "1")], [(0.5, "")]])


class ArousalTrack(_UtteranceValueTrack):
    """Vocal arousal per utterance, in standard deviations from the applicant's baseline (0 = usual),
    with the absolute arousal level (0-1, against population norms) as a dashed line on the same
    axis: level 0 at the bottom, 0.5 on the zero line, 1 at the top."""

    key = "arousal"
    title = N_("Arousal")
    hint = N_("SD; dashes: level")
    field = "arousal"
    color_key = "arousal"
    stretch = 0.9
    y_range = (-3.0, 3.0)
    y_padding = 0.2

    def __init__(self) -> None:
        super().__init__()
        self.level = pg.PlotCurveItem(connect="finite")
        self.plot.addItem(self.level)
        self.lim = 3.0
        self.level_values = np.zeros(0)

    def set_data(self, data: Any) -> None:
        """The baseline-relative steps, then the absolute level mapped onto the same axis."""
        super().set_data(data)
        s, e, v = _utterance_arrays(data.utterances or [], "arousal_level")
        self.level_values = v
        self.level.setData(*_steps(s, e, (2.0 * v - 1.0) * self.lim))

    def restyle(self) -> None:
        super().restyle()
        col = self.colors.get(self.color_key, "#0072B2")
        self.level.setPen(pg.mkPen(col, width=1.5, style=QtCore.Qt.PenStyle.DashLine))

    def _range(self, v: np.ndarray) -> None:
        finite = np.abs(v[np.isfinite(v)]) if len(v) else np.zeros(0)
        lim = float(max(3.0, math.ceil(finite.max()))) if len(finite) else 3.0
        self.lim = lim
        self.set_y_range(-lim, lim)
        self.plot.getAxis("left").setTicks([[(-lim, f"{-lim:g}"), (0.0, "0"), (lim, f"+{lim:g}")]])
