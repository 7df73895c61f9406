"""`lab-server run`'s waitress settings bound what a client can cost: a huge body is refused
before it is read, and a hundred clients sending a byte a second do not stop the server."""

from __future__ import annotations

import contextlib
import socket
import time

import requests

from lab_server.app import create_app
from lab_server.serving import MAX_BODY, WaitressThread

from .conftest import make_settings


def test_a_body_over_the_limit_is_refused_before_it_is_read(tmp_path):
    server = WaitressThread(create_app(make_settings(tmp_path)))
    try:
        with socket.create_connection((server.host, server.port), timeout=5) as sock:
            sock.sendall(
                b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                + f"Content-Length: {1024**3}\r\n\r\n".encode()
                + b"a" * 1024
            )
            answer = sock.recv(4096)  # without reading the announced gigabyte
        assert answer.startswith(b"HTTP/1.1 413")
        small = requests.post(
            server.url + "/webhooks/whatsapp", data=b"a" * (MAX_BODY + 1), timeout=5
        )
        assert small.status_code == 413
    finally:
        server.stop()


def test_a_hundred_slow_clients_do_not_take_the_server_down(tmp_path):
    server = WaitressThread(create_app(make_settings(tmp_path)))
    slow: list[socket.socket] = []
    try:
        for _ in range(100):
            sock = socket.create_connection((server.host, server.port), timeout=5)
            sock.sendall(b"POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\n")
            slow.append(sock)
        for second in range(3):  # a byte a second each, as an attacker would
            for sock in slow:
                sock.sendall(b"X")
            began = time.monotonic()
            assert requests.get(server.url + "/health", timeout=5).status_code == 200
            assert time.monotonic() - began < 1.0, second
            time.sleep(0.3)
    finally:
        for sock in slow:
            with contextlib.suppress(OSError):
                sock.close()
        server.stop()
