"""What Twilio does with a student's webhook answer, checked against a real Flask webhook on
loopback: the charset cases of issue 11, plain text, wrong types, errors and the deadline.

Sources: twilio.com/docs/api/twiml/sms/your_response (MIME types), twilio.com/docs/api/errors/
11200, 11205, 12100, 12200 and support.twilio.com/hc/en-us/articles/43761237850779 (12300).
"""

from __future__ import annotations

import time

import pytest
from flask import Response, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from .twilio_peer import (  # noqa: F401 (the `twilio` and `webhook` fixtures)
    SANDBOX,
    STUDENT,
    twilio_client,
    twilio_fixture,
    webhook_fixture,
)

SPANISH = "Recibí tu mensaje, ñandú 👋"


def answer(body: bytes | str, status: int = 200, content_type: str | None = "text/xml"):
    """A handler answering exactly these bytes and headers (no charset added by Werkzeug)."""

    def handler():
        response = Response(body, status=status)
        if content_type is None:
            del response.headers["Content-Type"]
        else:
            response.headers["Content-Type"] = content_type
        return response

    return handler


def deliver(twilio, webhook, text: str = "hola", url: str | None = None):
    twilio.join(STUDENT)
    return twilio.send_inbound(text, from_=STUDENT, url=url or webhook.url)


def test_utf8_twiml_served_as_text_xml_without_charset_arrives_intact(twilio, webhook):
    """The slide-03 code: `str(resp), 200, {"Content-Type": "text/xml"}`, UTF-8 bytes."""
    resp = MessagingResponse()
    resp.message(SPANISH)
    webhook.handler = lambda: (str(resp), 200, {"Content-Type": "text/xml"})
    delivery = deliver(twilio, webhook)
    assert delivery.content_type == "text/xml"
    assert delivery.replies == [SPANISH]
    assert delivery.error is None
    assert SPANISH in delivery.twiml


def test_an_iso_8859_1_declaration_is_honoured(twilio, webhook):
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><Response><Message>Recibí, ñandú</Message>'
        "</Response>"
    ).encode("latin-1")
    webhook.handler = answer(body)
    assert deliver(twilio, webhook).replies == ["Recibí, ñandú"]


def test_a_charset_in_the_content_type_wins_over_the_declaration(twilio, webhook):
    body = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Recibí</Message></Response>'
    webhook.handler = answer(body.encode("latin-1"), content_type="text/xml; charset=ISO-8859-1")
    assert deliver(twilio, webhook).replies == ["Recibí"]


def test_flask_default_text_html_with_twiml_is_read_as_twiml(twilio, webhook):
    """Twilio's own Flask quickstart returns `str(resp)`, which Flask serves as text/html."""
    resp = MessagingResponse()
    resp.message("hola")
    webhook.handler = lambda: str(resp)
    delivery = deliver(twilio, webhook)
    assert delivery.content_type == "text/html; charset=utf-8"
    assert delivery.replies == ["hola"]


@pytest.mark.parametrize(
    ("handler", "replies", "error"),
    [
        (answer(b"OK", content_type="text/plain"), ["OK"], None),
        (answer("Recibí".encode(), content_type="text/plain"), ["Recibí"], None),
        (answer(b"", content_type=None), [], None),
        (answer(b"", status=204, content_type=None), [], None),
        (answer(b'<?xml version="1.0" encoding="UTF-8"?><Response />'), [], None),
        (answer(b'{"reply": "hola"}', content_type="application/json"), [], 12300),
        (answer(b"<Response><Message>hola</Response>"), [], 12100),
        (answer(b"<Respuesta><Message>hola</Message></Respuesta>"), [], 12200),
        (answer(b"<Response><Message>x</Message></Response>", content_type=None), [], 11200),
        (answer(b"forbidden", status=403, content_type="text/plain"), [], 11200),
        (
            answer(b"<h1>Internal Server Error</h1>", status=500, content_type="text/html"),
            [],
            11200,
        ),
    ],
    ids=[
        "plain-text",
        "plain-text-utf8",
        "empty-body",
        "204",
        "empty-response",
        "json",
        "malformed-xml",
        "not-twiml",
        "no-content-type",
        "403",
        "500",
    ],
)
def test_each_answer_gets_what_twilio_does(twilio, webhook, handler, replies, error):
    webhook.handler = handler
    delivery = deliver(twilio, webhook)
    assert (delivery.replies, delivery.error) == (replies, error)
    assert delivery.note  # a Spanish sentence for the notebook
    assert twilio.deliveries[-1] is delivery
    sent = twilio_client(twilio).messages.list(from_=SANDBOX, to=STUDENT)
    assert [m.body for m in sent] == replies
    assert all(m.direction == "outbound-reply" for m in sent)


def test_a_slow_webhook_gets_11205_and_nothing_is_sent(twilio, webhook):
    def slow():
        time.sleep(1.0)
        return "OK", 200, {"Content-Type": "text/plain"}

    webhook.handler = slow
    # `#tt=` lowers Twilio's 15 s total timeout (webhooks-connection-overrides); not signed.
    delivery = deliver(twilio, webhook, url=webhook.url + "#tt=300")
    assert delivery.error == 11205
    assert delivery.replies == []
    assert delivery.seconds < 1.0
    url, form, headers = webhook.seen[0]
    assert url == webhook.url
    assert RequestValidator(twilio.auth_token).validate(url, form, headers["X-Twilio-Signature"])


def test_the_default_deadline_is_fifteen_seconds(twilio):
    assert twilio.webhook_timeout == 15.0


def test_a_webhook_that_is_not_listening_gets_11205(twilio, webhook):
    url = webhook.url
    webhook.server.stop()
    delivery = deliver(twilio, webhook, url=url)
    assert (delivery.status_code, delivery.error, delivery.replies) == (None, 11205, [])


def test_the_students_own_webhook_validates_the_signature(twilio, webhook):
    """Issue 11's exercise: RequestValidator + MessagingResponse, served from Flask."""

    token = twilio.auth_token  # the student's TWILIO_AUTH_TOKEN

    def student():
        valid = RequestValidator(token).validate(
            request.url, request.form, request.headers.get("X-Twilio-Signature", "")
        )
        if not valid:
            return "firma inválida", 403
        resp = MessagingResponse()
        resp.message(f"Recibí: {request.form['Body']}")
        return str(resp), 200, {"Content-Type": "text/xml"}

    webhook.handler = student
    delivery = deliver(twilio, webhook, "¿Cómo hago el retiro?")
    assert delivery.replies == ["Recibí: ¿Cómo hago el retiro?"]
    row = delivery.as_row()
    assert row["mensaje"] == "¿Cómo hago el retiro?"
    assert row["status_code"] == 200 and row["error"] is None
    twilio.auth_token = "otro-token-que-no-es-el-del-estudiante"  # Twilio signs with another
    forged = twilio.send_inbound("hola", from_=STUDENT, url=webhook.url)
    assert (forged.status_code, forged.error, forged.replies) == (403, 11200, [])
