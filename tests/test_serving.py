"""ServerThread on its own (the runner's behaviour is in test_runner.py)."""

import socket

import pytest
import requests

from lab_server.errors import PortInUseError
from lab_server.serving import ServerThread


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hola"]


def test_a_busy_port_is_the_spanish_error_not_werkzeug_s_system_exit():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        busy = other.getsockname()[1]
        with pytest.raises(PortInUseError) as info:
            ServerThread(hello, "127.0.0.1", busy)
    assert str(info.value) == (
        f"El puerto {busy} en 127.0.0.1 ya lo usa otro programa. Usa otro puerto, por ejemplo "
        f"start(port={busy + 1}), o cierra el otro programa "
        "(¿otro notebook o `lab-server run`?)."
    )


def test_port_zero_serves_on_the_chosen_port_and_stop_frees_it():
    server = ServerThread(hello, "127.0.0.1", 0)
    assert requests.get(server.url, timeout=5).text == "hola"
    server.stop()
    again = ServerThread(hello, "127.0.0.1", server.port)
    assert requests.get(again.url, timeout=5).text == "hola"
    again.stop()


def test_the_request_log_masks_secrets_in_the_query():
    from lab_server.serving import mask_query_secrets

    line = (
        "GET /access_token?grant_type=ig_exchange_token&client_secret=f14c0edc3ee9cf03"
        "&access_token=IGAAQVYdEz9ot1Sr HTTP/1.1"
    )
    masked = mask_query_secrets(line)
    assert "f14c0edc3ee9cf03" not in masked and "IGAAQVYdEz9ot1Sr" not in masked
    assert "grant_type=ig_exchange_token&client_secret=••••••••cf03&" in masked
    assert masked.endswith("&access_token=••••••••t1Sr HTTP/1.1")
    plain = "GET /x?state=abc&scope=a&my_code=1 HTTP/1.1"
    assert mask_query_secrets(plain) == plain
