"""A thin client for the Telegram Bot API, over `requests`.

Every call is `POST {base}/bot{token}/{method}` with a JSON body, and every answer is the
envelope `{"ok": true, "result": ...}` or `{"ok": false, "error_code": ..., "description": ...}`
(https://core.telegram.org/bots/api#making-requests). A refusal becomes a `TelegramAPIError`
that keeps Telegram's own description and adds, in Spanish, what to do about it.

The token is part of every URL, so this module masks it in every message it produces
(including the text of `requests` exceptions, which quote the URL) and never shows it in a repr.
"""

from __future__ import annotations

from typing import Any

import requests

from ..config import Settings, mask_secret
from .errors import TelegramAPIError, TelegramConnectionError

#: Seconds to wait for the Bot API; it answers in well under a second.
TIMEOUT = 15.0

#: Telegram's longest text message (sendMessage `text`: 1-4096 characters).
MAX_TEXT = 4096


class BotAPI:
    """Calls Bot API methods for one bot. `BotAPI.from_settings(settings)` reads the token."""

    def __init__(
        self, token: str, base_url: str = "https://api.telegram.org", *, timeout: float = TIMEOUT
    ) -> None:
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> BotAPI:
        """The client for TELEGRAM_BOT_TOKEN at TELEGRAM_API_BASE (or MissingCredentialError)."""
        return cls(settings.require("TELEGRAM_BOT_TOKEN"), settings.telegram_api_base)

    def __repr__(self) -> str:
        return f"BotAPI(token={mask_secret(self._token)!r}, base_url={self.base_url!r})"

    def mask(self, text: str) -> str:
        """`text` with this bot's token replaced by its masked form."""
        return text.replace(self._token, mask_secret(self._token))

    def request(self, method: str, **params: Any) -> dict[str, Any]:
        """Call `method` and return Telegram's whole answer (`result`, and `description`)."""
        payload = {name: value for name, value in params.items() if value is not None}
        url = f"{self.base_url}/bot{self._token}/{method}"
        try:
            response = requests.post(url, json=payload, timeout=self.timeout)
        except requests.Timeout:
            raise TelegramConnectionError(
                f"La Bot API ({self.base_url}) no respondió a {method} en {self.timeout:.0f} s. "
                "Revisa tu conexión e inténtalo de nuevo."
            ) from None
        except requests.RequestException as exc:
            raise TelegramConnectionError(
                f"No se pudo conectar con la Bot API ({self.base_url}) para {method}: "
                f"{self.mask(str(exc))}. ¿Hay internet? ¿TELEGRAM_API_BASE es correcto?"
            ) from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            raise TelegramAPIError(
                method,
                f"respuesta HTTP {response.status_code} que no es de la Bot API",
                response.status_code,
            )
        if not answer["ok"]:
            extra = answer.get("parameters")
            raise TelegramAPIError(
                method,
                str(answer.get("description") or "sin descripción"),
                answer.get("error_code"),
                extra.get("retry_after") if isinstance(extra, dict) else None,
            )
        return answer

    def call(self, method: str, **params: Any) -> Any:
        """Call `method` and return its `result` (a Message, True, a WebhookInfo...)."""
        return self.request(method, **params).get("result")

    def get_me(self) -> dict[str, Any]:
        """The bot's own User object: a cheap way to check the token."""
        return self.call("getMe")

    def send_message(
        self, chat_id: int | str, text: str, reply_markup: dict | None = None
    ) -> dict[str, Any]:
        """Send `text` (1-4096 characters) to a chat; returns the sent Message."""
        return self.call("sendMessage", chat_id=chat_id, text=text, reply_markup=reply_markup)

    def send_photo(
        self,
        chat_id: int | str,
        photo: str,
        caption: str | None = None,
        reply_markup: dict | None = None,
    ) -> dict[str, Any]:
        """Send a photo by public https URL or file_id; returns the sent Message."""
        return self.call(
            "sendPhoto", chat_id=chat_id, photo=photo, caption=caption, reply_markup=reply_markup
        )

    def answer_callback_query(self, callback_query_id: str, text: str | None = None) -> bool:
        """Stop the spinner on a pressed inline button, optionally showing a short notice."""
        return self.call("answerCallbackQuery", callback_query_id=callback_query_id, text=text)
