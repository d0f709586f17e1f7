"""Schedules: the schedules and schedule_ticks tables; jobs gain trigger and scheduled_for.

Revision 0001 creates a new database's jobs table from the current metadata, so there the
new job columns already exist: they are added only where they are missing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jupyterlab_jobs.store.schema import DOUBLE_TYPE, schedule_ticks, schedules

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    columns = {column["name"] for column in inspector.get_columns("jobs")}
    with op.batch_alter_table("jobs") as batch:
        if "trigger" not in columns:
            batch.add_column(sa.Column("trigger", sa.Text, nullable=False, server_default="manual"))
        if "scheduled_for" not in columns:
            batch.add_column(sa.Column("scheduled_for", DOUBLE_TYPE))
    if "trigger" not in columns:
        op.execute("UPDATE jobs SET \"trigger\" = 'rerun' WHERE rerun_of IS NOT NULL")
    indexes = {index["name"] for index in inspector.get_indexes("jobs")}
    if "jobs_schedule" not in indexes:
        op.create_index("jobs_schedule", "jobs", ["schedule_id", "seq"])
    for table in (schedules, schedule_ticks):
        if not inspector.has_table(table.name):
            table.create(bind)


def downgrade() -> None:
    op.drop_table("schedule_ticks")
    op.drop_table("schedules")
    op.drop_index("jobs_schedule", "jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("scheduled_for")
        batch.drop_column("trigger")
