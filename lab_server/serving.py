"""A WSGI app on a local port in a daemon thread: the lab server and every stand-in use it."""

from __future__ import annotations

import errno
import logging
import socket
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .errors import PortInUseError


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, logging through `logging` only (never straight to stderr)."""

    def log(self, type: str, message: str, *args: Any) -> None:
        logging.getLogger("werkzeug").log(
            logging.ERROR if type == "error" else logging.INFO,
            "%s %s",
            self.address_string(),
            message % args,
        )


def _check_free(host: str, port: int) -> None:
    """Raise `PortInUseError` early: werkzeug would print to stderr and call sys.exit()."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug does
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(host, port) from exc
            raise


class ServerThread:
    """A WSGI app served by werkzeug in a daemon thread, with a clean `stop()`."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        _check_free(host, port)
        self._server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=QuietRequestHandler
        )
        self.host = host
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"lab-server-{self.port}", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        """Shut down from this thread, close the socket, then wait for the thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
