"""Helpers for the pipeline's tests: a sandboxed lab on a chosen database, API calls with
the lab's token, and a test network whose publisher fails on demand."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from lab_server import start
from lab_server.pipeline import Pipeline, policy, service
from lab_server.pipeline.jobs import Runtime
from lab_server.publish import Post, PublishContext, PublisherInfo, _publishers, publisher_info

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NEWS = {
    "title": "Feria de proyectos de IA",
    "content": "El jueves 28 de noviembre, de 9:00 a 13:00, feria de proyectos en el auditorio.",
}


def headers(lab: Any) -> dict[str, str]:
    """The API token header, when the app checks one (LAB_API_TOKEN)."""
    token = getattr(lab.settings, "api_token", None)
    return {"Authorization": f"Bearer {token}"} if token else {}


def api(lab: Any, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, lab.url + path, headers=headers(lab), timeout=30, **kwargs)


@pytest.fixture
def sandbox_lab(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A running lab in the classroom sandbox on SQLite or PostgreSQL, with short backoffs."""
    from tests.conftest import make_settings

    monkeypatch.setattr(policy, "BACKOFF_BASE", 0.05)
    settings = make_settings(
        tmp_path, DATABASE_URL=database_url, LAB_SANDBOX="1", PUBLISH_LEASE_SECONDS="1"
    )
    lab = start(port=0, sandbox=True, settings=settings, show=False)
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def redis_url() -> str:
    """Redis at TEST_REDIS_URL; outside CI a missing server skips, under CI=true it fails."""
    import redis

    from tests.conftest import service_missing

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        service_missing(
            f"Redis no responde en {REDIS_URL}: {exc}",
            "inicia Redis (`redis-server` o `docker run -p 6379:6379 redis`) o define "
            "TEST_REDIS_URL",
        )
    return REDIS_URL


class Flaky:
    """Publisher of the test network `testnet`: answers from a script of outcomes."""

    def __init__(self, outcomes: list[Exception | None]) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[str] = []

    def __call__(self, text: str, image_url: str | None, ctx: Any) -> Post:
        self.calls.append(text)
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        return Post("testnet", f"t{len(self.calls)}")


@pytest.fixture
def testnet(monkeypatch: pytest.MonkeyPatch) -> Callable[[list], Flaky]:
    """Register `testnet` (adapted like WhatsApp) with a scripted publisher for one test."""

    def register(outcomes: list[Exception | None]) -> Flaky:
        flaky = Flaky(outcomes)
        monkeypatch.setitem(_publishers, "testnet", PublisherInfo("testnet", flaky))
        monkeypatch.setitem(service.ADAPT_AS, "testnet", "whatsapp")
        return flaky

    return register


def adapted_post(lab: Any, networks: list[str]) -> str:
    pipeline = Pipeline.of(lab)
    post = pipeline.create_post(NEWS["title"], NEWS["content"])
    pipeline.adapt(post["id"], networks)
    return post["id"]


def crashed_attempt(lab: Any, post_id: str, network: str, *, delivered: bool = True) -> None:
    """What a worker killed between the provider's answer and the status write leaves: the
    attempt recorded, the post created at the provider (unless `delivered` is False: killed
    before the call went out), no outcome stored."""
    pipeline = Pipeline.of(lab)
    [pub] = [p for p in pipeline.get_post(post_id)["publications"] if p["network"] == network]
    runtime = Runtime(lab.settings, lab.store, lease=0.3)
    now = datetime.now(timezone.utc)
    with lab.store.transaction() as tx:
        pipeline.records.request(tx, pub["id"], now + timedelta(hours=1), now, scheduled=True)
        pipeline.records.refresh_post_status(tx, post_id, now)
    with lab.store.transaction() as tx:  # due now, as soon as the dead worker's lease ends
        tx.execute(
            "UPDATE publications SET next_attempt_at = ? WHERE id = ?", (now.isoformat(), pub["id"])
        )
    assert runtime.records.claim(pub["id"], "dead-worker", now, 0.3)
    assert runtime.records.start_attempt(pub["id"], "dead-worker", now) == 1
    if delivered:
        ctx = PublishContext(lab.settings, runtime.tokens, now, store=lab.store)
        image = (pub.get("metadata") or {}).get("image_url")
        publisher_info(network).publish(pub["adapted_content"], image, ctx)
