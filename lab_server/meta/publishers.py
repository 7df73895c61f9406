"""The `facebook` and `instagram` publishers of `POST /api/publish/<network>` (docs/oauth.md).

Facebook posts on the connected Page's feed with the Page token. Instagram needs an image
that Meta can download (checked before anything is sent), refreshes its 60-day token when it
is at least 24 h old, checks `content_publishing_limit`, then container -> FINISHED ->
`media_publish`. Meta's errors become the OAuth core's, with their HTTP status.

Exactly once: Meta takes no idempotency key, but both networks list what was posted
(`GET /{page-id}/feed`, `GET /{ig-user-id}/media`), so after an attempt whose outcome was lost
the pipeline asks for a post with the same text made since that attempt began
(`find_facebook`, `find_instagram`) and records it instead of posting again.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta

from ..oauth.errors import PublishInputError, TokenExpiredError
from ..oauth.providers import Connection
from ..publish import Post, PublishContext
from .client import MAX_CAPTION, FacebookClient, InstagramClient, instagram_refresh_due
from .errors import MetaError, as_oauth_error, image_url_problem

log = logging.getLogger(__name__)

#: Lifetime assumed for a refreshed Instagram token whose answer omits expires_in.
LONG_LIVED = timedelta(days=60)
#: Clock difference tolerated between the kit and Meta when looking for an earlier post.
SKEW = timedelta(minutes=1)


def _since(ctx: PublishContext) -> datetime:
    return (ctx.previous_attempt or ctx.now) - SKEW


def _graph_time(value: object) -> datetime | None:
    try:
        return datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None


def _usable(connection: Connection, ctx: PublishContext) -> Connection:
    if connection.expired(ctx.now):
        raise TokenExpiredError(
            f"El permiso de {connection.account_name} en {connection.provider.capitalize()} "
            f"venció el {connection.expires_at:%Y-%m-%d}. Vuelve a conectar la cuenta en "
            f"/oauth/{connection.provider}/start (o `lab-server connect {connection.provider}`)."
        )
    return connection


def publish_facebook(text: str, image_url: str | None, ctx: PublishContext) -> Post:
    """`POST /{page-id}/feed` with the connected Page's token; an image URL goes as `link`."""
    page = _usable(ctx.connection("facebook"), ctx)
    try:
        published = FacebookClient(ctx.settings).post(
            page.account_id, page.access_token, text, link=image_url
        )
    except MetaError as exc:
        raise as_oauth_error(exc) from None
    return Post(network="facebook", id=published.id, url=published.url)


def find_facebook(text: str, image_url: str | None, ctx: PublishContext) -> Post | None:
    """The Page post with this text made since the lost attempt began, if there is one."""
    page = _usable(ctx.connection("facebook"), ctx)
    try:
        posts = FacebookClient(ctx.settings).recent_posts(
            page.account_id, page.access_token, _since(ctx).timestamp()
        )
    except MetaError as exc:
        raise as_oauth_error(exc) from None
    for post in posts:
        if post.get("message") == text and post.get("id"):
            post_id = str(post["id"])
            return Post(network="facebook", id=post_id, url=f"https://www.facebook.com/{post_id}")
    return None


def find_instagram(text: str, image_url: str | None, ctx: PublishContext) -> Post | None:
    """The media with this caption published since the lost attempt began, if any."""
    account = _usable(ctx.connection("instagram"), ctx)
    try:
        media = InstagramClient(ctx.settings).recent_media(account.account_id, account.access_token)
    except MetaError as exc:
        raise as_oauth_error(exc) from None
    since = _since(ctx)
    for item in media:
        when = _graph_time(item.get("timestamp"))
        if item.get("caption") == text and item.get("id") and when and when >= since:
            return Post(network="instagram", id=str(item["id"]), url=item.get("permalink"))
    return None


def instagram_connection(ctx: PublishContext) -> Connection:
    """The connected Instagram account, its token refreshed (and saved) when ≥ 24 h old.

    A refresh that fails is logged, not fatal: the old token still works until it expires.
    """
    connection = _usable(ctx.connection("instagram"), ctx)
    issued, expires = connection.issued_at, connection.expires_at
    if not issued or not expires:
        return connection
    if not instagram_refresh_due(issued.timestamp(), expires.timestamp(), ctx.now.timestamp()):
        return connection
    try:
        token = InstagramClient(ctx.settings).refresh(connection.access_token)
    except MetaError as exc:
        log.warning("Instagram: no se pudo renovar el token (%s); se usa el actual", exc)
        return connection
    lifetime = timedelta(seconds=token.expires_in) if token.expires_in else LONG_LIVED
    renewed = dataclasses.replace(
        connection,
        access_token=token.access_token,
        issued_at=ctx.now,
        expires_at=ctx.now + lifetime,
    )
    ctx.tokens.save(renewed)
    log.info("Instagram: token de %s renovado por 60 días", connection.account_name)
    return renewed


def publish_instagram(text: str, image_url: str | None, ctx: PublishContext) -> Post:
    """Limit check -> container -> wait for FINISHED -> media_publish, with a public image."""
    problem = image_url_problem(image_url)
    if problem:
        raise problem
    if len(text) > MAX_CAPTION:
        raise PublishInputError(
            f"Instagram acepta hasta {MAX_CAPTION} caracteres de texto; este tiene {len(text)}."
        )
    account = instagram_connection(ctx)
    try:
        published = InstagramClient(ctx.settings).publish_photo(
            account.account_id, account.access_token, str(image_url), text
        )
    except MetaError as exc:
        raise as_oauth_error(exc) from None
    return Post(network="instagram", id=published.id, url=published.url)
