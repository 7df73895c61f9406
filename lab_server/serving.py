"""A WSGI app on a local port in a daemon thread: the lab server and every stand-in use it."""

from __future__ import annotations

import errno
import logging
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


class ServerThread:
    """A WSGI app served by werkzeug in a daemon thread, with a clean `stop()`."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        try:
            self._server: BaseWSGIServer = make_server(
                host, port, app, threaded=True, request_handler=QuietRequestHandler
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(host, port) from exc
            raise
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
