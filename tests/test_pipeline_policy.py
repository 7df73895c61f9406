"""Rate limits as the kit keeps them: a sliding window per account, in this process or shared
by every worker through Redis, a little longer than the provider's own."""

from __future__ import annotations

import uuid

import pytest

from lab_server.pipeline.policy import LocalLimiter, RateLimit, RedisLimiter, padded

TIKTOK = RateLimit(6, 60.0)
SANDBOX = RateLimit(1, 3.0)


def test_the_window_has_a_margin_of_five_percent_and_at_least_a_second():
    assert padded(TIKTOK) == 63.0
    assert padded(SANDBOX) == 4.0
    assert padded(RateLimit(50, 86400.0)) == 86400.0 * 1.05


@pytest.fixture(params=["local", "redis"])
def limiters(request):
    """Two limiters as two workers see them: one object in-process, two over one Redis."""
    if request.param == "local":
        limiter = LocalLimiter()
        yield limiter, limiter
        return
    import redis

    connection = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    prefix = f"lab-test-{uuid.uuid4().hex[:8]}"
    yield RedisLimiter(connection, prefix), RedisLimiter(connection, prefix)
    for key in connection.scan_iter(f"{prefix}:*"):
        connection.delete(key)


def test_each_account_gets_its_calls_per_window_across_workers(limiters):
    first, second = limiters
    start = 1_000_000.0
    for n in range(6):
        worker = first if n % 2 else second
        assert worker.acquire("tiktok:ana", TIKTOK, now=start + n) == 0.0
    wait = first.acquire("tiktok:ana", TIKTOK, now=start + 10)
    assert wait == pytest.approx(start + padded(TIKTOK) - (start + 10))  # the oldest call leaves
    assert second.acquire("tiktok:beto", TIKTOK, now=start + 10) == 0.0  # another account
    assert second.acquire("tiktok:ana", TIKTOK, now=start + 62) > 0  # the provider's 60 s: no
    assert second.acquire("tiktok:ana", TIKTOK, now=start + 63.01) == 0.0
