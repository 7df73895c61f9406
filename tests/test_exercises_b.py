"""The exercises of notebooks 03, 04 and 06: placeholder pending, solution passes, and each
expected mistake fails with its own Spanish sentence (lab_server/exercises/)."""

from __future__ import annotations

import pytest
from flask import Flask, Response, abort, jsonify, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from lab_server.exercises import Outcome
from lab_server.exercises.whatsapp import check_whatsapp_webhook
from lab_server.sandbox.twilio import TwilioStandIn

PHONE = "whatsapp:+59170000077"


@pytest.fixture(scope="module")
def twilio():
    standin = TwilioStandIn()
    standin.join(PHONE)
    yield standin
    standin.stop()


def whatsapp_app(token: str, variant: str = "solution") -> Flask:
    """The reference solution of notebook 03's exercise 1, or one mistake students make."""
    my_app = Flask("my_whatsapp_bot")
    validator = RequestValidator(token)

    @my_app.post("/whatsapp")
    def whatsapp():
        signature = request.headers.get("X-Twilio-Signature", "")
        url = "https://example.org/whatsapp" if variant == "wrong-url" else request.url
        if variant == "header-only":
            valid = bool(signature)
        elif variant == "unchecked":
            valid = True
        else:
            valid = validator.validate(url, request.form, signature)
        if not valid:
            abort(401 if variant == "401" else 403)
        body = request.form["body"] if variant == "crash" else request.form["Body"]
        if variant == "raises":
            return str(1 / 0)
        if variant == "plain-ok":
            return "OK"
        if variant == "text-plain":
            return Response(f"Recibí: {body}", mimetype="text/plain")
        if variant == "json":
            return jsonify(reply=f"Recibí: {body}")
        answer = MessagingResponse()
        answer.message("Gracias" if variant == "other-text" else f"Recibí: {body}")
        return Response(str(answer), mimetype="text/xml")

    return my_app


def placeholder_app() -> Flask:
    my_app = Flask("my_whatsapp_bot")

    @my_app.post("/whatsapp")
    def whatsapp(): ...

    return my_app


def test_whatsapp_webhook_placeholder_is_pending(twilio):
    assert check_whatsapp_webhook(..., twilio, PHONE).status == "pending"
    outcome = check_whatsapp_webhook(placeholder_app(), twilio, PHONE)
    assert outcome.status == "pending"
    assert outcome.line("Ejercicio 1").startswith("⏳ Ejercicio 1 pendiente: escribe el cuerpo")


def test_whatsapp_webhook_solution_passes(twilio):
    outcome = check_whatsapp_webhook(whatsapp_app(twilio.auth_token), twilio, PHONE)
    assert outcome == Outcome.ok(outcome.message), outcome.message
    assert outcome.line("Ejercicio 1").startswith("✔ Ejercicio 1: Twilio entregó")


@pytest.mark.parametrize(
    ("variant", "said"),
    [
        ("unchecked", "aceptó un mensaje alterado"),
        ("header-only", "aceptó un mensaje alterado"),
        ("401", "respondió HTTP 401; una firma que no coincide se rechaza con 403"),
        ("wrong-url", "rechazó (403) un mensaje bien firmado"),
        ("crash", "respondió HTTP 400 a un mensaje bien firmado: KeyError: 'body'"),
        ("raises", "falló (HTTP 500) con un mensaje bien firmado: ZeroDivisionError"),
        ("plain-ok", "12100"),
        ("text-plain", "respondiste texto plano"),
        ("json", "12300"),
        ("other-text", "Twilio entregó «Gracias» y se esperaba un solo mensaje: «Recibí: Hola"),
    ],
)
def test_whatsapp_webhook_mistakes_fail_with_their_own_sentence(twilio, variant, said):
    outcome = check_whatsapp_webhook(whatsapp_app(twilio.auth_token, variant), twilio, PHONE)
    assert outcome.status == "wrong"
    assert said in outcome.message


def test_whatsapp_webhook_with_another_token_is_rejected_as_unsigned(twilio):
    outcome = check_whatsapp_webhook(whatsapp_app("0" * 32), twilio, PHONE)
    assert outcome.status == "wrong"
    assert "rechazó (403) un mensaje bien firmado" in outcome.message


def test_whatsapp_webhook_without_the_route(twilio):
    outcome = check_whatsapp_webhook(Flask("empty"), twilio, PHONE)
    assert outcome.status == "wrong" and "POST /whatsapp" in outcome.message
    outcome = check_whatsapp_webhook("not an app", twilio, PHONE)
    assert outcome.status == "wrong" and "app de Flask" in outcome.message
