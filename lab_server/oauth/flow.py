"""The authorization-code flow, run by Authlib's Flask client, with the kit's guarantees.

Authlib builds the authorization URL (state, PKCE S256 challenge, OpenID nonce), exchanges
the code (sending the verifier) and validates the id_token against the provider's JWKS.
Around it the kit adds:
- `StateCache`: where Authlib keeps each flow's data (verifier, nonce, redirect URI) on the
  server, never in the cookie, for `STATE_TTL` by an injectable clock; a used or expired
  state leaves a tombstone, so the error page can say which it was;
- the browser binding: Authlib keys the data by a marker in Flask's signed session cookie,
  so a `state` brought by another browser is refused;
- the redirect URI, always the public URL + `/oauth/<name>/callback`, refused with an
  explanation when the real provider would refuse it.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask, request, session, url_for

from ..config import Settings
from .errors import (
    ConsentDeniedError,
    ProviderError,
    ProviderNotConfiguredError,
    RedirectURIError,
    StateError,
)
from .providers import Connection, Grant, Provider
from .tokens import Clock, TokenStore, utcnow

log = logging.getLogger(__name__)

#: How long a `state` stays valid after /start.
STATE_TTL = timedelta(minutes=10)
#: How long a used or expired state is remembered, to name the error precisely.
TOMBSTONE_TTL = timedelta(hours=1)
MAX_ENTRIES = 10_000
EXTENSION = "oauth"


class _NoVerifierInLogs(logging.Filter):
    """Authlib logs the PKCE verifier at DEBUG level; it must never reach any log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "code_verifier" not in str(record.msg)


logging.getLogger("authlib.integrations.base_client.sync_app").addFilter(_NoVerifierInLogs())


class StateCache:
    """Authlib's cache interface (get/set/delete) in memory, by an injectable clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._live: dict[str, tuple[str, datetime]] = {}
        self._gone: dict[str, tuple[str, datetime]] = {}  # key -> ("used"|"expired", when)
        self._lock = threading.Lock()

    def _prune(self, now: datetime) -> None:
        for key, (_, until) in list(self._live.items()):
            if until <= now:
                del self._live[key]
                self._gone[key] = ("expired", now)
        for key, (_, when) in list(self._gone.items()):
            if when + TOMBSTONE_TTL <= now or len(self._gone) > MAX_ENTRIES:
                del self._gone[key]

    def get(self, key: str) -> str | None:
        with self._lock:
            self._prune(self.clock())
            entry = self._live.get(key)
            return entry[0] if entry else None

    def set(self, key: str, value: str, expires_in: int | None = None) -> None:
        with self._lock:
            now = self.clock()
            self._prune(now)
            if len(self._live) >= MAX_ENTRIES:  # abandoned flows: drop the oldest
                del self._live[min(self._live, key=lambda k: self._live[k][1])]
            self._live[key] = (value, now + STATE_TTL)

    def delete(self, key: str) -> None:
        with self._lock:
            if self._live.pop(key, None) is not None:
                self._gone[key] = ("used", self.clock())

    def status(self, key: str) -> str:
        """'live', 'used', 'expired' or 'unknown' (never issued here, or forgotten)."""
        with self._lock:
            self._prune(self.clock())
            if key in self._live:
                return "live"
            return self._gone[key][0] if key in self._gone else "unknown"


def _state_key(provider: Provider, state: str) -> str:
    return f"_state_{provider.name}_{state}"  # Authlib's key, in the cache and the session


class OAuthFlows:
    """The app's OAuth machinery: one Authlib client per registered provider."""

    def __init__(self, app: Flask, settings: Settings, tokens: TokenStore, clock: Clock) -> None:
        from authlib.integrations.flask_client import OAuth  # ~50 ms: only when an app is built

        self.settings = settings
        self.tokens = tokens
        self.cache = StateCache(clock)
        self.oauth = OAuth(app, cache=self.cache)
        self._clients: dict[str, Any] = {}

    @property
    def clock(self) -> Clock:
        return self.cache.clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        self.cache.clock = clock

    def client(self, provider: Provider) -> Any:
        """The Authlib client of `provider`, created on first use from the settings."""
        if provider.name not in self._clients:
            missing = provider.missing_credentials(self.settings)
            if missing:
                raise ProviderNotConfiguredError(provider.display_name, missing)
            client_id, client_secret = provider.credentials(self.settings)
            kwargs: dict[str, Any] = {
                "scope": provider.scope_separator.join(provider.scopes),
                "token_endpoint_auth_method": provider.token_auth_method,
                "timeout": 15,
            }
            if provider.pkce:
                kwargs["code_challenge_method"] = "S256"
            self._clients[provider.name] = self.oauth.register(
                provider.name,
                overwrite=True,
                client_id=client_id,
                client_secret=client_secret,
                authorize_url=provider.authorize_url(self.settings),
                access_token_url=provider.token_url(self.settings),
                server_metadata_url=provider.discovery_url(self.settings),
                authorize_params=dict(provider.authorize_params) or None,
                client_kwargs=kwargs,
                compliance_fix=provider.compliance_fix,
            )
        return self._clients[provider.name]

    def redirect_uri(self, provider: Provider) -> str:
        """The exact callback URL the provider must have registered."""
        base = self.settings.public_base_url or request.url_root.rstrip("/")
        uri = base + url_for("oauth.callback", name=provider.name)
        parts = urlsplit(uri)
        if (
            parts.scheme != "https"
            and not provider.allows_http_localhost
            and not provider.is_local(self.settings)
        ):
            raise RedirectURIError(
                f"{provider.display_name} solo acepta una URL de retorno https registrada en tu "
                f"app, y esta sería {uri}. Abre el túnel (start(tunnel=True) o "
                "`lab-server run --tunnel`) y entra a esta misma página por la URL https del "
                "túnel, o define PUBLIC_BASE_URL. Registra en la app de "
                f"{provider.display_name} la URL https que termina en "
                f"/oauth/{provider.name}/callback."
            )
        return uri

    def start(self, provider: Provider):
        """The 302 to the provider's authorization page."""
        client = self.client(provider)
        response = client.authorize_redirect(self.redirect_uri(provider))
        log.info("OAuth %s: autorización iniciada", provider.name)
        return response

    def _check_state(self, provider: Provider) -> str:
        """The callback's state, if it is live and belongs to this browser; else StateError."""
        state = request.args.get("state", "")
        if not state:
            raise StateError(
                "Falta el parámetro state en la respuesta. Empieza de nuevo desde "
                f"/oauth/{provider.name}/start; no abras la URL de retorno a mano."
            )
        key = _state_key(provider, state)
        status = self.cache.status(key)
        restart = f" Empieza de nuevo desde /oauth/{provider.name}/start."
        if status == "used":
            raise StateError(
                "Este enlace de autorización ya se usó (cada state sirve una vez)." + restart
            )
        if status == "expired":
            minutes = int(STATE_TTL.total_seconds() // 60)
            raise StateError(f"La autorización tardó más de {minutes} minutos y expiró." + restart)
        if status == "unknown":
            raise StateError(
                "Este state no lo emitió este servidor (¿reiniciaste el servidor o el enlace "
                "viene de otro lado?)." + restart
            )
        if key not in session:
            raise StateError(
                "La autorización se inició en otro navegador: termínala en el mismo navegador "
                "donde la empezaste." + restart
            )
        return state

    def callback(self, provider: Provider) -> list[Connection]:
        """Check the state, exchange the code, run the provider's `finish`, store the result."""
        from authlib.integrations.base_client import OAuthError as AuthlibOAuthError
        from joserfc.errors import JoseError

        client = self.client(provider)
        state = self._check_state(provider)
        error = request.args.get("error")
        if error:
            self.oauth_consume(provider, state)
            raise ConsentDeniedError(
                f"No se concedió el acceso a {provider.display_name}. Si fue sin querer, vuelve "
                f"a /oauth/{provider.name}/start y acepta los permisos que pide la app.",
                provider_message=request.args.get("error_description") or None,
                provider_code=error,
            )
        if not request.args.get("code"):
            self.oauth_consume(provider, state)
            raise ProviderError(
                f"{provider.display_name} volvió sin el parámetro code. Empieza de nuevo desde "
                f"/oauth/{provider.name}/start."
            )
        try:
            token = client.authorize_access_token()
        except AuthlibOAuthError as exc:
            raise ProviderError(
                f"{provider.display_name} rechazó el intercambio del código por un token. Si "
                "el código ya se usó o venció, empieza de nuevo; si dice invalid_client, revisa "
                f"{provider.client_id_setting} y {provider.client_secret_setting}.",
                provider_message=exc.description or None,
                provider_code=exc.error,
            ) from None
        except JoseError as exc:
            raise ProviderError(
                f"El id_token de {provider.display_name} no es válido (firma, emisor, audiencia "
                "o nonce): no se guardó nada. Empieza de nuevo; si se repite, revisa "
                f"{provider.base_setting}.",
                provider_message=f"{type(exc).__name__}: {exc}",
            ) from None
        except (requests.RequestException, json.JSONDecodeError, ValueError) as exc:
            raise ProviderError(
                f"No se pudo hablar con {provider.display_name} en "
                f"{provider.base(self.settings)}: {type(exc).__name__}. Revisa tu conexión y "
                f"{provider.base_setting}."
            ) from None
        grant = Grant(provider=provider, token=token, settings=self.settings, now=self.clock())
        connections = provider.finish(grant)
        for connection in connections:
            self.tokens.save(connection)
        log.info(
            "OAuth %s: %d cuenta(s) conectada(s): %s",
            provider.name,
            len(connections),
            ", ".join(c.account_name for c in connections),
        )
        return connections

    def oauth_consume(self, provider: Provider, state: str) -> None:
        """Use up a state without a token exchange (denied consent, missing code)."""
        self.client(provider).framework.clear_state_data(session, state)


def install(
    app: Flask, settings: Settings, tokens: TokenStore, clock: Clock = utcnow
) -> OAuthFlows:
    """Give `app` its OAuth flows (app.extensions['oauth']) and the session key they need."""
    from .keys import session_key

    app.secret_key = app.secret_key or session_key(settings)
    # Lax: the cookie comes back on the provider's top-level redirect, not on cross-site posts.
    app.config.update(SESSION_COOKIE_NAME="lab_session", SESSION_COOKIE_SAMESITE="Lax")
    flows = OAuthFlows(app, settings, tokens, clock)
    app.extensions[EXTENSION] = flows
    return flows


def flows_of(app: Flask) -> OAuthFlows:
    return app.extensions[EXTENSION]
