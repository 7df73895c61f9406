"""A local stand-in for the Telegram Bot API, and a simulated chat that talks to the bot.

Built from the Bot API documentation (https://core.telegram.org/bots/api, Bot API 10.1 as
scraped in PaulSonOfLars/telegram-bot-api-spec at 160fd99) and platform-facts.md §2:
- `/bot<token>/<method>` answers `{"ok": true, "result": ...}`, or `{"ok": false,
  "error_code": ..., "description": ...}` with Telegram's own descriptions: 401
  "Unauthorized" for another token, 404 "Not Found" for an unknown method, 400 "Bad Request:
  chat not found", "Bad Request: message text is empty", 403 "Forbidden: bot was blocked by
  the user", 409 "Conflict: can't use getUpdates method while webhook is active; ...";
- setWebhook refuses URLs that are not https or use a port other than 443, 80, 88 and 8443;
- updates are POSTed as JSON with `X-Telegram-Bot-Api-Secret-Token`; a non-2xx answer is
  retried, then the update stays pending and getWebhookInfo reports the error in Telegram's
  words ("Wrong response from the webhook: 403 Forbidden", "Read timeout expired"). Telegram
  spreads its retries over minutes; here they are `MAX_ATTEMPTS` immediate ones, and `flush()`
  (also run by setWebhook) tries the pending updates again.

One deliberate difference: Telegram delivers only to the registered https URL. Nothing here
can reach that URL (no internet, maybe no tunnel), so the stand-in delivers to the lab's
local http address instead, keeping the registered URL's path, as a tunnel would. A wrong
path therefore fails here as it would in production.
"""

from __future__ import annotations

import hmac
import itertools
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from flask import Flask, jsonify, request

from ..config import mask_secret
from ..errors import LabError
from .base import StandIn

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PORTS = (443, 80, 88, 8443)
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
#: Deliveries of one update before it is left pending.
MAX_ATTEMPTS = 3
#: A bot token inside a request path, as the request logs would show it.
TOKEN_IN_PATH = re.compile(r"(?<=/bot)\d+:[A-Za-z0-9_-]+")
MAX_TEXT, MAX_CAPTION, MAX_CALLBACK_DATA = 4096, 1024, 64
BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


class Refusal(Exception):
    """A Bot API error answer: HTTP status and Telegram's description."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class _MaskTokens(logging.Filter):
    """Request logs show the path, and a Bot API path holds the token: mask it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = TOKEN_IN_PATH.sub(lambda m: mask_secret(m.group(0)), message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def _mask_tokens_in(logger: logging.Logger) -> None:
    if not any(isinstance(f, _MaskTokens) for f in logger.filters):
        logger.addFilter(_MaskTokens())


@dataclass(frozen=True)
class ChatUser:
    """A person chatting with the bot in the simulated Telegram (a private chat)."""

    id: int
    first_name: str
    username: str | None = None

    def user(self) -> dict[str, Any]:
        extra = {"username": self.username} if self.username else {}
        return {"id": self.id, "is_bot": False, "first_name": self.first_name, **extra}

    def chat(self) -> dict[str, Any]:
        extra = {"username": self.username} if self.username else {}
        return {"id": self.id, "type": "private", "first_name": self.first_name, **extra}


@dataclass(frozen=True)
class Delivery:
    """One update, and each attempt to deliver it: an HTTP status or a connection error."""

    update: dict[str, Any]
    attempts: tuple[int | str, ...]

    @property
    def delivered(self) -> bool:
        last = self.attempts[-1] if self.attempts else None
        return isinstance(last, int) and 200 <= last < 300


@dataclass(frozen=True)
class Sent:
    """One call the bot made: the method, its parameters and what Telegram returned."""

    method: str
    params: dict[str, Any]
    result: Any


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str | None
    max_connections: int


def _error_text(outcome: int | str) -> str:
    """getWebhookInfo's last_error_message for one failed attempt."""
    if isinstance(outcome, str):
        return outcome
    try:
        phrase = HTTPStatus(outcome).phrase
    except ValueError:
        phrase = ""
    return f"Wrong response from the webhook: {outcome} {phrase}".strip()


def _read_params() -> dict[str, Any]:
    """Parameters from the query string, a form, a multipart upload or a JSON body."""
    params: dict[str, Any] = {**request.args.to_dict(), **request.form.to_dict()}
    params.update(request.files.to_dict())
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            params.update(body)
    return params


def _decoded(value: Any) -> Any:
    """A form field holding JSON (reply_markup) is a string; JSON bodies are objects already."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise Refusal(
            400, "Bad Request: can't parse inline keyboard button: Can't find field \"text\""
        )
    actions = [key for key in BUTTON_ACTIONS if key in button]
    if not actions:
        raise Refusal(
            400,
            "Bad Request: can't parse inline keyboard button: "
            "Text buttons are unallowed in the inline keyboard",
        )
    data = button.get("callback_data")
    if "callback_data" in button and not (
        isinstance(data, str) and 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA
    ):
        raise Refusal(400, "Bad Request: BUTTON_DATA_INVALID")


def _check_markup(value: Any) -> dict[str, Any] | None:
    """The reply_markup, checked like Telegram checks an inline keyboard."""
    if value is None:
        return None
    markup = _decoded(value)
    if not isinstance(markup, dict):
        raise Refusal(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return markup  # reply keyboards and force_reply: accepted as they are
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise Refusal(
            400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array'
        )
    for row in rows:
        for button in row:
            _check_button(button)
    return markup


def _has_button(message: dict[str, Any], data: str) -> dict[str, Any] | None:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return next((b for row in rows for b in row if b.get("callback_data") == data), None)


class TelegramStandIn(StandIn):
    """The Bot API for one generated bot, plus helpers that play the people chatting with it."""

    service = "telegram"

    def __init__(self) -> None:
        self.bot_id = 5_000_000_000 + secrets.randbelow(1_000_000_000)
        self.token = f"{self.bot_id}:{secrets.token_urlsafe(26)}"
        self.secret = secrets.token_urlsafe(32)
        self.delivery_timeout = 10.0
        self.webhook: Webhook | None = None
        self.pending: list[dict[str, Any]] = []
        self.last_error: tuple[int, str] | None = None
        self.sent: list[Sent] = []
        self.chats: dict[int, dict[str, Any]] = {}
        self.blocked: set[int] = set()
        self.callbacks: dict[str, bool] = {}  # callback_query id -> answered
        self.files: set[str] = set()
        self.chat_log: list[tuple[int, str, str]] = []  # (chat id, who, what)
        self._state = threading.RLock()
        self._update_ids = itertools.count(100_000_000 + secrets.randbelow(800_000_000))
        self._user_ids = itertools.count(700_000_000 + secrets.randbelow(100_000_000))
        self._message_ids: dict[int, itertools.count] = {}
        self.user = self.new_user("Ana", "ana_estudiante")
        super().__init__()
        _mask_tokens_in(logging.getLogger("werkzeug"))
        _mask_tokens_in(self.app.logger)

    # -- the Bot API ----------------------------------------------------------------

    def routes(self, app: Flask) -> None:
        app.add_url_rule("/bot<token>/<method>", "method", self._endpoint, methods=["GET", "POST"])
        for code, text in ((404, "Not Found"), (405, "Method Not Allowed")):
            app.register_error_handler(code, lambda _e, c=code, t=text: self._error(c, t))

    def overrides(self) -> dict[str, str]:
        return {
            "TELEGRAM_BOT_TOKEN": self.token,
            "TELEGRAM_API_BASE": self.base_url,
            "TELEGRAM_SECRET_TOKEN": self.secret,
        }

    @staticmethod
    def _error(code: int, description: str):
        return jsonify(ok=False, error_code=code, description=description), code

    def _endpoint(self, token: str, method: str):
        if not hmac.compare_digest(token.encode("utf-8"), self.token.encode("utf-8")):
            return self._error(401, "Unauthorized")
        handler = {
            "getme": self._get_me,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "answercallbackquery": self._answer_callback_query,
        }.get(method.lower())
        if handler is None:
            return self._error(404, "Not Found")
        try:
            result, description = handler(_read_params())
        except Refusal as refusal:
            return self._error(refusal.code, refusal.description)
        extra = {"description": description} if description else {}
        return jsonify(ok=True, result=result, **extra)

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Bot del curso",
            "username": "curso_lab_bot",
        }

    def _get_me(self, params: dict[str, Any]):
        info = {"can_join_groups": True, "can_read_all_group_messages": False}
        return {**self.bot_user(), **info, "supports_inline_queries": False}, None

    def _set_webhook(self, params: dict[str, Any]):
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise Refusal(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
        try:
            port = parts.port or 443
        except ValueError:
            port = -1
        if port not in WEBHOOK_PORTS:
            raise Refusal(
                400,
                "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
            )
        secret = params.get("secret_token")
        if secret is not None and not SECRET_PATTERN.fullmatch(str(secret)):
            raise Refusal(400, "Bad Request: secret token contains unallowed characters")
        hook = Webhook(url, None if secret is None else str(secret), 40)
        with self._state:
            same = self.webhook == hook
            self.webhook, self.last_error = hook, None
            if _flag(params.get("drop_pending_updates")):
                self.pending.clear()
        self.flush()
        return True, "Webhook is already set" if same else "Webhook was set"

    def _delete_webhook(self, params: dict[str, Any]):
        with self._state:
            had = self.webhook is not None
            self.webhook, self.last_error = None, None
            if _flag(params.get("drop_pending_updates")):
                self.pending.clear()
        return True, "Webhook was deleted" if had else "Webhook is already deleted"

    def _get_webhook_info(self, params: dict[str, Any]):
        with self._state:
            info: dict[str, Any] = {
                "url": self.webhook.url if self.webhook else "",
                "has_custom_certificate": False,
                "pending_update_count": len(self.pending),
            }
            if self.webhook:
                info.update(ip_address="127.0.0.1", max_connections=self.webhook.max_connections)
            if self.last_error:
                info.update(
                    last_error_date=self.last_error[0], last_error_message=self.last_error[1]
                )
        return info, None

    def _get_updates(self, params: dict[str, Any]):
        with self._state:
            if self.webhook:
                raise Refusal(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            offset = params.get("offset")
            if isinstance(offset, (int, str)) and str(offset).lstrip("-").isdigit():
                self.pending = [u for u in self.pending if u["update_id"] >= int(offset)]
            return list(self.pending[:100]), None

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise Refusal(400, "Bad Request: chat_id is empty")
        text = str(raw) if isinstance(raw, (int, str)) and not isinstance(raw, bool) else ""
        chat = self.chats.get(int(text)) if re.fullmatch(r"-?\d{1,20}", text) else None
        if chat is None:
            raise Refusal(400, "Bad Request: chat not found")
        if chat["id"] in self.blocked:
            raise Refusal(403, "Forbidden: bot was blocked by the user")
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _bot_message(self, method: str, params: dict[str, Any], chat: dict[str, Any], **content):
        message = {
            "message_id": self._next_message_id(chat["id"]),
            "from": self.bot_user(),
            "chat": chat,
            "date": int(time.time()),
            **{k: v for k, v in content.items() if v is not None},
        }
        if "inline_keyboard" not in (message.get("reply_markup") or {}):
            message.pop("reply_markup", None)  # only inline keyboards come back in the Message
        recorded = {k: (v if not hasattr(v, "filename") else "<upload>") for k, v in params.items()}
        self.sent.append(Sent(method, recorded, message))
        shown = content.get("text") or f"[foto] {content.get('caption') or ''}".strip()
        self.chat_log.append((chat["id"], "Bot", shown))
        return message, None

    def _send_message(self, params: dict[str, Any]):
        with self._state:
            chat = self._chat(params)
            text = params.get("text")
            if not isinstance(text, str) or not text.strip():
                raise Refusal(400, "Bad Request: message text is empty")
            if len(text) > MAX_TEXT:
                raise Refusal(400, "Bad Request: message is too long")
            markup = _check_markup(params.get("reply_markup"))
            return self._bot_message("sendMessage", params, chat, text=text, reply_markup=markup)

    def _photo_size(self, width: int, height: int) -> dict[str, Any]:
        file_id = "AgAC" + secrets.token_urlsafe(24)
        self.files.add(file_id)
        unique = "AQAD" + secrets.token_urlsafe(8)
        return {"file_id": file_id, "file_unique_id": unique, "width": width, "height": height}

    def _send_photo(self, params: dict[str, Any]):
        with self._state:
            chat = self._chat(params)
            photo = params.get("photo")
            if photo is None or photo == "":
                raise Refusal(400, "Bad Request: there is no photo in the request")
            if isinstance(photo, str) and photo not in self.files:
                parts = urlsplit(photo)
                # Telegram downloads the URL; the stand-in has no internet and only checks it.
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    raise Refusal(400, "Bad Request: wrong file identifier/HTTP URL specified")
            elif not isinstance(photo, str) and not hasattr(photo, "filename"):
                raise Refusal(400, "Bad Request: wrong file identifier/HTTP URL specified")
            caption = params.get("caption")
            if caption is not None and len(str(caption)) > MAX_CAPTION:
                raise Refusal(400, "Bad Request: message caption is too long")
            sizes = [
                self._photo_size(90, 90),
                self._photo_size(320, 320),
                self._photo_size(800, 800),
            ]
            markup = _check_markup(params.get("reply_markup"))
            return self._bot_message(
                "sendPhoto",
                params,
                chat,
                photo=sizes,
                caption=None if caption is None else str(caption),
                reply_markup=markup,
            )

    def _answer_callback_query(self, params: dict[str, Any]):
        query_id = str(params.get("callback_query_id") or "")
        with self._state:
            if self.callbacks.get(query_id) is not False:
                raise Refusal(
                    400,
                    "Bad Request: query is too old and response timeout expired "
                    "or query ID is invalid",
                )
            self.callbacks[query_id] = True
            self.sent.append(Sent("answerCallbackQuery", dict(params), True))
        return True, None

    # -- deliveries -----------------------------------------------------------------

    def _target(self, registered: str) -> str | None:
        """Where the registered URL's requests land: the lab's local address, same path."""
        local = self.webhook_urls.get("telegram")
        if not local:
            return None
        parts, here = urlsplit(registered), urlsplit(local)
        return urlunsplit((here.scheme, here.netloc, parts.path or "/", parts.query, ""))

    def _attempt(self, update: dict[str, Any], hook: Webhook) -> int | str:
        target = self._target(hook.url)
        if target is None:
            return "Connection refused"
        headers = {SECRET_HEADER: hook.secret} if hook.secret else {}
        try:
            answer = self.post_webhook(
                target, json=update, headers=headers, timeout=self.delivery_timeout
            )
        except requests.Timeout:
            return "Read timeout expired"
        except requests.ConnectionError:
            return "Connection refused"
        return answer.status_code

    def _try(self, update: dict[str, Any]) -> Delivery:
        """Deliver one pending update (up to MAX_ATTEMPTS times) and update the pending list."""
        with self._state:
            hook = self.webhook
        attempts: list[int | str] = []
        while hook and len(attempts) < MAX_ATTEMPTS:
            attempts.append(self._attempt(update, hook))
            if Delivery(update, tuple(attempts)).delivered:
                break
        delivery = Delivery(update, tuple(attempts))
        with self._state:
            if delivery.delivered:
                self.pending = [u for u in self.pending if u["update_id"] != update["update_id"]]
            elif attempts:
                self.last_error = (int(time.time()), _error_text(attempts[-1]))
        return delivery

    def _deliver(self, update: dict[str, Any]) -> Delivery:
        with self._state:
            self.pending.append(update)
        return self._try(update)

    def flush(self) -> list[Delivery]:
        """Try every pending update again, as Telegram keeps doing until it gets a 2xx."""
        with self._state:
            waiting = list(self.pending)
        return [self._try(update) for update in waiting]

    # -- the simulated chat -----------------------------------------------------------

    def new_user(self, first_name: str, username: str | None = None) -> ChatUser:
        """Another person; the bot can write to them once they have written to the bot."""
        return ChatUser(next(self._user_ids), first_name, username)

    def _new_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"update_id": next(self._update_ids), kind: payload}

    def _from_user(self, user: ChatUser | None, content: dict[str, Any], shown: str) -> Delivery:
        user = user or self.user
        with self._state:
            self.chats.setdefault(user.id, user.chat())
            message = {
                "message_id": self._next_message_id(user.id),
                "from": user.user(),
                "chat": user.chat(),
                "date": int(time.time()),
                **content,
            }
            self.chat_log.append((user.id, user.first_name, shown))
            update = self._new_update("message", message)
        return self._deliver(update)

    def send_text(self, text: str, user: ChatUser | None = None) -> Delivery:
        """The person writes `text` (a leading /command is marked as Telegram marks it)."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0] if text.split() else text
            length = len(command.encode("utf-16-le")) // 2
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._from_user(user, content, text)

    def send_photo(self, caption: str | None = None, user: ChatUser | None = None) -> Delivery:
        """The person sends a photo (Telegram gives the bot three sizes of it)."""
        with self._state:
            sizes = [self._photo_size(90, 68), self._photo_size(320, 240)]
            sizes.append(self._photo_size(1280, 960))
        content: dict[str, Any] = {"photo": sizes, **({"caption": caption} if caption else {})}
        return self._from_user(user, content, f"[foto] {caption or ''}".strip())

    def send_document(
        self,
        file_name: str = "apuntes.pdf",
        mime_type: str = "application/pdf",
        user: ChatUser | None = None,
    ) -> Delivery:
        file_id = "BQAC" + secrets.token_urlsafe(24)
        document = {
            "file_id": file_id,
            "file_unique_id": "AgAD" + secrets.token_urlsafe(8),
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": 48_213,
        }
        return self._from_user(user, {"document": document}, f"[documento] {file_name}")

    def send_location(
        self, latitude: float, longitude: float, user: ChatUser | None = None
    ) -> Delivery:
        location = {"latitude": latitude, "longitude": longitude}
        return self._from_user(user, {"location": location}, f"[ubicación] {latitude}, {longitude}")

    def send_contact(
        self, phone_number: str, first_name: str, user: ChatUser | None = None
    ) -> Delivery:
        contact = {"phone_number": phone_number, "first_name": first_name}
        return self._from_user(user, {"contact": contact}, f"[contacto] {first_name}")

    def edit_text(self, delivery: Delivery, text: str) -> Delivery:
        """The person edits a message they sent: an `edited_message` update."""
        original = delivery.update["message"]
        edited = {**original, "text": text, "edit_date": int(time.time())}
        edited.pop("entities", None)
        with self._state:
            update = self._new_update("edited_message", edited)
        return self._deliver(update)

    def post_in_channel(self, text: str, title: str = "Avisos del curso") -> Delivery:
        """A post in a channel where the bot is an administrator: a `channel_post` update."""
        chat = {"id": -1_001_234_567_890, "type": "channel", "title": title}
        with self._state:
            post = {
                "message_id": self._next_message_id(chat["id"]),
                "sender_chat": chat,
                "chat": chat,
                "date": int(time.time()),
                "text": text,
            }
            update = self._new_update("channel_post", post)
        return self._deliver(update)

    def press_button(self, callback_data: str, user: ChatUser | None = None) -> Delivery:
        """The person presses the inline button with `callback_data` on the bot's last message
        that has it: a `callback_query` update."""
        user = user or self.user
        with self._state:
            found = next(
                (
                    (s.result, button)
                    for s in reversed(self.sent)
                    if isinstance(s.result, dict)
                    and s.result["chat"]["id"] == user.id
                    and (button := _has_button(s.result, callback_data))
                ),
                None,
            )
            if found is None:
                raise LabError(
                    f"El bot no le ha enviado a {user.first_name} ningún botón con "
                    f"callback_data={callback_data!r}. Envía /menu primero."
                )
            message, button = found
            query_id = str(10**18 + secrets.randbelow(9 * 10**18))
            self.callbacks[query_id] = False
            self.chat_log.append((user.id, user.first_name, f"[pulsa «{button['text']}»]"))
            update = self._new_update(
                "callback_query",
                {
                    "id": query_id,
                    "from": user.user(),
                    "message": message,
                    "chat_instance": str(secrets.randbelow(10**18)),
                    "data": callback_data,
                },
            )
        return self._deliver(update)

    def send_update(self, payload: dict[str, Any]) -> Delivery:
        """Deliver any other update payload, e.g. `{"message_reaction": {...}}`."""
        with self._state:
            update = {"update_id": next(self._update_ids), **payload}
        return self._deliver(update)

    def repeat(self, delivery: Delivery) -> Delivery:
        """Deliver the same update again, as Telegram does when it missed the 2xx."""
        return self._deliver(delivery.update)

    def block(self, user: ChatUser | None = None) -> None:
        """The person blocks the bot: sending to them fails with 403 from now on."""
        with self._state:
            self.blocked.add((user or self.user).id)

    def bot_messages(self, user: ChatUser | None = None) -> list[dict[str, Any]]:
        """The Message objects the bot sent to the person's chat, oldest first."""
        chat_id = (user or self.user).id
        with self._state:
            return [
                s.result
                for s in self.sent
                if isinstance(s.result, dict) and s.result["chat"]["id"] == chat_id
            ]

    def transcript(self, user: ChatUser | None = None) -> str:
        """The chat as the person would see it, one line per message."""
        chat_id = (user or self.user).id
        with self._state:
            return "\n".join(f"{who}: {what}" for cid, who, what in self.chat_log if cid == chat_id)
