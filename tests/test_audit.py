"""The hash-chained audit trail: every kind of change leaves an entry written with it, ``vigil audit
verify`` holds on an intact chain and names the first broken link after an edited, inserted or
deleted row, ``vigil audit show`` and the review window list a case's history."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from app.cli import main
from app.services import export
from app.services import review as rv
from app.store import audit
from app.store.schema import MIGRATIONS, SCHEMA_VERSION
from app.store.workspace import Workspace


def _verify(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(["audit", "verify", "--workspace", str(path)])
    return rc, capsys.readouterr().out


def _con(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    con.row_factory = sqlite3.Row
    return con


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A workspace with two cases, annotations, decisions and a settings change (no media)."""
    from app.services import compliance, users

    path = tmp_path / "ws.db"
    with Workspace.open(path) as ws:
        users.add_user(ws, users.os_user(), "Admin", "admin")
        for name in ("Case A", "Case B"):
            case_id = ws.create_case(name)
            stack = rv.AnnotationStack(ws, case_id, "li.wei")
            tier = rv.tiers(ws)[0]["id"]
            a = stack.add(tier, 1.0, 2.5, "vague answer")
            stack.update(a, note="asked twice")
            stack.undo()
            stack.delete(a)
            rv.set_status(ws, case_id, "escalated", "li.wei", "Income story changes.")
        compliance.set_setting(ws, "compliance.profile", "US")
    return path


def test_intact_chain_verifies_and_every_change_kind_is_in_it(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out = _verify(small, capsys)
    assert rc == 0 and "intact" in out
    con = _con(small)
    actions = [r["action"] for r in con.execute("select action from audit order by id")]
    for kind in ("user.add", "case.create", "annotation.add", "annotation.update", "annotation.delete",
                 "case.status", "settings.change"):
        assert kind in actions, kind
    rows = con.execute("select * from audit order by id").fetchall()
    assert rows[0]["prev_hash"] == audit.GENESIS
    for prev, row in zip(rows, rows[1:]):
        assert row["prev_hash"] == prev["hash"] and row["id"] == prev["id"] + 1
    # The entry of an annotation edit says how it was made, and names the OS user.
    upd = next(r for r in rows if r["action"] == "annotation.update")
    detail = json.loads(upd["detail_json"])
    assert detail["via"] == "do" and detail["before"] == {"note": ""} and detail["note"] == "asked twice"
    assert upd["actor"] == "li.wei" and upd["os_user"] == audit.os_user()
    undo = [json.loads(r["detail_json"])["via"] for r in rows if r["action"] == "annotation.update" and r["case_id"] == 1]
    assert undo == ["do", "undo"]


@pytest.mark.parametrize("tamper, broken", [
    ("update audit set detail_json = replace(detail_json, 'Income', 'Outcome') where action = 'case.status'", "payload"),
    ("update audit set actor = 'someone.else' where action = 'case.status'", "actor"),
    ("update audit set at = '2020-01-01T00:00:00.000+00:00' where id = 3", "time"),
    ("delete from audit where id = 5", "deleted"),
    ("delete from audit where id = (select max(id) from audit)", "deleted"),
    ("insert into audit (id, at, actor, os_user, action, case_id, detail_json, payload_sha256, prev_hash, hash) "
     "select max(id) + 1, at, actor, os_user, action, case_id, detail_json, payload_sha256, hash, hash from audit",
     "head"),
])
def test_tampering_is_detected_at_the_first_broken_link(small: Path, capsys: pytest.CaptureFixture[str],
                                                        tamper: str, broken: str) -> None:
    con = _con(small)
    first = {
        "payload": con.execute("select min(id) from audit where action = 'case.status'").fetchone()[0],
        "actor": con.execute("select min(id) from audit where action = 'case.status'").fetchone()[0],
        "time": 3, "deleted": 5 if "id = 5" in tamper else con.execute("select max(id) from audit").fetchone()[0],
        "head": con.execute("select max(id) from audit").fetchone()[0] + 1,
    }[broken]
    con.execute(tamper)
    con.close()
    rc, out = _verify(small, capsys)
    assert rc == 1, out
    assert f"BROKEN at entry {first}:" in out


def test_rehashing_the_tampered_entry_alone_still_breaks_the_next_link(small: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """An editor who recomputes the edited entry's own hashes breaks the link to the one after it."""
    con = _con(small)
    row = dict(con.execute("select * from audit where action = 'case.status' order by id limit 1").fetchone())
    row["detail_json"] = row["detail_json"].replace("escalated", "cleared")
    row["payload_sha256"] = audit._sha(row["detail_json"])
    row["hash"] = audit.link_hash(row)
    con.execute("update audit set detail_json = ?, payload_sha256 = ?, hash = ? where id = ?",
                [row["detail_json"], row["payload_sha256"], row["hash"], row["id"]])
    con.close()
    rc, out = _verify(small, capsys)
    assert rc == 1 and f"BROKEN at entry {row['id'] + 1}:" in out


def test_audit_show_lists_one_cases_history(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "show", "Case B", "--workspace", str(small), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    con = _con(small)
    case_b = con.execute("select id from cases where name = 'Case B'").fetchone()[0]
    assert rows and {r["case_id"] for r in rows} == {case_b}
    assert [r["action"] for r in rows][:2] == ["case.create", "annotation.add"]
    assert rows[-1]["action"] == "case.status" and [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    assert main(["audit", "show", "Case B", "--workspace", str(small)]) == 0
    assert "annotation.delete" in capsys.readouterr().out


def test_a_failed_change_writes_no_entry(small: Path) -> None:
    with Workspace.open(small) as ws:
        before = len(audit.history(ws))
        with pytest.raises(rv.ReviewError):
            rv.set_status(ws, 1, "rejected", "li.wei", "")  # no reason: refused before anything is written
        assert len(audit.history(ws)) == before


def test_old_workspace_is_chained_by_the_migration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A workspace of the schema before the chain keeps its audit rows, chained in id order."""
    import sqlite_utils

    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    from app.store.schema import _v_trust

    before = MIGRATIONS.index(_v_trust)  # the schema just before the chain (later migrations follow it)
    for v in range(before):
        MIGRATIONS[v](db)
    db.execute(f"PRAGMA user_version = {before}")
    db["cases"].insert({"name": "old", "status": "new", "created_at": "2024-01-01T00:00:00+00:00"})
    db["audit"].insert_all([{"at": "2024-01-01T00:00:00+00:00", "actor": "system", "action": "case.create",
                             "case_id": 1, "detail_json": '{"name": "old"}'},
                            {"at": "2024-01-02T00:00:00+00:00", "actor": "li.wei", "action": "case.status",
                             "case_id": 1, "detail_json": '{"to": "cleared"}'}])
    db.conn.commit()
    db.close()
    with Workspace.open(path) as ws:
        rv.set_status(ws, 1, "in_review", "li.wei")
        log = audit.history(ws, 1)
    assert [r["action"] for r in log] == ["case.create", "case.status", "case.status"]
    assert log[0]["detail"] == {"name": "old"}
    rc, out = _verify(path, capsys)
    assert rc == 0 and "3 entries" in out


def test_exports_and_imports_are_audited(review_case: tuple[Path, int, Path], tmp_path: Path) -> None:
    """Analysis (from the fixture), an AU import and a CSV export each leave their entry."""
    from app.core.au_io import write_pyfeat_csv  # noqa: F401 - the pyfeat export path below uses it
    from app.services.au_interop import import_au, pyfeat_csv

    path, case_id, _ = review_case
    with Workspace.open(path) as ws:
        n = export.frames_csv(ws, case_id, tmp_path / "frames.csv")
        pyfeat_csv(ws, case_id, tmp_path / "fex.csv")
        import_au(ws, case_id, tmp_path / "fex.csv")
        log = audit.history(ws, case_id)
        assert audit.verify(ws).ok
    kinds = [r["action"] for r in log]
    assert "run.start" in kinds and "run.completed" in kinds and "media.add" in kinds
    assert kinds[-3:] == ["export", "export", "au.import"]
    ex = log[-3]["detail"]
    assert ex["kind"] == "frames_csv" and ex["rows"] == n and ex["landmarks"] is False
    import hashlib

    assert ex["sha256"] == hashlib.sha256((tmp_path / "frames.csv").read_bytes()).hexdigest()


def test_export_leaves_out_raw_landmarks_unless_asked(review_case: tuple[Path, int, Path], tmp_path: Path) -> None:
    import csv

    path, case_id, _ = review_case
    with Workspace.open(path) as ws:
        export.frames_csv(ws, case_id, tmp_path / "plain.csv")
        export.frames_csv(ws, case_id, tmp_path / "lm.csv", landmarks=True)
    plain = next(csv.reader((tmp_path / "plain.csv").open()))
    with (tmp_path / "lm.csv").open() as fh:
        rows = list(csv.reader(fh))
    assert not any(h.startswith("lm") for h in plain)
    assert rows[0][: len(plain)] == plain and len(rows[0]) == len(plain) + 478 * 3
    usable = [r for r in rows[1:] if r[plain.index("usable")] == "1"]
    assert usable, "the fixture has usable frames"
    xs = [float(v) for v in usable[0][len(plain)::3]]
    assert 0.0 < min(xs) < max(xs) < 1.0  # image-normalised x of a face inside the frame


def test_review_window_shows_the_case_history(qtbot, small: Path) -> None:
    from app.ui.audit_view import AuditDialog

    with Workspace.open(small) as ws:
        dlg = AuditDialog(ws, 2)
        qtbot.addWidget(dlg)
        rows = dlg.rows()
        assert rows and rows[0][3] == "case.create" and any(r[3] == "case.status" for r in rows)
        assert "intact" in dlg.chain.text()
        ws.db.execute("update audit set actor = 'x' where id = 2")
        dlg.refresh()
        assert "broken at entry 2" in dlg.chain.text()
