"""Publishing one post to one network: a registry, a Python function and an HTTP route.

Service packages register a publisher per network (`register_publisher("linkedin", ...)`
from `app.py`); `publish()` is what notebooks call and `POST /api/publish/<network>` what
the pipeline calls, with the same validation and the same errors.

    POST /api/publish/linkedin  {"text": "...", "image_url": null}
    201 {"network": "linkedin", "id": "urn:li:share:123", "url": "https://..."}
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, request

from .config import Settings
from .context import current_lab
from .oauth.errors import OAuthError, PublishInputError, UnknownProviderError
from .oauth.flow import flows_of
from .oauth.tokens import Clock, TokenStore, utcnow

#: Longest text accepted before a network's own limit (LinkedIn 3 000, Instagram 2 200).
MAX_TEXT = 10_000
MAX_URL = 2_048


@dataclass(frozen=True)
class Post:
    """A created post: the network's id for it and, when known, its public URL."""

    network: str
    id: str
    url: str | None = None


@dataclass(frozen=True)
class PublishContext:
    """What a publisher needs besides the post: settings, the tokens, the time."""

    settings: Settings
    tokens: TokenStore
    now: datetime


Publisher = Callable[[str, "str | None", PublishContext], Post]

_publishers: dict[str, Publisher] = {}
_lock = threading.Lock()


def register_publisher(network: str, publisher: Publisher) -> None:
    with _lock:
        _publishers[network] = publisher


def networks() -> list[str]:
    return sorted(_publishers)


def validate(text: Any, image_url: Any) -> tuple[str, str | None]:
    """The post's text and image URL, or a `PublishInputError` saying what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise PublishInputError('Falta el texto: envía {"text": "..."} con algo escrito.')
    if len(text) > MAX_TEXT or "\x00" in text:
        raise PublishInputError(
            f"El texto debe tener como máximo {MAX_TEXT} caracteres y ningún carácter nulo."
        )
    if image_url in (None, ""):
        return text, None
    if not isinstance(image_url, str) or len(image_url) > MAX_URL:
        raise PublishInputError("image_url debe ser una URL https (texto) o null.")
    parts = urlsplit(image_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PublishInputError(
            f"image_url debe ser una URL pública http(s) de la imagen; llegó {image_url[:80]!r}."
        )
    return text, image_url


def publish(
    network: str,
    text: str,
    image_url: str | None = None,
    *,
    lab: Any = None,
    settings: Settings | None = None,
    tokens: TokenStore | None = None,
    clock: Clock = utcnow,
) -> Post:
    """Publish `text` (and `image_url`) to `network` with its connected account.

    Pass the running `lab` (its settings and database), or `settings` (and `tokens`).
    """
    text, image_url = validate(text, image_url)
    try:
        publisher = _publishers[network]
    except KeyError:
        raise UnknownProviderError(network, networks()) from None
    return publisher(
        text, image_url, context(lab=lab, settings=settings, tokens=tokens, clock=clock)
    )


def context(
    *,
    lab: Any = None,
    settings: Settings | None = None,
    tokens: TokenStore | None = None,
    clock: Clock = utcnow,
) -> PublishContext:
    """The settings, tokens and time a publisher works with: the running `lab`'s, or the
    given `settings` (and `tokens`), or the environment's."""
    if lab is not None:
        settings = settings or lab.settings
        tokens = tokens or TokenStore.for_settings(settings, lab.store)
    if settings is None:
        from .config import load_settings

        settings = load_settings()
    tokens = tokens or TokenStore.for_settings(settings)
    return PublishContext(settings, tokens, clock())


bp = Blueprint("publish", __name__)


def error_body(exc: OAuthError) -> dict[str, Any]:
    return {
        "error": type(exc).__name__,
        "message": str(exc),
        "provider_code": exc.provider_code,
        "provider_message": exc.provider_message,
    }


@bp.post("/api/publish/<network>")
def publish_route(network: str):
    body = request.get_json(silent=True)
    try:
        if not isinstance(body, dict):
            raise PublishInputError(
                'El cuerpo debe ser JSON: {"text": "...", "image_url": "https://..." o null}.'
            )
        flows = flows_of(current_app)
        post = publish(
            network,
            body.get("text"),
            body.get("image_url"),
            settings=current_lab().settings,
            tokens=flows.tokens,
            clock=flows.clock,
        )
    except OAuthError as exc:
        return jsonify(error_body(exc)), exc.status
    return jsonify(asdict(post)), 201
