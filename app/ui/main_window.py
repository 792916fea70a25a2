"""The review workstation's main window: video over timelines, with the case list, explanation,
decision and annotation editor in docks.

The window wires views to models and does nothing slow itself: cases load through
:func:`app.ui.workers.load_case` off the UI thread, frames decode on the player's thread, analysis
runs in :class:`app.ui.workers.AnalysisWorker` (see :mod:`app.ui.analysis_control`).
"""

from __future__ import annotations

import getpass
import logging
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QPainter, QPalette, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import (QComboBox, QDockWidget, QHBoxLayout, QLabel, QMainWindow, QMessageBox,
                               QProgressBar, QPushButton, QSplitter, QToolButton, QVBoxLayout, QWidget)

from app.ui import theme, window_actions
from app.ui.analysis_control import AnalysisControl
from app.ui.case_list import CaseList
from app.ui.find_bar import FindBar
from app.ui.i18n import N_, notifier, tr
from app.ui.player import Player
from app.ui.video_view import VideoView
from app.ui.window_keys import SPEEDS, KeySlots, fmt_time
from app.ui.workers import load_case, run_in_thread

log = logging.getLogger("vigil.ui")


class MainWindow(QMainWindow, AnalysisControl, KeySlots):
    """The main window over one open workspace.

    Signals
    -------
    caseLoaded(int)
        A case's timelines, video and panels are set (data loaded; the frame may still decode).
    """

    caseLoaded = Signal(int)

    def __init__(self, ws: Any, settings: Any, restore: bool = True) -> None:
        super().__init__()
        from app.ui.annotation_editor import AnnotationEditor
        from app.ui.decision_panel import DecisionPanel
        from app.ui.explain_panel import ExplanationPanel
        from app.ui.timelines import TimelineView

        self.ws, self.settings = ws, settings
        self.case_id: int | None = None
        self.case: dict[str, Any] | None = None
        self.data: Any = None
        self.stack: Any = None
        self.selected_annotation: dict[str, Any] | None = None
        self.last_message = ""
        self._load_gen = 0
        self.timings: dict[str, float] = {}
        #: True while the open case's audio envelope is still being read on a worker thread.
        self.waveform_pending = False
        self.setObjectName("VigilMainWindow")
        self.setAcceptDrops(True)

        self.player = Player(self)
        self.video = VideoView()
        self.timeline = TimelineView()
        self.find_bar = FindBar()
        self.transport = self._build_transport()
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(0)
        tl.addWidget(self.video, 1)
        tl.addWidget(self.transport)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.setSpacing(0)
        bl.addWidget(self.find_bar)
        bl.addWidget(self.timeline, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("central_splitter")
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.setCentralWidget(self.splitter)

        self.case_list = CaseList(ws)
        self.explain = ExplanationPanel()
        self.decision = DecisionPanel()
        self.editor = AnnotationEditor()
        self.docks = {
            "cases": self._dock("cases", self.case_list, Qt.DockWidgetArea.LeftDockWidgetArea),
            "explain": self._dock("explain", self.explain, Qt.DockWidgetArea.RightDockWidgetArea),
            "decision": self._dock("decision", self.decision, Qt.DockWidgetArea.RightDockWidgetArea),
            "annotation": self._dock("annotation", self.editor, Qt.DockWidgetArea.RightDockWidgetArea),
        }
        self.tabifyDockWidget(self.docks["explain"], self.docks["decision"])
        self.docks["explain"].raise_()
        self.actions_by_key = window_actions.build(self)
        self._build_status_bar()
        self._init_analysis()
        self._connect()
        self._init_checks()
        self.retranslate()
        notifier().changed.connect(self.retranslate)
        theme.notifier().changed.connect(self._apply_colors)
        self._apply_colors()
        self.resize(1600, 1000)
        self.splitter.setSizes([430, 570])
        self.resizeDocks([self.docks["cases"], self.docks["explain"]], [330, 400], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["explain"], self.docks["annotation"]], [700, 200], Qt.Orientation.Vertical)
        if restore:
            settings.restore_window(self)
            state = settings.value("window/splitter")
            if isinstance(state, QByteArray):
                self.splitter.restoreState(state)
        self.case_list.refresh()
        from app.ui import first_start

        self.welcome = first_start.install(self)  # an empty workspace offers the sample interview

    # -- construction ----------------------------------------------------------------------------
    def _dock(self, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        d = QDockWidget(self)
        d.setObjectName(f"dock_{name}")
        d.setWidget(widget)
        self.addDockWidget(area, d)
        return d

    def _build_transport(self) -> QWidget:
        w = QWidget()
        lay = QHBoxLayout(w)
        lay.setContentsMargins(6, 2, 6, 2)
        self.play_btn = QToolButton()
        self.back_btn = QToolButton()
        self.fwd_btn = QToolButton()
        self._make_icons()
        self.speed = QComboBox()
        for s in SPEEDS:
            self.speed.addItem(f"{s:g}×", s)
        self.speed.setCurrentIndex(SPEEDS.index(1.0))
        self.speed.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.pos_label = QLabel()
        self.sound_label = QLabel()
        for b in (self.back_btn, self.play_btn, self.fwd_btn):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            lay.addWidget(b)
        lay.addWidget(self.speed)
        lay.addSpacing(12)
        lay.addWidget(self.pos_label)
        lay.addStretch(1)
        lay.addWidget(self.sound_label)
        return w

    def _make_icons(self) -> None:
        """Transport glyphs drawn in the palette's text colour, so they read in both themes."""
        color = self.palette().color(QPalette.ColorRole.ButtonText)
        shapes = {"Play": [(5, 3), (13, 8), (5, 13)], "Back": [(13, 3), (6, 8), (13, 13)],
                  "Forward": [(3, 3), (10, 8), (3, 13)]}
        self._icons = {}
        for name in ("Play", "Pause", "Back", "Forward", "Muted"):
            pm = QPixmap(32, 32)
            pm.fill(Qt.GlobalColor.transparent)
            p = QPainter(pm)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.scale(2, 2)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            if name in shapes:
                p.drawPolygon(QPolygonF([QPointF(x, y) for x, y in shapes[name]]))
            if name == "Pause":
                p.drawRect(QRectF(4, 3, 3, 10))
                p.drawRect(QRectF(9, 3, 3, 10))
            elif name == "Back":
                p.drawRect(QRectF(3, 3, 2, 10))
            elif name == "Forward":
                p.drawRect(QRectF(11, 3, 2, 10))
            elif name == "Muted":
                p.drawPolygon(QPolygonF([QPointF(x, y) for x, y in ((2, 6), (5, 6), (9, 2), (9, 14), (5, 10), (2, 10))]))
                p.setPen(QPen(color, 1.5))
                p.drawLine(QPointF(11, 5), QPointF(15, 11))
                p.drawLine(QPointF(15, 5), QPointF(11, 11))
            p.end()
            self._icons[name] = QIcon(pm)
        self.back_btn.setIcon(self._icons["Back"])
        self.fwd_btn.setIcon(self._icons["Forward"])
        self.play_btn.setIcon(self._icons["Pause" if self.player.is_playing() else "Play"])

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.case_label = QLabel()
        self.time_label = QLabel()
        self.frame_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(True)
        self.cancel_btn = QPushButton()
        for w in (self.case_label, self.time_label, self.frame_label):
            w.setContentsMargins(8, 0, 8, 0)
            sb.addPermanentWidget(w)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_btn)
        self.progress.hide()
        self.cancel_btn.hide()

    def _connect(self) -> None:
        self.play_btn.clicked.connect(self.toggle_play)
        self.back_btn.clicked.connect(self.frame_back)
        self.fwd_btn.clicked.connect(self.frame_forward)
        self.speed.currentIndexChanged.connect(lambda _: self.player.set_speed(float(self.speed.currentData())))
        self.player.positionChanged.connect(self._on_position)
        self.player.frameShown.connect(self._on_frame)
        self.player.playingChanged.connect(self._on_playing)
        self.player.audioNote.connect(self._on_audio_note)
        self.timeline.seekRequested.connect(self.seek)
        self.timeline.intervalSelected.connect(self._on_interval)
        self.timeline.annotationSelected.connect(self._on_annotation_selected)
        self.timeline.messageRequested.connect(lambda m: self.statusBar().showMessage(m, 6000))
        self.explain.seekRequested.connect(self.seek)
        self.decision.statusChanged.connect(lambda _s: self.case_list.refresh())
        self.case_list.caseActivated.connect(self.open_case)
        self.find_bar.findNext.connect(self.find_next)
        self.cancel_btn.clicked.connect(self.cancel_analysis)
        self._explain_timer = QTimer(self)
        self._explain_timer.setInterval(500)  # while playing, the explanation follows at 2 Hz
        self._explain_timer.timeout.connect(lambda: self.explain.show_at(self.player.position()))

    def _init_checks(self) -> None:
        a = self.actions_by_key
        for key, name in (("ov_box", "box"), ("ov_mesh", "mesh"), ("ov_aus", "aus"), ("ov_forgery", "forgery")):
            a[key].setChecked(self.video.enabled[name])
        a["expr_stacked"].setChecked(True)
        a["theme_dark" if theme.current() == "dark" else "theme_light"].setChecked(True)
        from app.ui.i18n import language

        a["lang_zh" if language() == "zh" else "lang_en"].setChecked(True)

    def retranslate(self, *_: Any) -> None:
        """Re-apply every text of the window in the current language."""
        self._update_title()
        for key, title in (("cases", N_("Cases")), ("explain", N_("Explanation")), ("decision", N_("Decision")),
                           ("annotation", N_("Annotation"))):
            self.docks[key].setWindowTitle(tr(title))
        window_actions.retranslate(self, self.actions_by_key)
        self.cancel_btn.setText(tr("Cancel"))
        self.cancel_btn.setToolTip(tr("Stop the analysis; what was analysed so far is kept"))
        self.back_btn.setToolTip(tr("Previous frame") + " (←)")
        self.fwd_btn.setToolTip(tr("Next frame") + " (→)")
        self.speed.setToolTip(tr("Playback speed"))
        self._on_playing(self.player.is_playing())
        self._update_labels(self.player.position())
        if hasattr(self.timeline, "retranslate"):
            self.timeline.retranslate()

    def _update_title(self) -> None:
        self.setWindowTitle(tr("Vigil — interview review") + (f" — {self.case['name']}" if self.case else ""))

    def _apply_colors(self, *_: Any) -> None:
        self.timeline.apply_colors(theme.colors())
        if hasattr(self, "_icons"):
            self._make_icons()

    # -- cases -----------------------------------------------------------------------------------
    def reviewer(self) -> str:
        """Who is working: the reviewer name from Settings, else the login name."""
        name = getattr(self.settings, "reviewer", "") or ""
        if name:
            return name
        try:
            return getpass.getuser()
        except Exception:  # noqa: BLE001 - no login name (some containers)
            return "reviewer"

    def open_case(self, case_id: int, live: bool = False) -> None:
        """Load case ``case_id`` off the UI thread and show it (emits ``caseLoaded``)."""
        self._load_gen += 1
        gen, ws = self._load_gen, self.ws
        if not live:
            self.stop_live()
        self.statusBar().showMessage(tr("Opening case…"))
        run_in_thread(lambda: load_case(ws, case_id), lambda r: self._case_loaded(gen, case_id, r, live),
                      self._load_failed)

    def _load_failed(self, exc: BaseException) -> None:
        from app.core.errors import VigilError

        if not isinstance(exc, VigilError):
            log.error("opening a case failed", exc_info=(type(exc), exc, exc.__traceback__))
        self.show_message(tr("Cannot open the case") + f": {exc}")

    def _case_loaded(self, gen: int, case_id: int, r: dict[str, Any], live: bool) -> None:
        if gen != self._load_gen:
            return  # a later open won
        import time

        from app.services.review import AnnotationStack
        from app.services.timeline import frame_overlay

        t_set = time.perf_counter()
        self.case_id, self.case, self.data = case_id, r["case"], r["data"]
        data = self.data
        self.selected_annotation = None
        self.stack = AnnotationStack(self.ws, case_id, self.reviewer(), baseline_runner=self._run_baseline)
        self.stack.listeners.append(self._on_stack_change)
        self._on_stack_change({})
        self.timeline.set_data(data)
        self.timeline.set_annotations(self.stack, r["tiers"])
        self.player.open(data.media_path if data.media_path and Path(data.media_path).exists() else None,
                         data.t, data.frame, data.duration_s, partial(frame_overlay, self.ws, case_id), data.fps)
        if not data.media_path or not Path(data.media_path).exists():
            self.video.set_frame(None, None)
            self.video.set_message(tr("Video file not found") + f": {data.media_path or '-'}")
        self.explain.set_case(self.ws, case_id)
        if len(data.frame):
            self.explain.set_frame_clock(data.frame, data.t)
        self.decision.set_case(self.ws, case_id)
        self.editor.set_stack(self.stack)
        self.editor.show_annotation(None)
        self._update_title()
        self._update_labels(self.player.position())
        self.statusBar().showMessage(tr("Case opened"), 3000)
        self.waveform_pending = False
        if data.has_audio and data.media_path and Path(data.media_path).exists():
            self._load_waveform(gen, data.media_path)
        if live:
            self.start_live(case_id, int(data.frame[-1]) if len(data.frame) else -1)
        QTimer.singleShot(0, self._settle_view)
        self.timings = {"load_s": r.get("load_s", 0.0), "set_s": time.perf_counter() - t_set}
        log.info("case %d opened: %d frames, load %.2f s, views %.2f s", case_id, len(data.t),
                 self.timings["load_s"], self.timings["set_s"])
        self.caseLoaded.emit(case_id)

    def _settle_view(self) -> None:
        # Curves are downsampled for the plot width at the last range change; the lanes' layout
        # settles after that, so touch the range once more to redraw them at their final width.
        x0, x1 = self.timeline.view_range()
        self.timeline.show_range(x0, x1 + 1e-3)
        self.timeline.show_range(x0, x1)

    def _load_waveform(self, gen: int, path: str) -> None:
        from app.services.timeline import waveform_envelope

        def done(env: Any) -> None:
            if gen != self._load_gen:
                return
            self.waveform_pending = False
            if env is not None and len(env[0]):
                self.timeline.set_waveform(*env)

        def failed(exc: BaseException) -> None:
            if gen == self._load_gen:
                self.waveform_pending = False
            log.warning("waveform of %s not read: %s", path, exc)

        self.waveform_pending = True
        run_in_thread(lambda: waveform_envelope(path), done, failed)

    def _run_baseline(self, job: Any) -> None:
        """Re-score against a changed Baseline tier off the UI thread, then redraw the scores."""
        gen = self._load_gen
        self.statusBar().showMessage(tr("Re-computing the scores against the new baseline…"))

        def done(_result: Any) -> None:
            if gen == self._load_gen:
                self.statusBar().showMessage(tr("Scores re-computed against the new baseline"), 5000)
                self.reload_scores()

        run_in_thread(job, done, lambda exc: self.show_message(tr("Re-scoring failed") + f": {exc}"))

    def reload_scores(self) -> None:
        """Re-read the case's scores (after a baseline change), keeping the view where it is."""
        if self.case_id is None:
            return
        gen, ws, cid = self._load_gen, self.ws, self.case_id
        from app.services.timeline import load_timeline

        def done(data: Any) -> None:
            if gen == self._load_gen:
                rng = self.timeline.view_range()
                self.data = data
                self.timeline.set_data(data)
                self.timeline.show_range(*rng)
                self.timeline.set_cursor(self.player.position())
                self.explain.show_at(self.player.position())

        run_in_thread(lambda: load_timeline(ws, cid), done)

    # -- position ---------------------------------------------------------------------------------
    def seek(self, t: float) -> None:
        """Move the cursor and the video to ``t`` seconds."""
        self.player.seek(float(t))

    def _on_position(self, t: float) -> None:
        self.timeline.set_cursor(t)
        self._update_labels(t)
        if not self.player.is_playing() and self.case_id is not None:
            self.explain.show_at(t)

    def _update_labels(self, t: float) -> None:
        dur = self.player.duration
        self.pos_label.setText(f"{fmt_time(t)} / {fmt_time(dur)}")
        self.time_label.setText(tr("Time") + f" {fmt_time(t)}")
        self.frame_label.setText(tr("Frame") + f" {self.player.current_frame()}")
        self.case_label.setText((tr("Case") + f": {self.case['name']}") if self.case else tr("No case open"))

    def _on_frame(self, index: int, t: float, image: Any, overlay: Any) -> None:
        fn = int(self.player.frames[index]) if 0 <= index < len(self.player.frames) else None
        self.video.set_frame(image, overlay, fn)

    def _on_playing(self, playing: bool) -> None:
        self.play_btn.setIcon(self._icons["Pause" if playing else "Play"])
        self.play_btn.setToolTip(tr("Pause") if playing else tr("Play") + " (Space)")
        if playing:
            self._explain_timer.start()
        else:
            self._explain_timer.stop()

    def _on_audio_note(self, note: str) -> None:
        self.sound_label.setPixmap(self._icons["Muted"].pixmap(16, 16) if note else QPixmap())
        self.sound_label.setToolTip(tr(note) if note else "")
        self.speed.setToolTip(tr("Playback speed") + (f"\n{tr(note)}" if note else ""))

    def _on_interval(self, t0: float, t1: float) -> None:
        if self.case_id is not None:
            self.explain.show_interval(t0, t1)

    def write_report(self) -> None:
        """File > Report…: the open case's report as PDF (:mod:`app.ui.report_dialog`)."""
        from app.ui.report_dialog import write_report

        write_report(self)

    def record_interview(self) -> Any:
        """File > Record interview…: record with a live preview; the case then opens and is analysed."""
        from app.ui.record_dialog import RecordDialog

        dlg = RecordDialog(self.ws, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.recorded.connect(lambda case_id, path: self.open_video(path))
        dlg.show()
        return dlg

    def show_message(self, text: str, title: str | None = None) -> None:
        """A plain-language message in a non-blocking box (also kept in ``last_message``)."""
        self.last_message = text
        self.statusBar().showMessage(text, 10000)
        box = QMessageBox(QMessageBox.Icon.Warning, title or tr("Vigil"), text, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # -- window -----------------------------------------------------------------------------------
    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
            self.open_video(urls[0].toLocalFile())

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        self.shutdown()
        if getattr(self, "save_state_on_close", True):
            self.settings.save_window(self)
            self.settings.set_value("window/splitter", self.splitter.saveState())
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop playback and any analysis (waits a bounded time); idempotent."""
        self._load_gen += 1  # results still on their way (case, waveform, scores) are dropped
        self.player.close()
        self.stop_analysis(wait_s=30.0)
        # the panels outlive nothing: a language switch after closing must not query this workspace
        self.decision.set_case(None, None)
        self.explain.set_case(None, None)
