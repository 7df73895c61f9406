"""TikTok's error answers, turned into the kit's errors with the fix in Spanish.

Every TikTok API v2 answer carries `{"error": {"code", "message", "log_id"}}`, and `code` is
"ok" only on success: some failures arrive with HTTP 200, so the body decides, not the
status. TikTok's support asks for the `log_id`, so it is kept with the code and message.
https://developers.tiktok.com/doc/tiktok-api-v2-error-handling
https://developers.tiktok.com/doc/content-posting-api-reference-direct-post (posting codes)
"""

from __future__ import annotations

from typing import Any

import requests

from ..oauth.errors import (
    MissingScopeError,
    OAuthError,
    ProviderError,
    PublishInputError,
    RateLimitError,
    TokenExpiredError,
)

RECONNECT = "Vuelve a conectar la cuenta en /oauth/tiktok/start (o `lab-server connect tiktok`)."


class PostingRefusedError(ProviderError):
    """TikTok will not take posts from this account now (spam checks, daily caps)."""

    status = 403


#: TikTok code -> (kit error class, Spanish explanation with the fix)
KNOWN: dict[str, tuple[type[OAuthError], str]] = {
    "access_token_invalid": (
        TokenExpiredError,
        "TikTok no acepta el token de acceso: dura 2 horas y el kit lo renueva solo con el "
        "refresh token; si esto sigue, el refresh token también venció o fue revocado. "
        + RECONNECT,
    ),
    "scope_not_authorized": (
        MissingScopeError,
        "La cuenta no autorizó un permiso que esta llamada necesita (video.publish para "
        "publicar, video.upload para borradores): agrégalo a tu app. " + RECONNECT,
    ),
    "scope_permission_missed": (
        MissingScopeError,
        "A la llamada le falta un permiso (scope) que tu app no pidió o TikTok no aprobó: "
        "revisa los permisos de tu app en developers.tiktok.com. " + RECONNECT,
    ),
    "rate_limit_exceeded": (
        RateLimitError,
        "TikTok limita las llamadas por token y por minuto (6 inicios de publicación, 20 "
        "consultas de creator_info, 30 de estado): espera un minuto y reintenta.",
    ),
    "invalid_params": (
        PublishInputError,
        "TikTok rechazó un campo de la petición: lee su mensaje, corrige ese campo y reintenta.",
    ),
    "invalid_file_upload": (
        PublishInputError,
        "El archivo o sus trozos no cumplen las reglas de TikTok (trozos de 5 a 64 MB, el "
        "último hasta 128 MB, Content-Range en orden): revisa el plan de trozos.",
    ),
    "privacy_level_option_mismatch": (
        PublishInputError,
        "El privacy_level no está entre los privacy_level_options que devolvió "
        "creator_info/query para esta cuenta: usa uno de esos.",
    ),
    "unaudited_client_can_only_post_to_private_accounts": (
        PublishInputError,
        "Tu app no está auditada por TikTok: solo puede publicar en privado (SELF_ONLY) y en "
        "cuentas privadas. Usa privacy_level SELF_ONLY (TIKTOK_APP_AUDITED=false) o pide la "
        "auditoría de tu app.",
    ),
    "url_ownership_unverified": (
        PublishInputError,
        "TikTok solo descarga (PULL_FROM_URL) de dominios o prefijos de URL que verificaste en "
        "tu app (Manage URL properties): verifica el dominio o sube el archivo con FILE_UPLOAD.",
    ),
    "spam_risk_too_many_posts": (
        PostingRefusedError,
        "La cuenta llegó al máximo de publicaciones por día de TikTok: espera hasta mañana.",
    ),
    "spam_risk_user_banned_from_posting": (
        PostingRefusedError,
        "TikTok no deja publicar a esta cuenta: ábrela en la app de TikTok y revisa avisos.",
    ),
    "reached_active_user_cap": (
        PostingRefusedError,
        "Tu app llegó al máximo de usuarios que publican por día (5 si no está auditada): "
        "espera 24 horas o pide la auditoría.",
    ),
}


def check_body(body: Any, http_status: int) -> dict[str, Any]:
    """The `data` of a TikTok answer whose `error.code` is "ok"; else the kit's error."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("code") == "ok" and http_status < 400:
        data = body.get("data")
        return data if isinstance(data, dict) else {}
    if not isinstance(error, dict):
        error = {"code": f"http_{http_status}", "message": str(body)[:300]}
    raise error_from(error, http_status)


def error_from(error: dict[str, Any], http_status: int) -> OAuthError:
    """The kit's error for TikTok's `error` object; its code, message and log_id are kept."""
    code = str(error.get("code") or f"http_{http_status}")
    message = str(error.get("message") or "sin mensaje")
    log_id = error.get("log_id")
    keep = {
        "provider_code": code,
        "provider_message": f"{message} (log_id {log_id})" if log_id else message,
    }
    cls, explanation = KNOWN.get(
        code, (ProviderError, f"TikTok respondió con error (HTTP {http_status}).")
    )
    if code.startswith("spam_risk") and code not in KNOWN:
        cls = PostingRefusedError
        explanation = (
            "TikTok frenó la publicación por sus controles de spam: espera y cambia el texto."
        )
    exc = cls(explanation, **keep)
    exc.log_id = log_id  # type: ignore[attr-defined]
    return exc


def connection_error(exc: requests.RequestException, base: str) -> ProviderError:
    return ProviderError(
        f"No se pudo hablar con TikTok en {base} ({type(exc).__name__}). Revisa tu conexión "
        "y TIKTOK_API_BASE."
    )
