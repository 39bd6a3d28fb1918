"""Alembic environment: always run with the connection `assistant.migrations.upgrade` passes."""

from __future__ import annotations

from alembic import context

from assistant.storage import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through assistant.migrations.upgrade (or Storage)")
# render_as_batch: SQLite cannot ALTER most things; batch mode copies the table instead.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
