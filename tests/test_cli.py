"""The `lab-server` command, run as a real subprocess."""

import os
import queue
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from .conftest import ROOT

SECRET = "tok-abcdefghijklmnop-9876"


def cli_env(tmp_path, **extra):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_", "OPENAI_"))
    }
    env.update({"LAB_ENV_FILE": "none", "LAB_DATA_DIR": str(tmp_path), "LAB_SANDBOX": "0", **extra})
    return env


def run_cli(tmp_path, *args, **extra):
    return subprocess.run(
        [sys.executable, "-m", "lab_server", *args],
        env=cli_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_doctor_masks_secrets_and_says_what_is_missing(tmp_path):
    result = run_cli(tmp_path, "doctor", TWILIO_AUTH_TOKEN=SECRET)
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout
    assert "••••••••9876" in result.stdout
    assert "TWILIO_ACCOUNT_SID" in result.stdout and "console.twilio.com" in result.stdout
    assert "✔ base de datos" in result.stdout


def test_doctor_fails_on_a_broken_responses_file(tmp_path):
    broken = tmp_path / "responses.json"
    broken.write_text('{"default": ""}', encoding="utf-8")
    result = run_cli(tmp_path, "doctor", LAB_RESPONSES=str(broken))
    assert result.returncode == 1
    assert "✘ responses.json" in result.stdout


def test_run_refuses_to_start_with_a_broken_responses_file(tmp_path):
    broken = tmp_path / "responses.json"
    broken.write_text("{", encoding="utf-8")
    result = run_cli(tmp_path, "run", "--port", "0", LAB_RESPONSES=str(broken))
    assert result.returncode == 2
    assert "JSON inválido" in result.stderr


def test_bad_settings_are_reported_not_raised(tmp_path):
    result = run_cli(tmp_path, "doctor", LAB_SANDBOX="quizas")
    assert result.returncode == 2
    assert "LAB_SANDBOX" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def served(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab_server", "run", "--port", str(port)],
        env=cli_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/health", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_run_serves_the_app_with_waitress(served):
    response = requests.get(served + "/health", timeout=5)
    assert response.json()["status"] == "ok"
    assert response.headers["Server"] == "lab-server"


#: Runs `lab-server run` unchanged; once the sandbox learns the webhook URLs, a phone
#: simulated by the Twilio stand-in writes to the bot through them and the answer is printed.
PHONE_DRIVER = """
import sys, threading, time, requests
from lab_server import cli
from lab_server.sandbox import Sandbox

attach = Sandbox.attach

def attach_and_write(box, urls, public_base_url=None):
    attach(box, urls, public_base_url)
    def write():
        base = urls["whatsapp"].split("/webhooks")[0]
        for _ in range(200):
            try:
                requests.get(base + "/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        box["twilio"].join("whatsapp:+59170000009")
        delivery = box["twilio"].send_inbound("Hola", from_="whatsapp:+59170000009")
        print("PHONE", delivery.status_code, delivery.url, flush=True)
    threading.Thread(target=write, daemon=True).start()

Sandbox.attach = attach_and_write
sys.exit(cli.main(sys.argv[1:]))
"""


class Announced:
    """A `lab-server run` subprocess whose output lines are read as they come."""

    def __init__(self, tmp_path, command, **extra):
        self.proc = subprocess.Popen(
            command,
            env=cli_env(tmp_path, PYTHONUNBUFFERED="1", **extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.seen: list[str] = []

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def until(self, start: str, timeout: float = 30) -> str:
        """The first line (from now on) that starts with `start`, after a stripped indent."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if line.strip().startswith(start):
                return line.strip()
        raise AssertionError(f"no line starting with {start!r} in:\n" + "\n".join(self.seen))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def announced(tmp_path):
    runs = []

    def run(*args, driver=None, **extra):
        head = ["-c", driver] if driver else ["-m", "lab_server"]
        runs.append(Announced(tmp_path, [sys.executable, *head, "run", *args], **extra))
        return runs[-1]

    yield run
    for run_ in runs:
        run_.stop()


def test_port_0_announces_the_port_the_system_gave(announced):
    run = announced("--port", "0", "--sandbox")
    url = run.until("Servidor del laboratorio en").split(" en ")[1]
    port = int(url.rsplit(":", 1)[1])
    assert url == f"http://127.0.0.1:{port}" and port != 0
    webhook = run.until("webhook whatsapp").split()[-1]
    assert webhook == f"{url}/webhooks/whatsapp"
    assert requests.get(url + "/health", timeout=5).json()["status"] == "ok"


def test_port_0_gives_the_sandbox_the_real_webhook_urls(announced):
    run = announced("--port", "0", "--sandbox", driver=PHONE_DRIVER)
    url = run.until("Servidor del laboratorio en").split(" en ")[1]
    assert run.until("PHONE") == f"PHONE 200 {url}/webhooks/whatsapp"


def test_the_tunnel_hint_in_a_terminal_names_the_command(announced):
    run = announced("--port", "0", "--tunnel", NGROK_AUTHTOKEN="")
    hint = run.until("Túnel:")
    assert "`lab-server run --tunnel`" in hint and "start(" not in hint
    run.until("Servidor del laboratorio en")  # the local server runs all the same
