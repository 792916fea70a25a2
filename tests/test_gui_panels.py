"""The review panels (explanation, decision, annotation editor), dialogs, settings, languages, themes.

Real Qt (offscreen), a real analysed interview in a real SQLite file (``review_case``), the real
review and timeline services. The database is checked with plain sqlite3, independently of the store.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sqlite3
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

REPO = Path(__file__).resolve().parents[1]
ZH = json.loads((REPO / "resources" / "i18n" / "zh_CN.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest):
    """Private settings folder, English UI, light theme; Qt's own plugins (not OpenCV's bundled ones)."""
    monkeypatch.setenv("VIGIL_SETTINGS_DIR", str(tmp_path / "settings"))
    for var in ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR"):  # set by `import cv2`
        monkeypatch.delenv(var, raising=False)
    app = request.getfixturevalue("qapp")
    from app.ui import i18n, theme

    i18n.set_language("en")
    yield
    i18n.set_language("en")
    theme.apply_theme(app, "light")


def _db(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    return con


@pytest.fixture
def opened(review_case):
    """(ws, case_id, ws_path) with the workspace open; closed afterwards."""
    from app.store.workspace import Workspace

    ws_path, case_id, _video = review_case
    ws = Workspace.open(ws_path)
    yield ws, case_id, ws_path
    ws.close()


# -- translations ------------------------------------------------------------------------------------
def _tr_literals() -> dict[str, list[str]]:
    """Every string literal passed to tr() or N_() in app/ui, with where it is used."""
    found: dict[str, list[str]] = {}
    for path in sorted((REPO / "app" / "ui").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if isinstance(f, ast.Attribute) and not (isinstance(f.value, ast.Name) and f.value.id == "i18n"):
                continue  # self.tr() is Qt's, not ours
            arg = node.args[0]
            if name in ("tr", "N_") and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.setdefault(arg.value, []).append(f"{path.relative_to(REPO)}:{node.lineno}")
    return found


def test_every_tr_literal_has_a_chinese_entry():
    literals = _tr_literals()
    assert len(literals) > 100  # the scan really finds the UI's strings
    missing = {k: v[0] for k, v in literals.items() if not ZH.get(k)}
    assert not missing, "add these to resources/i18n/zh_CN.json:\n" + "\n".join(
        f"  {k!r}  ({where})" for k, where in sorted(missing.items()))


def test_names_shown_from_data_have_chinese_entries():
    """Names that reach tr() from data, not literals: AU and expression names, tiers and their
    vocabulary, forgery cues, risk-word categories, voice features, face-quality reasons, statuses."""
    from app.core.analysers.columns import EXPRESSIONS
    from app.core.face.quality import NO_FACE
    from app.core.voice import scoring
    from app.core.voice._lexicon import DECEPTION_CATEGORIES, FRAUD_CATEGORIES
    from app.core.voice._text_names import NUMBER_CATEGORIES
    from app.services import review
    from app.services._explain import FEATURE_LABELS
    from app.services.timeline import AU_LABELS, CUE_NAMES
    from app.store.schema import DEFAULT_TIERS
    from app.ui import i18n

    names = [*AU_LABELS.values(), *EXPRESSIONS, *(i18n.CUE_LABELS[c] for c in CUE_NAMES),
             *(i18n.STATUS_LABELS[s] for s in review.STATUSES), *FRAUD_CATEGORIES, *NUMBER_CATEGORIES,
             *(k for k in DECEPTION_CATEGORIES if k in scoring.RISK_WORD_CATEGORIES),
             *(label for label, _unit in FEATURE_LABELS.values()),
             *(c.label for c in scoring.RISK_CUES if c.key != "arousal"),
             NO_FACE, "face too small", "face blurred", "head turned away", "head tilted up or down",
             "add annotation", "move annotation", "edit annotation", "delete annotation"]
    for name, _color, vocab in DEFAULT_TIERS:
        names += [name, *vocab]
    missing = sorted({n for n in names if not ZH.get(n)})
    assert not missing, f"add these to resources/i18n/zh_CN.json: {missing}"


def test_chinese_entries_keep_their_placeholders():
    field = re.compile(r"\{[^{}]*\}")
    bad = {k: v for k, v in ZH.items() if not k.startswith("@")
           and sorted(field.findall(k)) != sorted(field.findall(v))}
    assert not bad, f"placeholders differ between English and Chinese: {bad}"


def test_tr_falls_back_to_english_and_follows_the_language(qtbot):
    from app.ui import i18n

    seen: list[str] = []
    i18n.notifier().changed.connect(seen.append)
    i18n.set_language("zh_CN")
    assert i18n.language() == "zh" and seen == ["zh"]
    assert i18n.tr("Cancel") == ZH["Cancel"] != "Cancel"
    assert i18n.tr("a string nobody translated") == "a string nobody translated"
    assert i18n.status_label("rejected") == ZH["rejected (fraud)"]
    i18n.set_language("en")
    assert i18n.tr("Cancel") == "Cancel" and seen == ["zh", "en"]
    assert i18n.system_language() in ("en", "zh")


def test_language_switch_changes_visible_panel_texts(qtbot):
    from PySide6.QtWidgets import QLabel, QPushButton

    from app.ui import i18n
    from app.ui.decision_panel import DecisionPanel
    from app.ui.explain_panel import ExplanationPanel
    from app.ui.settings import Settings

    panel = DecisionPanel(Settings())
    explain = ExplanationPanel()
    qtbot.addWidget(panel)
    qtbot.addWidget(explain)

    def buttons() -> set[str]:
        return {b.text() for b in panel.findChildren(QPushButton)}

    def labels(w) -> set[str]:
        return {lab.text() for lab in w.findChildren(QLabel)}

    assert any("never decide a case on their own" in t for t in labels(panel))
    combo = panel.findChild(type(panel._status))
    assert "Save decision" in buttons()
    assert [combo.itemText(i) for i in range(combo.count())][-1] == "rejected (fraud)"
    hint = "Select a time on the timeline to see why each score is what it is."
    assert hint in explain.text()
    i18n.set_language("zh")
    assert ZH["Save decision"] in buttons() and "Save decision" not in buttons()
    assert combo.itemText(combo.count() - 1) == ZH["rejected (fraud)"]
    assert ZH[hint] in explain.text() and hint not in explain.text()
    banner = "Vigil's scores are indicators for a human reviewer. They never decide a case on their own."
    assert ZH[banner] in labels(panel)
    i18n.set_language("en")
    assert "Save decision" in buttons() and hint in explain.text()
    assert combo.itemText(combo.count() - 1) == "rejected (fraud)"


# -- decision panel ---------------------------------------------------------------------------------
def _choose(panel, status: str) -> None:
    combo = panel._status
    combo.setCurrentIndex(combo.findData(status))


def test_verdict_needs_a_reason(qtbot, opened):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QPushButton

    from app.ui import theme
    from app.ui.decision_panel import DecisionPanel
    from app.ui.settings import Settings

    ws, case_id, ws_path = opened
    settings = Settings()
    settings.reviewer = "Alice Wang"
    panel = DecisionPanel(settings)
    qtbot.addWidget(panel)
    panel.set_case(ws, case_id)
    statuses: list[str] = []
    panel.statusChanged.connect(statuses.append)
    before = _db(ws_path).execute("select status from cases where id = ?", [case_id]).fetchone()["status"]
    save = next(b for b in panel.findChildren(QPushButton) if b.text() == "Save decision")

    _choose(panel, "rejected")
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    assert "reason" in panel.error_text().lower()
    assert theme.colors()["error"] in panel._error.styleSheet()
    ws.flush()
    con = _db(ws_path)
    assert con.execute("select count(*) from decisions where case_id = ?", [case_id]).fetchone()[0] == 0
    assert con.execute("select status from cases where id = ?", [case_id]).fetchone()["status"] == before
    assert con.execute("select count(*) from audit where action = 'case.status'").fetchone()[0] == 0
    assert statuses == []

    qtbot.keyClicks(panel._reason, "Face swap artefacts at 12 s and the income story changed twice.")
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    assert panel.error_text() == ""
    ws.flush()
    con = _db(ws_path)
    rows = con.execute("select * from decisions where case_id = ?", [case_id]).fetchall()
    assert [(r["status"], r["reviewer"]) for r in rows] == [("rejected", "Alice Wang")]
    assert "income story" in rows[0]["reason"]
    assert con.execute("select status from cases where id = ?", [case_id]).fetchone()["status"] == "rejected"
    audit = con.execute("select actor, detail_json from audit where action = 'case.status' and case_id = ?",
                        [case_id]).fetchall()
    assert len(audit) == 1 and audit[0]["actor"] == "Alice Wang"
    assert json.loads(audit[0]["detail_json"])["to"] == "rejected"
    assert statuses == ["rejected"]
    assert panel._history.topLevelItemCount() == 1
    assert "income story" in panel._history.topLevelItem(0).text(3)


def test_reviewer_is_asked_for_when_unknown(qtbot, opened):
    from app.ui.decision_panel import DecisionPanel
    from app.ui.settings import Settings

    ws, case_id, ws_path = opened
    settings = Settings()
    panel = DecisionPanel(settings)
    qtbot.addWidget(panel)
    panel.set_case(ws, case_id)
    answers = iter([None, "Carol Li"])  # first the reviewer cancels the prompt, then gives a name
    panel.prompt = lambda *_: next(answers)
    _choose(panel, "in_review")
    assert not panel.save()
    assert panel.error_text()
    ws.flush()
    assert _db(ws_path).execute("select count(*) from decisions").fetchone()[0] == 0
    assert panel.save()
    assert settings.reviewer == "Carol Li" and Settings().reviewer == "Carol Li"
    ws.flush()
    row = _db(ws_path).execute("select status, reviewer from decisions").fetchone()
    assert tuple(row) == ("in_review", "Carol Li")


def test_supervisor_sign_off(qtbot, opened):
    from app.ui.decision_panel import DecisionPanel
    from app.ui.settings import Settings

    from app.services import users

    ws, case_id, ws_path = opened
    # Issue 15: only a registered supervisor signs off (the OS user registers as the first admin).
    users.add_user(ws, users.os_user(), "Admin", "admin")
    users.add_user(ws, "bob.zhao", "Bob Zhao", "supervisor")
    settings = Settings()
    settings.reviewer = "Alice Wang"
    panel = DecisionPanel(settings)
    qtbot.addWidget(panel)
    panel.set_case(ws, case_id)
    assert not panel._sign.isEnabled()  # nothing to sign off before a verdict
    _choose(panel, "cleared")
    panel._reason.setPlainText("Documents match; no forgery cue above chance.")
    assert panel.save()
    assert panel._sign.isEnabled()

    panel.prompt = lambda *_: "alice wang"  # the reviewer cannot sign off their own verdict
    assert not panel.sign_off()
    assert "supervisor" in panel.error_text().lower()
    ws.flush()
    assert _db(ws_path).execute("select count(*) from decisions where kind = 'signoff'").fetchone()[0] == 0

    panel.prompt = lambda *_: "Bob Zhao"
    assert panel.sign_off()
    ws.flush()
    con = _db(ws_path)
    row = con.execute("select status, supervisor, reviewer from decisions where kind = 'signoff'").fetchone()
    assert tuple(row) == ("cleared", "Bob Zhao", "Alice Wang")
    assert con.execute("select actor from audit where action = 'case.signoff'").fetchone()["actor"] == "Bob Zhao"
    assert "Bob Zhao" in panel._signed.text() and not panel._sign.isEnabled()
    assert settings.supervisor == "Bob Zhao"
    assert panel._history.topLevelItemCount() == 2


# -- explanation panel -------------------------------------------------------------------------------
def _applicant_utterance(ws_path: Path, case_id: int) -> sqlite3.Row:
    con = _db(ws_path)
    return con.execute(
        "select u.* from utterances u join runs r on r.id = u.run_id join media m on m.id = r.media_id "
        "where m.case_id = ? and u.is_applicant = 1 and length(u.text) > 20 order by u.start_s limit 1",
        [case_id]).fetchone()


def test_explanation_shows_the_applicant_utterance(qtbot, opened):
    from app.ui.explain_panel import ExplanationPanel

    ws, case_id, ws_path = opened
    utt = _applicant_utterance(ws_path, case_id)
    assert utt is not None
    panel = ExplanationPanel()
    qtbot.addWidget(panel)
    panel.set_case(ws, case_id)
    shown: list[float] = []
    panel.explained.connect(lambda: shown.append(panel.result()["t0"]))
    mid = (utt["start_s"] + utt["end_s"]) / 2
    for t in (0.0, 1.0, 2.0, mid):  # scrubbing: only the newest request may end up on screen
        panel.show_at(t)
    snippet = " ".join(utt["text"].split()[:5])
    qtbot.waitUntil(lambda: snippet in " ".join(panel.text().split()), timeout=30000)
    assert panel.wait_idle()
    qtbot.wait(50)
    assert shown == [mid]  # superseded results were dropped, not flashed on screen
    text = panel.text()
    for heading in ("Face", "Forgery", "Speech", "Features vs baseline"):
        assert heading in text
    assert "Deception risk" in text and "(0–1)" in text
    assert "not a verdict" in text
    assert re.search(r"AU\d\d [a-z ]+ \d\.\d \(session mean \d\.\d\)", text)  # a top-AU reading line

    with qtbot.waitSignal(panel.explained, timeout=30000):
        panel.show_at(10_000.0)  # long after the recording ends: nothing to score
    assert "Insufficient evidence" in panel.text() and "No speech at this time." in panel.text()


def _anchor_rect(browser, prefix: str, text: str = ""):
    """Viewport rectangle of the first link whose href starts with ``prefix`` and whose text starts
    with ``text`` (and the href)."""
    from PySide6.QtGui import QTextCursor

    block = browser.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            href = frag.charFormat().anchorHref()
            if href.startswith(prefix) and frag.text().replace("\xa0", " ").startswith(text):
                cur = QTextCursor(browser.document())
                cur.setPosition(frag.position() + max(frag.length() // 2, 0))
                return browser.cursorRect(cur), href
            it += 1
        block = block.next()
    return None, None


def shown_panel(qtbot, ws, case_id):
    """An explanation panel on screen (offscreen), 700 x 900, showing ``case_id``."""
    from app.ui.explain_panel import ExplanationPanel

    panel = ExplanationPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 900)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_case(ws, case_id)
    return panel


def test_evidence_frame_link_seeks(qtbot, opened):
    from PySide6.QtCore import Qt

    ws, case_id, ws_path = opened
    panel = shown_panel(qtbot, ws, case_id)
    duration = _db(ws_path).execute("select max(t_sec) from frames").fetchone()[0]
    with qtbot.waitSignal(panel.explained, timeout=30000):
        panel.show_interval(0.0, duration)
    frames = panel.result()["forgery"]["evidence_frames"]
    assert frames, "the whole interview should name at least one evidence frame"
    browser = panel._browser
    label = f"frame {frames[0]} ("  # the window's first evidence frame, under the cue table
    rect, href = _anchor_rect(browser, "seek:", label)
    assert rect is not None
    browser.verticalScrollBar().setValue(browser.verticalScrollBar().value() + rect.top() - 20)
    rect, href = _anchor_rect(browser, "seek:", label)
    assert browser.viewport().rect().contains(rect.center())
    with qtbot.waitSignal(panel.seekRequested, timeout=3000) as sig:
        qtbot.mouseClick(browser.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    t_frame = _db(ws_path).execute(
        "select t_sec from frames f join runs r on r.id = f.run_id join media m on m.id = r.media_id "
        "where m.case_id = ? and f.frame = ? and f.face = 0 and r.kind = 'video' limit 1",
        [case_id, frames[0]]).fetchone()[0]
    assert sig.args[0] == pytest.approx(t_frame, abs=1e-3)


def _stored_evidence_keys(ws_path: Path) -> dict[str, set[str]]:
    """Every evidence key each forgery cue stored for the analysed interview, per cue."""
    keys: dict[str, set[str]] = {}
    for (cues_json,) in _db(ws_path).execute("select cues_json from forgery_windows"):
        for name, cue in (json.loads(cues_json or "{}").get("cues") or {}).items():
            keys.setdefault(name, set()).update(((cue or {}).get("evidence") or {}).keys())
    return keys


def test_every_evidence_key_the_cues_store_has_a_sentence(analyzed_interview):
    """The sentence table covers what the real pipeline stores (a new key fails here, not on screen
    as a raw key), names no key that no cue stores, and quotes the cues' own norms."""
    from app.core.forensics.cues import headpose
    from app.core.voice import scoring
    from app.services.timeline import CUE_NAMES
    from app.ui import _evidence_text as et

    stored = _stored_evidence_keys(analyzed_interview[0])
    assert set(stored) == set(CUE_NAMES) == set(et.FORGERY)  # every cue ran and has a table
    missing = {c: sorted(k for k in keys - et.template_keys(c) if not et.is_hidden(k)) for c, keys in stored.items()}
    assert not any(missing.values()), f"add sentences to app/ui/_evidence_text.py FORGERY for {missing}"
    # keys a cue stores only when it abstains (the interview is long enough for every cue to score)
    abstain_only = {"blink": {"abstain_short_s"}}
    stale = {c: sorted(et.template_keys(c) - keys - abstain_only.get(c, set())) for c, keys in stored.items()}
    assert not any(stale.values()), f"no cue stores these keys any more: {stale}"
    assert et.HEADPOSE_REFERENCE == headpose.REFERENCE and {c.key for c in scoring.RISK_CUES} <= set(et.VOICE)
    (template, values), = et.forgery_sentences("temporal", {"new_key_s": 0.123456})  # no template yet
    assert template.format(**values) == "new key (s): 0.123."  # a readable label, never the raw key


_SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


def test_forgery_and_voice_evidence_read_as_sentences(qtbot, opened):
    """The cue evidence and the risk reasons are plain sentences with units and norms, in English and
    Chinese; no raw evidence key reaches the screen; cue evidence frames stay seek links."""
    from app.ui import _evidence_text as et
    from app.ui import i18n
    from app.ui.explain_panel import ExplanationPanel

    ws, case_id, ws_path = opened
    utt = _applicant_utterance(ws_path, case_id)
    panel = ExplanationPanel()
    qtbot.addWidget(panel)
    panel.set_case(ws, case_id)
    with qtbot.waitSignal(panel.explained, timeout=30000):
        panel.show_at((utt["start_s"] + utt["end_s"]) / 2)  # a forgery window and an applicant answer
    res, raw = panel.result(), set().union(*_stored_evidence_keys(ws_path).values())
    cues = res["forgery"]["cues"]
    assert all(_SNAKE.fullmatch(k) for k in raw if "_" in k)  # the check below sees every stored key
    expected = {"en": ("blinks in", "per minute (people blink about 17 times", "Real faces: up to 3°",
                       "of the eye distance", "SD"),
                "zh": ("眨眼", "每分钟", "真实人脸：不超过 3°", "两眼间距", "个标准差")}
    for lang, fragments in expected.items():
        i18n.set_language(lang)
        text = " ".join(panel.text().split())
        assert not _SNAKE.search(text), f"raw key on screen ({lang}): {_SNAKE.findall(text)}"
        assert all(f in text for f in fragments), lang
        for cue, entry in cues.items():  # every sentence the table makes is on screen, numbers filled in
            for template, values in et.forgery_sentences(cue, entry["evidence"]):
                shown = template.format(**{k: "\0" if isinstance(v, list) else v for k, v in values.items()})
                assert all(" ".join(part.split()) in text for part in shown.split("\0")), (lang, shown)
        carried = et.fusion_sentence(res["forgery"], i18n.cue_label)  # which cue carries the score
        assert carried is not None and " ".join(carried[0].format(**carried[1]).split()) in text, lang
        # the looped interview's score is carried by the file-level integrity cue, whose log-odds share
        # is stored with its record, not among the window's cues: the sentence gives the number
        assert res["forgery"]["carried_by"] == "integrity" and float(carried[1]["add"]) > 0, carried
        reason = next(t for u in res["utterances"] if u["is_applicant"] for t in u["evidence"]["top_cues"])
        assert " ".join(et.voice_sentence(reason).split()) in text
    i18n.set_language("en")
    # a cue's own evidence frames (the most blending-like / most blocky) are seek links to their time
    frame = next(int(f) for c in ("sbi", "freq") for f in cues[c]["evidence"].get("evidence_frames", []))
    _rect, href = _anchor_rect(panel._browser, "seek:", f"frame {frame} (")
    assert href is not None and float(href[5:]) == pytest.approx(res["forgery"]["frame_times"][frame], abs=1e-3)


# -- settings, dialogs ------------------------------------------------------------------------------
def test_settings_round_trip(qtbot, tmp_path):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow

    from app.ui.settings import SCHEMA_VERSION, Settings

    s = Settings()
    assert s.path.parent == tmp_path / "settings" and s.schema_version == SCHEMA_VERSION
    assert s.theme == "light" and s.reviewer == "" and s.language in ("en", "zh")
    s.language, s.theme, s.reviewer, s.supervisor = "zh", "dark", "  王芳 ", "Bob Zhao"
    with pytest.raises(ValueError):
        s.theme = "purple"
    again = Settings()
    assert (again.language, again.theme, again.reviewer, again.supervisor) == ("zh", "dark", "王芳", "Bob Zhao")

    def window() -> tuple[QMainWindow, QDockWidget]:
        w = QMainWindow()
        w.setCentralWidget(QLabel("video"))
        dock = QDockWidget("Decision", w)
        dock.setObjectName("decisionDock")  # saveState needs object names
        dock.setWidget(QLabel("panel"))
        w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        qtbot.addWidget(w)
        return w, dock

    w1, d1 = window()
    w1.resize(700, 520)  # inside the offscreen screen (800x600), which restoreGeometry clamps to
    w1.show()
    w1.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, d1)  # the reviewer moved the dock
    again.save_window(w1)
    w2, d2 = window()
    assert w2.dockWidgetArea(d2) == Qt.DockWidgetArea.RightDockWidgetArea
    assert Settings().restore_window(w2)
    w2.show()
    assert w2.dockWidgetArea(d2) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert (w2.width(), w2.height()) == (700, 520)

    old = tmp_path / "old" / "vigil.ini"  # a file from before the schema version: names at top level
    old.parent.mkdir()
    old.write_text("[General]\nreviewer=Old Name\n", encoding="utf-8")
    migrated = Settings(old)
    assert migrated.reviewer == "Old Name" and migrated.schema_version == SCHEMA_VERSION


def test_settings_dialog_applies_language_and_theme(qtbot):
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from app.ui import i18n, theme
    from app.ui.dialogs import SettingsDialog
    from app.ui.settings import Settings

    settings = Settings()
    dlg = SettingsDialog(settings)
    qtbot.addWidget(dlg)
    names = [dlg._language.itemText(i) for i in range(dlg._language.count())]
    assert names == ["English", "简体中文"]
    dlg.choose(language="zh", theme_name="dark", reviewer="Li Na")
    dlg.accept()
    assert i18n.language() == "zh" and theme.current() == "dark"
    assert (Settings().language, Settings().theme, Settings().reviewer) == ("zh", "dark", "Li Na")
    window = QApplication.instance().palette().color(QPalette.ColorRole.Window)
    assert window.lightness() < 80  # the dark palette is really in use
    import pyqtgraph as pg

    assert pg.getConfigOption("background") == theme.colors("dark")["bg"]
    assert theme.colors()["cursor"] == theme.colors("dark")["cursor"]


def test_colors_are_complete_and_distinct():
    from app.core.analysers.columns import EXPRESSIONS
    from app.ui import theme

    for name in theme.THEMES:
        c = theme.colors(name)
        for key in ("bg", "fg", "grid", "cursor", "risk", "forgery", *EXPRESSIONS, "Evasive", "Baseline"):
            assert re.fullmatch(r"#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?", c[key]), (name, key)
        assert len({c[e].upper() for e in EXPRESSIONS}) == len(EXPRESSIONS)
        assert c["bg"] != c["fg"]
    with pytest.raises(ValueError):
        theme.colors("sepia")


def test_shortcuts_dialog_search(qtbot):
    from app.ui import i18n
    from app.ui.dialogs import ShortcutsDialog

    keys = [("Space", "Play / pause"), ("M", "Add marker"), ("Ctrl+Z", "Undo"), ("I", "Set in point"),
            ("Click / drag on a timeline", "Move the cursor and the video there")]
    dlg = ShortcutsDialog(keys)
    qtbot.addWidget(dlg)
    assert dlg._table.rowCount() == 5 and dlg._table.item(1, 1).text() == "Add marker"
    dlg._search.setText("marker")
    assert dlg.visible_rows() == [("M", "Add marker")]
    i18n.set_language("zh")
    assert dlg._table.item(1, 1).text() == ZH["Add marker"]
    assert dlg._table.item(4, 0).text() == ZH["Click / drag on a timeline"]  # mouse gestures are words too
    dlg._search.setText(ZH["Undo"])
    assert dlg.visible_rows() == [("Ctrl+Z", "Undo")]
    dlg._search.setText("")
    assert len(dlg.visible_rows()) == 5


def test_tier_dialog_adds_a_tier(qtbot, opened):
    from app.services import review
    from app.ui.dialogs import TierDialog

    ws, _case_id, ws_path = opened
    dlg = TierDialog(ws, "Alice Wang")
    qtbot.addWidget(dlg)
    dlg.set_values("", ["x"])
    dlg.accept()
    assert dlg.error_text() and dlg.tier_id is None
    dlg.set_values("Income claims", ["salary overstated", "  ", "second job unverified"])
    dlg.accept()
    assert dlg.tier_id is not None and dlg.error_text() == ""
    tier = next(t for t in review.tiers(ws) if t["id"] == dlg.tier_id)
    assert tier["name"] == "Income claims"
    assert tier["vocabulary"] == ["salary overstated", "second job unverified"]
    ws.flush()
    assert _db(ws_path).execute("select count(*) from audit where action = 'tier.add'").fetchone()[0] == 1


# -- annotation editor -------------------------------------------------------------------------------
def test_annotation_editor_edits_through_the_stack(qtbot, opened):
    from app.services import review
    from app.ui.annotation_editor import AnnotationEditor

    ws, case_id, ws_path = opened
    stack = review.AnnotationStack(ws, case_id, "Alice Wang")
    evasive = next(t for t in review.tiers(ws) if t["name"] == "Evasive")
    ann_id = stack.add(evasive["id"], 3.0, 5.5, label="vague answer")
    editor = AnnotationEditor()
    qtbot.addWidget(editor)
    editor.set_stack(stack)
    editor.show_annotation(next(a for a in review.annotations(ws, case_id) if a["id"] == ann_id))
    combo = editor._label
    assert [combo.itemData(i) for i in range(1, combo.count())] == evasive["vocabulary"]
    assert combo.currentText() == "vague answer"
    combo.setCurrentIndex(combo.findData("refuses to answer"))
    editor._note.setPlainText("Asked twice about the employer; no answer.")
    assert editor.apply()
    ws.flush()
    row = _db(ws_path).execute("select label, note, start_s, end_s from annotations where id = ?",
                               [ann_id]).fetchone()
    assert tuple(row) == ("refuses to answer", "Asked twice about the employer; no answer.", 3.0, 5.5)
    assert stack.undo()  # an undo elsewhere (Ctrl+Z) updates the editor through the stack's listeners
    qtbot.waitUntil(lambda: editor.annotation()["label"] == "vague answer", timeout=2000)
    assert combo.currentText() == "vague answer" and editor._note.toPlainText() == ""
    stack.delete(ann_id)
    qtbot.waitUntil(lambda: editor.annotation() is None, timeout=2000)


# -- screenshots ------------------------------------------------------------------------------------
def test_panel_screenshots(qtbot, opened, tmp_path):
    """Render both panels in English, Chinese and the dark theme; the PNGs are for people to look at."""
    from PySide6.QtWidgets import QApplication

    from app.ui import i18n, theme
    from app.ui.decision_panel import DecisionPanel
    from app.ui.explain_panel import ExplanationPanel
    from app.ui.settings import Settings

    ws, case_id, ws_path = opened
    out = Path(os.environ.get("VIGIL_SCREENSHOT_DIR") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    utt = _applicant_utterance(ws_path, case_id)
    settings = Settings()
    settings.reviewer = "Alice Wang"
    decision = DecisionPanel(settings)
    explain = ExplanationPanel()
    for w, size in ((decision, (460, 620)), (explain, (560, 900))):
        qtbot.addWidget(w)
        w.resize(*size)
        w.show()
    decision.set_case(ws, case_id)
    _choose(decision, "escalated")
    decision._reason.setPlainText("Income answer changed; lip-sync mismatch at 12 s.")
    assert decision.save()
    _choose(decision, "rejected")
    decision.save()  # refused: shows the red inline error in the screenshot
    explain.set_case(ws, case_id)
    with qtbot.waitSignal(explain.explained, timeout=30000):
        explain.show_interval(utt["start_s"], utt["end_s"])
    shots = []
    for lang, name in (("en", "light"), ("zh", "light"), ("en", "dark"), ("zh", "dark")):
        theme.apply_theme(QApplication.instance(), name)
        i18n.set_language(lang)
        qtbot.wait(50)  # let the palette change reach every widget before grabbing
        heading = ZH["Speech"] if lang == "zh" else "Speech"
        assert heading in explain.text() and explain.result() is not None  # re-rendered, not re-queried
        assert " ".join(utt["text"].split()[:5]) in " ".join(explain.text().split())  # words stay as spoken
        for label, w in (("explain", explain), ("decision", decision)):
            path = out / f"{label}_{lang}_{name}.png"
            assert w.grab().save(str(path))
            shots.append(path)
    assert all(p.stat().st_size > 5000 for p in shots)
    assert decision.error_text() == ZH["A verdict needs a written reason."]  # the refusal follows the language
