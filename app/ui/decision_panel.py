"""The decision panel: the case status, the reviewer's written reason, a supervisor's sign-off, history.

Everything goes through :mod:`app.services.review`, which refuses a verdict without a reason (and a
sign-off by the reviewer themself) before anything is written; the refusal is shown inline in red.
A banner says plainly that Vigil's scores never decide a case on their own (human in the loop).
"""

from __future__ import annotations

import html
from datetime import datetime
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import VigilError
from app.services.review import STATUSES, VERDICTS
from app.ui import i18n, theme
from app.ui.i18n import N_, status_label, tr
from app.ui.settings import Settings

# (parent, title, label, default) -> the name, or None when cancelled. Tests replace it.
NamePrompt = Callable[[QWidget, str, str, str], "str | None"]


def when(iso: str | None) -> str:
    """A stored UTC timestamp as local ``YYYY-MM-DD HH:MM`` (the stored text when it does not parse)."""
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(str(iso)).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(iso)


def ask_name(parent: QWidget, title: str, label: str, default: str = "") -> str | None:
    """Ask for a person's name in a modal dialog; None when cancelled."""
    text, ok = QInputDialog.getText(parent, title, label, QLineEdit.EchoMode.Normal, default)
    return text.strip() if ok else None


class DecisionPanel(QWidget):
    """Status combo, reason, reviewer, Save, supervisor sign-off and the decision history of one case.

    Parameters
    ----------
    settings : Settings, optional
        Where the reviewer's and supervisor's names are remembered (default: the user's settings).
    """

    statusChanged = Signal(str)  # the new status code after a successful save
    signedOff = Signal(str)  # the supervisor's name after a successful sign-off

    def __init__(self, settings: Settings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or Settings()
        self.prompt: NamePrompt = ask_name
        self._ws: Any = None
        self._case: int | None = None
        self._state: dict[str, Any] = {}

        self._banner = QLabel(self)
        self._banner.setWordWrap(True)
        self._banner.setObjectName("decisionBanner")
        self._current = QLabel(self)
        self._current.setWordWrap(True)
        self._status = QComboBox(self)
        for code in STATUSES:
            self._status.addItem(code, code)
        self._status.currentIndexChanged.connect(self._update_hint)
        self._reason = QPlainTextEdit(self)
        self._reason.setTabChangesFocus(True)
        self._reason.setMaximumHeight(110)
        self._reviewer = QLabel(self)
        self._change_reviewer = QPushButton(self)
        self._change_reviewer.clicked.connect(self._ask_reviewer)
        self._error = QLabel(self)
        self._error.setWordWrap(True)
        self._error.setObjectName("decisionError")
        self._error.hide()
        self._save = QPushButton(self)
        self._save.clicked.connect(self.save)
        self._sign = QPushButton(self)
        self._sign.clicked.connect(self.sign_off)
        self._signed = QLabel(self)
        self._signed.setWordWrap(True)
        self._history_label = QLabel(self)
        self._history = QTreeWidget(self)
        self._history.setRootIsDecorated(False)
        self._history.setColumnCount(4)
        self._history.setAlternatingRowColors(True)

        self._form = QFormLayout()
        self._status_label, self._reason_label, self._reviewer_label = QLabel(self), QLabel(self), QLabel(self)
        self._form.addRow(self._status_label, self._status)
        self._form.addRow(self._reason_label, self._reason)
        who = QHBoxLayout()
        who.addWidget(self._reviewer, 1)
        who.addWidget(self._change_reviewer)
        self._form.addRow(self._reviewer_label, who)
        buttons = QHBoxLayout()
        buttons.addWidget(self._save)
        buttons.addStretch(1)
        buttons.addWidget(self._sign)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self._banner)
        lay.addWidget(self._current)
        lay.addLayout(self._form)
        lay.addWidget(self._error)
        lay.addLayout(buttons)
        lay.addWidget(self._signed)
        lay.addWidget(self._history_label)
        lay.addWidget(self._history, 1)

        i18n.notifier().changed.connect(self.retranslate)
        theme.notifier().changed.connect(self._restyle)
        self._restyle()
        self.retranslate()
        self._set_enabled(False)

    # -- public API --------------------------------------------------------------------------------
    def set_case(self, ws: Any, case_id: int | None) -> None:
        """Show and edit the decision of ``case_id`` in workspace ``ws`` (None: no case)."""
        self._ws, self._case = ws, case_id
        self._reason.clear()
        self._show_error("")
        self._set_enabled(ws is not None and case_id is not None)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the case's status and decision history from the workspace."""
        if self._ws is None or self._case is None:
            self._state = {}
            self._history.clear()
            self._render_state()
            return
        from app.services import review

        self._state = review.case_status(self._ws, self._case)
        idx = self._status.findData(self._state.get("status") or "new")
        self._status.setCurrentIndex(max(idx, 0))
        self._fill_history(review.decisions(self._ws, self._case))
        self._render_state()

    def save(self) -> bool:
        """Record the chosen status with the reason; a refusal is shown in red and nothing is written."""
        if self._ws is None or self._case is None:
            return False
        from app.services import review

        reviewer = self.settings.reviewer or self._ask_reviewer()
        if not reviewer:
            self._show_error(N_("A decision needs the reviewer's name."))
            return False
        status = str(self._status.currentData())
        try:
            review.set_status(self._ws, self._case, status, reviewer, self._reason.toPlainText())
        except VigilError as exc:
            self._show_error(str(exc))
            return False
        self._show_error("")
        self._reason.clear()
        self.refresh()
        self.statusChanged.emit(status)
        return True

    def sign_off(self) -> bool:
        """Ask for the supervisor's name and sign the standing verdict off."""
        if self._ws is None or self._case is None:
            return False
        from app.services import review

        name = self.prompt(self, tr("Supervisor sign-off"), tr("Supervisor name:"), self.settings.supervisor)
        if name is None:
            return False
        try:
            review.sign_off(self._ws, self._case, name)
        except VigilError as exc:
            self._show_error(str(exc))
            return False
        self.settings.supervisor = name
        self._show_error("")
        self.refresh()
        self.signedOff.emit(name)
        return True

    def error_text(self) -> str:
        """The refusal shown inline ("" when none)."""
        return "" if self._error.isHidden() else self._error.text()

    # -- internals ---------------------------------------------------------------------------------
    def _ask_reviewer(self) -> str:
        name = self.prompt(self, tr("Enter your name"), tr("Your name (recorded with the decision):"),
                           self.settings.reviewer)
        if name:
            self.settings.reviewer = name
        self._render_state()
        return self.settings.reviewer

    def _set_enabled(self, on: bool) -> None:
        for w in (self._status, self._reason, self._save, self._sign, self._change_reviewer):
            w.setEnabled(on)

    def _show_error(self, source: str) -> None:
        # Keep the English source so that a language switch re-translates the message on screen.
        self._error_source = source
        self._error.setText(tr(source))
        self._error.setVisible(bool(source))

    def _restyle(self, *_: object) -> None:
        c = theme.colors()
        self._banner.setStyleSheet(f"QLabel#decisionBanner {{ background:{c['banner_bg']}; color:{c['banner_fg']};"
                                   " padding:6px; border-radius:4px; }")
        self._error.setStyleSheet(f"QLabel#decisionError {{ color:{c['error']}; font-weight:600; }}")

    def _update_hint(self, *_: object) -> None:
        verdict = self._status.currentData() in VERDICTS
        self._reason_label.setText(tr("Reason") + (" *" if verdict else ""))

    def retranslate(self, *_: object) -> None:
        """Set every visible text in the current language."""
        self._banner.setText(tr("Vigil's scores are indicators for a human reviewer. "
                                "They never decide a case on their own."))
        self._status_label.setText(tr("Status"))
        self._reviewer_label.setText(tr("Reviewer"))
        for i in range(self._status.count()):
            self._status.setItemText(i, status_label(str(self._status.itemData(i))))
        self._reason.setPlaceholderText(tr("Reason (required for escalated, cleared and rejected)"))
        self._change_reviewer.setText(tr("Change…"))
        self._save.setText(tr("Save decision"))
        self._sign.setText(tr("Sign off…"))
        self._history_label.setText(f"<b>{html.escape(tr('Decision history'))}</b>")
        self._history.setHeaderLabels([tr("At"), tr("Status"), tr("Reviewer"), tr("Reason")])
        self._update_hint()
        self._render_state()
        self._show_error(getattr(self, "_error_source", ""))
        if self._ws is not None and self._case is not None:
            from app.services import review

            self._fill_history(review.decisions(self._ws, self._case))

    def _render_state(self) -> None:
        self._reviewer.setText(html.escape(self.settings.reviewer) or tr("(not set)"))
        s = self._state
        if not s:
            self._current.setText(tr("Open a case to record a decision."))
            self._signed.setText("")
            return
        line = tr("Current status: {0}").format(status_label(str(s.get("status"))))
        if s.get("reviewer"):
            line += " — " + tr("by {0} at {1}").format(s["reviewer"], when(s.get("at")))
        text = f"<b>{html.escape(line)}</b>"
        if s.get("reason"):
            text += "<br>" + html.escape(tr("Reason: {0}").format(s["reason"]))
        self._current.setText(text)
        if s.get("signed_off_by"):
            signed = tr("Signed off by {0} at {1}").format(s["signed_off_by"], when(s.get("signed_off_at")))
            self._signed.setText(signed)
        elif s.get("awaiting_signoff"):
            self._signed.setText(tr("Awaiting a supervisor's sign-off: a fraud verdict stands only once signed off"))
        else:
            self._signed.setText(tr("Not signed off yet") if s.get("verdict") else "")
        self._sign.setEnabled(bool(s.get("verdict")) and not s.get("signed_off_by"))

    def _fill_history(self, rows: list[dict[str, Any]]) -> None:
        self._history.clear()
        for d in reversed(rows):  # newest on top: that is what a reviewer looks for first
            if d.get("kind") == "signoff":
                status = tr("Signed off") + f" ({status_label(str(d.get('status')))})"
                who, why = d.get("supervisor") or "", d.get("note") or ""
            else:
                status, who, why = status_label(str(d.get("status"))), d.get("reviewer") or "", d.get("reason") or ""
            item = QTreeWidgetItem([when(d.get("at")), status, str(who), str(why)])
            item.setToolTip(3, str(why))
            self._history.addTopLevelItem(item)
        for col in range(3):
            self._history.resizeColumnToContents(col)
