"""The course project's tables: `posts` and their `publications`, one per network.

As in the course spec (UUID ids, post status draft|processing|published|failed, publication
status pending|published|failed, `metadata` JSON, `error_message`, `published_at`), plus
what exactly-once publishing and scheduling need: an idempotency key, the attempt counts,
`publish_at`, when the next attempt is due, who holds the job (a lease), whether an attempt
is in flight, and the provider's id and URL of the post.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-20
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TYPES = {
    "sqlite": {"uuid": "TEXT", "json": "TEXT", "time": "TEXT"},
    "postgresql": {"uuid": "UUID", "json": "JSONB", "time": "TIMESTAMPTZ"},
}

SCHEMA = """
CREATE TABLE posts (
    id {uuid} PRIMARY KEY,
    title VARCHAR(500) NOT NULL,
    content TEXT NOT NULL,
    image_url TEXT,
    status TEXT NOT NULL DEFAULT 'draft'
        CHECK (status IN ('draft', 'processing', 'published', 'failed')),
    metadata {json},
    created_at {time} NOT NULL,
    updated_at {time} NOT NULL
);
CREATE INDEX posts_created ON posts (created_at);
CREATE TABLE publications (
    id {uuid} PRIMARY KEY,
    post_id {uuid} NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    network TEXT NOT NULL,
    adapted_content TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'published', 'failed')),
    published_at {time},
    error_message TEXT,
    metadata {json},
    idempotency_key TEXT NOT NULL UNIQUE,
    attempts INTEGER NOT NULL DEFAULT 0,
    retry_count INTEGER NOT NULL DEFAULT 0,
    publish_at {time},
    requested_at {time},
    next_attempt_at {time},
    enqueued_at {time},
    lease_owner TEXT,
    lease_until {time},
    in_flight_since {time},
    provider_id TEXT,
    provider_url TEXT,
    created_at {time} NOT NULL,
    updated_at {time} NOT NULL,
    UNIQUE (post_id, network)
);
CREATE INDEX publications_due ON publications (status, next_attempt_at)
"""


def upgrade() -> None:
    types = TYPES[op.get_bind().dialect.name]
    for statement in filter(str.strip, SCHEMA.format(**types).split(";")):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS publications")
    op.execute("DROP TABLE IF EXISTS posts")
