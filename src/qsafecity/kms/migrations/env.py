"""Alembic environment: runs on the connection ``kms.sql.migrate`` passes in."""

from __future__ import annotations

from alembic import context

from qsafecity.kms.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table="kms_alembic_version",
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
