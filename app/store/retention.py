"""Retention: remove a case's media references and per-frame biometric rows, keep its decisions,
annotations, session-level results and audit entries, and record the purge in the same transaction."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from app.store import audit
from app.store.workspace import Workspace

#: Tables of per-frame / per-utterance biometric data, keyed by run.
_PER_RUN = ("frames", "meshes", "forgery_windows", "utterances")


def purgeable(ws: Workspace, created_before: str) -> list[dict[str, Any]]:
    """Cases created before ``created_before`` (ISO time) that still hold media or per-frame data,
    with the media paths still recorded."""
    sql = """select c.id, c.name, c.created_at from cases c where c.created_at < ? and (
               exists (select 1 from media m where m.case_id = c.id and m.path != '')
               or exists (select 1 from runs r join frames f on f.run_id = r.id where r.case_id = c.id)
               or exists (select 1 from runs r join utterances u on u.run_id = r.id where r.case_id = c.id)
               or exists (select 1 from au_imports i where i.case_id = c.id))
             order by c.id"""
    out = []
    for r in ws.db.query(sql, [created_before]):
        paths = [p for (p,) in ws.db.execute("select path from media where case_id = ? and path != ''", [r["id"]])]
        out.append(dict(r, media_paths=paths))
    return out


def purge_case(ws: Workspace, case_id: int, detail: dict[str, Any], actor: str | None) -> dict[str, int]:
    """Delete one case's biometric rows and forget its media paths; audited as ``case.purge`` with the
    row counts (plus ``detail``). SQLite's ``secure_delete`` overwrites the freed pages."""
    def _write(db: sqlite_utils.Database) -> dict[str, int]:
        db.execute("PRAGMA secure_delete = ON")
        counts: dict[str, int] = {}
        with db.atomic():
            run_ids = [r for (r,) in db.execute("select id from runs where case_id = ?", [case_id])]
            marks = ",".join("?" * len(run_ids))
            for table in _PER_RUN:
                counts[table] = db.execute(f"delete from {table} where run_id in ({marks})", run_ids).rowcount \
                    if run_ids else 0
            imports = [i for (i,) in db.execute("select id from au_imports where case_id = ?", [case_id])]
            counts["au_import_frames"] = db.execute(
                f"delete from au_import_frames where import_id in ({','.join('?' * len(imports))})",
                imports).rowcount if imports else 0
            counts["media"] = db.execute("update media set path = '', probe_json = null where case_id = ? "
                                         "and path != ''", [case_id]).rowcount
            db.execute("update runs set status = 'purged' where case_id = ?", [case_id])
            audit.append(db, audit.Entry("case.purge", case_id, dict(detail, rows=counts), actor))
        return counts

    counts = ws.write(_write)
    ws.write(lambda db: db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall())
    return counts
