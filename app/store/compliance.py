"""Workspace settings (the compliance profile), each case's interview purpose and its disclosure or
consent records. Every change is audited in its own transaction."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from app.store import audit
from app.store.workspace import Workspace, now


def setting(ws: Workspace, key: str, default: str | None = None) -> str | None:
    """A workspace setting's value, or ``default``."""
    row = ws.db.execute("select value from settings where key = ?", [key]).fetchone()
    return row[0] if row else default


def settings(ws: Workspace) -> dict[str, str]:
    """Every workspace setting."""
    return {k: v for k, v in ws.db.execute("select key, value from settings order by key")}


def put_setting(ws: Workspace, key: str, value: str | None, actor: str | None) -> None:
    """Set (``None``: remove) a setting, audited as ``settings.change`` with the old and new value."""
    def _write(db: sqlite_utils.Database) -> None:
        with db.atomic():
            old = db.execute("select value from settings where key = ?", [key]).fetchone()
            if value is None:
                db.execute("delete from settings where key = ?", [key])
            else:
                db.execute("insert or replace into settings (key, value, updated_at) values (?, ?, ?)",
                           [key, value, now()])
            audit.append(db, audit.Entry("settings.change", None, {"key": key, "from": old[0] if old else None,
                                                                   "to": value}, actor))

    ws.write(_write)


def set_purpose(ws: Workspace, case_id: int, purpose: str, actor: str | None) -> None:
    """Record the interview's purpose on a case (audited)."""
    def _write(db: sqlite_utils.Database) -> None:
        with db.atomic():
            old = db.execute("select purpose from cases where id = ?", [case_id]).fetchone()
            db.execute("update cases set purpose = ?, updated_at = ? where id = ?", [purpose, now(), case_id])
            audit.append(db, audit.Entry("case.purpose", case_id, {"from": old[0] if old else None, "to": purpose},
                                         actor))

    ws.write(_write)


def add_consent(ws: Workspace, case_id: int, kind: str, text: str, given_by: str, actor: str | None) -> int:
    """Record a disclosure or consent (``kind``) for a case; returns its id (audited)."""
    row = {"case_id": case_id, "kind": kind, "text": text, "given_by": given_by, "recorded_by": actor, "at": now()}

    def _write(db: sqlite_utils.Database) -> int:
        with db.atomic():
            pk = int(db["case_consents"].insert(row).last_pk)
            audit.append(db, audit.Entry("consent.record", case_id, {"consent_id": pk, "kind": kind, "text": text,
                                                                     "given_by": given_by}, actor))
            return pk

    return int(ws.write(_write))


def case_consent(ws: Workspace, case_id: int, kinds: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """A case's disclosure/consent records (only of ``kinds`` if given), oldest first."""
    rows = list(ws.db.query("select * from case_consents where case_id = ? order by id", [case_id]))
    return [r for r in rows if kinds is None or r["kind"] in kinds]
