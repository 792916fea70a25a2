"""Read-only queries behind the review timelines, returning numpy arrays and plain rows.

Every query names its columns and reads through the workspace's read connection (``ws.db``), so it
runs on whatever thread asks while the writer commits. Per-frame series come back as one numeric
matrix per query, filled straight from the cursor (``np.fromiter``), with NULL as NaN: an hour at
30 fps is 108 000 rows, and building a dict per row would cost more than the query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from app.store.workspace import Workspace

_NO_FACE_TRACK = -1  # the pipeline's row for a frame in which no face was found


def _cols(columns: Sequence[str], prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{c}"' for c in columns)


def _face_filter(face: int) -> str:
    # Frames without any face are stored once, as track -1 with face 0; the applicant's (face 0)
    # rows already include them, another face's timeline adds them so its time axis is complete.
    return "face = ?" if face == 0 else f"(face = ? or track = {_NO_FACE_TRACK})"


def frame_matrix(ws: Workspace, run_id: int, face: int, columns: Sequence[str], after_frame: int = -1,
                 before_frame: int | None = None) -> np.ndarray:
    """Numeric columns of one face's rows in frame order, as a float64 matrix (NULL -> NaN).

    Parameters
    ----------
    ws : the workspace.
    run_id : a video run.
    face : face number (0 is the applicant); frames without a face are included.
    columns : frame columns to read (numeric ones; ``frame`` first is the caller's habit).
    after_frame, before_frame : only rows with ``after_frame < frame`` (and ``frame <= before_frame``).

    Returns
    -------
    numpy.ndarray
        Shape ``(rows, len(columns))``.
    """
    sql = (f"select {_cols(columns)} from frames where run_id = ? and {_face_filter(face)} and frame > ?"
           + (" and frame <= ?" if before_frame is not None else "") + " order by frame")
    params: list[Any] = [run_id, face, after_frame] + ([before_frame] if before_frame is not None else [])
    dtype = np.dtype((np.float64, (len(columns),)))
    out = np.fromiter(ws.db.execute(sql, params), dtype=dtype)
    return out.reshape(-1, len(columns))


def frame_count(ws: Workspace, run_id: int, after_frame: int = -1) -> int:
    """Distinct frames of a run after ``after_frame`` (all faces; a covering index answers it)."""
    return int(ws.db.execute("select count(distinct frame) from frames where run_id = ? and frame > ?",
                             [run_id, after_frame]).fetchone()[0])


def frames_without(ws: Workspace, run_id: int, face: int, after_frame: int = -1) -> np.ndarray:
    """``(frame, t_sec)`` of the frames that hold rows of other faces only (the face was not seen).

    Needed only when :func:`frame_count` says the face's own rows miss some frames.
    """
    cond = "face = ?" if face == 0 else f"face = ? or track = {_NO_FACE_TRACK}"
    rows = ws.db.execute(
        f"select frame, min(t_sec) from frames where run_id = ? and frame > ? group by frame "
        f"having max({cond}) = 0 order by frame", [run_id, after_frame, face]).fetchall()
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


def frame_row(ws: Workspace, run_id: int, frame: int, face: int, columns: Sequence[str]) -> dict[str, Any] | None:
    """One face's row at one frame with its mesh blob (``xyz``, None without one), or None."""
    rows = list(ws.db.query(
        f"select {_cols(columns, 'f.')}, m.xyz as xyz from frames f left join meshes m "
        "on m.run_id = f.run_id and m.frame = f.frame and m.track = f.track "
        f"where f.run_id = ? and f.frame = ? and (f.face = ? or f.track = {_NO_FACE_TRACK}) "
        "order by f.present desc limit 1", [run_id, frame, face]))
    return rows[0] if rows else None


def frame_time(ws: Workspace, run_id: int, frame: int) -> float | None:
    """Time of a frame that has rows of any face, or None when it was not analysed."""
    row = ws.db.execute("select t_sec from frames where run_id = ? and frame = ? limit 1", [run_id, frame]).fetchone()
    return None if row is None else float(row[0])


def reason_counts(ws: Workspace, run_id: int, face: int, first_frame: int, last_frame: int) -> dict[str, int]:
    """Why frames of one face between two frame numbers (inclusive) are unusable: reason -> count."""
    rows = ws.db.execute(
        f"select coalesce(reason, ''), count(*) from frames where run_id = ? and {_face_filter(face)} "
        "and frame between ? and ? and usable = 0 group by 1", [run_id, face, first_frame, last_frame]).fetchall()
    return {r: int(n) for r, n in rows}


UTTERANCE_COLUMNS: tuple[str, ...] = ("idx", "start_s", "end_s", "speaker", "is_applicant", "is_baseline", "text",
                                      "lang", "arousal", "arousal_level", "deception_risk")
EVIDENCE_COLUMNS: tuple[str, ...] = UTTERANCE_COLUMNS + ("latency_s", "words_json", "evidence_json",
                                                         "acoustic_json", "text_json")


def utterance_rows(ws: Workspace, run_id: int, after_start: float | None = None) -> list[dict[str, Any]]:
    """A voice run's utterances in time order (timeline fields only), optionally after a time."""
    cond = "" if after_start is None else " and start_s > ?"
    params: list[Any] = [run_id] + ([] if after_start is None else [after_start])
    return list(ws.db.query(f"select {_cols(UTTERANCE_COLUMNS)} from utterances where run_id = ?{cond} "
                            "order by start_s, idx", params))


def utterances_overlapping(ws: Workspace, run_id: int, t0: float, t1: float) -> list[dict[str, Any]]:
    """Utterances that overlap ``[t0, t1]`` (a point when equal), with their stored evidence."""
    return list(ws.db.query(
        f"select {_cols(EVIDENCE_COLUMNS)} from utterances where run_id = ? and start_s <= ? and end_s >= ? "
        "order by start_s, idx", [run_id, t1, t0]))


def baseline_features(ws: Workspace, run_id: int) -> list[dict[str, Any]]:
    """Feature JSON of a voice run's baseline utterances (``is_baseline = 1``)."""
    return list(ws.db.query(
        "select idx, speaker, latency_s, acoustic_json, text_json from utterances "
        "where run_id = ? and is_baseline = 1 order by start_s", [run_id]))


def forgery_windows(ws: Workspace, run_id: int, face: int, t0: float | None = None, t1: float | None = None,
                    with_cues: bool = True) -> list[dict[str, Any]]:
    """Forgery windows of a face in time order: all, those holding time ``t0`` (``t0 == t1``), or
    those overlapping the interval ``(t0, t1)`` (windows that only touch it are left out)."""
    cols = "start_s, end_s, probability" + (", cues_json" if with_cues else "")
    if t0 is None or t1 is None:
        return list(ws.db.query(f"select {cols} from forgery_windows where run_id = ? and face = ? order by start_s",
                                [run_id, face]))
    cond = "start_s <= ? and end_s >= ?" if t0 == t1 else "start_s < ? and end_s > ?"
    return list(ws.db.query(
        f"select {cols} from forgery_windows where run_id = ? and face = ? and {cond} order by start_s",
        [run_id, face, t1, t0]))


def forgery_session(ws: Workspace, run_id: int, face: int) -> dict[str, Any] | None:
    """The session forgery result of a face (probability, cue and weight JSON), or None."""
    rows = list(ws.db.query("select probability, integrity_score, cues_json, weights_json from forgery_sessions "
                            "where run_id = ? and face = ?", [run_id, face]))
    return rows[0] if rows else None


def case_runs(ws: Workspace, case_id: int) -> dict[str, dict[str, Any]]:
    """The newest run of each kind (``video``, ``voice``) of a case, completed ones first."""
    rows = ws.db.query(
        "select id, kind, media_id, status, frames_done, last_frame from runs where case_id = ? "
        "order by kind, (status = 'completed') desc, id desc", [case_id])
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        out.setdefault(r["kind"], r)
    return out


def case_media(ws: Workspace, case_id: int, media_id: int | None = None) -> dict[str, Any] | None:
    """A case's media row (the given one, else the newest), without its large JSON fields."""
    cols = "id, path, duration_s, fps, width, height, has_audio, frame_count"
    if media_id is not None:
        rows = list(ws.db.query(f"select {cols} from media where id = ?", [media_id]))
    else:
        rows = list(ws.db.query(f"select {cols} from media where case_id = ? order by id desc limit 1", [case_id]))
    return rows[0] if rows else None


# -- explanations ----------------------------------------------------------------------------------
def data_version(ws: Workspace) -> int:
    """SQLite's data version of the read connection: it changes whenever another connection (the
    writer) commits, so a cache keyed by it is never stale."""
    return int(ws.db.execute("PRAGMA data_version").fetchone()[0])


def frame_bounds(ws: Workspace, run_id: int, face: int) -> tuple[int, int] | None:
    """First and last frame number of a face's rows (frames without a face included), or None."""
    row = ws.db.execute(f"select min(frame), max(frame) from frames where run_id = ? and {_face_filter(face)}",
                        [run_id, face]).fetchone()
    return None if row is None or row[0] is None else (int(row[0]), int(row[1]))


def row_at_or_after(ws: Workspace, run_id: int, face: int, frame: int) -> tuple[int, float] | None:
    """``(frame, t_sec)`` of a face's first row at or after a frame number (an index seek)."""
    row = ws.db.execute(f"select frame, t_sec from frames where run_id = ? and {_face_filter(face)} and frame >= ? "
                        "order by frame limit 1", [run_id, face, frame]).fetchone()
    return None if row is None else (int(row[0]), float(row[1]))


def row_before(ws: Workspace, run_id: int, face: int, frame: int) -> tuple[int, float] | None:
    """``(frame, t_sec)`` of a face's last row before a frame number."""
    row = ws.db.execute(f"select frame, t_sec from frames where run_id = ? and {_face_filter(face)} and frame < ? "
                        "order by frame desc limit 1", [run_id, face, frame]).fetchone()
    return None if row is None else (int(row[0]), float(row[1]))


def column_means(ws: Workspace, run_id: int, face: int, columns: Sequence[str], first_frame: int | None = None,
                 last_frame: int | None = None) -> dict[str, Any]:
    """Row count, usable count and the mean of each column over usable rows (NULLs skipped),
    over a frame range (inclusive) or the whole run."""
    rng = "" if first_frame is None else " and frame between ? and ?"
    params: list[Any] = [run_id, face] + ([] if first_frame is None else [first_frame, last_frame])
    avgs = ", ".join(f'avg(case when usable = 1 then "{c}" end)' for c in columns)
    row = ws.db.execute(f"select count(*), coalesce(sum(usable), 0), {avgs} from frames "
                        f"where run_id = ? and {_face_filter(face)}{rng}", params).fetchone()
    return {"n": int(row[0]), "usable": int(row[1]), "means": dict(zip(columns, row[2:]))}


def top_frames(ws: Workspace, run_id: int, face: int, column: str, first_frame: int, last_frame: int,
               limit: int = 3) -> list[tuple[int, float]]:
    """``(frame, value)`` of the rows with the highest ``column`` in a frame range (NULLs skipped)."""
    return [(int(f), float(v)) for f, v in ws.db.execute(
        f'select frame, "{column}" from frames where run_id = ? and {_face_filter(face)} and frame between ? and ? '
        f'and "{column}" is not null order by "{column}" desc, frame limit ?',
        [run_id, face, first_frame, last_frame, limit])]
