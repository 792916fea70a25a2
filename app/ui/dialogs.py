"""Small dialogs: keyboard shortcuts (Help), settings (language, theme, reviewer), adding a tier."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import VigilError
from app.ui import i18n, theme
from app.ui.i18n import LANGUAGES, N_, tr
from app.ui.settings import Settings


def _retranslate_buttons(box: QDialogButtonBox) -> None:
    # Qt's own button texts come from Qt's translations, which we do not ship; use our table.
    for which, text in ((QDialogButtonBox.StandardButton.Ok, "OK"),
                        (QDialogButtonBox.StandardButton.Cancel, "Cancel"),
                        (QDialogButtonBox.StandardButton.Close, "Close")):
        button = box.button(which)
        if button is not None:
            button.setText(tr(text))


class ShortcutsDialog(QDialog):
    """Help: every keyboard shortcut in a two-column table (key, action) with a search box.

    Parameters
    ----------
    shortcuts : list of (str, str)
        ``(key sequence text, English description)``; descriptions are shown through ``tr``.
    """

    def __init__(self, shortcuts: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._shortcuts = list(shortcuts)
        self._search = QLineEdit(self)
        self._search.setClearButtonEnabled(True)
        self._search.textChanged.connect(self._filter)
        self._table = QTableWidget(len(self._shortcuts), 2, self)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.verticalHeader().hide()
        self._table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self._table.horizontalHeader().setStretchLastSection(True)
        self._table.setAlternatingRowColors(True)
        self._buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self._buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self._search)
        lay.addWidget(self._table, 1)
        lay.addWidget(self._buttons)
        self.resize(520, 560)
        i18n.notifier().changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self, *_: object) -> None:
        """Set every visible text in the current language."""
        self.setWindowTitle(tr("Keyboard shortcuts"))
        self._search.setPlaceholderText(tr("Search shortcuts…"))
        self._table.setHorizontalHeaderLabels([tr("Key"), tr("Action")])
        for row, (keys, desc) in enumerate(self._shortcuts):
            # Keys arrive as display text ("Ctrl+Z", "Shift+← / Shift+→"); mouse gestures are words
            # ("Click / drag on a timeline"), so they go through tr() too (unchanged when untranslated).
            key_item = QTableWidgetItem(tr(keys))
            key_item.setData(Qt.ItemDataRole.UserRole, keys)
            self._table.setItem(row, 0, key_item)
            item = QTableWidgetItem(tr(desc))
            item.setData(Qt.ItemDataRole.UserRole, desc)  # the English text stays searchable
            self._table.setItem(row, 1, item)
        _retranslate_buttons(self._buttons)
        self._filter(self._search.text())

    def _filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for row, (keys, desc) in enumerate(self._shortcuts):
            hay = " ".join((keys, desc, tr(desc), self._table.item(row, 0).text())).casefold()
            self._table.setRowHidden(row, bool(needle) and needle not in hay)

    def visible_rows(self) -> list[tuple[str, str]]:
        """The ``(keys, description)`` rows the search leaves visible."""
        return [s for row, s in enumerate(self._shortcuts) if not self._table.isRowHidden(row)]


class SettingsDialog(QDialog):
    """Language, theme and reviewer name; OK saves them and applies language and theme at once."""

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._language = QComboBox(self)
        for code, name in LANGUAGES.items():
            self._language.addItem(name, code)  # each language named in itself, never translated
        self._language.setCurrentIndex(max(self._language.findData(settings.language), 0))
        self._theme = QComboBox(self)
        for code in theme.THEMES:
            self._theme.addItem(code, code)
        self._theme.setCurrentIndex(max(self._theme.findData(settings.theme), 0))
        self._reviewer = QLineEdit(settings.reviewer, self)
        self._hint = QLabel(self)
        self._hint.setWordWrap(True)
        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self._buttons.accepted.connect(self.accept)
        self._buttons.rejected.connect(self.reject)
        self._form = QFormLayout()
        self._l_lang, self._l_theme, self._l_rev = QLabel(self), QLabel(self), QLabel(self)
        self._form.addRow(self._l_lang, self._language)
        self._form.addRow(self._l_theme, self._theme)
        self._form.addRow(self._l_rev, self._reviewer)
        lay = QVBoxLayout(self)
        lay.addLayout(self._form)
        lay.addWidget(self._hint)
        lay.addWidget(self._buttons)
        self.setMinimumWidth(380)
        i18n.notifier().changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self, *_: object) -> None:
        """Set every visible text in the current language."""
        self.setWindowTitle(tr("Settings"))
        self._l_lang.setText(tr("Language"))
        self._l_theme.setText(tr("Theme"))
        self._l_rev.setText(tr("Reviewer name"))
        self._theme.setItemText(0, tr("Light"))
        self._theme.setItemText(1, tr("Dark"))
        self._hint.setText(tr("Your name is recorded with every decision and annotation."))
        _retranslate_buttons(self._buttons)

    def choose(self, language: str | None = None, theme_name: str | None = None,
               reviewer: str | None = None) -> None:
        """Set the dialog's fields (for keyboard-free use and tests); nothing is applied until OK."""
        if language is not None:
            self._language.setCurrentIndex(self._language.findData(language))
        if theme_name is not None:
            self._theme.setCurrentIndex(self._theme.findData(theme_name))
        if reviewer is not None:
            self._reviewer.setText(reviewer)

    def accept(self) -> None:
        """Save the choices and apply them: language and theme change at once, no restart."""
        lang, name = str(self._language.currentData()), str(self._theme.currentData())
        self.settings.language = lang
        self.settings.theme = name
        self.settings.reviewer = self._reviewer.text()
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply_theme(app, name)
        i18n.set_language(lang)
        super().accept()


class TierDialog(QDialog):
    """Add an annotation tier with its controlled vocabulary (one label per line).

    Parameters
    ----------
    ws : Workspace
        Where the tier is added (``review.add_tier``).
    actor : str
        Who adds it (audited).
    """

    def __init__(self, ws: Any, actor: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws, self.actor = ws, actor
        self.tier_id: int | None = None
        self._name = QLineEdit(self)
        self._vocab = QPlainTextEdit(self)
        self._hint = QLabel(self)
        self._hint.setWordWrap(True)
        self._error = QLabel(self)
        self._error.setWordWrap(True)
        self._error.setStyleSheet(f"color:{theme.colors()['error']}; font-weight:600;")
        self._error.hide()
        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self._buttons.accepted.connect(self.accept)
        self._buttons.rejected.connect(self.reject)
        self._form = QFormLayout()
        self._l_name, self._l_vocab = QLabel(self), QLabel(self)
        self._form.addRow(self._l_name, self._name)
        self._form.addRow(self._l_vocab, self._vocab)
        lay = QVBoxLayout(self)
        lay.addLayout(self._form)
        lay.addWidget(self._hint)
        lay.addWidget(self._error)
        lay.addWidget(self._buttons)
        i18n.notifier().changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self, *_: object) -> None:
        """Set every visible text in the current language."""
        self.setWindowTitle(tr("Add tier"))
        self._l_name.setText(tr("Tier name"))
        self._l_vocab.setText(tr("Vocabulary (one label per line)"))
        self._hint.setText(tr("Labels reviewers can pick for this tier. Free text is still allowed."))
        _retranslate_buttons(self._buttons)
        if getattr(self, "_error_source", ""):
            self._show_error(self._error_source)

    def set_values(self, name: str, vocabulary: list[str]) -> None:
        """Fill the fields (for tests and scripted use)."""
        self._name.setText(name)
        self._vocab.setPlainText("\n".join(vocabulary))

    def error_text(self) -> str:
        """The refusal shown inline ("" when none)."""
        return "" if self._error.isHidden() else self._error.text()

    def accept(self) -> None:
        """Add the tier; on a refusal (blank or duplicate name) say why and keep the dialog open."""
        from app.services import review

        name = self._name.text().strip()
        vocab = [line.strip() for line in self._vocab.toPlainText().splitlines() if line.strip()]
        if not name:
            self._show_error(N_("A tier needs a name."))
            return
        try:
            self.tier_id = review.add_tier(self.ws, name, vocab, self.actor)
        except VigilError as exc:
            self._show_error(str(exc))
            return
        self._show_error("")
        super().accept()

    def _show_error(self, source: str) -> None:
        self._error_source = source  # English; re-translated on a language switch
        self._error.setText(html.escape(tr(source)))
        self._error.setVisible(bool(source))
