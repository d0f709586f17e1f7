"""Alembic environment: migrations run on the connection that ``migrate.upgrade`` passes
(inside its transaction and lock), never from an ini file's URL."""

from __future__ import annotations

from alembic import context

from jupyterlab_jobs.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
