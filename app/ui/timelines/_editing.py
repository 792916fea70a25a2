"""Annotation editing for :class:`TimelineView`: lanes per tier, marks (M, I/O), selection, delete.

Every edit goes through the :class:`app.services.review.AnnotationStack` (undoable, written at once,
audited); the lanes only mirror the workspace and refresh when the stack's listeners fire.
"""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any, Callable

import shiboken6

from app.core.errors import VigilError
from app.ui import i18n, theme
from app.ui.timelines._lanes import AnnotationLane

if TYPE_CHECKING:
    from app.services.review import AnnotationStack

log = logging.getLogger(__name__)
_FAILED = object()


def _weak_listener(view: Any) -> Callable[[dict], None]:
    ref = weakref.ref(view)

    def listener(event: dict) -> None:
        v = ref()
        if v is not None and shiboken6.isValid(v):
            v._on_stack_change(event)

    return listener


class AnnotationEditing:
    """Mixin of ``TimelineView`` (which provides the signals, ``lanes``, ``_layout`` and navigation)."""

    lanes: list[AnnotationLane]
    _stack: AnnotationStack | None
    _tiers: list[dict]
    _current_tier: int | None
    _mark_in: float | None
    _selected: dict | None

    # -- annotations -------------------------------------------------------------------------------
    def set_annotations(self, stack: AnnotationStack, tiers: list[dict]) -> None:
        """One lane per tier, filled from the workspace; lanes follow every change of ``stack``."""
        old = getattr(self, "_listener", None)
        if self._stack is not None and old in self._stack.listeners:
            self._stack.listeners.remove(old)
        self._stack = stack
        # The stack outlives the widget (the main window keeps it): listen through a weak reference
        # so a closed timeline is neither kept alive nor called after Qt deleted it.
        self._listener = _weak_listener(self)
        stack.listeners.append(self._listener)
        self._set_tiers(tiers)
        self.refresh_annotations()

    def refresh_annotations(self, force: bool = False) -> None:
        """Re-read the case's annotations and update the lanes whose rows changed (regions set with
        signals blocked); the layout is rebuilt only when the set of tiers changes."""
        if self._stack is None:
            return
        from app.services import review

        anns = review.annotations(self._stack.ws, self._stack.case_id)
        known = {int(t["id"]) for t in self._tiers}
        if any(int(a["tier_id"]) not in known for a in anns):
            self._set_tiers(review.tiers(self._stack.ws))  # a tier was added elsewhere
        by_tier: dict[int, list[dict]] = {}
        for a in anns:
            by_tier.setdefault(int(a["tier_id"]), []).append(a)
        for lane in self.lanes:  # only lanes whose rows changed (an edit touches one or two tiers)
            rows = by_tier.get(int(lane.tier["id"]), [])
            if force or rows != lane.rows:
                lane.set_annotations(rows)
        if self._selected is not None:
            fresh = next((a for a in anns if a["id"] == self._selected["id"]), None)
            if fresh is None:
                self._select(None)
            elif fresh != self._selected:
                self._select(fresh)

    def selected_annotation(self) -> dict | None:
        """The selected annotation's row, or None."""
        return self._selected

    def select_annotation(self, ann_id: int | None) -> None:
        """Select an annotation by id (None clears the selection)."""
        for lane in self.lanes:
            item = lane.items.get(ann_id) if ann_id is not None else None
            if item is not None:
                self._select(dict(item.ann))
                return
        self._select(None)

    def delete_selected(self) -> bool:
        """Delete the selected annotation through the stack (undoable); False when none is selected."""
        if self._stack is None or self._selected is None:
            return False
        return self._try(self._stack.delete, int(self._selected["id"])) is not _FAILED

    def mark_point(self, t: float) -> int | None:
        """M: a point annotation on the current tier at ``t``; its id, or None (message emitted)."""
        tier = self._tier_for_edit()
        if tier is None:
            return None
        out = self._try(self._stack.add, tier, float(t))
        return None if out is _FAILED else int(out)

    def mark_in(self, t: float) -> None:
        """I: remember the in-point (shown as a dashed line in the current lane)."""
        self._mark_in = float(t)
        for lane in self.lanes:
            lane.show_mark_in(self._mark_in if lane.tier["id"] == self._current_tier else None)

    def mark_out(self, t: float) -> int | None:
        """O: with an in-point set, add the interval to the current tier; its id, or None."""
        tier = self._tier_for_edit()
        if tier is None:
            return None
        if self._mark_in is None:
            self.messageRequested.emit(i18n.tr("Press I at the start of the interval first."))
            return None
        t0, self._mark_in = self._mark_in, None
        for lane in self.lanes:
            lane.show_mark_in(None)
        out = self._try(self._stack.add, tier, min(t0, float(t)), max(t0, float(t)))
        return None if out is _FAILED else int(out)

    def set_current_tier(self, tier_id: int) -> None:
        """Make ``tier_id`` the tier that M, I and O add to."""
        self._current_tier = int(tier_id)
        for lane in self.lanes:
            lane.set_current(int(lane.tier["id"]) == self._current_tier)
            lane.show_mark_in(self._mark_in if lane.current else None)

    def current_tier(self) -> int | None:
        """The id of the current tier (None before ``set_annotations``)."""
        return self._current_tier

    def _set_tiers(self, tiers: list[dict]) -> None:
        self._tiers = list(tiers)
        old = {int(lane.tier["id"]): lane for lane in self.lanes}
        self.lanes = []
        for tier in self._tiers:
            lane = old.pop(int(tier["id"]), None)
            if lane is None:
                lane = AnnotationLane(tier, self._on_lane_edit, self._on_lane_select, self.set_current_tier)
                self._wire(lane)
                lane.apply_colors(getattr(self, "_colors", theme.colors()))
            lane.tier = tier
            lane.title = str(tier["name"])
            self.lanes.append(lane)
        ids = [int(t["id"]) for t in self._tiers]
        if self._current_tier not in ids:
            self._current_tier = ids[0] if ids else None
        self._layout()
        if self.lanes:
            lane_range = self.view_range()
            for lane in self.lanes:
                lane.vb.setLimits(**self._limits())
            self.show_range(*lane_range)
        if self._current_tier is not None:
            self.set_current_tier(self._current_tier)

    def _on_lane_select(self, ann: dict | None) -> None:
        self._select(ann)

    def _select(self, ann: dict | None) -> None:
        self._selected = dict(ann) if ann is not None else None
        ann_id = None if ann is None else int(ann["id"])
        for lane in self.lanes:
            lane.select(ann_id)
        self.annotationSelected.emit(self._selected)
        if ann is not None and float(ann["end_s"]) > float(ann["start_s"]):
            self.intervalSelected.emit(float(ann["start_s"]), float(ann["end_s"]))

    def _on_lane_edit(self, ann_id: int, start: float, end: float) -> None:
        if self._stack is None:
            return
        if self._try(self._stack.update, ann_id, start_s=max(0.0, start), end_s=max(0.0, end)) is _FAILED:
            self.refresh_annotations(force=True)  # put the region back where the database has it

    def _on_stack_change(self, event: dict) -> None:
        self.refresh_annotations()
        if event.get("op") == "add" and event.get("via", "do") == "do":
            self.select_annotation(int(event["id"]))

    def _tier_for_edit(self) -> int | None:
        if self._stack is None or self._current_tier is None:
            self.messageRequested.emit(i18n.tr("Open a case before adding annotations."))
            return None
        return self._current_tier

    def _try(self, fn: Any, *args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except VigilError as exc:
            log.info("annotation edit refused: %s", exc)
            self.messageRequested.emit(str(exc))
            return _FAILED
