"""The SQL of the `posts` and `publications` tables, hand-written like the rest of the store.

Every state change of a publication is one conditional UPDATE, so two workers (or a worker
and the dispatcher) can never both act on it: a job first *claims* the publication (a lease
with its own owner token), and only the owner of a live lease may record an outcome.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from ..store import Store, Tx

POST_STATUSES = ("draft", "processing", "published", "failed")
PUBLICATION_STATUSES = ("pending", "published", "failed")

POST_FIELDS = (
    "id",
    "title",
    "content",
    "image_url",
    "status",
    "metadata",
    "created_at",
    "updated_at",
)
PUBLICATION_FIELDS = (
    "id", "post_id", "network", "adapted_content", "status", "published_at", "error_message",
    "metadata", "idempotency_key", "attempts", "retry_count", "publish_at", "requested_at",
    "next_attempt_at", "enqueued_at", "lease_owner", "lease_until", "in_flight_since",
    "provider_id", "provider_url", "created_at", "updated_at",
)  # fmt: skip
TIME_FIELDS = {
    "created_at", "updated_at", "published_at", "publish_at", "requested_at", "next_attempt_at",
    "enqueued_at", "lease_until", "in_flight_since",
}  # fmt: skip


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with microseconds: one format, so SQLite compares the text in time order."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value else None
    return datetime.fromisoformat(str(value)).astimezone(timezone.utc)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _row(fields: tuple[str, ...], row: tuple) -> dict[str, Any]:
    out = dict(zip(fields, row, strict=True))
    for name, value in out.items():
        if name in TIME_FIELDS and value is not None:
            out[name] = iso(parse_time(value))  # type: ignore[arg-type]
        elif name == "id" or name == "post_id":
            out[name] = str(value)
    if isinstance(out.get("metadata"), str):
        out["metadata"] = json.loads(out["metadata"])
    out["metadata"] = out.get("metadata") or {}
    return out


def is_uuid(text: Any) -> bool:
    try:
        uuid.UUID(str(text))
    except ValueError:
        return False
    return isinstance(text, str)


class Records:
    """Reads and writes of posts and publications, over the lab's `Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- posts ------------------------------------------------------------------------

    def create_post(
        self,
        title: str,
        content: str,
        image_url: str | None,
        now: datetime,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        post_id = str(uuid.uuid4())
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO posts (id, title, content, image_url, status, metadata, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, 'draft', ?, ?, ?)",
                (post_id, title, content, image_url, _json(metadata or {}), iso(now), iso(now)),
            )
        return post_id

    def _select(self, fields: tuple[str, ...], sql: str, params: tuple, tx: Tx | None) -> list:
        """Rows of `SELECT <fields> <sql>` as dicts, in `tx` or in a read of their own."""
        query = f"SELECT {', '.join(fields)} {sql}"
        if tx is not None:
            rows = tx.execute(query, params).fetchall()
        else:
            with self.store.transaction(write=False) as read:
                rows = read.execute(query, params).fetchall()
        return [_row(fields, r) for r in rows]

    def post(self, post_id: str, tx: Tx | None = None) -> dict[str, Any] | None:
        if not is_uuid(post_id):
            return None
        found = self._select(POST_FIELDS, "FROM posts WHERE id = ?", (post_id,), tx)
        return found[0] if found else None

    def posts(
        self, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[dict[str, Any]]:
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        sql = f"FROM posts {where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?"
        return self._select(POST_FIELDS, sql, (*params, int(limit), int(offset)), None)

    def set_post_status(self, tx: Tx, post_id: str, status: str, now: datetime) -> None:
        tx.execute(
            "UPDATE posts SET status = ?, updated_at = ? WHERE id = ?", (status, iso(now), post_id)
        )

    # -- publications -----------------------------------------------------------------

    def publications(self, post_id: str, tx: Tx | None = None) -> list[dict[str, Any]]:
        sql = "FROM publications WHERE post_id = ? ORDER BY network"
        return self._select(PUBLICATION_FIELDS, sql, (post_id,), tx)

    def publication(self, publication_id: str, tx: Tx | None = None) -> dict[str, Any] | None:
        if not is_uuid(publication_id):
            return None
        sql = "FROM publications WHERE id = ?"
        found = self._select(PUBLICATION_FIELDS, sql, (publication_id,), tx)
        return found[0] if found else None

    def upsert_adaptation(
        self, tx: Tx, post_id: str, network: str, text: str, metadata: dict, now: datetime
    ) -> bool:
        """Store (or replace) one network's adapted version; False if it is already published
        or being published (an adaptation never changes what is on its way)."""
        cur = tx.execute(
            "UPDATE publications SET adapted_content = ?, metadata = ?, updated_at = ?, "
            "error_message = NULL, status = 'pending', attempts = 0, retry_count = 0 "
            "WHERE post_id = ? AND network = ? AND requested_at IS NULL",
            (text, _json(metadata), iso(now), post_id, network),
        )
        if cur.rowcount:
            return True
        exists = tx.execute(
            "SELECT 1 FROM publications WHERE post_id = ? AND network = ?", (post_id, network)
        ).fetchone()
        if exists:
            return False
        tx.execute(
            "INSERT INTO publications (id, post_id, network, adapted_content, status, metadata, "
            "idempotency_key, created_at, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
            (
                str(uuid.uuid4()),
                post_id,
                network,
                text,
                _json(metadata),
                f"lab-{uuid.uuid4().hex}",
                iso(now),
                iso(now),
            ),
        )
        return True

    def request(self, tx: Tx, publication_id: str, due: datetime, now: datetime, scheduled: bool):
        """Ask for a publication to be published at `due` (once; a second request is a no-op)."""
        cur = tx.execute(
            "UPDATE publications SET requested_at = ?, publish_at = ?, next_attempt_at = ?, "
            "updated_at = ? WHERE id = ? AND requested_at IS NULL AND status = 'pending'",
            (iso(now), iso(due) if scheduled else None, iso(due), iso(now), publication_id),
        )
        return cur.rowcount == 1

    def mark_enqueued(self, publication_id: str, now: datetime, stale: float) -> bool:
        """True for the one caller that may put this due publication on the queue now."""
        with self.store.transaction() as tx:
            cur = tx.execute(
                "UPDATE publications SET enqueued_at = ? WHERE id = ? AND status = 'pending' "
                "AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?) "
                "AND (enqueued_at IS NULL OR enqueued_at < ?)",
                (
                    iso(now),
                    publication_id,
                    iso(now),
                    iso(now),
                    iso(now - timedelta(seconds=stale)),
                ),
            )
            return cur.rowcount == 1

    def due(self, now: datetime, stale: float, limit: int = 500) -> list[str]:
        """Publications whose turn has come and that no live job holds or waits for."""
        with self.store.transaction(write=False) as tx:
            rows = tx.execute(
                "SELECT id FROM publications WHERE status = 'pending' AND next_attempt_at <= ? "
                "AND (lease_until IS NULL OR lease_until < ?) "
                "AND (enqueued_at IS NULL OR enqueued_at < ?) ORDER BY next_attempt_at LIMIT ?",
                (iso(now), iso(now), iso(now - timedelta(seconds=stale)), int(limit)),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def next_due(self) -> datetime | None:
        """When the earliest requested, unfinished publication is due (None: nothing to do)."""
        with self.store.transaction(write=False) as tx:
            row = tx.execute(
                "SELECT MIN(next_attempt_at) FROM publications WHERE status = 'pending' "
                "AND next_attempt_at IS NOT NULL"
            ).fetchone()
        return parse_time(row[0]) if row and row[0] is not None else None

    def claim(
        self, publication_id: str, owner: str, now: datetime, lease: float
    ) -> dict[str, Any] | None:
        """Take the publication for one attempt (a lease of `lease` seconds); None if it is not
        due, done, or held by a live job. The row returned is as it was before the claim, so
        `in_flight_since` tells whether a previous attempt ended without recording its outcome."""
        with self.store.transaction() as tx:
            before = self.publication(publication_id, tx)
            cur = tx.execute(
                "UPDATE publications SET lease_owner = ?, lease_until = ?, enqueued_at = NULL "
                "WHERE id = ? AND status = 'pending' AND next_attempt_at <= ? "
                "AND (lease_until IS NULL OR lease_until < ?)",
                (
                    owner,
                    iso(now + timedelta(seconds=lease)),
                    publication_id,
                    iso(now),
                    iso(now),
                ),
            )
            return before if cur.rowcount == 1 else None

    def start_attempt(self, publication_id: str, owner: str, now: datetime) -> int | None:
        """Record, before calling the provider, that an attempt begins; its number, or None if
        the lease was lost."""
        with self.store.transaction() as tx:
            cur = tx.execute(
                "UPDATE publications SET attempts = attempts + 1, in_flight_since = ?, "
                "updated_at = ? WHERE id = ? AND lease_owner = ?",
                (iso(now), iso(now), publication_id, owner),
            )
            if cur.rowcount != 1:
                return None
            row = tx.execute(
                "SELECT attempts FROM publications WHERE id = ?", (publication_id,)
            ).fetchone()
        return int(row[0])

    def finish(
        self,
        publication_id: str,
        owner: str,
        now: datetime,
        *,
        status: str,
        error: str | None = None,
        provider_id: str | None = None,
        provider_url: str | None = None,
        retry_at: datetime | None = None,
        counted: bool = True,
        metadata: dict[str, Any] | None = None,
        unsettled: bool = False,
    ) -> bool:
        """Record an attempt's outcome and release the lease (only by its owner).

        `status` pending with `retry_at` schedules the next attempt (`counted`: a retry, as
        opposed to waiting for a rate limit). `unsettled`: an earlier attempt's outcome is
        still unknown, so `in_flight_since` stays and the next attempt reconciles first.
        The post's own status follows in the same transaction."""
        with self.store.transaction() as tx:
            sets = ["status = ?", "error_message = ?", "lease_owner = NULL", "lease_until = NULL"]
            if not unsettled:
                sets.append("in_flight_since = NULL")
            sets.append("updated_at = ?")
            params: list[Any] = [status, error, iso(now)]
            if status == "published":
                sets += ["published_at = ?", "provider_id = ?", "provider_url = ?"]
                params += [iso(now), provider_id, provider_url]
            if retry_at is not None:
                sets.append("next_attempt_at = ?")
                params.append(iso(retry_at))
                if counted:
                    sets.append("retry_count = retry_count + 1")
            if metadata is not None:
                sets.append("metadata = ?")
                params.append(_json(metadata))
            cur = tx.execute(
                f"UPDATE publications SET {', '.join(sets)} WHERE id = ? AND lease_owner = ?",
                (*params, publication_id, owner),
            )
            if cur.rowcount != 1:
                return False
            row = tx.execute(
                "SELECT post_id FROM publications WHERE id = ?", (publication_id,)
            ).fetchone()
            self.refresh_post_status(tx, str(row[0]), now)
        return True

    def refresh_post_status(self, tx: Tx, post_id: str, now: datetime) -> str:
        """The post's status from its requested publications: processing while any is pending,
        then published if all were, failed if any failed.

        The post's row is written first, so that transactions finishing publications of one
        post take turns and each reads the others' committed outcomes. Otherwise, under
        PostgreSQL's READ COMMITTED, the last two to finish together each see the other
        pending and leave the post `processing` for ever."""
        tx.execute("UPDATE posts SET updated_at = ? WHERE id = ?", (iso(now), post_id))
        rows = tx.execute(
            "SELECT status FROM publications WHERE post_id = ? AND requested_at IS NOT NULL",
            (post_id,),
        ).fetchall()
        statuses = [r[0] for r in rows]
        if not statuses:
            return "draft"
        if "pending" in statuses:
            status = "processing"
        elif "failed" in statuses:
            status = "failed"
        else:
            status = "published"
        self.set_post_status(tx, post_id, status, now)
        return status

    def update_publication(
        self, tx: Tx, publication_id: str, text: str, metadata: dict, now: datetime
    ) -> bool:
        cur = tx.execute(
            "UPDATE publications SET adapted_content = ?, metadata = ?, updated_at = ? "
            "WHERE id = ? AND requested_at IS NULL",
            (text, _json(metadata), iso(now), publication_id),
        )
        return cur.rowcount == 1
