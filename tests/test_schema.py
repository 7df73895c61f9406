"""Alembic owns the schema: fresh databases, databases made by the kit before migrations,
the fast path at start, and the `lab-server db` commands, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

from lab_server import schema
from lab_server.cli import main
from lab_server.store import Store

#: The DDL of the kit just before migrations (store.SCHEMA as `Store.init_schema()` ran it),
#: kept here verbatim: the migrations must upgrade what it made.
BEFORE_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS messages (
    id {id}, channel TEXT NOT NULL, direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    external_id TEXT, sender TEXT, recipient TEXT, body TEXT, media {json}, status TEXT,
    created_at {time} NOT NULL, raw {json}, in_reply_to TEXT);
CREATE INDEX IF NOT EXISTS messages_sent ON messages (channel, external_id)
    WHERE direction = 'out' AND external_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS processed_events (channel TEXT NOT NULL, event_key TEXT NOT NULL,
    first_seen {time} NOT NULL, response {json}, PRIMARY KEY (channel, event_key)){keyed};
CREATE TABLE IF NOT EXISTS oauth_tokens (provider TEXT NOT NULL, account_id TEXT NOT NULL,
    account_name TEXT, scopes TEXT NOT NULL, access_token TEXT NOT NULL, refresh_token TEXT,
    expires_at {time}, issued_at {time}, extra {json}, created_at {time} NOT NULL,
    updated_at {time} NOT NULL, PRIMARY KEY (provider, account_id)){keyed};
INSERT INTO messages (channel, direction, sender, body, created_at)
    VALUES ('whatsapp', 'in', 'whatsapp:+59170000009', 'mensaje de antes',
            '2026-01-02T03:04:05+00:00');
INSERT INTO oauth_tokens (provider, account_id, scopes, access_token, created_at, updated_at)
    VALUES ('linkedin', 'abc', 'openid', 'gAAAA-sealed', '2026-01-02T03:04:05+00:00',
            '2026-01-02T03:04:05+00:00')
"""
OLD_TYPES = {
    "sqlite": dict(id="INTEGER PRIMARY KEY", json="TEXT", time="TEXT", keyed=" WITHOUT ROWID"),
    "postgresql": dict(id="BIGSERIAL PRIMARY KEY", json="JSONB", time="TIMESTAMPTZ", keyed=""),
}


def tables(store: Store) -> set[str]:
    sql = (
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        if store.dialect == "sqlite"
        else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    )
    with store.transaction(write=False) as tx:
        return {row[0] for row in tx.execute(sql).fetchall()}


def test_head_constant_matches_the_migration_files():
    assert schema.script_head() == schema.HEAD
    assert [r for r, _, _ in schema.history()] == ["0001", "0002"]


def test_a_fresh_database_gets_every_table_at_head(database_url):
    store = Store(database_url)
    store.init_schema()
    assert schema.current(database_url) == schema.HEAD
    assert {"messages", "processed_events", "oauth_tokens", "posts", "publications"} <= tables(
        store
    )
    store.init_schema()  # at head: nothing to do, nothing fails
    assert store.count("posts") == 0
    store.close()


def test_a_database_made_before_migrations_is_upgraded_in_place(database_url):
    old = Store(database_url)
    with old.transaction() as tx:
        for statement in BEFORE_MIGRATIONS.format(**OLD_TYPES[old.dialect]).split(";"):
            tx.execute(statement)
    assert schema.current_revision(old) is None
    old.close()

    store = Store(database_url)
    store.init_schema()
    assert schema.current_revision(store) == schema.HEAD
    [message] = store.list_messages()
    assert message["body"] == "mensaje de antes"
    assert store.count("oauth_tokens") == 1
    assert {"posts", "publications"} <= tables(store)
    store.close()


def test_downgrade_and_upgrade_again(database_url):
    Store(database_url).init_schema()
    schema.downgrade(database_url, "0001")
    store = Store(database_url)
    assert schema.current(database_url) == "0001"
    assert "posts" not in tables(store)
    store.init_schema()
    assert "posts" in tables(store)
    store.close()


def test_start_at_head_does_not_import_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    Store(url).init_schema()
    code = (
        "import sys; from lab_server.store import Store; "
        f"Store({url!r}).init_schema(); "
        "print('alembic' in sys.modules, 'sqlalchemy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_db_commands(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'lab.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    assert main(["db", "current"]) == 0
    assert "sin migraciones" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert "revisión 0002" in capsys.readouterr().out
    assert main(["db", "history"]) == 0
    assert "<base> -> 0001" in capsys.readouterr().out
    assert main(["db", "seed"]) == 0
    assert "3 publicaciones nuevas" in capsys.readouterr().out
    assert main(["db", "seed"]) == 0  # idempotent
    assert "0 publicaciones nuevas" in capsys.readouterr().out
    assert Store(url).count("posts") == 3
