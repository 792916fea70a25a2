"""EU profile, employee and hiring interviews: the analysis runs without its emotion parts.

The real sample interview (``resources/sample/sample_interview.mp4``: a 20 s talking-head video
with a spoken two-voice dialogue) is analysed through the CLI under the EU profile twice, as a
hiring interview and as a credit interview. Under hiring the face mesh, head pose, forgery cues,
capture integrity, transcript and voice features are there and no AU intensity, expression,
arousal or deception risk is; the reason is in both runs' parameters, in the audit trail, in the
CLI's output, in the explanation panel (English and Chinese) and in the report's case data. Under
credit everything is there.
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from pathlib import Path

import pytest

from app.cli import main
from app.core.analysers.au import AU_NAMES
from app.core.analysers.columns import CNN_NAMES, EXPRESSIONS
from app.services import compliance as cp
from app.store import audit
from app.store.workspace import Workspace

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "sample" / "sample_interview.mp4"
PURPOSES = ("hiring", "credit")


@pytest.fixture(scope="module")
def eu_cases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int], str]:
    """(workspace, {purpose: case id}, the CLI's stderr of the hiring analysis)."""
    ws_path = tmp_path_factory.mktemp("eu") / "ws.db"
    ids = {}
    with Workspace.open(ws_path) as ws:
        cp.set_setting(ws, "compliance.profile", "EU")
        for purpose in PURPOSES:
            ids[purpose] = ws.create_case(f"Applicant ({purpose})")
            cp.record_consent(ws, ids[purpose], "disclosure", "This interview is recorded and analysed.", "Applicant")
    err = {}
    for purpose in PURPOSES:
        buf = io.StringIO()
        with contextlib.redirect_stderr(buf):
            rc = main(["analyze", str(SAMPLE), "--case", f"Applicant ({purpose})", "--purpose", purpose,
                       "--stride", "3", "--language", "en", "--asr-model", "whisper-tiny.en",
                       "--workspace", str(ws_path)])
        assert rc == 0, buf.getvalue()
        err[purpose] = buf.getvalue()
    assert "Emotion analysis" not in err["credit"]
    return ws_path, ids, err["hiring"]


def _runs(ws: Workspace, case_id: int) -> dict[str, dict]:
    rows = ws.db.query("select id, kind, status, params_json from runs where case_id = ?", [case_id])
    return {r["kind"]: {**r, "params": json.loads(r["params_json"])} for r in rows}


def _frame_counts(ws: Workspace, run_id: int) -> dict[str, int]:
    cols = ["yaw", "px_sbi", "forgery", "blink", *AU_NAMES, *EXPRESSIONS, *CNN_NAMES]
    sel = ", ".join(f'count("{c}")' for c in cols)
    row = ws.db.execute(f"select count(*), sum(usable), {sel} from frames where run_id = ?", [run_id]).fetchone()
    return {"n": row[0], "usable": row[1], **dict(zip(cols, row[2:]))}


def _utterance_counts(ws: Workspace, run_id: int) -> dict[str, int]:
    row = ws.db.execute(
        "select count(*), sum(length(trim(text)) > 0), count(arousal), count(arousal_level), count(deception_risk), "
        "sum(acoustic_json like '%ac_f0_semitone_mean\": %' and acoustic_json not like '%ac_f0_semitone_mean\": null%') "
        "from utterances where run_id = ?", [run_id]).fetchone()
    return dict(zip(("n", "text", "arousal", "arousal_level", "risk", "acoustic"), row))


def test_hiring_runs_everything_but_emotion_analysis(eu_cases: tuple[Path, dict[str, int], str]) -> None:
    ws_path, ids, err = eu_cases
    reason = cp.emotion_reason("hiring")
    assert "Art. 5(1)(f)" in reason and "hiring" in reason
    assert f"sample_interview.mp4: {reason}" in err.splitlines()  # the CLI's one line
    with Workspace.open(ws_path) as ws:
        runs = _runs(ws, ids["hiring"])
        assert {k: r["status"] for k, r in runs.items()} == {"video": "completed", "voice": "completed"}
        video, voice = runs["video"], runs["voice"]
        assert video["params"]["analysers"] == ["forensics"] and video["params"]["emotion_refused"] == reason
        assert voice["params"]["emotion_refused"] == reason
        f = _frame_counts(ws, video["id"])
        assert f["usable"] > 100 and f["yaw"] == f["n"]  # face mesh and head pose on every usable frame
        assert f["px_sbi"] > 20 and f["forgery"] > 100  # pixel forensics and the fused forgery indicator
        assert f["blink"] > 100
        assert all(f[c] == 0 for c in (*AU_NAMES, *EXPRESSIONS, *CNN_NAMES)), \
            {c: f[c] for c in (*AU_NAMES, *EXPRESSIONS, *CNN_NAMES) if f[c]}
        session = ws.db.execute("select probability, cues_json from forgery_sessions where run_id = ?",
                                [video["id"]]).fetchone()
        assert session is not None and session[0] is not None
        assert sum(v is not None for v in json.loads(session[1])["cues"].values()) >= 4
        media = ws.media(ws.db.execute("select media_id from runs where id = ?", [video["id"]]).fetchone()[0])
        assert json.loads(media["integrity_json"])["score"] is not None
        u = _utterance_counts(ws, voice["id"])
        assert u["n"] >= 3 and u["text"] == u["n"] and u["acoustic"] >= 3  # transcript and voice features
        assert u["arousal"] == u["arousal_level"] == u["risk"] == 0
        log = audit.history(ws, ids["hiring"])
        restricted = [e for e in log if e["action"] == "analysis.restricted"]
        assert len(restricted) == 1 and restricted[0]["detail"]["reason"] == reason
        assert restricted[0]["detail"]["not_run"] == ["emotion"]
        assert "analysis.refused" not in [e["action"] for e in log]
        assert audit.verify(ws).ok
        assert cp.emotion_not_run(ws, ids["hiring"]) == {"reason": reason, "purpose": "hiring"}


def test_credit_runs_everything(eu_cases: tuple[Path, dict[str, int], str]) -> None:
    ws_path, ids, _ = eu_cases
    with Workspace.open(ws_path) as ws:
        runs = _runs(ws, ids["credit"])
        assert "emotion_refused" not in runs["video"]["params"] and "emotion_refused" not in runs["voice"]["params"]
        assert runs["video"]["params"]["analysers"] == ["au", "expression", "forensics"]
        f = _frame_counts(ws, runs["video"]["id"])
        assert f["AU12"] == f["usable"] > 100 and f["happiness"] == f["usable"] and f["cnn_happiness"] > 30
        assert f["forgery"] > 100
        u = _utterance_counts(ws, runs["voice"]["id"])
        assert u["text"] == u["n"] >= 3 and u["arousal"] >= 1 and u["risk"] >= 1
        actions = [e["action"] for e in audit.history(ws, ids["credit"])]
        assert "analysis.restricted" not in actions and "run.completed" in actions
        assert cp.emotion_not_run(ws, ids["credit"]) is None


def test_the_reason_is_shown_in_the_panel_and_the_report(eu_cases: tuple[Path, dict[str, int], str], qtbot) -> None:
    from app.services import report, timeline
    from app.ui import i18n, theme
    from app.ui._explain_html import render
    from app.ui.report_text import ReportText

    ws_path, ids, _ = eu_cases
    with Workspace.open(ws_path) as ws:
        res = timeline.explain(ws, ids["hiring"], 5.0)
        assert res["emotion_not_run"]["purpose"] == "hiring" and res["top_aus"] == [] and res["expression"] is None
        assert res["forgery"]["probability"] is not None  # the forgery part is still explained
        assert timeline.explain(ws, ids["credit"], 5.0)["emotion_not_run"] is None
        try:
            en = render(res, theme.colors())
            i18n.set_language("zh")
            zh = render(res, theme.colors())
        finally:
            i18n.set_language("en")
        assert "Emotion analysis was not run: the interview&#x27;s purpose is hiring" in en and "Art. 5(1)(f)" in en
        assert "未进行情绪分析" in zh and "招聘" in zh
        assert "No face data at this time." not in en
        for lang, expected in (("en", "Emotion analysis was not run"), ("zh", "未进行情绪分析")):
            rep = report.build(ws, ids["hiring"], ReportText(lang), thumbs=False)
            case_rows = next(b.rows for b in rep.blocks if b.kind == "table")
            assert any(expected in row[1] for row in case_rows), case_rows
            texts = [row[0] for b in rep.blocks if b.kind == "table" for row in b.rows]
            assert "Emotion analysis was not run on this case." in texts  # the EU compliance entry
        credit = report.build(ws, ids["credit"], ReportText("en"), thumbs=False)
        assert not any("Emotion analysis was not run" in c for b in credit.blocks if b.kind == "table"
                       for row in b.rows for c in row)


def test_recomputing_scores_later_keeps_emotion_out(eu_cases: tuple[Path, dict[str, int], str],
                                                    tmp_path: Path) -> None:
    """A reviewer's new baseline (face or voice) recomputes scores: still without emotion analysis."""
    from app.services.analyze import rescore_with_baseline
    from app.services.voice import relabel

    src, ids, _ = eu_cases
    dst = tmp_path / "copy.db"
    con, out = sqlite3.connect(src), sqlite3.connect(dst)
    con.backup(out)
    out.close(), con.close()
    with Workspace.open(dst) as ws:
        runs = _runs(ws, ids["hiring"])
        assert rescore_with_baseline(ws, runs["video"]["id"], 0, 1.0, 4.0) > 0
        relabel(ws, runs["voice"]["id"], applicant="A", baseline_idx=[0])
        f = _frame_counts(ws, runs["video"]["id"])
        assert all(f[c] == 0 for c in (*AU_NAMES, *EXPRESSIONS)) and f["blink"] > 100
        u = _utterance_counts(ws, runs["voice"]["id"])
        assert u["arousal"] == u["risk"] == 0 and u["n"] >= 3
