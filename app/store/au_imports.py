"""Other tools' AUs imported onto a case (``au_imports`` and ``au_import_frames``, schema 6).

Each case holds at most one import per source (``"OpenFace"``, ``"py-feat"``): importing the same
source again replaces it in one transaction. The rows keep the reference's own frame numbers
(0-based) and timestamps; they never touch the ``frames`` table, so Vigil's AUs stay Vigil's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sqlite_utils

from app.store import audit
from app.store.schema import IMPORTED_AU_COLUMNS
from app.store.workspace import Workspace, now


def storable_aus(names: Sequence[str]) -> list[str]:
    """The AU names that the import table has a column for, in its order."""
    return [a for a in IMPORTED_AU_COLUMNS if a in set(names)]


def _cell(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def replace_import(ws: Workspace, case_id: int, meta: Mapping[str, Any], frame: np.ndarray,
                   t: np.ndarray | None, confidence: np.ndarray, aus: Mapping[str, np.ndarray]) -> int:
    """Store one tool's AUs on a case, replacing an earlier import of the same ``meta["source"]``.

    ``meta``: source, format, path, sha256, scale, scale_max, notes (list of str). ``aus`` keys
    must be in :data:`IMPORTED_AU_COLUMNS` (others are not stored). Returns the import id.
    """
    names = storable_aus(list(aus))
    head = {"case_id": case_id, "source": meta["source"], "format": meta["format"], "path": meta.get("path"),
            "sha256": meta.get("sha256"), "scale": meta.get("scale"), "scale_max": meta.get("scale_max"),
            "rows": int(len(frame)), "aus_json": json.dumps(names),
            "notes_json": json.dumps(list(meta.get("notes") or []), ensure_ascii=False), "imported_at": now()}
    cols = [np.asarray(aus[a], np.float64) for a in names]
    tt = np.full(len(frame), np.nan) if t is None else np.asarray(t, np.float64)
    conf = np.asarray(confidence, np.float64)

    def rows(import_id: int) -> list[dict[str, Any]]:
        return [{"import_id": import_id, "frame": int(frame[i]), "t_sec": _cell(tt[i]), "confidence": _cell(conf[i]),
                 **{a: _cell(c[i]) for a, c in zip(names, cols)}} for i in range(len(frame))]

    def _write(db: sqlite_utils.Database) -> int:
        with db.atomic():
            old = [r[0] for r in db.execute("select id from au_imports where case_id = ? and source = ?",
                                            [case_id, meta["source"]]).fetchall()]
            for i in old:
                db.execute("delete from au_import_frames where import_id = ?", [i])
                db.execute("delete from au_imports where id = ?", [i])
            import_id = int(db["au_imports"].insert(head).last_pk)
            db["au_import_frames"].insert_all(rows(import_id), batch_size=500)
            audit.append(db, audit.Entry("au.import", case_id, {
                "import_id": import_id, "replaced": old, "source": meta["source"], "path": meta.get("path"),
                "sha256": meta.get("sha256"), "rows": int(len(frame)), "aus": names}))
            return import_id

    return int(ws.write(_write))


def imports(ws: Workspace, case_id: int) -> list[dict[str, Any]]:
    """A case's imports (newest first), with ``aus`` and ``notes`` decoded from their JSON."""
    out = []
    for r in ws.db.query("select * from au_imports where case_id = ? order by id desc", [case_id]):
        r = dict(r)
        r["aus"] = json.loads(r.pop("aus_json") or "[]")
        r["notes"] = json.loads(r.pop("notes_json") or "[]")
        out.append(r)
    return out


def import_series(ws: Workspace, import_id: int, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(head, aus)``: float64 (N, 3) frame, t_sec, confidence and (N, len(names)) AU values, by frame
    (NULL -> NaN)."""
    names = storable_aus(names)
    cols = ["frame", "t_sec", "confidence", *names]
    sql = "select " + ", ".join(f'"{c}"' for c in cols) + " from au_import_frames where import_id = ? order by frame"
    m = np.fromiter(ws.db.execute(sql, [import_id]), dtype=np.dtype((np.float64, (len(cols),))))
    m = m.reshape(-1, len(cols))
    return m[:, :3], m[:, 3:]
