"""Database faults lose nothing: PostgreSQL killed or frozen behind a TCP proxy, SQLite locked
by another process, a full or unwritable data folder. Every acknowledged message ends up
stored exactly once, and the webhook answers within its budget."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from lab_server import store as store_module
from lab_server.app import create_app
from lab_server.errors import DataDirError
from lab_server.journal import DB_WAIT
from lab_server.whatsapp.blueprint import BUDGET

from .conftest import ROOT, make_settings
from .tcp_proxy import TCPProxy
from .whatsapp_support import inbound_form, lab_on, signed_post, twiml

RULE = twiml("Pasos del retiro: 1, 2 y 3.")
CHANNEL = twiml("Respuesta de WhatsApp.")


def expected(form: dict[str, str]) -> str:
    return RULE if form["Body"] == "retiro" else CHANNEL


def forms(count: int, tag: str) -> list[dict[str, str]]:
    return [
        inbound_form("retiro" if i % 3 == 0 else f"{tag} {i}", From=f"whatsapp:+5917{i:07d}")
        for i in range(count)
    ]


def through(url: str, port: int) -> str:
    """`url` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@pytest.fixture
def proxied(pg_schema_url):
    target = urlsplit(pg_schema_url)
    proxy = TCPProxy(target.hostname or "127.0.0.1", target.port or 5432)
    yield proxy, through(pg_schema_url, proxy.port)
    proxy.close()


def health(lab) -> dict:
    return requests.get(lab.url + "/health", timeout=2).json()


def wait_recovered(lab, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        state = health(lab)
        if state["status"] == "ok" and state["journal"] == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"the journal was not written back: {health(lab)}")


def assert_stored_once(lab, sent: list[dict[str, str]]) -> None:
    """Each message once, its reply once, and one claim each: nothing lost, nothing twice."""
    stored = lab.store.list_messages(limit=500)
    inbound = sorted(m["external_id"] for m in stored if m["direction"] == "in")
    replies = sorted(m["in_reply_to"] for m in stored if m["direction"] == "out")
    sids = sorted(form["MessageSid"] for form in sent)
    assert inbound == sids
    assert replies == sids
    assert lab.store.count("processed_events") == len(sids)


def test_postgresql_killed_mid_load_loses_nothing_and_answers_no_5xx(tmp_path, proxied):
    proxy, url = proxied
    lab = lab_on(url, tmp_path)
    webhook = lab.webhook_urls["whatsapp"]
    batch = forms(150, "caída")
    answered: list[tuple[dict, requests.Response]] = []
    seen_degraded: list[dict] = []

    def send(form):
        response = signed_post(webhook, form)
        answered.append((form, response))
        return response

    def outage() -> None:
        while len(answered) < 40:
            time.sleep(0.01)
        proxy.kill()  # every pooled connection breaks, new ones are refused
        time.sleep(0.3)
        seen_degraded.append(health(lab))
        time.sleep(1.2)
        proxy.restore()

    chaos = threading.Thread(target=outage)
    chaos.start()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(send, batch))
    chaos.join()
    retries = random.Random(5).sample(batch, 30)  # Twilio's retries, some of them journaled
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(send, retries))

    assert seen_degraded[0]["status"] == "degraded"
    assert seen_degraded[0]["database_up"] is False
    for form, response in answered:
        assert response.status_code == 200, response.text
        assert response.text == expected(form)
    wait_recovered(lab)
    assert_stored_once(lab, batch)


def test_a_frozen_database_network_keeps_the_budget_and_health(tmp_path, proxied):
    proxy, url = proxied
    lab = lab_on(url, tmp_path)
    webhook = lab.webhook_urls["whatsapp"]
    before, during = forms(5, "antes"), forms(12, "congelada")
    for form in before:
        assert signed_post(webhook, form).status_code == 200
    proxy.freeze()
    try:

        def timed(form):
            began = time.monotonic()
            response = signed_post(webhook, form)
            return response, time.monotonic() - began

        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(timed, during))
            began = time.monotonic()
            state = health(lab)
            health_took = time.monotonic() - began
    finally:
        proxy.thaw()
    for form, (response, took) in zip(during, results, strict=True):
        assert response.status_code == 200
        assert response.text == expected(form)
        assert took < min(BUDGET, DB_WAIT + 1.5), took
    assert health_took < 1.0
    assert state["status"] == "degraded" and state["journal"] > 0
    wait_recovered(lab)
    assert_stored_once(lab, before + during)


def test_sqlite_locked_by_another_process(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "SQLITE_LOCK_WAIT", 1.0)
    database = tmp_path / "lab.db"
    lab = lab_on(f"sqlite:///{database}", tmp_path)
    webhook = lab.webhook_urls["whatsapp"]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "db.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(float(sys.argv[2]))\n",
            str(database),
            "6",  # held well past the requests and the health check, even on a busy machine
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        sent = forms(6, "bloqueo")
        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda f: signed_post(webhook, f), sent))
        took = time.monotonic() - began
        assert health(lab)["status"] == "degraded"
    finally:
        holder.wait(timeout=10)
    assert took < 1.0 + 2.0
    for form, answer in zip(sent, answers, strict=True):
        assert answer.status_code == 200 and answer.text == expected(form)
    wait_recovered(lab)
    assert_stored_once(lab, sent)


# -- the data folder ------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "512k"):
    """A tmpfs of `size` mounted on `folder` (the test runs as root in CI)."""
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        message = f"no se pudo montar un tmpfs: {done.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message + " (hace falta root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Fill the disk under `folder` to the last byte."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 4096)
    return filler


def test_an_unwritable_data_folder_is_a_spanish_message(tmp_path):
    blocker = tmp_path / "un-archivo"
    blocker.write_text("no soy una carpeta")
    with pytest.raises(DataDirError) as info:
        create_app(make_settings(blocker / "datos"))
    assert "LAB_DATA_DIR" in str(info.value) and "No se puede escribir" in str(info.value)
    run = subprocess.run(
        [sys.executable, "-m", "lab_server", "run", "--port", "0", "--no-sandbox"],
        cwd=ROOT,
        env={**os.environ, "LAB_ENV_FILE": "none", "LAB_DATA_DIR": str(blocker / "datos")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "Error: No se puede escribir en la carpeta de datos" in run.stderr
    assert "Traceback" not in run.stdout + run.stderr


def test_a_full_data_folder_is_a_spanish_message_at_start(tmp_path):
    with small_disk(tmp_path / "disco") as disk:
        fill(disk)
        with pytest.raises(DataDirError) as info:
            create_app(make_settings(disk))
        assert "el disco está lleno" in str(info.value)


def test_a_disk_that_fills_up_while_running_loses_nothing_acknowledged(tmp_path):
    with small_disk(tmp_path / "disco", size="2m") as disk:
        lab = lab_on(f"sqlite:///{disk / 'lab.db'}", disk)
        webhook = lab.webhook_urls["whatsapp"]
        first = forms(10, "antes")
        for form in first:
            assert signed_post(webhook, form).status_code == 200
        filler = fill(disk)
        sent = forms(60, "lleno")
        answers = [signed_post(webhook, form) for form in sent]
        assert {a.status_code for a in answers} <= {200, 503}
        refused = [f for f, a in zip(sent, answers, strict=True) if a.status_code == 503]
        assert refused, "the disk never filled up: the test proved nothing"
        for answer in answers:
            if answer.status_code == 503:
                assert "disco lleno" in answer.json()["message"]
        filler.unlink()
        acknowledged = [f for f, a in zip(sent, answers, strict=True) if a.status_code == 200]
        # Twilio's retry of a refused message, once there is room again
        for form in refused:
            assert signed_post(webhook, form).status_code == 200
        wait_recovered(lab)
        assert_stored_once(lab, first + acknowledged + refused)
        lab.stop()


def test_telegram_gets_503_while_the_database_is_down_and_its_resend_is_stored(tmp_path, proxied):
    import json

    from lab_server import start
    from lab_server.telegram.webhook import set_webhook

    proxy, url = proxied
    env = {"LAB_SANDBOX": "1", "LAB_PORT": "0", "DATABASE_URL": url, "LLM_REPLIES": "0"}
    lab = start(settings=make_settings(tmp_path, **env), show=False)
    set_webhook(lab, url="https://lab-prueba.ngrok-free.app/webhooks/telegram")
    update = {
        "update_id": 7001,
        "message": {
            "message_id": 1,
            "date": 1767225600,
            "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "Ana"},
            "text": "hola",
        },
    }
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": lab.settings.telegram_secret_token,
    }

    def deliver() -> requests.Response:
        hook = lab.local_webhook_urls["telegram"]
        return requests.post(hook, data=json.dumps(update), headers=headers, timeout=10)

    proxy.kill()
    refused = deliver()
    assert refused.status_code == 503
    assert "Telegram reenviará" in refused.json()["message"]
    proxy.restore()
    assert deliver().status_code == 200  # Telegram's resend
    assert deliver().json() == {"ok": True, "duplicate": True}
    stored = [m for m in lab.store.list_messages("telegram") if m["direction"] == "in"]
    assert [m["external_id"] for m in stored] == ["7001"]
