"""Schedule ticks: an index of the claims that recorded neither a run nor a reason, so
the engine finds those whose server stopped in between without reading every tick.

Revision 0003 creates a new database's tables from the current metadata, where this
index already exists: it is created only where it is missing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from jupyterlab_jobs.store.schema import UNRECORDED_TICK

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEX = "schedule_ticks_unrecorded"


def upgrade() -> None:
    indexes = {index["name"] for index in sa.inspect(op.get_bind()).get_indexes("schedule_ticks")}
    if INDEX not in indexes:
        op.create_index(
            INDEX,
            "schedule_ticks",
            ["recorded_at"],
            sqlite_where=UNRECORDED_TICK,
            postgresql_where=UNRECORDED_TICK,
        )


def downgrade() -> None:
    op.drop_index(INDEX, "schedule_ticks")
