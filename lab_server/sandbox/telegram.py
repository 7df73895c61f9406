"""A local stand-in for the Telegram Bot API, and a simulated chat that talks to the bot.

Built from the Bot API documentation (https://core.telegram.org/bots/api, Bot API 10.1 as
scraped in PaulSonOfLars/telegram-bot-api-spec at 160fd99) and platform-facts.md §2:
- `/bot<token>/<method>` answers `{"ok": true, "result": ...}`, or `{"ok": false,
  "error_code": ..., "description": ...}` with Telegram's own descriptions: 401
  "Unauthorized" for another token, 404 "Not Found" for an unknown method, 400 "Bad Request:
  chat not found", "Bad Request: message text is empty", 403 "Forbidden: bot was blocked by
  the user", 409 "Conflict: can't use getUpdates method while webhook is active; ...";
- `chat_id` is a chat's number or a channel's `@username`;
- at most 20 messages per minute to the same group or channel (the FAQ's published limit,
  https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this): the
  21st answers 429 "Too Many Requests: retry after N" with `parameters.retry_after`
  (https://core.telegram.org/bots/api#responseparameters), counted in `posting`;
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

What is simulated and what is not, method by method: docs/sandbox/telegram.md.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import itertools
import json
import logging
import math
import mimetypes
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from flask import Flask, jsonify, request

from ..config import mask_secret
from ..errors import LabError
from .base import Demo, PostingCounter, PostingLimit, StandIn
from .telegram_entities import MarkupError, detect, format_text
from .telegram_methods import BOT_API_METHODS

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PORTS = (443, 80, 88, 8443)
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
#: Deliveries of one update before it is left pending.
MAX_ATTEMPTS = 3
#: A bot token inside a request path, as the request logs would show it.
TOKEN_IN_PATH = re.compile(r"(?<=/bot)\d+:[A-Za-z0-9_-]+")
TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
#: How many calls, chat lines and messages the stand-in remembers (a notebook runs for hours).
MAX_KEPT = 1000
#: getUpdates holds a request at most this long (seconds), whatever `timeout` asks.
MAX_POLL = 50.0
#: https://core.telegram.org/bots/api#sendchataction
CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)
#: Update types delivered unless allowed_updates names them (https://core.telegram.org/bots/api#getupdates).
NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
#: https://core.telegram.org/bots/api#botcommand: 1-32 characters, a-z, 0-9 and _.
COMMAND = re.compile(r"[a-z0-9_]{1,32}")
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
MAX_TEXT, MAX_CAPTION, MAX_CALLBACK_DATA = 4096, 1024, 64
#: "your bot will not be able to send more than 20 messages per minute to the same group"
#: (channels alike); private chats have only the FAQ's advice of about one message a second.
GROUP_LIMIT = PostingLimit(
    20,
    60,
    "group or channel (chat id)",
    "https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this",
)
SHARED_CHATS = frozenset({"group", "supergroup", "channel"})
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
    """A Bot API error answer: HTTP status, Telegram's description and, for some errors,
    ResponseParameters (https://core.telegram.org/bots/api#responseparameters)."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


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
    #: True when allowed_updates excludes the update's type: Telegram drops it.
    filtered: bool = False

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


@dataclass(frozen=True)
class Upload:
    """A file sent as a multipart field: its name, type, size and digest (not its bytes)."""

    name: str
    mime_type: str
    size: int
    sha256: str

    def record(self) -> dict[str, Any]:
        return {"upload": self.name, "size": self.size, "sha256": self.sha256}


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
    """Parameters from the query string, a form, a multipart upload or a JSON body.

    https://core.telegram.org/bots/api#making-requests: all four ways are accepted; files go
    as multipart fields (https://core.telegram.org/bots/api#sending-files).
    """
    params: dict[str, Any] = {**request.args.to_dict(), **request.form.to_dict()}
    for name, storage in request.files.items():
        data = storage.read()
        mime = storage.mimetype
        if mime in ("", "application/octet-stream"):  # Telegram tells the type from the name
            mime = mimetypes.guess_type(storage.filename or "")[0] or "application/octet-stream"
        digest = hashlib.sha256(data).hexdigest()
        params[name] = Upload(storage.filename or name, mime, len(data), digest)
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


def _integer(value: Any) -> int | None:
    """An Integer parameter, from JSON or from a form's text; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value.strip()):
        return int(value)
    return None


def _update_types(value: Any) -> frozenset[str] | None:
    """allowed_updates as a set of type names; None when absent or not a JSON array."""
    value = _decoded(value)
    if not isinstance(value, list):
        return None
    return frozenset(name for name in value if isinstance(name, str))


def _reserved(host: str) -> str | None:
    """The address Telegram would call reserved for `host`, or None for a public name.

    Telegram resolves the host and refuses private, loopback and other non-global addresses
    ("Bad Request: bad webhook: IP address 127.0.0.1 is reserved", seen in
    defstudio/telegraph#114). The stand-in has no DNS: it checks literal addresses and localhost.
    """
    if host == "localhost" or host.endswith(".localhost"):
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return None if address.is_global else str(address)


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
        #: allowed_updates from setWebhook or getUpdates; None: Telegram's default set.
        self.allowed_updates: frozenset[str] | None = None
        #: Hosts setWebhook accepts although they are loopback or private (empty: none, as
        #: Telegram). A lab may add its own host to register its local URL in the sandbox.
        self.private_webhook_hosts: set[str] = set()
        self.pending: list[dict[str, Any]] = []
        self.last_error: tuple[int, str] | None = None
        self.sent: list[Sent] = []  # the newest MAX_KEPT, see _keep_call
        self.chats: dict[int, dict[str, Any]] = {}
        self.blocked: set[int] = set()
        self.callbacks: dict[str, bool] = {}  # callback_query id -> answered
        self.files: dict[str, dict[str, Any]] = {}  # file_id -> what Telegram stored
        self.commands: dict[str, list[dict[str, str]]] = {}  # scope+language -> commands
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}  # (chat, id) -> Message
        self.chat_log: deque[tuple[int, str, str]] = deque(maxlen=MAX_KEPT)  # (chat, who, what)
        self._state = threading.RLock()
        self._arrived = threading.Condition(self._state)
        self._update_ids = itertools.count(100_000_000 + secrets.randbelow(800_000_000))
        self._user_ids = itertools.count(700_000_000 + secrets.randbelow(100_000_000))
        self._message_ids: dict[int, itertools.count] = {}
        self.user = self.new_user("Ana", "ana_estudiante")
        #: messages the bot sent to each group or channel (keyed by chat id), against GROUP_LIMIT
        self.posting = PostingCounter(GROUP_LIMIT)
        super().__init__()
        _mask_tokens_in(logging.getLogger("werkzeug"))
        _mask_tokens_in(self.app.logger)

    # -- the Bot API ----------------------------------------------------------------

    def routes(self, app: Flask) -> None:
        app.add_url_rule("/bot<token>/<method>", "method", self._endpoint, methods=["GET", "POST"])
        app.post("/_sandbox/telegram/inbound")(self._phone)
        for code, text in ((404, "Not Found"), (405, "Method Not Allowed")):
            app.register_error_handler(code, lambda _e, c=code, t=text: self._error(c, t))

    def overrides(self) -> dict[str, str]:
        return {
            "TELEGRAM_BOT_TOKEN": self.token,
            "TELEGRAM_API_BASE": self.base_url,
            "TELEGRAM_SECRET_TOKEN": self.secret,
        }

    #: The demo channel, where the bot is an administrator (so it may post there).
    DEMO_CHANNEL = {"id": -1_001_234_567_890, "type": "channel", "title": "Avisos del curso"}

    def demo(self, student: int = 0) -> Demo:
        """A channel the bot administers, named in TELEGRAM_CHANNEL: the demo channel by id
        for student 0; for student k a channel of their own, by `@canal_estudiante_k`."""
        channel = self.DEMO_CHANNEL
        if student:
            channel = {
                "id": -1_002_000_000_000 - student,
                "type": "channel",
                "title": f"Canal de Estudiante {student}",
                "username": f"canal_estudiante_{student}",
            }
        with self._state:
            self.chats.setdefault(channel["id"], dict(channel))
        name = f"@{channel['username']}" if student else str(channel["id"])
        return Demo(settings={"TELEGRAM_CHANNEL": name})

    @staticmethod
    def _error(code: int, description: str, parameters: dict[str, Any] | None = None):
        extra = {"parameters": parameters} if parameters else {}
        return jsonify(ok=False, error_code=code, description=description, **extra), code

    def _handlers(self) -> dict[str, Any]:
        return {
            "getme": self._get_me,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "editmessagetext": self._edit_message_text,
            "deletemessage": self._delete_message,
            "sendchataction": self._send_chat_action,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "answercallbackquery": self._answer_callback_query,
        }

    def call(self, method: str, params: dict[str, Any]) -> tuple[Any, str | None]:
        """Run one Bot API method: its result and description, or a Refusal.

        Telegram answers 404 "Not Found" for a method name it does not have (python-telegram-bot's
        request code documents it: "correct tokens but non-existing method"). A real method the
        sandbox does not simulate gets a 400 instead, in Telegram's error shape and saying so in
        Spanish: a 404 would read as "invalid token" in python-telegram-bot (InvalidToken).
        """
        handler = self._handlers().get(method.lower())
        if handler is not None:
            return handler(params)
        if method.lower() in BOT_API_METHODS:
            raise Refusal(
                400,
                f"Bad Request: {method} no está simulado en el sandbox de la clase (la Bot API "
                "real sí lo tiene). Pruébalo con un bot real: pon su token en "
                "TELEGRAM_BOT_TOKEN y el sandbox deja de reemplazar a Telegram.",
            )
        raise Refusal(404, "Not Found")

    def _endpoint(self, token: str, method: str):
        # https://core.telegram.org/bots/api#authorizing-your-bot: a token that is not shaped
        # like one is a path Telegram does not know (404); a well-formed wrong one is 401.
        if not TOKEN_SHAPE.fullmatch(token):
            return self._error(404, "Not Found")
        if not hmac.compare_digest(token.encode("utf-8"), self.token.encode("utf-8")):
            return self._error(401, "Unauthorized")
        try:
            result, description = self.call(method, _read_params())
        except Refusal as refusal:
            return self._error(refusal.code, refusal.description, refusal.parameters)
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
        """https://core.telegram.org/bots/api#setwebhook"""
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
        for host in (parts.hostname, str(params.get("ip_address") or "")):
            reserved = _reserved(host) if host not in self.private_webhook_hosts else None
            if reserved:
                raise Refusal(400, f"Bad Request: bad webhook: IP address {reserved} is reserved")
        secret = params.get("secret_token")
        if secret is not None and not SECRET_PATTERN.fullmatch(str(secret)):
            raise Refusal(400, "Bad Request: secret token contains unallowed characters")
        # max_connections: 1-100, default 40; the stand-in delivers one at a time anyway.
        connections = _integer(params.get("max_connections"))
        connections = 40 if connections is None else min(max(connections, 1), 100)
        hook = Webhook(url, None if secret is None else str(secret), connections)
        allowed = _update_types(params.get("allowed_updates"))
        with self._state:
            same = self.webhook == hook and allowed in (None, self.allowed_updates)
            self.webhook, self.last_error = hook, None
            if allowed is not None:  # "If not specified, the previous setting will be used."
                self.allowed_updates = allowed
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
        """https://core.telegram.org/bots/api#webhookinfo"""
        with self._state:
            info: dict[str, Any] = {
                "url": self.webhook.url if self.webhook else "",
                "has_custom_certificate": False,
                "pending_update_count": len(self.pending),
            }
            if self.webhook:
                info.update(ip_address="127.0.0.1", max_connections=self.webhook.max_connections)
                if self.allowed_updates is not None:
                    info["allowed_updates"] = sorted(self.allowed_updates)
            if self.last_error:
                info.update(
                    last_error_date=self.last_error[0], last_error_message=self.last_error[1]
                )
        return info, None

    def _get_updates(self, params: dict[str, Any]):
        """https://core.telegram.org/bots/api#getupdates: long polling.

        An `offset` confirms every update before it; with none waiting the request is held up
        to `timeout` seconds (at most MAX_POLL here) and answered as soon as one arrives.
        """
        offset = _integer(params.get("offset"))
        limit = _integer(params.get("limit"))
        limit = 100 if limit is None else min(max(limit, 1), 100)
        timeout = _integer(params.get("timeout")) or 0
        deadline = time.monotonic() + min(max(timeout, 0), MAX_POLL)
        allowed = _update_types(params.get("allowed_updates"))
        with self._state:
            if allowed is not None:
                self.allowed_updates = allowed
            while True:
                if self.webhook:
                    raise Refusal(
                        409,
                        "Conflict: can't use getUpdates method while webhook is active; "
                        "use deleteWebhook to delete the webhook first",
                    )
                if offset is not None and offset >= 0:
                    self.pending = [u for u in self.pending if u["update_id"] >= offset]
                waiting = self.pending[offset:] if offset is not None and offset < 0 else None
                found = list((self.pending if waiting is None else waiting)[:limit])
                left = deadline - time.monotonic()
                if found or left <= 0:
                    return found, None
                self._arrived.wait(left)

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise Refusal(400, "Bad Request: chat_id is empty")
        text = str(raw) if isinstance(raw, (int, str)) and not isinstance(raw, bool) else ""
        if text.startswith("@"):  # "or username of the target channel (in the format @name)"
            chat = next(
                (
                    c
                    for c in self.chats.values()
                    if c.get("type") in SHARED_CHATS
                    and str(c.get("username", "")).lower() == text[1:].lower()
                ),
                None,
            )
        else:
            chat = self.chats.get(int(text)) if re.fullmatch(r"-?\d{1,20}", text) else None
        if chat is None:
            raise Refusal(400, "Bad Request: chat not found")
        if chat["id"] in self.blocked:
            raise Refusal(403, "Forbidden: bot was blocked by the user")
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _keep_call(self, call: Sent) -> None:
        """Keep a call the bot made; the oldest go once there are MAX_KEPT (a list, not a
        deque, so tests and notebooks can slice and compare it)."""
        self.sent.append(call)
        del self.sent[:-MAX_KEPT]

    def _remember(self, message: dict[str, Any]) -> None:
        """Keep a message for editMessageText and deleteMessage (the newest MAX_KEPT)."""
        self.messages[(message["chat"]["id"], message["message_id"])] = message
        while len(self.messages) > MAX_KEPT:
            del self.messages[next(iter(self.messages))]

    def _user_of(self, user_id: int) -> dict[str, Any] | None:
        """A user the stand-in knows, for `tg://user?id=` links (text_mention entities)."""
        chat = self.chats.get(user_id)
        if chat is None or chat.get("type") != "private":
            return None
        return {k: v for k, v in chat.items() if k != "type"} | {"is_bot": False}

    def _formatted(
        self, params: dict[str, Any], field: str, entities_field: str, limit: int
    ) -> dict[str, Any]:
        """`text` or `caption` with its entities, as https://core.telegram.org/bots/api#formatting-options
        says: explicit entities win over parse_mode, markup errors are "can't parse entities"."""
        raw = params.get(field)
        if raw is None or raw == "":
            return {}
        if not isinstance(raw, str):
            raw = str(raw)
        given = _decoded(params.get(entities_field))
        try:
            if isinstance(given, list) and given:
                text, entities = format_text(raw, None, self._user_of)
                entities = [e for e in given if isinstance(e, dict)] or entities
            else:
                mode = params.get("parse_mode")
                mode = mode if isinstance(mode, str) else None
                text, entities = format_text(raw, mode, self._user_of)
        except MarkupError as error:
            raise Refusal(400, f"Bad Request: can't parse entities: {error}") from None
        except ValueError:
            raise Refusal(400, "Bad Request: unsupported parse_mode") from None
        if len(text) > limit:
            too_long = "message is too long" if field == "text" else "message caption is too long"
            raise Refusal(400, f"Bad Request: {too_long}")
        return {field: text, **({entities_field: entities} if entities else {})} if text else {}

    def _count_post(self, chat: dict[str, Any]) -> None:
        """Count a message to a group or channel, or refuse it as Telegram does once the
        chat had 20 in the last minute (private chats are not counted)."""
        if chat.get("type") not in SHARED_CHATS:
            return
        wait = self.posting.take(str(chat["id"]))
        if wait:
            seconds = math.ceil(wait)
            raise Refusal(
                429,
                f"Too Many Requests: retry after {seconds}",
                parameters={"retry_after": seconds},
            )

    def _bot_message(self, method: str, params: dict[str, Any], chat: dict[str, Any], **content):
        self._count_post(chat)
        message = {
            "message_id": self._next_message_id(chat["id"]),
            "from": self.bot_user(),
            "chat": chat,
            "date": int(time.time()),
            **{k: v for k, v in content.items() if v is not None},
        }
        if "inline_keyboard" not in (message.get("reply_markup") or {}):
            message.pop("reply_markup", None)  # only inline keyboards come back in the Message
        recorded = {k: (v.record() if isinstance(v, Upload) else v) for k, v in params.items()}
        self._keep_call(Sent(method, recorded, message))
        self._remember(message)
        media = "[foto]" if "photo" in message else "[documento]" if "document" in message else ""
        shown = message.get("text") or f"{media} {message.get('caption') or ''}".strip()
        self.chat_log.append((chat["id"], "Bot", shown))
        return message, None

    def _send_message(self, params: dict[str, Any]):
        """https://core.telegram.org/bots/api#sendmessage"""
        with self._state:
            chat = self._chat(params)
            text = params.get("text")
            if not isinstance(text, str) or not text.strip():
                raise Refusal(400, "Bad Request: message text is empty")
            content = self._formatted(params, "text", "entities", MAX_TEXT)
            if not content:
                raise Refusal(400, "Bad Request: message text is empty")
            markup = _check_markup(params.get("reply_markup"))
            return self._bot_message("sendMessage", params, chat, **content, reply_markup=markup)

    def _new_file(self, prefix: str, **details: Any) -> dict[str, Any]:
        """A stored file as Telegram describes it: file_id, file_unique_id and `details`."""
        file_id = prefix + secrets.token_urlsafe(24)
        described = {"file_id": file_id, "file_unique_id": "AQAD" + secrets.token_urlsafe(8)}
        described.update({k: v for k, v in details.items() if v is not None})
        self.files[file_id] = described
        while len(self.files) > MAX_KEPT:
            del self.files[next(iter(self.files))]
        return described

    def _photo_size(self, width: int, height: int) -> dict[str, Any]:
        return self._new_file("AgAC", width=width, height=height)

    def _input_file(self, params: dict[str, Any], field: str) -> Upload | str | dict[str, Any]:
        """The file in `field`: an Upload, a known file's description or an http(s) URL.

        https://core.telegram.org/bots/api#sending-files: a file_id, an HTTP URL, or a file
        posted as multipart/form-data, named by the field itself or by "attach://<name>".
        """
        value = params.get(field)
        if value is None or value == "":
            raise Refusal(400, f"Bad Request: there is no {field} in the request")
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
            if not isinstance(value, Upload):
                raise Refusal(400, f"Bad Request: there is no {field} in the request")
        if isinstance(value, Upload):
            if value.size == 0:
                raise Refusal(400, "Bad Request: file must be non-empty")
            return value
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        parts = urlsplit(value) if isinstance(value, str) else None
        # Telegram downloads the URL; the stand-in has no internet and only checks it.
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise Refusal(400, "Bad Request: wrong file identifier/HTTP URL specified")
        return value

    def _send_photo(self, params: dict[str, Any]):
        """https://core.telegram.org/bots/api#sendphoto (three sizes, as Telegram stores them)"""
        with self._state:
            chat = self._chat(params)
            self._input_file(params, "photo")
            caption = self._formatted(params, "caption", "caption_entities", MAX_CAPTION)
            sizes = [
                self._photo_size(90, 90),
                self._photo_size(320, 320),
                self._photo_size(800, 800),
            ]
            markup = _check_markup(params.get("reply_markup"))
            return self._bot_message(
                "sendPhoto", params, chat, photo=sizes, **caption, reply_markup=markup
            )

    def _send_document(self, params: dict[str, Any]):
        """https://core.telegram.org/bots/api#senddocument"""
        with self._state:
            chat = self._chat(params)
            found = self._input_file(params, "document")
            caption = self._formatted(params, "caption", "caption_entities", MAX_CAPTION)
            if isinstance(found, dict):
                document = found
            else:
                if isinstance(found, Upload):
                    name, mime, size = found.name, found.mime_type, found.size
                else:
                    name = urlsplit(found).path.rsplit("/", 1)[-1] or "file"
                    mime, size = mimetypes.guess_type(name)[0], None
                document = self._new_file(
                    "BQAC",
                    file_name=name,
                    mime_type=mime or "application/octet-stream",
                    file_size=size,
                )
            markup = _check_markup(params.get("reply_markup"))
            return self._bot_message(
                "sendDocument", params, chat, document=document, **caption, reply_markup=markup
            )

    def _message(self, params: dict[str, Any], missing: str) -> tuple[dict, dict]:
        """The chat and the message `params` name (chat_id + message_id), or Telegram's refusal."""
        chat = self._chat(params)
        message_id = _integer(params.get("message_id"))
        if message_id is None:
            raise Refusal(400, "Bad Request: message identifier is not specified")
        message = self.messages.get((chat["id"], message_id))
        if message is None:
            raise Refusal(400, f"Bad Request: {missing}")
        return chat, message

    def _edit_message_text(self, params: dict[str, Any]):
        """https://core.telegram.org/bots/api#editmessagetext (messages in chats; inline
        messages, `inline_message_id`, are not simulated)."""
        if params.get("inline_message_id") and not params.get("chat_id"):
            raise Refusal(
                400,
                "Bad Request: el sandbox de la clase no simula mensajes inline "
                "(inline_message_id); usa chat_id y message_id.",
            )
        with self._state:
            chat, message = self._message(params, "message to edit not found")
            if message["from"]["id"] != self.bot_id:
                raise Refusal(400, "Bad Request: message can't be edited")
            if "text" not in message:
                raise Refusal(400, "Bad Request: there is no text in the message to edit")
            content = self._formatted(params, "text", "entities", MAX_TEXT)
            if not content:
                raise Refusal(400, "Bad Request: message text is empty")
            markup = _check_markup(params.get("reply_markup"))
            keyboard = markup if markup and "inline_keyboard" in markup else None
            before = (message["text"], message.get("entities"), message.get("reply_markup"))
            if before == (content["text"], content.get("entities"), keyboard):
                raise Refusal(400, NOT_MODIFIED)
            for key in ("text", "entities", "reply_markup"):
                message.pop(key, None)
            message.update(content, edit_date=int(time.time()))
            if keyboard:
                message["reply_markup"] = keyboard
            self._keep_call(Sent("editMessageText", dict(params), message))
            self.chat_log.append((chat["id"], "Bot", f"[editado] {content['text']}"))
            return message, None

    def _delete_message(self, params: dict[str, Any]):
        """https://core.telegram.org/bots/api#deletemessage: the bot's own messages, and in a
        private chat the other person's too (the 48-hour limit is not simulated)."""
        with self._state:
            chat, message = self._message(params, "message to delete not found")
            del self.messages[(chat["id"], message["message_id"])]
            self._keep_call(Sent("deleteMessage", dict(params), True))
            self.chat_log.append((chat["id"], "Bot", "[borró un mensaje]"))
        return True, None

    def _send_chat_action(self, params: dict[str, Any]):
        """https://core.telegram.org/bots/api#sendchataction"""
        with self._state:
            chat = self._chat(params)
            action = params.get("action")
            if not isinstance(action, str) or action not in CHAT_ACTIONS:
                raise Refusal(400, "Bad Request: wrong parameter action in request")
            self._keep_call(Sent("sendChatAction", dict(params), True))
            self.chat_log.append((chat["id"], "Bot", f"[{action}…]"))
        return True, None

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> str:
        """Commands are kept per scope and language (https://core.telegram.org/bots/api#setmycommands)."""
        scope = _decoded(params.get("scope"))
        scope = scope if isinstance(scope, dict) else {"type": "default"}
        language = params.get("language_code")
        return json.dumps([scope, language if isinstance(language, str) else ""], sort_keys=True)

    def _set_my_commands(self, params: dict[str, Any]):
        """https://core.telegram.org/bots/api#setmycommands; refusals in Telegram's words
        (tdlib/telegram-bot-api#98: BOT_COMMAND_INVALID; a missing `commands` clears the list)."""
        raw = _decoded(params.get("commands", []))
        if not isinstance(raw, list):
            raise Refusal(400, "Bad Request: can't parse commands JSON object")
        commands = []
        for entry in raw:
            if not isinstance(entry, dict):
                raise Refusal(400, "Bad Request: can't parse BotCommand: expected an Object")
            for field in ("command", "description"):
                if not isinstance(entry.get(field), str):
                    raise Refusal(
                        400, f"Bad Request: can't parse BotCommand: Can't find field \"{field}\""
                    )
            if not COMMAND.fullmatch(entry["command"]):
                raise Refusal(400, "Bad Request: BOT_COMMAND_INVALID")
            description = entry["description"].strip()
            if not description:
                raise Refusal(400, "Bad Request: command description must be non-empty")
            commands.append({"command": entry["command"], "description": description[:256]})
        with self._state:
            self.commands[self._commands_key(params)] = commands[:100]
        return True, None

    def _get_my_commands(self, params: dict[str, Any]):
        with self._state:
            return list(self.commands.get(self._commands_key(params), [])), None

    def _delete_my_commands(self, params: dict[str, Any]):
        with self._state:
            self.commands.pop(self._commands_key(params), None)
        return True, None

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
            self._keep_call(Sent("answerCallbackQuery", dict(params), True))
        return True, None

    # -- deliveries -----------------------------------------------------------------

    def _target(self, registered: str) -> str | None:
        """Where the registered URL's requests land: the lab's local address, same path."""
        local = self.webhook_urls.get("telegram")
        if not local:
            return None
        parts, here = urlsplit(registered), urlsplit(local)
        return urlunsplit((here.scheme, here.netloc, parts.path or "/", parts.query, ""))

    def _reply_in_answer(self, answer: requests.Response) -> None:
        """A method in the webhook's answer is run, and its outcome never reported
        (https://core.telegram.org/bots/api#making-requests-when-getting-updates)."""
        if "json" not in answer.headers.get("Content-Type", ""):
            return
        try:
            body = answer.json()
        except ValueError:
            return
        if not isinstance(body, dict) or not isinstance(body.get("method"), str):
            return
        params = {k: v for k, v in body.items() if k != "method"}
        try:
            self.call(body["method"], params)
        except Refusal as refusal:
            log.info("Telegram ignoró el método de la respuesta del webhook: %s", refusal)

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
        if 200 <= answer.status_code < 300:
            self._reply_in_answer(answer)
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

    def _wanted(self, update: dict[str, Any]) -> bool:
        """Whether allowed_updates lets this update's type through (https://core.telegram.org/bots/api#setwebhook)."""
        kind = next((key for key in update if key != "update_id"), "")
        if not self.allowed_updates:  # not set, or [] : every type but the opt-in ones
            return kind not in NOT_BY_DEFAULT
        return kind in self.allowed_updates

    def _deliver(self, update: dict[str, Any]) -> Delivery:
        with self._state:
            if not self._wanted(update):
                return Delivery(update, (), filtered=True)
            if "message" in update:
                self._remember(update["message"])
            self.pending.append(update)
            self._arrived.notify_all()
        return self._try(update)

    def flush(self) -> list[Delivery]:
        """Try every pending update again, as Telegram keeps doing until it gets a 2xx."""
        with self._state:
            waiting = list(self.pending)
        return [self._try(update) for update in waiting]

    # -- the simulated chat -----------------------------------------------------------

    def _phone(self):
        """A simulated person over HTTP (the portal's chat simulator): POST user_id,
        first_name and text; the update is delivered as `send_text` delivers it."""
        user_id, name = _integer(request.form.get("user_id")), request.form.get("first_name", "")
        text = request.form.get("text", "")
        if user_id is None or not 0 < user_id < 2**52:
            return jsonify(error="Bad Request", message="user_id debe ser un entero positivo."), 400
        if not name.strip() or len(name) > 64 or not text.strip() or len(text) > MAX_TEXT:
            message = f"Faltan first_name (hasta 64) o text (hasta {MAX_TEXT} caracteres)."
            return jsonify(error="Bad Request", message=message), 400
        delivery = self.send_text(text, ChatUser(user_id, name.strip()))
        with self._state:
            registered = self.webhook is not None
        return jsonify(
            update_id=delivery.update["update_id"],
            delivered=delivery.delivered,
            attempts=list(delivery.attempts),
            webhook=registered,
        )

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
        """The person writes `text` (commands, mentions, hashtags and links are marked as
        Telegram marks them)."""
        content: dict[str, Any] = {"text": text}
        entities = detect(text, [])
        if entities:
            content["entities"] = entities
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
        chat = {**self.DEMO_CHANNEL, "title": title}
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
