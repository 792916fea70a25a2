"""The case-file workspace: one SQLite database (WAL mode) per user.

All writes go through one writer thread (Anki's single-thread DB executor), which owns its own
connection; reads use the caller's connection, which WAL lets run while the writer commits. Every
error that comes from the file itself (missing folder, no permission, not a database, written by a
newer Vigil) is raised as :class:`~app.core.errors.WorkspaceError` with the path in its message.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from app.core.errors import CaseNotFound, WorkspaceError
from app.store.schema import MIGRATIONS, SCHEMA_VERSION

R = TypeVar("R")
MAX_PENDING_WRITES = 4


def now() -> str:
    """UTC timestamp in ISO 8601, second precision."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class SlowWatch:
    """Statements (and waits for writes) of one thread that ran longer than a limit.

    SQLite reports each statement as it starts (trace callback) and calls a progress handler every
    few thousand virtual-machine steps while it runs, so a statement still running past the limit
    is caught however its rows are fetched. ``slow`` holds ``(milliseconds, sql)``, ``worst_ms`` the
    longest.
    """

    def __init__(self, limit_s: float, conn: sqlite3.Connection, local: threading.local) -> None:
        self.limit_s, self._conn, self._local = limit_s, conn, local
        self.slow: list[tuple[float, str]] = []
        self.worst_ms = 0.0
        self._sql, self._t0, self._ran = "", 0.0, 0.0
        conn.set_trace_callback(self._start)
        conn.set_progress_handler(self._tick, 2000)

    def _start(self, sql: str) -> None:
        self._done()
        self._sql, self._t0, self._ran = sql, time.perf_counter(), 0.0

    def _tick(self) -> int:
        self._ran = time.perf_counter() - self._t0
        return 0

    def _done(self) -> None:
        if self._sql:
            self.waited(self._sql, self._ran)
        self._sql = ""

    def waited(self, what: str, seconds: float) -> None:
        """Count one statement or wait of ``seconds``."""
        ms = round(1000.0 * seconds, 1)
        self.worst_ms = max(self.worst_ms, ms)
        if seconds > self.limit_s:
            self.slow.append((ms, " ".join(what.split())[:200]))

    def stop(self) -> None:
        """Stop watching (the last statement is counted)."""
        self._done()
        self._conn.set_trace_callback(None)
        self._conn.set_progress_handler(None, 0)
        if getattr(self._local, "watch", None) is self:
            del self._local.watch


class _Database(sqlite_utils.Database):
    """sqlite-utils with ``atomic()`` opening ``BEGIN IMMEDIATE``: the write lock is taken at the start,
    so a transaction that reads before it writes (the audit chain's newest hash) never meets a newer
    commit of another process half-way ("database is locked" on upgrade) and waits its turn instead."""

    @contextlib.contextmanager
    def atomic(self) -> Iterator[sqlite_utils.Database]:
        if self.conn.in_transaction:
            with super().atomic() as db:
                yield db
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise


def _private(path: Path) -> None:
    """Make the workspace file and its WAL/shared-memory companions readable by their user only."""
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if p.exists() and p.stat().st_mode & 0o077:
                os.chmod(p, 0o600)
        except OSError:
            pass  # not our file (a shared, read-only workspace): leave its mode alone


def _connect(path: Path) -> sqlite_utils.Database:
    # Each thread reads through its own connection (see Workspace.db): a query still open on one
    # thread would otherwise hold a snapshot that hides newer commits from the others (seen in the
    # review window: an annotation just written did not show). Writes go through the one writer
    # thread.
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    db = _Database(conn)
    db.execute("PRAGMA busy_timeout = 30000")
    db.execute("PRAGMA foreign_keys = ON")
    return db


def _explain(path: Path, exc: BaseException) -> WorkspaceError:
    msg = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in msg:
        return WorkspaceError(f"{path}: not a Vigil workspace (the file is not an SQLite database)")
    if "disk is full" in msg or "No space left" in msg or "too big" in msg or getattr(exc, "errno", None) == 28:
        return WorkspaceError(f"{path}: the disk is full; free some space and try again (what was saved before is kept)")
    if "readonly" in msg or "read-only" in msg or isinstance(exc, PermissionError):
        return WorkspaceError(f"{path}: workspace is not writable (permission denied or read-only disk)")
    return WorkspaceError(f"{path}: cannot open or write the workspace ({msg})")


class Workspace:
    """An open workspace. Use :meth:`open`; close with :meth:`close` or a ``with`` block."""

    def __init__(self, path: Path, db: sqlite_utils.Database) -> None:
        self.path = path
        self._main_db = db
        self._local = threading.local()
        self._local.db = db
        self._readers: list[sqlite_utils.Database] = [db]
        self._wdb: sqlite_utils.Database | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigil-writer",
                                        initializer=self._init_writer)
        self._pending: list[Future[Any]] = []
        self._lock = threading.Lock()

    # -- opening ---------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path) -> Workspace:
        """Open (creating and migrating if needed) the workspace at ``path``."""
        path = Path(path).expanduser()
        if path.is_dir():
            raise WorkspaceError(f"{path}: is a folder; give a workspace file path such as {path / 'workspace.db'}")
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            raise WorkspaceError(f"{path}: cannot create the workspace, {blocker} is a file, not a folder")
        try:
            if not path.parent.exists():
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(path.parent, 0o700)  # mkdir's mode is filtered by the umask
        except (OSError, PermissionError) as exc:
            raise WorkspaceError(f"{path}: cannot create the workspace folder ({exc.strerror or exc})") from exc
        try:
            if not path.exists():
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # private from its first byte
            db = _connect(path)
            db.execute("PRAGMA journal_mode = WAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise WorkspaceError(
                    f"{path}: written by a newer Vigil (schema {version}, this one knows {SCHEMA_VERSION}); upgrade Vigil"
                )
            for v in range(version, SCHEMA_VERSION):
                with db.atomic():
                    MIGRATIONS[v](db)
                    db.execute(f"PRAGMA user_version = {v + 1}")
            # Prove the file is writable now, not at the first batch.
            with db.atomic():
                db.execute("PRAGMA user_version = %d" % SCHEMA_VERSION)
        except WorkspaceError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise _explain(path, exc) from exc
        _private(path)
        return cls(path, db)

    def close(self) -> None:
        """Wait for pending writes, stop the writer and close the connections."""
        self.flush()
        self._pool.submit(self._close_writer).result()
        self._pool.shutdown(wait=True)
        with self._lock:
            readers, self._readers = self._readers, []
        for db in readers:
            db.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def db(self) -> sqlite_utils.Database:
        """The calling thread's read connection (opened on first use, closed with the workspace)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = _connect(self.path)
            self._local.db = db
            with self._lock:
                self._readers.append(db)
        return db

    # -- the writer thread -----------------------------------------------------------------------
    def _init_writer(self) -> None:
        self._wdb = _connect(self.path)
        self._wdb.execute("PRAGMA synchronous = NORMAL")

    def _close_writer(self) -> None:
        if self._wdb is not None:
            self._wdb.close()

    def _call(self, fn: Callable[..., R], *args: Any) -> R:
        try:
            return fn(*args)
        except sqlite3.Error as exc:
            raise _explain(self.path, exc) from exc

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        """Queue ``fn(writer_db, *args)`` on the writer thread; blocks while too many are queued."""
        with self._lock:
            self._pending = [f for f in self._pending if not f.done()]
            while len(self._pending) >= MAX_PENDING_WRITES:
                self._pending.pop(0).result()
            fut = self._pool.submit(lambda: self._call(fn, self._wdb, *args))
            self._pending.append(fut)
        return fut

    def write(self, fn: Callable[..., R], *args: Any) -> R:
        """Run ``fn(writer_db, *args)`` on the writer thread and wait for its result."""
        watch = getattr(self._local, "watch", None)
        t0 = time.perf_counter()
        fut = self.submit(fn, *args)
        try:
            return fut.result()
        finally:
            # The caller has its result or its error: flush() and close() must not raise it again
            # (a full disk reported once would otherwise fail the close too).
            with self._lock:
                if fut in self._pending:
                    self._pending.remove(fut)
            if watch is not None:
                watch.waited("write: " + getattr(fn, "__qualname__", "?"), time.perf_counter() - t0)

    def watch_slow(self, limit_ms: float = 50.0) -> SlowWatch:
        """Record, from now on, every statement this thread runs (and every write it waits for)
        that takes longer than ``limit_ms``; for the GUI's responsiveness bench, whose UI thread must
        not wait that long. ``stop()`` on the returned watch ends it."""
        watch = SlowWatch(limit_ms / 1000.0, self.db.conn, self._local)
        self._local.watch = watch
        return watch

    def flush(self) -> None:
        """Wait until every queued write has committed; re-raises the first failure."""
        with self._lock:
            pending, self._pending = self._pending, []
        for f in pending:
            f.result()

    # -- audit -----------------------------------------------------------------------------------
    def audit(self, action: str, case_id: int | None, detail: dict[str, Any], actor: str | None = None) -> None:
        """Append one entry to the hash-chained audit trail (queued on the writer thread).

        For a record of something that happened outside the workspace or already committed; a change
        to the workspace appends its entry in its own transaction instead (``audit.append``). Without
        ``actor`` the entry is made under the OS user's name.
        """
        from app.store import audit

        entry = audit.Entry(action, case_id, detail, actor)
        self.submit(lambda db: audit.append(db, entry))

    # -- cases -----------------------------------------------------------------------------------
    def create_case(self, name: str, applicant_ref: str | None = None, purpose: str | None = None) -> int:
        """Create a case (audited in the same transaction) and return its id."""
        from app.store import audit

        row = {"name": name, "applicant_ref": applicant_ref, "status": "new", "created_at": now(), "updated_at": now(),
               "purpose": purpose}

        def _write(db: sqlite_utils.Database) -> int:
            with db.atomic():
                case_id = int(db["cases"].insert(row).last_pk)
                audit.append(db, audit.Entry("case.create", case_id, {"name": name, "purpose": purpose}))
                return case_id

        return int(self.write(_write))

    def find_case(self, ref: str | int) -> dict[str, Any]:
        """A case by id, by exact name (the newest if several), or ``latest``."""
        ref = str(ref).strip()
        if ref == "latest":
            rows = list(self.db.query("select * from cases order by id desc limit 1"))
        elif ref.isdigit():
            rows = list(self.db.query("select * from cases where id = ?", [int(ref)]))
        else:
            rows = list(self.db.query("select * from cases where name = ? order by id desc limit 1", [ref]))
        if not rows:
            what = "no cases yet" if ref == "latest" else f"no case '{ref}'"
            raise CaseNotFound(f"{what} in workspace {self.path}")
        return rows[0]

    def list_cases(self) -> list[dict[str, Any]]:
        """Every case with its media count, latest run status, frame and utterance counts."""
        return self.case_rows()

    def case_rows(self, where: str = "", params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Cases (``where``: an SQL condition on ``c``, the cases table) with their applicant reference,
        last change, media count, latest run status, and frame and utterance counts, by id."""
        sql = f"""
            select c.id, c.name, c.status, c.created_at, c.applicant_ref, c.updated_at,
              (select count(*) from media m where m.case_id = c.id) as media,
              (select r.status from runs r where r.case_id = c.id order by r.id desc limit 1) as last_run,
              (select coalesce(sum(r.frames_done), 0) from runs r where r.case_id = c.id and r.kind = 'video')
                as frames,
              (select count(*) from utterances u join runs r on u.run_id = r.id where r.case_id = c.id)
                as utterances
            from cases c {"where " + where if where else ""} order by c.id"""
        return list(self.db.query(sql, list(params)))

    # -- media -----------------------------------------------------------------------------------
    def add_media(self, case_id: int, info: dict[str, Any]) -> int:
        """Record a probed media file in a case; returns the media id."""
        keys = ("path", "sha256", "size_bytes", "container", "duration_s", "fps", "fps_container", "width",
                "height", "video_codec", "audio_codec", "has_audio", "frame_count")
        row = {k: info.get(k) for k in keys}
        row.update(case_id=case_id, probe_json=json.dumps(info, default=str), added_at=now())
        from app.store import audit

        def _write(db: sqlite_utils.Database) -> int:
            with db.atomic():
                media_id = int(db["media"].insert(row).last_pk)
                audit.append(db, audit.Entry("media.add", case_id, {"media_id": media_id, "path": info.get("path"),
                                                                    "sha256": info.get("sha256")}))
                return media_id

        return int(self.write(_write))

    def media_by_sha(self, sha256: str, case_id: int | None = None) -> list[dict[str, Any]]:
        """Media rows with this content hash (optionally within one case), newest first."""
        if case_id is None:
            return list(self.db.query("select * from media where sha256 = ? order by id desc", [sha256]))
        return list(self.db.query("select * from media where sha256 = ? and case_id = ? order by id desc",
                                  [sha256, case_id]))

    def media(self, media_id: int) -> dict[str, Any]:
        """One media row."""
        return self.db["media"].get(media_id)

    def set_integrity(self, media_id: int, record: dict[str, Any]) -> None:
        """Store a media file's capture-integrity report (JSON) with the media row, and its audit entry
        (``media.integrity``) in the same transaction."""
        from app.store import audit

        data = json.dumps(record, ensure_ascii=False, default=str)

        def _write(db: sqlite_utils.Database) -> None:
            with db.atomic():
                case_id = db["media"].get(media_id)["case_id"]
                db["media"].update(media_id, {"integrity_json": data})
                audit.append(db, audit.Entry("media.integrity", case_id, {"media_id": media_id,
                                                                          "score": record.get("score")}))

        self.write(_write)
