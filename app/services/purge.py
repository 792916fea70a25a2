"""Retention: ``vigil purge --older-than DAYS`` removes what identifies a face or a voice.

For each case created more than DAYS ago it deletes the media files Vigil recorded the case from
and every per-frame and per-utterance row (landmarks, AUs, expressions, raw features, transcripts,
voice features), and keeps the case, its decisions, annotations, session-level forgery results and
every audit entry. Each purge is an audit entry of its own, written with the deletion.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.core.errors import VigilError
from app.services import users
from app.store import retention
from app.store.workspace import Workspace


def purge(ws: Workspace, older_than_days: float, dry_run: bool = False, delete_files: bool = True,
          by: str | None = None) -> list[dict[str, Any]]:
    """Purge every case created more than ``older_than_days`` days ago; returns what was (or would be)
    purged: ``[{"id", "name", "created_at", "media_paths", "files_deleted", "rows"}]``.

    Once users are registered only a supervisor or admin may purge.
    """
    try:
        days = float(older_than_days)
    except (TypeError, ValueError):
        raise VigilError(f"--older-than must be a number of days, not '{older_than_days}'") from None
    if not days >= 0 or days > 36500:
        raise VigilError(f"--older-than must be between 0 and 36500 days, not {older_than_days}")
    by = by or users.os_user()
    if not dry_run and users.users(ws):
        users.require_role(ws, by, ("supervisor", "admin"), "purging cases")
    cutoff = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
    cases = retention.purgeable(ws, cutoff)
    if dry_run:
        return cases
    for c in cases:
        deleted, kept = [], []
        if delete_files:
            for p in c["media_paths"]:
                try:
                    Path(p).unlink()
                    deleted.append(p)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    kept.append(f"{p}: {exc.strerror or exc}")
        c["files_deleted"] = deleted
        c["rows"] = retention.purge_case(ws, c["id"], {"older_than_days": days, "cutoff": cutoff,
                                                       "files_deleted": deleted, "files_not_deleted": kept}, by)
        c["files_not_deleted"] = kept
    return cases
