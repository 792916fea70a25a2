"""Review data: annotation tiers, annotations, status decisions and sign-offs, case search.

Every read here runs on the review window's UI thread, so each one is a single indexed query
(``annotations(case_id)``, ``decisions(case_id, id)``, ``audit(case_id, id)``); writes go through
the workspace's writer thread and return once committed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from app.store import audit
from app.store.workspace import Workspace, now

ANNOTATION_FIELDS = ("tier_id", "start_s", "end_s", "label", "note")


# -- tiers ---------------------------------------------------------------------------------------
def _tier(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "vocabulary": json.loads(row["vocabulary_json"] or "[]"),
            "color": row["color"], "builtin": bool(row["builtin"]), "kind": row["kind"], "sort": row["sort"]}


def tiers(ws: Workspace) -> list[dict[str, Any]]:
    """Every tier in display order: built-in ones first, then the reviewers' own in creation order."""
    return [_tier(r) for r in ws.db.query("select * from tiers order by sort, id")]


def tier(ws: Workspace, tier_id: int) -> dict[str, Any] | None:
    """One tier, or ``None``."""
    rows = list(ws.db.query("select * from tiers where id = ?", [tier_id]))
    return _tier(rows[0]) if rows else None


def tier_by_name(ws: Workspace, name: str) -> dict[str, Any] | None:
    """The tier with this name (case-insensitive), or ``None``."""
    rows = list(ws.db.query("select * from tiers where name = ? collate nocase", [name]))
    return _tier(rows[0]) if rows else None


def insert_tier(ws: Workspace, name: str, vocabulary: Sequence[str], color: str, kind: str = "interval",
                actor: str | None = None) -> int:
    """Add a reviewer-defined tier after the existing ones (audited with it); returns its id."""
    def _write(db: sqlite_utils.Database) -> int:
        with db.atomic():
            sort = db.execute("select coalesce(max(sort), -1) + 1 from tiers").fetchone()[0]
            row = {"name": name, "vocabulary_json": json.dumps(list(vocabulary), ensure_ascii=False), "color": color,
                   "builtin": 0, "kind": kind, "sort": sort, "created_at": now()}
            tier_id = int(db["tiers"].insert(row).last_pk)
            audit.append(db, audit.Entry("tier.add", None, {"tier_id": tier_id, "name": name,
                                                            "vocabulary": list(vocabulary), "color": color}, actor))
            return tier_id

    return ws.write(_write)


# -- annotations ---------------------------------------------------------------------------------
_ANN_SELECT = """select a.id, a.case_id, a.tier_id, t.name as tier, a.start_s, a.end_s, a.label, a.note, a.author,
                 a.created_at, a.updated_at from annotations a join tiers t on t.id = a.tier_id"""


def annotations(ws: Workspace, case_id: int, tier_id: int | None = None) -> list[dict[str, Any]]:
    """A case's live (not deleted) annotations in time order, optionally of one tier."""
    if tier_id is None:
        return list(ws.db.query(f"{_ANN_SELECT} where a.case_id = ? and a.deleted = 0 order by a.start_s, a.id",
                                [case_id]))
    return list(ws.db.query(
        f"{_ANN_SELECT} where a.case_id = ? and a.tier_id = ? and a.deleted = 0 order by a.start_s, a.id",
        [case_id, tier_id]))


def annotation(ws: Workspace, ann_id: int, include_deleted: bool = False) -> dict[str, Any] | None:
    """One annotation (with its tier name), or ``None``; deleted ones only when asked."""
    rows = list(ws.db.query(f"{_ANN_SELECT} where a.id = ?" + ("" if include_deleted else " and a.deleted = 0"),
                            [ann_id]))
    return rows[0] if rows else None


def _annotation_entry(db: sqlite_utils.Database, op: str, ann_id: int, detail: dict[str, Any] | None,
                      actor: str | None) -> audit.Entry:
    case_id = db.execute("select case_id from annotations where id = ?", [ann_id]).fetchone()[0]
    return audit.Entry(f"annotation.{op}", case_id, dict(detail or {}, id=ann_id), actor)


def insert_annotation(ws: Workspace, case_id: int, tier_id: int, start_s: float, end_s: float, label: str,
                      note: str, author: str, detail: dict[str, Any] | None = None) -> int:
    """Store a new annotation with its ``annotation.add`` audit entry (``detail`` + its id); returns its id."""
    at = now()
    row = {"case_id": case_id, "tier_id": tier_id, "start_s": start_s, "end_s": end_s, "label": label,
           "note": note, "author": author, "created_at": at, "updated_at": at, "deleted": 0}

    def _write(db: sqlite_utils.Database) -> int:
        with db.atomic():
            ann_id = int(db["annotations"].insert(row).last_pk)
            audit.append(db, _annotation_entry(db, "add", ann_id, detail, author))
            return ann_id

    return int(ws.write(_write))


def update_annotation(ws: Workspace, ann_id: int, fields: dict[str, Any], detail: dict[str, Any] | None = None,
                      actor: str | None = None) -> None:
    """Overwrite some of ``tier_id``, ``start_s``, ``end_s``, ``label``, ``note``, audited with ``detail``."""
    bad = set(fields) - set(ANNOTATION_FIELDS)
    if bad:
        raise ValueError(f"not annotation fields: {sorted(bad)}")
    values = dict(fields, updated_at=now())

    def _write(db: sqlite_utils.Database) -> None:
        with db.atomic():
            db["annotations"].update(ann_id, values)
            audit.append(db, _annotation_entry(db, "update", ann_id, detail, actor))

    ws.write(_write)


def set_annotation_deleted(ws: Workspace, ann_id: int, deleted: bool, detail: dict[str, Any] | None = None,
                           actor: str | None = None) -> None:
    """Soft-delete (or restore) an annotation, keeping its id for undo; audited as a delete (or add)."""
    values = {"deleted": int(deleted), "updated_at": now()}

    def _write(db: sqlite_utils.Database) -> None:
        with db.atomic():
            db["annotations"].update(ann_id, values)
            audit.append(db, _annotation_entry(db, "delete" if deleted else "add", ann_id, detail, actor))

    ws.write(_write)


def spans(ws: Workspace, case_id: int, tier_id: int) -> list[tuple[float, float]]:
    """``(start_s, end_s)`` of a case's live annotations on one tier, in time order."""
    return [(r[0], r[1]) for r in ws.db.execute(
        "select start_s, end_s from annotations where case_id = ? and tier_id = ? and deleted = 0 "
        "order by start_s, id", [case_id, tier_id])]


# -- decisions -----------------------------------------------------------------------------------
def decisions(ws: Workspace, case_id: int) -> list[dict[str, Any]]:
    """Status changes and sign-offs of a case, oldest first."""
    return list(ws.db.query("select * from decisions where case_id = ? order by id", [case_id]))


def insert_decision(ws: Workspace, case_id: int, row: dict[str, Any], case_status: str | None = None,
                    entry: audit.Entry | None = None) -> int:
    """Record a decision; a status change also sets the case's status, in the same transaction, and so
    is ``entry``'s audit record (its detail gains ``decision_id``)."""
    row = dict(row, case_id=case_id)

    def _write(db: sqlite_utils.Database) -> int:
        with db.atomic():
            pk = int(db["decisions"].insert(row).last_pk)
            if case_status is not None:
                db.execute("update cases set status = ?, updated_at = ? where id = ?",
                           [case_status, row["at"], case_id])
            if entry is not None:
                audit.append(db, audit.Entry(entry.action, case_id, {"decision_id": pk, **entry.detail}, entry.actor))
            return pk

    return ws.write(_write)


# -- audit ---------------------------------------------------------------------------------------
def audit_log(ws: Workspace, case_id: int | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Audit records, newest first, with ``detail`` decoded (one case's, or the whole workspace's)."""
    if case_id is None:
        rows = ws.db.query("select * from audit order by id desc limit ?", [limit])
    else:
        rows = ws.db.query("select * from audit where case_id = ? order by id desc limit ?", [case_id, limit])
    out = []
    for r in rows:
        detail = r.pop("detail_json")
        out.append(dict(r, detail=json.loads(detail) if detail else {}))
    return out


def barrier(ws: Workspace) -> None:
    """Wait until every write queued so far (e.g. an audit record) has committed.

    Unlike :meth:`Workspace.flush` this leaves other callers' pending writes, and their errors, alone.
    """
    ws.write(lambda db: None)


# -- cases ---------------------------------------------------------------------------------------
def case(ws: Workspace, case_id: int) -> dict[str, Any] | None:
    """One case row, or ``None``."""
    rows = list(ws.db.query("select * from cases where id = ?", [case_id]))
    return rows[0] if rows else None


def search_cases(ws: Workspace, text: str = "", status: str | None = None) -> list[dict[str, Any]]:
    """Cases whose name or applicant reference contains ``text`` (case-insensitive), optionally of one
    status (rows as :meth:`Workspace.case_rows`)."""
    where, params = [], []
    needle = text.strip().lower()
    if needle:
        where.append("(instr(lower(c.name), ?) > 0 or instr(lower(coalesce(c.applicant_ref, '')), ?) > 0)")
        params += [needle, needle]
    if status:
        where.append("c.status = ?")
        params.append(status)
    return ws.case_rows(" and ".join(where), params)


def set_applicant_ref(ws: Workspace, case_id: int, ref: str | None, actor: str | None = None,
                      before: str | None = None) -> None:
    """Set (or clear, with ``None``) a case's applicant reference (audited with it)."""
    values = {"applicant_ref": ref, "updated_at": now()}

    def _write(db: sqlite_utils.Database) -> None:
        with db.atomic():
            db["cases"].update(case_id, values)
            audit.append(db, audit.Entry("case.applicant_ref", case_id, {"from": before, "to": ref}, actor))

    ws.write(_write)


# -- baseline inputs -----------------------------------------------------------------------------
def applicant_utterances_in(ws: Workspace, run_id: int, spans: Sequence[tuple[float, float]]) -> list[int]:
    """``idx`` of the applicant's utterances of a voice run that overlap any of the spans."""
    if not spans:
        return []
    rows = ws.db.execute("select idx, start_s, end_s from utterances where run_id = ? and is_applicant = 1 "
                         "order by start_s, idx", [run_id]).fetchall()
    return [idx for idx, s, e in rows if any(min(e, t1) - max(s, t0) > 0 for t0, t1 in spans)]
