"""lab_server: the course's webhook server, its storage and its classroom sandbox.

from lab_server import start
lab = start()          # the real Flask app, in the background of this notebook
lab.webhook_urls       # what to paste into each provider's console
lab.stop()
"""

from .app import create_app
from .config import Settings, load_settings
from .runner import Lab, start, stop_all

__all__ = ["Lab", "Settings", "create_app", "load_settings", "start", "stop_all"]
