"""The main window's analysis side: open a video, analyse it in the background, show it growing.

A mixin of :class:`app.ui.main_window.MainWindow` (kept apart so each module holds one concern).
Opening a video starts :class:`~app.ui.workers.AnalysisWorker`; as soon as the file is registered
the window opens its (still empty) case and :class:`~app.ui.workers.LivePoller` appends the rows
committed since the last second to the timelines. Cancel stops at the next batch: what was
committed stays and the run is marked interrupted, so opening the same video again resumes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtWidgets import QFileDialog

from app.ui.i18n import tr
from app.ui.workers import AnalysisWorker, LivePoller

log = logging.getLogger("vigil.ui")
VIDEO_FILTER = "Videos (*.mp4 *.mov *.mkv *.avi *.webm *.wmv *.m4v);;Audio (*.wav *.flac *.mp3 *.m4a);;All files (*)"


class AnalysisControl:
    """Analysis worker, progress bar, Cancel and live timeline growth for the main window."""

    worker: AnalysisWorker | None
    poller: LivePoller | None

    def _init_analysis(self) -> None:
        self.worker = None
        self.poller = None
        self.analysis_outcome: str | None = None  # "finished" | "cancelled" | "failed"

    def choose_video(self) -> None:
        """File > Open video…: pick a recording and analyse it."""
        path, _ = QFileDialog.getOpenFileName(self, tr("Open video"), "", VIDEO_FILTER)
        if path:
            self.open_video(path)

    def analysis_running(self) -> bool:
        """Whether an analysis worker is alive."""
        return self.worker is not None and self.worker.isRunning()

    def open_video(self, path: str | Path) -> bool:
        """Analyse ``path`` in the background (or resume it); False with a message when refused."""
        p = Path(path)
        if self.analysis_running():
            self.show_message(tr("An analysis is already running; cancel it or wait until it ends."))
            return False
        if not p.is_file():
            self.show_message(tr("File not found") + f": {p}")
            return False
        self.stop_live()
        self.analysis_outcome = None
        if self.worker is not None:
            self.worker.deleteLater()
        w = AnalysisWorker(self.ws, p, None, self)
        w.registered.connect(self._analysis_registered)
        w.progress.connect(self._analysis_progress)
        w.finished_ok.connect(self._analysis_finished)
        w.failed.connect(self._analysis_failed)
        w.cancelled.connect(self._analysis_cancelled)
        self.worker = w
        self.progress.setRange(0, 0)  # busy until the first report
        self.progress.setFormat(tr("Preparing…"))
        self.progress.show()
        self.cancel_btn.setEnabled(True)
        self.cancel_btn.show()
        self.statusBar().showMessage(tr("Analysing") + f" {p.name}…")
        w.start()
        return True

    def cancel_analysis(self) -> None:
        """Cancel: the worker stops at its next batch and keeps what it committed."""
        if self.worker is not None:
            self.worker.cancel()
            self.cancel_btn.setEnabled(False)
            self.progress.setFormat(tr("Stopping…"))

    def stop_analysis(self, wait_s: float = 30.0) -> None:
        """Cancel and wait up to ``wait_s`` for the worker (on close)."""
        self.stop_live()
        w = self.worker
        if w is not None and w.isRunning():
            w.cancel()
            if not w.wait(int(wait_s * 1000)):
                log.warning("the analysis did not stop within %.0f s", wait_s)

    # -- live growth -----------------------------------------------------------------------------
    def start_live(self, case_id: int, after_frame: int) -> None:
        """Append newly committed rows to the timelines every second."""
        self.stop_live()
        self.poller = LivePoller(self.ws, case_id, after_frame, parent=self)
        self.poller.appended.connect(self._live_rows)
        self.poller.start()

    def stop_live(self) -> None:
        """Stop the live poller."""
        if self.poller is not None:
            self.poller.stop()
            self.poller.deleteLater()
            self.poller = None

    def _live_rows(self, d: Any) -> None:
        if self.case_id != getattr(self.poller, "case_id", None):
            return
        self.timeline.append_data(d)
        p = self.player
        p.set_table(np.concatenate([p.t, d.t]), np.concatenate([p.frames, d.frame]), getattr(d, "duration_s", None))

    # -- worker signals --------------------------------------------------------------------------
    def _analysis_registered(self, case_id: int) -> None:
        self.case_list.refresh()
        self.open_case(case_id, live=True)

    def _analysis_progress(self, done: int, total: int, t: float) -> None:
        if self.worker is not None and self.worker.is_cancelled():
            return
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(done, max(total, 1)))
        self.progress.setFormat(tr("Video") + f" {done}/{total} ({t:.0f} s)")

    def _analysis_done(self, outcome: str) -> None:
        self.analysis_outcome = outcome
        self.stop_live()
        self.progress.hide()
        self.cancel_btn.hide()
        self.case_list.refresh()

    def _analysis_finished(self, res: Any) -> None:
        self._analysis_done("finished")
        notes = "; ".join(getattr(res, "notes", []) or [])
        self.statusBar().showMessage(tr("Analysis finished") + (f" ({notes})" if notes else ""), 10000)
        self.open_case(res.case_id)

    def _analysis_cancelled(self) -> None:
        self._analysis_done("cancelled")
        self.statusBar().showMessage(tr("Analysis cancelled; what was analysed is kept. "
                                        "Open the same video again to resume."), 15000)
        if self.worker is not None and self.worker.case_id is not None:
            self.open_case(self.worker.case_id)

    def _analysis_failed(self, message: str) -> None:
        self._analysis_done("failed")
        self.show_message(tr("The analysis stopped") + f": {message}")
