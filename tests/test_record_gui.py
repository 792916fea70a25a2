"""File > Record interview…: the dialog mid-recording (preview, face box, live bars, indicator), and
after Stop the case opening with its analysis running and the consent shown in the case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.test_record_core import make_sync_media

pytestmark = pytest.mark.slow
SHOTS = Path(__file__).resolve().parents[1] / ".cache" / "screenshots"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.ui.app import clean_qt_env

    clean_qt_env()
    monkeypatch.setenv("VIGIL_SETTINGS_DIR", str(tmp_path / "settings"))


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory, talking_head: Path) -> tuple[Path, Path]:
    return make_sync_media(tmp_path_factory.mktemp("gui"), talking_head, seconds=9.0)


def _qimage_array(img) -> np.ndarray:
    from PySide6.QtGui import QImage

    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    return np.frombuffer(img.constBits(), np.uint8).reshape(h, bpl)[:, : 3 * w].reshape(h, w, 3).copy()


def test_dialog_mid_recording_shows_preview_box_and_bars(qtbot, tmp_path, media):
    from app.store.recording import case_recordings
    from app.store.workspace import Workspace
    from app.ui.i18n import set_language
    from app.ui.record_dialog import RecordDialog

    set_language("en")
    video, wav = media
    with Workspace.open(tmp_path / "w.db") as ws:
        dlg = RecordDialog(ws, out_dir=tmp_path)
        qtbot.addWidget(dlg)
        dlg.set_sources(f"file:{video}", f"file:{wav}")
        dlg.show()
        assert not dlg.start_btn.isEnabled()  # no recording before the disclosure is confirmed
        dlg.consent.setChecked(True)
        assert dlg.start_btn.isEnabled()
        assert dlg.start(), dlg.stats.text()
        qtbot.waitUntil(lambda: dlg.bars.result is not None and len(dlg.bars.result.aus) > 10
                        and dlg._shown > 30 and dlg.box_shown, timeout=60000)
        assert "REC" in dlg.indicator.text() and "skipped" in dlg.stats.text()
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = dlg.grab()
        shot.save(str(SHOTS / "record_dialog.png"))
        img = _qimage_array(shot.toImage())
        view = dlg.view.geometry()
        pv = img[view.top():view.bottom(), view.left():view.right()]
        assert pv.std() > 25  # a picture, not the empty dark box
        green = np.all(np.abs(pv.astype(int) - (60, 200, 90)) < 30, axis=2).sum()
        assert green > 200  # the live face box (usable face)
        b = dlg.bars.geometry()
        bars = img[b.top():b.bottom(), b.left():b.right()].astype(int)
        blue = np.all(np.abs(bars - (70, 130, 220)) < 20, axis=2).sum()
        orange = np.all(np.abs(bars - (220, 120, 60)) < 20, axis=2).sum()
        assert blue > 100 and orange > 100  # AU bars and expression bars drawn
        got: list[tuple[int, str]] = []
        dlg.recorded.connect(lambda c, p: got.append((c, p)))
        dlg.stop()
        qtbot.waitUntil(lambda: bool(got), timeout=30000)
        case_id, path = got[0]
        rec = case_recordings(ws, case_id)[0]
        assert rec["consent_confirmed"] == 1 and Path(path).is_file()
        assert rec["capture"]["dropped_frames"] == 0, rec["capture"]


def test_record_from_the_main_window_opens_and_analyses_the_case(qtbot, tmp_path, media):
    from PySide6.QtWidgets import QApplication

    from app.store.workspace import Workspace
    from app.ui.i18n import set_language
    from app.ui.main_window import MainWindow
    from app.ui.settings import Settings

    set_language("en")
    video, _ = media
    ws = Workspace.open(tmp_path / "ws.db")
    win = MainWindow(ws, Settings(), restore=False)
    win.save_state_on_close = False
    qtbot.addWidget(win)
    win.show()
    try:
        act = win.actions_by_key["record"]
        assert act in win._menus["file"].actions()
        dlg = win.record_interview()
        dlg.set_sources(f"file:{video}", "none")
        dlg.consent.setChecked(True)
        assert dlg.start()
        qtbot.waitUntil(lambda: dlg.recorder.elapsed() > 2.5, timeout=30000)
        dlg.stop()
        qtbot.waitUntil(lambda: win.analysis_outcome is not None, timeout=240000)
        assert win.analysis_outcome == "finished", (win.analysis_outcome, win.last_message)
        case_id = dlg.outcome.case_id
        qtbot.waitUntil(lambda: win.case_id == case_id, timeout=30000)
        for _ in range(60):  # the case reloads once more when its analysis ends, which resets the panel
            win.explain.show_at(1.0)
            assert win.explain.wait_idle(30000)
            qtbot.wait(250)
            if "Consent confirmed" in win.explain.text():
                break
        assert "Consent confirmed" in win.explain.text(), win.explain.text()
        text = win.explain.text()
        assert "Recorded by Vigil" in text and "being recorded" in text
        QApplication.processEvents()
    finally:
        win.shutdown()
        win.close()
        ws.close()
