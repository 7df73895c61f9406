"""The real `lab-server run` (waitress) behind the ngrok tunnel: Twilio signs the public
https URL, and only the local tunnel agent may say what that URL was."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import requests
import waitress
from twilio.request_validator import RequestValidator

from lab_server import create_app

from .conftest import FAKES, ROOT, make_settings
from .whatsapp_support import (
    ACCOUNT,
    RESPONSES,
    TOKEN,
    inbound_form,
    signed_post,
    twiml,
    wait_until,
    write_responses,
)

RULE_REPLY = twiml(RESPONSES["rules"][0]["response"])

#: A fake ngrok agent (tests/fakes/fake_ngrok.py) that also writes where its local API
#: listens, so this test can find the forwarding address of the tunnel it opens.
AGENT = """
import sys
from pathlib import Path
sys.path.insert(0, {fakes!r})
import fake_ngrok
serve = fake_ngrok.api_server
def api_server(agent):
    server = serve(agent)
    Path({address!r}).write_text(f"http://127.0.0.1:{{server.server_address[1]}}")
    return server
fake_ngrok.api_server = api_server
raise SystemExit(fake_ngrok.main(sys.argv[1:]))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Running:
    process: subprocess.Popen
    url: str
    output: Path
    folder: Path

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")


def agent_wrapper(folder: Path) -> Path:
    script = folder / "agent.py"
    script.write_text(
        AGENT.format(fakes=str(FAKES), address=str(folder / "agent-api")), encoding="utf-8"
    )
    wrapper = folder / "ngrok"
    wrapper.write_text(
        f'#!/bin/sh\necho $$ > "{folder / "agent.pid"}"\nexec "{sys.executable}" "{script}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


def stop(running: Running) -> None:
    """SIGINT, as Ctrl+C: waitress stops and pyngrok ends its agent; then make sure of both."""
    if running.process.poll() is None:
        running.process.send_signal(signal.SIGINT)
        try:
            running.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            running.process.kill()
            running.process.wait(timeout=5)
    pid_file = running.folder / "agent.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def run_lab_server(folder: Path, *args: str, **env: str) -> Running:
    """`lab-server run` in its own process, with known Twilio credentials, until it answers."""
    port = free_port()
    output = folder / "lab-server.out"
    environment = {
        **os.environ,
        "LAB_ENV_FILE": "none",
        "LAB_SANDBOX": "0",
        "LAB_DATA_DIR": str(folder),
        "LAB_RESPONSES": str(write_responses(folder)),
        "LLM_REPLIES": "0",
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "lab_server", "run", "--port", str(port), *args],
            cwd=ROOT,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    running = Running(process, f"http://127.0.0.1:{port}", output, folder)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(running.url + "/health", timeout=1).status_code == 200:
                return running
        except requests.ConnectionError:
            time.sleep(0.1)
    stop(running)
    raise AssertionError("lab-server run did not start:\n" + running.text())


@pytest.fixture
def tunnelled(tmp_path):
    running = run_lab_server(
        tmp_path,
        "--tunnel",
        NGROK_AUTHTOKEN="fake-ngrok-token",
        PYNGROK_NGROK_PATH=str(agent_wrapper(tmp_path)),
    )
    yield running
    stop(running)


def endpoint(running: Running) -> dict:
    """The tunnel the agent opened: its public https URL and the local address it forwards."""
    api = running.folder / "agent-api"
    wait_until(api.exists)
    [tunnel] = requests.get(api.read_text() + "/api/endpoints", timeout=5).json()["endpoints"]
    return tunnel


def test_behind_the_tunnel_the_public_https_signature_is_accepted(tunnelled):
    tunnel = endpoint(tunnelled)
    public = tunnel["public_url"] + "/webhooks/whatsapp"
    assert public.startswith("https://lab-")
    assert f"webhook whatsapp   {public}" in tunnelled.text()
    through_tunnel = tunnel["local_forward"] + "/webhooks/whatsapp"

    answer = signed_post(through_tunnel, inbound_form("retiro"), sign_url=public)
    assert answer.status_code == 200, answer.text
    assert answer.text == RULE_REPLY

    signed_for_local = signed_post(
        through_tunnel, inbound_form("retiro"), sign_url=tunnelled.url + "/webhooks/whatsapp"
    )
    assert signed_for_local.status_code == 403
    assert f"no corresponde a {public}" in signed_for_local.json()["message"]


def post_from(source: str, running: Running, form: dict, headers: dict) -> int:
    """POST from local address `source` (127.0.0.2 is loopback, but not the tunnel agent)."""
    target = urlsplit(running.url)
    connection = http.client.HTTPConnection(
        target.hostname, target.port, timeout=10, source_address=(source, 0)
    )
    try:
        connection.request(
            "POST",
            "/webhooks/whatsapp",
            body=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        )
        return connection.getresponse().status
    finally:
        connection.close()


def test_only_the_tunnel_url_counts_whatever_the_forwarded_headers_say(tunnelled):
    """With the tunnel open, a signature counts only for its URL: forwarded headers, even
    from the local agent's address, cannot make another URL valid."""
    public_host = urlsplit(endpoint(tunnelled)["public_url"]).hostname
    for host, expected in ((public_host, 200), ("lab-spoofed.ngrok-free.app", 403)):
        form = inbound_form("retiro")
        headers = {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": host,
            "X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(
                f"https://{host}/webhooks/whatsapp", form
            ),
        }
        assert post_from("127.0.0.1", tunnelled, form, headers) == expected
        assert post_from("127.0.0.2", tunnelled, form, headers) == expected


def test_waitress_without_trusted_proxy_refuses_the_tunnelled_request(tmp_path):
    """Why `lab-server run` passes trusted_proxy: by default waitress drops X-Forwarded-*."""
    settings = make_settings(
        tmp_path, TWILIO_AUTH_TOKEN=TOKEN, LAB_RESPONSES=str(write_responses(tmp_path))
    )
    server = waitress.create_server(create_app(settings), host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.effective_port}/webhooks/whatsapp"
        public = "https://lab-abc.ngrok-free.app/webhooks/whatsapp"
        forwarded = {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "lab-abc.ngrok-free.app",
            "Connection": "close",  # so that close() below leaves waitress nothing to wait for
        }
        answer = signed_post(url, inbound_form("retiro"), sign_url=public, headers=forwarded)
        assert answer.status_code == 403
    finally:
        server.close()
        thread.join(timeout=5)


def test_the_app_itself_trusts_no_forwarded_header(tmp_path):
    """Only the server decides which peer may set the URL (waitress, or runner.behind_tunnel)."""
    settings = make_settings(
        tmp_path, TWILIO_AUTH_TOKEN=TOKEN, LAB_RESPONSES=str(write_responses(tmp_path))
    )
    form = inbound_form("retiro")
    public = "https://lab-abc.ngrok-free.app/webhooks/whatsapp"
    client = create_app(settings).test_client()
    answer = client.post(
        "/webhooks/whatsapp",
        data=form,
        headers={
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "lab-abc.ngrok-free.app",
            "X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(public, form),
        },
    )
    assert answer.status_code == 403
    assert "no corresponde a http://localhost/webhooks/whatsapp" in answer.get_json()["message"]


def test_lab_server_run_sandbox_answers_the_stand_ins_phone(tmp_path):
    running = run_lab_server(tmp_path, "--sandbox")
    try:
        line = next(x for x in running.text().splitlines() if "twilio" in x and "simulado" in x)
        phone = line.split()[-1] + "/_sandbox/whatsapp"
        code = requests.get(phone, timeout=5).json()["join_code"]
        sender = {"From": "whatsapp:+59170000009"}
        requests.post(phone + "/inbound", data={**sender, "Body": f"join {code}"}, timeout=5)
        answer = requests.post(phone + "/inbound", data={**sender, "Body": "retiro"}, timeout=10)
        assert answer.json()["status_code"] == 200
        assert answer.json()["twiml"] == RULE_REPLY
        token = (running.folder / "api_token").read_text().strip()
        stored = requests.get(
            running.url + "/api/messages", headers={"Authorization": f"Bearer {token}"}, timeout=5
        ).json()["messages"]
        assert [m["body"] for m in stored] == [RESPONSES["rules"][0]["response"], "retiro"]
        unsigned = requests.post(running.url + "/webhooks/whatsapp", data=inbound_form(), timeout=5)
        assert unsigned.status_code == 403
    finally:
        stop(running)


def test_lab_server_run_warns_when_signatures_are_not_checked(tmp_path):
    running = run_lab_server(tmp_path, TWILIO_VALIDATE_SIGNATURE="0")
    try:
        unsigned = requests.post(
            running.url + "/webhooks/whatsapp", data=inbound_form("retiro"), timeout=5
        )
        assert unsigned.status_code == 200
        assert "WARNING" in running.text()
        assert "TWILIO_VALIDATE_SIGNATURE=0" in running.text()
    finally:
        stop(running)
