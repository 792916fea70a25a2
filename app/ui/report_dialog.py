"""File > Report…: the open case's report as PDF, written on a worker thread in the UI's language."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from app.ui import i18n
from app.ui.i18n import tr
from app.ui.workers import run_in_thread


def report_job(ws: Any, case_id: int, path: str | Path, language: str) -> int:
    """Build and write the report (no widget is touched: runs on a pool thread); returns its pages."""
    from app.services.report import write_report
    from app.ui.report_text import ReportText

    return write_report(ws, case_id, ReportText(language), pdf=path)


def write_report(window: Any, path: str | None = None) -> None:
    """Ask where to save (unless ``path`` is given), then write the report in the background."""
    if window.case_id is None:
        window.show_message(tr("Open a case first."))
        return
    if path is None:
        name = re.sub(r"[^\w.-]+", "_", str((window.case or {}).get("name") or f"case_{window.case_id}"))
        path, _ = QFileDialog.getSaveFileName(window, tr("Save case report"), f"{name}.pdf", tr("PDF files (*.pdf)"))
        if not path:
            return
    # The UI's own language: the report is built on a worker thread, so the language is not switched.
    ws, cid, lang = window.ws, window.case_id, i18n.language()
    window.statusBar().showMessage(tr("Writing the case report…"))

    def done(pages: int) -> None:
        window.statusBar().showMessage(tr("Report written: {0} ({1} pages)").format(path, pages), 15000)

    def failed(exc: BaseException) -> None:
        window.show_message(tr("Cannot write the report: {0}").format(exc))

    run_in_thread(lambda: report_job(ws, cid, path, lang), done, failed)
