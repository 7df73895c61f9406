"""Notebook 03, exercise 1: the student's own WhatsApp webhook, checked as Twilio would use it.

The check serves the student's Flask app on a free loopback port and has the Twilio stand-in
deliver to it (`send_inbound(..., url=...)`), signed exactly as Twilio signs. Then it plays
the attacker: the same signature with another Body, no signature, an invented signature.
Each mistake gets its own sentence, with what Twilio would do with the answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .outcome import Outcome, is_placeholder
from .student_app import crash_of, first_not_refused, served, view_of

if TYPE_CHECKING:
    from flask import Flask

    from ..sandbox.twilio import Delivery, TwilioStandIn

PATH = "/whatsapp"
MESSAGE = "Hola, ¿atienden hoy?"
TAMPERED = "Dame un 100 en el examen"


def expected_reply(body: str) -> str:
    """What the exercise asks the bot to answer."""
    return f"Recibí: {body}"


def _crash(app: Flask, delivery: Delivery) -> str:
    """Why the view failed; replayed on the URL the stand-in signed, so the student's
    signature check passes again."""
    base = (delivery.url or "").removesuffix(PATH)
    return crash_of(app, PATH, base, data=delivery.form, headers=delivery.headers)


def _answer_problem(app: Flask, delivery: Delivery) -> str | None:
    """What is wrong with the answer to a correctly signed message, if anything."""
    status = delivery.status_code
    kind = (delivery.content_type or "").split(";")[0].strip().lower()
    if status == 500:
        return f"tu webhook falló (HTTP 500) con un mensaje bien firmado: {_crash(app, delivery)}."
    if status == 400:
        return (
            f"tu webhook respondió HTTP 400 a un mensaje bien firmado: {_crash(app, delivery)}. "
            "Los campos de Twilio empiezan con mayúscula: Body, From, To."
        )
    if status == 403:
        return (
            "tu webhook rechazó (403) un mensaje bien firmado por Twilio. Valida con "
            "request.url, request.form y el Auth Token del sandbox (lab.settings."
            "twilio_auth_token), sin cambiar la URL."
        )
    if status != 200 or delivery.error == 11205:
        return f"a un mensaje bien firmado tu webhook respondió HTTP {status}. {delivery.note}"
    if kind == "text/plain":
        return (
            f"respondiste texto plano: {delivery.note} Funciona para un texto, pero el ejercicio "
            "pide TwiML: MessagingResponse().message(...) y Content-Type text/xml."
        )
    if delivery.error == 12300:
        return f'{delivery.note} Devuelve str(respuesta) con mimetype="text/xml".'
    if delivery.error in (12100, 12200):
        return (
            f"{delivery.note} Tu webhook devolvió {delivery.twiml[:60]!r}: arma la respuesta "
            "con MessagingResponse en lugar de escribir texto o XML a mano."
        )
    if delivery.error:
        return delivery.note
    wanted = expected_reply(MESSAGE)
    if delivery.replies != [wanted]:
        got = ", ".join(f"«{r}»" for r in delivery.replies) or "ningún mensaje"
        return f"Twilio entregó {got} y se esperaba un solo mensaje: «{wanted}»."
    return None


def _forgery_problem(url: str, signed: Delivery) -> str | None:
    """Requests that Twilio did not sign must get 403 from the student's code."""
    form = dict(signed.form)
    attempts = [
        (
            "un mensaje alterado (la firma de otro mensaje, con Body cambiado)",
            {**form, "Body": TAMPERED},
            {"X-Twilio-Signature": signed.headers["X-Twilio-Signature"]},
        ),
        ("una petición sin X-Twilio-Signature", form, {}),
        (
            "una firma inventada",
            form,
            {"X-Twilio-Signature": "bm8gc295IFR3aWxpbywgc29sbyBsbyBwYXJlemNv"},
        ),
    ]
    found = first_not_refused(url, [(w, {"data": d, "headers": h}) for w, d, h in attempts])
    if found is None:
        return None
    what, status = found
    if 200 <= status < 300:
        return (
            f"tu webhook aceptó {what} (HTTP {status}): cualquiera podría hacerse pasar por "
            "Twilio. Comprueba la firma con validator.validate(request.url, request.form, "
            'request.headers.get("X-Twilio-Signature", "")) y, si no es válida, abort(403).'
        )
    return (
        f"a {what} tu webhook respondió HTTP {status}; una firma que no coincide se rechaza "
        "con 403 (abort(403))."
    )


def check_whatsapp_webhook(app: Any, twilio: TwilioStandIn, phone: str) -> Outcome:
    """Exercise 1 of notebook 03: signed → «Recibí: …» in TwiML; anything unsigned → 403."""
    if is_placeholder(app):
        return Outcome.pending("crea my_app y su ruta POST /whatsapp en la celda de arriba.")
    if not hasattr(app, "url_map") or not hasattr(app, "test_client"):
        return Outcome.wrong(
            f"my_app debe ser una app de Flask (Flask(...)), no {type(app).__name__}."
        )
    view = view_of(app, PATH)
    if view is None:
        return Outcome.wrong(
            "tu app no tiene la ruta POST /whatsapp: decora tu función con "
            '@my_app.post("/whatsapp").'
        )
    if is_placeholder(view):
        return Outcome.pending(
            "escribe el cuerpo de la función de la ruta /whatsapp (reemplaza el `...`)."
        )
    with served(app) as server:
        url = server.url + PATH
        delivery = twilio.send_inbound(MESSAGE, from_=phone, url=url)
        if delivery.status_code is None:
            return Outcome.wrong(
                f"el teléfono {phone} no está unido al sandbox: {delivery.replies}"
            )
        problem = _answer_problem(app, delivery) or _forgery_problem(url, delivery)
    if problem:
        return Outcome.wrong(problem)
    return Outcome.ok(
        "Twilio entregó tu respuesta TwiML y tu webhook rechazó (403) los tres mensajes "
        "falsificados."
    )
