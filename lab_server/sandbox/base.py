"""What every stand-in shares: a Flask app on a loopback port that records each request.

A stand-in speaks one outside service's documented protocol, so the kit reaches it through
exactly the same code as the real service, with only the base URL changed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import requests
from flask import Flask, request

from ..serving import ServerThread

#: How many requests a stand-in remembers.
MAX_RECORDED = 1000
#: How many posting times a stand-in remembers per account.
MAX_POSTINGS = 10_000


@dataclass(frozen=True)
class Recorded:
    """One request a stand-in received."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    form: dict[str, str]
    json: Any
    body: bytes
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class DemoAccount:
    """An account a stand-in connects at start, so the pipeline can publish with no set-up:
    what the OAuth flow would have stored for it (`oauth_tokens`)."""

    provider: str
    account_id: str
    account_name: str
    access_token: str
    scopes: tuple[str, ...]
    expires_in: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    refresh_token: str | None = None


@dataclass(frozen=True)
class Demo:
    """What a stand-in brings to a sandboxed lab: connected accounts, people who wrote to
    the bot (channel, address), and settings (a chat to publish to)."""

    accounts: tuple[DemoAccount, ...] = ()
    contacts: tuple[tuple[str, str], ...] = ()
    settings: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PostingLimit:
    """A provider's published limit on posting: at most `calls` per `seconds` per account
    (`per` says what the provider counts as one: a member, a token, a chat …)."""

    calls: int
    seconds: float
    per: str
    source: str


class PostingCounter:
    """When each account posted, by the stand-in's clock: the stand-in refuses like the
    provider once an account is at its limit, and a benchmark checks afterwards that no
    window held more than the limit (`peaks`), whatever the client believed."""

    def __init__(self, limit: PostingLimit, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.clock = clock
        self._times: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _inside(self, account: str, now: float) -> list[float]:
        """The times `account` posted inside the window ending `now`, oldest first (the
        caller holds the lock)."""
        start = now - self.limit.seconds
        return sorted(t for t in self._times.get(account, ()) if t > start)

    def used(self, account: str) -> int:
        """Posts by `account` inside the current window."""
        now = self.clock()
        with self._lock:
            return len(self._inside(account, now))

    def full(self, account: str) -> bool:
        """Whether one more post by `account` now would exceed the limit."""
        return self.used(account) >= self.limit.calls

    def take(self, account: str) -> float:
        """Count one post by `account` if it may post now (0); else the seconds until it may,
        what a provider tells in `Retry-After` or `retry_after`. Checking and counting are
        one step, so two requests at once cannot both take the last slot."""
        now = self.clock()
        with self._lock:
            inside = self._inside(account, now)
            if len(inside) < self.limit.calls:
                self._times.setdefault(account, deque(maxlen=MAX_POSTINGS)).append(now)
                return 0.0
        return max(inside[-self.limit.calls] + self.limit.seconds - now, 0.0)

    def record(self, account: str) -> None:
        with self._lock:
            self._times.setdefault(account, deque(maxlen=MAX_POSTINGS)).append(self.clock())

    def peaks(self) -> dict[str, int]:
        """Per account, the most posts inside any window of the limit's length."""
        with self._lock:
            series = {account: sorted(times) for account, times in self._times.items()}
        peaks = {}
        for account, times in series.items():
            first = best = 0
            for last, moment in enumerate(times):
                while moment - times[first] >= self.limit.seconds:
                    first += 1
                best = max(best, last - first + 1)
            peaks[account] = best
        return peaks

    def clear(self) -> None:
        with self._lock:
            self._times.clear()


class StandIn:
    """Base class: subclasses set `service`, add routes in `routes()` and say `overrides()`."""

    service: ClassVar[str]
    #: Counts posts per account against the provider's published limit (None: no post API).
    posting: PostingCounter | None = None

    def __init__(self) -> None:
        #: The newest MAX_RECORDED requests: a notebook's server runs for hours.
        self.received: deque[Recorded] = deque(maxlen=MAX_RECORDED)
        self.webhook_urls: dict[str, str] = {}
        self.public_base_url: str | None = None
        self._lock = threading.Lock()
        self.app = Flask(f"lab_server.sandbox.{self.service}")
        self.app.before_request(self._record)
        self.routes(self.app)
        self._server = ServerThread(self.app, "127.0.0.1", 0)

    @property
    def base_url(self) -> str:
        return self._server.url

    def routes(self, app: Flask) -> None:
        """Add the service's endpoints to `app`."""
        raise NotImplementedError

    def overrides(self) -> dict[str, str]:
        """Environment variables that point the kit here (base URL, generated credentials)."""
        raise NotImplementedError

    def demo(self, student: int = 0) -> Demo:
        """The demo account, contact or chat this stand-in offers (none by default).

        `student` > 0 gives another, distinct one each (same number, same account): a
        class-wide lab or a benchmark has one per student, each with its own limits."""
        return Demo()

    def attach(self, webhook_urls: dict[str, str], public_base_url: str | None = None) -> None:
        """Learn the lab's local webhook URLs, to deliver inbound messages to them, and its
        public base URL (tunnel or PUBLIC_BASE_URL): the one a service signs, as the real
        ones sign the URL set in their console while the tunnel delivers locally."""
        self.webhook_urls = dict(webhook_urls)
        self.public_base_url = public_base_url

    def _record(self) -> None:
        body = request.get_data(cache=True)  # before .form, which would consume the stream
        with self._lock:
            self.received.append(
                Recorded(
                    method=request.method,
                    path=request.path,
                    headers=dict(request.headers),
                    query=request.args.to_dict(),
                    form=request.form.to_dict(),
                    json=request.get_json(silent=True),
                    body=body,
                )
            )

    def requests_to(self, path_part: str = "") -> list[Recorded]:
        """The recorded requests whose path contains `path_part`, oldest first."""
        with self._lock:
            return [r for r in self.received if path_part in r.path]

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def post_webhook(
        self,
        url: str,
        *,
        data: Any = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 20.0,
    ) -> requests.Response:
        """POST to the lab's webhook as the real service would (callers add signatures)."""
        return requests.post(url, data=data, json=json, headers=headers or {}, timeout=timeout)

    def stop(self) -> None:
        self._server.stop()
