"""The tunnel through a fake ngrok agent that speaks pyngrok's protocol (no network)."""

import time

import pytest
import requests
from pyngrok import conf, ngrok
from pyngrok.exception import PyngrokNgrokInstallError

from lab_server import start
from lab_server.errors import TunnelError
from lab_server.tunnel import _explain, open_tunnel

from .conftest import make_settings


def endpoint_forwarders() -> dict[str, str]:
    api_url = ngrok.get_ngrok_process(conf.PyngrokConfig()).api_url
    endpoints = requests.get(api_url + "/api/endpoints", timeout=5).json()["endpoints"]
    return {e["public_url"]: e["local_forward"] for e in endpoints}


def test_without_a_token_the_message_says_what_to_do_and_the_server_runs(tmp_path):
    began = time.monotonic()
    lab = start(port=0, tunnel=True, settings=make_settings(tmp_path), show=False)
    assert time.monotonic() - began < 5
    assert "NGROK_AUTHTOKEN" in lab.tunnel_error and "dashboard.ngrok.com" in lab.tunnel_error
    assert "vuelve a ejecutar start(tunnel=True)" in lab.tunnel_error, "a notebook's hint"
    assert "lab-server run" not in lab.tunnel_error
    assert lab.public_url is None
    assert requests.get(lab.url + "/health", timeout=5).ok
    assert "Túnel:" in str(lab)


def test_tunnel_public_url_reaches_the_app_as_https(tmp_path, fake_ngrok):
    settings = make_settings(tmp_path, NGROK_AUTHTOKEN="test-token-0000")
    lab = start(port=0, tunnel=True, settings=settings, show=False)
    assert lab.tunnel_error is None
    assert lab.public_url.startswith("https://") and lab.public_url.endswith(".ngrok-free.app")
    assert all(url.startswith(lab.public_url) for url in lab.webhook_urls.values())
    forward = endpoint_forwarders()[lab.public_url]
    assert requests.get(forward + "/health", timeout=5).json()["status"] == "ok"
    lab.stop()
    assert lab.public_url not in endpoint_forwarders()


def test_an_agent_error_becomes_one_clear_message(tmp_path, fake_ngrok, monkeypatch):
    monkeypatch.setenv("FAKE_NGROK_FAIL", "authentication failed: ERR_NGROK_4018")
    with pytest.raises(TunnelError) as info:
        open_tunnel(5000, make_settings(tmp_path, NGROK_AUTHTOKEN="bad-token"))
    message = str(info.value)
    assert "authtoken" in message and "servidor local sigue funcionando" in message


def test_a_silent_agent_times_out_within_seconds(tmp_path, fake_ngrok, monkeypatch):
    monkeypatch.setenv("FAKE_NGROK_HANG", "1")
    began = time.monotonic()
    with pytest.raises(TunnelError, match="no respondió"):
        open_tunnel(5000, make_settings(tmp_path, NGROK_AUTHTOKEN="tok"), timeout=2)
    assert time.monotonic() - began < 6


def test_offline_download_failure_is_explained():
    error = PyngrokNgrokInstallError("An error occurred while downloading ngrok: Name or service")
    assert "No se pudo descargar" in _explain(error)
