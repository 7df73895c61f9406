"""The same store tests on SQLite and on a real PostgreSQL server (`database_url` fixture)."""

import threading

import pytest

from lab_server.errors import StoreError
from lab_server.store import TYPES, Store


@pytest.fixture
def store(database_url):
    store = Store(database_url)
    store.init_schema()
    yield store
    store.close()


def add(tx, **fields):
    base = {"channel": "whatsapp", "direction": "in", "body": "hola"}
    return tx.add_message(**{**base, **fields})


def test_schema_creation_is_idempotent(store):
    store.init_schema()
    store.init_schema()
    assert store.count() == 0


def test_messages_round_trip_with_json_and_free_text_ids(store):
    with store.transaction() as tx:
        msg_id = add(
            tx,
            external_id="SM" + "a" * 32,
            sender="whatsapp:US.ABC123XYZ",
            recipient="whatsapp:+14155238886",
            body="¿Cómo hago el retiro? 📚",
            media=[{"url": "http://x/1.jpg", "content_type": "image/jpeg"}],
            status="received",
            raw={"Body": "¿Cómo hago el retiro? 📚", "WaId": "591700"},
        )
    [message] = store.list_messages()
    assert message["id"] == msg_id
    assert message["sender"] == "whatsapp:US.ABC123XYZ"
    assert message["body"] == "¿Cómo hago el retiro? 📚"
    assert message["media"] == [{"url": "http://x/1.jpg", "content_type": "image/jpeg"}]
    assert message["raw"]["WaId"] == "591700"
    assert message["created_at"].startswith("20")


#: The schema as the kit's first release created it (before processed_events kept the answer).
FIRST_SCHEMA = """
CREATE TABLE messages (id {id}, channel TEXT NOT NULL, direction TEXT NOT NULL,
    external_id TEXT, sender TEXT, recipient TEXT, body TEXT, media {json}, status TEXT,
    created_at {time} NOT NULL, raw {json}, in_reply_to TEXT);
CREATE INDEX messages_reply ON messages (channel, in_reply_to) WHERE in_reply_to IS NOT NULL;
CREATE INDEX messages_external ON messages (channel, external_id) WHERE external_id IS NOT NULL;
CREATE TABLE processed_events (channel TEXT NOT NULL, event_key TEXT NOT NULL,
    first_seen {time} NOT NULL, PRIMARY KEY (channel, event_key)){keyed};
INSERT INTO processed_events VALUES ('whatsapp', 'SMold', '2026-11-01T00:00:00+00:00')
"""


def test_a_database_from_the_first_release_is_brought_up_to_date(database_url):
    old = Store(database_url)
    with old.transaction() as tx:
        for statement in FIRST_SCHEMA.format(**TYPES[old.dialect]).split(";"):
            tx.execute(statement)
    old.close()
    store = Store(database_url)
    store.init_schema()
    store.init_schema()
    with store.transaction() as tx:
        assert tx.claim_event("whatsapp", "SMold", response=["otra"]) is False
        assert tx.event_response("whatsapp", "SMold") is None
        assert tx.claim_event("whatsapp", "SMnew", response=["¡Hola!"]) is True
        assert tx.event_response("whatsapp", "SMnew") == ["¡Hola!"]
        indexes = (
            "SELECT name FROM sqlite_master WHERE type = 'index'"
            if store.dialect == "sqlite"
            else "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        )
        names = {row[0] for row in tx.execute(indexes).fetchall()}
    store.close()
    assert "messages_sent" in names
    assert not names & {"messages_reply", "messages_external"}


def test_claim_event_is_true_only_once_per_channel(store):
    with store.transaction() as tx:
        assert tx.claim_event("whatsapp", "SM1") is True
        assert tx.claim_event("whatsapp", "SM1") is False
        assert tx.claim_event("telegram", "SM1") is True
    assert store.count("processed_events") == 2


def test_a_failed_transaction_leaves_nothing(store):
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.claim_event("whatsapp", "SM2")
        add(tx)
        raise RuntimeError("boom")
    assert store.count() == 0
    assert store.count("processed_events") == 0


def test_values_are_parameters_not_sql(store):
    evil = "x'); DROP TABLE messages; --"
    with store.transaction() as tx:
        add(tx, body=evil, sender=evil)
    assert store.list_messages()[0]["body"] == evil
    assert store.count() == 1


def test_list_filters_by_channel_newest_first_and_limits(store):
    with store.transaction() as tx:
        for i in range(5):
            add(tx, channel="whatsapp" if i % 2 else "telegram", body=f"m{i}")
    assert [m["body"] for m in store.list_messages(limit=2)] == ["m4", "m3"]
    assert [m["body"] for m in store.list_messages(channel="telegram")] == ["m4", "m2", "m0"]


def test_conversation_is_the_last_n_with_one_party_oldest_first(store):
    with store.transaction() as tx:
        for i in range(4):
            add(tx, sender="whatsapp:+1", recipient="bot", body=f"q{i}")
            add(tx, direction="out", sender="bot", recipient="whatsapp:+1", body=f"a{i}")
        add(tx, sender="whatsapp:+2", recipient="bot", body="other")
    history = store.conversation("whatsapp", "whatsapp:+1", limit=3)
    assert [m["body"] for m in history] == ["a2", "q3", "a3"]


def test_a_claim_keeps_the_first_response_for_retries(store):
    with store.transaction() as tx:
        assert tx.event_response("whatsapp", "SM9") is None
        assert tx.claim_event("whatsapp", "SM9", response=["¡Hola! 👋", "Parte 2"]) is True
        assert tx.claim_event("whatsapp", "SM9", response=["otra respuesta"]) is False
        assert tx.claim_event("whatsapp", "SM10", response=[]) is True
        assert tx.claim_event("telegram", "77") is True
    with store.transaction(write=False) as tx:
        assert tx.event_response("whatsapp", "SM9") == ["¡Hola! 👋", "Parte 2"]
        assert tx.event_response("whatsapp", "SM10") == []
        assert tx.event_response("telegram", "77") is None
        assert tx.event_response("telegram", "SM9") is None


def test_status_is_set_by_message_id(store):
    with store.transaction() as tx:
        add(tx, external_id="SM9")
        last = add(tx, direction="out", body="dos", in_reply_to="SM9", external_id="SMout")
        assert tx.set_status(last, "delivered") is True
        assert tx.set_status(last + 1, "delivered") is False
    assert [m["status"] for m in store.list_messages()] == ["delivered", None]


def test_concurrent_claims_have_exactly_one_winner(store):
    wins = []

    def claim():
        with store.transaction() as tx:
            if tx.claim_event("whatsapp", "SAME"):
                add(tx, external_id="SAME")
                wins.append(1)

    threads = [threading.Thread(target=claim) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert store.count() == 1


@pytest.mark.parametrize("url", ["mysql://x", "sqlite://", "nada"])
def test_unsupported_urls_say_what_to_use(url):
    with pytest.raises(StoreError, match="sqlite:///"):
        Store(url)


def test_unreachable_postgres_is_a_clear_error():
    store = Store("postgresql://nobody:secretpw@127.0.0.1:1/none")
    with pytest.raises(StoreError) as info:
        store.ping()
    assert "PostgreSQL" in str(info.value) and "secretpw" not in str(info.value)
