"""The job and schedule tables as SQLAlchemy Core metadata: one definition for SQLite and
PostgreSQL.

Column names are those of the schema-v3 SQLite file (``grp`` for the group), so that
databases of earlier releases are used as they are.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite's AUTOINCREMENT needs exactly INTEGER PRIMARY KEY; elsewhere a 64-bit identity.
SEQ_TYPE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Unix timestamps and CPU counts: REAL in SQLite, double precision in PostgreSQL.
DOUBLE_TYPE = sa.Float(precision=53)


def _partial_index(name: str, column: sa.Column[Any], where: Any) -> sa.Index:
    """An index of ``column`` over the rows where ``where`` holds (on both engines)."""
    return sa.Index(name, column, sqlite_where=where, postgresql_where=where)


def _owned_records(name: str, *columns: sa.Column[Any]) -> sa.Table:
    """A table of records a user owns in a group: ``seq`` (the list order, for keyset
    cursors), the public ``id``, ``name``, ``user`` and ``grp`` first, then ``columns``."""
    return sa.Table(
        name,
        metadata,
        sa.Column("seq", SEQ_TYPE, primary_key=True, autoincrement=True),
        sa.Column("id", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("user", sa.Text, nullable=False),
        sa.Column("grp", sa.Text, nullable=False),
        *columns,
        # Cursors must never see a seq again after its record was deleted.
        sqlite_autoincrement=True,
    )


jobs = _owned_records(
    "jobs",
    sa.Column("instance_type", sa.Text, nullable=False),
    sa.Column("image", sa.Text, nullable=False),
    sa.Column("command", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", DOUBLE_TYPE, nullable=False),
    sa.Column("started_at", DOUBLE_TYPE),
    sa.Column("finished_at", DOUBLE_TYPE),
    sa.Column("exit_code", sa.Integer),
    sa.Column("logs_available", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("rerun_of", sa.Text),
    sa.Column("schedule_id", sa.Text),
    sa.Column("schedule_name", sa.Text),
    sa.Column("trigger", sa.Text, nullable=False, server_default="manual"),
    sa.Column("scheduled_for", DOUBLE_TYPE),
    sa.Column("max_runtime_seconds", sa.Integer, nullable=False),
    sa.Column("cpu", DOUBLE_TYPE, nullable=False),
    sa.Column("cancel_requested_by", sa.Text),
    sa.Column("backend_state", sa.Text, nullable=False, server_default=""),
    sa.Column("notebook", sa.Text),
    sa.Column("parameters", sa.Text),
    sa.Column("output_path", sa.Text),
)

# Keyset pagination: one index range scan per (group[, user][, status]), newest first.
sa.Index("jobs_grp", jobs.c.grp, jobs.c.seq)
sa.Index("jobs_grp_status", jobs.c.grp, jobs.c.status, jobs.c.seq)
sa.Index("jobs_grp_user", jobs.c.grp, jobs.c.user, jobs.c.seq)
sa.Index("jobs_grp_user_status", jobs.c.grp, jobs.c.user, jobs.c.status, jobs.c.seq)
sa.Index("jobs_status", jobs.c.status, jobs.c.seq)
# A schedule's history and its active runs (overlap).
sa.Index("jobs_schedule", jobs.c.schedule_id, jobs.c.seq)
_finished = jobs.c.finished_at.is_not(None)
_partial_index("jobs_finished", jobs.c.finished_at, _finished)
# Retention looks only at jobs whose logs are still there.
_logs_kept = sa.and_(jobs.c.logs_available == sa.true(), _finished)
_partial_index("jobs_logs_kept", jobs.c.finished_at, _logs_kept)

# Recurring jobs. ``job`` is the JSON of what each run submits; times are Unix timestamps.
schedules = _owned_records(
    "schedules",
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("cron", sa.Text, nullable=False),
    sa.Column("timezone", sa.Text, nullable=False),
    sa.Column("job", sa.Text, nullable=False),
    sa.Column("concurrency_policy", sa.Text, nullable=False),
    sa.Column("misfire_policy", sa.Text, nullable=False),
    sa.Column("starting_deadline_seconds", sa.Integer, nullable=False),
    sa.Column("start_at", DOUBLE_TYPE),
    sa.Column("end_at", DOUBLE_TYPE),
    # The next tick to handle (None: none left, or paused); the last tick handled.
    sa.Column("next_run_at", DOUBLE_TYPE),
    sa.Column("last_tick_at", DOUBLE_TYPE),
    sa.Column("invalid_reason", sa.Text),
    sa.Column("created_at", DOUBLE_TYPE, nullable=False),
    sa.Column("updated_at", DOUBLE_TYPE, nullable=False),
)
sa.Index("schedules_grp", schedules.c.grp, schedules.c.seq)
# The engine's "what is due next": enabled schedules by next tick.
_due = sa.and_(schedules.c.enabled == sa.true(), schedules.c.next_run_at.is_not(None))
_partial_index("schedules_due", schedules.c.next_run_at, _due)

# One row per tick a server claimed: the unique key makes two servers (or a restart in
# the middle of a tick) handle each tick once. ``job_id`` is the run it started;
# ``reason`` why it started none (overlap, missed, invalid).
schedule_ticks = sa.Table(
    "schedule_ticks",
    metadata,
    sa.Column("seq", SEQ_TYPE, primary_key=True, autoincrement=True),
    sa.Column("schedule_id", sa.Text, nullable=False),
    sa.Column("scheduled_for", DOUBLE_TYPE, nullable=False),
    sa.Column("job_id", sa.Text),
    sa.Column("reason", sa.Text),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.Column("recorded_at", DOUBLE_TYPE, nullable=False),
    sa.UniqueConstraint("schedule_id", "scheduled_for", name="schedule_ticks_once"),
    sqlite_autoincrement=True,
)
sa.Index("schedule_ticks_history", schedule_ticks.c.schedule_id, schedule_ticks.c.seq)
# Claims that recorded neither a run nor a reason (few, and short-lived unless the
# claiming server stopped), by when they were claimed.
UNRECORDED_TICK = sa.and_(schedule_ticks.c.job_id.is_(None), schedule_ticks.c.reason.is_(None))
UNRECORDED_TICKS_INDEX = _partial_index(
    "schedule_ticks_unrecorded", schedule_ticks.c.recorded_at, UNRECORDED_TICK
)
