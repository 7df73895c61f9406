"""lab_server: the course's webhook server, its storage and its classroom sandbox.

from lab_server import start
lab = start()          # the real Flask app, in the background of this notebook
lab.webhook_urls       # what to paste into each provider's console
lab.stop()

The names below are imported on first use (PEP 562), so `import lab_server` costs almost
nothing and a kernel restart in class does not wait for Flask, Twilio or OpenAI to load.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import exports

#: Public name -> the module that defines it.
_EXPORTS = {
    "Lab": "lab",
    "Settings": "config",
    "create_app": "app",
    "load_settings": "config",
    "start": "runner",
    "stop_all": "runner",
}

__all__ = [
    "Lab",
    "Settings",
    "create_app",
    "load_settings",
    "start",
    "stop_all",
]

if TYPE_CHECKING:
    from .app import create_app
    from .config import Settings, load_settings
    from .lab import Lab
    from .runner import start, stop_all

__getattr__, __dir__ = exports(__name__, _EXPORTS)
