"""LinkedIn's error answers, turned into the kit's errors with the fix in Spanish.

LinkedIn's REST errors are JSON `{"status", "serviceErrorCode", "code", "message"}`
(https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling).
The provider's `code`/`serviceErrorCode` and `message` are kept on the exception.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from ..oauth.errors import (
    DuplicatePostError,
    MissingScopeError,
    OAuthError,
    ProviderError,
    RateLimitError,
    TokenExpiredError,
)

RECONNECT = (
    "Vuelve a conectar la cuenta en /oauth/linkedin/start (o `lab-server connect linkedin`)."
)


def _body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response: requests.Response) -> float:
    """Seconds to wait: the Retry-After header, else until midnight UTC, when LinkedIn's
    daily limits reset (https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits)."""
    header = response.headers.get("Retry-After", "")
    if header.strip().isdigit():
        return float(header)
    now = datetime.now(timezone.utc)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


def error_from_response(response: requests.Response) -> OAuthError:
    """The kit's error for a LinkedIn answer that is not 2xx."""
    body = _body(response)
    status = response.status_code
    message = str(body.get("message") or response.text[:300] or response.reason)
    code = body.get("code") or body.get("serviceErrorCode") or status
    keep = {"provider_message": message, "provider_code": code}
    if status == 401:
        return TokenExpiredError(
            "LinkedIn no acepta el token: venció (dura 60 días y las apps comunes no reciben "
            "refresh token) o fue revocado. " + RECONNECT,
            **keep,
        )
    if status == 403:
        return MissingScopeError(
            "LinkedIn dice que al token le falta un permiso. Publicar necesita w_member_social: "
            "agrega el producto «Share on LinkedIn» a tu app y vuelve a conectar. " + RECONNECT,
            **keep,
        )
    if status == 422 and "duplicate" in message.lower():
        return DuplicatePostError(
            "LinkedIn rechaza la publicación porque repite una reciente: cambia el texto.",
            **keep,
        )
    if status in (400, 426) and "version" in message.lower():
        return ProviderError(
            "LinkedIn no acepta la versión de la API de la cabecera LinkedIn-Version: pon en "
            "LINKEDIN_VERSION una vigente (AAAAMM; cada versión dura más o menos un año).",
            **keep,
        )
    if status == 429:
        return RateLimitError(
            "LinkedIn limita las publicaciones de cada persona por día (el cupo vuelve a "
            "medianoche UTC): se reintentará entonces.",
            retry_after=_retry_after(response),
            **keep,
        )
    return ProviderError(f"LinkedIn respondió {status}.", **keep)


def connection_error(exc: requests.RequestException, base: str) -> ProviderError:
    return ProviderError(
        f"No se pudo hablar con LinkedIn en {base} ({type(exc).__name__}). Revisa tu conexión "
        "y LINKEDIN_API_BASE."
    )
