"""What can go wrong while connecting an account or using its token.

Every message is in Spanish and says what to do next. `status` is the HTTP status the
OAuth pages and the publish API answer with; a provider's own message and code are kept
(`provider_message`, `provider_code`) so a student can search for them.
"""

from __future__ import annotations

from typing import Any

from ..errors import LabError


class OAuthError(LabError):
    """Base class of every OAuth and publishing error of the kit."""

    status: int = 400
    title: str = "No se pudo conectar la cuenta"

    def __init__(
        self,
        message: str,
        *,
        provider_message: str | None = None,
        provider_code: str | int | None = None,
    ) -> None:
        self.provider_message = provider_message
        self.provider_code = provider_code
        detail = ""
        if provider_message or provider_code is not None:
            code = f" (código {provider_code})" if provider_code is not None else ""
            detail = f" Respuesta del proveedor{code}: {provider_message or 'sin mensaje'}."
        super().__init__(message + detail)


class UnknownProviderError(OAuthError):
    """No provider (or publisher) is registered under that name."""

    status = 404

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        names = ", ".join(known) or "ninguno"
        super().__init__(f"No hay un proveedor llamado {name!r}. Disponibles: {names}.")


class ProviderNotConfiguredError(OAuthError):
    """The provider's client id or secret is missing."""

    def __init__(self, provider: str, variables: list[str]) -> None:
        self.variables = variables
        super().__init__(
            f"Falta configurar {provider}: define {', '.join(variables)} en tu archivo .env "
            "(mira .env.example) o usa el sandbox del curso (LAB_SANDBOX=1)."
        )


class RedirectURIError(OAuthError):
    """The callback URL is one the real provider would refuse (http, localhost)."""


class StateError(OAuthError):
    """The `state` of a callback is missing, unknown, used, expired or from another browser."""

    title = "Solicitud de autorización no válida"


class ConsentDeniedError(OAuthError):
    """The person declined on the provider's consent page."""

    title = "Autorización cancelada"


class ProviderError(OAuthError):
    """The provider answered with an error (bad code, invalid id_token, API error)."""

    status = 502


class RateLimitError(ProviderError):
    """The provider's limit for this account was reached: try again in `retry_after` s
    (TikTok: calls per token per minute; LinkedIn: posts per member per day)."""

    status = 429

    def __init__(self, message: str, *, retry_after: float = 60.0, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class TokenError(OAuthError):
    """A stored token cannot be used: not connected, expired or unreadable."""

    status = 409


class NotConnectedError(TokenError):
    def __init__(self, provider: str) -> None:
        self.provider = provider
        super().__init__(
            f"No hay una cuenta de {provider} conectada. Conéctala primero: abre "
            f"/oauth/{provider}/start en tu servidor (o ejecuta `lab-server connect {provider}`)."
        )


class TokenExpiredError(TokenError):
    """The access token is past its expiry (or the provider says so)."""


class TokenDecryptError(TokenError):
    """A stored token was encrypted with another key (LAB_SECRET_KEY changed)."""


class MissingScopeError(OAuthError):
    """The token lacks a permission the call needs."""

    status = 403


class PublishInputError(OAuthError):
    """The text or image of a post is not acceptable (bad input: 400)."""


class DuplicatePostError(ProviderError):
    """The provider refused the post as a duplicate of a recent one."""

    status = 422
