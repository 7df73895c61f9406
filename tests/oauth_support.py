"""Fixtures for the OAuth tests: an independent OAuth server, a provider for it, a clock.

The generic flow is tested against npm's `oauth2-mock-server` (pinned in package.json),
which no one here wrote: it checks PKCE (S256) and signs OpenID id_tokens with its own key.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

from lab_server.oauth import providers
from lab_server.oauth.providers import Connection, Grant, Provider

from .conftest import ROOT

MOCK_SERVER = ROOT / "node_modules" / "oauth2-mock-server" / "dist" / "oauth2-mock-server.mjs"


def skip_or_fail(reason: str) -> None:
    """A missing tool skips the test on a laptop, and fails it in CI (which installs it)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def oauth2_mock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a running oauth2-mock-server on a free loopback port."""
    node = shutil.which("node")
    if node is None:
        skip_or_fail("Node.js no está instalado (hace falta para oauth2-mock-server)")
    if not MOCK_SERVER.is_file():
        skip_or_fail("falta oauth2-mock-server: ejecuta `make node_modules` (npm ci)")
    port = free_port()
    log = Path(tmp_path_factory.mktemp("oauth2-mock")) / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [node, str(MOCK_SERVER), "-a", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(base + "/.well-known/openid-configuration", timeout=1)
                break
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"oauth2-mock-server no arrancó:\n{log.read_text()}")
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass
class Clock:
    """A clock the tests move by hand."""

    now: datetime = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def finish_with_userinfo(grant: Grant) -> list[Connection]:
    """What an OpenID provider's finish does: the account from the validated id_token."""
    claims = grant.token["userinfo"]
    return [grant.connection(claims["sub"], claims.get("name", claims["sub"]))]


#: The generic provider under test. It borrows the LinkedIn variables for its base URL and
#: credentials, since every provider reads settings variables.
MOCK_PROVIDER = Provider(
    name="mockoidc",
    display_name="Servidor OAuth de prueba",
    base_setting="LINKEDIN_OAUTH_BASE",
    authorize_path="/authorize",
    token_path="/token",
    discovery_path="/.well-known/openid-configuration",
    scopes=("openid", "profile"),
    client_id_setting="LINKEDIN_CLIENT_ID",
    client_secret_setting="LINKEDIN_CLIENT_SECRET",
    finish=finish_with_userinfo,
    pkce=True,
)


@pytest.fixture
def mock_provider() -> Iterator[Provider]:
    providers.register(MOCK_PROVIDER)
    yield MOCK_PROVIDER
    providers.unregister(MOCK_PROVIDER.name)
