"""Workspace schema and its migrations.

The schema version lives in SQLite's ``PRAGMA user_version``. Each migration is a function applied
once, in order, inside a transaction; a workspace written by a newer Vigil is refused rather than
damaged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

from app.core.analysers.au import AU_NAMES, LATERAL_AUS
from app.core.analysers.columns import CNN_NAMES, EXPRESSIONS


def _v1(db: sqlite_utils.Database) -> None:
    db["cases"].create(
        {"id": int, "name": str, "applicant_ref": str, "status": str, "created_at": str, "updated_at": str},
        pk="id", not_null={"name", "status", "created_at"}, defaults={"status": "new"},
    )
    db["media"].create(
        {"id": int, "case_id": int, "path": str, "sha256": str, "size_bytes": int, "container": str,
         "duration_s": float, "fps": float, "fps_container": float, "width": int, "height": int,
         "video_codec": str, "audio_codec": str, "has_audio": int, "frame_count": int,
         "probe_json": str, "integrity_json": str, "added_at": str},
        pk="id", foreign_keys=[("case_id", "cases", "id")], not_null={"case_id", "path", "sha256"},
    )
    db["runs"].create(
        {"id": int, "case_id": int, "media_id": int, "kind": str, "status": str, "params_json": str,
         "models_json": str, "app_version": str, "started_at": str, "updated_at": str,
         "finished_at": str, "frames_done": int, "last_frame": int, "note": str},
        pk="id", foreign_keys=[("case_id", "cases", "id"), ("media_id", "media", "id")],
        not_null={"case_id", "media_id", "kind", "status"}, defaults={"frames_done": 0, "last_frame": -1},
    )
    cols: dict[str, type] = {
        "run_id": int, "frame": int, "track": int, "t_sec": float, "face": int, "present": int,
        "usable": int, "reason": str, "face_x": float, "face_y": float, "face_w": float, "face_h": float,
        "sharpness": float, "yaw": float, "pitch": float, "roll": float,
    }
    cols.update({a: float for a in AU_NAMES})
    cols.update({f"{a}_asym": float for a in LATERAL_AUS})
    cols["blink"] = int
    cols.update({e: float for e in EXPRESSIONS})
    cols.update({c: float for c in CNN_NAMES})
    cols["raw"] = bytes
    db["frames"].create(cols, pk=("run_id", "frame", "track"), foreign_keys=[("run_id", "runs", "id")])
    db["frames"].create_index(["run_id", "face", "frame"])
    db["meshes"].create({"run_id": int, "frame": int, "track": int, "xyz": bytes}, pk=("run_id", "frame", "track"))
    db["audit"].create(
        {"id": int, "at": str, "actor": str, "action": str, "case_id": int, "detail_json": str}, pk="id",
    )
    db["cases"].create_index(["name"])
    db["media"].create_index(["sha256"])


def _v2(db: sqlite_utils.Database) -> None:
    """Voice: utterances with transcript, features, scores and evidence; calibrated risk models."""
    db["utterances"].create(
        {"run_id": int, "idx": int, "start_s": float, "end_s": float, "speaker": str, "channel": int,
         "is_applicant": int, "is_baseline": int, "lang": str, "text": str, "words_json": str,
         "latency_s": float, "arousal": float, "deception_risk": float, "risk_model": str,
         "evidence_json": str, "acoustic_json": str, "text_json": str},
        pk=("run_id", "idx"), foreign_keys=[("run_id", "runs", "id")],
    )
    db["utterances"].create_index(["run_id", "start_s"])
    db["risk_models"].create(
        {"id": int, "created_at": str, "version": str, "n_cases": int, "cv_auc": float, "spearman": float,
         "active": int, "model_json": str}, pk="id",
    )


def _v3(db: sqlite_utils.Database) -> None:
    """Forgery: fused probability and cue scores per frame, windows with evidence, session result."""
    for col in ("forgery", "fg_temporal", "fg_blink", "fg_headpose", "fg_avsync"):
        db["frames"].add_column(col, float)
    db["forgery_windows"].create(
        {"run_id": int, "face": int, "start_s": float, "end_s": float, "probability": float, "cues_json": str},
        pk=("run_id", "face", "start_s"), foreign_keys=[("run_id", "runs", "id")],
    )
    db["forgery_sessions"].create(
        {"run_id": int, "face": int, "probability": float, "integrity_score": float, "cues_json": str,
         "weights_json": str}, pk=("run_id", "face"), foreign_keys=[("run_id", "runs", "id")],
    )


def _v4(db: sqlite_utils.Database) -> None:
    """Forgery: blending-boundary and frequency/boundary cues (window scores and per-frame measures)."""
    for col in ("fg_sbi", "fg_freq", "px_sbi", "px_block", "px_sharp", "px_spec"):
        db["frames"].add_column(col, float)


# The default annotation tiers: a risk officer's controlled vocabulary for each (Note is free text).
# Colours are from the Okabe-Ito palette, which stays distinguishable for colour-blind reviewers.
DEFAULT_TIERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Evasive", "#e69f00", ("deflects question", "vague answer", "long pause before answer", "changes subject",
                            "answers a different question", "refuses to answer")),
    ("Inconsistent", "#cc79a7", ("contradicts earlier answer", "contradicts documents", "story changes",
                                 "numbers do not add up", "timeline does not fit")),
    ("Suspected deepfake", "#d55e00", ("face flicker", "blending edge", "lip-sync mismatch", "unnatural blink",
                                       "skin texture too smooth", "head pose glitch", "lighting mismatch",
                                       "virtual camera")),
    ("Baseline", "#009e73", ("neutral baseline",)),
    ("Note", "#0072b2", ()),
)


def _v5(db: sqlite_utils.Database) -> None:
    """Review: annotation tiers with a controlled vocabulary, annotations, status decisions and sign-offs."""
    db["tiers"].create(
        {"id": int, "name": str, "vocabulary_json": str, "color": str, "builtin": int, "kind": str, "sort": int,
         "created_at": str},
        pk="id", not_null={"name", "kind"}, defaults={"builtin": 0, "kind": "interval", "sort": 0},
    )
    # Tier names are unique whatever their case: "baseline" must not shadow "Baseline".
    db.execute("create unique index idx_tiers_name on tiers (name collate nocase)")
    # Annotations are soft-deleted so that undoing a delete restores the same row and id.
    db["annotations"].create(
        {"id": int, "case_id": int, "tier_id": int, "start_s": float, "end_s": float, "label": str, "note": str,
         "author": str, "created_at": str, "updated_at": str, "deleted": int},
        pk="id", foreign_keys=[("case_id", "cases", "id"), ("tier_id", "tiers", "id")],
        not_null={"case_id", "tier_id", "start_s", "end_s", "deleted"},
        defaults={"label": "", "note": "", "deleted": 0},
    )
    db["annotations"].create_index(["case_id"])
    db["annotations"].create_index(["case_id", "tier_id"])
    db["decisions"].create(
        {"id": int, "case_id": int, "status": str, "reason": str, "reviewer": str, "at": str, "kind": str,
         "supervisor": str, "note": str},
        pk="id", foreign_keys=[("case_id", "cases", "id")], not_null={"case_id", "status", "at", "kind"},
        defaults={"kind": "status"},
    )
    db["decisions"].create_index(["case_id", "id"])
    # The review window reads one case's audit trail on the UI thread.
    db["audit"].create_index(["case_id", "id"])
    at = datetime.now(UTC).isoformat(timespec="seconds")
    db["tiers"].insert_all([
        {"name": name, "vocabulary_json": json.dumps(list(vocab)), "color": color, "builtin": 1,
         "kind": "interval", "sort": k, "created_at": at}
        for k, (name, color, vocab) in enumerate(DEFAULT_TIERS)
    ])


#: AU columns of imported AU tracks: Vigil's 25 as of schema 6 and OpenFace's AU45 (blink). Fixed here,
#: not taken from the analysers, so the table stays what this migration made whatever they add later.
IMPORTED_AU_COLUMNS: tuple[str, ...] = (
    "AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU11", "AU12", "AU13", "AU14", "AU15",
    "AU16", "AU17", "AU18", "AU20", "AU22", "AU23", "AU24", "AU25", "AU26", "AU27", "AU28", "AU43", "AU45",
)


def _v6(db: sqlite_utils.Database) -> None:
    """Other tools' AUs (OpenFace, py-feat) imported onto a case: their own tables, never Vigil's columns."""
    db["au_imports"].create(
        {"id": int, "case_id": int, "source": str, "format": str, "path": str, "sha256": str, "scale": str,
         "scale_max": float, "rows": int, "aus_json": str, "notes_json": str, "imported_at": str},
        pk="id", foreign_keys=[("case_id", "cases", "id")], not_null={"case_id", "source", "format"},
    )
    db["au_imports"].create_index(["case_id", "source"], unique=True)
    cols: dict[str, type] = {"import_id": int, "frame": int, "t_sec": float, "confidence": float}
    cols.update({a: float for a in IMPORTED_AU_COLUMNS})
    db["au_import_frames"].create(cols, pk=("import_id", "frame"), foreign_keys=[("import_id", "au_imports", "id")])


def _v7(db: sqlite_utils.Database) -> None:
    """Voice: absolute arousal level (0-1, against population norms) next to the baseline-relative arousal."""
    db["utterances"].add_column("arousal_level", float)


def _v8(db: sqlite_utils.Database) -> None:
    """Forgery models in use: fitted fusion weights and activated blending CNNs, one active per kind.

    Before this, ``active.json`` files in the user folder chose them, so two machines analysing the
    same workspace could score it differently; those files are no longer read.
    """
    db["forgery_models"].create(
        {"id": int, "kind": str, "version": str, "params_json": str, "sha256": str, "note": str,
         "created_at": str, "active": int},
        pk="id", not_null={"kind", "version", "params_json", "created_at", "active"}, defaults={"active": 0},
    )
    db["forgery_models"].create_index(["kind", "active"])


def _v_trust(db: sqlite_utils.Database) -> None:
    """Trust: a hash-chained audit trail, reviewers with roles, workspace settings (compliance profile),
    each case's interview purpose and its disclosure/consent records.

    Audit rows written before this migration are chained here in id order (see app/store/audit.py);
    ``audit_head`` keeps the last link so that deleting the newest entries is detected too.
    """
    from app.store import audit

    db["audit"].add_column("os_user", str)
    db["audit"].add_column("payload_sha256", str)
    db["audit"].add_column("prev_hash", str)
    db["audit"].add_column("hash", str)
    db["audit_head"].create({"id": int, "last_id": int, "hash": str}, pk="id")
    audit.rechain(db)
    db["users"].create(
        {"login": str, "display_name": str, "role": str, "created_at": str, "created_by": str},
        pk="login", not_null={"login", "display_name", "role", "created_at"},
    )
    db["settings"].create({"key": str, "value": str, "updated_at": str}, pk="key")
    db["cases"].add_column("purpose", str)
    db["case_consents"].create(
        {"id": int, "case_id": int, "kind": str, "text": str, "given_by": str, "recorded_by": str, "at": str},
        pk="id", foreign_keys=[("case_id", "cases", "id")], not_null={"case_id", "kind", "at"},
    )
    db["case_consents"].create_index(["case_id"])


def _v_recording(db: sqlite_utils.Database) -> None:
    """Live recordings: the disclosure shown, the operator's confirmation and the capture record, per media."""
    db["recordings"].create(
        {"media_id": int, "case_id": int, "disclosure_text": str, "disclosure_lang": str, "consent_confirmed": int,
         "confirmed_by": str, "confirmed_at": str, "capture_json": str, "video_source": str, "audio_source": str,
         "stopped_by": str, "message": str, "recorded_at": str},
        pk="media_id", foreign_keys=[("media_id", "media", "id"), ("case_id", "cases", "id")],
        not_null={"media_id", "case_id", "disclosure_text", "consent_confirmed"},
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8,
                                                            _v_trust, _v_recording]
SCHEMA_VERSION = len(MIGRATIONS)
