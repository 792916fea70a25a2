"""Annotation lanes: one per tier, with editable interval regions and point markers.

Follows mne-qt-browser's ``AnnotRegion``: each interval is a ``LinearRegionItem`` subclass; a drag
that finishes is turned into an ``AnnotationStack.update`` command (glue-style, undoable), and when
the stack reports a change the lane resets its regions under ``QSignalBlocker`` so that setting a
region programmatically never writes back to the database.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from app.ui.i18n import tr
from app.ui.timelines._base import LABEL_W, Track, qcolor

EditFn = Callable[[int, float, float], None]
SelectFn = Callable[[dict | None], None]


class AnnotRegion(pg.LinearRegionItem):
    """An interval annotation: drag the body or an edge to change it; a click selects it."""

    sigSelected = QtCore.Signal(object)  # self

    def __init__(self, ann: dict, color: str) -> None:
        super().__init__((ann["start_s"], ann["end_s"]), movable=True, swapMode="sort")
        self.ann = ann
        self.color = color
        self.selected = False
        self.text = pg.TextItem("", anchor=(0, 0.5))
        self.text.setParentItem(self)
        self.style()

    def set_ann(self, ann: dict) -> None:
        """Take the stored values; never emits (the stack already knows them)."""
        self.ann = ann
        with QtCore.QSignalBlocker(self):
            self.setRegion((ann["start_s"], ann["end_s"]))

    def in_place(self) -> bool:
        """Whether the region is where its row says (a refused drag leaves it elsewhere)."""
        a, b = self.getRegion()
        return bool(np.isclose(a, self.ann["start_s"]) and np.isclose(b, self.ann["end_s"]))

    def style(self, fg: str = "#1A1A1A") -> None:
        """Brush by tier colour; the selected one is stronger and outlined."""
        self.setBrush(pg.mkBrush(qcolor(self.color, 150 if self.selected else 85)))
        self.setHoverBrush(pg.mkBrush(qcolor(self.color, 170)))
        for line in self.lines:
            line.setPen(pg.mkPen(qcolor(self.color), width=3 if self.selected else 1.5))
            line.setHoverPen(pg.mkPen(qcolor(self.color), width=4))
        self.text.setColor(fg)

    def mouseClickEvent(self, ev: Any) -> None:  # noqa: N802
        if ev.button() == QtCore.Qt.MouseButton.LeftButton and not self.moving:
            ev.accept()
            self.sigSelected.emit(self)
            return
        super().mouseClickEvent(ev)


class PointMarker(pg.InfiniteLine):
    """A point annotation: a vertical line with its label; drag to move it, click to select it."""

    sigSelected = QtCore.Signal(object)  # self

    def __init__(self, ann: dict, color: str) -> None:
        super().__init__(ann["start_s"], angle=90, movable=True,
                         label="", labelOpts={"position": 0.5, "anchors": [(0, 0.5), (0, 0.5)]})
        self.ann = ann
        self.color = color
        self.selected = False
        self.style()

    def set_ann(self, ann: dict) -> None:
        """Take the stored values without emitting."""
        self.ann = ann
        with QtCore.QSignalBlocker(self):
            self.setValue(ann["start_s"])

    def in_place(self) -> bool:
        """Whether the marker is where its row says."""
        return bool(np.isclose(float(self.value()), self.ann["start_s"]))

    def style(self, fg: str = "#1A1A1A") -> None:
        """Thicker when selected."""
        self.setPen(pg.mkPen(qcolor(self.color), width=4 if self.selected else 2.5))
        self.setHoverPen(pg.mkPen(qcolor(self.color), width=5))
        if self.label is not None:
            self.label.setColor(fg)

    def mouseClickEvent(self, ev: Any) -> None:  # noqa: N802
        if ev.button() == QtCore.Qt.MouseButton.LeftButton and not self.moving:
            ev.accept()
            self.sigSelected.emit(self)
            return
        super().mouseClickEvent(ev)


class _TierLabel(pg.LabelItem):
    """The lane title; clicking it makes the tier current (where M, I and O add annotations)."""

    def __init__(self, on_click: Callable[[], None]) -> None:
        super().__init__("", justify="right")
        self._on_click = on_click

    def mouseClickEvent(self, ev: Any) -> None:  # noqa: N802
        if ev.button() == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            self._on_click()


class AnnotationLane(Track):
    """One tier's annotations. Edits go out through ``on_edit(id, start, end)``; clicks through
    ``on_select(ann)``; the lane itself never writes."""

    stretch = 0.5
    y_range = (0.0, 1.0)
    y_padding = 0.0

    def __init__(self, tier: dict, on_edit: EditFn, on_select: SelectFn, on_make_current: Callable[[int], None]) -> None:
        super().__init__()
        self.tier = tier
        self.key = f"tier:{tier['id']}"
        self.title = str(tier["name"])
        self.current = False
        self._on_edit, self._on_select = on_edit, on_select
        self.label = _TierLabel(lambda: on_make_current(int(self.tier["id"])))
        self.label.setMaximumWidth(LABEL_W)
        self.items: dict[int, AnnotRegion | PointMarker] = {}
        #: The rows last given to ``set_annotations`` (the view skips lanes whose rows did not change).
        self.rows: list[dict] = []
        self.selected_id: int | None = None
        self.mark_in_line = pg.InfiniteLine(0.0, angle=90, movable=False)
        self.mark_in_line.hide()
        self.plot.addItem(self.mark_in_line, ignoreBounds=True)
        self.plot.getAxis("left").setTicks([[]])
        self.separator = pg.InfiniteLine(0.0, angle=0, movable=False)  # a faint line between tiers
        self.plot.addItem(self.separator, ignoreBounds=True)
        self._font = QtGui.QFont()
        self._font.setPointSizeF(7.5)

    @property
    def color(self) -> str:
        """The tier's own colour, else the theme's colour for a default tier."""
        return self.tier.get("color") or self.colors.get(f"tier.{self.tier['name']}", "#56B4E9")

    def set_annotations(self, anns: list[dict]) -> None:
        """Create, update (signals blocked) and remove items to match ``anns`` (this tier's rows).

        Items whose row did not change are left alone; only new or changed ones get their text.
        """
        self.rows = [dict(a) for a in anns]
        seen = set()
        touched: list[AnnotRegion | PointMarker] = []
        for ann in anns:
            ann_id = int(ann["id"])
            seen.add(ann_id)
            point = float(ann["end_s"]) <= float(ann["start_s"])
            item = self.items.get(ann_id)
            if item is not None and isinstance(item, PointMarker) != point:
                self._remove(ann_id)
                item = None
            if item is not None and item.ann == ann and item.in_place():
                continue
            if item is None:
                item = PointMarker(ann, self.color) if point else AnnotRegion(ann, self.color)
                item.sigSelected.connect(self._clicked)
                if isinstance(item, AnnotRegion):
                    item.sigRegionChangeFinished.connect(self._region_finished)
                else:
                    item.sigPositionChangeFinished.connect(self._point_finished)
                self.plot.addItem(item, ignoreBounds=True)
                self.items[ann_id] = item
            else:
                item.set_ann(ann)
            item.selected = ann_id == self.selected_id
            item.style(self.colors["fg"])
            touched.append(item)
        for ann_id in set(self.items) - seen:
            self._remove(ann_id)
        if self.selected_id not in self.items:
            self.selected_id = None
        if touched:
            r = self.vb.viewRange()[0]
            self._label_items(touched, r[0], r[1], int(self.vb.width()) or 1000)

    def select(self, ann_id: int | None) -> None:
        """Highlight one annotation (or none)."""
        self.selected_id = ann_id if ann_id in self.items else None
        for k, item in self.items.items():
            item.selected = k == self.selected_id
            item.style(self.colors["fg"])

    def show_mark_in(self, t: float | None) -> None:
        """A dashed line where I was pressed, until O completes the interval."""
        if t is None:
            self.mark_in_line.hide()
        else:
            self.mark_in_line.setValue(t)
            self.mark_in_line.show()

    def update_view(self, t0: float, t1: float, width_px: int) -> None:
        """Elide each interval's label to the width of its region on screen."""
        self._label_items(list(self.items.values()), t0, t1, width_px)

    def _label_items(self, items: list[AnnotRegion | PointMarker], t0: float, t1: float, width_px: int) -> None:
        if t1 <= t0:
            return
        px_per_s = width_px / (t1 - t0)
        fm = QtGui.QFontMetrics(self._font)
        for item in items:
            text = _ann_text(item.ann)
            if isinstance(item, PointMarker):
                item.label.setFont(self._font)
                item.label.setText(text)
                continue
            a, b = item.getRegion()
            w = (min(b, t1) - max(a, t0)) * px_per_s - 6
            shown = fm.elidedText(text, QtCore.Qt.TextElideMode.ElideRight, int(w)) if w > 16 else ""
            item.text.setFont(self._font)
            item.text.setText(shown)
            item.text.setPos(max(a, t0), 0.5)

    def restyle(self) -> None:
        """Tier colour on every item and on the in-point line."""
        for item in self.items.values():
            item.color = self.color
            item.style(self.colors["fg"])
        self.mark_in_line.setPen(pg.mkPen(qcolor(self.color), width=2, style=QtCore.Qt.PenStyle.DashLine))
        self.separator.setPen(pg.mkPen(qcolor(self.colors["grid"][:7]), width=1))

    def retranslate(self) -> None:
        """Tier name (default tiers are translated), a swatch of its colour, and the current-tier mark."""
        fg = self.colors["fg"]
        name = tr(self.title)
        mark = "▸ " if self.current else ""
        weight = "bold" if self.current else "normal"
        self.label.setText(f"<span style='font-weight:{weight}'>{mark}{name}</span> "
                           f"<span style='color:{self.color}'>■</span>", color=fg, size="8pt")

    def set_current(self, current: bool) -> None:
        """Mark this lane as the one M, I and O add to."""
        self.current = current
        self.retranslate()

    # -- internals -----------------------------------------------------------------------------
    def _remove(self, ann_id: int) -> None:
        item = self.items.pop(ann_id)
        self.plot.removeItem(item)

    def _clicked(self, item: AnnotRegion | PointMarker) -> None:
        self.select(int(item.ann["id"]))
        self._on_select(dict(item.ann))

    def _region_finished(self, item: AnnotRegion) -> None:
        a, b = item.getRegion()
        if not (np.isclose(a, item.ann["start_s"]) and np.isclose(b, item.ann["end_s"])):
            self._on_edit(int(item.ann["id"]), float(a), float(b))

    def _point_finished(self, item: PointMarker) -> None:
        v = float(item.value())
        if not np.isclose(v, item.ann["start_s"]):
            self._on_edit(int(item.ann["id"]), v, v)


def _ann_text(ann: dict) -> str:
    label = tr(ann.get("label") or "")
    note = (ann.get("note") or "").strip()
    return f"{label} — {note}" if label and note else (label or note)
