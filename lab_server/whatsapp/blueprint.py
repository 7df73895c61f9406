"""WhatsApp through Twilio: the inbound webhook and the status callback.

Twilio POSTs each message as a signed form and waits (15 s at most) for TwiML telling it
what to answer. Twilio retries a delivery it thinks failed, with the same MessageSid, so
each message is handled once: its claim, the inbound message and the reply are stored in
one transaction, and a retry gets back the reply stored the first time.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, request
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

from ..config import Settings
from ..context import LabContext, current_lab
from ..errors import LabError
from ..store import Store, Tx
from ..text import split_message
from .client import BODY_LIMIT, send_whatsapp, whatsapp_address
from .errors import explain
from .signature import read_signed_form

log = logging.getLogger(__name__)

bp = Blueprint("whatsapp", __name__)

CHANNEL = "whatsapp"
WEBHOOK_PATH = "/webhooks/whatsapp"
#: Twilio reports the delivery of messages the kit sends here.
STATUS_PATH = WEBHOOK_PATH + "/status"
#: Twilio SIDs: two capital letters and 32 hex digits (SM…, MM…).
SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
MAX_ADDRESS = 256
MAX_MEDIA = 10
NUM_MEDIA = re.compile(r"[0-9]{1,2}")
STATUS_WORD = re.compile(r"[a-z_]{1,32}")
ERROR_CODE = re.compile(r"[0-9]{1,9}")
#: How far along a message is; callbacks can arrive out of order and must not go back.
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
    "undelivered": 6,
    "failed": 6,
    "canceled": 6,
}
MEDIA_KINDS = {"image": "imagen", "audio": "audio", "video": "video"}
#: Seconds a late answer waits for its webhook to finish storing the inbound message.
LATE_WAIT = 30.0


@bp.record_once
def _warn_when_unsigned(state: Any) -> None:
    settings: Settings = state.app.extensions["lab"].settings
    if not settings.twilio_validate_signature:
        log.warning(
            "TWILIO_VALIDATE_SIGNATURE=0: el webhook de WhatsApp acepta peticiones sin firma "
            "de Twilio; cualquiera que conozca la URL puede hacerse pasar por un usuario. "
            "Úsalo solo para depurar."
        )


@dataclass(frozen=True)
class Inbound:
    """One WhatsApp message as Twilio posted it."""

    sid: str
    sender: str
    recipient: str | None
    body: str
    media: list[dict[str, str]]
    raw: dict[str, str]


def _sid(form: MultiDict[str, str]) -> str:
    sid = form.get("MessageSid", "").strip()
    if not sid:
        raise BadRequest("Falta el campo MessageSid (el identificador del mensaje en Twilio).")
    if not SID.fullmatch(sid):
        raise BadRequest(
            f"MessageSid no válido: {sid[:40]!r}. Twilio usa 34 caracteres, por ejemplo SM…"
        )
    return sid


def _media(form: MultiDict[str, str]) -> list[dict[str, str]]:
    count = form.get("NumMedia", "0").strip()
    if not NUM_MEDIA.fullmatch(count) or int(count) > MAX_MEDIA:
        raise BadRequest(
            f"NumMedia debe ser un número entero de 0 a {MAX_MEDIA}; llegó {count[:20]!r}."
        )
    media = []
    for index in range(int(count)):
        url = form.get(f"MediaUrl{index}", "").strip()
        content_type = form.get(f"MediaContentType{index}", "").strip()
        if not url.startswith(("https://", "http://")):
            raise BadRequest(f"NumMedia={count}, pero MediaUrl{index} falta o no es una URL.")
        if "/" not in content_type:
            raise BadRequest(
                f"NumMedia={count}, pero MediaContentType{index} falta o no es válido."
            )
        media.append({"url": url, "content_type": content_type})
    return media


def parse_inbound(form: MultiDict[str, str]) -> Inbound:
    """The fields the kit uses, checked; every field is kept in `raw`."""
    sid = _sid(form)
    sender = form.get("From", "").strip()
    if not sender or len(sender) > MAX_ADDRESS:
        raise BadRequest("Falta el campo From (quién escribe, por ejemplo whatsapp:+591…).")
    return Inbound(
        sid=sid,
        sender=sender,
        recipient=form.get("To", "").strip()[:MAX_ADDRESS] or None,
        body=form.get("Body", ""),
        media=_media(form),
        raw=form.to_dict(),
    )


def media_note(media: list[dict[str, str]]) -> str:
    """The reply's acknowledgement of attachments (WhatsApp users send photos and audio)."""
    if len(media) == 1:
        content_type = media[0]["content_type"]
        kind = MEDIA_KINDS.get(content_type.split("/")[0], "archivo")
        return f"📎 Recibí tu {kind} ({content_type})."
    types = ", ".join(m["content_type"] for m in media)
    return f"📎 Recibí {len(media)} archivos adjuntos: {types}."


@functools.lru_cache(maxsize=512)
def twiml_text(parts: tuple[str, ...]) -> str:
    """TwiML with one <Message> per part; canned answers repeat, so it is built once each."""
    response = MessagingResponse()
    for part in parts:
        response.message(part)
    return str(response)


def twiml(parts: list[str]) -> Response:
    """A TwiML answer (an empty <Response/> sends nothing)."""
    return Response(twiml_text(tuple(parts)), mimetype="text/xml")


def add_reply(
    tx: Tx,
    inbound: Inbound,
    bot: str,
    body: str,
    source: str,
    external_id: str | None = None,
    status: str | None = None,
) -> None:
    """Store one reply to `inbound`. TwiML replies have neither Twilio SID nor status."""
    tx.add_message(
        channel=CHANNEL,
        direction="out",
        body=body,
        external_id=external_id,
        sender=bot,
        recipient=inbound.sender,
        status=status,
        raw={"source": source},
        in_reply_to=inbound.sid,
    )


@dataclass
class LateReply:
    """`send_late` for one inbound message: a slow answer, sent later through the REST API.

    It waits until the webhook knows whether it handled the message or it was a retry
    of one already handled (then the late answer belongs to the first delivery and is
    dropped), sends each part with `send_whatsapp` and stores it.
    """

    settings: Settings
    store: Store
    inbound: Inbound
    bot: str
    status_callback: str | None
    _decided: threading.Event = field(default_factory=threading.Event)
    _handled: bool = False

    def decide(self, handled: bool) -> None:
        self._handled = handled
        self._decided.set()

    def __call__(self, text: str) -> None:
        if not self._decided.wait(LATE_WAIT):
            log.error("Respuesta tardía descartada: el webhook de %s no terminó", self.inbound.sid)
            return
        if not self._handled:
            log.info("Respuesta tardía descartada: %s ya tenía respuesta", self.inbound.sid)
            return
        for part in split_message(text, BODY_LIMIT):
            sid, status = None, "failed"
            try:
                message = send_whatsapp(
                    to=self.inbound.sender,
                    body=part,
                    settings=self.settings,
                    status_callback=self.status_callback,
                )
                sid, status = message.sid, message.status
            except LabError as exc:
                log.error("No se pudo enviar la respuesta tardía a %s: %s", self.inbound.sid, exc)
            with self.store.transaction() as tx:
                add_reply(tx, self.inbound, self.bot, part, "late", sid, str(status))


class History(Sequence[dict[str, Any]]):
    """The conversation before one inbound message, read only if the replier looks at it.

    Most answers come from a keyword rule and never need it; an LLM reads it once. The
    copy of this very message a retry may find, and its replies, are left out; so is what
    was stored after it, should the replier read it later from another thread.
    """

    def __init__(self, store: Store, inbound: Inbound, limit: int) -> None:
        self._store = store
        self._inbound = inbound
        self._limit = limit
        self.before_id: int | None = None  # the inbound message's row, once stored

    @functools.cached_property
    def _messages(self) -> list[dict[str, Any]]:
        rows = self._store.conversation(CHANNEL, self._inbound.sender, limit=self._limit)
        sid, before = self._inbound.sid, self.before_id
        return [
            m
            for m in rows
            if sid not in (m["external_id"], m["in_reply_to"])
            and (before is None or m["id"] < before)
        ]

    def __getitem__(self, index):  # type: ignore[override]
        return self._messages[index]

    def __len__(self) -> int:
        return len(self._messages)


def answer_once(lab: LabContext, inbound: Inbound, status_callback: str | None) -> list[str]:
    """The reply parts for `inbound`, computed and stored once per MessageSid.

    The answer is chosen outside the write transaction, so a slow one (an LLM) never holds
    the database's write lock. Then the claim decides: a retry of a message already
    answered loses it and gets the reply stored the first time. When the replier may ask
    the model, a retry is looked up before answering, so it never costs a second model
    call, and a slow answer can still be sent later; a retry that arrives while the first
    delivery is still being answered replays the stored reply, and its own late answer, if
    any, is dropped.
    """
    store = lab.store
    bot = inbound.recipient or whatsapp_address(lab.settings.twilio_whatsapp_from)
    late = None
    if lab.replier.asks_model:
        with store.transaction(write=False) as tx:
            earlier = tx.event_response(CHANNEL, inbound.sid)
        if earlier is not None:
            return earlier
        late = LateReply(lab.settings, store, inbound, bot, status_callback)
    handled = False
    try:
        history = History(store, inbound, lab.settings.llm_history)
        answer = lab.replier.answer(CHANNEL, inbound.body, history=history, send_late=late)
        parts = ([media_note(inbound.media)] if inbound.media else []) + split_message(
            answer.text, BODY_LIMIT
        )
        with store.transaction() as tx:
            handled = tx.claim_event(CHANNEL, inbound.sid, response=parts)
            if not handled:
                return tx.event_response(CHANNEL, inbound.sid) or []
            history.before_id = tx.add_message(
                channel=CHANNEL,
                direction="in",
                body=inbound.body,
                external_id=inbound.sid,
                sender=inbound.sender,
                recipient=inbound.recipient,
                media=inbound.media or None,
                status="received",
                raw=inbound.raw,
            )
            for part in parts:
                add_reply(tx, inbound, bot, part, answer.source)
        return parts
    finally:
        if late is not None:
            late.decide(handled)


@bp.post(WEBHOOK_PATH)
def webhook() -> Response:
    lab = current_lab()
    inbound = parse_inbound(read_signed_form(lab.settings))
    origin = lab.settings.public_base_url or f"{request.scheme}://{request.host}"
    return twiml(answer_once(lab, inbound, origin + STATUS_PATH))


def advance_status(tx: Tx, sid: str, status: str) -> None:
    """Set the status of message `sid`, unless it already reached a later one."""
    rank = STATUS_RANK.get(status, 0)
    earlier = [name for name, r in STATUS_RANK.items() if r < rank]
    marks = ", ".join("?" * len(earlier)) or "NULL"
    tx.execute(
        f"UPDATE messages SET status = ? WHERE channel = ? AND direction = 'out' "
        f"AND external_id = ? AND (status IS NULL OR status IN ({marks}))",
        (status, CHANNEL, sid, *earlier),
    )


@bp.post(STATUS_PATH)
def status() -> tuple[str, int]:
    lab = current_lab()
    form = read_signed_form(lab.settings)
    sid = _sid(form)
    state = form.get("MessageStatus", "").strip()
    if not STATUS_WORD.fullmatch(state):
        raise BadRequest("Falta MessageStatus o no es válido (queued, sent, delivered, …).")
    code = form.get("ErrorCode", "").strip()
    if code and not ERROR_CODE.fullmatch(code):
        raise BadRequest(f"ErrorCode debe ser un número; llegó {code[:20]!r}.")
    with lab.store.transaction() as tx:
        first = tx.claim_event(CHANNEL, f"status:{sid}:{state}")
        if first:
            advance_status(tx, sid, state)
    if first and code:
        log.warning(
            "WhatsApp: el mensaje %s quedó «%s». %s",
            sid,
            state,
            explain(int(code), form.get("ErrorMessage", "")),
        )
    return "", 204
