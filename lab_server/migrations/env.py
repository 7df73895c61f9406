"""Alembic's environment: runs the revisions on the connection `lab_server.schema` opens.

The kit writes its SQL by hand (no SQLAlchemy models), so there is no `target_metadata` and
no autogenerate: each revision says its DDL for SQLite and PostgreSQL.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the kit always passes its connection
    raise RuntimeError("Usa lab_server.schema (lab-server db upgrade) para migrar la base.")

context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
