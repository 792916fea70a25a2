"""Forgery results of a video run: per-frame columns, windows with their cue evidence, the session."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from app.store import audit
from app.store.workspace import Workspace


def series_rows(ws: Workspace, run_id: int, face: int, t0: float, t1: float) -> list[dict[str, Any]]:
    """Frames of one face in ``[t0, t1)`` with what the cues need (times, pose, raw features, mesh)."""
    return list(ws.db.query(
        """select f.frame, f.track, f.t_sec, f.usable, f.face_h, f.raw, f.yaw, f.pitch, f.roll, m.xyz,
                  f.px_sbi, f.px_block, f.px_sharp, f.px_spec
           from frames f left join meshes m on m.run_id = f.run_id and m.frame = f.frame and m.track = f.track
           where f.run_id = ? and f.face = ? and f.present = 1 and f.t_sec >= ? and f.t_sec < ?
           order by f.frame""", [run_id, face, t0, t1]))


def last_time(ws: Workspace, run_id: int) -> float:
    """Time of the run's last frame (0 without frames)."""
    return ws.db.execute("select coalesce(max(t_sec), 0) from frames where run_id = ?", [run_id]).fetchone()[0]


def write_windows(ws: Workspace, run_id: int, face: int, rows: Sequence[dict[str, Any]]) -> None:
    """Add (or replace) forgery windows of a face."""
    data = [dict(r, run_id=run_id, face=face) for r in rows]
    if data:
        ws.submit(lambda db: db["forgery_windows"].insert_all(data, replace=True, batch_size=500))


def write_session(ws: Workspace, run_id: int, face: int, probability: float | None, integrity: float | None,
                  cues: dict[str, Any], weights: dict[str, float]) -> None:
    """The session-level forgery result of a face."""
    row = {"run_id": run_id, "face": face, "probability": probability, "integrity_score": integrity,
           "cues_json": json.dumps(cues), "weights_json": json.dumps(weights)}

    def _write(db: sqlite_utils.Database) -> None:
        db["forgery_sessions"].insert(row, replace=True)

    ws.write(_write)


def sessions(ws: Workspace, run_id: int) -> list[dict[str, Any]]:
    """Session results of a run, one per face."""
    return list(ws.db.query("select * from forgery_sessions where run_id = ? order by face", [run_id]))


def add_model(ws: Workspace, kind: str, version: str, params: dict[str, Any], sha256: str | None = None,
              note: str = "") -> int:
    """Record a forgery model of ``kind`` (``"fusion"`` or ``"blend"``) and make it the active one.

    Earlier models of the kind stay in the table (inactive), so what scored an old run is known.
    """
    from datetime import UTC, datetime

    row = {"kind": kind, "version": version, "params_json": json.dumps(params, default=str), "sha256": sha256,
           "note": note, "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "active": 1}

    def _write(db: sqlite_utils.Database) -> int:
        with db.atomic():
            db.execute("update forgery_models set active = 0 where kind = ?", [kind])
            model_id = int(db["forgery_models"].insert(row).last_pk)
            audit.append(db, audit.Entry("forgery_model.activate", None, {
                "model_id": model_id, "kind": kind, "version": version, "sha256": sha256, "note": note}))
            return model_id

    return ws.write(_write)


def active_model(ws: Workspace, kind: str) -> dict[str, Any] | None:
    """The active model of ``kind`` (its row, ``params`` parsed), or None: the shipped defaults apply."""
    row = next(iter(ws.db.query("select * from forgery_models where kind = ? and active = 1 order by id desc limit 1",
                                [kind])), None)
    if row is None:
        return None
    return dict(row, params=json.loads(row["params_json"]))
