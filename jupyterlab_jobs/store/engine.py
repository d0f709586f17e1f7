"""The SQLAlchemy engine for ``c.JobsApp.db_url``: SQLite (WAL) or PostgreSQL.

- SQLite: every connection gets WAL, a busy timeout and a small page cache; a write
  transaction (``immediate`` execution option) begins with ``BEGIN IMMEDIATE``, so it
  holds the write lock across processes from its first statement.
- Single statements (reads, compare-and-set updates) run in autocommit mode on both
  engines: no BEGIN/COMMIT round trips around a list query.
- A database URL is only ever shown with its password hidden.
- A SQLite file on a network filesystem is reported: its locks are not reliable there.
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import ArgumentError

IMMEDIATE = "jobs_immediate"
AUTOCOMMIT = "jobs_autocommit"
# Filesystems whose byte-range locks or shared memory SQLite cannot rely on.
NETWORK_FILESYSTEMS = {
    "nfs",
    "nfs4",
    "cifs",
    "smb",
    "smb3",
    "smbfs",
    "ncpfs",
    "afs",
    "9p",
    "ceph",
    "glusterfs",
    "lustre",
    "gpfs",
    "beegfs",
    "davfs",
}
NETWORK_FUSE = {"sshfs", "glusterfs", "s3fs", "gcsfuse", "davfs2", "rclone", "juicefs", "cephfs"}


class DatabaseError(RuntimeError):
    """The database cannot be used; the message says why and what to do."""


def parse_url(db_url: str) -> URL:
    """The URL, or an error that does not repeat the text (it may hold a password)."""
    try:
        return sa.make_url(db_url)
    except (ArgumentError, ValueError):
        raise DatabaseError(
            "c.JobsApp.db_url is not a database URL; use sqlite:///PATH or "
            "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"
        ) from None


def shown(url: URL) -> str:
    """The URL as it may appear in logs and errors: without its password."""
    return url.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory ones)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def create_engine(url: URL, *, pool_size: int = 8) -> Engine:
    """An engine for ``url``; for SQLite the file's directory is created first."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"timeout": 30, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    if url.get_backend_name() == "sqlite":
        raise DatabaseError("c.JobsApp.db_url: a SQLite database must be a file (sqlite:///PATH)")
    if url.get_backend_name() != "postgresql":
        raise DatabaseError(
            f"c.JobsApp.db_url: {url.get_backend_name()!r} databases are not supported; "
            "use sqlite:///PATH or postgresql+psycopg://..."
        )
    # No pre-ping (a round trip per query): after a database restart the first statement
    # on a stale connection fails, and SQLAlchemy then replaces the whole pool.
    return sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)


# SQLite's LIKE ignores the case of ASCII letters only: names are matched against
# non-ASCII text through this function (str.casefold), which each connection defines.
CASEFOLD = "jobs_casefold"


def _casefold(value: str | None) -> str | None:
    return value.casefold() if value is not None else None


def _configure_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        # Transactions are begun by the "begin" hook below, not by the sqlite3 module.
        dbapi_connection.isolation_level = None
        dbapi_connection.create_function(CASEFOLD, 1, _casefold, deterministic=True)
        dbapi_connection.execute("PRAGMA busy_timeout=30000")
        enable_wal(dbapi_connection)
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")
        # Each pooled connection has its own page cache: keep them small (512 KiB) and let
        # the OS page cache hold the database.
        dbapi_connection.execute("PRAGMA cache_size=-512")

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection: sa.Connection) -> None:
        options = connection.get_execution_options()
        if options.get(AUTOCOMMIT):
            return  # the sqlite3 module commits each statement (isolation_level None)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(IMMEDIATE) else "BEGIN")


def autocommit_options(engine: Engine) -> dict[str, Any]:
    """Execution options that run each statement in its own transaction."""
    if engine.dialect.name == "sqlite":
        return {AUTOCOMMIT: True}
    return {"isolation_level": "AUTOCOMMIT"}


def enable_wal(connection: sqlite3.Connection, *, attempts: int = 12) -> None:
    """Switch to WAL, retrying with backoff: on a fresh file, several servers starting at
    once race to convert it and the losers get "database is locked" at once (the busy
    timeout does not apply to this change)."""
    delay = 0.02
    for attempt in range(attempts):
        try:
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            if attempt == attempts - 1:
                raise DatabaseError(
                    f"The jobs database stayed locked while switching it to WAL mode "
                    f"({attempts} attempts): {error}"
                ) from None
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 2.0)
            continue
        if str(mode).lower() != "wal":
            raise DatabaseError(
                f"The jobs database cannot use WAL mode (it stays in {mode!r}); put "
                "c.JobsApp.data_dir on a local disk"
            )
        return


def filesystem_type(path: Path, mountinfo: str) -> str:
    """The filesystem type of the mount holding ``path``, from /proc/self/mountinfo text."""
    best, best_type = "", ""
    target = str(path)
    for line in mountinfo.splitlines():
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        mount_point = _unescape(fields[4])
        fstype = line.split(" - ", 1)[1].split()[0]
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, fstype
    return best_type


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def is_network_filesystem(fstype: str) -> bool:
    base, _, sub = fstype.partition(".")
    return base in NETWORK_FILESYSTEMS or (base == "fuse" and sub in NETWORK_FUSE)


def network_filesystem_warning(path: Path, mountinfo: str | None = None) -> str | None:
    """Words for the log when the SQLite file lies on a network filesystem, else None."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return None
    # realpath: the mount that holds the file, also through symbolic links.
    fstype = filesystem_type(Path(os.path.realpath(path)), mountinfo)
    if not is_network_filesystem(fstype):
        return None
    return (
        f"The jobs database {path} is on a network filesystem ({fstype}). SQLite's locks "
        "are not reliable there: servers on different machines sharing this file can "
        "corrupt it or start a job twice. Use PostgreSQL for a shared database "
        "(c.JobsApp.db_url = 'postgresql+psycopg://USER:PASSWORD@HOST/DATABASE'), or put "
        "c.JobsApp.data_dir on a local disk."
    )


def log_network_filesystem(url: URL, log: logging.Logger) -> None:
    path = sqlite_path(url)
    warning = network_filesystem_warning(path) if path is not None else None
    if warning:
        log.warning(warning)
