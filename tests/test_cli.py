"""The `lab-server` command, run as a real subprocess."""

import os
import socket
import subprocess
import sys
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
