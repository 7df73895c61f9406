"""The Bot API client's errors, each with Telegram's own description and what to do about it."""

from __future__ import annotations

from ..errors import LabError

#: The start of a Telegram error description -> what the student can do about it.
HINTS: tuple[tuple[str, str], ...] = (
    ("Unauthorized", "El token no es válido: cópialo otra vez de @BotFather a TELEGRAM_BOT_TOKEN."),
    ("Not Found", "Ese método no existe, o TELEGRAM_API_BASE no apunta a la Bot API."),
    (
        "Bad Request: chat not found",
        "Ese chat no le ha escrito al bot: pide a la persona que abra el bot y envíe /start.",
    ),
    (
        "Bad Request: bad webhook",
        "Telegram solo acepta URLs https en los puertos 443, 80, 88 u 8443: usa la URL del túnel.",
    ),
    (
        "Bad Request: secret token contains unallowed characters",
        "El secreto solo puede tener A-Z, a-z, 0-9, _ y - (de 1 a 256 caracteres).",
    ),
    (
        "Conflict: can't use getUpdates method while webhook is active",
        "Con un webhook activo no se puede usar getUpdates: bórralo con "
        "`lab-server telegram delete` o sigue usando el webhook.",
    ),
    (
        "Forbidden: bot was blocked by the user",
        "La persona bloqueó al bot: no se le puede escribir hasta que lo desbloquee.",
    ),
    ("Too Many Requests", "Demasiados mensajes seguidos: espera los segundos indicados."),
    ("Bad Request: message is too long", "Telegram acepta hasta 4096 caracteres por mensaje."),
    (
        "Bad Request: query is too old",
        "Los botones se responden con answerCallbackQuery en pocos segundos y una sola vez.",
    ),
)


class TelegramError(LabError):
    """Base class of the Bot API client's errors."""


class TelegramAPIError(TelegramError):
    """The Bot API answered `ok: false`: Telegram's description, its code and a hint."""

    def __init__(
        self,
        method: str,
        description: str,
        error_code: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.method = method
        self.description = description
        self.error_code = error_code
        self.retry_after = retry_after
        hint = next((text for start, text in HINTS if description.startswith(start)), "")
        code = f" (error {error_code})" if error_code else ""
        super().__init__(f"Telegram rechazó {method}{code}: «{description}». {hint}".strip())


class TelegramConnectionError(TelegramError):
    """The Bot API could not be reached, or did not answer in time."""
