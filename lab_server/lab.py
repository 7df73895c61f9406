"""A running lab server, and the registry of the ones this process started.

The running `Lab` lives here, below the service packages, so that they can take one as an
argument (`set_webhook(lab)`, `wait_replies(lab)`) without importing the runner that
builds it. Like Dash's notebook runner, servers are kept in a registry keyed by
(host, port): `runner.start()` replaces the one on the same port.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from . import tunnel as tunnels
from .config import Settings
from .context import LabContext
from .display import lab_html, lab_text
from .logs import recent
from .sandbox import Sandbox
from .serving import ServerThread


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
