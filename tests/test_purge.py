"""Retention and privacy: ``vigil purge --older-than DAYS`` removes media and per-frame biometric data
and keeps decisions, annotations and the audit trail; the workspace is private to its user."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.cli import main
from app.services import review as rv
from app.store import audit
from app.store.workspace import Workspace

_PER_FRAME = ("frames", "meshes", "forgery_windows", "utterances")


def _count(con: sqlite3.Connection, table: str, case_id: int) -> int:
    return con.execute(f"select count(*) from {table} t join runs r on r.id = t.run_id where r.case_id = ?",
                       [case_id]).fetchone()[0]


def test_purge_removes_biometrics_keeps_decisions_and_audit(review_case: tuple[Path, int, Path], tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    path, case_id, video = review_case
    media = tmp_path / "recording.mp4"
    shutil.copy(video, media)
    con = sqlite3.connect(path, isolation_level=None)
    # Set-up: the analysed case is 400 days old and its recording is a file of its own.
    old = (datetime.now(UTC) - timedelta(days=400)).isoformat(timespec="seconds")
    con.execute("update cases set created_at = ? where id = ?", [old, case_id])
    con.execute("update media set path = ? where case_id = ?", [str(media), case_id])
    con.close()
    with Workspace.open(path) as ws:
        stack = rv.AnnotationStack(ws, case_id, "li.wei")
        stack.add(rv.tiers(ws)[0]["id"], 3.0, 4.0, "vague answer")
        rv.set_status(ws, case_id, "escalated", "li.wei", "Evasive about income.")
        recent = ws.create_case("Recent case")
        ws.add_media(recent, {"path": str(video), "sha256": "0" * 64})
    con = sqlite3.connect(path)
    before = {t: _count(con, t, case_id) for t in _PER_FRAME}
    blob = con.execute("select m.xyz from meshes m join runs r on r.id = m.run_id where r.case_id = ? "
                       "and m.xyz is not null limit 1 offset 10", [case_id]).fetchone()[0]
    n_audit = con.execute("select count(*) from audit").fetchone()[0]
    con.close()
    assert before["frames"] > 50 and before["meshes"] > 50 and before["utterances"] > 0 and len(blob) > 1000

    assert main(["purge", "--older-than", "365", "--dry-run", "--workspace", str(path)]) == 0
    assert "would purge 1 case" in capsys.readouterr().out and media.exists()
    assert main(["purge", "--older-than", "365", "--workspace", str(path)]) == 0
    assert "purged 1 case" in capsys.readouterr().out

    assert not media.exists() and video.exists()  # the recent case's file is untouched
    con = sqlite3.connect(path)
    assert {t: _count(con, t, case_id) for t in _PER_FRAME} == dict.fromkeys(_PER_FRAME, 0)
    assert con.execute("select path from media where case_id = ?", [case_id]).fetchone()[0] == ""
    assert con.execute("select path from media where case_id = ?", [recent]).fetchone()[0] == str(video)
    assert con.execute("select count(*) from decisions where case_id = ?", [case_id]).fetchone()[0] == 1
    assert con.execute("select count(*) from annotations where case_id = ?", [case_id]).fetchone()[0] == 1
    assert con.execute("select status from cases where id = ?", [case_id]).fetchone()[0] == "escalated"
    assert con.execute("select count(*) from audit").fetchone()[0] == n_audit + 1
    con.close()
    with Workspace.open(path) as ws:
        entry = audit.history(ws, case_id)[-1]
        assert audit.verify(ws).ok
    assert entry["action"] == "case.purge" and entry["detail"]["rows"]["frames"] == before["frames"]
    assert entry["detail"]["files_deleted"] == [str(media)]
    # secure_delete and the checkpoint leave no copy of a landmark blob in the files.
    raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert blob not in raw
    # Nothing left to purge: a second run changes nothing.
    assert main(["purge", "--older-than", "365", "--workspace", str(path)]) == 0
    assert "purged 0 case" in capsys.readouterr().out


def test_purge_needs_a_supervisor_once_users_exist(tmp_path: Path) -> None:
    from app.services import users
    from app.services.purge import purge

    with Workspace.open(tmp_path / "ws.db") as ws:
        users.add_user(ws, users.os_user(), "Admin", "admin")
        users.add_user(ws, "li.wei", "Li Wei", "reviewer")
        with pytest.raises(users.RoleError, match="is a reviewer"):
            purge(ws, 30, by="li.wei")
        with pytest.raises(rv.VigilError, match="between 0 and 36500"):
            purge(ws, -1)


def test_workspace_folder_and_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "new" / "deeper" / "ws.db"
        with Workspace.open(path) as ws:
            ws.create_case("x")
            files = sorted(path.parent.glob("ws.db*"))
            assert {p.name for p in files} >= {"ws.db", "ws.db-wal", "ws.db-shm"}
            for p in files:
                assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        # An existing workspace that others could read is made private when opened.
        loose = tmp_path / "loose.db"
        Workspace.open(loose).close()
        os.chmod(loose, 0o644)
        Workspace.open(loose).close()
        assert stat.S_IMODE(loose.stat().st_mode) == 0o600
    finally:
        os.umask(old)
