"""Utterances of voice runs, and the institution's calibrated risk models."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlite_utils

from app.store import audit
from app.store.workspace import Workspace, now


def write_utterances(ws: Workspace, run_id: int, rows: Sequence[dict[str, Any]]) -> None:
    """Replace the utterances of a voice run (one transaction)."""
    data = [dict(r, run_id=run_id) for r in rows]

    def _write(db: sqlite_utils.Database) -> None:
        with db.atomic():
            db.execute("delete from utterances where run_id = ?", [run_id])
            if data:
                db["utterances"].insert_all(data, batch_size=200)

    ws.write(_write)


def write_utterances_partial(ws: Workspace, run_id: int, rows: Sequence[dict[str, Any]]) -> None:
    """Add (or replace) some utterances of a run as they are finished (queued on the writer)."""
    data = [dict(r, run_id=run_id) for r in rows]
    ws.submit(lambda db: db["utterances"].insert_all(data, replace=True, batch_size=200))


def utterances(ws: Workspace, run_id: int) -> Iterator[dict[str, Any]]:
    """Utterances of a run in time order."""
    yield from ws.db.query("select * from utterances where run_id = ? order by start_s, idx", [run_id])


def update_scores(ws: Workspace, run_id: int, scores: Sequence[dict[str, Any]],
                  speakers: dict[int, str] | None = None, entry: audit.Entry | None = None) -> None:
    """Overwrite arousal, arousal level, risk, evidence and baseline flags (keyed by ``idx``); with
    ``speakers`` (``idx -> "A"/"B"``) relabel those utterances and with ``entry`` append the audit
    entry, all in one transaction."""
    sql = ("update utterances set arousal = ?, arousal_level = ?, deception_risk = ?, risk_model = ?, "
           "evidence_json = ?, is_baseline = ?, is_applicant = ? where run_id = ? and idx = ?")
    params = [[s["arousal"], s.get("arousal_level"), s["deception_risk"], s["risk_model"], s["evidence_json"], s["is_baseline"],
               s["is_applicant"], run_id, s["idx"]] for s in scores]

    def _write(db: sqlite_utils.Database) -> None:
        with db.atomic():
            if speakers:
                db.conn.executemany("update utterances set speaker = ? where run_id = ? and idx = ?",
                                    [[v, run_id, i] for i, v in speakers.items()])
            db.conn.executemany(sql, params)
            if entry is not None:
                audit.append(db, entry)

    ws.write(_write)


def save_risk_model(ws: Workspace, model: dict[str, Any], n_cases: int, cv_auc: float | None,
                    spearman: float | None) -> int:
    """Store a calibrated risk model and make it the active one; returns its id."""
    row = {"created_at": now(), "version": model["version"], "n_cases": n_cases, "cv_auc": cv_auc,
           "spearman": spearman, "active": 1, "model_json": json.dumps(model, sort_keys=True)}

    def _write(db: sqlite_utils.Database) -> int:
        with db.atomic():
            db.execute("update risk_models set active = 0")
            model_id = int(db["risk_models"].insert(row).last_pk)
            audit.append(db, audit.Entry("risk_model.calibrate", None, {
                "model_id": model_id, "version": model["version"], "n_cases": n_cases, "cv_auc": cv_auc,
                "spearman": spearman}))
            return model_id

    return int(ws.write(_write))


def active_risk_model(ws: Workspace) -> dict[str, Any] | None:
    """The active calibrated risk model, or ``None`` (the literature defaults apply)."""
    rows = list(ws.db.query("select model_json from risk_models where active = 1 order by id desc limit 1"))
    return json.loads(rows[0]["model_json"]) if rows else None


