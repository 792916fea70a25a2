"""Reviewers and roles: a "rejected (fraud)" verdict awaits a supervisor's sign-off, only a registered
supervisor or admin signs off, nobody signs off their own case, and the CLI obeys the same rules
as the services (the review window calls the same functions: tests/test_gui_panels.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.services import review as rv
from app.services import users
from app.store import audit
from app.store.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def ws(tmp_path: Path):
    w = Workspace.open(tmp_path / "ws.db")
    users.add_user(w, users.os_user(), "The Admin", "admin")
    users.add_user(w, "li.wei", "Li Wei", "reviewer")
    users.add_user(w, "zhang.min", "Zhang Min", "supervisor")
    yield w
    w.close()


def test_first_user_must_be_an_admin_registering_themselves(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "fresh.db") as w:
        with pytest.raises(users.RoleError, match="first one must be an admin"):
            users.add_user(w, "someone", "Someone", "admin")
        with pytest.raises(users.RoleError, match="first one must be an admin"):
            users.add_user(w, users.os_user(), "Me", "reviewer")
        assert users.users(w) == []
        users.add_user(w, users.os_user(), "Me", "admin")
        assert users.current(w)["role"] == "admin"


def test_only_an_admin_registers_users_and_the_last_admin_stays(ws: Workspace) -> None:
    with pytest.raises(users.RoleError, match="is a reviewer"):
        users.add_user(ws, "mallory", "Mallory", "admin", by="li.wei")
    with pytest.raises(users.RoleError, match="not a role"):
        users.add_user(ws, "x", "X", "boss")
    with pytest.raises(users.RoleError, match="only admin"):
        users.add_user(ws, users.os_user(), "The Admin", "reviewer")
    users.add_user(ws, "li.wei", "Li Wei", "supervisor")
    assert users.resolve(ws, "LI WEI")["role"] == "supervisor"
    changes = [e for e in audit.history(ws) if e["action"] == "user.change"]
    assert changes[-1]["detail"]["from"]["role"] == "reviewer" and changes[-1]["detail"]["to"]["role"] == "supervisor"


def test_fraud_verdict_awaits_a_supervisors_sign_off(ws: Workspace) -> None:
    case_id = ws.create_case("Applicant 7")
    st = rv.set_status(ws, case_id, "rejected", "Li Wei", "Face swap at 12 s; voice does not match the ID call.")
    assert st["verdict"] == "rejected" and st["awaiting_signoff"]
    # A reviewer cannot sign off, nor can someone unregistered.
    users.add_user(ws, "wang.fang", "Wang Fang", "reviewer")
    with pytest.raises(rv.VigilError, match="Wang Fang is a reviewer"):
        rv.sign_off(ws, case_id, "wang.fang")
    with pytest.raises(rv.VigilError, match="not a registered user"):
        rv.sign_off(ws, case_id, "Somebody Else")
    # Nobody signs off their own case, even when promoted, or under their login instead of their name.
    users.add_user(ws, "li.wei", "Li Wei", "supervisor")
    with pytest.raises(rv.ReviewError, match="someone other than the reviewer"):
        rv.sign_off(ws, case_id, "li.wei")
    assert rv.case_status(ws, case_id)["awaiting_signoff"]
    st = rv.sign_off(ws, case_id, "ZHANG.MIN", "Agree; file the SAR.")
    assert st["signed_off_by"] == "Zhang Min" and not st["awaiting_signoff"]
    entry = audit.history(ws, case_id)[-1]
    assert entry["action"] == "case.signoff" and entry["detail"]["login"] == "zhang.min"
    assert entry["detail"]["role"] == "supervisor" and audit.verify(ws).ok
    # Other verdicts do not await a sign-off.
    other = ws.create_case("Applicant 8")
    assert not rv.set_status(ws, other, "cleared", "Li Wei", "Documents match.")["awaiting_signoff"]


def _cli(args: list[str], ws_path: Path, user: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), USER=user, LOGNAME=user, LNAME=user, USERNAME=user)
    return subprocess.run([sys.executable, "-m", "app", *args, "--workspace", str(ws_path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_sign_off_obeys_the_same_rules(ws: Workspace) -> None:
    """``vigil signoff`` signs as the OS user running it: the reviewer is refused, a supervisor signs."""
    case_id = ws.create_case("Applicant 9")
    rv.set_status(ws, case_id, "rejected", "li.wei", "Replayed video: no blinks for 90 s.")
    ws.flush()
    path = ws.path
    users.add_user(ws, "wang.fang", "Wang Fang", "reviewer")
    ws.flush()
    r = _cli(["signoff", str(case_id)], path, "li.wei")
    assert r.returncode == 2 and "someone other than the reviewer" in r.stderr and "Traceback" not in r.stderr
    r = _cli(["signoff", str(case_id)], path, "wang.fang")
    assert r.returncode == 2 and "Wang Fang is a reviewer" in r.stderr
    r = _cli(["signoff", str(case_id), "--note", "seen the replay"], path, "zhang.min")
    assert r.returncode == 0, r.stderr
    assert "signed off by Zhang Min" in r.stdout
    st = rv.case_status(ws, case_id)
    assert st["signed_off_by"] == "Zhang Min" and not st["awaiting_signoff"]
    entry = audit.history(ws, case_id)[-1]
    assert entry["os_user"] == "zhang.min" and entry["actor"] == "Zhang Min"
    r = _cli(["users", "add", "eve", "--role", "admin"], path, "li.wei")
    assert r.returncode == 2 and "is a reviewer" in r.stderr
