"""The main window's menus and keyboard shortcuts, declared once as a table.

Each entry becomes a ``QAction`` added both to its menu and to the window itself with
``Qt.WindowShortcut`` context, so the keys work whatever widget has focus. Text fields still get
their own keys: a ``QLineEdit`` claims plain keys, arrows, Home/End, Delete and Ctrl+Z through
Qt's shortcut-override event before window shortcuts fire. The same table feeds Help > Keyboard
shortcuts (PANELS' ``ShortcutsDialog``), so the list can never drift from what the keys do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from app.ui.i18n import N_, tr


@dataclass(frozen=True)
class Act:
    """One action: ``key`` names it; ``slot`` is a window method name; ``keys`` its shortcuts."""

    key: str
    menu: str
    text: str
    slot: str
    keys: tuple[str, ...] = ()
    checkable: bool = False
    group: str | None = None


MENUS = (("file", N_("&File")), ("edit", N_("&Edit")), ("play", N_("&Playback")),
         ("annotate", N_("&Annotate")), ("view", N_("&View")), ("analysis", N_("A&nalysis")), ("help", N_("&Help")))

ACTIONS: tuple[Act, ...] = (
    Act("open_video", "file", N_("Open video…"), "choose_video", ("Ctrl+O",)),
    Act("open_case", "file", N_("Open case…"), "focus_case_list", ("Ctrl+Shift+O",)),
    Act("report", "file", N_("Report…"), "write_report", ("Ctrl+P",)),
    Act("record", "file", N_("Record interview…"), "record_interview", ("Ctrl+R",)),
    Act("settings", "file", N_("Settings…"), "show_settings", ("Ctrl+,",)),
    Act("quit", "file", N_("Quit"), "close", ("Ctrl+Q",)),
    Act("undo", "edit", N_("Undo"), "undo", ("Ctrl+Z",)),
    Act("redo", "edit", N_("Redo"), "redo", ("Ctrl+Y", "Ctrl+Shift+Z")),
    Act("find", "edit", N_("Find in transcript…"), "show_find", ("Ctrl+F",)),
    Act("play", "play", N_("Play / pause"), "toggle_play", ("Space",)),
    Act("frame_back", "play", N_("Previous frame"), "frame_back", ("Left",)),
    Act("frame_fwd", "play", N_("Next frame"), "frame_forward", ("Right",)),
    Act("sec_back", "play", N_("Back 1 second"), "second_back", ("Shift+Left",)),
    Act("sec_fwd", "play", N_("Forward 1 second"), "second_forward", ("Shift+Right",)),
    Act("j", "play", N_("Back 5 seconds"), "key_j", ("J",)),
    Act("k", "play", N_("Pause"), "key_k", ("K",)),
    Act("l", "play", N_("Play (again: faster)"), "key_l", ("L",)),
    Act("home", "play", N_("Go to start"), "go_start", ("Home",)),
    Act("end", "play", N_("Go to end"), "go_end", ("End",)),
    Act("marker", "annotate", N_("Add marker at cursor"), "add_marker", ("M",)),
    Act("mark_in", "annotate", N_("Set in point"), "mark_in", ("I",)),
    Act("mark_out", "annotate", N_("Set out point (adds the interval)"), "mark_out", ("O",)),
    Act("delete", "annotate", N_("Delete selected annotation"), "delete_annotation", ("Delete",)),
    Act("add_tier", "annotate", N_("Add tier…"), "add_tier"),
    Act("zoom_in", "view", N_("Zoom in"), "zoom_in", ("+", "=")),
    Act("zoom_out", "view", N_("Zoom out"), "zoom_out", ("-",)),
    Act("zoom_all", "view", N_("Show the whole recording"), "zoom_all", ("0",)),
    Act("ov_box", "view", N_("Overlay: face box"), "toggle_overlays", (), True),
    Act("ov_mesh", "view", N_("Overlay: face mesh"), "toggle_overlays", (), True),
    Act("ov_aus", "view", N_("Overlay: live AU bars"), "toggle_overlays", (), True),
    Act("ov_forgery", "view", N_("Overlay: forgery heat map"), "toggle_overlays", (), True),
    Act("expr_stacked", "view", N_("Expression: stacked probabilities"), "set_expression_mode", (), True, "expr"),
    Act("expr_band", "view", N_("Expression: dominant-class band"), "set_expression_mode", (), True, "expr"),
    Act("theme_light", "view", N_("Light theme"), "set_theme_from_menu", (), True, "theme"),
    Act("theme_dark", "view", N_("Dark theme"), "set_theme_from_menu", (), True, "theme"),
    Act("lang_en", "view", N_("English"), "set_language_from_menu", (), True, "lang"),
    Act("lang_zh", "view", N_("Chinese (简体中文)"), "set_language_from_menu", (), True, "lang"),
    Act("compare_aus", "analysis", N_("Compare AUs with reference…"), "compare_aus"),
    Act("audit_trail", "analysis", N_("Audit trail…"), "show_audit"),
    Act("shortcuts", "help", N_("Keyboard shortcuts"), "show_shortcuts", ("F1",)),
    Act("about", "help", N_("About Vigil"), "show_about"),
)

# Keys handled by the timelines themselves, listed in the help for completeness.
MOUSE_HELP = (
    (N_("Click / drag on a timeline"), N_("Move the cursor and the video there")),
    (N_("Shift + drag on a timeline"), N_("Select an interval (the explanation covers it)")),
    (N_("Mouse wheel on a timeline"), N_("Zoom the time axis")),
    (N_("Esc"), N_("Close the find bar")),
)

SEPARATE_AFTER = {"settings", "find", "sec_fwd", "l", "delete", "zoom_all", "ov_forgery", "expr_band",
                  "theme_dark"}


def shortcut_list() -> list[tuple[str, str]]:
    """``(keys, description)`` for the help dialog, in English (the dialog translates)."""
    out = [(" / ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in a.keys), a.text)
           for a in ACTIONS if a.keys]
    return out + [(k, d) for k, d in MOUSE_HELP]


def build(window: QMainWindow) -> dict[str, QAction]:
    """Create the menus and actions on ``window``; returns the actions by key."""
    menus: dict[str, QMenu] = {}
    for key, text in MENUS:
        m = window.menuBar().addMenu(tr(text))
        m.setObjectName(f"menu_{key}")
        menus[key] = m
    groups: dict[str, QActionGroup] = {}
    actions: dict[str, QAction] = {}
    for a in ACTIONS:
        act = QAction(tr(a.text), window)
        act.setObjectName(f"act_{a.key}")
        if a.keys:
            act.setShortcuts([QKeySequence(k) for k in a.keys])
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.setCheckable(a.checkable)
        if a.group:
            groups.setdefault(a.group, QActionGroup(window)).addAction(act)
        slot: Callable[..., Any] = getattr(window, a.slot)
        if a.checkable:
            act.toggled.connect(lambda on, k=a.key, s=slot: s(k, on))
        else:
            act.triggered.connect(lambda _=False, s=slot: s())
        menus[a.menu].addAction(act)
        window.addAction(act)  # the shortcut works even while the menu bar is hidden
        if a.key in SEPARATE_AFTER:
            menus[a.menu].addSeparator()
        actions[a.key] = act
    window._menus = menus  # type: ignore[attr-defined]  # kept for retranslate()
    return actions


def retranslate(window: QMainWindow, actions: dict[str, QAction]) -> None:
    """Re-apply the menu and action texts in the current language."""
    for key, text in MENUS:
        window._menus[key].setTitle(tr(text))  # type: ignore[attr-defined]
    for a in ACTIONS:
        actions[a.key].setText(tr(a.text))
