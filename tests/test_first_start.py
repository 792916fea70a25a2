"""First start: an empty workspace offers the bundled sample interview, analyses it on first use, and
empty tracks show no axes. Real Qt offscreen, the real sample file, the real pipeline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests._gui import open_window

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.ui.app import clean_qt_env

    clean_qt_env()
    monkeypatch.setenv("VIGIL_SETTINGS_DIR", str(tmp_path / "settings"))


def _window(qtbot, ws_path: Path):
    return open_window(qtbot, ws_path, activate=False)


def _axis_values(track) -> bool:
    return bool(track.plot.getAxis("left").style["showValues"])


def test_empty_workspace_offers_the_sample_and_names_the_ways_to_begin(qtbot, tmp_path: Path) -> None:
    from app.ui.first_start import sample_video

    assert sample_video() is not None and sample_video().stat().st_size > 100_000
    win, ws = _window(qtbot, tmp_path / "empty.db")
    try:
        panel = win.welcome
        assert panel is not None and panel.isVisible()
        assert panel.sample_btn.isEnabled() and panel.sample_btn.text() == "Open the sample interview"
        ways = panel.ways.text()
        for word in ("Open a file", "Drop a recording", "Record"):
            assert word in ways
        # Nothing to draw yet: no track writes axis numbers (they used to stack beside the titles).
        assert not any(_axis_values(t) for t in win.timeline.tracks)
        # The panel sits over the video area, inside it.
        geo, area = panel.geometry(), win.video.rect()
        assert area.contains(geo.center()) and geo.width() <= area.width()
    finally:
        ws.close()


def test_a_workspace_with_cases_shows_no_welcome(qtbot, tmp_path: Path) -> None:
    from app.store.workspace import Workspace

    path = tmp_path / "one.db"
    with Workspace.open(path) as ws:
        ws.create_case("Existing case")
    win, ws = _window(qtbot, path)
    try:
        assert win.welcome is None
    finally:
        ws.close()


def test_welcome_in_chinese(qtbot, tmp_path: Path) -> None:
    from app.ui.i18n import set_language

    win, ws = _window(qtbot, tmp_path / "empty.db")
    try:
        set_language("zh")
        assert win.welcome.sample_btn.text() == "打开示例面谈"
    finally:
        set_language("en")
        ws.close()


@pytest.mark.slow
def test_sample_is_analysed_on_first_use_and_fills_the_tracks(qtbot, tmp_path: Path) -> None:
    win, ws = _window(qtbot, tmp_path / "fresh.db")
    try:
        win.welcome.sample_btn.click()
        qtbot.waitUntil(lambda: win.analysis_outcome is not None, timeout=600_000)
        assert win.analysis_outcome == "finished", win.last_message
        qtbot.waitUntil(lambda: win.case_id is not None and win.data is not None and len(win.data.t) > 400,
                        timeout=60_000)
        assert not win.welcome.isVisible()
        # A full reload, as opening the case later would do.
        with qtbot.waitSignal(win.caseLoaded, timeout=60_000):
            win.open_case(win.case_id)
        data = win.data
        assert data.utterances and any("income" in u["text"].lower() for u in data.utterances)
        assert data.usable.mean() > 0.9
        for track in (win.timeline.expression, win.timeline.forgery, win.timeline.speech, win.timeline.risk):
            assert track.has_data(data) and _axis_values(track), track.key
        assert win.ws.find_case("latest")["id"] == win.case_id
        # File > Report… on the sample: the PDF is written off the UI thread, and the status bar says so.
        from app.ui.report_dialog import write_report

        pdf = tmp_path / "sample.pdf"
        write_report(win, str(pdf))
        qtbot.waitUntil(lambda: "Report written" in win.statusBar().currentMessage()
                        or "Cannot write" in win.last_message, timeout=120_000)
        assert pdf.stat().st_size > 50_000 and pdf.read_bytes()[:5] == b"%PDF-"
    finally:
        win.stop_analysis()
        ws.close()


@pytest.mark.slow
def test_screenshot_of_an_empty_workspace_shows_the_welcome(tmp_path: Path) -> None:
    png = tmp_path / "first.png"
    r = subprocess.run([sys.executable, "-m", "app", "gui", "--workspace", str(tmp_path / "empty.db"),
                        "--screenshot", str(png)], cwd=REPO, capture_output=True, text=True, timeout=300,
                       env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr
    from PySide6.QtGui import QColor, QImage

    img = QImage(str(png))
    assert img.width() == 1600 and img.height() == 1000
    # The video area is near-black without a video; the welcome card over it has the light theme's panel
    # colour (a fresh settings folder starts light), so most of the area's middle is light in the picture.
    pts = [(x, y) for x in range(560, 1000, 20) for y in range(60, 360, 20)]
    light = sum(QColor(img.pixel(x, y)).lightness() > 150 for x, y in pts)
    assert light > 0.5 * len(pts), light
