"""`GET /oauth/<name>/start` and `GET /oauth/<name>/callback`, with Spanish HTML pages.

Both routes are for a person's browser, so they answer HTML (the rest of the app answers
JSON). No route takes a destination from the request: the only redirect goes to the
provider's authorization URL, built from the settings, so there is no open redirect.
"""

from __future__ import annotations

import html
import logging

from flask import Blueprint, current_app

from . import providers
from .errors import OAuthError
from .flow import flows_of

log = logging.getLogger(__name__)

bp = Blueprint("oauth", __name__, url_prefix="/oauth")

PAGE = """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em;
line-height:1.5}} h1{{font-size:1.4em}} .ok{{color:#1b5e20}} .error{{color:#b71c1c}}</style>
</head><body><h1 class="{kind}">{title}</h1>{body}</body></html>"""


def page(title: str, paragraphs: list[str], status: int, kind: str = "error"):
    """A small HTML page; every piece of text is escaped (provider messages included)."""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    text = PAGE.format(title=html.escape(title), body=body, kind=kind)
    return text, status, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}


def error_page(exc: OAuthError):
    log.warning("OAuth: %s", exc)
    return page(exc.title, [str(exc)], 400 if exc.status != 404 else 404)


@bp.get("/<name>/start")
def start(name: str):
    try:
        return flows_of(current_app).start(providers.get(name))
    except OAuthError as exc:
        return error_page(exc)


@bp.get("/<name>/callback")
def callback(name: str):
    try:
        provider = providers.get(name)
        connections = flows_of(current_app).callback(provider)
    except OAuthError as exc:
        return error_page(exc)
    lines = []
    for c in connections:
        expiry = f"; el permiso vence el {c.expires_at:%Y-%m-%d %H:%M} UTC" if c.expires_at else ""
        lines.append(f"{c.account_name} (permisos: {', '.join(c.scopes)}){expiry}.")
    lines.append("Ya puedes cerrar esta pestaña y volver al notebook.")
    return page(f"{provider.display_name} conectado", lines, 200, kind="ok")
