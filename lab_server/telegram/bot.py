"""What the course bot does with an update: commands, a menu of buttons, answers and photos.

It runs off the request thread, in a `ReplyWorker`: the webhook has already answered
Telegram 200, so a slow answer (the LLM) or a failed send never makes Telegram resend the
update. Every message the bot sends is stored with status "sent" or "failed", and the
inbound message ends "answered" or "failed".
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from ..errors import LabError
from ..text import split_message
from .client import MAX_TEXT, BotAPI
from .updates import Inbound

if TYPE_CHECKING:
    from flask import Flask

    from ..context import LabContext
    from ..lab import Lab

log = logging.getLogger(__name__)

#: A public image for /foto; Telegram downloads it from the URL (sendPhoto `photo`).
SAMPLE_PHOTO_URL = "https://telegram.org/img/t_logo.png"
PHOTO_CAPTION = "Una foto de ejemplo: el bot la envía con sendPhoto y una URL pública."
HELP = (
    "Esto es lo que puedo hacer:\n"
    "/menu – opciones con botones\n"
    "/foto – te envío una foto de ejemplo\n"
    "/help – esta ayuda\n"
    "También puedes escribirme tu pregunta, o enviarme una foto, un documento, "
    "tu ubicación o un contacto."
)
MENU_TEXT = "¿En qué te ayudo? Elige una opción:"
#: A pressed button is handled as if the person had typed its callback_data.
MENU: dict[str, Any] = {
    "inline_keyboard": [
        [{"text": "📚 Retiro de materias", "callback_data": "retiro"}],
        [
            {"text": "🖼️ Ver una foto", "callback_data": "/foto"},
            {"text": "❓ Ayuda", "callback_data": "/help"},
        ],
    ]
}
#: The answer to each kind of message that is not text.
RECEIVED = {
    "photo": "📷 ¡Gracias por la foto! Me llegó en {width}×{height} píxeles.",
    "document": "📄 Recibí tu archivo «{file_name}».",
    "location": "📍 Recibí tu ubicación: {latitude:.5f}, {longitude:.5f}.",
    "contact": "👤 Recibí el contacto de {first_name}.",
    "other": "Por ahora entiendo texto, fotos, documentos, ubicaciones y contactos. "
    "Escribe /help para ver qué puedo hacer.",
}


class ReplyTimeoutError(LabError):
    """The background replies did not finish in time."""


class ReplyWorker:
    """A small thread pool for replies that tests and notebooks can wait on."""

    def __init__(self, threads: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="telegram-reply")
        self._busy = 0
        self._changed = threading.Condition()

    def submit(self, job: Callable[..., None], *args: Any) -> None:
        with self._changed:
            self._busy += 1
        # in the caller's context, so the reply's log lines keep their lab (logs.py)
        self._pool.submit(contextvars.copy_context().run, self._run, job, *args)

    def _run(self, job: Callable[..., None], *args: Any) -> None:
        try:
            job(*args)
        except Exception:
            log.exception("Error inesperado respondiendo en Telegram")
        finally:
            with self._changed:
                self._busy -= 1
                self._changed.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once no reply is pending; False if `timeout` seconds pass first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._busy == 0, timeout)


@dataclass(frozen=True)
class Reply:
    """One answer: a text, or a photo with `text` as its caption, and maybe buttons."""

    text: str
    photo: str | None = None
    reply_markup: dict[str, Any] | None = None


class TelegramBot:
    """The bot behind one lab app (kept in `app.extensions["telegram"]`)."""

    def __init__(self, context: LabContext, threads: int = 4) -> None:
        self.context = context
        self.worker = ReplyWorker(threads)
        self._api: BotAPI | None = None

    @property
    def api(self) -> BotAPI:
        if self._api is None:
            self._api = BotAPI.from_settings(self.context.settings)
        return self._api

    def submit(self, inbound: Inbound) -> None:
        """Answer `inbound` in the background."""
        self.worker.submit(self.handle, inbound)

    def handle(self, inbound: Inbound) -> None:
        """Answer one update and record how it went; never raises."""
        try:
            if inbound.content == "button":
                acknowledged = self._acknowledge(inbound)
                reply = self.reply_for(replace(inbound, content="text"))
                answered = self.deliver(inbound, reply) and acknowledged
            else:
                answered = self.deliver(inbound, self.reply_for(inbound))
        except Exception:
            log.exception(
                "Telegram: error preparando la respuesta a la actualización %s", inbound.update_id
            )
            answered = False
        if inbound.row_id is not None:
            with self.context.store.transaction() as tx:
                tx.set_status(inbound.row_id, "answered" if answered else "failed")

    def reply_for(self, inbound: Inbound) -> Reply:
        """The answer to a message: a command, a canned or LLM answer, or an acknowledgement."""
        if inbound.content != "text":
            return Reply(
                RECEIVED.get(inbound.content, RECEIVED["other"]).format(**inbound.media or {})
            )
        if inbound.text.startswith("/"):
            return self.command(inbound)
        answer = self.context.replier.answer(
            "telegram",
            inbound.text,
            history=self.history(inbound),
            send_late=partial(self.send_late, inbound),
        )
        return Reply(answer.text)

    def command(self, inbound: Inbound) -> Reply:
        """/start, /help (or /ayuda), /menu and /foto; anything else gets the help."""
        name = inbound.text.split()[0][1:].split("@")[0].lower()
        if name == "start":
            greeting = f"¡Hola, {inbound.first_name}!" if inbound.first_name else "¡Hola!"
            return Reply(
                f"{greeting} 👋 Soy el bot del curso. Escríbeme tu pregunta o elige una opción:",
                reply_markup=MENU,
            )
        if name in ("help", "ayuda"):
            return Reply(HELP)
        if name == "menu":
            return Reply(MENU_TEXT, reply_markup=MENU)
        if name == "foto":
            return Reply(PHOTO_CAPTION, photo=SAMPLE_PHOTO_URL)
        return Reply(f"No conozco el comando /{name[:32]}.\n\n{HELP}")

    def history(self, inbound: Inbound) -> list[dict[str, Any]]:
        """The conversation before `inbound`, oldest first, for the LLM's memory."""
        size = self.context.settings.llm_history
        rows = self.context.store.conversation("telegram", str(inbound.chat_id), size + 1)
        earlier = [m for m in rows if inbound.row_id is None or m["id"] < inbound.row_id]
        return earlier[-size:] if size > 0 else []

    def send_late(self, inbound: Inbound, text: str) -> None:
        """Deliver an answer that arrived after the first reply (the Replier's `send_late`)."""
        self.deliver(inbound, Reply(text))

    def deliver(self, inbound: Inbound, reply: Reply) -> bool:
        """Send `reply` to the inbound's chat (split when long); True if every part was sent."""
        if reply.photo:
            params = {
                "photo": reply.photo,
                "caption": reply.text,
                "reply_markup": reply.reply_markup,
            }
            return self._send(inbound, "sendPhoto", params)
        pieces = split_message(reply.text, MAX_TEXT, unit="chars")
        last = len(pieces) - 1
        return all(
            self._send(
                inbound,
                "sendMessage",
                {"text": piece, "reply_markup": reply.reply_markup if i == last else None},
            )
            for i, piece in enumerate(pieces)
        )

    def _acknowledge(self, inbound: Inbound) -> bool:
        """answerCallbackQuery, so the button stops spinning; a refusal is logged, and the
        reply is sent anyway (the person still wants it)."""
        try:
            self.api.answer_callback_query(str(inbound.callback_id))
        except LabError as exc:
            log.warning("Telegram: answerCallbackQuery falló: %s", exc)
            return False
        return True

    def _send(self, inbound: Inbound, method: str, params: dict[str, Any]) -> bool:
        body = params.get("text") or params.get("caption")
        media = {"type": "photo", "url": params["photo"]} if method == "sendPhoto" else None
        try:
            message = self.api.call(method, chat_id=inbound.chat_id, **params)
        except LabError as exc:
            log.warning(
                "Telegram: no se pudo responder a la actualización %s: %s", inbound.update_id, exc
            )
            self._store_out(inbound, body, media, "failed", None, {"error": str(exc)})
            return False
        message_id = message.get("message_id") if isinstance(message, dict) else None
        self._store_out(inbound, body, media, "sent", f"{inbound.chat_id}:{message_id}", message)
        return True

    def _store_out(
        self,
        inbound: Inbound,
        body: str | None,
        media: dict[str, Any] | None,
        status: str,
        external_id: str | None,
        raw: Any,
    ) -> None:
        with self.context.store.transaction() as tx:
            tx.add_message(
                channel="telegram",
                direction="out",
                body=body,
                external_id=external_id,
                recipient=str(inbound.chat_id),
                media=media,
                status=status,
                raw=raw,
                in_reply_to=str(inbound.update_id),
            )


def wait_replies(lab: Lab | Flask, timeout: float = 10.0) -> None:
    """Wait until the bot has sent every pending reply (for notebooks and tests)."""
    app = lab.context.app if hasattr(lab, "context") else lab
    if not app.extensions["telegram"].worker.wait_idle(timeout):
        raise ReplyTimeoutError(
            f"Las respuestas de Telegram no terminaron en {timeout:.0f} s. Mira lab.logs()."
        )
