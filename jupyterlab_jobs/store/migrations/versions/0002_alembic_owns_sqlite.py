"""SQLite files are now versioned by alembic: raise PRAGMA user_version to 4, so that
releases with the hand-written store (which accept up to 3) refuse the file with their
"newer than this jupyterlab-jobs" message instead of writing to it."""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("PRAGMA user_version=4")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        bind.exec_driver_sql("PRAGMA user_version=3")
