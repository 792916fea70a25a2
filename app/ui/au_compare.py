"""Analysis > Compare AUs with reference…: agreement of the open case's AUs with OpenFace or py-feat.

The reviewer picks another tool's AU CSV; :func:`app.services.au_interop.compare_au` pairs its
frames with the case's (off the UI thread) and :class:`CompareAUsDialog` shows the same table as
``vigil compare-au``: per AU Pearson r, ICC(3,1), mean offset and frames paired, then the mean r over
the AUs that move in the reference. "Add as a timeline track" stores the file on the case
(``vigil import-au``) so its AUs are drawn under Vigil's own.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QFileDialog, QHeaderView, QLabel,
                               QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from app.core.au_agreement import MIN_PAIRS, MOVE_SD_FRACTION
from app.ui.i18n import N_, tr
from app.ui.workers import run_in_thread

COLUMNS = (N_("AU"), N_("Name"), N_("r"), N_("ICC(3,1)"), N_("Offset"), N_("Frames"), N_("Moves"), N_("Note"))
# The reasons the service gives for a missing r that do not carry numbers (those stay in English).
_REASONS = {"no variance in Vigil": N_("no variance in Vigil"),
            "no variance in the reference": N_("no variance in the reference"),
            "no variance in either": N_("no variance in either"), "no frame paired": N_("no frame paired")}
_SCALES = {"intensity 0-5": N_("intensity 0–5"), "probability 0-1": N_("presence probability 0–1")}
_PAIRED_BY = {"frame": N_("by frame number"), "time": N_("by time")}


def _num(v: float | None, fmt: str = "{:.2f}") -> str:
    return tr("n/a") if v is None else fmt.format(v)


def _reason(text: str) -> str:
    if text.startswith("Vigil does not measure "):
        return tr("Vigil does not measure {au}").format(au=text.rsplit(" ", 1)[-1])
    return tr(_REASONS[text]) if text in _REASONS else text


class CompareAUsDialog(QDialog):
    """The agreement table of one comparison (a ``compare_au`` report).

    ``on_import``: called with no argument when the reviewer asks to add the reference as a
    timeline track (the button is hidden when None).
    """

    def __init__(self, report: dict[str, Any], parent: QWidget | None = None, on_import: Any = None) -> None:
        super().__init__(parent)
        from app.services.timeline import AU_LABELS

        self.setObjectName("compare_aus_dialog")
        self.report = report
        ref, fr = report["reference"], report["frames"]
        self.setWindowTitle(tr("Compare AUs with reference"))
        lay = QVBoxLayout(self)
        self.header = QLabel(self)
        self.header.setWordWrap(True)
        self.header.setText(
            f"<b>{html.escape(tr('Vigil vs {source}').format(source=ref['source']))}</b> — "
            f"{html.escape(tr('case'))} {report['case']['id']} {html.escape(str(report['case']['name']))}<br>"
            f"{html.escape(Path(ref['path']).name)} ({html.escape(tr(_SCALES.get(ref['scale'], ref['scale'])))}); "
            + html.escape(tr("{paired} frames paired {how} (reference: {rows} rows; case: {frames} frames)").format(
                paired=fr["paired"], how=tr(_PAIRED_BY.get(report["paired_by"], report["paired_by"])),
                rows=fr["reference"], frames=fr["case"])))
        lay.addWidget(self.header)
        aus = report["aus"]
        self.table = QTableWidget(len(aus), len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels([tr(c) for c in COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        for i, a in enumerate(aus):
            name = AU_LABELS.get(a["au"], "blink" if a["au"] == "AU45" else "")
            cells = (a["au"], tr(name) if name else "", _num(a["r"]), _num(a["icc"]), _num(a["offset"], "{:+.2f}"),
                     str(a["n"]), tr("yes") if a["moves"] else "", _reason(a["reason"]))
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if 2 <= j <= 5:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setStretchLastSection(True)
        lay.addWidget(self.table, 1)
        mean = report["mean_r_moving"]
        lines = [tr("Mean r over the {n} AUs that move in the reference: {r}").format(
            n=len(report["moving"]), r=_num(mean))]
        lines.append(tr("An AU moves when the reference's SD over the paired frames is at least {floor} "
                        "({share} of its scale), with at least {min} frames paired. Offset is Vigil minus the reference.")
                     .format(floor=f"{report['move_floor']:g}", share=f"{MOVE_SD_FRACTION:.0%}", min=MIN_PAIRS))
        if ref.get("scale_max") != 5.0:
            lines.append(tr("The reference is on another scale ({scale}) than Vigil's intensities 0–5: offset and "
                            "ICC compare different scales; r is scale-free.").format(
                scale=tr(_SCALES.get(ref["scale"], ref["scale"]))))
        if any(a["reason"] == "no variance in Vigil" and a["moves"] for a in aus):
            lines.append(tr("An AU that moves in the reference but stays flat in Vigil counts as r = 0 in the mean."))
        self.summary = QLabel("<br>".join(html.escape(s) for s in lines), self)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.summary)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        box.button(QDialogButtonBox.StandardButton.Close).setText(tr("Close"))
        box.rejected.connect(self.reject)
        self.import_button: QPushButton | None = None
        if on_import is not None:
            self.import_button = box.addButton(tr("Add as a timeline track"), QDialogButtonBox.ButtonRole.ActionRole)
            self.import_button.clicked.connect(on_import)
        lay.addWidget(box)
        self.resize(820, 640)


def ask_and_compare(window: Any) -> None:
    """Ask for a reference CSV and show the open case's agreement with it (the menu action's body).

    ``window``: the main window (``ws``, ``case_id``, ``show_message``, ``reload_scores``). The
    comparison runs on a worker thread; the dialog is kept as ``window.au_compare_dialog``.
    """
    if window.case_id is None:
        window.show_message(tr("Open a case first."))
        return
    path, _ = QFileDialog.getOpenFileName(window, tr("Reference AU CSV (OpenFace 2.0 or py-feat)"), "",
                                          tr("CSV files") + " (*.csv *.txt);;" + tr("All files") + " (*)")
    if not path:
        return
    compare_file(window, path)


def compare_file(window: Any, path: str) -> None:
    """Compare the open case with ``path`` off the UI thread and show the dialog."""
    from app.services.au_interop import compare_au

    ws, case_id = window.ws, window.case_id
    window.statusBar().showMessage(tr("Comparing AUs…"))

    def done(report: dict[str, Any]) -> None:
        window.statusBar().clearMessage()
        if window.case_id != case_id:
            return
        dlg = CompareAUsDialog(report, window, on_import=lambda: _import(window, case_id, path, dlg))
        window.au_compare_dialog = dlg
        dlg.show()

    def failed(exc: BaseException) -> None:
        window.statusBar().clearMessage()
        window.show_message(tr("Cannot compare AUs") + f": {exc}")

    run_in_thread(lambda: compare_au(ws, case_id, path), done, failed)


def _import(window: Any, case_id: int, path: str, dlg: CompareAUsDialog) -> None:
    from app.services.au_interop import import_au

    def done(r: dict[str, Any]) -> None:
        if dlg.import_button is not None:
            dlg.import_button.setEnabled(False)
            dlg.import_button.setText(tr("Added to the timelines"))
        if window.case_id == case_id:
            window.reload_scores()

    run_in_thread(lambda: import_au(window.ws, case_id, path), done,
                  lambda exc: window.show_message(tr("Cannot import the AUs") + f": {exc}"))
