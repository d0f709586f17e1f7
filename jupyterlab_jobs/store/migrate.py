"""Schema migrations with alembic, applied at start-up and by ``jupyter jobs upgrade-db``.

Several servers may start at once on one database: the upgrade runs while holding the
database's write lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock), so one
of them migrates and the others then find the schema current. A database whose revision
this code does not know was written by a newer release: it is refused, never touched.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import Engine

from .engine import IMMEDIATE, DatabaseError, shown

MIGRATIONS = Path(__file__).with_name("migrations")
# pg_advisory_lock key for migrations: "jobs" in ASCII, then "mig".
MIGRATION_LOCK = 0x6A6F6273_6D6967


def _config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    return str(ScriptDirectory(str(MIGRATIONS)).get_current_head())


def current(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _check_not_newer(connection: sa.Connection, engine: Engine) -> str | None:
    revision = current(connection)
    legacy = None
    if revision is None and engine.dialect.name == "sqlite":
        legacy = connection.exec_driver_sql("PRAGMA user_version").scalar_one()
    known = revision is None or revision in _revisions()
    if not known or (legacy is not None and legacy > 3):
        raise DatabaseError(
            f"The jobs database {shown(engine.url)} has schema revision "
            f"{revision or f'v{legacy}'}, newer than this jupyterlab-jobs knows "
            f"(up to {head()}): it was written by a newer release. Upgrade jupyterlab-jobs, "
            "or point c.JobsApp.db_url at another database."
        )
    return revision


def _revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to this code's head; returns (revision before, revision after)."""
    try:
        return _upgrade(engine)
    except sa.exc.DBAPIError as error:
        # The driver's own words (never the URL's password), without SQLAlchemy's SQL dump.
        reason = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        raise DatabaseError(f"Cannot use the jobs database {shown(engine.url)}: {reason}") from None


def _upgrade(engine: Engine) -> tuple[str | None, str]:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection = connection.execution_options(**{IMMEDIATE: True})
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            before = _check_not_newer(connection, engine)
            try:
                command.upgrade(_config(connection), "head")
            except CommandError as error:
                raise DatabaseError(f"Could not upgrade the jobs database: {error}") from None
            return before, head()


def is_current(engine: Engine) -> bool:
    with engine.connect() as connection:
        return current(connection) == head()
