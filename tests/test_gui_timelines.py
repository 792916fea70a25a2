"""The review timelines (``app.ui.timelines.TimelineView``) on a real analysed interview, with real Qt.

The view is built from the ``review_case`` workspace (a real ~35 s two-voice interview analysed end
to end) through ``app.services.timeline``; annotation edits go through the real
``AnnotationStack`` and are checked in the SQLite file with ``sqlite3``, not in the widgets. The
performance test builds a synthetic one-hour ``TimelineData`` in numpy (no database needed) and
prints what ``set_data`` and 20 zoom/pan steps cost.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

SHOT = (1400, 700)


def _qt_env() -> None:
    """cv2 (imported by the analysis fixtures) points Qt at its own plugins and fonts: undo that."""
    for key in ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR"):
        os.environ.pop(key, None)


@pytest.fixture
def case(review_case):
    """(workspace, case id, video path, TimelineData) of the real interview; the workspace is closed after."""
    from app.services.timeline import load_timeline
    from app.store.workspace import Workspace

    ws_path, case_id, video = review_case
    ws = Workspace.open(ws_path)
    try:
        yield ws, case_id, video, load_timeline(ws, case_id)
    finally:
        ws.close()


@pytest.fixture
def view(case, request):
    """A TimelineView showing the real case at 1400x700, lanes bound to a real AnnotationStack."""
    _qt_env()
    qtbot = request.getfixturevalue("qtbot")
    from app.services import review
    from app.ui.timelines import TimelineView

    ws, case_id, _video, data = case
    v = TimelineView()
    qtbot.addWidget(v)
    v.resize(*SHOT)
    v.show()
    qtbot.waitExposed(v)
    v.set_data(data)
    stack = review.AnnotationStack(ws, case_id, "tester")
    v.set_annotations(stack, review.tiers(ws))
    v.stack = stack  # for the tests
    qtbot.wait(10)
    return v


def _db_rows(ws_path: Path, ann_id: int) -> list[tuple]:
    con = sqlite3.connect(ws_path)
    try:
        return con.execute("select start_s, end_s, tier_id, deleted from annotations where id = ?", (ann_id,)).fetchall()
    finally:
        con.close()


def _viewport_pos(view, track, t: float, y: float):
    """Where time ``t`` (height ``y`` in the track's data units) is on the view's viewport."""
    from PySide6 import QtCore

    scene = track.vb.mapViewToScene(QtCore.QPointF(t, y))
    return view.glw.mapFromScene(scene)


def _tier_id(view, name: str) -> int:
    return next(int(lane.tier["id"]) for lane in view.lanes if lane.tier["name"] == name)


def test_real_case_fills_every_track(view, case):
    """The real interview reaches every track: 25 AU rows, frames, utterances with text in view."""
    _ws, _cid, _video, data = case
    assert len(data.t) > 100 and data.utterances
    assert view.au_heat.last_image_shape[0] == 25 == len(data.au_names)
    assert view.au_heat.image.image.shape[0] == 25
    assert view.au_heat.image.image.shape[1] <= int(view.au_heat.vb.width()) + 1
    texts = " ".join(view.speech.visible_texts)
    words = {w.strip(".,?!").lower() for u in data.utterances for w in (u["text"] or "").split()}
    assert texts and any(w.strip(".,?!…").lower() in words for w in texts.split())
    assert len(view.lanes) == 5  # the default tiers, one lane each
    # The arousal track shows both readings: steps in SD from the baseline, and the absolute level.
    level = view.arousal.level_values
    assert len(level) == len(view.arousal.values) > 0 and np.all((level > 0) & (level < 1))
    x0, x1 = view.view_range()
    assert x0 <= 0.0 + 1e-6 and x1 >= float(data.t[-1]) - 1e-6


def test_legends_never_hide_the_data(view, qtbot):
    """Every colour key sits inside its plot, and the track's highest value is drawn below the key,
    also when a narrow window wraps the key onto more lines."""
    from PySide6 import QtCore

    def check() -> list[float]:
        heights = []
        for track in (view.expression, view.au_lines, view.forgery):
            key = track.legend.mapRectToScene(track.legend.boundingRect())
            plot = track.vb.sceneBoundingRect()
            assert key.left() >= plot.left() - 1 and key.right() <= plot.right() + 1, track.key
            top_value = track.vb.mapViewToScene(QtCore.QPointF(0.0, track.y_range[1])).y()
            assert top_value >= key.bottom() - 1, (track.key, top_value, key.bottom())
            heights.append(key.height())
        return heights

    wide = check()
    view.resize(560, SHOT[1])
    qtbot.waitUntil(lambda: view.forgery.vb.width() < 400, timeout=2000)
    qtbot.wait(20)
    narrow = check()
    assert max(narrow) > 1.5 * max(wide)  # the narrow window did wrap a key, and the data still clears it


def test_click_on_track_seeks(view, qtbot):
    """A left click on a track emits seekRequested with the time under the mouse; the cursors follow."""
    from PySide6 import QtCore

    x0, x1 = view.view_range()
    target = x0 + 0.37 * (x1 - x0)
    track = view.forgery
    pos = _viewport_pos(view, track, target, 0.5)
    with qtbot.waitSignal(view.seekRequested, timeout=2000) as blocker:
        qtbot.mouseClick(view.glw.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    px = (x1 - x0) / track.vb.width()
    assert abs(blocker.args[0] - target) <= 2 * px
    assert all(abs(tr.cursor.value() - blocker.args[0]) < 1e-9 for tr in view.all_tracks())


def _send_drag(view, button, p0, p1, modifiers=None, steps: int = 6) -> None:
    """Press at ``p0``, move to ``p1`` in steps with the button held, release (real QMouseEvents)."""
    from PySide6 import QtCore, QtGui
    from PySide6.QtWidgets import QApplication

    mods = modifiers or QtCore.Qt.KeyboardModifier.NoModifier
    vp = view.glw.viewport()

    def send(kind, pos, buttons):
        local = QtCore.QPointF(pos)
        ev = QtGui.QMouseEvent(kind, local, vp.mapToGlobal(local), button if kind != QtCore.QEvent.Type.MouseMove
                               else QtCore.Qt.MouseButton.NoButton, buttons, mods)
        QApplication.sendEvent(vp, ev)

    from PySide6.QtTest import QTest

    send(QtCore.QEvent.Type.MouseButtonPress, p0, button)
    for k in range(1, steps + 1):
        QTest.qWait(40)  # pyqtgraph's scene drops move events that come faster than its frame rate
        f = k / steps
        send(QtCore.QEvent.Type.MouseMove, QtCore.QPointF(p0.x() + f * (p1.x() - p0.x()), p0.y() + f * (p1.y() - p0.y())),
             button)
    send(QtCore.QEvent.Type.MouseButtonRelease, p1, QtCore.Qt.MouseButton.NoButton)


def test_mouse_drag_scrubs_selects_and_pans(view, qtbot):
    """Left drag scrubs (seeks as it goes), Shift+drag selects a span, right drag pans, wheel zooms."""
    from PySide6 import QtCore, QtGui
    from PySide6.QtWidgets import QApplication

    view.show_range(0.0, 30.0)
    track = view.au_lines
    px = 30.0 / track.vb.width()
    seeks = []
    view.seekRequested.connect(seeks.append)
    _send_drag(view, QtCore.Qt.MouseButton.LeftButton, _viewport_pos(view, track, 5.0, 2.5),
               _viewport_pos(view, track, 11.0, 2.5))
    assert len(seeks) >= 3 and seeks[-1] == pytest.approx(11.0, abs=3 * px)
    assert view.cursor() == pytest.approx(seeks[-1])

    with qtbot.waitSignal(view.intervalSelected, timeout=2000) as span:
        _send_drag(view, QtCore.Qt.MouseButton.LeftButton, _viewport_pos(view, track, 12.0, 2.5),
                   _viewport_pos(view, track, 18.0, 2.5), QtCore.Qt.KeyboardModifier.ShiftModifier)
    assert span.args == pytest.approx([12.0, 18.0], abs=3 * px)
    assert view.au_heat.selection.isVisible()

    _send_drag(view, QtCore.Qt.MouseButton.RightButton, _viewport_pos(view, track, 20.0, 2.5),
               _viewport_pos(view, track, 15.0, 2.5))
    x0, x1 = view.view_range()
    assert x0 == pytest.approx(5.0, abs=3 * px) and x1 - x0 == pytest.approx(30.0, rel=1e-3)

    y_before = list(track.vb.viewRange()[1])
    pos = QtCore.QPointF(_viewport_pos(view, track, x0 + 15.0, 2.5))
    vp = view.glw.viewport()
    wheel = QtGui.QWheelEvent(pos, vp.mapToGlobal(pos), QtCore.QPoint(0, 0), QtCore.QPoint(0, 240),
                              QtCore.Qt.MouseButton.NoButton, QtCore.Qt.KeyboardModifier.NoModifier,
                              QtCore.Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(vp, wheel)
    assert view.view_range()[1] - view.view_range()[0] < 30.0 * 0.9  # zoomed in on time
    assert track.vb.viewRange()[1] == pytest.approx(y_before)  # the value axis never zooms


def test_set_cursor_moves_every_cursor(view):
    view.set_cursor(3.3)
    assert view.cursor() == pytest.approx(3.3)
    assert [round(tr.cursor.value(), 6) for tr in view.all_tracks()] == [3.3] * len(view.all_tracks())
    # Following: a cursor outside the visible range pages the view to it.
    view.show_range(10.0, 14.0)
    view.set_cursor(20.0)
    x0, x1 = view.view_range()
    assert x0 <= 20.0 <= x1 and x1 - x0 == pytest.approx(4.0, rel=1e-3)


def test_mark_in_out_undo_redo_persist(view, review_case):
    """I/O on the current tier writes an annotation at once; undo removes it, redo restores it."""
    ws_path = review_case[0]
    tier = _tier_id(view, "Evasive")
    view.set_current_tier(tier)
    assert view.current_tier() == tier
    assert view.mark_out(4.0) is None  # no in-point yet: refused with a message, nothing written
    view.mark_in(5.5)
    ann_id = view.mark_out(2.0)  # O before I in time: the interval is ordered
    assert ann_id is not None
    assert _db_rows(ws_path, ann_id) == [(2.0, 5.5, tier, 0)]
    lane = next(lane for lane in view.lanes if lane.tier["id"] == tier)
    assert ann_id in lane.items and lane.items[ann_id].getRegion() == pytest.approx((2.0, 5.5))
    assert view.selected_annotation()["id"] == ann_id  # a new annotation is selected for the editor

    assert view.stack.undo()
    assert _db_rows(ws_path, ann_id)[0][3] == 1  # soft-deleted
    assert ann_id not in lane.items and view.selected_annotation() is None
    assert view.stack.redo()
    assert _db_rows(ws_path, ann_id) == [(2.0, 5.5, tier, 0)]
    assert ann_id in lane.items


def test_dragging_edges_updates_database(view, review_case):
    """Finishing a drag of an edge is one undoable update; the refresh after undo does not write back."""
    ws_path = review_case[0]
    view.set_current_tier(_tier_id(view, "Inconsistent"))
    view.mark_in(1.0)
    ann_id = view.mark_out(3.0)
    lane = next(lane for lane in view.lanes if lane.current)
    region = lane.items[ann_id]

    line = region.lines[0]  # what a mouse drag of the left edge does: move the line, then finish
    line.setValue(1.75)
    line.sigPositionChangeFinished.emit(line)
    assert _db_rows(ws_path, ann_id)[0][:2] == (1.75, 3.0)

    region.setRegion((2.5, 4.25))  # a drag of the whole body
    region.sigRegionChangeFinished.emit(region)
    assert _db_rows(ws_path, ann_id)[0][:2] == (2.5, 4.25)

    assert view.stack.undo()
    assert _db_rows(ws_path, ann_id)[0][:2] == (1.75, 3.0)
    assert region.getRegion() == pytest.approx((1.75, 3.0))
    # Had the refreshed region written itself back, that new edit would have emptied the redo stack.
    assert view.stack.can_redo


def test_point_marker_select_and_delete_key(view, review_case, qtbot):
    """M adds a point; a click on it selects it; Delete removes it through the stack (undoable)."""
    from PySide6 import QtCore

    ws_path = review_case[0]
    tier = _tier_id(view, "Note")
    view.set_current_tier(tier)
    ann_id = view.mark_point(6.0)
    assert _db_rows(ws_path, ann_id) == [(6.0, 6.0, tier, 0)]
    view.select_annotation(None)
    lane = next(lane for lane in view.lanes if lane.current)
    pos = _viewport_pos(view, lane, 6.0, 0.5)
    with qtbot.waitSignal(view.annotationSelected, timeout=2000) as blocker:
        qtbot.mouseClick(view.glw.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    assert blocker.args[0]["id"] == ann_id
    view.glw.setFocus()
    qtbot.keyClick(view.glw, QtCore.Qt.Key.Key_Delete)
    assert _db_rows(ws_path, ann_id)[0][3] == 1
    assert ann_id not in lane.items
    assert view.stack.undo() and _db_rows(ws_path, ann_id)[0][3] == 0


def test_annotation_add_updates_only_its_lane(view, review_case):
    """M on one tier touches that lane only: the other lanes keep their rows and item objects, the
    lane's existing markers stay the same objects, and the layout is not rebuilt."""
    stack = view.stack
    note, evasive = _tier_id(view, "Note"), _tier_id(view, "Evasive")
    stack.add(evasive, 1.0, 2.0)
    stack.add(note, 3.0)
    lanes = {int(lane.tier["id"]): lane for lane in view.lanes}
    before = {tid: (lane.rows, dict(lane.items)) for tid, lane in lanes.items()}
    plots = [view.glw.ci.getItem(r, 1) for r in range(len(view.all_tracks()))]

    view.set_current_tier(note)
    new = view.mark_point(5.0)  # M, through the real undo stack

    for tid, lane in lanes.items():
        rows, items = before[tid]
        assert all(lane.items[k] is item for k, item in items.items())
        if tid == note:
            assert set(lane.items) == set(items) | {new}
            assert float(lane.items[new].value()) == pytest.approx(5.0)
        else:
            assert lane.rows is rows and set(lane.items) == set(items)  # not even re-read into the lane
    assert [view.glw.ci.getItem(r, 1) for r in range(len(view.all_tracks()))] == plots
    assert all(p is t.plot for p, t in zip(plots, view.all_tracks()))
    assert _db_rows(review_case[0], new) == [(5.0, 5.0, note, 0)]


def test_click_on_interval_selects_it(view, qtbot):
    from PySide6 import QtCore

    view.set_current_tier(_tier_id(view, "Evasive"))
    view.mark_in(8.0)
    ann_id = view.mark_out(12.0)
    view.select_annotation(None)
    lane = next(lane for lane in view.lanes if lane.current)
    pos = _viewport_pos(view, lane, 10.0, 0.5)
    with qtbot.waitSignal(view.intervalSelected, timeout=2000) as span:
        with qtbot.waitSignal(view.annotationSelected, timeout=2000) as sel:
            qtbot.mouseClick(view.glw.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=pos)
    assert sel.args[0]["id"] == ann_id
    assert span.args == pytest.approx([8.0, 12.0])


def test_hover_explains_what_is_under_the_mouse(view, case):
    """Tooltips name the AU (with its FACS name) and value, and show the whole utterance text."""
    from app.services.timeline import AU_LABELS

    _ws, _cid, _video, data = case
    i = int(np.flatnonzero(data.usable)[len(np.flatnonzero(data.usable)) // 2])
    text = view.au_heat.hover_text(float(data.t[i]), 25 - 9.5)  # row 9 from the top: AU12
    assert data.au_names[9] == "AU12" and "AU12" in text and AU_LABELS["AU12"] in text
    assert f"{data.aus[i, 9]:.1f} / 5" in text
    u = max(data.utterances, key=lambda u: len(u["text"] or ""))
    text = view.speech.hover_text((u["start_s"] + u["end_s"]) / 2, view.speech.rows[u["speaker"]] + 0.5)
    assert u["text"].strip() in text
    first = min(data.utterances, key=lambda u: u["start_s"])
    assert first["start_s"] > 0.1  # the recording starts with silence: nothing to explain there
    assert view.speech.hover_text(first["start_s"] - 0.1, view.speech.rows[first["speaker"]] + 0.5) == ""
    assert view.forgery.hover_text(float(data.t[i]), 0.5)


def test_zoom_pan_keys_and_expression_band(view, qtbot):
    from PySide6 import QtCore

    view.show_range(0.0, 20.0)
    view.set_cursor(5.0)
    view.zoom(2.0)
    x0, x1 = view.view_range()
    assert x1 - x0 == pytest.approx(10.0, rel=1e-3) and x0 <= 5.0 <= x1
    view.pan(2.0)
    assert view.view_range()[0] == pytest.approx(x0 + 2.0, abs=1e-3)
    view.glw.setFocus()
    qtbot.keyClick(view.glw, QtCore.Qt.Key.Key_Minus)
    assert view.view_range()[1] - view.view_range()[0] == pytest.approx(20.0, rel=1e-3)
    qtbot.keyClick(view.glw, QtCore.Qt.Key.Key_Plus)
    assert view.view_range()[1] - view.view_range()[0] == pytest.approx(10.0, rel=1e-3)

    view.set_expression_mode("band")
    assert view.expression.band.isVisible() and not view.expression.curves[0].isVisible()
    band = view.expression.band.image
    assert band.shape[0] == 1 and 1 <= band.shape[1] <= int(view.expression.vb.width()) + 1
    view.set_expression_mode("stacked")
    assert view.expression.curves[0].isVisible() and not view.expression.band.isVisible()
    with pytest.raises(ValueError):
        view.set_expression_mode("pie")


def test_screenshot_real_case(view, case, tmp_path):
    """A 1400x700 picture of the real case with its waveform and a few annotations (looked at by eye)."""
    from app.services.timeline import waveform_envelope

    _ws, _cid, video, data = case
    view.set_waveform(*waveform_envelope(str(video)))
    view.set_current_tier(_tier_id(view, "Evasive"))
    view.mark_in(9.0)
    evasive = view.mark_out(13.5)
    view.stack.update(evasive, label="deflects question", note="asked twice about income")
    view.set_current_tier(_tier_id(view, "Note"))
    view.stack.update(view.mark_point(20.0), note="looks off-camera")
    view.set_current_tier(_tier_id(view, "Baseline"))
    view.mark_in(1.0)
    view.mark_out(4.0)
    view.select_annotation(evasive)
    lane = next(lane for lane in view.lanes if lane.tier["name"] == "Evasive")
    assert lane.items[evasive].text.toPlainText().startswith("deflects")  # the label is drawn in its region
    view.set_cursor(float(data.t[len(data.t) // 2]))
    view.show_range(0.0, float(data.duration_s or data.t[-1]))
    img = view.grab()
    out = Path(os.environ.get("VIGIL_TIMELINE_PNG", tmp_path / "timelines.png"))
    assert img.save(str(out))
    print(f"\ntimeline screenshot: {out}")
    from PySide6.QtGui import QImage

    q = QImage(str(out))
    assert (q.width(), q.height()) == SHOT
    arr = np.frombuffer(q.convertToFormat(QImage.Format.Format_RGB32).constBits(), np.uint8)
    assert arr.std() > 10  # not a blank picture


def _synthetic_hour(duration_s: float = 3600.0, fps: float = 30.0):
    """A one-hour TimelineData made in numpy: 108 000 frames, usable gaps, ~700 utterances."""
    from app.services.timeline import TimelineData

    rng = np.random.default_rng(7)
    n = int(duration_s * fps)
    t = np.arange(n) / fps
    usable = np.ones(n, bool)
    for s in rng.integers(0, n, 60):
        usable[s:s + rng.integers(5, 200)] = False
    logits = np.cumsum(rng.normal(0, 0.04, (n, 8)), axis=0)
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs = (probs / probs.sum(1, keepdims=True)).astype(np.float32)
    probs[~usable] = np.nan
    aus = (np.abs(np.cumsum(rng.normal(0, 0.03, (n, 25)), axis=0)) % 5).astype(np.float32)
    aus[~usable] = np.nan
    forgery = (0.25 + 0.2 * np.sin(t / 90)).astype(np.float32)
    forgery[~usable] = np.nan
    cues = {k: np.clip(forgery + rng.normal(0, 0.05, n), 0, 1).astype(np.float32)
            for k in ("temporal", "blink", "headpose", "avsync", "sbi", "freq")}
    utts, s, i = [], 0.5, 0
    while s < duration_s - 10:
        d = float(rng.uniform(1.5, 8.0))
        who = "A" if i % 2 else "B"
        utts.append({"idx": i, "start_s": s, "end_s": s + d, "speaker": who, "is_applicant": who == "A",
                     "is_baseline": False, "text": f"answer {i} about income and employer", "lang": "en",
                     "arousal": float(rng.normal()) if who == "A" else None,
                     "deception_risk": float(rng.uniform()) if who == "A" else None})
        s, i = s + d + float(rng.uniform(0.3, 1.5)), i + 1
    return TimelineData(case_id=1, media_path="", duration_s=duration_s, fps=fps, has_audio=True, width=640,
                        height=360, t=t, frame=np.arange(n, dtype=np.int64), usable=usable,
                        expressions=probs, aus=aus, forgery=forgery, cues=cues, utterances=utts)


def test_one_hour_pans_and_zooms(qtbot):
    """set_data of an hour at 30 fps, then 20 zoom/pan steps, each painted; figures are printed."""
    _qt_env()
    from PySide6.QtWidgets import QApplication

    from app.ui.timelines import TimelineView

    data = _synthetic_hour()
    assert len(data.t) == 108_000
    v = TimelineView()
    qtbot.addWidget(v)
    v.resize(*SHOT)
    v.show()
    qtbot.waitExposed(v)
    tw = np.linspace(0, 3600, 20000)
    v.set_waveform(tw, -0.3 * np.abs(np.sin(tw)), 0.3 * np.abs(np.sin(tw)))

    t0 = time.perf_counter()
    v.set_data(data)
    QApplication.processEvents()
    v.glw.viewport().repaint()
    t_set = time.perf_counter() - t0

    painted = []
    counter = _PaintCounter(painted)  # kept referenced: an unowned event filter would be collected
    v.glw.viewport().installEventFilter(counter)
    steps = []
    v.set_cursor(1800.0)
    for k in range(20):
        s0 = time.perf_counter()
        if k % 4 == 3:
            v.pan(-(v.view_range()[1] - v.view_range()[0]) * 0.25)
        else:
            v.zoom(1.6 if k < 10 else 1 / 1.6)
        QApplication.processEvents()  # runs the coalesced redraw and the paint of every track
        steps.append(time.perf_counter() - s0)
    total = sum(steps)
    assert len(painted) >= 10  # the steps really were painted, not only queued
    p0 = time.perf_counter()
    v.glw.viewport().repaint()
    t_paint = time.perf_counter() - p0
    print(f"\n1-hour case (108000 frames/curve): set_data+first paint {t_set * 1000:.0f} ms; "
          f"20 zoom/pan steps {total * 1000:.0f} ms (mean {np.mean(steps) * 1000:.0f} ms, "
          f"max {max(steps) * 1000:.0f} ms, {len(painted)} paints); one full repaint {t_paint * 1000:.0f} ms")

    # Zoomed all the way out again: what is drawn was reduced to the screen, not 108k points.
    v.show_range(0.0, 3600.0)
    QApplication.processEvents()
    v.glw.viewport().repaint()
    shown_x = v.expression.curves[0].shown_points()[0]
    assert 0 < len(shown_x) <= 2 * int(v.expression.vb.width()) + 8  # about one point per pixel column
    assert v.au_heat.last_image_shape[0] == 25 and v.au_heat.last_image_shape[1] <= 4000
    assert v.au_heat.last_image_shape[1] <= int(v.au_heat.vb.width()) + 1
    # Generous sanity bounds (2 shared cores); the figures above are what matters.
    assert t_set < 15.0
    assert total < 40.0


class _PaintCounter:
    """Counts paint events of a widget (an event filter that lets every event through)."""

    def __new__(cls, sink: list):
        from PySide6.QtCore import QEvent, QObject

        class _Filter(QObject):
            def eventFilter(self, obj, ev):  # noqa: N802
                if ev.type() == QEvent.Type.Paint:
                    sink.append(time.perf_counter())
                return False

        return _Filter()


def test_append_data_grows_live(qtbot):
    """Live analysis: append_data adds the frames after those shown and keeps the visible range."""
    _qt_env()
    import dataclasses

    from app.ui.timelines import TimelineView

    full = _synthetic_hour(duration_s=120.0)
    cut = len(full.t) // 2
    first = dataclasses.replace(full, t=full.t[:cut], frame=full.frame[:cut], usable=full.usable[:cut],
                                expressions=full.expressions[:cut], aus=full.aus[:cut], forgery=full.forgery[:cut],
                                cues={k: v[:cut] for k, v in full.cues.items()}, duration_s=60.0)
    rest = dataclasses.replace(full, t=full.t[cut:], frame=full.frame[cut:], usable=full.usable[cut:],
                               expressions=full.expressions[cut:], aus=full.aus[cut:], forgery=full.forgery[cut:],
                               cues={k: v[cut:] for k, v in full.cues.items()})
    from app.services.timeline import TimelineData

    v = TimelineView()
    qtbot.addWidget(v)
    v.resize(*SHOT)
    v.set_data(TimelineData(case_id=1))  # nothing analysed yet: empty tracks, a default minute shown
    assert v.view_range() == pytest.approx((0.0, 60.0))
    v.set_data(first)
    v.append_data(rest)  # everything was in view: the view grows with the data
    assert v.view_range() == pytest.approx((0.0, 120.0), abs=1e-3)
    assert len(v.data().t) == len(full.t)
    np.testing.assert_array_equal(v.data().aus, full.aus)
    np.testing.assert_array_equal(v.data().cues["sbi"], full.cues["sbi"])
    v.set_data(first)
    v.show_range(10.0, 30.0)
    v.append_data(rest)  # the reviewer is looking at a stretch: it stays put
    assert v.view_range() == pytest.approx((10.0, 30.0), abs=1e-3)


def test_closed_view_stops_listening(case, request):
    """The stack outlives a closed timeline: later edits neither fail nor reach the deleted widget."""
    _qt_env()
    request.getfixturevalue("qtbot")
    import shiboken6

    from app.services import review
    from app.ui.timelines import TimelineView

    ws, case_id, _video, data = case
    stack = review.AnnotationStack(ws, case_id, "tester")
    v = TimelineView()
    v.set_data(data)
    v.set_annotations(stack, review.tiers(ws))
    assert len(stack.listeners) == 1
    shiboken6.delete(v)
    tier = next(t["id"] for t in review.tiers(ws) if t["name"] == "Note")
    ann_id = stack.add(tier, 2.0)
    assert any(a["id"] == ann_id for a in review.annotations(ws, case_id))
