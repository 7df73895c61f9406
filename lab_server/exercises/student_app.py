"""A student's Flask app, as the webhook checks use it: find its route, serve it on a free
loopback port without Flask's tracebacks in the notebook, and say in one line why it failed."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from ..serving import ServerThread

#: Frames from the kit itself are not the student's line either.
LIBRARY = str(Path(__file__).resolve().parents[1])

if TYPE_CHECKING:
    from flask import Flask


def view_of(app: Any, path: str) -> Callable[..., Any] | None:
    """The view function behind POST `path`, if the app has one."""
    for rule in app.url_map.iter_rules():
        if rule.rule == path and "POST" in (rule.methods or ()):
            return app.view_functions.get(rule.endpoint)
    return None


@contextmanager
def served(app: Flask) -> Iterator[ServerThread]:
    """The app on a free port; its logger is quiet meanwhile (the check explains a crash
    in one line, so the notebook shows no traceback of it)."""
    quiet = app.logger.disabled
    app.logger.disabled = True
    server = ServerThread(app)
    try:
        yield server
    finally:
        server.stop()
        app.logger.disabled = quiet


def crash_of(app: Flask, path: str, base_url: str, **request: Any) -> str:
    """The exception the student's view raised, in one line (the request replayed with the
    test client, so the exception propagates instead of becoming an error page)."""
    saved = app.testing, app.config.get("TRAP_BAD_REQUEST_ERRORS")
    app.testing = True
    app.config["TRAP_BAD_REQUEST_ERRORS"] = True  # request.form["missing"] raises too
    try:
        app.test_client().post(path, base_url=base_url, **request)
    except Exception as exc:  # the student's code, whatever it raised
        frames = traceback.extract_tb(exc.__traceback__)
        # the student's line, not Flask's or Werkzeug's (request.form["x"] raises inside them)
        own = [f for f in frames if "site-packages" not in f.filename and LIBRARY not in f.filename]
        frame = (own or frames)[-1]
        if isinstance(exc, KeyError) and exc.args:  # Werkzeug's BadRequestKeyError included
            return f"KeyError: {exc.args[0]!r} (línea {frame.lineno}: {frame.line})"
        return f"{type(exc).__name__}: {exc} (línea {frame.lineno}: {frame.line})"
    finally:
        app.testing, app.config["TRAP_BAD_REQUEST_ERRORS"] = saved
    return "un error sin detalle"


def first_not_refused(
    url: str, forgeries: list[tuple[str, dict[str, Any]]]
) -> tuple[str, int] | None:
    """The first forged request (what it is, `requests.post` arguments) the student's webhook
    did not refuse with 403, and the status it got instead."""
    for what, request in forgeries:
        status = requests.post(url, timeout=10, **request).status_code
        if status != 403:
            return what, status
    return None
