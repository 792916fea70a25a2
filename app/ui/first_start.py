"""First start: with an empty workspace the window offers the bundled sample interview and names the
ways to begin (open a file, drop one, record).

:func:`install` lays a :class:`WelcomePanel` over the video area while the workspace has no case
and none is open; it disappears as soon as a case opens (the sample's analysis opens its case at
once, so the timelines fill in while it runs). The sample is ``resources/sample/sample_interview.mp4``
(a real talking-head clip with a two-voice dialogue; see ``resources/sample/README.md``), analysed on
first use with the embedded default models, like any other recording.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QVBoxLayout, QWidget

from app.paths import resources_dir
from app.ui import i18n, theme
from app.ui.i18n import N_, tr

SAMPLE_NAME = "sample_interview.mp4"
WAYS = (
    N_("Open a file: File > Open video… (Ctrl+O); mp4, mov, mkv, avi, webm or wmv, or a photo."),
    N_("Drop a recording anywhere on this window."),
    N_("Record the call: File > Record interview… (Ctrl+R), from a camera, a virtual camera or the call window on screen."),
)


def sample_video() -> Path | None:
    """The bundled sample interview (None when the installation lacks it)."""
    p = resources_dir() / "sample" / SAMPLE_NAME
    return p if p.is_file() else None


class WelcomePanel(QFrame):
    """The card shown over the empty video area on first start."""

    def __init__(self, window: Any, parent: QWidget) -> None:
        super().__init__(parent)
        self.window = window
        self.setObjectName("welcome_panel")
        self.setAutoFillBackground(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(28, 22, 28, 22)
        lay.setSpacing(10)
        self.title = QLabel()
        self.title.setObjectName("welcome_title")
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.sample_btn = QPushButton()
        self.sample_btn.setObjectName("welcome_sample")
        self.sample_btn.setDefault(True)
        self.sample_btn.clicked.connect(self.open_sample)
        self.sample_note = QLabel()
        self.sample_note.setWordWrap(True)
        self.ways_head = QLabel()
        self.ways = QLabel()
        self.ways.setWordWrap(True)
        for w in (self.title, self.intro, self.sample_btn, self.sample_note, self.ways_head, self.ways):
            lay.addWidget(w)
        self.sample_btn.setEnabled(sample_video() is not None)
        self.retranslate()
        i18n.notifier().changed.connect(self.retranslate)

    def retranslate(self, *_: Any) -> None:
        self.title.setText(f"<h2 style='margin:0'>{tr('Welcome to Vigil')}</h2>")
        self.intro.setText(tr("Vigil analyses an interview recording on this computer (nothing leaves it) and "
                              "shows why each score is what it is. Your workspace has no case yet."))
        self.sample_btn.setText(tr("Open the sample interview"))
        self.sample_note.setText(tr("A 20-second mock interview (a real face, two voices), analysed now with the "
                                    "built-in models; the timelines fill in while it runs.")
                                 if sample_video() is not None else tr("The sample interview is not installed."))
        self.ways_head.setText(f"<b>{tr('Or begin with your own recording:')}</b>")
        self.ways.setText("<br>".join(f"• {tr(w)}" for w in WAYS))

    def open_sample(self) -> None:
        """Open the sample's case if an earlier start analysed it, else analyse it now."""
        path = sample_video()
        if path is None:
            return
        known = self.window.ws.media_by_sha(_sha(path)) if hasattr(self.window.ws, "media_by_sha") else []
        if known:
            self.window.open_case(int(known[0]["case_id"]))
        else:
            self.window.open_video(path)
        self.hide()

    def apply_colors(self, *_: Any) -> None:
        """An opaque card in the theme's panel colours (the video area under it is dark in both themes)."""
        c = theme.colors()
        self.setStyleSheet(f"#welcome_panel {{ background: {c['panel']}; border: 1px solid {c['grid']}; "
                           f"border-radius: 8px; }} #welcome_panel QLabel {{ color: {c['fg']}; }}")

    def place(self) -> None:
        parent = self.parentWidget()
        w = min(560, max(parent.width() - 40, 200))
        self.setFixedWidth(w)
        self.adjustSize()
        self.move((parent.width() - w) // 2, max((parent.height() - self.height()) // 2, 8))


def _sha(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _Follow(QObject):
    """Keeps the panel centred over the video area and removes it once a case is open."""

    def __init__(self, panel: WelcomePanel, window: Any) -> None:
        super().__init__(panel)
        self.panel, self.window = panel, window
        panel.parentWidget().installEventFilter(self)
        self.timer = QTimer(self)
        self.timer.setInterval(300)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:  # noqa: N802 - Qt override
        if ev.type() == QEvent.Type.Resize:
            self.panel.place()
        return False

    def check(self) -> None:
        if self.window.case_id is not None or self.window.analysis_running():
            self.panel.hide()
            self.timer.stop()


def install(window: Any) -> WelcomePanel | None:
    """Show the welcome panel over the video area when the workspace has no case (else nothing)."""
    from app.services.review import search_cases

    if search_cases(window.ws):
        return None
    panel = WelcomePanel(window, window.video)
    panel.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
    panel.apply_colors()
    theme.notifier().changed.connect(panel.apply_colors)
    panel.place()
    panel.show()
    panel.raise_()
    window.welcome = panel
    _Follow(panel, window)
    return panel
