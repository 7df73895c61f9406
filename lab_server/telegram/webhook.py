"""Registering the bot's webhook with Telegram, reading its state and removing it.

The same functions serve a notebook (`set_webhook(lab)`) and the command line
(`lab-server telegram set-webhook | info | delete`). Telegram refuses webhook URLs that are
not https or use a port other than 443, 80, 88 or 8443 (setWebhook, platform-facts.md §2);
`check_webhook_url` refuses them first, with a message that says what to do instead.

The secret Telegram sends back in every delivery (`X-Telegram-Bot-Api-Secret-Token`) is
TELEGRAM_SECRET_TOKEN when it is set. Otherwise `set_webhook` generates one and saves it in
the data folder (`LAB_DATA_DIR/telegram_secret_token`, outside git), where the webhook reads
it on each request: a server that is already running uses it at once, with or without a .env.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import requests

from ..config import Settings, load_settings, mask_secret
from ..errors import LabError, SettingsError
from ..secret_files import keep_secret, read_secret
from .client import BotAPI

if TYPE_CHECKING:
    from ..lab import Lab

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"
#: The only ports Telegram delivers webhooks to.
ALLOWED_PORTS = (443, 80, 88, 8443)
SECRET_FILE = "telegram_secret_token"
#: setWebhook `secret_token`: 1-256 characters, only A-Z, a-z, 0-9, _ and -.
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
#: The local API of an ngrok agent started by `lab-server run --tunnel` (ngrok's default web_addr).
NGROK_AGENT_API = "http://127.0.0.1:4040"

#: The start of getWebhookInfo's last_error_message -> what it usually means here.
DELIVERY_HINTS: tuple[tuple[str, str], ...] = (
    (
        "Wrong response from the webhook: 403",
        "tu servidor rechazó a Telegram: el secreto no coincide. Vuelve a registrar el webhook "
        "con la misma configuración (.env) que usa el servidor.",
    ),
    (
        "Wrong response from the webhook: 404",
        f"esa ruta no existe en tu servidor: la URL debe terminar en {WEBHOOK_PATH}.",
    ),
    ("Wrong response from the webhook: 5", "tu servidor falló: mira lab.logs()."),
    (
        "Read timeout expired",
        "tu servidor tardó en responder y Telegram reenviará la actualización (respuestas "
        "duplicadas): responde 200 enseguida y contesta en segundo plano.",
    ),
    (
        "Connection refused",
        "Telegram no llega a tu servidor: ¿están encendidos el servidor y el túnel? "
        "¿Cambió la URL del túnel? Entonces registra el webhook otra vez.",
    ),
    (
        "Failed to resolve host",
        "ese dominio no existe (¿túnel cerrado?): abre el túnel y registra el webhook otra vez.",
    ),
)


class WebhookURLError(LabError):
    """A webhook URL Telegram would refuse, or no public URL to offer it."""


def _is_local(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def check_webhook_url(url: str) -> str:
    """`url` if Telegram can deliver to it (a bare host gets `/webhooks/telegram` added)."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https":
        raise WebhookURLError(
            f"Telegram solo entrega webhooks a URLs https, y esta no lo es: {url}. "
            "Usa la URL https del túnel (start(tunnel=True) o `lab-server run --tunnel`) "
            "o define PUBLIC_BASE_URL."
        )
    host = parts.hostname
    if not host:
        raise WebhookURLError(f"La URL {url!r} no tiene nombre de servidor.")
    try:
        port = parts.port or 443
    except ValueError:
        raise WebhookURLError(f"La URL {url!r} tiene un puerto inválido.") from None
    if port not in ALLOWED_PORTS:
        raise WebhookURLError(
            f"Telegram solo entrega webhooks en los puertos 443, 80, 88 y 8443, y esta URL usa "
            f"el {port}: {url}. El servidor local escucha en otro puerto, pero Telegram debe "
            "llegar por el túnel (puerto 443): usa la URL https del túnel, sin puerto."
        )
    if _is_local(host):
        raise WebhookURLError(
            f"Telegram no puede llegar a {host}: es una dirección de tu computadora o de tu "
            "red local. Usa la URL pública del túnel."
        )
    path = parts.path if parts.path not in ("", "/") else WEBHOOK_PATH
    return urlunsplit(parts._replace(path=path))


def _port_of(address: str) -> int | None:
    if address.isdigit():
        return int(address)
    try:
        return urlsplit(address if "://" in address else "http://" + address).port
    except ValueError:
        return None


def running_tunnel_url(port: int, agent_api: str = NGROK_AGENT_API) -> str | None:
    """The https URL of an ngrok tunnel to `port` that another process opened, if any."""
    for path, key in (("/api/endpoints", "endpoints"), ("/api/tunnels", "tunnels")):
        try:
            listing = requests.get(agent_api + path, timeout=2).json()[key]
        except (requests.RequestException, ValueError, KeyError, TypeError):
            continue
        for item in listing if isinstance(listing, list) else []:
            if not isinstance(item, dict):
                continue
            public = str(item.get("public_url") or item.get("url") or "")
            upstream = item.get("upstream") or item.get("config")
            if not isinstance(upstream, dict):
                continue
            target = str(upstream.get("url") or upstream.get("addr") or "")
            if public.startswith("https://") and _port_of(target) == port:
                return public
    return None


def default_webhook_url(settings: Settings, lab: Lab | None = None) -> str:
    """The lab's public webhook URL: its tunnel, PUBLIC_BASE_URL, or a running ngrok agent's."""
    if lab is not None:
        return lab.webhook_urls["telegram"]
    if settings.public_base_url:
        return settings.public_base_url + WEBHOOK_PATH
    tunnel = running_tunnel_url(settings.port)
    if tunnel:
        return tunnel + WEBHOOK_PATH
    raise WebhookURLError(
        f"No hay una URL pública para el webhook: ni túnel de ngrok hacia el puerto "
        f"{settings.port} ni PUBLIC_BASE_URL. Abre el túnel (`lab-server run --tunnel` en otra "
        "terminal, o start(tunnel=True) en el notebook) o indica la URL con "
        f"--url https://…{WEBHOOK_PATH}."
    )


def secret_file(settings: Settings) -> Path:
    return settings.data_dir / SECRET_FILE


def webhook_secret(settings: Settings) -> str | None:
    """The secret Telegram must send: TELEGRAM_SECRET_TOKEN, else the one set-webhook saved."""
    return settings.telegram_secret_token or read_secret(secret_file(settings))


def ensure_secret(settings: Settings) -> tuple[str, str]:
    """(secret, where it lives): the configured one, or a new one saved in the data folder."""
    configured = settings.telegram_secret_token
    if configured:
        if not SECRET_PATTERN.fullmatch(configured):
            raise SettingsError(
                "TELEGRAM_SECRET_TOKEN",
                mask_secret(configured),
                "de 1 a 256 caracteres A-Z, a-z, 0-9, _ o -",
            )
        if settings.is_sandboxed("telegram"):
            return (
                configured,
                "generado por el Telegram simulado para esta sesión (no es de tu .env)",
            )
        return configured, "TELEGRAM_SECRET_TOKEN (entorno o .env)"
    secret, created = keep_secret(secret_file(settings))
    if created:
        return secret, f"generado ahora y guardado en {secret_file(settings)} (fuera de git)"
    return secret, f"guardado en {secret_file(settings)}"


@dataclass(frozen=True)
class WebhookRegistration:
    """What `set_webhook` did, in words a student can check."""

    url: str
    secret_where: str
    secret_masked: str
    telegram_says: str

    def __str__(self) -> str:
        return (
            f"Webhook de Telegram registrado en {self.url}\n"
            f"Telegram respondió: {self.telegram_says}\n"
            f"Secreto {self.secret_masked}: {self.secret_where}"
        )


@dataclass(frozen=True)
class WebhookStatus:
    """getWebhookInfo: where Telegram delivers, what is waiting and the last delivery error."""

    url: str
    pending_update_count: int
    last_error_date: int | None = None
    last_error_message: str | None = None
    max_connections: int | None = None

    @classmethod
    def from_result(cls, result: dict[str, Any]) -> WebhookStatus:
        return cls(
            url=str(result.get("url") or ""),
            pending_update_count=int(result.get("pending_update_count") or 0),
            last_error_date=result.get("last_error_date"),
            last_error_message=result.get("last_error_message"),
            max_connections=result.get("max_connections"),
        )

    @property
    def hint(self) -> str:
        message = self.last_error_message or ""
        return next((text for start, text in DELIVERY_HINTS if message.startswith(start)), "")

    def __str__(self) -> str:
        lines = [
            f"Webhook: {self.url}"
            if self.url
            else "Webhook: ninguno (Telegram guarda los mensajes hasta 24 h para getUpdates)",
            f"Actualizaciones pendientes: {self.pending_update_count}",
        ]
        if self.last_error_message:
            when = datetime.fromtimestamp(self.last_error_date or 0, timezone.utc)
            lines.append(f"Último error ({when:%Y-%m-%d %H:%M:%S} UTC): {self.last_error_message}")
            if self.hint:
                lines.append(f"Qué significa: {self.hint}")
        return "\n".join(lines)


def _settings_of(lab: Lab | None, settings: Settings | None) -> Settings:
    if lab is not None:
        return lab.settings
    return settings if settings is not None else load_settings()


def set_webhook(
    lab: Lab | None = None,
    *,
    url: str | None = None,
    settings: Settings | None = None,
    drop_pending: bool = False,
) -> WebhookRegistration:
    """Tell Telegram to deliver this bot's updates to `url` (default: the lab's public URL)."""
    settings = _settings_of(lab, settings)
    target = check_webhook_url(url or default_webhook_url(settings, lab))
    secret, where = ensure_secret(settings)
    answer = BotAPI.from_settings(settings).request(
        "setWebhook", url=target, secret_token=secret, drop_pending_updates=drop_pending or None
    )
    log.info("Webhook de Telegram registrado en %s", target)
    return WebhookRegistration(
        target, where, mask_secret(secret), str(answer.get("description") or "ok")
    )


def webhook_info(lab: Lab | None = None, *, settings: Settings | None = None) -> WebhookStatus:
    """getWebhookInfo: the registered URL, pending updates and the last delivery error."""
    api = BotAPI.from_settings(_settings_of(lab, settings))
    result = api.call("getWebhookInfo")
    # old tutorials put the token in the webhook path: never show it back
    return WebhookStatus.from_result({**result, "url": api.mask(str(result.get("url") or ""))})


def delete_webhook(
    lab: Lab | None = None, *, settings: Settings | None = None, drop_pending: bool = False
) -> str:
    """Remove the webhook (and, with `drop_pending`, the updates waiting for it)."""
    answer = BotAPI.from_settings(_settings_of(lab, settings)).request(
        "deleteWebhook", drop_pending_updates=drop_pending or None
    )
    log.info("Webhook de Telegram eliminado")
    dropped = " y se descartaron las actualizaciones pendientes" if drop_pending else ""
    return f"Webhook eliminado{dropped}. Telegram respondió: {answer.get('description') or 'ok'}"
