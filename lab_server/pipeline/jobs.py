"""One job per publication: the same code on RQ workers and in the in-process thread pool.

`run_publication(publication_id)` is what the queue calls. The job:

1. claims the publication (a lease; nobody else can act on it until the lease ends);
2. if an earlier attempt began and never recorded its outcome (its worker was killed),
   reconciles first: the publisher checks what was delivered, or the provider is asked, or
   its duplicate refusal names the post; without any of these it does not risk a second post
   and fails the publication as uncertain;
3. waits its turn under the provider's rate limit (by rescheduling, not by sleeping);
4. records the attempt *before* calling the provider, calls it, records the outcome;
5. on failure schedules a retry (backoff, Retry-After) or fails for good.

Each step is appended to the JSONL publication log.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ..config import Settings
from ..oauth.errors import DuplicatePostError, OAuthError
from ..oauth.tokens import TokenStore
from ..publish import CannotCheck, Post, PublishContext, PublisherInfo, publisher_info
from ..store import Store
from .log import PublicationLog
from .policy import MAX_RETRIES, RATE_LIMITS, LocalLimiter, backoff, classify, duplicate_of
from .records import Records, parse_time

log = logging.getLogger("lab_server.pipeline")

#: Seconds a job holds a publication; longer than any provider call (15 s timeouts).
DEFAULT_LEASE = 60.0
UNCERTAIN = (
    "No se sabe si la publicación anterior llegó a {network}: el proceso que la enviaba se "
    "detuvo antes de guardar la respuesta y {network} no permite comprobarlo. Para no "
    "publicar dos veces no se reintenta: revisa la red y, si no está, vuelve a publicar."
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Runtime:
    """What jobs need in one process: settings, database, tokens, log, rate limiter."""

    settings: Settings
    store: Store
    limiter: Any = field(default_factory=LocalLimiter)
    lease: float = DEFAULT_LEASE
    clock: Callable[[], datetime] = utcnow
    owner_prefix: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    def __post_init__(self) -> None:
        self.records = Records(self.store)
        self.tokens = TokenStore.for_settings(self.settings, self.store)
        self.log = PublicationLog.in_folder(self.settings.data_dir)

    def run(self, publication_id: str) -> str:
        """Run one attempt of a publication; returns what happened (for logs and tests)."""
        owner = f"{self.owner_prefix}:{threading.get_ident()}:{uuid.uuid4().hex[:8]}"
        pub = self.records.claim(publication_id, owner, self.clock(), self.lease)
        if pub is None:
            return "skipped"
        try:
            info = publisher_info(pub["network"])
        except OAuthError as exc:
            return self._fail(pub, owner, str(exc))
        resume = pub["in_flight_since"] is not None
        ctx = PublishContext(
            self.settings,
            self.tokens,
            self.clock(),
            store=self.store,
            idempotency_key=pub["idempotency_key"],
            resume=resume,
            previous_attempt=parse_time(pub["in_flight_since"]),
            account=(pub.get("metadata") or {}).get("account"),
        )
        if resume:
            outcome = self._reconcile(pub, owner, info, ctx)
            if outcome:
                return outcome
        wait = self._rate_wait(info, ctx)
        if wait > 0:
            retry_at = self.clock() + timedelta(seconds=wait)
            self.records.finish(
                pub["id"],
                owner,
                self.clock(),
                status="pending",
                retry_at=retry_at,
                counted=False,
                unsettled=resume,  # still to be settled by the attempt that follows
            )
            self.log.append("rate_limited", pub, retry_in=round(wait, 3))
            return "rate_limited"
        attempt = self.records.start_attempt(pub["id"], owner, self.clock())
        if attempt is None:
            return "lost"
        self.log.append("attempt", pub, attempt=attempt, worker=owner)
        try:
            post = info.publish(pub["adapted_content"], self._image(pub), ctx)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, none escapes
            if resume and info.rejects_duplicates and isinstance(exc, DuplicatePostError):
                found = duplicate_of(exc.provider_message)
                return self._published(
                    pub, owner, Post(pub["network"], found or "duplicado"), "reconciled"
                )
            return self._failed_attempt(pub, owner, exc, attempt)
        return self._published(pub, owner, post, "published", attempt=attempt)

    def _image(self, pub: dict[str, Any]) -> str | None:
        return (pub.get("metadata") or {}).get("image_url")

    def _rate_wait(self, info: PublisherInfo, ctx: PublishContext) -> float:
        limit = RATE_LIMITS.get(info.network)
        if limit is None:
            return 0.0
        try:
            account = info.account(ctx) if info.account else ctx.connection(info.network).account_id
        except Exception:  # noqa: BLE001 - not connected: the publisher will say so
            return 0.0
        if account is None:
            return 0.0
        return self.limiter.acquire(f"{info.network}:{account}", limit)

    def _reconcile(
        self, pub: dict[str, Any], owner: str, info: PublisherInfo, ctx: PublishContext
    ) -> str | None:
        """After an attempt with no recorded outcome: settle it, or None to publish (again)."""
        self.log.append("reconcile", pub, previous_attempt=pub["in_flight_since"])
        if info.find is not None:
            try:
                found = info.find(pub["adapted_content"], self._image(pub), ctx)
            except CannotCheck:
                return self._fail(
                    pub, owner, UNCERTAIN.format(network=pub["network"]), uncertain=True
                )
            except Exception as exc:  # noqa: BLE001 - asking failed: ask again next time
                return self._failed_attempt(pub, owner, exc, pub["attempts"], unsettled=True)
            if found is not None:
                return self._published(pub, owner, found, "reconciled")
            return None
        if info.resumable or info.rejects_duplicates:
            return None
        return self._fail(pub, owner, UNCERTAIN.format(network=pub["network"]), uncertain=True)

    def _published(
        self, pub: dict[str, Any], owner: str, post: Post, event: str, attempt: int | None = None
    ) -> str:
        self.records.finish(
            pub["id"],
            owner,
            self.clock(),
            status="published",
            provider_id=post.id,
            provider_url=post.url,
        )
        self.log.append(event, pub, attempt=attempt, provider_id=post.id, url=post.url)
        return event

    def _fail(self, pub: dict[str, Any], owner: str, message: str, uncertain: bool = False) -> str:
        metadata = {**(pub.get("metadata") or {}), "uncertain": True} if uncertain else None
        self.records.finish(
            pub["id"], owner, self.clock(), status="failed", error=message, metadata=metadata
        )
        self.log.append("failed", pub, error=message, uncertain=uncertain or None)
        return "failed"

    def _failed_attempt(
        self,
        pub: dict[str, Any],
        owner: str,
        exc: BaseException,
        attempt: int,
        unsettled: bool = False,
    ) -> str:
        verdict = classify(exc)
        message = str(exc) or type(exc).__name__
        retries = pub["retry_count"]
        if verdict.retry and retries < MAX_RETRIES:
            delay = backoff(retries + 1, verdict.delay)
            self.records.finish(
                pub["id"],
                owner,
                self.clock(),
                status="pending",
                error=message,
                retry_at=self.clock() + timedelta(seconds=delay),
                unsettled=unsettled,
            )
            self.log.append(
                "retry", pub, attempt=attempt, error=message, retry_in=delay, retry=retries + 1
            )
            return "retry"
        log.warning("%s: la publicación %s falló: %s", pub["network"], pub["id"], message)
        self.records.finish(pub["id"], owner, self.clock(), status="failed", error=message)
        self.log.append("failed", pub, attempt=attempt, error=message, retryable=verdict.retry)
        return "failed"


# -- the queue's entry point --------------------------------------------------------------

_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def install(runtime: Runtime | None) -> None:
    """Set the runtime `run_publication` uses in this process (a worker sets it at start)."""
    global _runtime
    with _runtime_lock:
        _runtime = runtime


def run_publication(publication_id: str) -> str:
    """The job an RQ worker runs (by name: `lab_server.pipeline.jobs.run_publication`)."""
    if _runtime is None:
        raise RuntimeError(
            "El worker no tiene configuración: inícialo con `lab-server worker`, "
            "no con `rq worker`."
        )
    return _runtime.run(publication_id)
