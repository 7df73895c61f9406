"""Shared fixtures, in the style of Flask's tutorial: `settings`, `app`, `client`.

Every test builds its settings from an explicit environment, so a developer's own `.env`
or credentials never leak into a test run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

os.environ["LAB_ENV_FILE"] = "none"  # before lab_server reads anything

from lab_server import create_app, stop_all  # noqa: E402
from lab_server.config import Settings, load_settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FAKES = Path(__file__).parent / "fakes"
#: Fixtures of one area, kept in their own module.
pytest_plugins = [
    "tests.llm_helpers",
    "tests.oauth_support",
    "tests.meta_support",
    "tests.pipeline_support",
]
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def make_settings(data_dir: Path, **env: str) -> Settings:
    """Settings for a test: own data folder, no sandbox, no LLM, unless `env` says so."""
    base = {
        "LAB_DATA_DIR": str(data_dir),
        "LAB_SANDBOX": "0",
        "LLM_REPLIES": "0",
        "LAB_RESPONSES": str(ROOT / "responses.json"),
    }
    return load_settings(env={**base, **env})


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def app(settings: Settings):
    return create_app(settings)


@pytest.fixture
def client(app):
    """A test client that sends the API token, as `lab.api_session()` does (tests/test_auth.py
    checks what happens without it)."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {app.extensions['lab'].settings.api_token}"
    return client


@pytest.fixture(autouse=True)
def _stop_labs() -> Iterator[None]:
    """No lab server outlives its test."""
    yield
    stop_all()


def _with_search_path(url: str, schema: str) -> str:
    parts = urlsplit(url)
    option = f"options=-csearch_path%3D{schema}"
    query = f"{parts.query}&{option}" if parts.query else option
    return urlunsplit(parts._replace(query=query))


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """TEST_DATABASE_URL if a server answers; under CI=true a missing server fails the run."""
    import psycopg2

    try:
        psycopg2.connect(TEST_DATABASE_URL, connect_timeout=3).close()
    except psycopg2.OperationalError as exc:
        service_missing(
            f"PostgreSQL no responde en {TEST_DATABASE_URL}: {str(exc).strip()}",
            "inicia PostgreSQL o define TEST_DATABASE_URL",
        )
    return TEST_DATABASE_URL


def service_missing(message: str, how: str) -> None:
    """A server the test needs is not there: fail under CI=true, else skip saying `how`."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(f"{message}. Para ejecutar estas pruebas, {how}.")


@pytest.fixture
def pg_schema_url(postgres_url: str) -> Iterator[str]:
    """A fresh schema per test in the test database, dropped afterwards."""
    import psycopg2

    schema = f"lab_test_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(postgres_url)
    conn.autocommit = True
    conn.cursor().execute(f"CREATE SCHEMA {schema}")
    try:
        yield _with_search_path(postgres_url, schema)
    finally:
        conn.cursor().execute(f"DROP SCHEMA {schema} CASCADE")
        conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on the embedded SQLite file and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lab.db'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def fake_ngrok(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point pyngrok at the fake agent (an executable wrapper around fakes/fake_ngrok.py)."""
    from lab_server.tunnel import stop_agent

    wrapper = tmp_path / "ngrok"
    pids = tmp_path / "ngrok.pids"
    fake = FAKES / "fake_ngrok.py"
    wrapper.write_text(f'#!/bin/sh\necho $$ >> "{pids}"\nexec "{sys.executable}" "{fake}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PYNGROK_NGROK_PATH", str(wrapper))
    yield wrapper
    # Kill the fakes first: a hung one holds pyngrok's process lock until its pipe closes.
    for pid in pids.read_text().split() if pids.exists() else []:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    stop_agent()
