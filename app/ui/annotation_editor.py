"""The annotation editor: tier, label (from the tier's controlled vocabulary or free text) and note of
the selected annotation, with its start and end.

Every edit goes through :meth:`AnnotationStack.update`, so it is saved at once, audited, and undoable
with Ctrl+Z like a drag on the timeline (glue: "map interactions to command objects"). The editor
listens to the stack, so an undo or a drag elsewhere updates what it shows.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import VigilError
from app.ui import i18n, theme
from app.ui.i18n import tr


class _Bridge(QObject):
    # The stack calls its listeners on whatever thread made the change; this hops to the UI thread.
    changed = Signal(object)


class AnnotationEditor(QWidget):
    """Edits the selected annotation of an :class:`~app.services.review.AnnotationStack`."""

    edited = Signal(int)  # annotation id after an edit was saved

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._stack: Any = None
        self._ann: dict[str, Any] | None = None
        self._tiers: list[dict[str, Any]] = []
        self._bridge = _Bridge(self)
        self._bridge.changed.connect(self._on_stack_change)

        self._empty = QLabel(self)
        self._empty.setWordWrap(True)
        self._tier = QComboBox(self)
        self._tier.activated.connect(self._apply_tier)
        self._label = QComboBox(self)
        self._label.setEditable(True)  # the vocabulary suggests; free text is allowed
        self._label.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self._label.activated.connect(lambda *_: self.apply())
        self._label.lineEdit().editingFinished.connect(self.apply)
        self._note = QPlainTextEdit(self)
        self._note.setTabChangesFocus(True)
        self._note.setMaximumHeight(90)
        self._start, self._end = QLabel(self), QLabel(self)
        self._apply = QPushButton(self)
        self._apply.clicked.connect(self.apply)
        QShortcut(QKeySequence("Ctrl+Return"), self._note, activated=self.apply)
        self._error = QLabel(self)
        self._error.setWordWrap(True)
        self._error.hide()

        self._form = QFormLayout()
        self._l_tier, self._l_label, self._l_note = QLabel(self), QLabel(self), QLabel(self)
        self._l_start, self._l_end = QLabel(self), QLabel(self)
        self._form.addRow(self._l_tier, self._tier)
        self._form.addRow(self._l_label, self._label)
        self._form.addRow(self._l_note, self._note)
        times = QHBoxLayout()
        times.addWidget(self._start)
        times.addWidget(self._l_end)
        times.addWidget(self._end)
        times.addStretch(1)
        self._form.addRow(self._l_start, times)
        self._body = QWidget(self)
        body = QVBoxLayout(self._body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addLayout(self._form)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self._apply)
        body.addLayout(row)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self._empty)
        lay.addWidget(self._body)
        lay.addWidget(self._error)
        lay.addStretch(1)

        i18n.notifier().changed.connect(self.retranslate)
        theme.notifier().changed.connect(self._restyle)
        self._restyle()
        self.retranslate()
        self.show_annotation(None)

    # -- public API --------------------------------------------------------------------------------
    def set_stack(self, stack: Any) -> None:
        """Edit annotations through ``stack`` (an AnnotationStack; None detaches)."""
        if self._stack is not None and self._listener in self._stack.listeners:
            self._stack.listeners.remove(self._listener)
        self._stack = stack
        self._tiers = []
        if stack is not None:
            stack.listeners.append(self._listener)
            self.reload_tiers()
        self.show_annotation(None)

    def reload_tiers(self) -> None:
        """Re-read the tiers (after a tier was added)."""
        if self._stack is None:
            return
        from app.services import review

        self._tiers = review.tiers(self._stack.ws)
        self._fill_tiers()

    def show_annotation(self, ann: dict[str, Any] | None) -> None:
        """Show ``ann`` (an annotation dict as from ``review.annotations``), or nothing."""
        self._ann = dict(ann) if ann else None
        self._show_error("")
        self._empty.setVisible(self._ann is None)
        self._body.setVisible(self._ann is not None)
        if self._ann is None:
            return
        self._fill_tiers()
        self._fill_labels()
        self._note.setPlainText(str(self._ann.get("note") or ""))
        self._render_times()

    def annotation(self) -> dict[str, Any] | None:
        """The annotation shown (as last read), or None."""
        return self._ann

    def apply(self) -> bool:
        """Save the label and note as edited (one undoable step); False when refused or unchanged."""
        if self._ann is None or self._stack is None:
            return False
        changes: dict[str, Any] = {}
        label = self._label.currentText().strip()
        # The combo shows translated vocabulary; store the English term the tier defines.
        idx = self._label.findText(label, Qt.MatchFlag.MatchFixedString)
        if idx >= 0 and self._label.itemData(idx) is not None:
            label = str(self._label.itemData(idx))
        note = self._note.toPlainText().strip()
        if label != (self._ann.get("label") or ""):
            changes["label"] = label
        if note != (self._ann.get("note") or ""):
            changes["note"] = note
        return self._update(changes)

    # -- internals ---------------------------------------------------------------------------------
    def _apply_tier(self, *_: object) -> None:
        tier_id = self._tier.currentData()
        if self._ann is not None and tier_id is not None and tier_id != self._ann.get("tier_id"):
            self._update({"tier_id": int(tier_id)})

    def _update(self, changes: dict[str, Any]) -> bool:
        if not changes or self._ann is None:
            return False
        ann_id = int(self._ann["id"])
        try:
            self._stack.update(ann_id, **changes)
        except VigilError as exc:
            self._show_error(str(exc))
            return False
        self._reload(ann_id)
        self.edited.emit(ann_id)
        return True

    def _listener(self, event: dict[str, Any]) -> None:
        try:
            self._bridge.changed.emit(event)
        except RuntimeError:
            pass  # the editor is gone; the stack outlived it

    def _on_stack_change(self, event: object) -> None:
        if not isinstance(event, dict) or self._ann is None or event.get("id") != self._ann.get("id"):
            return
        if event.get("op") == "delete":
            self.show_annotation(None)
        else:
            self._reload(int(self._ann["id"]))

    def _reload(self, ann_id: int) -> None:
        row = next((a for a in self._stack.annotations() if a.get("id") == ann_id), None)
        self.show_annotation(row)

    def _tier_of(self, tier_id: Any) -> dict[str, Any] | None:
        return next((t for t in self._tiers if t.get("id") == tier_id), None)

    def _fill_tiers(self) -> None:
        current = self._ann.get("tier_id") if self._ann else self._tier.currentData()
        self._tier.blockSignals(True)
        self._tier.clear()
        for t in self._tiers:
            self._tier.addItem(tr(str(t["name"])), t["id"])
        idx = self._tier.findData(current)
        self._tier.setCurrentIndex(max(idx, 0))
        self._tier.blockSignals(False)

    def _fill_labels(self) -> None:
        tier = self._tier_of(self._ann.get("tier_id")) if self._ann else None
        self._label.blockSignals(True)
        self._label.clear()
        self._label.addItem("", "")
        for term in (tier or {}).get("vocabulary") or []:
            self._label.addItem(tr(term), term)
        label = str((self._ann or {}).get("label") or "")
        idx = self._label.findData(label)
        if idx >= 0:
            self._label.setCurrentIndex(idx)
        else:
            self._label.setEditText(label)
        self._label.blockSignals(False)

    def _render_times(self) -> None:
        a = self._ann or {}
        start, end = float(a.get("start_s") or 0.0), float(a.get("end_s") or a.get("start_s") or 0.0)
        self._start.setText(tr("{0} s").format(f"{start:.2f}"))
        if abs(end - start) < 1e-9:
            self._end.setText(tr("point"))
        else:
            length = tr("{0} s").format(f"{end - start:.2f}")
            self._end.setText(tr("{0} s").format(f"{end:.2f}") + f"  ({tr('Length')} {length})")

    def _show_error(self, source: str) -> None:
        self._error_source = source  # English; re-translated on a language switch
        self._error.setText(html.escape(tr(source)))
        self._error.setVisible(bool(source))

    def error_text(self) -> str:
        """The refusal shown inline ("" when none)."""
        return "" if self._error.isHidden() else self._error.text()

    def _restyle(self, *_: object) -> None:
        self._error.setStyleSheet(f"color:{theme.colors()['error']}; font-weight:600;")

    def retranslate(self, *_: object) -> None:
        """Set every visible text in the current language."""
        self._empty.setText(tr("Select an annotation on a tier lane to edit it."))
        self._l_tier.setText(tr("Tier"))
        self._l_label.setText(tr("Label"))
        self._l_note.setText(tr("Note"))
        self._l_start.setText(tr("Start"))
        self._l_end.setText(tr("End"))
        self._apply.setText(tr("Apply"))
        self._note.setPlaceholderText(tr("Note"))
        self._show_error(getattr(self, "_error_source", ""))
        if self._ann is not None:
            self._fill_tiers()
            self._fill_labels()
            self._render_times()
