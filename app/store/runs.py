"""Analysis runs and their per-frame rows: start, write batches, resume, finalise, read back."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from typing import Any

import sqlite_utils

from app.store import audit
from app.store.workspace import Workspace, now


def start_run(ws: Workspace, case_id: int, media_id: int, params: dict[str, Any], models: list[dict[str, str]],
              app_version: str, kind: str = "video") -> int:
    """Create a run in status ``running``; returns its id."""
    row = {"case_id": case_id, "media_id": media_id, "kind": kind, "status": "running",
           "params_json": json.dumps(params, sort_keys=True), "models_json": json.dumps(models, sort_keys=True),
           "app_version": app_version, "started_at": now(), "updated_at": now(), "frames_done": 0, "last_frame": -1}
    def _write(db: sqlite_utils.Database) -> int:
        with db.atomic():
            run_id = int(db["runs"].insert(row).last_pk)
            audit.append(db, audit.Entry("run.start", case_id, {"run_id": run_id, "kind": kind, "media_id": media_id,
                                                                "params": params, "models": models}))
            return run_id

    return int(ws.write(_write))


def latest_run(ws: Workspace, media_id: int, params: dict[str, Any], kind: str = "video") -> dict[str, Any] | None:
    """The newest run of this media with exactly these parameters, if any."""
    rows = list(ws.db.query(
        "select * from runs where media_id = ? and kind = ? and params_json = ? order by id desc limit 1",
        [media_id, kind, json.dumps(params, sort_keys=True)]))
    return rows[0] if rows else None


def case_run(ws: Workspace, case_id: int, kind: str = "video") -> dict[str, Any] | None:
    """The newest run of a case that has rows."""
    rows = list(ws.db.query(
        "select * from runs where case_id = ? and kind = ? order by (status = 'completed') desc, id desc limit 1",
        [case_id, kind]))
    return rows[0] if rows else None


def get_run(ws: Workspace, run_id: int) -> dict[str, Any]:
    """One run row."""
    return ws.db["runs"].get(run_id)


def write_batch(ws: Workspace, run_id: int, rows: Sequence[dict[str, Any]], meshes: Sequence[dict[str, Any]],
                last_frame: int, frames_done: int) -> Future[None]:
    """Commit one batch of frame rows (and meshes) with the run's progress, atomically.

    Rows replace any earlier rows with the same key, so re-analysing a few frames on resume is safe.
    """
    frames = [dict(r, run_id=run_id) for r in rows]
    mesh = [dict(m, run_id=run_id) for m in meshes]

    def _write(db: sqlite_utils.Database) -> None:
        with db.atomic():
            db["frames"].insert_all(frames, replace=True, batch_size=500)
            if mesh:
                db["meshes"].insert_all(mesh, replace=True, batch_size=500)
            db.execute(
                "update runs set last_frame = ?, frames_done = ?, updated_at = ? where id = ?",
                [last_frame, frames_done, now(), run_id])

    return ws.submit(_write)


def delete_from(ws: Workspace, run_id: int, frame: int) -> None:
    """Drop a run's rows from ``frame`` on, before they are analysed again on resume."""
    def _write(db: sqlite_utils.Database) -> None:
        with db.atomic():
            db.execute("delete from frames where run_id = ? and frame >= ?", [run_id, frame])
            db.execute("delete from meshes where run_id = ? and frame >= ?", [run_id, frame])
    ws.write(_write)


def frames_before(ws: Workspace, run_id: int, frame: int) -> int:
    """How many distinct frames of a run are stored before ``frame``."""
    return ws.db.execute("select count(distinct frame) from frames where run_id = ? and frame < ?",
                         [run_id, frame]).fetchone()[0]


def usable_frames(ws: Workspace, run_id: int) -> int:
    """How many distinct frames of a run have at least one usable face."""
    return ws.db.execute("select count(distinct frame) from frames where run_id = ? and usable = 1",
                         [run_id]).fetchone()[0]


def set_status(ws: Workspace, run_id: int, status: str, note: str | None = None) -> None:
    """Set a run's status (``running``, ``interrupted``, ``failed``, ``completed``) and note."""
    run = get_run(ws, run_id)
    fields: dict[str, Any] = {"status": status, "updated_at": now(), "note": note}
    if status == "completed":
        fields["finished_at"] = now()
    ws.flush()
    entry = audit.Entry(f"run.{status}", run["case_id"], {"run_id": run_id, "kind": run["kind"], "note": note,
                                                          "last_frame": run["last_frame"]})

    def _write(db: sqlite_utils.Database) -> None:
        with db.atomic():
            db["runs"].update(run_id, fields)
            audit.append(db, entry)

    ws.write(_write)


def track_states(ws: Workspace, run_id: int) -> dict[int, dict[str, Any]]:
    """Per-track summary (last box, last frame, frame count, area sum) to restore a tracker."""
    sql = """
        select f.track, f.frame, f.face_x, f.face_y, f.face_w, f.face_h, s.n, s.area
        from frames f join (
          select track, max(frame) as last, count(*) as n, sum(face_w * face_h) as area
          from frames where run_id = ? and track >= 0 group by track) s
        on f.track = s.track and f.frame = s.last
        where f.run_id = ?"""
    return {r["track"]: {"box": (r["face_x"], r["face_y"], r["face_w"], r["face_h"]), "last_frame": r["frame"],
                         "frames": r["n"], "area_sum": r["area"]} for r in ws.db.query(sql, [run_id, run_id])}


def set_face_order(ws: Workspace, run_id: int, order: dict[int, int]) -> None:
    """Write the final track -> face numbering (face 0 is the applicant)."""
    def _write(db: sqlite_utils.Database) -> None:
        with db.atomic():
            for track, face in order.items():
                db.execute("update frames set face = ? where run_id = ? and track = ?", [face, run_id, track])
    ws.write(_write)


def faces(ws: Workspace, run_id: int) -> list[int]:
    """Face numbers present in a run."""
    return [r["face"] for r in ws.db.query(
        "select distinct face from frames where run_id = ? and present = 1 order by face", [run_id])]


def raw_sample(ws: Workspace, run_id: int, face: int, limit: int = 5000) -> list[bytes]:
    """Raw feature blobs of up to ``limit`` usable frames of a face, evenly spread over the run."""
    n = ws.db.execute("select count(*) from frames where run_id = ? and face = ? and usable = 1",
                      [run_id, face]).fetchone()[0]
    step = max(1, -(-n // limit))
    sql = """select raw from (select raw, row_number() over (order by frame) as k from frames
             where run_id = ? and face = ? and usable = 1) where (k - 1) % ? = 0"""
    return [r[0] for r in ws.db.execute(sql, [run_id, face, step])]


def raw_between(ws: Workspace, run_id: int, face: int, t0: float, t1: float) -> list[bytes]:
    """Raw feature blobs of a face's usable frames between two times (a reviewer's baseline segment)."""
    return [r[0] for r in ws.db.execute(
        "select raw from frames where run_id = ? and face = ? and usable = 1 and t_sec between ? and ? order by frame",
        [run_id, face, t0, t1])]


def face_rows(ws: Workspace, run_id: int, face: int, columns: Sequence[str], chunk: int = 5000
              ) -> Iterator[list[dict[str, Any]]]:
    """Rows of one face in frame order, ``chunk`` at a time (memory stays flat)."""
    cols = ", ".join(f'"{c}"' for c in columns)
    last = -1
    while True:
        rows = list(ws.db.query(
            f"select {cols} from frames where run_id = ? and face = ? and present = 1 and frame > ? "
            "order by frame limit ?", [run_id, face, last, chunk]))
        if not rows:
            return
        yield rows
        last = rows[-1]["frame"]


def update_rows(ws: Workspace, run_id: int, updates: Sequence[dict[str, Any]]) -> Future[None]:
    """Overwrite score columns of existing rows (keyed by frame and track)."""
    if not updates:
        f: Future[None] = Future()
        f.set_result(None)
        return f
    cols = [c for c in updates[0] if c not in ("frame", "track")]
    sql = "update frames set " + ", ".join(f'"{c}" = ?' for c in cols) + " where run_id = ? and frame = ? and track = ?"
    params = [[u[c] for c in cols] + [run_id, u["frame"], u["track"]] for u in updates]

    def _write(db: sqlite_utils.Database) -> None:
        with db.atomic():
            db.conn.executemany(sql, params)

    return ws.submit(_write)


def export_rows(ws: Workspace, run_id: int, columns: Sequence[str], chunk: int = 5000,
                mesh: bool = False) -> Iterator[dict[str, Any]]:
    """Every frame row of a run, ordered by frame then face, streamed in chunks; ``mesh`` adds the raw
    landmarks (``xyz``: float16 blob, None without one)."""
    cols = ", ".join(f'f."{c}"' for c in columns) + (", m.xyz as xyz" if mesh else "")
    join = "left join meshes m on m.run_id = f.run_id and m.frame = f.frame and m.track = f.track" if mesh else ""
    offset_frame, offset_face = -1, -1
    while True:
        rows = list(ws.db.query(
            f"select {cols} from frames f {join} where f.run_id = ? and (f.frame > ? or (f.frame = ? and f.face > ?)) "
            "order by f.frame, f.face limit ?", [run_id, offset_frame, offset_frame, offset_face, chunk]))
        if not rows:
            return
        yield from rows
        offset_frame, offset_face = rows[-1]["frame"], rows[-1]["face"]
