"""WhatsApp as a publishing target of the pipeline: a post goes to the bot's contacts.

WhatsApp has no feed: publishing means messaging the people who wrote to the bot. Inside
the 24-hour customer-service window (their last message, from the `messages` table; in the
sandbox, its demo contact until a real one writes) the post goes as free-form text;
outside it WhatsApp accepts only an approved template, so those contacts get
WHATSAPP_TEMPLATE_SID (its {{1}} is the post's first line) or nothing.
https://www.twilio.com/docs/whatsapp/key-concepts#the-customer-service-window

Twilio takes no idempotency key for messages, so exactly-once works by resuming: when an
earlier attempt of the same publication ended without recording its outcome, the message
log (`GET Messages.json?To=&From=&DateSent>=`) says which contacts already got the text.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException

from ..oauth.errors import PublishInputError
from ..publish import Post, PublishContext
from .client import (
    BODY_LIMIT,
    SANDBOX_SENDER,
    _code,
    _detail,
    client_for,
    whatsapp_address,
)
from .errors import TwilioSendError

WINDOW = timedelta(hours=24)
#: Most contacts one post is sent to (the sandbox allows one message every 3 s).
MAX_CONTACTS = 50


def from_address(ctx: PublishContext) -> str:
    """The sender: the post's own WhatsApp sender, else TWILIO_WHATSAPP_FROM."""
    return whatsapp_address(ctx.account or ctx.settings.twilio_whatsapp_from)


def sender(ctx: PublishContext) -> str | None:
    """The account WhatsApp's rate limit counts against. The sandbox number allows one
    message every 3 s per Twilio account (error 63018, "Account <SID> exceeded the 1 rps
    rate limit": https://support.twilio.com/hc/en-us/articles/360024008153); a production
    sender takes 80 messages/s and Twilio queues the excess instead of refusing it
    (https://www.twilio.com/docs/whatsapp/best-practices-and-faqs), so None: no limit."""
    if from_address(ctx) == SANDBOX_SENDER:
        return ctx.settings.twilio_account_sid
    return None


def contacts(store: Any, now: datetime) -> list[tuple[str, bool]]:
    """(address, inside the 24 h window) of everyone who wrote to the bot, newest first."""
    with store.transaction(write=False) as tx:
        rows = tx.execute(
            "SELECT sender, MAX(created_at) FROM messages WHERE channel = 'whatsapp' "
            "AND direction = 'in' AND sender IS NOT NULL GROUP BY sender"
        ).fetchall()
    seen = []
    for address, last in rows:
        moment = last if isinstance(last, datetime) else datetime.fromisoformat(str(last))
        seen.append((moment.astimezone(timezone.utc), str(address)))
    seen.sort(reverse=True)
    return [(address, now - moment <= WINDOW) for moment, address in seen[:MAX_CONTACTS]]


def headline(text: str) -> str:
    """The first line, as a template variable accepts it (no newlines or runs of spaces)."""
    first = re.sub(r"\s+", " ", text.strip().splitlines()[0] if text.strip() else "")
    return first[:100] or "novedades"


def _already_sent(client: Any, to: str, from_: str, body: str, since: datetime) -> str | None:
    """The sid of a message with this body sent to `to` since `since`, if Twilio has one."""
    for message in client.messages.list(
        to=to, from_=from_, date_sent_after=since - timedelta(minutes=1), limit=200
    ):
        if message.body == body:
            return message.sid
    return None


def publish_post(text: str, image_url: str | None, ctx: PublishContext) -> Post:
    """Send the post to every contact: free-form inside the window, template outside."""
    if len(text) > BODY_LIMIT:
        raise PublishInputError(
            f"Twilio acepta como máximo {BODY_LIMIT} caracteres por mensaje de WhatsApp; el "
            f"texto tiene {len(text)}. Acórtalo."
        )
    if ctx.store is None:
        raise PublishInputError("Publicar en WhatsApp necesita la base del laboratorio (lab=).")
    settings = ctx.settings
    template = settings.whatsapp_template_sid
    targets = [(a, inside) for a, inside in contacts(ctx.store, ctx.now) if inside or template]
    if not any(inside for _, inside in targets):  # the sandbox's demo contact, until someone writes
        targets += [(a, True) for channel, a in settings.demo_contacts if channel == "whatsapp"]
    if not targets:
        raise PublishInputError(
            "No hay contactos de WhatsApp a quienes enviar: nadie le escribió al bot en las "
            "últimas 24 horas, y fuera de ese plazo WhatsApp solo acepta plantillas aprobadas "
            "(define WHATSAPP_TEMPLATE_SID). Pide a alguien que le escriba al bot."
        )
    client = client_for(settings)
    from_ = from_address(ctx)
    sids = []
    try:
        for address, inside in targets:
            to = whatsapp_address(address)
            options: dict[str, Any] = {"body": text}
            if not inside:
                options = {
                    "content_sid": template,
                    "content_variables": json.dumps({"1": headline(text)}, ensure_ascii=False),
                }
            elif image_url:
                options["media_url"] = [image_url]
            if ctx.resume and ctx.previous_attempt and inside:
                sid = _already_sent(client, to, from_, text, ctx.previous_attempt)
                if sid:
                    sids.append(sid)
                    continue
            sids.append(client.messages.create(to=to, from_=from_, **options).sid)
    except TwilioRestException as exc:
        raise TwilioSendError(_code(exc), _detail(exc), exc.status) from exc
    except (requests.RequestException, TwilioException) as exc:
        raise TwilioSendError(
            None, f"no se pudo conectar con la API en {settings.twilio_api_base} ({exc})"
        ) from exc
    return Post(network="whatsapp", id=",".join(sids), url=None)
