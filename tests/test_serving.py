import socket

import pytest
import requests

from lab_server import start
from lab_server.errors import PortInUseError
from lab_server.serving import ServerThread


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hola"]


@pytest.fixture
def busy_port():
    """A port held by another program (a plain listening socket, not a lab server)."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_a_port_held_by_another_program_is_a_spanish_error_not_a_system_exit(busy_port):
    with pytest.raises(PortInUseError) as info:
        ServerThread(hello, "127.0.0.1", busy_port)
    assert str(info.value) == (
        f"El puerto {busy_port} en 127.0.0.1 ya lo usa otro programa. Usa otro puerto, por ejemplo "
        f"start(port={busy_port + 1}), o cierra el otro programa "
        "(¿otro notebook o `lab-server run`?)."
    )


def test_start_on_a_busy_port_raises_port_in_use(busy_port, settings):
    with pytest.raises(PortInUseError):
        start(port=busy_port, settings=settings, show=False)


def test_port_zero_serves_on_the_chosen_port_and_stop_frees_it():
    server = ServerThread(hello, "127.0.0.1", 0)
    assert requests.get(server.url, timeout=5).text == "hola"
    server.stop()
    again = ServerThread(hello, "127.0.0.1", server.port)
    assert requests.get(again.url, timeout=5).text == "hola"
    again.stop()


def test_starting_twice_on_the_same_port_replaces_the_first_server(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    first = start(port=port, settings=settings, show=False)
    second = start(port=port, settings=settings, show=False)
    assert not first.running and second.running
    assert requests.get(second.url + "/health", timeout=5).json()["status"] == "ok"
