"""File > Record interview…: choose the sources, show the disclosure, record with a live preview.

The preview shows the latest captured frame with the live face box, and bars for the live AUs and
the expression probabilities from :class:`app.core.record.live.LivePreview` (which skips frames it
cannot afford and says how many). A red indicator and the elapsed time stay visible while recording.
After Stop the recording is filed in a case (with the disclosure, its confirmation and the capture
record) and :attr:`RecordDialog.recorded` hands it to the main window, which analyses it in the
background like a loaded file.
"""

from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPlainTextEdit, QPushButton, QSizePolicy, QVBoxLayout, QWidget)

from app.core.analysers.columns import EXPRESSIONS
from app.core.record.live import LIVE_AUS, STALE_S, LivePreview, LiveResult, render
from app.ui.i18n import N_, tr

PREVIEW_WIDTH = 960  # frames are scaled to this before they are painted
EXPR_NAMES = {e: N_(e) for e in EXPRESSIONS}


class PreviewView(QWidget):
    """Paints the latest preview frame, letter-boxed."""

    def __init__(self) -> None:
        super().__init__()
        self.image: QImage | None = None
        self.setMinimumSize(480, 270)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_frame(self, rgb: np.ndarray) -> None:
        h, w = rgb.shape[:2]
        self._buf = rgb  # QImage does not own the memory
        self.image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        self.update()

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(20, 20, 20))
        if self.image is not None:
            iw, ih = self.image.width(), self.image.height()
            s = min(self.width() / iw, self.height() / ih)
            r = QRectF((self.width() - iw * s) / 2, (self.height() - ih * s) / 2, iw * s, ih * s)
            p.drawImage(r, self.image)
        else:
            p.setPen(QColor(200, 200, 200))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, tr("No picture yet"))
        p.end()


class BarsView(QWidget):
    """Live AU intensities (0-5) and expression probabilities (0-1) as horizontal bars."""

    def __init__(self) -> None:
        super().__init__()
        self.result: LiveResult | None = None
        self.setMinimumWidth(260)

    def set_result(self, result: LiveResult | None) -> None:
        self.result = result
        self.update()

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), pal.base())
        rows = [(a, (self.result.aus.get(a) if self.result else None), 5.0, QColor(70, 130, 220)) for a in LIVE_AUS]
        rows += [(tr(EXPR_NAMES[e]), (self.result.expressions.get(e) if self.result else None), 1.0,
                  QColor(220, 120, 60)) for e in EXPRESSIONS]
        h = max(10.0, (self.height() - 30) / (len(rows) + 1))
        label_w, x0 = 78, 84
        bar_w = self.width() - x0 - 8
        p.setPen(pal.text().color())
        title = tr("Live AUs (0–5) and expressions (0–1)")
        if self.result is not None and not self.result.usable:
            title = tr("No usable face") + (f": {self.result.reason}" if self.result.reason else "")
        p.drawText(QRectF(4, 2, self.width() - 8, 20), Qt.AlignmentFlag.AlignLeft, title)
        for i, (name, value, top, colour) in enumerate(rows):
            y = 24 + i * h + (h if i >= len(LIVE_AUS) else 0)
            p.setPen(pal.text().color())
            p.drawText(QRectF(4, y, label_w, h), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, name)
            p.fillRect(QRectF(x0, y + 2, bar_w, h - 4), QColor(128, 128, 128, 50))
            if value is not None and np.isfinite(value):
                p.fillRect(QRectF(x0, y + 2, bar_w * min(1.0, max(0.0, value / top)), h - 4), colour)
        p.end()


class RecordDialog(QDialog):
    """Sources, disclosure and consent, live preview, Start / Stop.

    Signals
    -------
    recorded(int, str)
        A recording was filed: its case id and file path.
    """

    recorded = Signal(int, str)

    def __init__(self, ws: Any, parent: QWidget | None = None, out_dir: Path | None = None) -> None:
        super().__init__(parent)
        from app.services.record import DEFAULT_DISCLOSURE, list_sources

        self.ws = ws
        self.setWindowTitle(tr("Record interview"))
        self.setObjectName("RecordDialog")
        self.recorder: Any = None
        self.preview: LivePreview | None = None
        self.outcome: Any = None
        self.box_shown = False  # the last preview frame got a face box (fresh enough to sit on the face)
        self._shown, self._last_seq, self._fps_t, self._fps_n, self.preview_fps = 0, 0, 0.0, 0, 0.0
        sources = list_sources()
        self.video = QComboBox()
        self.video.setEditable(True)
        for v in sources["video"]:
            self.video.addItem(f"{v['name']} [{v['backend']}]", v["spec"])
        self.video.setToolTip(tr("camera:N, screen:X,Y,W,H or file:PATH"))
        self.audio = QComboBox()
        self.audio.setEditable(True)
        for a in sources["audio"]:
            tag = f" ({tr('loopback')})" if a["loopback"] else ""
            self.audio.addItem(f"{a['name']}{tag} [{a['backend']}]", a["spec"])
        self.audio.addItem(tr("No sound"), "none")
        browse_v, browse_a = QPushButton(tr("File…")), QPushButton(tr("File…"))
        browse_v.clicked.connect(lambda: self._browse(self.video))
        browse_a.clicked.connect(lambda: self._browse(self.audio))
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        from app.paths import user_data_dir

        self.out = QLineEdit(str((out_dir or user_data_dir() / "recordings") / f"interview-{stamp}.mp4"))
        self.case = QLineEdit()
        self.case.setPlaceholderText(tr("default: the file name"))
        self.disclosure = QPlainTextEdit(DEFAULT_DISCLOSURE)
        self.disclosure.setMaximumHeight(110)
        self.consent = QCheckBox(tr("The applicant was shown this disclosure and agreed to be recorded"))
        self.start_btn, self.stop_btn = QPushButton(tr("Start recording")), QPushButton(tr("Stop"))
        self.start_btn.setEnabled(False)
        self.stop_btn.setEnabled(False)
        self.consent.toggled.connect(lambda on: self.start_btn.setEnabled(on and self.recorder is None))
        self.start_btn.clicked.connect(self.start)
        self.stop_btn.clicked.connect(self.stop)
        self.indicator = QLabel()
        self.indicator.setObjectName("rec_indicator")
        self.stats = QLabel()
        self.view, self.bars = PreviewView(), BarsView()

        form = QFormLayout()
        row_v, row_a = QHBoxLayout(), QHBoxLayout()
        row_v.addWidget(self.video, 1), row_v.addWidget(browse_v)
        row_a.addWidget(self.audio, 1), row_a.addWidget(browse_a)
        form.addRow(tr("Video source"), row_v)
        form.addRow(tr("Audio source"), row_a)
        form.addRow(tr("Save as"), self.out)
        form.addRow(tr("Case"), self.case)
        form.addRow(tr("Disclosure"), self.disclosure)
        form.addRow("", self.consent)
        live = QHBoxLayout()
        live.addWidget(self.view, 3)
        live.addWidget(self.bars, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.indicator)
        buttons.addWidget(self.stats, 1)
        buttons.addWidget(self.start_btn)
        buttons.addWidget(self.stop_btn)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(live, 1)
        lay.addLayout(buttons)
        self.timer = QTimer(self)
        self.timer.setInterval(15)
        self.timer.timeout.connect(self._tick)
        self.resize(1200, 820)

    def _browse(self, combo: QComboBox) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Choose a file to play as the source"))
        if path:
            combo.setEditText(f"file:{path}")

    @staticmethod
    def _spec(combo: QComboBox) -> str:
        text = combo.currentText().strip()
        i = combo.findText(text)
        return str(combo.itemData(i)) if i >= 0 and combo.itemData(i) is not None else text

    def set_sources(self, video: str, audio: str) -> None:
        """Preset the sources (``camera:N``, ``screen:…``, ``file:PATH``; ``none``/``default``/``file:PATH``)."""
        self.video.setEditText(video)
        self.audio.setEditText(audio)

    # -- recording ---------------------------------------------------------------------------------
    def start(self) -> bool:
        """Open the sources and start recording; False with a message in the status line when refused."""
        from app.core.errors import VigilError
        from app.core.record import Recorder
        from app.services.record import open_sources, require_consent

        try:
            require_consent(self.consent.isChecked())
            v, a = open_sources(self._spec(self.video), self._spec(self.audio))
            self.preview = LivePreview()
            self.recorder = Recorder(v, a, self.out.text().strip(), on_frame=self.preview.on_frame)
            self.recorder.start()
        except VigilError as exc:
            self.recorder = None
            self.stats.setText(str(exc))
            return False
        self.preview.start()
        self._t0 = time.monotonic()
        self._fps_t, self._fps_n = time.monotonic(), 0
        for w in (self.video, self.audio, self.out, self.case, self.disclosure, self.consent, self.start_btn):
            w.setEnabled(False)
        self.stop_btn.setEnabled(True)
        self.timer.start()
        return True

    def stop(self) -> None:
        """Stop recording; the file is filed in a case once the writer has finished."""
        if self.recorder is not None:
            self.recorder.stop()
            self.stop_btn.setEnabled(False)

    def _tick(self) -> None:
        rec, prev = self.recorder, self.preview
        if rec is None or prev is None:
            return
        frame, t_frame, seq, result = prev.snapshot()
        if frame is not None and seq != self._last_seq:
            self._last_seq = seq
            self.view.set_frame(render(frame, result, PREVIEW_WIDTH, t_frame))
            self.box_shown = bool(result and result.box and abs(t_frame - result.t) <= STALE_S)
            self._shown += 1
            self._fps_n += 1
        self.bars.set_result(result)
        now = time.monotonic()
        if now - self._fps_t >= 1.0:
            self.preview_fps, self._fps_t, self._fps_n = self._fps_n / (now - self._fps_t), now, 0
        c = prev.counters
        elapsed = int(rec.elapsed())
        self.indicator.setText(f"<span style='color:#d22;font-weight:bold'>● REC</span> "
                               f"{elapsed // 3600:02d}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}")
        self.stats.setText(tr("preview {0:.0f} fps · live analysis skipped {1} of {2} frames").format(
            self.preview_fps, c.skipped, c.offered) + (f" · {prev.error}" if prev.error else ""))
        if not rec.running:
            self._finish()

    def _finish(self) -> None:
        from app.core.errors import VigilError
        from app.services.record import add_recording_to_case

        self.timer.stop()
        assert self.recorder is not None and self.preview is not None
        self.preview.stop()
        res = self.recorder.result()
        self.indicator.setText(tr("Stopped"))
        try:
            self.outcome = add_recording_to_case(self.ws, res, self.case.text().strip() or None,
                                                 self.disclosure.toPlainText().strip(), self.consent.isChecked(),
                                                 self._spec(self.video), self._spec(self.audio))
        except VigilError as exc:
            self.stats.setText(str(exc))
            return
        if res.message:
            self.stats.setText(res.message)
        self.recorded.emit(self.outcome.case_id, str(res.path))
        if not res.message:
            self.accept()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        if self.recorder is not None and self.recorder.running:
            self.recorder.stop()
            self.recorder.wait(10)
            self._finish()
        super().closeEvent(event)

    def reject(self) -> None:
        if self.recorder is not None and self.recorder.running:
            self.stop()  # Esc stops recording first; the dialog closes once the file is filed
            return
        super().reject()
