"""The OAuth providers the kit knows, and what a finished authorization leaves behind.

A service package (`lab_server/<service>/oauth.py`) describes its provider with a
`Provider` and `app.py` registers it; the core never imports a service package. The
provider's `finish` hook turns the token response into the `Connection`s to store: LinkedIn
reads the member from `/v2/userinfo`, Facebook swaps in a long-lived token and reads its
Pages. URLs are always the base-URL setting plus the provider's documented path, so the
classroom sandbox only changes the base. A path may name a settings field in braces
(`/{graph_api_version}/dialog/oauth`) for an API version that the student pins.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from ..config import BY_NAME, Settings, mask_secret
from .errors import UnknownProviderError


@dataclass(frozen=True, repr=False)
class Connection:
    """One connected account: what `oauth_tokens` keeps for it (tokens encrypted there)."""

    provider: str
    account_id: str
    account_name: str
    scopes: tuple[str, ...]
    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    #: when the token was issued (Instagram refreshes only tokens at least 24 h old)
    issued_at: datetime | None = None
    #: provider data that is NOT secret (a Page's category, a person's URN); never tokens
    extra: Mapping[str, Any] = field(default_factory=dict)

    def expires_in(self, now: datetime) -> timedelta | None:
        return None if self.expires_at is None else self.expires_at - now

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def has_scopes(self, *needed: str) -> bool:
        return set(needed) <= set(self.scopes)

    def __repr__(self) -> str:
        expiry = self.expires_at.isoformat(timespec="seconds") if self.expires_at else None
        return (
            f"Connection(provider={self.provider!r}, account_id={self.account_id!r}, "
            f"account_name={self.account_name!r}, scopes={self.scopes!r}, "
            f"access_token={mask_secret(self.access_token)!r}, "
            f"refresh_token={mask_secret(self.refresh_token)!r}, expires_at={expiry!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class Grant:
    """What the `finish` hook receives: the token response, already checked by Authlib.

    `token` holds `access_token`, `expires_in`, `scope`, `refresh_token` when given, and,
    for OpenID Connect, `userinfo`: the id_token's claims, validated against the provider's
    published keys (JWKS from its discovery document).
    """

    provider: Provider
    token: Mapping[str, Any]
    settings: Settings
    now: datetime

    @property
    def access_token(self) -> str:
        return str(self.token["access_token"])

    @property
    def refresh_token(self) -> str | None:
        return self.token.get("refresh_token") or None

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes granted: providers separate them with spaces (RFC 6749) or commas."""
        raw = self.token.get("scope")
        if not raw:
            return self.provider.scopes
        if isinstance(raw, (list, tuple)):
            return tuple(raw)
        return tuple(s for s in str(raw).replace(",", " ").split() if s)

    def expires_at(self, seconds: Any = None) -> datetime | None:
        """`now` + `expires_in` (or `seconds`), by the flow's clock; None if not given."""
        seconds = self.token.get("expires_in") if seconds is None else seconds
        try:
            return self.now + timedelta(seconds=int(seconds))
        except (TypeError, ValueError):
            return None

    def connection(self, account_id: str, account_name: str, **changes: Any) -> Connection:
        """A `Connection` for this grant's token; `changes` override any field."""
        values: dict[str, Any] = {
            "provider": self.provider.name,
            "account_id": str(account_id),
            "account_name": account_name,
            "scopes": self.scopes,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at(),
            "issued_at": self.now,
        }
        values.update(changes)
        return Connection(**values)


#: Turns a token response into the connections to store; raise an `OAuthError` to refuse.
Finish = Callable[[Grant], list[Connection]]


@dataclass(frozen=True)
class Provider:
    """One OAuth 2.0 provider: where to send the browser, what to ask, how to finish."""

    name: str  # URL segment (/oauth/<name>/...) and registry key
    display_name: str
    base_setting: str  # settings variable holding the OAuth host, e.g. LINKEDIN_OAUTH_BASE
    authorize_path: str
    token_path: str
    scopes: tuple[str, ...]
    client_id_setting: str
    client_secret_setting: str
    finish: Finish
    pkce: bool = False  # send an S256 code_challenge (RFC 7636)
    #: OpenID Connect discovery document (its JWKS validates the id_token), relative to base
    discovery_path: str | None = None
    scope_separator: str = " "
    token_auth_method: str = "client_secret_post"  # or client_secret_basic
    #: the real provider accepts http://localhost redirect URIs (most do not)
    allows_http_localhost: bool = False
    docs_url: str = ""
    #: extra query parameters for the authorization URL
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    #: Authlib compliance fix: a function(session) that adapts odd token responses
    compliance_fix: Callable[[Any], None] | None = None
    #: settings variable of the token endpoint's host, when it is not `base_setting`'s
    #: (Facebook: the dialog is on www.facebook.com, the token on graph.facebook.com)
    token_base_setting: str | None = None

    def base(self, settings: Settings) -> str:
        return _setting(settings, self.base_setting).rstrip("/")

    def authorize_url(self, settings: Settings) -> str:
        return self.base(settings) + _fill(self.authorize_path, settings)

    def token_url(self, settings: Settings) -> str:
        base = self.base(settings)
        if self.token_base_setting:
            base = _setting(settings, self.token_base_setting).rstrip("/")
        return base + _fill(self.token_path, settings)

    def discovery_url(self, settings: Settings) -> str | None:
        if not self.discovery_path:
            return None
        return self.base(settings) + _fill(self.discovery_path, settings)

    def credentials(self, settings: Settings) -> tuple[str | None, str | None]:
        return (
            _setting(settings, self.client_id_setting),
            _setting(settings, self.client_secret_setting),
        )

    def missing_credentials(self, settings: Settings) -> list[str]:
        names = (self.client_id_setting, self.client_secret_setting)
        return [n for n, v in zip(names, self.credentials(settings), strict=True) if not v]

    def is_local(self, settings: Settings) -> bool:
        """True when the provider itself runs on this machine (a stand-in, a test server):
        then a loopback redirect URI reaches the lab as it would in production."""
        return urlsplit(self.base(settings)).hostname in LOOPBACK_HOSTS


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _setting(settings: Settings, name: str) -> Any:
    """The value of the settings variable `name` (a `VARIABLES` name such as GRAPH_API_BASE)."""
    return getattr(settings, BY_NAME[name].field)


class _Fields(dict):
    """`str.format_map` mapping that reads settings fields: "/{graph_api_version}/x"."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def __missing__(self, key: str) -> str:
        return str(getattr(self.settings, key))


def _fill(path: str, settings: Settings) -> str:
    return path.format_map(_Fields(settings)) if "{" in path else path


_registry: dict[str, Provider] = {}
_lock = threading.Lock()


def register(provider: Provider) -> Provider:
    """Add (or replace, on re-import) a provider; returns it for module-level use."""
    with _lock:
        _registry[provider.name] = provider
    return provider


def unregister(name: str) -> None:
    with _lock:
        _registry.pop(name, None)


def get(name: str) -> Provider:
    try:
        return _registry[name]
    except KeyError:
        raise UnknownProviderError(name, sorted(_registry)) from None


def all() -> list[Provider]:
    return [_registry[name] for name in sorted(_registry)]
