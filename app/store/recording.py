"""Live recordings: the disclosure shown to the applicant, the operator's confirmation, the capture record.

One row per recorded media file (``recordings``, keyed by media id). The capture record is what the
capture-integrity check reads for the device, its backend and the virtual-camera match.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from app.store.workspace import Workspace, now


def save_recording(ws: Workspace, media_id: int, case_id: int, disclosure: str, lang: str, confirmed: bool,
                   confirmed_by: str, capture: dict[str, Any], video_source: str, audio_source: str,
                   stopped_by: str, message: str | None) -> None:
    """Keep the disclosure, its confirmation and the capture record with the media (audited)."""
    at = now()
    row = {"media_id": media_id, "case_id": case_id, "disclosure_text": disclosure, "disclosure_lang": lang,
           "consent_confirmed": int(confirmed), "confirmed_by": confirmed_by, "confirmed_at": at if confirmed else None,
           "capture_json": json.dumps(capture, ensure_ascii=False, default=str), "video_source": video_source,
           "audio_source": audio_source, "stopped_by": stopped_by, "message": message, "recorded_at": at}

    def _write(db: sqlite_utils.Database) -> None:
        db["recordings"].insert(row, replace=True)

    ws.write(_write)
    ws.audit("recording.consent", case_id, {"media_id": media_id, "confirmed": bool(confirmed), "by": confirmed_by,
                                            "disclosure_lang": lang})
    ws.audit("recording.capture", case_id, {"media_id": media_id, "device": capture.get("device_name"),
                                            "backend": capture.get("backend"),
                                            "virtual_camera": capture.get("virtual_camera"),
                                            "dropped_frames": capture.get("dropped_frames")})


def recording(ws: Workspace, media_id: int) -> dict[str, Any] | None:
    """The recording row of a media file (``capture`` decoded), ``None`` for a loaded file."""
    rows = list(ws.db.query("select * from recordings where media_id = ?", [media_id]))
    if not rows:
        return None
    row = dict(rows[0])
    row["capture"] = json.loads(row.pop("capture_json") or "{}")
    return row


def case_recordings(ws: Workspace, case_id: int) -> list[dict[str, Any]]:
    """Every recording of a case, oldest first (``capture`` decoded)."""
    out = []
    for r in ws.db.query("select * from recordings where case_id = ? order by media_id", [case_id]):
        r = dict(r)
        r["capture"] = json.loads(r.pop("capture_json") or "{}")
        out.append(r)
    return out


def capture_record(ws: Workspace, media_id: int) -> dict[str, Any] | None:
    """Just the capture record of a recorded media file (what the integrity check reads)."""
    rows = list(ws.db.query("select capture_json from recordings where media_id = ?", [media_id]))
    return json.loads(rows[0]["capture_json"]) if rows and rows[0]["capture_json"] else None
