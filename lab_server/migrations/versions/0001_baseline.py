"""Baseline: the tables the kit created before migrations (messages, processed_events,
oauth_tokens), exactly as `Store.init_schema()` made them.

Idempotent on purpose: a database made by an earlier kit has these tables but no
`alembic_version`, so this revision runs on it too and only adds what that kit lacked (the
`processed_events.response` column, the current index, no retired indexes).

Revision ID: 0001
Revises:
Create Date: 2026-01-20
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TYPES = {
    "sqlite": {
        "id": "INTEGER PRIMARY KEY",
        "json": "TEXT",
        "time": "TEXT",
        "keyed": " WITHOUT ROWID",
    },
    "postgresql": {
        "id": "BIGSERIAL PRIMARY KEY",
        "json": "JSONB",
        "time": "TIMESTAMPTZ",
        "keyed": "",
    },
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id {id},
    channel TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    external_id TEXT,
    sender TEXT,
    recipient TEXT,
    body TEXT,
    media {json},
    status TEXT,
    created_at {time} NOT NULL,
    raw {json},
    in_reply_to TEXT
);
CREATE INDEX IF NOT EXISTS messages_sent ON messages (channel, external_id)
    WHERE direction = 'out' AND external_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS processed_events (
    channel TEXT NOT NULL,
    event_key TEXT NOT NULL,
    first_seen {time} NOT NULL,
    response {json},
    PRIMARY KEY (channel, event_key)
){keyed};
CREATE TABLE IF NOT EXISTS oauth_tokens (
    provider TEXT NOT NULL,
    account_id TEXT NOT NULL,
    account_name TEXT,
    scopes TEXT NOT NULL,
    access_token TEXT NOT NULL,
    refresh_token TEXT,
    expires_at {time},
    issued_at {time},
    extra {json},
    created_at {time} NOT NULL,
    updated_at {time} NOT NULL,
    PRIMARY KEY (provider, account_id)
){keyed};
DROP INDEX IF EXISTS messages_external;
DROP INDEX IF EXISTS messages_reply
"""
#: Columns added after their table first shipped (before migrations existed).
ADDED_COLUMNS = (("processed_events", "response", "json"),)


def upgrade() -> None:
    bind = op.get_bind()
    types = TYPES[bind.dialect.name]
    for statement in filter(str.strip, SCHEMA.format(**types).split(";")):
        op.execute(statement)
    for table, column, kind in ADDED_COLUMNS:
        present = {c["name"] for c in _columns(bind, table)}
        if column not in present:
            op.execute(f"ALTER TABLE {table} ADD COLUMN {column} {types[kind]}")


def _columns(bind, table: str) -> list[dict]:
    from sqlalchemy import inspect

    return inspect(bind).get_columns(table)


def downgrade() -> None:
    for table in ("oauth_tokens", "processed_events", "messages"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
