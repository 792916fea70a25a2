"""The case's audit history (Analysis > Audit trail…): who did what, when, and whether the chain holds.

Reads go through :mod:`app.store.audit` (one indexed query for the case, one pass over the chain),
so the dialog is a view only: nothing here writes.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from app.ui.i18n import tr


class AuditDialog(QDialog):
    """One case's audit entries, oldest first, and the verdict of the whole chain's check."""

    def __init__(self, ws: Any, case_id: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("auditDialog")
        self.setWindowTitle(tr("Audit trail"))
        self.resize(900, 480)
        self.ws, self.case_id = ws, case_id
        self.chain = QLabel(self)
        self.chain.setWordWrap(True)
        self.tree = QTreeWidget(self)
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setHeaderLabels([tr("#"), tr("At"), tr("Who"), tr("What"), tr("Details")])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.chain)
        lay.addWidget(self.tree, 1)
        lay.addWidget(buttons)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the case's entries and re-check the chain."""
        from app.store import audit

        v = audit.verify(self.ws)
        if v.ok:
            self.chain.setText(tr("Audit chain intact: {0} entries verified.").format(v.entries))
        else:
            self.chain.setText("<b>" + tr("Audit chain broken at entry {0}: {1}").format(v.broken_id, v.problem)
                               + "</b>")
        self.tree.clear()
        for r in audit.history(self.ws, self.case_id):
            who = r["actor"] if r["actor"] == r.get("os_user") else f"{r['actor']} ({r.get('os_user')})"
            detail = json.dumps(r["detail"], ensure_ascii=False, sort_keys=True)
            item = QTreeWidgetItem([str(r["id"]), str(r["at"]), who, r["action"], detail[:300]])
            item.setToolTip(4, detail[:2000])
            self.tree.addTopLevelItem(item)
        for col in range(4):
            self.tree.resizeColumnToContents(col)

    def rows(self) -> list[tuple[str, ...]]:
        """The shown rows as text (for tests and copy)."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            it = self.tree.topLevelItem(i)
            out.append(tuple(it.text(c) for c in range(5)))
        return out
