"""The audit trail: an append-only, hash-chained record of who did what to which case.

Each entry holds the actor (the name the change was made under), the OS user of the process, the
time, the kind of change (``action``), the case, the payload as canonical JSON, the payload's
sha256, the previous entry's hash and its own hash::

    hash = sha256(prev_hash + canonical({id, at, actor, os_user, action, case_id, payload_sha256, prev_hash}))

The first entry's ``prev_hash`` is 64 zeros. ``audit_head`` keeps the newest entry's id and hash,
so deleting the newest entries breaks the chain as visibly as editing or inserting one.

:func:`append` writes an entry inside the caller's transaction, so a change and its audit entry
commit together or not at all. It reads the newest hash and inserts after it; the writer opens
its transactions with ``BEGIN IMMEDIATE`` (see app/store/workspace.py), so two processes sharing a
workspace append in turn and never fork the chain.

Hand-written hashing rather than a library: it is a dozen lines of ``hashlib`` and the format must
stay exactly this for old workspaces to verify.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlite_utils

if TYPE_CHECKING:
    from app.store.workspace import Workspace

GENESIS = "0" * 64
_CHAINED = ("id", "at", "actor", "os_user", "action", "case_id", "payload_sha256", "prev_hash")


def canonical(obj: Any) -> str:
    """Canonical JSON: sorted keys, fixed separators, UTF-8 text kept as is (non-JSON values as ``str``)."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)


def os_user() -> str:
    """The login name of the user running Vigil (``getpass.getuser``), or "unknown"."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (e.g. a container without one): still audit
        return "unknown"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def link_hash(row: dict[str, Any]) -> str:
    """The chain hash of one entry (``row`` holds at least the chained fields)."""
    return _sha(row["prev_hash"] + canonical({k: row[k] for k in _CHAINED}))


@dataclass(frozen=True)
class Entry:
    """One audit entry to append: what happened (``action``), to which case, with which details, by whom."""

    action: str
    case_id: int | None
    detail: dict[str, Any] = field(default_factory=dict)
    actor: str | None = None


def append(db: sqlite_utils.Database, entry: Entry) -> int:
    """Append ``entry`` to the chain on ``db`` (the writer's connection); returns its id.

    Inside a transaction it joins it; outside one it opens and commits its own.
    """
    with db.atomic():
        last = db.execute("select id, hash from audit order by id desc limit 1").fetchone()
        prev = last[1] if last and last[1] else GENESIS
        payload = canonical(entry.detail)
        row = {"id": (last[0] + 1) if last else 1, "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
               "actor": (entry.actor or "").strip() or os_user(), "os_user": os_user(), "action": entry.action,
               "case_id": entry.case_id, "detail_json": payload, "payload_sha256": _sha(payload), "prev_hash": prev}
        row["hash"] = link_hash(row)
        db["audit"].insert(row)
        db.execute("insert or replace into audit_head (id, last_id, hash) values (1, ?, ?)", [row["id"], row["hash"]])
        return int(row["id"])


def rechain(db: sqlite_utils.Database) -> int:
    """Chain the entries written before the chain existed (migration only); returns how many."""
    prev, n, last_id = GENESIS, 0, 0
    user = os_user()
    for r in list(db.query("select * from audit order by id")):
        r = dict(r, os_user=r.get("os_user") or user, detail_json=r["detail_json"] or "{}")
        r.update(payload_sha256=_sha(r["detail_json"]), prev_hash=prev)
        r["hash"] = link_hash(r)
        db.execute("update audit set os_user = ?, detail_json = ?, payload_sha256 = ?, prev_hash = ?, hash = ? "
                   "where id = ?", [r["os_user"], r["detail_json"], r["payload_sha256"], prev, r["hash"], r["id"]])
        prev, n, last_id = r["hash"], n + 1, r["id"]
    if n:
        db.execute("insert or replace into audit_head (id, last_id, hash) values (1, ?, ?)", [last_id, prev])
    return n


@dataclass
class Verdict:
    """The result of :func:`verify`: ``ok``, how many entries were checked, and the first broken link."""

    ok: bool
    entries: int
    broken_id: int | None = None
    problem: str = ""


def verify_rows(rows: Any, head: tuple[int, str] | None) -> Verdict:
    """Check a chain given its rows in id order (tuples of the chained fields, ``detail_json``, ``hash``)."""
    prev, expect_id, n = GENESIS, 1, 0
    for (rid, at, actor, user, action, case_id, psha, prev_hash, detail, h) in rows:
        n += 1
        if rid != expect_id:
            what = "inserted" if rid < expect_id else f"missing (entries {expect_id}..{rid - 1} deleted)"
            return Verdict(False, n, expect_id if rid > expect_id else rid, f"entry {expect_id} is {what}")
        if prev_hash != prev:
            return Verdict(False, n, rid, f"entry {rid} does not follow entry {rid - 1} (previous hash differs: "
                                          "an entry before it was changed, removed or inserted)")
        if _sha(detail or "") != psha:
            return Verdict(False, n, rid, f"entry {rid} ({action}): its payload was changed")
        row = dict(zip(_CHAINED, (rid, at, actor, user, action, case_id, psha, prev_hash)))
        if link_hash(row) != h:
            return Verdict(False, n, rid, f"entry {rid} ({action}): its actor, time, kind or case was changed")
        prev, expect_id = h, rid + 1
    if head is None:
        if n:
            return Verdict(False, n, n, "the chain's head record is missing")
        return Verdict(True, 0)
    if head[0] != n or head[1] != prev:
        if head[0] > n:
            return Verdict(False, n, n + 1, f"entries {n + 1}..{head[0]} were deleted (the chain ended at {head[0]})")
        return Verdict(False, n, head[0] + 1 if head[0] < n else n,
                       f"the chain's head (entry {head[0]}) does not match its last entry {n}")
    return Verdict(True, n)


def verify(ws: Workspace) -> Verdict:
    """Re-compute every link of the workspace's chain, oldest first; stop at the first broken one."""
    cur = ws.db.execute("select id, at, actor, os_user, action, case_id, payload_sha256, prev_hash, detail_json, "
                        "hash from audit order by id")
    head = ws.db.execute("select last_id, hash from audit_head where id = 1").fetchone()
    return verify_rows(cur, tuple(head) if head else None)


def history(ws: Workspace, case_id: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Entries of one case (or all), oldest first, with ``detail`` decoded."""
    sql = "select * from audit" + (" where case_id = ?" if case_id is not None else "") + " order by id"
    params: list[Any] = [case_id] if case_id is not None else []
    if limit is not None:
        sql = f"select * from ({sql.replace(' order by id', ' order by id desc')} limit ?) order by id"
        params.append(limit)
    out = []
    for r in ws.db.query(sql, params):
        detail = r.pop("detail_json")
        out.append(dict(r, detail=json.loads(detail) if detail else {}))
    return out


def append_many(ws: Workspace, entries: list[Entry]) -> None:
    """Append several entries in one transaction (a generated workspace for the bench)."""
    def _write(db: sqlite_utils.Database) -> None:
        with db.atomic():
            for e in entries:
                append(db, e)

    ws.write(_write)


def record(ws: Workspace, entry: Entry) -> int:
    """Append an entry on its own (for a change that is not a workspace write, e.g. a file export)."""
    return int(ws.write(lambda db: append(db, entry)))
