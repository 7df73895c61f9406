"""Graph API clients for Facebook Pages and Instagram (Instagram API with Instagram Login).

Two hosts, one protocol (https://developers.facebook.com/docs/graph-api/overview):
- Facebook: GRAPH_API_BASE (graph.facebook.com). A long-lived user token
  (https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived)
  lists the person's Pages and their Page tokens at `/me/accounts`
  (https://developers.facebook.com/docs/pages-api/getting-started); a post is
  `POST /{page-id}/feed` with the Page token (https://developers.facebook.com/docs/pages-api/posts).
- Instagram: INSTAGRAM_API_BASE (api.instagram.com) trades the login code for a 1-hour token
  (https://developers.facebook.com/docs/instagram-platform/reference/oauth-authorize), and
  INSTAGRAM_GRAPH_BASE (graph.instagram.com) exchanges it at once for a 60-day token and
  refreshes it (https://developers.facebook.com/documentation/instagram-platform/reference/access_token).
  Publishing is container -> poll `status_code` -> `media_publish`, after checking
  `content_publishing_limit` (https://developers.facebook.com/docs/instagram-platform/content-publishing/).

Every URL is a base from the settings plus Meta's documented path, so the classroom sandbox
only changes the bases. Tokens go in the Authorization header (Graph accepts `Bearer`), except
on the token endpoints, whose documented form is a query parameter; every message masks them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests

from ..config import Settings, mask_secret
from .errors import (
    ContainerError,
    GraphAPIError,
    MetaConnectionError,
    MetaError,
    PublishingLimitReached,
)

#: Seconds to wait for one Graph API call.
TIMEOUT = 30.0
#: Scopes of each login path (platform-facts §6; the old `business_*` names are gone).
FACEBOOK_SCOPES = ("pages_show_list", "pages_read_engagement", "pages_manage_posts")
INSTAGRAM_SCOPES = ("instagram_business_basic", "instagram_business_content_publish")
#: An Instagram long-lived token can be refreshed once it is this old, until it expires.
REFRESH_MIN_AGE = timedelta(hours=24)
#: Instagram caption limit (https://developers.facebook.com/docs/instagram-platform/content-publishing/).
MAX_CAPTION = 2200


@dataclass(frozen=True)
class Published:
    """One post that went out: the network, the provider's id and where to see it."""

    network: str
    id: str
    url: str

    def as_json(self) -> dict[str, str]:
        return {"network": self.network, "id": self.id, "url": self.url}


@dataclass(frozen=True)
class Token:
    """An access token as a token endpoint returned it."""

    access_token: str
    expires_in: int | None = None
    token_type: str = "bearer"
    user_id: str | None = None
    permissions: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Token({mask_secret(self.access_token)!r}, expires_in={self.expires_in})"


def instagram_refresh_due(issued_at: float, expires_at: float, now: float) -> bool:
    """Whether a long-lived Instagram token can and should be refreshed now (≥24 h, unexpired)."""
    return now - issued_at >= REFRESH_MIN_AGE.total_seconds() and now < expires_at


class GraphClient:
    """Calls one Graph host; the subclasses add each network's endpoints."""

    network = "facebook"

    def __init__(
        self,
        base_url: str,
        version: str,
        *,
        timeout: float = TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version.strip("/")
        self.timeout = timeout
        self.session = session or requests.Session()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, version={self.version!r})"

    def url(self, path: str, *, versioned: bool = True) -> str:
        prefix = f"{self.base_url}/{self.version}" if versioned else self.base_url
        return f"{prefix}/{path.lstrip('/')}"

    def call(
        self,
        method: str,
        url: str,
        token: str | None = None,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        secrets: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """One Graph call: its JSON object, or a GraphAPIError/MetaConnectionError in Spanish."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        hidden = tuple(s for s in (token, *secrets) if s)
        try:
            response = self.session.request(
                method, url, params=params, data=data, headers=headers, timeout=self.timeout
            )
        except requests.Timeout:
            raise MetaConnectionError(
                f"{self.base_url} no respondió en {self.timeout:.0f} s. Inténtalo de nuevo."
            ) from None
        except requests.RequestException as exc:
            raise MetaConnectionError(
                f"No se pudo conectar con {self.base_url}: {_masked(str(exc), hidden)}. "
                "¿Hay internet? ¿La variable *_BASE de .env es correcta?"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 or not isinstance(body, dict) or "error" in body:
            error = GraphAPIError.from_body(body, response.status_code, self.network)
            error.args = (_masked(str(error), hidden),)
            raise error
        return body

    def _token(self, body: dict[str, Any]) -> Token:
        """A Token from a token endpoint's answer (flat, or Instagram's `data: [...]`)."""
        if isinstance(body.get("data"), list) and body["data"]:
            body = body["data"][0]
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise GraphAPIError("la respuesta no trae access_token", network=self.network)
        permissions = body.get("permissions") or ()
        if isinstance(permissions, str):
            permissions = tuple(p for p in permissions.split(",") if p)
        expires = body.get("expires_in")
        return Token(
            access_token=token,
            expires_in=int(expires) if str(expires).isdigit() else None,
            token_type=str(body.get("token_type") or "bearer"),
            user_id=str(body["user_id"]) if body.get("user_id") is not None else None,
            permissions=tuple(permissions),
        )


class FacebookClient(GraphClient):
    """Facebook Login tokens and Page posts on graph.facebook.com."""

    network = "facebook"

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(settings.graph_api_base, settings.graph_api_version, **kwargs)
        self.settings = settings

    def exchange_code(self, code: str, redirect_uri: str) -> Token:
        """The login dialog's `code` -> a short-lived user token (manual login flow)."""
        app_id = self.settings.require("META_APP_ID")
        secret = self.settings.require("META_APP_SECRET")
        params = {
            "client_id": app_id,
            "client_secret": secret,
            "redirect_uri": redirect_uri,
            "code": code,
        }
        body = self.call(
            "GET", self.url("oauth/access_token"), params=params, secrets=(secret, code)
        )
        return self._token(body)

    def long_lived_user_token(self, short_token: str) -> Token:
        """A short-lived user token -> a 60-day one (server side: it needs the app secret)."""
        secret = self.settings.require("META_APP_SECRET")
        params = {
            "grant_type": "fb_exchange_token",
            "client_id": self.settings.require("META_APP_ID"),
            "client_secret": secret,
            "fb_exchange_token": short_token,
        }
        body = self.call(
            "GET", self.url("oauth/access_token"), params=params, secrets=(secret, short_token)
        )
        return self._token(body)

    def me(self, user_token: str) -> dict[str, Any]:
        return self.call("GET", self.url("me"), user_token, params={"fields": "id,name"})

    def pages(self, user_token: str) -> list[dict[str, Any]]:
        """The Pages the person manages, each with its Page token (`access_token`) and tasks."""
        body = self.call(
            "GET",
            self.url("me/accounts"),
            user_token,
            params={"fields": "id,name,access_token,tasks"},
        )
        pages = body.get("data")
        return [p for p in pages if isinstance(p, dict)] if isinstance(pages, list) else []

    def post(
        self, page_id: str, page_token: str, message: str, link: str | None = None
    ) -> Published:
        """Publish `message` (and optionally a link, e.g. an image URL) on the Page's feed."""
        data = {"message": message, **({"link": link} if link else {})}
        body = self.call("POST", self.url(f"{page_id}/feed"), page_token, data=data)
        post_id = str(body.get("id") or "")
        if not post_id:
            raise GraphAPIError(
                "la respuesta no trae el id de la publicación", network=self.network
            )
        return Published("facebook", post_id, f"https://www.facebook.com/{post_id}")


class InstagramClient(GraphClient):
    """Instagram Login tokens and content publishing on graph.instagram.com."""

    network = "instagram"

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(settings.instagram_graph_base, settings.graph_api_version, **kwargs)
        self.settings = settings
        self.api_base = settings.instagram_api_base.rstrip("/")

    def exchange_code(self, code: str, redirect_uri: str) -> Token:
        """The authorize page's `code` (without its trailing `#_`) -> a 1-hour token."""
        secret = self.settings.require("INSTAGRAM_APP_SECRET")
        code = code.removesuffix("#_")
        data = {
            "client_id": self.settings.require("INSTAGRAM_APP_ID"),
            "client_secret": secret,
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
            "code": code,
        }
        body = self.call(
            "POST", f"{self.api_base}/oauth/access_token", data=data, secrets=(secret, code)
        )
        return self._token(body)

    def long_lived_token(self, short_token: str) -> Token:
        """Exchange a 1-hour token for a 60-day one, at once (it needs the app secret)."""
        secret = self.settings.require("INSTAGRAM_APP_SECRET")
        params = {
            "grant_type": "ig_exchange_token",
            "client_secret": secret,
            "access_token": short_token,
        }
        body = self.call(
            "GET",
            self.url("access_token", versioned=False),
            params=params,
            secrets=(secret, short_token),
        )
        return self._token(body)

    def refresh(self, long_token: str) -> Token:
        """A fresh 60-day token for one that is at least 24 hours old and not expired."""
        params = {"grant_type": "ig_refresh_token", "access_token": long_token}
        body = self.call(
            "GET",
            self.url("refresh_access_token", versioned=False),
            params=params,
            secrets=(long_token,),
        )
        return self._token(body)

    def me(self, token: str) -> dict[str, Any]:
        """The professional account: `user_id` (the id publishing uses) and `username`."""
        return self.call("GET", self.url("me"), token, params={"fields": "user_id,username"})

    def publishing_limit(self, ig_id: str, token: str) -> tuple[int, int | None, float]:
        """(posts used, posts allowed or None if not said, period in hours)."""
        body = self.call(
            "GET",
            self.url(f"{ig_id}/content_publishing_limit"),
            token,
            params={"fields": "quota_usage,config"},
        )
        rows = body.get("data") or [{}]
        row = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
        config = row.get("config") if isinstance(row.get("config"), dict) else {}
        usage = int(row.get("quota_usage") or 0)
        total = int(config.get("quota_total") or 0) if "quota_total" in config else None
        hours = int(config.get("quota_duration") or 86400) / 3600
        return usage, total, hours

    def create_container(
        self, ig_id: str, token: str, image_url: str, caption: str = "", alt_text: str | None = None
    ) -> str:
        """Step 1: Meta downloads `image_url` (it must be public) into a media container."""
        data = {"image_url": image_url, "caption": caption}
        if alt_text:
            data["alt_text"] = alt_text
        body = self.call("POST", self.url(f"{ig_id}/media"), token, data=data)
        return str(body["id"])

    def container_status(self, container_id: str, token: str) -> tuple[str, str]:
        """(status_code, status): IN_PROGRESS, FINISHED, ERROR, EXPIRED or PUBLISHED."""
        body = self.call(
            "GET", self.url(container_id), token, params={"fields": "status_code,status"}
        )
        return str(body.get("status_code") or ""), str(body.get("status") or "")

    def wait_until_finished(
        self,
        container_id: str,
        token: str,
        image_url: str,
        *,
        timeout: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Step 2: poll status_code until FINISHED; ERROR/EXPIRED become a ContainerError."""
        deadline, pause = time.monotonic() + timeout, 0.2
        while True:
            status_code, status = self.container_status(container_id, token)
            if status_code in ("FINISHED", "PUBLISHED"):
                return
            if status_code in ("ERROR", "EXPIRED"):
                raise ContainerError(container_id, status_code, status, image_url)
            if time.monotonic() + pause > deadline:
                raise MetaError(
                    f"El contenedor {container_id} sigue en {status_code or 'espera'} después de "
                    f"{timeout:.0f} s: consulta su estado más tarde y publícalo cuando diga "
                    "FINISHED."
                )
            sleep(pause)
            pause = min(pause * 2, 5.0)

    def publish_container(self, ig_id: str, token: str, container_id: str) -> str:
        """Step 3: publish a FINISHED container; returns the new media id."""
        body = self.call(
            "POST", self.url(f"{ig_id}/media_publish"), token, data={"creation_id": container_id}
        )
        return str(body["id"])

    def permalink(self, media_id: str, token: str) -> str:
        body = self.call("GET", self.url(media_id), token, params={"fields": "permalink"})
        return str(body.get("permalink") or f"https://www.instagram.com/{media_id}")

    def publish_photo(
        self,
        ig_id: str,
        token: str,
        image_url: str,
        caption: str = "",
        alt_text: str | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Published:
        """Limit check -> container -> wait for FINISHED -> media_publish, as Meta documents."""
        if len(caption) > MAX_CAPTION:
            raise MetaError(
                f"El texto tiene {len(caption)} caracteres; Instagram acepta hasta {MAX_CAPTION}."
            )
        usage, total, hours = self.publishing_limit(ig_id, token)
        if total is not None and usage >= total:
            raise PublishingLimitReached(usage, total, hours)
        container = self.create_container(ig_id, token, image_url, caption, alt_text)
        self.wait_until_finished(container, token, image_url, sleep=sleep)
        media_id = self.publish_container(ig_id, token, container)
        return Published("instagram", media_id, self.permalink(media_id, token))


def _masked(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, mask_secret(secret))
    return text
