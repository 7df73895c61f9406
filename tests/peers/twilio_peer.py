"""What the Twilio peer tests share: the stand-in, twilio's own Client pointed at it the
documented way, and a tiny Flask app on loopback playing the student's webhook.

Import the fixtures as `twilio_fixture` and `webhook_fixture` (used as `twilio`, `webhook`),
as tests/telegram_standin.py does, so test arguments do not shadow the import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Flask, request
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from lab_server.sandbox.twilio import TwilioStandIn
from lab_server.serving import ServerThread

STUDENT = "whatsapp:+59170000001"
OTHER = "whatsapp:+59170000002"
SANDBOX = "whatsapp:+14155238886"


class LocalHttpClient(TwilioHttpClient):
    """Twilio's documented hook for another transport (twilio-python,
    advanced-examples/custom-http-client.md): same path and query, another host."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=10)
        self.base = urlsplit(base_url)

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        parts = urlsplit(url)._replace(scheme=self.base.scheme, netloc=self.base.netloc)
        return super().request(method, urlunsplit(parts), *args, **kwargs)


def twilio_client(standin: TwilioStandIn, token: str | None = None) -> Client:
    return Client(
        standin.account_sid,
        token or standin.auth_token,
        http_client=LocalHttpClient(standin.base_url),
    )


@pytest.fixture(name="twilio")
def twilio_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[TwilioStandIn]:
    for name in ("TWILIO_EDGE", "TWILIO_REGION"):  # they would rewrite the host (facts 1.7)
        monkeypatch.delenv(name, raising=False)
    standin = TwilioStandIn()
    yield standin
    standin.stop()


class Webhook:
    """A Flask app on a loopback port whose one route the test writes."""

    def __init__(self) -> None:
        self.app = Flask("student_webhook")
        self.seen: list[tuple[str, dict[str, str], dict[str, str]]] = []
        self.handler: Callable[[], object] = lambda: ("", 204)
        self.app.add_url_rule("/hook", "hook", self._hook, methods=["POST"])
        self.server = ServerThread(self.app)

    def _hook(self):
        self.seen.append((request.url, request.form.to_dict(), dict(request.headers)))
        return self.handler()

    @property
    def url(self) -> str:
        return self.server.url + "/hook"


@pytest.fixture(name="webhook")
def webhook_fixture() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.server.stop()
