"""The notebook runner over real HTTP on loopback."""

import socket

import pytest
import requests
from flask import Flask

from lab_server import logs as lab_logs
from lab_server import start
from lab_server.errors import PortInUseError
from lab_server.logs import recent
from lab_server.sandbox import STANDINS, StandIn

from .conftest import make_settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_start_serves_the_real_app(tmp_path):
    lab = start(port=0, settings=make_settings(tmp_path), show=False)
    assert requests.get(lab.url + "/health", timeout=5).json()["status"] == "ok"
    assert lab.public_url is None


def test_running_the_same_cell_again_replaces_the_server(tmp_path):
    port = free_port()
    first = start(port=port, settings=make_settings(tmp_path), show=False)
    second = start(port=port, settings=make_settings(tmp_path), show=False)
    assert not first.running and second.running
    assert second.url == f"http://127.0.0.1:{port}"
    assert requests.get(second.url + "/health", timeout=5).ok
    second.stop()
    with socket.socket() as s:  # the port is free again
        s.bind(("127.0.0.1", port))


def test_a_port_held_by_another_program_is_a_clear_error(tmp_path):
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"start\\(port={port + 1}\\)"):
            start(port=port, settings=make_settings(tmp_path), show=False)


def test_public_base_url_shapes_the_webhook_urls(tmp_path):
    settings = make_settings(tmp_path, PUBLIC_BASE_URL="https://bot.example.org/")
    lab = start(port=0, settings=settings, show=False)
    assert lab.public_url == "https://bot.example.org"
    for name, url in lab.webhook_urls.items():
        assert url.startswith("https://bot.example.org/"), name
        assert lab.local_webhook_urls[name].startswith(lab.url)


def test_request_logs_go_to_the_lab_log_not_to_the_cell(tmp_path, capsys):
    lab = start(port=0, settings=make_settings(tmp_path), show=False)
    requests.get(lab.url + "/health?from=test_runner", timeout=5)
    requests.get(lab.url + "/missing?from=test_runner", timeout=5)  # werkzeug colours a 404
    captured = capsys.readouterr()
    assert "from=test_runner" not in captured.out + captured.err
    assert any("from=test_runner" in line for line in recent(50))
    assert "from=test_runner" in lab.logs(50)
    assert "\x1b[" not in lab.logs(50), "no terminal colour codes in the notebook's log"


def test_logs_show_only_what_this_lab_logged(tmp_path):
    first = start(port=0, settings=make_settings(tmp_path), show=False)
    requests.get(first.url + "/health?from=first_lab", timeout=5)
    second = start(port=0, settings=make_settings(tmp_path), show=False)
    requests.get(second.url + "/health?from=second_lab", timeout=5)
    assert "from=first_lab" in first.logs(100)
    assert "from=first_lab" not in second.logs(100)
    assert "from=second_lab" in second.logs(100)
    assert any("from=first_lab" in line for line in recent(100)), "the buffer itself keeps all"


def test_a_fresh_lab_with_nothing_logged_says_so(tmp_path):
    lab = start(port=0, settings=make_settings(tmp_path), show=False)
    lab.log_origin = lab_logs.new_origin()  # as if it had just started: nothing of its own yet
    assert lab.logs() == "(sin registros todavía)"


def test_text_summary_says_what_is_missing(tmp_path):
    lab = start(port=0, settings=make_settings(tmp_path), show=False)
    text = str(lab)
    assert lab.url in text
    assert "falta TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN" in text
    assert "sandbox" not in text.split("Servicios:")[0].lower()


class EchoStandIn(StandIn):
    """A minimal stand-in for exercising the sandbox frame itself."""

    service = "twilio"

    def routes(self, app: Flask) -> None:
        app.add_url_rule("/echo", "echo", lambda: "eco", methods=["POST"])

    def overrides(self) -> dict[str, str]:
        return {"TWILIO_API_BASE": self.base_url, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32}


@pytest.fixture
def echo_only(monkeypatch):
    monkeypatch.setattr("lab_server.sandbox.STANDINS", {"twilio": EchoStandIn})
    assert STANDINS is not None


def test_sandbox_points_settings_at_the_stand_ins_and_says_so(tmp_path, echo_only):
    lab = start(port=0, settings=make_settings(tmp_path, LAB_SANDBOX="auto"), show=False)
    standin = lab.sandbox["twilio"]
    assert lab.settings.twilio_api_base == standin.base_url
    assert lab.settings.is_sandboxed("twilio")
    assert "nada sale de tu computadora" in str(lab)
    assert "nada sale de tu computadora" in lab._repr_html_()
    assert requests.get(lab.url + "/health", timeout=5).json()["sandbox"] == ["twilio"]
    requests.post(standin.base_url + "/echo", data={"a": "1"}, timeout=5)
    [recorded] = standin.requests_to("/echo")
    assert recorded.form == {"a": "1"} and recorded.method == "POST"
    assert standin.webhook_urls == lab.local_webhook_urls
    lab.stop()
    with pytest.raises(requests.ConnectionError):
        requests.post(standin.base_url + "/echo", timeout=2)


def test_auto_sandbox_leaves_configured_services_alone(tmp_path, echo_only):
    settings = make_settings(
        tmp_path, LAB_SANDBOX="auto", TWILIO_ACCOUNT_SID="AC" + "1" * 32, TWILIO_AUTH_TOKEN="t" * 32
    )
    lab = start(port=0, settings=settings, show=False)
    assert lab.sandbox is None
    assert lab.settings.twilio_api_base == "https://api.twilio.com"
    assert "real (credenciales en .env)" in str(lab)


def test_sandbox_off_starts_no_stand_in(tmp_path, echo_only):
    lab = start(port=0, sandbox=False, settings=make_settings(tmp_path), show=False)
    assert lab.sandbox is None and not lab.settings.sandboxed
