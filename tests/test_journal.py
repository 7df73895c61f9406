"""The journal on its own: read back after a crash, written once, on both databases."""

from __future__ import annotations

import time

from lab_server.journal import JOURNAL_FILE, Journal, Keeper, Record, write_record
from lab_server.store import Store


def record(key: str) -> Record:
    message = {"channel": "whatsapp", "direction": "in", "body": key, "external_id": key}
    return Record("whatsapp", key, ["respuesta"], [message])


def test_a_line_cut_by_a_crash_is_dropped_and_the_rest_kept(tmp_path):
    journal = Journal(tmp_path / JOURNAL_FILE)
    journal.append(record("SM1"))
    journal.append(record("SM2"))
    with open(journal.path, "a", encoding="utf-8") as out:
        out.write('{"channel": "whatsapp", "key": "SM3", "resp')  # killed mid-write
    again = Journal(journal.path)
    assert [r.key for r in again.head()] == ["SM1", "SM2"]
    assert again.response_for("whatsapp", "SM2") == ["respuesta"]
    again.drop_head(1)
    assert [r.key for r in Journal(journal.path).head()] == ["SM2"]
    again.drop_head(1)
    assert not journal.path.exists()


def test_records_already_in_the_database_are_not_written_twice(tmp_path, database_url):
    store = Store(database_url)
    store.init_schema()
    store.run(lambda tx: write_record(tx, record("SM1")))  # committed before the crash
    journal = Journal(tmp_path / JOURNAL_FILE)
    for key in ("SM1", "SM2", "SM3"):
        journal.append(record(key))
    keeper = Keeper(store, tmp_path)  # a restart finds the journal and writes it back
    deadline = time.monotonic() + 10
    while (len(keeper.journal) or keeper.degraded) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not keeper.degraded
    assert sorted(m["external_id"] for m in store.list_messages()) == ["SM1", "SM2", "SM3"]
    assert store.count("processed_events") == 3
    keeper.close()
    store.close()
