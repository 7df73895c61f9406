"""What the OAuth stand-ins share: the consent page a person clicks, small HTML pages, a clock.

LinkedIn, Facebook, Instagram and TikTok each show an authorization page where the person
(in class: a notebook cell or a test) clicks "Permitir" or "Cancelar". Meta's dialog takes
the click at its own URL; LinkedIn's and TikTok's pages post it to a separate `.../decision`
URL with a one-time ticket that names the waiting request (`ConsentTickets`). Tokens and codes
age by a `Clock` that tests and notebooks move forward instead of waiting hours or days.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from html import escape
from urllib.parse import urlencode, urlsplit

from flask import request

DAY = 86400


class Clock:
    """`source()` (the wall clock by default) plus an offset moved by `advance()`."""

    def __init__(self, source: Callable[[], float] = time.time) -> None:
        self.source = source
        self.offset = 0.0

    def now(self) -> float:
        return self.source() + self.offset

    def advance(self, seconds: float = 0, *, hours: float = 0, days: float = 0) -> None:
        self.offset += seconds + hours * 3600 + days * DAY


def html_page(title: str, body: str, status: int = 200) -> tuple[str, int, dict[str, str]]:
    """A Spanish HTML page (consent, error) as a Flask answer; `body` is already HTML."""
    text = (
        '<!doctype html><html lang="es"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
        f"{body}</body></html>"
    )
    return text, status, {"Content-Type": "text/html; charset=utf-8"}


def with_query(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` added to its query string (a redirect back to the app)."""
    return url + ("&" if urlsplit(url).query else "?") + urlencode(params)


def consent_form(
    *,
    app: str,
    account: str,
    scopes: Iterable[str],
    action: str | None = None,
    hidden: Mapping[str, str] | None = None,
    field: str = "action",
    deny: str = "cancel",
) -> str:
    """Who asks for which scopes, and a form whose buttons send `field` = allow or `deny`
    (to `action`, or to the page's own URL when None)."""
    items = "".join(f"<li>{escape(s)}</li>" for s in scopes) or "<li>(ninguno)</li>"
    target = f' action="{escape(action)}"' if action else ""
    inputs = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in (hidden or {}).items()
    )
    return (
        f"<p>La app <b>{escape(app)}</b> quiere acceder a tu cuenta {escape(account)} "
        f"(sandbox del curso) con estos permisos:</p><ul>{items}</ul>"
        f'<form method="post"{target}>{inputs}'
        f'<button name="{field}" value="allow" id="allow">Permitir</button> '
        f'<button name="{field}" value="{deny}" id="{deny}">Cancelar</button></form>'
    )


class ConsentTickets:
    """Authorization requests waiting for the person's click, each under a one-time ticket."""

    def __init__(self, decision_path: str) -> None:
        self.decision_path = decision_path
        self._waiting: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def page(self, title: str, *, app: str, account: str, scopes: Iterable[str], **kept: str):
        """The consent page; `kept` is the request to resume once the person clicks."""
        ticket = secrets.token_urlsafe(12)
        with self._lock:
            self._waiting[ticket] = kept
        form = consent_form(
            app=app,
            account=account,
            scopes=scopes,
            action=self.decision_path,
            hidden={"ticket": ticket},
        )
        return html_page(title, form)

    def decision(self) -> tuple[dict[str, str] | None, bool]:
        """The request the posted form names (None: unknown or already used ticket) and
        whether the person clicked "Permitir"."""
        with self._lock:
            kept = self._waiting.pop(request.form.get("ticket", ""), None)
        return kept, request.form.get("action") == "allow"

    @staticmethod
    def expired():
        return html_page("Error", "<p>This authorization request has expired.</p>", 400)
