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
from .oauth.providers import Connection
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
    """What a publisher needs besides the post: settings, the tokens, the time.

    The pipeline adds the rest: its `store` (WhatsApp finds its contacts there), the
    publication's `idempotency_key` (for providers that take one), `resume` (an earlier
    attempt of this publication began and never recorded its outcome: a resumable
    publisher checks what was delivered before sending again), when that attempt began,
    and the `account` the post chose on this network (a connected account's id, a
    Telegram chat, a WhatsApp sender; None: the newest connection or the settings').
    """

    settings: Settings
    tokens: TokenStore
    now: datetime
    store: Any = None
    idempotency_key: str | None = None
    resume: bool = False
    previous_attempt: datetime | None = None
    account: str | None = None

    def connection(self, provider: str) -> Connection:
        """The connection to publish with: the chosen account's, else the newest one."""
        return self.tokens.get(provider, self.account)


Publisher = Callable[[str, "str | None", PublishContext], Post]
#: Asks the provider whether this text (and image) was already posted since
#: `ctx.previous_attempt`: the post, None if it was not, or `CannotCheck`.
Finder = Callable[[str, "str | None", PublishContext], "Post | None"]


class CannotCheck(Exception):
    """A finder cannot tell whether the post exists (the provider does not list it, e.g.
    TikTok's video list shows public videos only): the pipeline treats the attempt as
    uncertain instead of posting a second time."""


@dataclass(frozen=True)
class PublisherInfo:
    """A registered publisher and how the pipeline can publish with it exactly once.

    After an attempt whose outcome is unknown (a worker killed mid-call) the pipeline
    publishes again only if one of these says how to avoid a second post: `resumable` (the
    publisher checks itself when `ctx.resume`), `find` (look the post up first) or
    `rejects_duplicates` (the provider refuses the same text twice and names the first post,
    as LinkedIn does). `account` names the account a rate limit counts against (None: this
    one is not limited); without it, the connected account's id.
    """

    network: str
    publish: Publisher
    resumable: bool = False
    find: Finder | None = None
    rejects_duplicates: bool = False
    account: Callable[[PublishContext], str | None] | None = None

    @property
    def reconcilable(self) -> bool:
        return self.resumable or self.find is not None or self.rejects_duplicates


_publishers: dict[str, PublisherInfo] = {}
_lock = threading.Lock()


def register_publisher(
    network: str,
    publisher: Publisher,
    *,
    resumable: bool = False,
    find: Finder | None = None,
    rejects_duplicates: bool = False,
    account: Callable[[PublishContext], str | None] | None = None,
) -> None:
    with _lock:
        _publishers[network] = PublisherInfo(
            network, publisher, resumable, find, rejects_duplicates, account
        )


def publisher_info(network: str) -> PublisherInfo:
    """The registered publisher of `network`, or `UnknownProviderError`."""
    try:
        return _publishers[network]
    except KeyError:
        raise UnknownProviderError(network, networks()) from None


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
    publisher = publisher_info(network).publish
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
    store = lab.store if lab is not None else None
    return PublishContext(settings, tokens, clock(), store=store)


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
            lab=current_lab(),
            tokens=flows.tokens,
            clock=flows.clock,
        )
    except OAuthError as exc:
        return jsonify(error_body(exc)), exc.status
    return jsonify(asdict(post)), 201
