"""When to try again: retries with exponential backoff, `Retry-After`, and rate limits.

A failure is *permanent* when trying again cannot change the answer (bad input, missing
permission, expired token, a 4xx other than 408/409/425/429): the publication fails at once.
Anything else (a 5xx, 429, a timeout, no connection) is retried up to `MAX_RETRIES` times,
after 1 s, 2 s, 4 s … or after what the provider's `Retry-After` asks, whichever is longer.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

#: Retries after the first attempt (the course asks for 3).
MAX_RETRIES = 3
BACKOFF_BASE = 1.0  # seconds before the first retry; doubled each time
BACKOFF_MAX = 300.0
#: 4xx answers a later attempt can turn into a success.
RETRYABLE_4XX = {408, 409, 425, 429}


@dataclass(frozen=True)
class Verdict:
    """What to do after a failed attempt."""

    retry: bool
    delay: float | None = None  # the provider's Retry-After, if it gave one


def _status_of(exc: BaseException) -> int | None:
    """The HTTP status (or equivalent) a provider answered with, from any of the kit's errors."""
    for name in ("http_status", "status_code", "error_code"):
        value = getattr(exc, name, None)
        if isinstance(value, int) and 100 <= value <= 599:
            return value
    status = getattr(exc, "status", None)  # TwilioSendError keeps Twilio's HTTP status here
    if isinstance(status, int) and not hasattr(type(exc), "status"):
        return status
    return None


def _retry_after(exc: BaseException) -> float | None:
    value = getattr(exc, "retry_after", None)
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def classify(exc: BaseException) -> Verdict:
    """Whether a failed attempt is worth repeating."""
    from ..errors import MissingCredentialError, SettingsError
    from ..oauth.errors import (
        DuplicatePostError,
        MissingScopeError,
        OAuthError,
        ProviderError,
        PublishInputError,
        TokenError,
        UnknownProviderError,
    )

    if isinstance(
        exc,
        (
            PublishInputError,
            MissingScopeError,
            TokenError,
            UnknownProviderError,
            DuplicatePostError,
            MissingCredentialError,
            SettingsError,
        ),
    ):
        return Verdict(False)
    status = _status_of(exc)
    delay = _retry_after(exc)
    if status is not None and 400 <= status < 500:
        return Verdict(status in RETRYABLE_4XX, delay)
    if isinstance(exc, OAuthError) and not isinstance(exc, ProviderError):
        return Verdict(False)
    if isinstance(exc, (ValueError, TypeError, KeyError, LookupError)) and status is None:
        return Verdict(False)  # the kit's own input checks: repeating changes nothing
    return Verdict(True, delay)


def backoff(retry: int, retry_after: float | None = None) -> float:
    """Seconds before retry number `retry` (1, 2, 3 …): 1, 2, 4 … or Retry-After if longer."""
    delay = min(BACKOFF_BASE * 2 ** (retry - 1), BACKOFF_MAX)
    return max(delay, retry_after or 0.0)


# -- rate limits ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    """At most `calls` publications per `seconds` for one account of one network."""

    calls: int
    seconds: float
    source: str = ""


#: Each provider's published limit for posting, per account (sender, channel, member, token).
RATE_LIMITS: dict[str, RateLimit] = {
    # Twilio's WhatsApp sandbox: 1 message every 3 s (platform-facts §1).
    "whatsapp": RateLimit(1, 3.0, "https://www.twilio.com/docs/whatsapp/sandbox"),
    # Bots: about 20 messages per minute to one group or channel.
    "telegram": RateLimit(20, 60.0, "https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this"),
    # Posts API: 150 member posts per member per day.
    "linkedin": RateLimit(150, 86400.0, "https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits"),
    # Content publishing: 50 API-published posts per 24 h (platform-facts §6).
    "instagram": RateLimit(50, 86400.0, "https://developers.facebook.com/docs/instagram-platform/content-publishing/"),
    # Direct Post init: 6 requests per minute per user token (platform-facts §5).
    "tiktok": RateLimit(6, 60.0, "https://developers.tiktok.com/doc/content-posting-api-reference-direct-post"),
}  # fmt: skip


#: Added to every window, as a share of it (at least 1 s): the provider counts a call when
#: it arrives, a varying moment after the worker took its slot (TikTok's init follows a
#: creator_info call), so windows exactly as long as the provider's can overlap by that much.
WINDOW_MARGIN = 0.05


def padded(limit: RateLimit) -> float:
    """The window the kit keeps: the provider's plus its margin."""
    return limit.seconds + max(1.0, limit.seconds * WINDOW_MARGIN)


class LocalLimiter:
    """Sliding-window counts in this process (the in-process queue)."""

    def __init__(self) -> None:
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, limit: RateLimit, now: float | None = None) -> float:
        """0 and one call counted if `key` is under its limit; else the seconds to wait."""
        now = time.time() if now is None else now
        with self._lock:
            calls = self._calls.setdefault(key, deque())
            window = padded(limit)
            while calls and calls[0] <= now - window:
                calls.popleft()
            if len(calls) < limit.calls:
                calls.append(now)
                return 0.0
            return calls[0] + window - now


#: One atomic sliding window in Redis, shared by every worker: ZSET of call times.
_REDIS_WINDOW = """
local key, member = KEYS[1], ARGV[4]
local now, window, calls = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < calls then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, math.ceil(window * 1000))
  return '0'
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


class RedisLimiter:
    """The same sliding window in Redis, so N workers together stay under the limit."""

    def __init__(self, redis: Any, prefix: str) -> None:
        self._script = redis.register_script(_REDIS_WINDOW)
        self.prefix = prefix
        self._redis = redis

    def acquire(self, key: str, limit: RateLimit, now: float | None = None) -> float:
        now = time.time() if now is None else now
        member = f"{now:.6f}-{threading.get_ident()}-{time.perf_counter_ns()}"
        wait = self._script(
            keys=[f"{self.prefix}:rate:{key}"], args=[now, padded(limit), limit.calls, member]
        )
        return max(float(wait), 0.0)


def duplicate_of(message: str | None) -> str | None:
    """The id of the existing post named in a provider's "duplicate" refusal, if any."""
    found = re.search(r"duplicate of (\S+)", message or "", flags=re.IGNORECASE)
    return found.group(1).rstrip(".") if found else None
