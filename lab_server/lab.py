"""A running lab server, and the registry of the ones this process started.

The running `Lab` lives here, below the service packages, so that they can take one as an
argument (`set_webhook(lab)`, `wait_replies(lab)`) without importing the runner that
builds it. Like Dash's notebook runner, servers are kept in a registry keyed by
(host, port): `runner.start()` replaces the one on the same port.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import tunnel as tunnels
from .auth import bearer_headers, bearer_session
from .config import Settings
from .context import LabContext
from .display import lab_html, lab_text
from .logs import recent
from .sandbox import Sandbox
from .serving import ServerThread

if TYPE_CHECKING:
    import requests


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
    def api_token(self) -> str:
        """The token of `/api/...` and of the portal's login: LAB_API_TOKEN, or the one
        generated in LAB_DATA_DIR/api_token (docs/security.md)."""
        return self.context.settings.api_token or ""

    @property
    def api_headers(self) -> dict[str, str]:
        """The `Authorization: Bearer …` header every `/api/...` route asks for."""
        return bearer_headers(self.api_token)

    def api_session(self) -> requests.Session:
        """A `requests.Session` that sends the API token with every request."""
        return bearer_session(self.api_token)

    def api_get(self, path: str, **kwargs: Any) -> requests.Response:
        """GET `path` (e.g. "/api/messages") on this lab with the token; `params=` and the
        rest as in `requests.get` (timeout 10 s unless given)."""
        import requests

        kwargs.setdefault("timeout", 10)
        headers = {**self.api_headers, **kwargs.pop("headers", {})}
        return requests.get(self.url + path, headers=headers, **kwargs)

    @property
    def running(self) -> bool:
        return not self._stopped

    def logs(self, lines: int = 20) -> str:
        """The last lines this lab's server and threads logged (no other lab's)."""
        return "\n".join(recent(lines, since=self.log_origin)) or "(sin registros todavía)"

    def show(self, page: str = "/", height: int = 620) -> Any:
        """The web portal inside the notebook's output, logged in by a one-time link.

        The frame points at `localhost` rather than 127.0.0.1: Jupyter is usually opened at
        http://localhost:8888, and only a same-site frame gets its SameSite=Lax cookie back.
        """
        from IPython.display import IFrame

        from .portal import login_link

        base = self.url.replace("://127.0.0.1:", "://localhost:", 1)
        return IFrame(login_link(self.context.app, base, page), width="100%", height=height)

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
        pipeline = self.context.app.extensions.get("pipeline")
        if pipeline is not None:
            pipeline.stop()
        if self.sandbox:
            self.sandbox.stop()
        self.context.keeper.close()
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


def register(lab: Lab) -> None:
    """Remember `lab` under the (host, port) it was asked for."""
    with _registry_lock:
        _registry[(lab.server.host, lab.requested_port)] = lab


def take(host: str, port: int) -> Lab | None:
    """Forget and return the lab registered under (host, port), if any."""
    with _registry_lock:
        return _registry.pop((host, port), None)


def running_labs() -> list[Lab]:
    """Every lab this process started and has not stopped."""
    with _registry_lock:
        return list(_registry.values())
