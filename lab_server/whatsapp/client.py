"""Sending WhatsApp messages with Twilio's official `twilio.rest.Client`.

`twilio.rest.Client` has no base-URL option. Twilio's documented hook for another
transport is a custom HTTP client (twilio-python, advanced-examples/custom-http-client.md):
`ApiBaseHttpClient` sends every request to `TWILIO_API_BASE` instead of
https://api.twilio.com, which is how the classroom sandbox answers in place of Twilio.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit, urlunsplit

import requests
from flask import has_app_context
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance

from ..config import Settings, load_settings
from .errors import TwilioSendError

#: Seconds to wait for Twilio's REST API (the library waits forever by default).
REQUEST_TIMEOUT = 15.0
WHATSAPP = "whatsapp:"
#: Twilio's limit for the body of one message, in UTF-16 code units (error 21617 above it).
BODY_LIMIT = 1600


class ApiBaseHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, with scheme and host of every URL replaced by `api_base`."""

    def __init__(self, api_base: str, timeout: float = REQUEST_TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.api_base = urlsplit(api_base.rstrip("/"))

    def request(self, method: str, url: str, *args, **kwargs):  # type: ignore[override]
        parts = urlsplit(url)
        rebased = parts._replace(
            scheme=self.api_base.scheme,
            netloc=self.api_base.netloc,
            path=self.api_base.path + parts.path,
        )
        return super().request(method, urlunsplit(rebased), *args, **kwargs)


@functools.lru_cache(maxsize=8)
def twilio_client(account_sid: str, auth_token: str, api_base: str) -> Client:
    """One client (and so one pool of kept-alive connections) per account and base URL."""
    return Client(account_sid, auth_token, http_client=ApiBaseHttpClient(api_base))


def client_for(settings: Settings) -> Client:
    """The REST client for the configured account, or `MissingCredentialError`."""
    return twilio_client(
        settings.require("TWILIO_ACCOUNT_SID"),
        settings.require("TWILIO_AUTH_TOKEN"),
        settings.twilio_api_base,
    )


#: The Twilio Sandbox for WhatsApp's shared number (platform-facts §1).
SANDBOX_SENDER = "whatsapp:+14155238886"


def whatsapp_address(number: str) -> str:
    """`+591...` -> `whatsapp:+591...`; an address that has its prefix is kept as is."""
    number = number.strip()
    return number if number.startswith(WHATSAPP) else WHATSAPP + number


def _current_settings() -> Settings:
    """Inside a request, the running lab's settings (sandbox included); else the environment."""
    if has_app_context():
        from ..context import current_lab

        return current_lab().settings
    return load_settings()


def send_whatsapp(
    to: str,
    body: str,
    media_url: str | list[str] | None = None,
    settings: Settings | None = None,
    status_callback: str | None = None,
) -> MessageInstance:
    """Send one WhatsApp message from TWILIO_WHATSAPP_FROM through Twilio's REST API.

    Returns Twilio's message (`.sid`, `.status` is "queued"). Raises `TwilioSendError`
    naming Twilio's error code when Twilio refuses it or cannot be reached. Delivery
    problems found later (63015 not joined, 63016 outside 24 h) arrive as status callbacks.
    """
    settings = settings or _current_settings()
    client = client_for(settings)
    options: dict = {}
    if media_url:
        options["media_url"] = [media_url] if isinstance(media_url, str) else list(media_url)
    if status_callback:
        options["status_callback"] = status_callback
    try:
        return client.messages.create(
            to=whatsapp_address(to),
            from_=whatsapp_address(settings.twilio_whatsapp_from),
            body=body,
            **options,
        )
    except TwilioRestException as exc:
        raise TwilioSendError(_code(exc), _detail(exc), exc.status) from exc
    except (requests.RequestException, TwilioException) as exc:
        raise TwilioSendError(
            None,
            f"no se pudo conectar con la API en {settings.twilio_api_base} ({exc}). "
            "Revisa tu conexión a internet y TWILIO_API_BASE",
        ) from exc


def _code(exc: TwilioRestException) -> int | None:
    try:
        return int(exc.code) if exc.code is not None else None
    except (TypeError, ValueError):
        return None


def _detail(exc: TwilioRestException) -> str:
    """Twilio's own message, without the library's "Unable to create record:" prefix."""
    return str(exc.msg).split(": ", 1)[-1]
