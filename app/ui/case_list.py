"""The case list: search by name or applicant reference, filter by status, double-click opens.

The query (:func:`app.services.review.search_cases`) runs off the UI thread; typing is debounced.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLineEdit, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from app.ui.i18n import N_, notifier, status_label, tr
from app.ui.workers import run_in_thread

COLUMNS = (N_("ID"), N_("Name"), N_("Applicant ref."), N_("Status"), N_("Frames"), N_("Utterances"), N_("Last run"))
DEFAULT_STATUSES = ("new", "in_review", "escalated", "cleared", "rejected")
RUN_LABELS = {"completed": N_("completed"), "running": N_("running"), "interrupted": N_("interrupted"),
              "failed": N_("failed")}


def _statuses() -> tuple[str, ...]:
    try:
        from app.services.review import STATUSES

        return tuple(STATUSES)
    except ImportError:
        return DEFAULT_STATUSES


class _NumItem(QTableWidgetItem):
    """Sorts by number, not by text."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        a, b = self.data(Qt.ItemDataRole.UserRole), other.data(Qt.ItemDataRole.UserRole)
        try:
            return float(a) < float(b)
        except (TypeError, ValueError):
            return super().__lt__(other)


class CaseList(QWidget):
    """Searchable list of the workspace's cases.

    Signals
    -------
    caseActivated(int)
        A case was double-clicked (or Enter pressed on it).
    """

    caseActivated = Signal(int)

    def __init__(self, ws: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.rows: list[dict[str, Any]] = []
        self._generation = 0
        self.search = QLineEdit()
        self.search.setClearButtonEnabled(True)
        self.status = QComboBox()
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setSortingEnabled(True)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.activated.connect(self._activate)  # double-click or Enter (the style's choice)
        top = QHBoxLayout()
        top.addWidget(self.search, 2)
        top.addWidget(self.status, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.table)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(self.refresh)
        self.search.textChanged.connect(self._debounce.start)
        self.status.currentIndexChanged.connect(self.refresh)
        self.retranslate()
        notifier().changed.connect(self.retranslate)

    def set_workspace(self, ws: Any) -> None:
        """Show the cases of ``ws``."""
        self.ws = ws
        self.refresh()

    def retranslate(self, *_: Any) -> None:
        """Re-apply every visible text in the current language."""
        self.search.setPlaceholderText(tr("Search name or applicant reference"))
        current = self.status.currentData()
        self.status.blockSignals(True)
        self.status.clear()
        self.status.addItem(tr("All statuses"), None)
        for s in _statuses():
            self.status.addItem(status_label(s), s)
        self.status.setCurrentIndex(max(0, self.status.findData(current)))
        self.status.blockSignals(False)
        self.table.setHorizontalHeaderLabels([tr(c) for c in COLUMNS])
        self._fill()

    def refresh(self) -> None:
        """Query again (off the UI thread); the latest query wins."""
        if self.ws is None:
            return
        self._generation += 1
        gen, ws = self._generation, self.ws
        text, status = self.search.text().strip(), self.status.currentData()

        def query() -> list[dict[str, Any]]:
            from app.services.review import search_cases

            return search_cases(ws, text, status)

        def done(rows: list[dict[str, Any]]) -> None:
            if gen == self._generation:
                self.rows = list(rows)
                self._fill()

        run_in_thread(query, done)

    def _fill(self) -> None:
        t = self.table
        t.setSortingEnabled(False)
        t.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            status = row.get("status") or ""
            values = (row.get("id"), row.get("name") or "", row.get("applicant_ref") or "",
                      status_label(status), row.get("frames") or 0, row.get("utterances") or 0,
                      tr(RUN_LABELS.get(row.get("last_run") or "", row.get("last_run") or "-")))
            for c, v in enumerate(values):
                item = _NumItem(str(v)) if c in (0, 4, 5) else QTableWidgetItem(str(v))
                if c in (0, 4, 5):
                    item.setData(Qt.ItemDataRole.UserRole, v)
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                t.setItem(r, c, item)
        t.setSortingEnabled(True)

    def case_id_at(self, row: int) -> int | None:
        """The case id shown in table row ``row``."""
        item = self.table.item(row, 0)
        return int(item.text()) if item is not None and item.text().isdigit() else None

    def _activate(self, index: Any) -> None:
        cid = self.case_id_at(index.row())
        if cid is not None:
            self.caseActivated.emit(cid)
