"""The job table as the hand-written SQLite store left it (its schema version 3).

A new database gets the table here. A SQLite file of an earlier release already has it:
it is kept as it is (its older versions 1 and 2 first get the columns and index they
lacked), so every job, log reference and notebook snapshot stays.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jupyterlab_jobs.store.schema import jobs

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The hand-written store's steps from its versions 1 and 2 (PRAGMA user_version).
LEGACY_STEPS = {
    1: [
        "ALTER TABLE jobs ADD COLUMN notebook TEXT",
        "ALTER TABLE jobs ADD COLUMN parameters TEXT",
        "ALTER TABLE jobs ADD COLUMN output_path TEXT",
    ],
    2: [
        "CREATE INDEX jobs_logs_kept ON jobs (finished_at) WHERE logs_available = 1 "
        "AND finished_at IS NOT NULL"
    ],
}


def upgrade() -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("jobs"):
        jobs.create(bind)
        return
    if bind.dialect.name == "sqlite":
        version = bind.exec_driver_sql("PRAGMA user_version").scalar_one()
        for step in range(version, 3):
            for statement in LEGACY_STEPS.get(step, []):
                bind.exec_driver_sql(statement)


def downgrade() -> None:
    op.drop_table("jobs")
