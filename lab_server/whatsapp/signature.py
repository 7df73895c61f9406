"""Reading a request that claims to come from Twilio: a UTF-8 form, signed with the Auth Token.

Twilio signs every webhook: X-Twilio-Signature is an HMAC of the exact URL it called plus
the form fields, keyed with the account's Auth Token (twilio's `RequestValidator` checks it).
Behind ngrok or any proxy, the URL Twilio called is the public https one, not the
http://127.0.0.1 the app sees; the server (waitress's trusted proxy, or ProxyFix in the
notebook runner) applies X-Forwarded-Proto/Host from the local tunnel agent, or
PUBLIC_BASE_URL gives it back.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from flask import request
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, Forbidden, UnsupportedMediaType

from ..config import Settings

log = logging.getLogger(__name__)

FORM_TYPE = "application/x-www-form-urlencoded"
#: Twilio sends about 20 fields plus two per attachment (at most 10).
MAX_FIELDS = 200
SIGNATURE_HEADER = "X-Twilio-Signature"
PITFALL = (
    "Twilio firma la URL exacta configurada en su consola: detrás de ngrok o de un proxy es "
    "la pública https, no http://127.0.0.1. Usa el túnel del kit (start(tunnel=True) o "
    "`lab-server run --tunnel`) o define PUBLIC_BASE_URL, y revisa que TWILIO_AUTH_TOKEN sea "
    "el Auth Token de la cuenta (no una API key)."
)


def read_form() -> MultiDict[str, str]:
    """The request's form fields, or a 4xx that says what is wrong with the body."""
    if request.mimetype != FORM_TYPE:
        raise UnsupportedMediaType(
            f"Se esperaba Content-Type {FORM_TYPE} (así envía Twilio sus webhooks), "
            f"no «{request.mimetype or 'ninguno'}»."
        )
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedMediaType(f"El formulario debe venir en UTF-8, no en {charset}.")
    try:
        text = request.get_data(cache=True).decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError:
        raise BadRequest("El formulario no es UTF-8 válido.") from None
    except ValueError:
        raise BadRequest(f"El formulario tiene más de {MAX_FIELDS} campos.") from None
    if "\x00" in text or "%00" in text:  # the only ways a field can end up holding a NUL
        raise BadRequest("El formulario contiene caracteres nulos (\\x00), que Twilio nunca envía.")
    return MultiDict(pairs)


def signed_urls(public_base_url: str | None) -> list[str]:
    """The URLs Twilio may have signed: PUBLIC_BASE_URL + path when set, and the request's.

    Both name this very endpoint, so accepting either does not let a signature made for
    another URL through; it spares the student whose PUBLIC_BASE_URL and tunnel disagree.
    """
    seen = request.url
    if not public_base_url:
        return [seen]
    base = urlsplit(public_base_url)
    parts = urlsplit(seen)
    public = urlunsplit(
        parts._replace(scheme=base.scheme, netloc=base.netloc, path=base.path + parts.path)
    )
    return [public] if public == seen else [public, seen]


def check_signature(settings: Settings, form: MultiDict[str, str]) -> None:
    """Raise 403 unless X-Twilio-Signature proves Twilio sent exactly this form to this URL."""
    if not settings.twilio_validate_signature:
        return
    token = settings.twilio_auth_token
    signature = request.headers.get(SIGNATURE_HEADER, "")
    urls = signed_urls(settings.public_base_url)
    if not token:
        reason = (
            "Falta TWILIO_AUTH_TOKEN, así que no se puede comprobar que el mensaje viene de "
            "Twilio. Agrégalo a .env (consola de Twilio > Account Info)."
        )
    elif not signature:
        reason = f"Falta la cabecera {SIGNATURE_HEADER}: esta petición no la firmó Twilio."
    elif any(RequestValidator(token).validate(url, form, signature) for url in urls):
        return
    else:
        reason = f"La firma {SIGNATURE_HEADER} no corresponde a {urls[0]}. {PITFALL}"
    log.warning("Webhook de Twilio rechazado (403): %s", reason)
    raise Forbidden(reason)


def read_signed_form(settings: Settings) -> MultiDict[str, str]:
    """The form of a request Twilio signed (415/400 for a bad body, 403 for a bad signature)."""
    form = read_form()
    check_signature(settings, form)
    return form
