"""Run the lab server from a notebook cell, in a background thread of the kernel.

Like Dash's notebook runner, servers are kept in a registry keyed by (host, port):
running the same cell again stops the old server first instead of failing with
"address already in use", and `lab.stop()` frees the port.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import requests
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import tunnel as tunnels
from .app import create_app
from .config import Settings, load_settings
from .context import LabContext
from .display import lab_html, lab_text
from .errors import ServerStartError, TunnelError
from .logs import new_origin, origin, recent
from .sandbox import Sandbox
from .serving import ServerThread

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

log = logging.getLogger(__name__)


@dataclass(repr=False)
class Lab:
    """A running lab server: where it listens and what to paste into each console."""

    settings: Settings
    context: LabContext
    server: ServerThread
    requested_port: int
    sandbox: Sandbox | None = None
    tunnel_url: str | None = None
    tunnel_error: str | None = None
    #: tags this lab's log lines (see logs.py), so `logs()` shows no other lab's
    log_origin: int | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def public_url(self) -> str | None:
        """The tunnel's URL, else PUBLIC_BASE_URL, else None (only reachable locally)."""
        return self.tunnel_url or self.settings.public_base_url

    @property
    def store(self):
        return self.context.store

    @property
    def webhook_urls(self) -> dict[str, str]:
        """Channel -> the URL each provider must call (public when there is a tunnel)."""
        base = self.public_url or self.url
        return {name: base + path for name, path in sorted(self.context.webhook_paths().items())}

    @property
    def local_webhook_urls(self) -> dict[str, str]:
        """Channel -> the loopback URL, for the sandbox's deliveries."""
        return {
            name: self.url + path for name, path in sorted(self.context.webhook_paths().items())
        }

    @property
    def running(self) -> bool:
        return not self._stopped

    def logs(self, lines: int = 20) -> str:
        """The last lines the server and its threads logged."""
        return "\n".join(recent(lines, since=self.log_origin)) or "(sin registros todavía)"

    def stop(self) -> None:
        """Stop the server, its tunnel and its sandbox; the port is free afterwards."""
        if self._stopped:
            return
        self._stopped = True
        with _registry_lock:
            if _registry.get((self.server.host, self.requested_port)) is self:
                del _registry[(self.server.host, self.requested_port)]
        if self.tunnel_url:
            tunnels.close_tunnel(self.tunnel_url)
        self.server.stop()
        if self.sandbox:
            self.sandbox.stop()
        self.context.store.close()

    def __str__(self) -> str:
        return lab_text(self)

    def __repr__(self) -> str:
        return f"<Lab {self.url} {'en marcha' if self.running else 'detenido'}>"

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        """IPython's plain-text display (terminal, VS Code fallback)."""
        printer.text(lab_text(self))

    def _repr_html_(self) -> str:
        return lab_html(self)


_registry: dict[tuple[str, int], Lab] = {}
_registry_lock = threading.Lock()


def _wait_healthy(url: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/health", timeout=2).status_code == 200:
                return
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.05)
    raise ServerStartError(f"El servidor no respondió en {url}/health ({last}). Mira lab.logs().")


def prepare(settings: Settings, mode: str) -> tuple[Flask, Sandbox | None]:
    """The app, and the stand-ins it talks to when sandbox `mode` calls for them."""
    box = Sandbox.for_settings(settings, mode)
    try:
        return create_app(box.apply(settings) if box else settings), box
    except BaseException:
        if box:
            box.stop()
        raise


def behind_tunnel(app: Flask) -> WSGIApplication:
    """The app as werkzeug should serve it: trusting X-Forwarded-Proto/Host from the tunnel.

    Behind ngrok the app sees http://127.0.0.1, but providers sign the public https URL;
    the agent's forwarded headers give it back. werkzeug's server has no trusted-proxy
    setting, so ProxyFix applies them (`lab-server run` asks waitress to, for 127.0.0.1 only).
    """
    return ProxyFix(app, x_proto=1, x_host=1)


def tagged(app: WSGIApplication, number: int) -> WSGIApplication:
    """`app`, marking what its request threads (and the threads they start) log as `number`'s."""

    def tagged_app(environ, start_response):
        origin.set(number)  # each request has its own thread, so the mark stays in it
        return app(environ, start_response)

    return tagged_app


def start(
    port: int | None = None,
    tunnel: bool = False,
    sandbox: bool | None = None,
    host: str = "127.0.0.1",
    settings: Settings | None = None,
    show: bool = True,
) -> Lab:
    """Start (or restart) the lab server in the background and return once it answers.

    `sandbox=None` follows LAB_SANDBOX (auto: stand-ins for services without credentials),
    True forces the classroom sandbox for every service, False turns it off.
    """
    settings = settings or load_settings()
    requested = settings.port if port is None else port
    with _registry_lock:
        old = _registry.pop((host, requested), None)
    if old:
        old.stop()

    mode = settings.sandbox if sandbox is None else ("1" if sandbox else "0")
    log_origin = new_origin()
    app, box = prepare(settings, mode)
    try:
        server = ServerThread(tagged(behind_tunnel(app), log_origin), host, requested)
    except BaseException:
        app.extensions["lab"].store.close()
        if box:
            box.stop()
        raise
    lab = Lab(
        app.extensions["lab"].settings,
        app.extensions["lab"],
        server,
        requested,
        sandbox=box,
        log_origin=log_origin,
    )
    try:
        _wait_healthy(lab.url)
    except ServerStartError:
        lab.stop()
        raise
    if tunnel:
        try:
            lab.tunnel_url = tunnels.open_tunnel(server.port, settings)
        except TunnelError as exc:
            lab.tunnel_error = str(exc)
            log.warning("%s", exc)
    if box:
        box.attach(lab.local_webhook_urls)
    with _registry_lock:
        _registry[(host, requested)] = lab
    log.info("Servidor del laboratorio en %s", lab.url)
    if show:
        _show(lab)
    return lab


def stop_all() -> None:
    """Stop every lab server this process started."""
    with _registry_lock:
        labs = list(_registry.values())
    for lab in labs:
        lab.stop()


def _show(lab: Lab) -> None:
    """Rich summary in Jupyter, plain text elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(lab)
            return
    except ImportError:
        pass
    print(lab_text(lab))
