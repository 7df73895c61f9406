"""TikTok as an OAuth provider (Login Kit v2), with PKCE and rotating refresh tokens.

- Authorize at `https://www.tiktok.com/v2/auth/authorize/` with `client_key` (not
  `client_id`), comma-separated `scope`, `state` and, for desktop apps, `code_challenge`;
  https://developers.tiktok.com/doc/login-kit-web , https://developers.tiktok.com/doc/login-kit-desktop
- token at `https://open.tiktokapis.com/v2/oauth/token/` (form `client_key`, `client_secret`,
  `code`, `grant_type`, `redirect_uri`, `code_verifier`): `open_id`, `access_token` (2 h),
  `refresh_token` (180 days) that ROTATES: every refresh may return a new one and the old one
  stops working, so the newest is always stored.
  https://developers.tiktok.com/doc/oauth-user-access-token-management
  https://developers.tiktok.com/docs/en/oauth-refresh-a-user-access-token

Authlib runs the flow; two Authlib hooks adapt it to TikTok (`compliance_fix`): a client
auth method that sends `client_key` + `client_secret` in the token form, and a wrapper of
`create_authorization_url` that renames `client_id` and encodes the PKCE challenge as
`TIKTOK_PKCE_CHALLENGE` says. RFC 7636 S256 is base64url(SHA-256(verifier)); many developers
report that TikTok only accepts the hexadecimal digest instead (platform-facts.md §5,
undocumented by TikTok), so `hex` is the default and `base64url` the standard alternative.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import threading
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from ..config import Settings
from ..oauth.errors import ProviderError, TokenExpiredError
from ..oauth.providers import Connection, Grant, Provider
from ..oauth.tokens import TokenStore
from .errors import RECONNECT, connection_error

SCOPES = ("user.info.basic", "video.upload", "video.publish")
AUTH_METHOD = "tiktok_client_key"
PKCE_ENCODINGS = ("hex", "base64url")
#: An access token this close to expiry is refreshed before use (it lasts 2 hours).
REFRESH_MARGIN = timedelta(minutes=5)
TIMEOUT = 15


def pkce_challenge(verifier: str, encoding: str = "hex") -> str:
    """The code_challenge of `verifier`: SHA-256, then hex (TikTok) or base64url (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    if encoding == "hex":
        return digest.hex()
    if encoding == "base64url":
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    raise ProviderError(
        f"TIKTOK_PKCE_CHALLENGE={encoding!r} no existe: usa hex (lo que TikTok acepta según la "
        "comunidad) o base64url (el estándar RFC 7636)."
    )


def _pkce_encoding() -> str:
    """The running lab's TIKTOK_PKCE_CHALLENGE (the hook runs inside /oauth/tiktok/start)."""
    from flask import has_app_context

    if not has_app_context():
        return "hex"
    from ..context import current_lab

    return current_lab().settings.tiktok_pkce_challenge.strip().lower()


def tiktok_authorize_url(url: str, code_verifier: str | None, encoding: str) -> str:
    """Authlib's authorization URL made TikTok's: `client_key`, and the chosen challenge."""
    parts = urlsplit(url)
    params = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "client_id":
            name = "client_key"
        elif name == "code_challenge" and code_verifier:
            value = pkce_challenge(code_verifier, encoding)
        params.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(params)))


def _client_key_auth(auth: Any, method: str, uri: str, headers: dict, body: str):
    """Authlib client auth for the token endpoint: TikTok's `client_key` in the form."""
    from authlib.common.urls import add_params_to_qs

    body = add_params_to_qs(
        body or "", [("client_key", auth.client_id), ("client_secret", auth.client_secret)]
    )
    if "Content-Length" in headers:
        headers["Content-Length"] = str(len(body))
    return uri, headers, body


def compliance_fix(session: Any) -> None:
    """Authlib hook (called on each OAuth2Session the flow builds): speak TikTok's dialect."""
    session.register_client_auth_method((AUTH_METHOD, _client_key_auth))
    original = session.create_authorization_url

    def create_authorization_url(url, state=None, code_verifier=None, **kwargs):
        uri, state = original(url, state=state, code_verifier=code_verifier, **kwargs)
        return tiktok_authorize_url(uri, code_verifier, _pkce_encoding()), state

    session.create_authorization_url = create_authorization_url


def _refresh_expiry(grant_or_now: datetime, seconds: Any) -> str | None:
    try:
        return (grant_or_now + timedelta(seconds=int(seconds))).isoformat()
    except (TypeError, ValueError):
        return None


def finish(grant: Grant) -> list[Connection]:
    """The TikTok user from /v2/user/info/, with the token's open_id as the account id."""
    from .client import TikTokClient

    user = TikTokClient(grant.settings, grant.access_token).user_info()
    open_id = str(grant.token.get("open_id") or user.get("open_id") or "")
    if not open_id or (user.get("open_id") and user["open_id"] != open_id):
        raise ProviderError(
            "TikTok devolvió un token sin open_id, o de otro usuario que /v2/user/info/: no se "
            "guardó nada. Empieza de nuevo desde /oauth/tiktok/start."
        )
    return [
        grant.connection(
            open_id,
            user.get("display_name") or open_id,
            extra={
                "avatar_url": user.get("avatar_url"),
                "refresh_expires_at": _refresh_expiry(
                    grant.now, grant.token.get("refresh_expires_in")
                ),
            },
        )
    ]


PROVIDER = Provider(
    name="tiktok",
    display_name="TikTok",
    base_setting="TIKTOK_OAUTH_BASE",
    token_base_setting="TIKTOK_API_BASE",
    authorize_path="/v2/auth/authorize/",
    token_path="/v2/oauth/token/",
    scopes=SCOPES,
    client_id_setting="TIKTOK_CLIENT_KEY",
    client_secret_setting="TIKTOK_CLIENT_SECRET",
    finish=finish,
    pkce=True,
    scope_separator=",",
    token_auth_method=AUTH_METHOD,
    # Desktop apps may register http://localhost:PORT or http://127.0.0.1:PORT redirects;
    # web apps need https (the tunnel). https://developers.tiktok.com/doc/login-kit-desktop
    allows_http_localhost=True,
    compliance_fix=compliance_fix,
    docs_url="https://developers.tiktok.com/doc/oauth-user-access-token-management",
)


# -- keeping the access token fresh -------------------------------------------------------

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(account_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(account_id, threading.Lock())


def _session(settings: Settings) -> Any:
    from authlib.integrations.requests_client import OAuth2Session

    key, secret = PROVIDER.credentials(settings)
    session = OAuth2Session(
        client_id=key, client_secret=secret, token_endpoint_auth_method=AUTH_METHOD
    )
    compliance_fix(session)
    return session


def needs_refresh(connection: Connection, now: datetime) -> bool:
    left = connection.expires_in(now)
    return left is not None and left <= REFRESH_MARGIN


def refresh(connection: Connection, settings: Settings, tokens: TokenStore, now: datetime):
    """Trade the refresh token for a new pair, store it (the old refresh token dies)."""
    from authlib.integrations.base_client import OAuthError as AuthlibOAuthError

    refresh_until = connection.extra.get("refresh_expires_at")
    if not connection.refresh_token or (
        refresh_until and datetime.fromisoformat(refresh_until) <= now
    ):
        raise TokenExpiredError(
            "El permiso de TikTok venció: el refresh token dura 180 días. " + RECONNECT
        )
    try:
        token = _session(settings).refresh_token(
            PROVIDER.token_url(settings), refresh_token=connection.refresh_token, timeout=TIMEOUT
        )
    except AuthlibOAuthError as exc:
        raise TokenExpiredError(
            "TikTok no aceptó el refresh token (venció, se revocó o ya se usó: cada renovación "
            "entrega uno nuevo y el anterior deja de servir). " + RECONNECT,
            provider_code=exc.error,
            provider_message=exc.description or None,
        ) from None
    except (requests.RequestException, ValueError) as exc:
        raise connection_error(exc, PROVIDER.token_url(settings)) from None
    renewed = dataclasses.replace(
        connection,
        access_token=str(token["access_token"]),
        refresh_token=token.get("refresh_token") or connection.refresh_token,
        expires_at=now + timedelta(seconds=int(token.get("expires_in") or 0)),
        issued_at=now,
        extra={
            **connection.extra,
            "refresh_expires_at": _refresh_expiry(now, token.get("refresh_expires_in"))
            or refresh_until,
        },
    )
    tokens.save(renewed)
    return renewed


def fresh_connection(
    settings: Settings, tokens: TokenStore, now: datetime, account_id: str | None = None
) -> Connection:
    """The stored TikTok connection, refreshed first when its access token (nearly) expired.

    One refresh at a time per account in this process; after waiting, the stored row is
    read again, so a refresh another thread or process already did is used, not repeated
    with a refresh token that no longer works.
    """
    connection = tokens.get("tiktok", account_id)
    if not needs_refresh(connection, now):
        return connection
    with _lock(connection.account_id):
        latest = tokens.get("tiktok", connection.account_id)
        if not needs_refresh(latest, now):
            return latest
        try:
            return refresh(latest, settings, tokens, now)
        except TokenExpiredError:
            again = tokens.get("tiktok", connection.account_id)
            if again.refresh_token != latest.refresh_token and not needs_refresh(again, now):
                return again  # another process rotated it meanwhile
            raise
