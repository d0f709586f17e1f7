"""SQLite job records (WAL), shared safely by every server process using one ``data_dir``.

Each thread gets its own connection. Writes that must not race between processes (claim a
pending job, finish a job) are compare-and-set updates guarded by the expected status, so
two servers can never both start or both finish the same job. Listing uses keyset
pagination on ``seq`` (newest first) with one index range scan per group, never OFFSET.
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
import itertools
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import InvalidInput
from .models import ACTIVE_STATUSES, CANCELLED, FINAL_STATUSES, PENDING, Job

SCHEMA_VERSION = 3

# Each entry migrates from version N (its index) to N + 1.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        user TEXT NOT NULL,
        grp TEXT NOT NULL,
        instance_type TEXT NOT NULL,
        image TEXT NOT NULL,
        command TEXT NOT NULL,
        status TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        exit_code INTEGER,
        logs_available INTEGER NOT NULL DEFAULT 1,
        rerun_of TEXT,
        schedule_id TEXT,
        schedule_name TEXT,
        max_runtime_seconds INTEGER NOT NULL,
        cpu REAL NOT NULL,
        cancel_requested_by TEXT,
        backend_state TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX jobs_grp ON jobs (grp, seq);
    CREATE INDEX jobs_grp_status ON jobs (grp, status, seq);
    CREATE INDEX jobs_grp_user ON jobs (grp, user, seq);
    CREATE INDEX jobs_grp_user_status ON jobs (grp, user, status, seq);
    CREATE INDEX jobs_status ON jobs (status, seq);
    CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
    """,
    # 2: notebook jobs.
    """
    ALTER TABLE jobs ADD COLUMN notebook TEXT;
    ALTER TABLE jobs ADD COLUMN parameters TEXT;
    ALTER TABLE jobs ADD COLUMN output_path TEXT;
    """,
    # 3: retention looks only at jobs whose logs are still there.
    """
    CREATE INDEX jobs_logs_kept ON jobs (finished_at) WHERE logs_available = 1
        AND finished_at IS NOT NULL;
    """,
]

_COLUMNS = {f.name: ("grp" if f.name == "group" else f.name) for f in dataclasses.fields(Job)}
_SELECT = "SELECT " + ", ".join(_COLUMNS.values()) + " FROM jobs"


def _row_to_job(row: Sequence[Any]) -> Job:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["logs_available"] = bool(values["logs_available"])
    return Job(**values)


def encode_cursor(seq: int) -> str:
    return f"s{seq}"


def decode_cursor(cursor: str) -> int:
    digits = cursor[1:]
    if (
        not cursor.startswith("s")
        or not (digits.isascii() and digits.isdigit())
        or len(digits) > 18
    ):
        raise InvalidInput("cursor is not one this server returned", field="cursor")
    return int(cursor[1:])


class Store:
    """The job table. Thread-safe: one SQLite connection per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._migrate()

    # -- connections -------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA busy_timeout=30000")
            # Each worker thread has a connection: keep their page caches small (512 KiB)
            # and let the OS page cache hold the database (reads are then a copy).
            connection.execute("PRAGMA cache_size=-512")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: holds the write lock across processes until it ends."""
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _migrate(self) -> None:
        with self.transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} has schema version {version}, newer than this "
                    f"jupyterlab-jobs ({SCHEMA_VERSION}); upgrade jupyterlab-jobs"
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[step].split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # -- reads -------------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        row = self._connect().execute(_SELECT + " WHERE id = ?", (job_id,)).fetchone()
        return _row_to_job(row) if row else None

    def page(
        self,
        groups: Iterable[str],
        *,
        user: str | None = None,
        statuses: Sequence[str] = (),
        name_contains: str = "",
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[Job], str | None]:
        """Newest first. One index range scan per (group, status), merged by ``seq``."""
        before = decode_cursor(cursor) if cursor else None
        db = self._connect()
        scans = []
        status_choices: Sequence[str | None] = statuses or [None]
        for group, status in itertools.product(sorted(set(groups)), status_choices):
            clauses: list[str] = ["grp = ?"]
            params: list[Any] = [group]
            if user is not None:
                clauses.append("user = ?")
                params.append(user)
            if status is not None:
                clauses.append("status = ?")
                params.append(status)
            if name_contains:
                escaped = name_contains.replace("\\", "\\\\").replace("%", "\\%")
                clauses.append("name LIKE ? ESCAPE '\\'")
                params.append("%" + escaped.replace("_", "\\_") + "%")
            if before is not None:
                clauses.append("seq < ?")
                params.append(before)
            sql = f"{_SELECT} WHERE {' AND '.join(clauses)} ORDER BY seq DESC LIMIT ?"
            scans.append(db.execute(sql, (*params, limit + 1)).fetchall())
        # Rows end with seq: merge the per-group scans newest first, build Jobs for the page.
        rows = list(itertools.islice(heapq.merge(*scans, key=lambda r: -r[-1]), limit + 1))
        merged = [_row_to_job(row) for row in rows]
        page = merged[:limit]
        next_cursor = encode_cursor(page[-1].seq) if len(merged) > limit else None
        return page, next_cursor

    def queued(self, limit: int = -1) -> list[Job]:
        """Pending jobs not yet handed to the backend, oldest first (the queue)."""
        sql = f"{_SELECT} WHERE status = ? AND backend_state = '' ORDER BY seq LIMIT ?"
        return [_row_to_job(r) for r in self._connect().execute(sql, (PENDING, limit))]

    def active(self) -> list[Job]:
        """Jobs handed to the backend that have not ended (they hold capacity)."""
        sql = (
            f"{_SELECT} WHERE status IN (?, ?) OR (status = ? AND backend_state != '') ORDER BY seq"
        )
        return [_row_to_job(r) for r in self._connect().execute(sql, (*ACTIVE_STATUSES, PENDING))]

    def finished_before(self, timestamp: float, *, logs_available: bool | None = None) -> list[Job]:
        sql = f"{_SELECT} WHERE finished_at IS NOT NULL AND finished_at < ?"
        if logs_available is not None:
            # A literal, so that SQLite can use the partial index jobs_logs_kept.
            sql += f" AND logs_available = {int(logs_available)}"
        return [_row_to_job(r) for r in self._connect().execute(sql, (timestamp,))]

    def count(self) -> int:
        return int(self._connect().execute("SELECT COUNT(*) FROM jobs").fetchone()[0])

    # -- writes ------------------------------------------------------------------------
    def insert(self, job: Job, db: sqlite3.Connection | None = None) -> Job:
        columns = [c for f, c in _COLUMNS.items() if f != "seq"]
        values = [getattr(job, f) for f in _COLUMNS if f != "seq"]
        sql = f"INSERT INTO jobs ({', '.join(columns)}) VALUES ({', '.join('?' * len(values))})"
        cursor = (db or self._connect()).execute(sql, values)
        job.seq = int(cursor.lastrowid or 0)
        return job

    def insert_many(self, jobs: Iterable[Job]) -> None:
        with self.transaction() as db:
            for job in jobs:
                self.insert(job, db)

    def update(
        self,
        job_id: str,
        *,
        only_if_status: Sequence[str] | None = None,
        db: sqlite3.Connection | None = None,
        **fields: Any,
    ) -> bool:
        """Set ``fields``; with ``only_if_status``, only while the job is in one of those.

        Returns whether a row changed: the compare-and-set that keeps several servers from
        starting or finishing one job twice.
        """
        unknown = set(fields) - set(_COLUMNS)
        if unknown:
            raise ValueError(f"unknown job fields {sorted(unknown)}")
        sets = ", ".join(f"{_COLUMNS[name]} = ?" for name in fields)
        params: list[Any] = list(fields.values())
        sql = f"UPDATE jobs SET {sets} WHERE id = ?"
        params.append(job_id)
        if only_if_status is not None:
            sql += f" AND status IN ({', '.join('?' for _ in only_if_status)})"
            params.extend(only_if_status)
        return (db or self._connect()).execute(sql, params).rowcount == 1

    def finish(self, job_id: str, status: str, **fields: Any) -> bool:
        """Move a job to a final status, unless it already is final (then False)."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"{status} is not a final status")
        active = (PENDING, *ACTIVE_STATUSES)
        return self.update(job_id, only_if_status=active, status=status, **fields)

    def cancel_queued(self, job_id: str, **fields: Any) -> bool:
        """Cancel a job still in the queue (never handed to the backend); False otherwise."""
        sets = ", ".join(f"{_COLUMNS[name]} = ?" for name in fields)
        sql = (
            f"UPDATE jobs SET status = ?, {sets} WHERE id = ? AND status = ? AND backend_state = ''"
        )
        params = (CANCELLED, *fields.values(), job_id, PENDING)
        return self._connect().execute(sql, params).rowcount == 1

    def delete(self, job_ids: Sequence[str]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM jobs WHERE id = ?", [(i,) for i in job_ids])
