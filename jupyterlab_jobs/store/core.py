"""Job records on SQLAlchemy Core: one code path for SQLite and PostgreSQL.

Writes that must not race between threads or servers (claim a pending job, finish a job)
are compare-and-set updates guarded by the expected status, so two servers can never
both start or both finish the same job. The queue's claim runs in a transaction that
holds the queue for its duration (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction
advisory lock), so capacity is counted over every server's jobs. Listing uses keyset
pagination on ``seq`` (newest first) with one index range scan per group, never OFFSET.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import heapq
import itertools
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

from ..errors import InvalidInput
from ..models import ACTIVE_STATUSES, CANCELLED, FINAL_STATUSES, PENDING, Job
from . import migrate
from .engine import (
    CASEFOLD,
    IMMEDIATE,
    autocommit_options,
    create_engine,
    log_network_filesystem,
    parse_url,
    shown,
    sqlite_path,
)
from .schema import jobs

# Job field -> column. Selected in this order, so a row ends with ``seq``.
_COLUMNS = {f.name: ("grp" if f.name == "group" else f.name) for f in dataclasses.fields(Job)}
_SELECT = sa.select(*(jobs.c[column] for column in _COLUMNS.values()))
# pg_advisory_xact_lock key of the queue: "jobs" in ASCII, then "que".
QUEUE_LOCK = 0x6A6F6273_717565


def _row_to_job(row: Sequence[Any]) -> Job:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["logs_available"] = bool(values["logs_available"])
    return Job(**values)


def _values(job: Job) -> dict[str, Any]:
    return {column: getattr(job, field) for field, column in _COLUMNS.items() if field != "seq"}


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(_COLUMNS)
    if unknown:
        raise ValueError(f"unknown job fields {sorted(unknown)}")
    return {_COLUMNS[name]: value for name, value in fields.items()}


def name_contains_clause(
    column: sa.ColumnElement[str], pattern: Any, folded: bool
) -> sa.ColumnElement[bool]:
    """``column`` matches the LIKE ``pattern`` in any case: ILIKE (SQLite's LIKE knows the
    case of ASCII letters only), or with ``folded`` the casefolded column (SQLite, for
    non-ASCII text; the pattern is casefolded by ``contains_pattern``)."""
    if folded:
        casefolded: sa.ColumnElement[str] = getattr(sa.func, CASEFOLD)(column)
        return casefolded.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


def contains_pattern(text: str, folded: bool) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.casefold() if folded else escaped}%"


@functools.cache
def _page_statement(
    by_user: bool, by_status: bool, by_name: bool, folded: bool, paged: bool
) -> sa.Select[Any]:
    """One page of one group (and status), newest first: an index range scan. Built once
    per shape (only the parameters change), so a list call only binds and runs them."""
    query = _SELECT.where(jobs.c.grp == sa.bindparam("grp"))
    if by_user:
        query = query.where(jobs.c.user == sa.bindparam("user"))
    if by_status:
        query = query.where(jobs.c.status == sa.bindparam("status"))
    if by_name:
        query = query.where(name_contains_clause(jobs.c.name, sa.bindparam("name"), folded))
    if paged:
        query = query.where(jobs.c.seq < sa.bindparam("before"))
    return query.order_by(jobs.c.seq.desc()).limit(sa.bindparam("limit"))


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


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


def sqlite_url(path: Path) -> str:
    return str(URL.create("sqlite", database=str(path)))


class Store:
    """The job table. Thread-safe: each call or transaction has its own pooled connection.

    ``database`` is a SQLAlchemy URL (``sqlite:///PATH``, ``postgresql+psycopg://...``) or
    the path of a SQLite file. The schema is migrated to this code's head on opening.
    """

    def __init__(
        self,
        database: str | Path,
        *,
        pool_size: int = 8,
        log: logging.Logger | None = None,
    ) -> None:
        self.url = parse_url(sqlite_url(database) if isinstance(database, Path) else database)
        self.path = sqlite_path(self.url)
        self.log = log or logging.getLogger(__name__)
        if self.path is not None:
            log_network_filesystem(self.url, self.log)
        self.engine = create_engine(self.url, pool_size=pool_size)
        self.dialect = self.engine.dialect.name
        self._autocommit = autocommit_options(self.engine)
        # The connection of the transaction this thread is in, if any.
        self._local = threading.local()
        try:
            before, after = migrate.upgrade(self.engine)
        except BaseException:
            self.engine.dispose()
            raise
        if before != after:
            self.log.info(
                "jupyterlab-jobs: database %s upgraded from %s to %s", self, before, after
            )

    def __str__(self) -> str:
        return shown(self.url)

    def close(self) -> None:
        self.engine.dispose()

    # -- connections -------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, *, lock_queue: bool = False) -> Iterator[sa.Connection]:
        """A write transaction; the store's calls in this thread take part in it.

        On SQLite it holds the write lock across processes from the start. With
        ``lock_queue`` it also serializes with every other server's queue claims
        (PostgreSQL: an advisory lock; SQLite's write lock already does).
        """
        current = getattr(self._local, "connection", None)
        if current is not None:
            # Already in one in this thread: take part in it (a second connection would
            # wait for this one's lock on SQLite).
            if lock_queue:
                self._lock_queue(current)
            yield current
            return
        with self.engine.connect() as connection:
            if self.dialect == "sqlite":
                connection = connection.execution_options(**{IMMEDIATE: True})
            with connection.begin():
                if lock_queue:
                    self._lock_queue(connection)
                self._local.connection = connection
                try:
                    yield connection
                finally:
                    self._local.connection = None

    def _lock_queue(self, connection: sa.Connection) -> None:
        """Until the transaction ends (SQLite: its write lock already serializes)."""
        if self.dialect == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": QUEUE_LOCK})

    @contextlib.contextmanager
    def _connection(self, db: sa.Connection | None = None) -> Iterator[sa.Connection]:
        current = db or getattr(self._local, "connection", None)
        if current is not None:
            yield current
            return
        with self.engine.connect() as connection:
            yield connection.execution_options(**self._autocommit)

    def _jobs(self, statement: sa.Select[Any]) -> list[Job]:
        with self._connection() as db:
            return [_row_to_job(row) for row in db.execute(statement)]

    # -- reads -------------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        found = self._jobs(_SELECT.where(jobs.c.id == job_id))
        return found[0] if found else None

    def folds(self, text: str) -> bool:
        """Whether names are matched against ``text`` casefolded (SQLite, non-ASCII)."""
        return self.engine.dialect.name == "sqlite" and not text.isascii()

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
        scans = []
        status_choices: Sequence[str | None] = statuses or [None]
        folded = self.folds(name_contains)
        statement = _page_statement(
            user is not None, bool(statuses), bool(name_contains), folded, before is not None
        )
        params: dict[str, Any] = {"user": user, "before": before, "limit": limit + 1}
        if name_contains:
            params["name"] = contains_pattern(name_contains, folded)
        with self._connection() as db:
            for group, status in itertools.product(sorted(set(groups)), status_choices):
                scans.append(
                    db.execute(statement, {**params, "grp": group, "status": status}).all()
                )
        # Rows end with seq: merge the per-group scans newest first, build Jobs for the page.
        rows = list(itertools.islice(heapq.merge(*scans, key=lambda r: -r[-1]), limit + 1))
        merged = [_row_to_job(row) for row in rows]
        page = merged[:limit]
        next_cursor = encode_cursor(page[-1].seq) if len(merged) > limit else None
        return page, next_cursor

    def queued(self, limit: int | None = None) -> list[Job]:
        """Pending jobs not yet handed to the backend, oldest first (the queue)."""
        query = _SELECT.where(jobs.c.status == PENDING, jobs.c.backend_state == "")
        return self._jobs(query.order_by(jobs.c.seq).limit(limit))

    def active(self) -> list[Job]:
        """Jobs handed to the backend that have not ended (they hold capacity)."""
        handed_over = sa.and_(jobs.c.status == PENDING, jobs.c.backend_state != "")
        query = _SELECT.where(sa.or_(jobs.c.status.in_(ACTIVE_STATUSES), handed_over))
        return self._jobs(query.order_by(jobs.c.seq))

    def finished_before(self, timestamp: float, *, logs_available: bool | None = None) -> list[Job]:
        query = _SELECT.where(jobs.c.finished_at.is_not(None), jobs.c.finished_at < timestamp)
        if logs_available is not None:
            # A literal (not a parameter), so that the partial index jobs_logs_kept is used.
            query = query.where(
                jobs.c.logs_available == (sa.true() if logs_available else sa.false())
            )
        return self._jobs(query)

    def count(self) -> int:
        with self._connection() as db:
            return int(db.execute(sa.select(sa.func.count()).select_from(jobs)).scalar_one())

    # -- writes ------------------------------------------------------------------------
    def insert(self, job: Job, db: sa.Connection | None = None) -> Job:
        with self._connection(db) as connection:
            result = connection.execute(sa.insert(jobs).values(_values(job)))
            (job.seq,) = result.inserted_primary_key or (0,)
        return job

    def insert_many(self, new_jobs: Iterable[Job]) -> None:
        """Insert in one transaction (their ``seq`` is not set on the Job objects)."""
        with self.transaction() as db:
            for batch in _batches(new_jobs, 1000):
                db.execute(sa.insert(jobs), [_values(job) for job in batch])

    def update(
        self,
        job_id: str,
        *,
        only_if_status: Sequence[str] | None = None,
        db: sa.Connection | None = None,
        **fields: Any,
    ) -> bool:
        """Set ``fields``; with ``only_if_status``, only while the job is in one of those.

        Returns whether a row changed: the compare-and-set that keeps several servers from
        starting or finishing one job twice.
        """
        statement = sa.update(jobs).where(jobs.c.id == job_id).values(_columns(fields))
        if only_if_status is not None:
            statement = statement.where(jobs.c.status.in_(only_if_status))
        with self._connection(db) as connection:
            return connection.execute(statement).rowcount == 1

    def finish(self, job_id: str, status: str, **fields: Any) -> bool:
        """Move a job to a final status, unless it already is final (then False)."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"{status} is not a final status")
        active = (PENDING, *ACTIVE_STATUSES)
        return self.update(job_id, only_if_status=active, status=status, **fields)

    def cancel_queued(self, job_id: str, **fields: Any) -> bool:
        """Cancel a job still in the queue (never handed to the backend); False otherwise."""
        statement = (
            sa.update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == PENDING, jobs.c.backend_state == "")
            .values(status=CANCELLED, **_columns(fields))
        )
        with self._connection() as connection:
            return connection.execute(statement).rowcount == 1

    def set_waiting_message(self, message: str) -> None:
        """Say on every pending job why the queue waits."""
        statement = (
            sa.update(jobs)
            .where(jobs.c.status == PENDING, jobs.c.message != message)
            .values(message=message)
        )
        with self._connection() as connection:
            connection.execute(statement)

    def delete(self, job_ids: Sequence[str]) -> None:
        with self.transaction() as db:
            for batch in _batches(job_ids, 500):
                db.execute(sa.delete(jobs).where(jobs.c.id.in_(batch)))
