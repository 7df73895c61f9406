"""Run the lab server from a notebook cell, in a background thread of the kernel.

Like Dash's notebook runner, servers are kept in a registry keyed by (host, port):
running the same cell again stops the old server first instead of failing with
"address already in use", and `lab.stop()` frees the port.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING

import requests
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import tunnel as tunnels
from .app import create_app
from .config import Settings, load_settings
from .display import lab_text
from .errors import ServerStartError, TunnelError
from .lab import Lab, register, running_labs, take
from .logs import new_origin, origin
from .sandbox import Sandbox
from .serving import TRUSTED_PROXY, ServerThread

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

log = logging.getLogger(__name__)


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
        app = create_app(box.apply(settings) if box else settings)
        if box:
            context = app.extensions["lab"]
            box.install_demo(context.settings, context.store)
        return app, box
    except BaseException:
        if box:
            box.stop()
        raise


#: The forwarded headers ProxyFix applies, removed from requests of any other peer.
FORWARDED = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")


def behind_tunnel(app: Flask) -> WSGIApplication:
    """The app as werkzeug should serve it: trusting X-Forwarded-Proto/Host from the tunnel.

    Behind ngrok the app sees http://127.0.0.1, but providers sign the public https URL;
    the agent's forwarded headers give it back. werkzeug's server has no trusted-proxy
    setting, so ProxyFix applies them, only for the local tunnel agent's address, as
    `lab-server run` asks waitress to; anyone else's forwarded headers are dropped.
    """
    fixed = ProxyFix(app, x_proto=1, x_host=1)

    def serve(environ, start_response):
        if environ.get("REMOTE_ADDR") == TRUSTED_PROXY:
            return fixed(environ, start_response)
        for name in FORWARDED:
            environ.pop(name, None)
        return app(environ, start_response)

    return serve


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
    old = take(host, requested)
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
            lab.tunnel_url = tunnels.open_tunnel(
                server.port, settings, rerun=tunnels.RERUN_NOTEBOOK
            )
        except TunnelError as exc:
            lab.tunnel_error = str(exc)
            log.warning("%s", exc)
        else:  # webhooks check signatures against the URL providers call, and no other
            lab.context.settings = dataclasses.replace(
                lab.context.settings, public_base_url=lab.tunnel_url
            )
    if box:
        box.attach(lab.local_webhook_urls, lab.public_url)
    app.extensions["pipeline"].start()
    register(lab)
    log.info("Servidor del laboratorio en %s", lab.url)
    if show:
        _show(lab)
    return lab


def stop_all() -> None:
    """Stop every lab server this process started."""
    for lab in running_labs():
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
