"""Schedule ticks: an index of the claims that recorded neither a run nor a reason, so
the engine finds those whose server stopped in between without reading every tick.

Revision 0003 creates a new database's tables from the current metadata, where this
index already exists: it is created only where it is missing.
"""

from __future__ import annotations

from alembic import op

from jupyterlab_jobs.store.schema import UNRECORDED_TICKS_INDEX

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    UNRECORDED_TICKS_INDEX.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    op.drop_index(str(UNRECORDED_TICKS_INDEX.name), "schedule_ticks")
