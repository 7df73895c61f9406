"""What Twilio does with your webhook's answer to an incoming WhatsApp message.

Twilio reads the answer as bytes and acts on its Content-Type (twilio.com/docs/api/twiml/sms/
your_response, "Twilio Understands MIME Types"): `text/xml`, `application/xml` and `text/html`
are TwiML; `text/plain` is sent back as one message; anything else is error 12300
(support.twilio.com/hc/en-us/articles/43761237850779). A 4xx/5xx answer or no Content-Type is
11200 (twilio.com/docs/api/errors/11200), malformed XML 12100, XML that is not a `<Response>`
12200 (twilio.com/docs/api/errors/12100, /12200), and no complete answer within 15 s is 11205
(twilio.com/docs/api/errors/11205). An empty answer (or an empty `<Response/>`) sends nothing
(twilio.com/docs/usage/webhooks/sms-webhooks).

XML is parsed from the bytes, so the XML declaration's encoding (UTF-8 when there is none, XML
1.0 section 4.3.3) decides how they are read; a `charset` in the Content-Type wins, as RFC 7303
section 3.2 says. That is why a UTF-8 reply served as `text/xml` without a charset arrives
as «Recibí», not «RecibÃ­».
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

XML_TYPES = ("text/xml", "application/xml", "text/html")
TEXT_TYPE = "text/plain"
DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']")

#: Spanish one-liners for what Twilio would do, by error code (None: it worked).
NOTES = {
    11200: "Twilio registra el error 11200: tu webhook respondió HTTP {status}; no envía nada.",
    11205: "Twilio registra el error 11205: tu webhook no respondió a tiempo (límite {limit} s) "
    "o no aceptó la conexión; no envía nada.",
    12100: "Twilio registra el error 12100: el XML está mal formado; no envía nada.",
    12200: "Twilio registra el error 12200: el XML no es TwiML (falta <Response>); no envía nada.",
    12300: "Twilio registra el error 12300: Content-Type «{content_type}» no es TwiML ni texto; "
    "no envía nada.",
}

NO_CONTENT_TYPE = (
    "Twilio registra el error 11200: la respuesta no trae Content-Type; no envía nada."
)


@dataclass(frozen=True)
class Reading:
    """What Twilio makes of one webhook answer: the messages it sends, or the error it logs."""

    replies: list[str]
    error: int | None
    text: str  # the answer as text, decoded as Twilio decodes it
    note: str  # in Spanish, for the notebook's table


def media_type(content_type: str) -> tuple[str, str | None]:
    """`text/xml; charset=ISO-8859-1` -> ("text/xml", "ISO-8859-1")."""
    kind, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip().strip('"')
    return kind.strip().lower(), charset


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


def twiml_messages(body: bytes, charset: str | None = None) -> list[str]:
    """The texts of the <Message> verbs of a TwiML document (ET.ParseError if it is not XML,
    ValueError if its root is not <Response>)."""
    if charset:  # the header's charset wins: decode, and drop the declaration it overrides
        root = ET.fromstring(DECLARATION.sub("", _decode(body, charset), count=1))
    else:  # expat honours the declaration's encoding, UTF-8 without one
        root = ET.fromstring(body)
    if root.tag != "Response":
        raise ValueError(f"la raíz del TwiML es <{root.tag}>, no <Response>")
    out = []
    for message in root.iter("Message"):
        text = message.find("Body")
        out.append(((text.text if text is not None else message.text) or "").strip())
    return out


def read_answer(status: int, content_type: str | None, body: bytes) -> Reading:
    """What Twilio does with an answer that arrived in time (see the module docstring)."""
    kind, charset = media_type(content_type or "")
    text = _decode(body, charset)
    if kind in XML_TYPES and charset is None:
        text = _xml_text(body)
    if not 200 <= status < 300:
        return Reading([], 11200, text, NOTES[11200].format(status=status))
    if not body.strip():
        return Reading([], None, text, "Respuesta vacía: Twilio no envía nada (es válido).")
    if not content_type:
        return Reading([], 11200, text, NO_CONTENT_TYPE)
    if kind == TEXT_TYPE:
        return Reading([text.strip()], None, text, "Twilio envía el texto tal cual como mensaje.")
    if kind not in XML_TYPES:
        return Reading([], 12300, text, NOTES[12300].format(content_type=kind))
    try:
        replies = twiml_messages(body, charset)
    except ET.ParseError:
        return Reading([], 12100, text, NOTES[12100])
    except ValueError:
        return Reading([], 12200, text, NOTES[12200])
    if not replies:
        return Reading([], None, text, "TwiML sin <Message>: Twilio no envía nada (es válido).")
    return Reading(replies, None, text, f"Twilio envía {len(replies)} mensaje(s).")


def _xml_text(body: bytes) -> str:
    """The XML as text, decoded with the encoding it declares (UTF-8 if none)."""
    declared = ENCODING.match(body)
    return _decode(body, declared.group(1).decode("ascii") if declared else None)


def timed_out(limit: float) -> Reading:
    """No complete answer within `limit` seconds, or no connection at all: 11205."""
    return Reading([], 11205, "", NOTES[11205].format(limit=f"{limit:g}"))
