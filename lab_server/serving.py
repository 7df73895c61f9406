"""A WSGI app on a local port in a daemon thread: the lab server and every stand-in use it."""

from __future__ import annotations

import errno
import logging
import os
import re
import socket
import threading
from typing import Any

from werkzeug.serving import (
    LISTEN_QUEUE,
    BaseWSGIServer,
    WSGIRequestHandler,
    get_sockaddr,
    make_server,
    select_address_family,
)

from .config import mask_secret
from .errors import PortInUseError

#: Query parameters that carry secrets where a provider documents them in the URL (Meta's
#: token endpoints, OAuth callbacks); the request log masks their values.
SECRET_PARAMS = re.compile(
    r"(?<=[?&])(access_token|client_secret|fb_exchange_token|code|input_token)=([^&\s]+)"
)


def mask_query_secrets(line: str) -> str:
    return SECRET_PARAMS.sub(lambda m: f"{m.group(1)}={mask_secret(m.group(2))}", line)


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler, logging through `logging` only (never straight to stderr)."""

    def log(self, type: str, message: str, *args: Any) -> None:
        logging.getLogger("werkzeug").log(
            logging.ERROR if type == "error" else logging.INFO,
            "%s %s",
            self.address_string(),
            message % args,
        )

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The request line without werkzeug's terminal colours, which a notebook shows raw."""
        self.log("info", '"%s" %s %s', mask_query_secrets(self.requestline), code, size)


#: Only the local tunnel agent may tell the app its public scheme and host.
TRUSTED_PROXY = "127.0.0.1"
#: Largest request body accepted; webhooks are a few kilobytes.
MAX_BODY = 1024 * 1024


def waitress_options(threads: int) -> dict[str, Any]:
    """How `lab-server run` configures waitress (the benchmarks reuse it).

    - X-Forwarded-Proto/Host count only from the tunnel agent on 127.0.0.1, and are removed
      from every other request;
    - a body over MAX_BODY is refused (413) before it is read, not after a 1 GiB upload;
    - a connection silent for `channel_timeout` seconds is closed, and `connection_limit`
      is far above what slow clients can hold: waitress reads requests in its event loop,
      so a hundred clients sending a byte a second hold sockets, never worker threads;
    - `threads` workers handle requests, plus MAX_WAITING for webhooks waiting on a slow
      model (see `replies.MAX_WAITING`), so those never leave new messages queued.
    """
    from .replies import MAX_WAITING

    return {
        "threads": threads + MAX_WAITING,
        "trusted_proxy": TRUSTED_PROXY,
        "trusted_proxy_count": 1,
        "trusted_proxy_headers": {"x-forwarded-proto", "x-forwarded-host"},
        "clear_untrusted_proxy_headers": True,
        "max_request_body_size": MAX_BODY,
        "channel_timeout": 20,
        "connection_limit": 1000,
        "ident": "lab-server",
    }


#: How often the serving loop checks for `stop()`; werkzeug's 0.5 s made every stop slow.
POLL_INTERVAL = 0.05

ADDRESS_IN_USE = {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE)}


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port), or `PortInUseError`.

    werkzeug's own bind prints "Address already in use" and calls `sys.exit(1)`, which a
    notebook shows as a bare `SystemExit`; binding here gives the kit's Spanish message.
    """
    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    if os.name == "posix":  # reuse a port in TIME_WAIT; on Windows this would share a busy port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(LISTEN_QUEUE)
    except OSError as exc:
        sock.close()
        if exc.errno in ADDRESS_IN_USE:
            raise PortInUseError(host, port) from exc
        raise
    return sock


class ServerThread:
    """A WSGI app served by werkzeug in a daemon thread, with a clean `stop()`."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        sock = _listen(host, port)
        try:
            self._server: BaseWSGIServer = make_server(
                host,
                port,
                app,
                threaded=True,
                request_handler=QuietRequestHandler,
                fd=sock.fileno(),
            )
        finally:
            sock.close()  # the server works on its own duplicate of the socket
        self.host = host
        self.port = self._server.port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL},
            name=f"lab-server-{self.port}",
            daemon=True,
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


class WaitressThread:
    """The app served as `lab-server run` serves it (waitress, `waitress_options`), in a
    daemon thread: for benchmarks and tests of what the command does under load."""

    def __init__(self, app: Any, threads: int = 8, host: str = "127.0.0.1", port: int = 0) -> None:
        import waitress

        self._map: dict = {}
        self._server = waitress.create_server(
            app, map=self._map, host=host, port=port, **waitress_options(threads)
        )
        self.host = host
        self.port = self._server.effective_port
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="waitress", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        # waitress's own run() loops until its sockets close; closing them from another
        # thread races with its select(). This loop checks for stop() between rounds instead.
        while not self._stopping.is_set():
            self._server.asyncore.loop(timeout=POLL_INTERVAL, map=self._map, count=1)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._server.task_dispatcher.shutdown()
        self._server.asyncore.close_all(self._map)
