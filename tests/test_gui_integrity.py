"""The explanation panel's capture-integrity section: the file's checks as sentences with seek links."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.test_gui_panels import _anchor_rect, _isolated, opened, shown_panel  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def _panel(qtbot, ws, case_id):
    panel = shown_panel(qtbot, ws, case_id)
    with qtbot.waitSignal(panel.explained, timeout=30000):
        panel.show_at(2.0)
    return panel


def test_the_analysed_files_checks_are_listed(qtbot, opened):
    """Every check the analysis stored is named: the ones that found something with sentences."""
    from app.ui import i18n
    from app.ui._integrity_text import FLAG, check_label

    ws, case_id, ws_path = opened
    stored = json.loads(ws.db.execute("select integrity_json from media where case_id = ?", [case_id]).fetchone()[0])
    panel = _panel(qtbot, ws, case_id)
    g = panel.result()["forgery"]["integrity"]
    assert g["score"] == stored["score"] and len(g["findings"]) == len(stored["findings"]) >= 6
    for lang, title in (("en", "Capture integrity (whole file)"), ("zh", "采集完整性（整个文件）")):
        i18n.set_language(lang)
        text = " ".join(panel.text().split())
        assert title in text
        for f in g["findings"]:  # each check is on screen by name, whether it found something or not
            assert check_label(f["check"]) in text, (lang, f["check"])
        assert ("Nothing unusual" in text or "未见异常" in text) == any(f["weighted"] < FLAG for f in g["findings"])


def test_a_frozen_stretch_reads_as_a_sentence_and_its_time_seeks(qtbot, opened, single_face: Path, tmp_path: Path):
    """The integrity report of a clip with a 1 s frozen stretch, attached to the case's media, shows the
    stretch in plain words in both languages, and its start time is a link that seeks there."""
    from PySide6.QtCore import Qt

    from app.core.forensics.integrity import file_integrity
    from app.ui import i18n
    from tests.test_integrity import _frames, _write

    ws, case_id, _ws_path = opened
    fr = _frames(single_face)
    report = file_integrity(_write(tmp_path / "frozen.mp4", fr[:20] + [fr[20]] * 30 + fr[21:])).to_dict()
    run = next(f for f in report["findings"] if f["check"] == "frozen")["evidence"]["runs"][0]
    media_id = ws.db.execute("select id from media where case_id = ?", [case_id]).fetchone()[0]
    ws.set_integrity(media_id, report)
    ws.flush()
    panel = _panel(qtbot, ws, case_id)
    m, s = divmod(run["start_s"], 60.0)
    at = f"{int(m)}:{s:04.1f}"
    text = " ".join(panel.text().split())
    assert f"The picture stands completely still for {run['seconds']:.1f} s in 1 stretch(es)" in text
    assert f"starts at {at}." in text and "replayed or stalled" in text
    i18n.set_language("zh")
    text = " ".join(panel.text().split())
    assert f"画面在 1 段中完全静止共 {run['seconds']:.1f} 秒" in text and f"始于 {at}" in text
    i18n.set_language("en")
    browser = panel._browser
    rect, href = _anchor_rect(browser, "seek:", at)
    assert href is not None and float(href[5:]) == pytest.approx(run["start_s"], abs=1e-3)
    browser.verticalScrollBar().setValue(browser.verticalScrollBar().value() + rect.top() - 20)
    rect, _ = _anchor_rect(browser, "seek:", at)
    with qtbot.waitSignal(panel.seekRequested, timeout=3000) as sig:
        qtbot.mouseClick(browser.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sig.args[0] == pytest.approx(run["start_s"], abs=1e-3)
