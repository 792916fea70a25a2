"""Ctrl+F: find text in the transcript and jump the cursor to the next utterance holding it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QToolButton, QWidget

from app.ui.i18n import notifier, tr


def next_utterance(utterances: list[dict[str, Any]], text: str, after: float) -> dict[str, Any] | None:
    """The first utterance starting after ``after`` whose text holds ``text`` (case-insensitive),
    wrapping round to the start; ``None`` when none holds it."""
    needle = text.strip().casefold()
    if not needle:
        return None
    hits = sorted((u for u in utterances if needle in str(u.get("text") or "").casefold()),
                  key=lambda u: float(u["start_s"]))
    if not hits:
        return None
    return next((u for u in hits if float(u["start_s"]) > after + 1e-3), hits[0])


class FindBar(QWidget):
    """A one-line bar: type, Enter (or Next) finds the next match; Esc closes.

    Signals
    -------
    findNext(str)
    """

    findNext = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.edit = QLineEdit()
        self.edit.setClearButtonEnabled(True)
        self.next = QPushButton()
        self.result = QLabel()
        self.close_btn = QToolButton()
        self.close_btn.setText("✕")
        self.close_btn.setAutoRaise(True)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        for w in (self.label, self.edit, self.next, self.result):
            lay.addWidget(w)
        lay.addStretch(1)
        lay.addWidget(self.close_btn)
        self.edit.returnPressed.connect(self._go)
        self.next.clicked.connect(self._go)
        self.close_btn.clicked.connect(self.hide)
        self.retranslate()
        notifier().changed.connect(self.retranslate)
        self.hide()

    def retranslate(self, *_: Any) -> None:
        """Re-apply texts in the current language."""
        self.label.setText(tr("Find in transcript:"))
        self.next.setText(tr("Next"))
        self.edit.setPlaceholderText(tr("word or phrase"))

    def open(self) -> None:
        """Show the bar with the text selected, ready to type."""
        self.show()
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.edit.selectAll()

    def set_result(self, text: str) -> None:
        """A short note next to the field ("not found", "3 of 7" ...)."""
        self.result.setText(text)

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_Escape:
            self.hide()
            return
        super().keyPressEvent(event)

    def _go(self) -> None:
        self.findNext.emit(self.edit.text())
