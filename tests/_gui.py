"""The review window as the GUI tests open it: English, a named reviewer, 1600x1000, shown."""

from __future__ import annotations

from pathlib import Path


def open_window(qtbot, ws_path: Path, activate: bool = False):
    """(window, workspace) for ``ws_path``; ``activate`` also waits until it has the keyboard focus."""
    from PySide6.QtWidgets import QApplication

    from app.store.workspace import Workspace
    from app.ui.i18n import set_language
    from app.ui.main_window import MainWindow
    from app.ui.settings import Settings

    set_language("en")
    ws = Workspace.open(ws_path)
    settings = Settings()
    settings.reviewer = "Alice Reviewer"
    win = MainWindow(ws, settings, restore=False)
    win.save_state_on_close = False
    qtbot.addWidget(win)
    win.resize(1600, 1000)
    win.show()
    if activate:
        win.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=5000)
    return win, ws
