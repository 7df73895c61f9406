"""Nothing received is lost while the database is down: a local journal, replayed exactly once.

A webhook's writes (the claim of its event, the inbound message and its replies) travel as
one `Record`. `Keeper.write` puts it in the database, or, when the database cannot take it
now (`StoreUnavailable`: server down, network frozen, SQLite file locked), appends it to a
JSON Lines file in LAB_DATA_DIR, flushed to disk before the webhook answers. The webhook
then answers as usual, from responses.json.

While the database is down, webhooks go straight to the journal instead of waiting for it
each time (a circuit breaker), and one background thread probes the database; when it
answers, the thread writes the journal's records in order and empties it. A record is
written with its event claim, so one that already reached the database (the process died
after committing it but before emptying the journal, or a write given up on committed
after all) is skipped: exactly once. The journal is read back at start, so a server killed
mid-outage loses nothing it acknowledged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import DataDirError, StoreUnavailable
from .store import Store, Tx

log = logging.getLogger(__name__)

JOURNAL_FILE = "journal.jsonl"
#: Seconds one database call of a webhook may take before the database counts as down.
DB_WAIT = 2.0
#: Seconds between probes of a database that is down.
PROBE_INTERVAL = 0.5
#: Seconds one probe (or one replayed record) may take.
PROBE_TIMEOUT = 4.0
#: Journal records written back per transaction.
REPLAY_BATCH = 50


@dataclass
class Record:
    """What one webhook writes: its event claim and the messages it stores."""

    channel: str
    key: str  # the event key claimed in processed_events (e.g. the MessageSid)
    response: Any  # what the webhook answered, replayed to retries
    messages: list[dict[str, Any]] = field(default_factory=list)  # Tx.add_message arguments


def write_record(tx: Tx, record: Record, claim: bool = True) -> tuple[bool, Any]:
    """Write `record` unless its event was claimed before.

    Returns (True, id of its first message) when written now, or (False, the response
    stored with the earlier claim). `claim=False` writes the messages without a claim (a
    late reply, which has no event of its own): the claim is made only when the record
    is replayed from the journal, where it may be written twice.
    """
    if claim and not tx.claim_event(record.channel, record.key, response=record.response):
        return False, tx.event_response(record.channel, record.key)
    ids = [tx.add_message(**message) for message in record.messages]
    return True, ids[0] if ids else None


class Journal:
    """An append-only JSON Lines file of records, mirrored in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self._records: list[Record] = []
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    self._records.append(Record(**json.loads(line)))
                except (ValueError, TypeError):
                    # the process died while writing this line, before acknowledging it
                    log.warning("Diario: se descarta una línea incompleta de %s", path)

    def __len__(self) -> int:
        return len(self._records)

    def response_for(self, channel: str, key: str) -> Any:
        """The response kept with a journaled event, or None (for a retry of it)."""
        with self.lock:
            for record in self._records:
                if record.channel == channel and record.key == key:
                    return record.response
        return None

    def append(self, record: Record) -> None:
        """Keep `record` on disk (flushed and synced) before the webhook acknowledges it.

        Raises `OSError` (disk full, folder gone): the caller must then not acknowledge.
        """
        line = json.dumps(asdict(record), ensure_ascii=False) + "\n"
        with self.lock:
            with open(self.path, "a", encoding="utf-8") as out:
                start = out.tell()
                try:
                    out.write(line)
                    out.flush()
                    os.fsync(out.fileno())
                except OSError:
                    out.truncate(start)  # no half line left for the next start to trip on
                    raise
            self._records.append(record)

    def head(self) -> list[Record]:
        with self.lock:
            return list(self._records)

    def drop_head(self, count: int) -> None:
        """Forget the first `count` records (written to the database), atomically on disk."""
        with self.lock:
            rest = self._records[count:]
            if rest:
                temporary = self.path.with_suffix(".tmp")
                with open(temporary, "w", encoding="utf-8") as out:
                    out.writelines(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in rest)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, self.path)
            else:
                self.path.unlink(missing_ok=True)
            self._records = rest


class Keeper:
    """Writes records to the database, or to the journal while the database is down."""

    def __init__(self, store: Store, data_dir: Path) -> None:
        self.store = store
        self.journal = Journal(data_dir / JOURNAL_FILE)
        self.up = True
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._replayer: threading.Thread | None = None
        if len(self.journal):  # left by a server that stopped during an outage
            log.warning("Diario: %d mensajes pendientes de guardar en la base", len(self.journal))
            self._start_replayer()

    @property
    def degraded(self) -> bool:
        return not self.up or len(self.journal) > 0

    def read(self, work: Callable[[Tx], Any], timeout: float) -> Any:
        """A read for a webhook; `StoreUnavailable` at once while the database is down."""
        if not self.up:
            raise StoreUnavailable(self.last_error or "la base de datos no está disponible")
        try:
            return self.store.run(work, write=False, timeout=timeout)
        except StoreUnavailable as exc:
            self._went_down(exc)
            raise

    def write(self, record: Record, timeout: float, claim: bool = True) -> tuple[bool, Any]:
        """Write `record` (see `write_record`); journaled when the database cannot take it.

        A journaled record counts as written now: (True, None). Raises `OSError` when
        even the journal cannot keep it; then nothing may be acknowledged.
        """
        if self.up:
            try:
                return self.store.run(lambda tx: write_record(tx, record, claim), timeout=timeout)
            except StoreUnavailable as exc:
                self._went_down(exc)
        self.journal.append(record)
        log.warning(
            "Diario: %s %s guardado en disco hasta que vuelva la base", record.channel, record.key
        )
        self._start_replayer()
        return True, None

    def _went_down(self, exc: StoreUnavailable) -> None:
        if self.up:
            log.error("Base de datos no disponible; los mensajes van al diario local: %s", exc)
        self.last_error = str(exc)
        self.up = False
        self.store.close()  # idle connections went bad with it; probes open fresh ones
        self._start_replayer()

    def _start_replayer(self) -> None:
        with self.journal.lock:
            if self._replayer is None or not self._replayer.is_alive():
                self._replayer = threading.Thread(
                    target=self._replay, name="journal-replay", daemon=True
                )
                self._replayer.start()

    def _replay(self) -> None:
        """Probe until the database answers, then write the journal back in order.

        Webhooks use the database again as soon as it answers, while the journal is written
        back behind them (a claim keeps either from storing a message twice), so a busy
        server is never stuck writing to the journal faster than it drains.
        """
        while not self._stop.is_set():
            try:
                self.store.ping(timeout=PROBE_TIMEOUT)
                if not self.up:
                    log.info("Base de datos disponible otra vez; se escribe el diario")
                self.up = True
                while batch := self.journal.head()[:REPLAY_BATCH]:
                    self.store.run(
                        lambda tx, b=batch: [write_record(tx, r) for r in b], timeout=PROBE_TIMEOUT
                    )
                    self.journal.drop_head(len(batch))
            except Exception as exc:  # keep probing: nothing in the journal may be dropped
                if isinstance(exc, StoreUnavailable):
                    self.up = False
                else:
                    log.exception("Diario: no se pudo escribir un registro en la base")
                self.last_error = str(exc)
                self._stop.wait(PROBE_INTERVAL)
                continue
            with self.journal.lock:
                if not len(self.journal):  # nothing appended meanwhile: done
                    self.last_error = None
                    self._replayer = None
                    return

    def close(self) -> None:
        self._stop.set()


def check_writable(folder: Path) -> None:
    """Create `folder` if needed; raise `DataDirError` unless it takes a synced write now
    (what the journal promises to every message it keeps)."""
    probe = folder / ".write-check"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as out:
            out.write(b"x" * 4096)
            out.flush()
            os.fsync(out.fileno())
        probe.unlink()
    except OSError as exc:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)
        raise DataDirError(folder, exc) from exc
