"""Conversation storage on SQLite (embedded default) or PostgreSQL, with the SQL written once.

Queries use `?` placeholders and are translated to psycopg2's `%s` for PostgreSQL; values
always travel as parameters, never inside the SQL text. A webhook does all its writes in
one `transaction()`, so a message costs one commit, and duplicates are caught by the
unique key of `processed_events`, which also keeps what was answered, to replay to retries.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from .config import mask_url
from .errors import StoreError, StoreUnavailable

T = TypeVar("T")

#: Seconds a SQLite writer waits for the file's write lock (held by another process or thread)
#: before giving up; the webhook then keeps its message in the journal.
SQLITE_LOCK_WAIT = 3.0
#: SQLite result codes that mean "not now" (busy, locked, I/O error, full, cannot open,
#: read-only), as opposed to an error in the SQL itself.
SQLITE_OUTAGES = {5, 6, 8, 10, 13, 14}
#: PostgreSQL: no wait without a bound. The server cancels a statement after STATEMENT_TIMEOUT
#: and drops a connection idle in a transaction; TCP keepalives notice a dead peer.
PG_CONNECT_TIMEOUT = 3  # seconds, libpq's connect_timeout
PG_OPTIONS = "-c statement_timeout=5000 -c idle_in_transaction_session_timeout=15000"
PG_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "tcp_user_timeout": 9000,  # ms unacknowledged before the kernel gives up
}

# Column types that differ between the two databases; everything else is shared SQL.
TYPES = {
    "sqlite": {
        "id": "INTEGER PRIMARY KEY",
        "json": "TEXT",
        "time": "TEXT",
        "keyed": " WITHOUT ROWID",  # the primary key is the table: one b-tree write, not two
    },
    "postgresql": {
        "id": "BIGSERIAL PRIMARY KEY",
        "json": "JSONB",
        "time": "TIMESTAMPTZ",
        "keyed": "",
    },
}

FIELDS = (
    "id",
    "channel",
    "direction",
    "external_id",
    "sender",
    "recipient",
    "body",
    "media",
    "status",
    "created_at",
    "raw",
    "in_reply_to",
)
COLUMNS = ", ".join(FIELDS)


def now() -> str:
    """The current UTC time as ISO 8601 text, which both databases accept."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


#: JSON text for the `media`, `raw` and `response` columns (one encoder, made once).
_to_json = json.JSONEncoder(ensure_ascii=False).encode


def _decode_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _row_to_message(row: tuple) -> dict[str, Any]:
    message = dict(zip(FIELDS, row, strict=True))
    message["media"] = _decode_json(message["media"])
    message["raw"] = _decode_json(message["raw"])
    if isinstance(message["created_at"], datetime):
        message["created_at"] = message["created_at"].astimezone(timezone.utc).isoformat()
    return message


class Tx:
    """The writes and reads of one transaction. Obtain it from `Store.transaction()`."""

    def __init__(self, store: Store, cursor: Any) -> None:
        self._store = store
        self._cursor = cursor
        self.now = now()  # one timestamp for everything this transaction writes

    def execute(self, sql: str, params: tuple = ()) -> Any:
        self._cursor.execute(self._store.sql(sql), params)
        return self._cursor

    def claim_event(self, channel: str, key: str, response: Any = None) -> bool:
        """Record that event `key` was seen; True only the first time (deduplication).

        `response` (stored as JSON) is what the first delivery answered: a retry of the
        same event gets it back from `event_response` instead of a second answer.
        """
        cur = self.execute(
            "INSERT INTO processed_events (channel, event_key, first_seen, response) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                channel,
                str(key),
                self.now,
                None if response is None else _to_json(response),
            ),
        )
        return cur.rowcount == 1

    def event_response(self, channel: str, key: str) -> Any:
        """The response recorded with event `key`, or None if the event was not seen."""
        row = self.execute(
            "SELECT response FROM processed_events WHERE channel = ? AND event_key = ?",
            (channel, str(key)),
        ).fetchone()
        return None if row is None else _decode_json(row[0])

    def add_message(
        self,
        *,
        channel: str,
        direction: str,
        body: str | None,
        external_id: str | None = None,
        sender: str | None = None,
        recipient: str | None = None,
        media: Any = None,
        status: str | None = None,
        raw: Any = None,
        in_reply_to: str | None = None,
    ) -> int:
        """Store one message and return its id. `media` and `raw` are stored as JSON."""
        return self._insert(
            "INSERT INTO messages (channel, direction, external_id, sender, recipient, body, "
            "media, status, created_at, raw, in_reply_to) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                channel,
                direction,
                external_id,
                sender,
                recipient,
                body,
                None if media is None else _to_json(media),
                status,
                self.now,
                None if raw is None else _to_json(raw),
                in_reply_to,
            ),
        )

    def _insert(self, sql: str, params: tuple) -> int:
        """Run an INSERT and return the new row's id.

        SQLite hands the id to the cursor (`lastrowid`) for free, while RETURNING makes it
        gather a result set for every insert; PostgreSQL needs RETURNING.
        """
        if self._store.dialect == "postgresql":
            return int(self.execute(sql + " RETURNING id", params).fetchone()[0])
        return int(self.execute(sql, params).lastrowid)

    def conversation(self, channel: str, party: str, limit: int = 10) -> list[dict[str, Any]]:
        """See `Store.conversation`."""
        rows = self.execute(
            f"SELECT {COLUMNS} FROM messages WHERE channel = ? "
            "AND (sender = ? OR recipient = ?) ORDER BY id DESC LIMIT ?",
            (channel, party, party, int(limit)),
        ).fetchall()
        return [_row_to_message(r) for r in reversed(rows)]

    def set_status(self, message_id: int, status: str) -> bool:
        """Set the status of the message stored with id `message_id`; False if there is none."""
        cur = self.execute("UPDATE messages SET status = ? WHERE id = ?", (status, message_id))
        return cur.rowcount == 1


@dataclass(frozen=True)
class Location:
    """Where the database is: a dialect and what its driver needs to connect."""

    dialect: str
    target: str  # a file path (SQLite) or a libpq URL (PostgreSQL)

    @classmethod
    def parse(cls, url: str) -> Location:
        scheme = urlsplit(url).scheme
        if scheme == "sqlite":
            path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
            if not path:
                raise StoreError(
                    f"DATABASE_URL={mask_url(url)!r}: para SQLite usa sqlite:///ruta/al/archivo.db"
                )
            return cls("sqlite", path if path == ":memory:" else str(Path(path)))
        if scheme in ("postgresql", "postgres"):
            return cls("postgresql", url)
        raise StoreError(
            f"DATABASE_URL={mask_url(url)!r} no es compatible: usa sqlite:///archivo.db o "
            "postgresql://usuario@host:5432/base"
        )


class Store:
    """A small pool of connections to one database, plus the kit's queries."""

    def __init__(self, url: str, pool_size: int = 8) -> None:
        self.url = url
        self.location = Location.parse(url)
        self.dialect = self.location.dialect
        self.pool_size = pool_size
        self._idle: deque[Any] = deque()  # append/pop are atomic: no lock needed
        # SQLite lets one writer in at a time and makes the others poll with growing sleeps;
        # queueing this process's writers on a lock hands the turn over at once instead.
        self._writer = threading.RLock() if self.dialect == "sqlite" else None

    @classmethod
    def from_settings(cls, settings: Any) -> Store:
        return cls(settings.database_url)

    def sql(self, text: str) -> str:
        """The same SQL for both databases: only the placeholder style differs."""
        return text.replace("?", "%s") if self.dialect == "postgresql" else text

    # -- connections -------------------------------------------------------------------

    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            path = self.location.target
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                path, timeout=SQLITE_LOCK_WAIT, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn
        import psycopg2
        from psycopg2.extensions import parse_dsn

        try:
            params = parse_dsn(self.location.target)
            params["options"] = f"{params.get('options', '')} {PG_OPTIONS}".strip()
            params.setdefault("connect_timeout", str(PG_CONNECT_TIMEOUT))
            return psycopg2.connect(**{**PG_KEEPALIVES, **params})
        except psycopg2.OperationalError as exc:
            raise StoreError(
                f"No se pudo conectar a PostgreSQL ({self.masked_url()}): {str(exc).strip()}. "
                "¿Está encendido el servidor? ¿Usuario y contraseña correctos en DATABASE_URL?"
            ) from exc

    def _borrow(self) -> Any:
        try:
            return self._idle.pop()
        except IndexError:
            return self._connect()

    def _give_back(self, conn: Any, healthy: bool) -> None:
        """Keep a healthy connection for the next caller; close a broken or surplus one."""
        if healthy and len(self._idle) < self.pool_size:
            self._idle.append(conn)
        else:
            conn.close()

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Tx]:
        """All-or-nothing: commit at the end of the block, roll back on any exception.

        `write=False` is for reads: on SQLite each statement then reads the latest commit
        by itself, without the cost of BEGIN and COMMIT.
        """
        postgres = self.dialect == "postgresql"
        explicit = postgres or write
        with self._write_turn() if write else contextlib.nullcontext():
            conn = self._borrow()
            cur = conn.cursor()
            healthy = False  # a connection that failed to commit or roll back is not reused
            try:
                if not postgres and write:
                    # IMMEDIATE takes the write lock up front, so two writers never deadlock.
                    cur.execute("BEGIN IMMEDIATE")
                try:
                    yield Tx(self, cur)
                except BaseException:
                    if explicit:
                        conn.rollback() if postgres else cur.execute("ROLLBACK")
                    healthy = True
                    raise
                if explicit:
                    conn.commit() if postgres else cur.execute("COMMIT")
                healthy = True
            finally:
                cur.close()
                self._give_back(conn, healthy)

    @contextmanager
    def _write_turn(self) -> Iterator[None]:
        """This process's turn to write, waited for SQLITE_LOCK_WAIT seconds at most."""
        if self._writer is None:  # PostgreSQL queues writers itself
            yield
            return
        if not self._writer.acquire(timeout=SQLITE_LOCK_WAIT):
            raise StoreUnavailable(
                f"La base {self.masked_url()} sigue ocupada por otra escritura después de "
                f"{SQLITE_LOCK_WAIT:g} s."
            )
        try:
            yield
        finally:
            self._writer.release()

    def run(
        self, work: Callable[[Tx], T], *, write: bool = True, timeout: float | None = None
    ) -> T:
        """`work(tx)` in one transaction, where a lost connection costs no message.

        A connection that broke (kept in the pool while the server restarted) is replaced
        and the work tried once more on a fresh one: `work` must be safe to repeat, as
        webhook writes are thanks to their `claim_event`. On PostgreSQL the call gives up
        after `timeout` seconds even when the network is frozen (no error ever comes back
        then): the work goes on in its own thread, and whatever it may still commit is
        deduplicated by the same claim. Raises `StoreUnavailable` when the database cannot
        do it now.
        """
        if timeout is None or self.dialect == "sqlite":  # SQLite's waits are bounded already
            return self._run_retrying(work, write)
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def attempt() -> None:
            try:
                outcome["value"] = self._run_retrying(work, write)
            except BaseException as exc:
                outcome["error"] = exc
            finally:
                done.set()

        threading.Thread(target=attempt, name="store-run", daemon=True).start()
        if not done.wait(max(timeout, 0.0)):
            raise StoreUnavailable(f"La base {self.masked_url()} no respondió en {timeout:.1f} s.")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def _run_retrying(self, work: Callable[[Tx], T], write: bool) -> T:
        for attempt in (1, 2):
            try:
                with self.transaction(write=write) as tx:
                    return work(tx)
            except Exception as exc:
                if not self.is_outage(exc):
                    raise
                if attempt == 2 or self.dialect == "sqlite":
                    raise StoreUnavailable(
                        f"La base {self.masked_url()} no está disponible: {str(exc).strip()}"
                    ) from exc
                self.close()  # the other pooled connections went stale with this one
        raise AssertionError("unreachable")

    def is_outage(self, exc: BaseException) -> bool:
        """Whether `exc` says the database is unreachable or busy now (worth keeping the
        message in the journal), rather than that the SQL itself is wrong."""
        if isinstance(exc, StoreError):
            return True
        if self.dialect == "sqlite":
            code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
            text = str(exc).lower()
            return isinstance(exc, sqlite3.OperationalError) and (
                (code is not None and code & 0xFF in SQLITE_OUTAGES)
                or any(word in text for word in ("locked", "disk", "i/o", "unable to open"))
            )
        import psycopg2

        return isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError))

    def close(self) -> None:
        """Close every idle connection (connections in use close when returned)."""
        while self._idle:
            self._idle.pop().close()

    def masked_url(self) -> str:
        """The URL with any password hidden, for messages."""
        return mask_url(self.url)

    # -- schema and reads --------------------------------------------------------------

    def init_schema(self) -> None:
        """Create the tables, or bring an older kit's up to date: Alembic's migrations own
        the schema (`lab_server.schema`); safe and nearly free to run at every start."""
        from .schema import ensure

        ensure(self)

    def list_messages(self, channel: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The newest `limit` messages (of one channel, if given), newest first."""
        where, params = ("WHERE channel = ?", (channel,)) if channel else ("", ())
        with self.transaction(write=False) as tx:
            rows = tx.execute(
                f"SELECT {COLUMNS} FROM messages {where} ORDER BY id DESC LIMIT ?",
                (*params, int(limit)),
            ).fetchall()
        return [_row_to_message(r) for r in rows]

    def conversation(self, channel: str, party: str, limit: int = 10) -> list[dict[str, Any]]:
        """The last `limit` messages exchanged with `party` on `channel`, oldest first."""
        with self.transaction(write=False) as tx:
            return tx.conversation(channel, party, limit)

    def count(self, table: str = "messages") -> int:
        """Rows in one of the kit's tables (used by notebooks and tests)."""
        if table not in ("messages", "processed_events", "oauth_tokens", "posts", "publications"):
            raise ValueError(f"tabla desconocida: {table}")
        with self.transaction(write=False) as tx:
            return int(tx.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def ping(self, timeout: float | None = None) -> None:
        """Raise `StoreError` if the database cannot be reached (within `timeout` seconds)."""
        self.run(lambda tx: tx.execute("SELECT 1").fetchone(), write=False, timeout=timeout)
