"""Reviewers known to a workspace: a login (the OS user), a display name and a role.

Every change is audited in its own transaction (``user.add``, ``user.role``). The rules about who may
do what live in app/services/users.py and app/services/review.py.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from app.store import audit
from app.store.workspace import Workspace, now


def users(ws: Workspace) -> list[dict[str, Any]]:
    """Every registered user, by login."""
    return list(ws.db.query("select * from users order by login"))


def user(ws: Workspace, login: str) -> dict[str, Any] | None:
    """The user with this login (case-insensitive), or ``None``."""
    rows = list(ws.db.query("select * from users where login = ? collate nocase", [login]))
    return rows[0] if rows else None


def find(ws: Workspace, name: str) -> dict[str, Any] | None:
    """The user whose login or display name is ``name`` (case-insensitive, spaces trimmed), or ``None``."""
    name = (name or "").strip()
    rows = list(ws.db.query("select * from users where login = ? collate nocase or display_name = ? collate nocase "
                            "order by login = ? collate nocase desc", [name, name, name]))
    return rows[0] if rows else None


def count(ws: Workspace) -> int:
    """How many users are registered."""
    return ws.db.execute("select count(*) from users").fetchone()[0]


def put_user(ws: Workspace, login: str, display_name: str, role: str, actor: str | None) -> None:
    """Add a user, or change an existing one's display name and role (audited with the change)."""
    def _write(db: sqlite_utils.Database) -> None:
        with db.atomic():
            old = db.execute("select display_name, role from users where login = ? collate nocase",
                             [login]).fetchone()
            if old is None:
                db["users"].insert({"login": login, "display_name": display_name, "role": role,
                                    "created_at": now(), "created_by": actor})
                audit.append(db, audit.Entry("user.add", None, {"login": login, "display_name": display_name,
                                                                "role": role}, actor))
            else:
                db.execute("update users set display_name = ?, role = ? where login = ? collate nocase",
                           [display_name, role, login])
                audit.append(db, audit.Entry("user.change", None, {
                    "login": login, "from": {"display_name": old[0], "role": old[1]},
                    "to": {"display_name": display_name, "role": role}}, actor))

    ws.write(_write)
