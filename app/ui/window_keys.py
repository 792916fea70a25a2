"""The main window's menu and keyboard slots (see :mod:`app.ui.window_actions` for the keys).

A mixin of :class:`app.ui.main_window.MainWindow`, kept apart so each module holds one concern:
playback keys (Space, arrows, J/K/L, Home/End), annotation keys (M, I/O, Delete, Ctrl+Z/Y),
find in transcript, zoom, overlays, theme, language and the help dialogs.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QApplication, QMessageBox

from app.ui import theme, window_actions
from app.ui.find_bar import next_utterance
from app.ui.i18n import set_language, tr

SPEEDS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def fmt_time(t: float) -> str:
    """``m:ss.mmm`` (``h:mm:ss.mmm`` past an hour)."""
    t = max(0.0, float(t))
    h, rem = divmod(t, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h)}:{int(m):02d}:{s:06.3f}" if h else f"{int(m)}:{s:06.3f}"


class KeySlots:
    """Slots named in :data:`app.ui.window_actions.ACTIONS`."""

    def toggle_play(self) -> None:  # noqa: D102
        self.player.toggle()

    def frame_back(self) -> None:  # noqa: D102
        self.player.step(-1)

    def frame_forward(self) -> None:  # noqa: D102
        self.player.step(1)

    def second_back(self) -> None:  # noqa: D102
        self.seek(self.player.position() - 1.0)

    def second_forward(self) -> None:  # noqa: D102
        self.seek(self.player.position() + 1.0)

    def key_j(self) -> None:
        """J: back 5 seconds (playing goes on)."""
        self.seek(self.player.position() - 5.0)

    def key_k(self) -> None:
        """K: pause."""
        self.player.pause()

    def key_l(self) -> None:
        """L: play at normal speed; pressed again while playing, one speed step faster."""
        if self.player.is_playing():
            i = min(self.speed.currentIndex() + 1, len(SPEEDS) - 1)
        else:
            i = SPEEDS.index(1.0)
        self.speed.setCurrentIndex(i)
        self.player.play()

    def go_start(self) -> None:  # noqa: D102
        self.seek(0.0)

    def go_end(self) -> None:  # noqa: D102
        self.seek(self.player.duration)

    def add_marker(self) -> None:
        """M: a point annotation on the current tier at the cursor."""
        if self.stack is not None:
            self.timeline.mark_point(self.player.position())

    def mark_in(self) -> None:  # noqa: D102
        if self.stack is not None:
            self.timeline.mark_in(self.player.position())
            self.statusBar().showMessage(tr("In point set at") + f" {fmt_time(self.player.position())}", 4000)

    def mark_out(self) -> None:  # noqa: D102
        if self.stack is not None:
            self.timeline.mark_out(self.player.position())

    def delete_annotation(self) -> None:
        """Delete: remove the selected annotation (undoable)."""
        if self.stack is not None and self.timeline.delete_selected():
            self.selected_annotation = None
            self.editor.show_annotation(None)

    def undo(self) -> None:  # noqa: D102
        if self.stack is not None and self.stack.undo():
            self.statusBar().showMessage(tr("Undone"), 2000)

    def redo(self) -> None:  # noqa: D102
        if self.stack is not None and self.stack.redo():
            self.statusBar().showMessage(tr("Redone"), 2000)

    def _on_stack_change(self, event: dict[str, Any]) -> None:
        self.actions_by_key["undo"].setEnabled(self.stack is not None and self.stack.can_undo)
        self.actions_by_key["redo"].setEnabled(self.stack is not None and self.stack.can_redo)

    def _on_annotation_selected(self, ann: Any) -> None:
        self.selected_annotation = ann
        self.editor.show_annotation(ann)
        if ann:
            self.docks["annotation"].raise_()

    def show_find(self) -> None:  # noqa: D102
        self.find_bar.open()

    def find_next(self, text: str) -> None:
        """Jump to the next utterance (after the cursor) whose text holds ``text``."""
        utts = list(getattr(self.data, "utterances", None) or [])
        u = next_utterance(utts, text, self.player.position())
        if u is None:
            self.find_bar.set_result(tr("not found"))
            return
        self.find_bar.set_result(f"{fmt_time(float(u['start_s']))}")
        self.seek(float(u["start_s"]))

    def zoom_in(self) -> None:  # noqa: D102
        self.timeline.zoom(2.0)

    def zoom_out(self) -> None:  # noqa: D102
        self.timeline.zoom(0.5)

    def zoom_all(self) -> None:  # noqa: D102
        self.timeline.show_range(0.0, max(self.player.duration, 1.0))

    def toggle_overlays(self, key: str, on: bool) -> None:  # noqa: D102
        self.video.set_overlay_enabled(key.removeprefix("ov_"), on)

    def set_expression_mode(self, key: str, on: bool) -> None:  # noqa: D102
        if on:
            self.timeline.set_expression_mode("band" if key == "expr_band" else "stacked")

    def set_theme_from_menu(self, key: str, on: bool) -> None:  # noqa: D102
        if on:
            name = "dark" if key == "theme_dark" else "light"
            theme.apply_theme(QApplication.instance(), name)
            self.settings.theme = name

    def set_language_from_menu(self, key: str, on: bool) -> None:  # noqa: D102
        if on:
            code = "zh" if key == "lang_zh" else "en"
            self.settings.language = code
            set_language(code)

    def focus_case_list(self) -> None:  # noqa: D102
        self.docks["cases"].show()
        self.docks["cases"].raise_()
        self.case_list.search.setFocus()

    def show_settings(self) -> None:  # noqa: D102
        from app.ui.dialogs import SettingsDialog

        SettingsDialog(self.settings, self).open()

    def add_tier(self) -> None:
        """Ask for a new annotation tier and its vocabulary; show its lane at once."""
        from app.ui.dialogs import TierDialog

        if self.ws is None:
            return
        dialog = TierDialog(self.ws, self.reviewer(), self)
        dialog.accepted.connect(self._tiers_changed)
        self._tier_dialog = dialog
        dialog.open()

    def _tiers_changed(self) -> None:
        from app.services import review

        if self.stack is not None:
            self.timeline.set_annotations(self.stack, review.tiers(self.ws))
        self.editor.reload_tiers()
        self.statusBar().showMessage(tr("Tier added"), 3000)

    def compare_aus(self) -> None:
        """Analysis > Compare AUs with reference…: pick an OpenFace or py-feat CSV, show the agreement."""
        from app.ui.au_compare import ask_and_compare

        ask_and_compare(self)

    def show_audit(self) -> None:
        """Analysis > Audit trail…: the open case's history and the chain's check."""
        from app.ui.audit_view import AuditDialog

        if self.case_id is None:
            self.statusBar().showMessage(tr("Open a case first"), 3000)
            return
        self._audit_dialog = AuditDialog(self.ws, self.case_id, self)
        self._audit_dialog.show()

    def show_shortcuts(self) -> None:  # noqa: D102
        from app.ui.dialogs import ShortcutsDialog

        self._shortcuts_dialog = ShortcutsDialog(window_actions.shortcut_list(), self)
        self._shortcuts_dialog.show()

    def show_about(self) -> None:
        """About, with every model and its licence."""
        from app import __version__
        from app.core.models import load_manifest

        rows = "".join(f"<tr><td>{m.name}</td><td>{m.task}</td><td>{m.licence}</td></tr>"
                       for m in load_manifest().values())
        QMessageBox.about(self, tr("About Vigil"),
                          f"<b>Vigil {__version__}</b><p>{tr('On-device review of video interviews for fraud risk.')}"
                          f"</p><p>{tr('Models')}:</p><table cellspacing=6>{rows}</table>")

