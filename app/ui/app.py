"""Start the review workstation: ``vigil gui [--workspace DB] [--screenshot PNG] [VIDEO|CASE]``.

Everything Qt is imported here, lazily, so the command line stays Qt-free until the window is
asked for (napari's ``viewer.py`` pattern). Bad input (a workspace that cannot be opened, a case that
does not exist, a file that is not a video) gets a plain message box, or with ``--screenshot`` one
line on stderr and exit status 2; never a traceback.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("vigil.ui")
SCREENSHOT_SIZE = (1600, 1000)
MEDIA_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".wmv", ".m4v", ".mpg", ".mpeg", ".ts", ".flv",
                  ".wav", ".flac", ".mp3", ".m4a", ".ogg", ".aac"}


def clean_qt_env() -> None:
    """Drop the Qt plugin and font paths that importing cv2 points at OpenCV's bundled Qt.

    Left in place, PySide6 loads OpenCV's incompatible platform plugin (or finds no fonts).
    """
    for var in ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR"):
        value = os.environ.get(var, "")
        if value and "cv2" in Path(value).parts:
            del os.environ[var]


def _app(screenshot: bool) -> Any:
    clean_qt_env()
    if screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "vigil"])
    app.setApplicationName("Vigil")
    app.setOrganizationName("Vigil")
    return app


def _has_display() -> bool:
    """Whether a window can be shown: a desktop session, or a Qt platform chosen explicitly."""
    if os.environ.get("QT_QPA_PLATFORM") or sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _install_excepthook() -> None:
    """An exception escaping a slot is logged and shown, not left to kill or confuse the window."""
    previous = sys.excepthook

    def hook(etype: type[BaseException], exc: BaseException, tb: Any) -> None:
        from app.core.errors import VigilError

        if isinstance(exc, VigilError):
            _notify(str(exc))
            return
        log.error("unexpected error in the window", exc_info=(etype, exc, tb))
        _notify(f"internal error: {etype.__name__}: {exc} (details in the log file)")
        if previous not in (sys.__excepthook__, hook) and os.environ.get("VIGIL_DEBUG"):
            previous(etype, exc, tb)

    sys.excepthook = hook


def _notify(text: str) -> None:
    from PySide6.QtWidgets import QApplication

    for w in QApplication.topLevelWidgets():
        if hasattr(w, "show_message") and w.isVisible():
            w.show_message(text)
            return
    print(f"vigil: {text}", file=sys.stderr)


def _fail(text: str, screenshot: str | None) -> int:
    """Tell the user why nothing opens; exit status 2 (the CLI's status for bad input)."""
    if screenshot:
        print(f"vigil: error: {text}", file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QMessageBox

    from app.ui.i18n import tr

    QMessageBox.critical(None, tr("Vigil"), text)
    return 2


def is_media_file(target: str) -> bool:
    """Whether ``target`` names an existing file (to analyse) rather than a case."""
    p = Path(target).expanduser()
    return p.is_file() and (p.suffix.lower() in MEDIA_SUFFIXES or not target.isdigit())


def wait_until(app: Any, predicate: Any, timeout_s: float) -> bool:
    """Run the event loop until ``predicate()`` holds or ``timeout_s`` passes."""
    end = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > end:
            return False
        app.processEvents()
        time.sleep(0.01)
    return True


def run_gui(workspace: str | None, target: str | None = None, screenshot: str | None = None) -> int:
    """Open the main window (and block until it closes), or write a screenshot and return.

    Parameters
    ----------
    workspace : str or None
        The workspace database; the default workspace when None.
    target : str, optional
        A recording to analyse (a readable media file), or a case (id, name or ``latest``).
    screenshot : str, optional
        Render the window at 1600x1000 with the case open and the cursor mid-way, write this PNG
        and return 0 without showing a window.

    Returns
    -------
    int
        The exit status: 0, or 2 when the input is bad.
    """
    from app.core.errors import VigilError

    if not screenshot and not _has_display():
        raise VigilError("no display to open the window on (DISPLAY is not set); run it on a desktop, "
                         "under xvfb-run, or use --screenshot PNG to render the window to an image")
    app = _app(bool(screenshot))
    from app.paths import default_workspace
    from app.store.workspace import Workspace
    from app.ui import theme
    from app.ui.i18n import set_language
    from app.ui.main_window import MainWindow
    from app.ui.settings import Settings

    settings = Settings()
    theme.install_fonts()
    set_language(settings.language)
    theme.apply_theme(app, settings.theme)
    try:
        ws = Workspace.open(workspace or default_workspace())
    except VigilError as exc:
        return _fail(str(exc), screenshot)
    try:
        case_id, video = None, None
        if target:
            if is_media_file(target):
                video = str(Path(target).expanduser())
            else:
                try:
                    case_id = int(ws.find_case(target)["id"])
                except VigilError as exc:
                    hint = "" if Path(target).exists() or not any(c in target for c in "/\\.") else \
                        " (no such file either)"
                    return _fail(f"{exc}{hint}", screenshot)
        if screenshot:
            return _screenshot(app, ws, settings, case_id, video, screenshot)
        _install_excepthook()
        win = MainWindow(ws, settings)
        win.show()
        if video:
            win.open_video(video)
        elif case_id is not None:
            win.open_case(case_id)
        app.exec()
        return 0
    finally:
        from app.ui.workers import drain

        drain()
        ws.close()


def _screenshot(app: Any, ws: Any, settings: Any, case_id: int | None, video: str | None, png: str) -> int:
    """Render the window with the case open at mid-way and save it as ``png``."""
    from app.core.errors import VigilError
    from app.ui.main_window import MainWindow

    win = MainWindow(ws, settings, restore=False)
    win.save_state_on_close = False
    win.resize(*SCREENSHOT_SIZE)
    win.show()
    try:
        if video:
            if not win.open_video(video):
                return _fail(win.last_message, png)
            wait_until(app, lambda: win.analysis_outcome is not None, 3600)
            if win.analysis_outcome != "finished":
                return _fail(win.last_message or "the analysis did not finish", png)
            case_id = win.worker.case_id
        if case_id is None:
            try:
                case_id = int(ws.find_case("latest")["id"])
            except VigilError:
                case_id = None
        if case_id is not None:
            win.open_case(case_id)
            if not wait_until(app, lambda: win.case_id == case_id and win.data is not None, 60):
                return _fail(win.last_message or "the case did not open within 60 s", png)
            mid = win.player.duration / 2.0
            wait_until(app, lambda: False, 0.2)  # let the docks and tracks settle to their final size
            win.timeline.show_range(0.0, max(win.player.duration, 1.0))
            win._settle_view()
            win.seek(mid)
            want = win.player.current_index()
            wait_until(app, lambda: want < 0 or win.player.shown_index == want, 20)
            _wait_explanation(app, win, mid)
            # The audio envelope is read on a worker thread: show the waveform, not an empty track.
            wait_until(app, lambda: not win.waveform_pending, 20)
        wait_until(app, lambda: False, 0.3)  # let the last paints land
        Path(png).expanduser().parent.mkdir(parents=True, exist_ok=True)
        if not win.grab().save(str(Path(png).expanduser()), "PNG"):
            return _fail(f"{png}: cannot write the image", png)
        print(png, file=sys.stderr)
        return 0
    finally:
        win.shutdown()
        win.close()
        win.deleteLater()
        app.processEvents()


def _wait_explanation(app: Any, win: Any, t: float) -> None:
    """Wait until the explanation panel shows the scores at ``t`` (its worker runs off the UI thread)."""
    def shown() -> bool:
        res = win.explain.result()
        return bool(res) and abs(float(res.get("t0", -1.0)) - t) < 1.0

    wait_until(app, shown, 20)
