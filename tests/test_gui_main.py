"""The main window on a real analysed interview: seeking, keys, annotations, screenshot, analysis.

pytest-qt drives the real window offscreen over a private copy of a real workspace
(``review_case``); results are checked in the player's state and in the database, not in pixels
(except the screenshot, whose pixels are the product).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests._gui import open_window

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.ui.app import clean_qt_env

    clean_qt_env()
    monkeypatch.setenv("VIGIL_SETTINGS_DIR", str(tmp_path / "settings"))


def _window(qtbot, ws_path: Path):
    return open_window(qtbot, ws_path, activate=True)


@pytest.fixture
def opened(qtbot, review_case):
    ws_path, case_id, _video = review_case
    win, ws = _window(qtbot, ws_path)
    with qtbot.waitSignal(win.caseLoaded, timeout=60000):
        win.open_case(case_id)
    qtbot.waitUntil(lambda: win.player.shown_index >= 0, timeout=20000)
    yield win, ws, case_id
    win.shutdown()
    win.close()
    ws.close()


def _wait_shown(qtbot, win) -> None:
    qtbot.waitUntil(lambda: win.player.shown_index == win.player.current_index(), timeout=20000)


def _assert_frame_matches(win) -> None:
    """The picture on screen is the frame whose stored t_sec is the cursor's frame (within half a frame)."""
    p = win.player
    i = p.current_index()
    assert p.shown_index == i
    assert abs(p.shown_t - p.t[i]) < 0.5 / win.data.fps
    assert win.video.frame_number == int(p.frames[i])


def test_timeline_click_seeks_video(qtbot, opened):
    from PySide6.QtCore import QPointF, Qt

    win, _ws, _case = opened
    assert len(win.data.t) > 500
    tl = win.timeline
    tl.show_range(0.0, win.data.duration_s)
    qtbot.wait(50)
    target = 0.63 * win.data.duration_s
    track = tl.tracks[0]
    y = sum(track.vb.viewRange()[1]) / 2
    scene = track.vb.mapViewToScene(QPointF(target, y))
    pos = tl.glw.mapFromScene(scene)
    before = win.player.position()
    qtbot.mouseClick(tl.glw.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: abs(win.player.position() - before) > 1.0, timeout=5000)
    # one pixel of the timeline is worth a fraction of a second at this zoom
    px = win.data.duration_s / max(1.0, track.vb.width())
    assert abs(win.player.position() - target) < 2 * px + 1.0 / win.data.fps
    assert abs(tl.cursor() - win.player.position()) < 1e-6
    _wait_shown(qtbot, win)
    _assert_frame_matches(win)
    assert win.player.current_index() == win.player.index_at(win.player.position())


def test_keys_step_frames_and_seconds(qtbot, opened):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QTableWidget

    from app.ui.window_actions import shortcut_list

    win, _ws, _case = opened
    p = win.player
    win.seek(float(p.t[300]))
    _wait_shown(qtbot, win)
    assert p.current_index() == 300
    win.timeline.glw.setFocus()  # keys work whatever has focus (here: the timeline)
    qtbot.keyClick(win.timeline.glw, Qt.Key.Key_Right)
    _wait_shown(qtbot, win)
    assert p.current_index() == 301
    _assert_frame_matches(win)
    qtbot.keyClick(win.timeline.glw, Qt.Key.Key_Left)
    qtbot.keyClick(win.timeline.glw, Qt.Key.Key_Left)
    _wait_shown(qtbot, win)
    assert p.current_index() == 299
    _assert_frame_matches(win)
    t0 = p.position()
    qtbot.keyClick(win, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert abs(p.position() - (t0 + 1.0)) < 1e-6
    qtbot.keyClick(win, Qt.Key.Key_J)
    assert abs(p.position() - max(0.0, t0 - 4.0)) < 1e-6
    qtbot.keyClick(win, Qt.Key.Key_End)
    assert abs(p.position() - p.duration) < 1e-6
    qtbot.keyClick(win, Qt.Key.Key_Home)
    assert p.position() == 0.0
    _wait_shown(qtbot, win)
    assert p.shown_index == 0
    qtbot.waitUntil(lambda: p.audio.track is not None, timeout=30000)  # sound decoded in the background
    qtbot.keyClick(win, Qt.Key.Key_Space)
    assert p.is_playing()
    qtbot.waitUntil(lambda: p.shown_index >= 3, timeout=5000)  # frames follow the clock
    qtbot.keyClick(win, Qt.Key.Key_K)
    assert not p.is_playing()
    assert 0.05 < p.position() < 5.0  # the clock ran while playing
    # sound at every speed (pitch kept, see test_voice_stretch): here either playing or "no audio
    # device", never an error; the reader starts where the clock is
    from app.ui.audio_out import NO_DEVICE

    win.speed.setCurrentIndex(1)  # 0.5x
    qtbot.keyClick(win, Qt.Key.Key_Space)
    assert p.audio.last_note in ("", NO_DEVICE)
    reader = p.audio._reader
    assert reader.speed == 0.5 and abs(reader.position / p.audio.track.sr - p.position()) < 0.1
    block, at = np.full((1024, 1), np.nan, np.float32), reader.position
    p.audio._callback(block, 1024, None, None)  # what PortAudio's thread calls, where there is a device
    assert np.isfinite(block).all() and 0.5 * 1024 - 512 <= reader.position - at <= 0.5 * 1024 + 512
    qtbot.keyClick(win, Qt.Key.Key_K)
    win.speed.setCurrentIndex(3)  # 1x
    qtbot.keyClick(win, Qt.Key.Key_Space)
    assert p.audio.last_note in ("", NO_DEVICE)
    qtbot.keyClick(win, Qt.Key.Key_K)
    qtbot.keyClick(win, Qt.Key.Key_L)
    qtbot.keyClick(win, Qt.Key.Key_L)
    assert p.is_playing() and p.speed > 1.0
    qtbot.keyClick(win, Qt.Key.Key_K)
    qtbot.keyClick(win, Qt.Key.Key_F1)
    dlg = win._shortcuts_dialog
    assert dlg.isVisible()
    table = dlg.findChildren(QTableWidget)[0]
    assert table.rowCount() == len(shortcut_list())
    keys = {table.item(r, 0).text() for r in range(table.rowCount())}
    assert {"Space", "M", "Ctrl+F", "F1"} <= keys
    dlg.close()


def test_view_menu_switches_each_overlay(qtbot, opened):
    """Each View > Overlay action changes the picture where its overlay is drawn, and only there."""
    win, _ws, _case = opened
    win.seek(float(win.player.t[150]))
    _wait_shown(qtbot, win)
    ov = win.video.overlay
    assert ov and ov.get("bbox") is not None and ov.get("mesh") is not None and ov.get("aus")

    def grab() -> np.ndarray:
        from PySide6.QtGui import QImage

        img = win.video.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
        rows = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
        return rows[:, :img.width() * 3].reshape(img.height(), img.width(), 3).copy()

    before = grab()
    changed = {}
    for key in ("ov_box", "ov_mesh", "ov_aus", "ov_forgery"):
        act = win.actions_by_key[key]
        act.trigger()  # flips it (mesh starts off, the others on)
        qtbot.wait(10)
        diff = np.abs(grab().astype(int) - before).max(axis=2) > 40
        ys, xs = np.nonzero(diff)
        changed[key] = (int(diff.sum()), (int(xs.mean()), int(ys.mean())) if len(xs) else None)
        act.trigger()
        qtbot.wait(10)
        assert np.array_equal(grab(), before), key  # switched back: the picture is as it was
    print(f"\npixels changed per overlay: {changed}")
    assert all(n > 100 for n, _ in changed.values()), changed
    # each where it belongs: the box, mesh and tint around the face, the AU bars in the top-left corner
    target, img = win.video._target(), win.video.image
    bx, by, bw, bh = (float(v) for v in ov["bbox"])
    sx, sy = target.width() / img.width(), target.height() / img.height()
    x0, y0 = target.x() + bx * sx - 30, target.y() + by * sy - 30  # the tint's label sits above the box
    x1, y1 = x0 + bw * sx + 60, y0 + bh * sy + 60
    for key in ("ov_box", "ov_mesh", "ov_forgery"):
        cx, cy = changed[key][1]
        assert x0 <= cx <= x1 and y0 <= cy <= y1, key
    assert changed["ov_aus"][1][0] < x0 and changed["ov_aus"][1][1] < win.video.height() / 2


def test_marker_interval_undo_redo_persist(qtbot, opened):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from app.services.review import annotations
    from app.store.workspace import Workspace

    win, ws, case_id = opened
    fired: list[str] = []
    for act in win.actions_by_key.values():
        act.triggered.connect(lambda _=False, a=act: fired.append(a.objectName()))
    real_click = qtbot.keyClick

    def key_click(widget, key, mod=Qt.KeyboardModifier.NoModifier):
        n = len(fired)
        assert QApplication.activeWindow() is win, QApplication.activeWindow()
        real_click(widget, key, mod)
        assert len(fired) == n + 1, (key, fired[n:], QApplication.focusWidget())

    qtbot.keyClick = key_click
    # Read back through a connection of our own: the window's read connection is shared with its
    # worker threads, and a statement running there can pin an older snapshot for a moment.
    reader = Workspace.open(ws.path)

    def stored() -> list[dict]:
        ws.flush()
        return annotations(reader, case_id)

    assert win.timeline.current_tier() is not None
    n0 = len(stored())
    p = win.player
    win.seek(4.0)
    qtbot.keyClick(win, Qt.Key.Key_M)
    rows = stored()
    assert len(rows) == n0 + 1
    marker = max(rows, key=lambda a: a["id"])
    assert abs(marker["start_s"] - p.position()) < 1e-3 and marker["end_s"] == marker["start_s"]
    assert marker["author"] == "Alice Reviewer"

    win.seek(6.0)
    qtbot.keyClick(win, Qt.Key.Key_I)
    win.seek(9.5)
    qtbot.keyClick(win, Qt.Key.Key_O)
    rows = stored()
    assert len(rows) == n0 + 2
    span = max(rows, key=lambda a: a["id"])
    assert abs(span["start_s"] - 6.0) < 0.05 and abs(span["end_s"] - 9.5) < 0.05

    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [a["id"] for a in stored()] == [a["id"] for a in rows if a["id"] != span["id"]]
    qtbot.keyClick(win, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(stored()) == n0
    qtbot.keyClick(win, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    again = stored()
    assert len(again) == n0 + 1
    assert any(abs(a["start_s"] - marker["start_s"]) < 1e-6 and a["end_s"] == a["start_s"] for a in again)

    # in a text field the same keys type text instead of annotating
    win.case_list.search.setFocus()
    qtbot.keyClicks(win.case_list.search, "mio")
    assert win.case_list.search.text() == "mio"
    assert len(stored()) == n0 + 1
    reader.close()


def test_add_tier_from_the_menu_shows_its_lane_and_takes_markers(qtbot, opened):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from app.services.review import annotations, tiers
    from app.store.workspace import Workspace

    win, ws, case_id = opened
    n_lanes = len(win.timeline.lanes)
    win.actions_by_key["add_tier"].trigger()
    qtbot.waitUntil(lambda: getattr(win, "_tier_dialog", None) is not None and win._tier_dialog.isVisible(),
                    timeout=5000)
    dlg = win._tier_dialog
    dlg.set_values("Income claims", ["Unverifiable", "Contradicts payslip"])
    dlg.accept()
    qtbot.waitUntil(lambda: len(win.timeline.lanes) == n_lanes + 1, timeout=5000)
    reader = Workspace.open(ws.path)
    tier = next(t for t in tiers(reader) if t["name"] == "Income claims")
    assert tier["vocabulary"] == ["Unverifiable", "Contradicts payslip"]
    assert [lane.tier["name"] for lane in win.timeline.lanes][-1] == "Income claims"
    assert "Income claims" in [win.editor._tier.itemText(i) for i in range(win.editor._tier.count())]
    win.timeline.set_current_tier(tier["id"])
    win.seek(3.0)
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=5000)
    qtbot.keyClick(win, Qt.Key.Key_M)
    ws.flush()
    assert [a["tier_id"] for a in annotations(reader, case_id) if abs(a["start_s"] - 3.0) < 0.05] == [tier["id"]]
    reader.close()


def test_baseline_interval_rescores_off_the_ui_thread(qtbot, opened):
    from app.services.review import tiers

    win, ws, _case = opened
    base = next(t for t in tiers(ws) if t["name"] == "Baseline")
    win.timeline.set_current_tier(base["id"])
    before = win.data
    win.seek(1.0)
    win.mark_in()
    win.seek(8.0)
    t0 = time.perf_counter()
    win.mark_out()
    assert time.perf_counter() - t0 < 1.0  # the re-scoring itself runs on a worker
    qtbot.waitUntil(lambda: win.data is not before, timeout=60000)
    changed = ~np.isclose(np.nan_to_num(before.aus), np.nan_to_num(win.data.aus))
    assert changed.any()  # AU intensities are now relative to the marked span


def test_find_in_transcript_jumps_to_utterance(qtbot, opened):
    from PySide6.QtCore import Qt

    win, _ws, _case = opened
    utts = [u for u in win.data.utterances if (u.get("text") or "").strip()]
    assert utts, "the mock interview has a transcript"
    target = utts[-1]
    word = max(target["text"].split(), key=len).strip(".,?!")
    qtbot.keyClick(win, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert win.find_bar.isVisible() and win.find_bar.edit.hasFocus()
    qtbot.keyClicks(win.find_bar.edit, word)
    qtbot.keyClick(win.find_bar.edit, Qt.Key.Key_Return)
    hits = [u for u in win.data.utterances if word.casefold() in (u.get("text") or "").casefold()]
    assert any(abs(win.player.position() - float(u["start_s"])) < 1e-6 for u in hits)


def _png_regions(path: Path) -> tuple[int, int, list[float]]:
    from PySide6.QtGui import QImage

    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h).reshape(h, img.bytesPerLine())
    arr = arr[:, : 3 * w].reshape(h, w, 3).astype(np.float32)
    stds = [float(arr[y0:y0 + h // 3, x0:x0 + w // 3].std()) for y0 in (0, h // 3, 2 * h // 3)
            for x0 in (0, w // 3, 2 * w // 3)]
    return w, h, stds


def test_screenshot_command(review_case, tmp_path):
    ws_path, case_id, _video = review_case
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "VIGIL_SETTINGS_DIR": str(tmp_path / "settings")}
    proc = subprocess.run([sys.executable, "-m", "app", "gui", "--workspace", str(ws_path), "--screenshot", str(out),
                           str(case_id)], capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr
    w, h, stds = _png_regions(out)
    assert (w, h) == (1600, 1000)
    busy = [s for s in stds if s > 8.0]
    print(f"screenshot region std devs: {[round(s, 1) for s in stds]}")
    assert len(busy) >= 6, stds


def test_screenshot_bad_input_is_a_message(review_case, tmp_path):
    ws_path, _case_id, _video = review_case
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "VIGIL_SETTINGS_DIR": str(tmp_path / "settings")}
    for target, words in (("no such case", "no case"), (str(notes), "not a video")):
        proc = subprocess.run([sys.executable, "-m", "app", "gui", "--workspace", str(ws_path), "--screenshot",
                               str(tmp_path / "x.png"), target], capture_output=True, text=True, timeout=300,
                              cwd=REPO, env=env)
        assert proc.returncode == 2, proc.stderr
        assert words in proc.stderr and "Traceback" not in proc.stderr
        assert not (tmp_path / "x.png").exists()
    headless = {k: v for k, v in env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "app", "gui", "--workspace", str(ws_path)], capture_output=True,
                          text=True, timeout=120, cwd=REPO, env=headless)
    assert proc.returncode == 2 and "no display" in proc.stderr and "Traceback" not in proc.stderr


def _drop(win, path: Path) -> None:
    """Drop ``path`` on the window as a file manager does."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(win.width() / 2, win.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    win.dragEnterEvent(enter)
    assert enter.isAccepted()
    win.dropEvent(QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                             Qt.KeyboardModifier.NoModifier))


def test_dropping_not_a_video_gives_message(qtbot, tmp_path):
    win, ws = _window(qtbot, tmp_path / "ws.db")
    try:
        notes = tmp_path / "notes.mp4"
        notes.write_text("this is not a video\n")
        _drop(win, notes)
        assert win.worker is not None
        qtbot.waitUntil(lambda: win.analysis_outcome is not None, timeout=60000)
        assert win.analysis_outcome == "failed"
        assert "not a video" in win.last_message
        assert not win.progress.isVisible()
        assert not win.open_video(tmp_path / "missing.mp4")
        assert "not found" in win.last_message
    finally:
        win.shutdown()
        win.close()
        ws.close()


def test_analysis_progress_and_cancel(qtbot, tmp_path, talking_head):
    from PySide6.QtCore import Qt

    win, ws = _window(qtbot, tmp_path / "ws.db")
    try:
        reports: list[tuple[int, int, float]] = []
        assert win.open_video(talking_head)
        win.worker.progress.connect(lambda d, n, t: reports.append((d, n, t)))
        assert win.progress.isVisible() and win.cancel_btn.isVisible()
        qtbot.waitUntil(lambda: len(reports) >= 2, timeout=120000)
        assert win.case_id is not None
        qtbot.mouseClick(win.cancel_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: win.analysis_outcome is not None, timeout=120000)
        assert win.analysis_outcome == "cancelled"
        done, total, _t = reports[-1]
        assert 0 < done < total
        ws.flush()
        from app.store.runs import case_run

        run = case_run(ws, win.worker.case_id, "video")
        assert run["status"] == "interrupted"
        assert 0 < run["frames_done"] < total
    finally:
        win.shutdown()
        win.close()
        ws.close()


def test_event_loop_latency_while_analysing(qtbot, tmp_path, talking_head):
    from PySide6.QtCore import QTimer

    win, ws = _window(qtbot, tmp_path / "ws.db")
    late: list[float] = []
    state = {"due": 0.0}
    timer = QTimer()
    timer.setInterval(20)

    def tick() -> None:
        now = time.perf_counter()
        if state["due"]:
            late.append(max(0.0, (now - state["due"]) * 1000.0))
        state["due"] = now + 0.020

    timer.timeout.connect(tick)
    try:
        grown: list[int] = []
        timer.start()
        assert win.open_video(talking_head)
        qtbot.waitUntil(lambda: win.poller is not None, timeout=60000)
        win.poller.appended.connect(lambda d: grown.append(len(d.t)))
        qtbot.waitUntil(lambda: win.analysis_outcome is not None, timeout=240000)
        timer.stop()
        assert win.analysis_outcome == "finished"
        lat = np.array(late)
        p50, p95, worst = np.percentile(lat, 50), np.percentile(lat, 95), lat.max()
        print(f"event-loop lateness during analysis: {len(lat)} ticks, median {p50:.1f} ms, "
              f"p95 {p95:.1f} ms, max {worst:.1f} ms (tick {int(lat.argmax())}); live batches appended: {grown}")
        assert len(lat) > 50
        assert p95 < 150.0
        qtbot.waitUntil(lambda: win.data is not None and len(win.data.t) > 0, timeout=30000)
    finally:
        timer.stop()
        win.shutdown()
        win.close()
        ws.close()


def test_gui_bench_on_a_short_synthetic_case(qapp):
    from app.ui.bench import format_gui_report, run_gui_bench

    r = run_gui_bench(duration_s=120.0)
    print(format_gui_report(r))
    assert r["case"]["frames"] == 3600
    o = r["open"]
    assert 0 < o["query_s"] <= o["load_and_set_s"] <= o["open_to_drawn_s"]
    assert o["first_paint_s"] > 0
    for stats in r["pan_zoom"].values():
        assert stats["frames"] == 40 and 0 < stats["median_ms"] <= stats["max_ms"]


def test_language_switch_and_layout_memory(qtbot, tmp_path):
    from app.ui.i18n import set_language, tr

    win, ws = _window(qtbot, tmp_path / "ws.db")
    try:
        file_menu = win.menuBar().actions()[0]
        assert file_menu.text() == "&File"
        set_language("zh")
        assert file_menu.text() == tr("&File") != "&File"
        assert win.docks["cases"].windowTitle() == tr("Cases") != "Cases"
        assert win.actions_by_key["marker"].text() == tr("Add marker at cursor")
        set_language("en")
        assert file_menu.text() == "&File"
        win.docks["cases"].hide()
        win.save_state_on_close = True
        win.close()
    finally:
        set_language("en")
        win.shutdown()
        ws.close()
    again, ws2 = _window(qtbot, tmp_path / "ws.db")
    try:
        again.settings.restore_window(again)
        assert not again.docks["cases"].isVisible()
        assert again.docks["explain"].isVisible()
    finally:
        again.shutdown()
        again.close()
        ws2.close()


def test_case_list_search_filter_and_open_an_empty_case(qtbot, tmp_path):
    from PySide6.QtCore import Qt

    from app.services.review import set_applicant_ref, set_status
    from app.store.workspace import Workspace

    with Workspace.open(tmp_path / "ws.db") as ws:
        a = ws.create_case("Zhang Wei interview")
        b = ws.create_case("Li Na interview")
        set_applicant_ref(ws, b, "LN-2026-0042", "tester")
        set_status(ws, a, "in_review", "tester")
    win, ws = _window(qtbot, tmp_path / "ws.db")
    try:
        cl = win.case_list

        def shown() -> list[int]:
            return sorted(cl.case_id_at(r) for r in range(cl.table.rowCount()))

        qtbot.waitUntil(lambda: shown() == [a, b], timeout=10000)
        qtbot.keyClicks(cl.search, "ln-2026")  # applicant reference, any letter case
        qtbot.waitUntil(lambda: shown() == [b], timeout=10000)
        cl.search.clear()
        cl.status.setCurrentIndex(cl.status.findData("in_review"))
        qtbot.waitUntil(lambda: shown() == [a], timeout=10000)
        # a case with no recording yet opens without error and says there is no video
        with qtbot.waitSignal(win.caseLoaded, timeout=20000) as sig:
            rect = cl.table.visualItemRect(cl.table.item(0, 1))
            qtbot.mouseClick(cl.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
            qtbot.mouseDClick(cl.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        assert sig.args == [a]
        assert win.case_id == a and len(win.data.t) == 0
        assert win.video.image is None and win.video.message
        assert "Zhang Wei" in win.case_label.text()
    finally:
        win.shutdown()
        win.close()
        ws.close()
