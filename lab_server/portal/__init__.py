"""The kit's web portal at `/`: the course project's pages and a chat simulator.

It is part of the core (a user interface of the lab, not an outside service): it reads the
store, calls the pipeline's Python API and reaches the channels only over HTTP, through the
sandbox's simulated phones, so it never imports a service package (docs/architecture.md).

    lab = start(sandbox=True)
    lab.show()            # the portal inside the notebook, already logged in
"""

from __future__ import annotations

from flask import Flask

from ..config import Settings
from .access import Access, api_token
from .access import install as _install_access
from .blueprint import bp
from .chat import Simulator


def install(app: Flask, settings: Settings) -> None:
    """Give `app` the portal: its session and CSRF settings, the simulator, the pages."""
    from . import project  # noqa: F401  (its routes join the blueprint)

    _install_access(app, settings)
    app.extensions["portal.chat"] = Simulator(settings)
    app.register_blueprint(bp)


def login_link(app: Flask, base_url: str, path: str = "/") -> str:
    """A URL that logs a browser into the portal once, within two minutes, and opens `path`."""
    from urllib.parse import urlencode

    access: Access = app.extensions["portal"]
    query = urlencode({"codigo": access.new_link_code(), "siguiente": path})
    return f"{base_url}/entrar?{query}"


__all__ = ["api_token", "install", "login_link"]
