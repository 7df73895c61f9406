"""LinkedIn's REST API for one member: who they are and posting as them.

- `GET /v2/userinfo` (OpenID Connect): `sub` gives the author URN `urn:li:person:{sub}`.
  https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2
- `POST /rest/posts` (Posts API, which replaces ugcPosts) with `LinkedIn-Version: YYYYMM`
  and `X-Restli-Protocol-Version: 2.0.0`; 201 with the post's URN in `x-restli-id`.
  https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api
"""

from __future__ import annotations

from typing import Any

import requests

from ..config import Settings
from ..oauth.errors import MissingScopeError, ProviderError, PublishInputError, TokenExpiredError
from ..publish import Post, PublishContext
from .errors import RECONNECT, connection_error, error_from_response

#: Longest commentary the Posts API takes (course fact; the API answers 422 beyond it).
MAX_COMMENTARY = 3000
POST_SCOPE = "w_member_social"
TIMEOUT = 15


def post_url(urn: str) -> str:
    """Where a person sees the post (the feed's update page for a share or ugcPost URN)."""
    return f"https://www.linkedin.com/feed/update/{urn}/"


class LinkedInClient:
    """Calls LinkedIn's API with one member's access token."""

    def __init__(self, settings: Settings, access_token: str) -> None:
        self.base = settings.linkedin_api_base.rstrip("/")
        self.version = settings.linkedin_version
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {access_token}"

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = self._session.request(method, self.base + path, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise connection_error(exc, self.base) from None
        if not response.ok:
            raise error_from_response(response)
        return response

    def userinfo(self) -> dict[str, Any]:
        """The member's OpenID claims: sub, name, given_name, family_name, email, picture."""
        info = self._call("GET", "/v2/userinfo").json()
        if not isinstance(info, dict) or not info.get("sub"):
            raise ProviderError("LinkedIn respondió /v2/userinfo sin el campo sub.")
        return info

    def create_post(self, author: str, text: str, visibility: str = "PUBLIC") -> str:
        """Publish a text post as `author` (urn:li:person:...); returns the post's URN."""
        response = self._call(
            "POST",
            "/rest/posts",
            headers={"LinkedIn-Version": self.version, "X-Restli-Protocol-Version": "2.0.0"},
            json={
                "author": author,
                "commentary": text,
                "visibility": visibility,
                "distribution": {
                    "feedDistribution": "MAIN_FEED",
                    "targetEntities": [],
                    "thirdPartyDistributionChannels": [],
                },
                "lifecycleState": "PUBLISHED",
                "isReshareDisabledByAuthor": False,
            },
        )
        urn = response.headers.get("x-restli-id")
        if not urn:
            raise ProviderError(
                "LinkedIn creó la publicación pero no envió la cabecera x-restli-id."
            )
        return urn


def publish_post(text: str, image_url: str | None, ctx: PublishContext) -> Post:
    """The LinkedIn publisher: text posts as the connected member."""
    if image_url:
        raise PublishInputError(
            "El kit publica en LinkedIn solo texto por ahora: envía image_url null (subir una "
            "imagen requiere la Images API de LinkedIn)."
        )
    if len(text) > MAX_COMMENTARY:
        raise PublishInputError(
            f"LinkedIn acepta como máximo {MAX_COMMENTARY} caracteres; el texto tiene {len(text)}."
        )
    connection = ctx.connection("linkedin")
    if connection.expired(ctx.now):
        raise TokenExpiredError(
            f"El permiso de LinkedIn venció el {connection.expires_at:%Y-%m-%d}. " + RECONNECT
        )
    if not connection.has_scopes(POST_SCOPE):
        raise MissingScopeError(
            f"La cuenta conectada no dio el permiso {POST_SCOPE}: agrega «Share on LinkedIn» a "
            "tu app y vuelve a conectar. " + RECONNECT
        )
    author = f"urn:li:person:{connection.account_id}"
    urn = LinkedInClient(ctx.settings, connection.access_token).create_post(author, text)
    return Post(network="linkedin", id=urn, url=post_url(urn))
