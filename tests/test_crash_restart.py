"""`lab-server run` killed with SIGKILL mid-load and started again: every message stored once
with its reply, every retry answered with the first answer, the journal read back at start."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from lab_server.store import Store

from .test_database_faults import expected, forms
from .test_whatsapp_proxy import run_lab_server, stop
from .whatsapp_support import signed_post


def send_all(url: str, batch: list[dict], kill_after: int | None = None, process=None) -> dict:
    """POST every form (8 at a time); SIGKILL `process` once `kill_after` were answered."""
    answers: dict[str, requests.Response | None] = {}
    lock = threading.Lock()

    def one(form):
        try:
            response = signed_post(url + "/webhooks/whatsapp", form)
        except requests.RequestException:
            response = None  # the server died with the request in flight: not acknowledged
        with lock:
            answers[form["MessageSid"]] = response
            done = sum(r is not None for r in answers.values())
        if kill_after is not None and done == kill_after:
            process.send_signal(signal.SIGKILL)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, batch))
    return answers


def assert_consistent(database_url: str, batch: list[dict]) -> None:
    store = Store(database_url)
    try:
        stored = store.list_messages(limit=1000)
        inbound = sorted(m["external_id"] for m in stored if m["direction"] == "in")
        replies = sorted(m["in_reply_to"] for m in stored if m["direction"] == "out")
        sids = sorted(f["MessageSid"] for f in batch)
        assert inbound == sids and replies == sids
        assert store.count("processed_events") == len(sids)
    finally:
        store.close()


def wait_journal_empty(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = requests.get(url + "/health", timeout=2).json()
        if state["journal"] == 0 and state["status"] == "ok":
            return
        time.sleep(0.1)
    raise AssertionError(state)


def test_sigkill_mid_load_then_restart_answers_each_message_once(tmp_path, database_url):
    batch = forms(120, "crash")
    first = run_lab_server(tmp_path, DATABASE_URL=database_url)
    try:
        answers = send_all(first.url, batch, kill_after=50, process=first.process)
        assert first.process.wait(timeout=10) == -signal.SIGKILL
    finally:
        stop(first)
    answered = {sid for sid, r in answers.items() if r is not None}
    assert 50 <= len(answered) < len(batch)
    for form in batch:
        response = answers[form["MessageSid"]]
        if response is not None:
            assert response.status_code == 200 and response.text == expected(form)

    again = run_lab_server(tmp_path, DATABASE_URL=database_url)
    try:
        # Twilio retries what got no answer; some answered ones are retried as well
        retried = [f for f in batch if f["MessageSid"] not in answered]
        retried += random.Random(7).sample([f for f in batch if f["MessageSid"] in answered], 20)
        assert all(r is not None for r in send_all(again.url, retried).values())
        replays = send_all(again.url, retried)
        for form in retried:
            response = replays[form["MessageSid"]]
            assert response.status_code == 200 and response.text == expected(form)
    finally:
        stop(again)
    assert_consistent(database_url, batch)


def test_a_journal_left_by_a_killed_server_is_written_once_at_restart(tmp_path):
    database = tmp_path / "lab.db"
    url = f"sqlite:///{database}"
    batch = forms(20, "diario")
    first = run_lab_server(tmp_path, DATABASE_URL=url)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "db.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.readline()\n",
            str(database),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        answers = send_all(first.url, batch)
        assert all(r is not None and r.status_code == 200 for r in answers.values())
        assert requests.get(first.url + "/health", timeout=2).json()["journal"] == len(batch)
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)
    finally:
        stop(first)
        holder.communicate("\n", timeout=10)
    assert (tmp_path / "journal.jsonl").exists()

    again = run_lab_server(tmp_path, DATABASE_URL=url)
    try:
        wait_journal_empty(again.url)
        retries = send_all(again.url, batch[:5])  # replayed from the database now
        for form in batch[:5]:
            assert retries[form["MessageSid"]].text == expected(form)
    finally:
        stop(again)
    assert not (tmp_path / "journal.jsonl").exists()
    assert_consistent(url, batch)
