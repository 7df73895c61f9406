"""The lab's JSON API is private: every `/api/...` route asks for `Authorization: Bearer <token>`.

Behind the tunnel the port is the whole internet's, and `/api/messages` holds phone numbers,
names and message bodies. The token is LAB_API_TOKEN, or one generated on first start and
kept in LAB_DATA_DIR/api_token (mode 0600), so a student never has to invent one. The check
runs before every request whose path starts with `/api/`, so routes added later are covered
without doing anything. Webhooks carry their providers' own signatures and `/health` says
nothing secret: both stay open.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from .config import Settings
from .secret_files import keep_secret, read_secret

if TYPE_CHECKING:
    import requests

API_PREFIX = "/api/"
TOKEN_FILE = "api_token"
HEADER = "Authorization"
SCHEME = "Bearer"
HINT = (
    "Las rutas /api necesitan la cabecera «Authorization: Bearer <token>». El token es "
    "LAB_API_TOKEN o el que el servidor generó en LAB_DATA_DIR/api_token; desde el notebook, "
    "usa lab.api_get(ruta) o headers=lab.api_headers."
)


def token_path(settings: Settings) -> Path:
    return settings.data_dir / TOKEN_FILE


def stored_token(settings: Settings) -> str | None:
    """LAB_API_TOKEN, else the token kept in LAB_DATA_DIR, else None (not generated yet)."""
    return settings.api_token or read_secret(token_path(settings))


def api_token(settings: Settings) -> str:
    """The API token, generated and saved (owner-only) the first time it is needed."""
    return settings.api_token or keep_secret(token_path(settings))[0]


def bearer_matches(header: str, token: str) -> bool:
    """Whether `header` is `Bearer <token>`, compared in constant time (no timing oracle)."""
    scheme, _, given = header.partition(" ")
    # compare_digest takes as long whatever the first wrong character: always compare
    same = hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))
    return same and scheme.lower() == SCHEME.lower()


def protect_api(app: Flask, token: str) -> None:
    """Answer 401 to any `/api/...` request without the right bearer token."""

    @app.before_request
    def _require_token() -> None:
        if request.path.startswith(API_PREFIX) and not bearer_matches(
            request.headers.get(HEADER, ""), token
        ):
            raise Unauthorized(HINT, www_authenticate=WWWAuthenticate("bearer", {"realm": "lab"}))


def bearer_headers(token: str) -> dict[str, str]:
    return {HEADER: f"{SCHEME} {token}"}


def bearer_session(token: str) -> requests.Session:
    """A `requests.Session` that sends the token with every request."""
    import requests

    session = requests.Session()
    session.headers.update(bearer_headers(token))
    return session
