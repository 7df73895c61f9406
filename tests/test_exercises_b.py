"""The exercises of notebooks 03, 04 and 06: placeholder pending, solution passes, and each
expected mistake fails with its own Spanish sentence (lab_server/exercises/)."""

from __future__ import annotations

import hmac
import json
import shutil

import pytest
from flask import Flask, Response, abort, jsonify, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from lab_server import start
from lab_server.exercises import Outcome
from lab_server.exercises.responses_rule import check_rule
from lab_server.exercises.telegram import check_keyboard, check_telegram_webhook
from lab_server.exercises.whatsapp import check_whatsapp_webhook
from lab_server.sandbox.telegram import TelegramStandIn
from lab_server.sandbox.twilio import TwilioStandIn
from lab_server.telegram import BotAPI

from .conftest import ROOT, make_settings

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
    assert outcome.message.startswith("escribe el cuerpo")


def test_whatsapp_webhook_solution_passes(twilio):
    outcome = check_whatsapp_webhook(whatsapp_app(twilio.auth_token), twilio, PHONE)
    assert outcome == Outcome.ok(outcome.message), outcome.message
    assert outcome.message.startswith("Twilio entregó")


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


def test_require_turns_an_outcome_into_the_line_otter_reports():
    from lab_server.grading import Pending

    with pytest.raises(Pending, match="^completa tu regla$"):
        Outcome.pending("completa  tu\nregla").require()
    with pytest.raises(AssertionError, match="^tu webhook aceptó todo$"):
        Outcome.wrong("tu webhook aceptó todo").require()
    assert Outcome.ok("bien").require() == "bien"


def test_whatsapp_webhook_with_another_token_is_rejected_as_unsigned(twilio):
    outcome = check_whatsapp_webhook(whatsapp_app("0" * 32), twilio, PHONE)
    assert outcome.status == "wrong"
    assert "rechazó (403) un mensaje bien firmado" in outcome.message


def test_whatsapp_webhook_without_the_route(twilio):
    outcome = check_whatsapp_webhook(Flask("empty"), twilio, PHONE)
    assert outcome.status == "wrong" and "POST /whatsapp" in outcome.message
    outcome = check_whatsapp_webhook("not an app", twilio, PHONE)
    assert outcome.status == "wrong" and "app de Flask" in outcome.message


# -- notebook 06 -------------------------------------------------------------------


@pytest.fixture(scope="module")
def telegram():
    standin = TelegramStandIn()
    standin.send_text("/start")  # Ana has written to the bot, so it may write to her
    yield standin
    standin.stop()


@pytest.fixture(scope="module")
def bot(telegram):
    return BotAPI(telegram.token, telegram.base_url)


SECRET = "clase6_secreto-de-prueba"


def telegram_app(bot: BotAPI, variant: str = "solution") -> Flask:
    """The reference solution of notebook 06's exercise 1, or one mistake students make."""
    my_app = Flask("my_telegram_bot")

    @my_app.post("/telegram")
    def telegram_webhook():
        received = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if variant == "unchecked":
            valid = True
        elif variant == "prefix":
            valid = bool(received) and SECRET.startswith(received)
        else:
            valid = hmac.compare_digest(received.encode(), SECRET.encode())
        if not valid:
            abort(401 if variant == "401" else 403)
        update = request.get_json()
        message = update["mensaje"] if variant == "crash" else update["message"]
        if variant != "silent":
            text = "Gracias" if variant == "other-text" else f"Recibí: {message['text']}"
            bot.send_message(message["chat"]["id"], text)
        return {"ok": True}

    return my_app


def test_telegram_webhook_comparing_with_equals_is_caught(telegram, bot):
    my_app = Flask("my_telegram_bot")

    @my_app.post("/telegram")
    def telegram_webhook():
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
            abort(403)
        message = request.get_json()["message"]
        bot.send_message(message["chat"]["id"], f"Recibí: {message['text']}")
        return {"ok": True}

    outcome = check_telegram_webhook(my_app, telegram, SECRET, bot)
    assert outcome.status == "wrong"
    assert "compara el secreto con ==" in outcome.message


def test_telegram_webhook_placeholder_is_pending(telegram, bot):
    assert check_telegram_webhook(..., telegram, SECRET, bot).status == "pending"
    my_app = Flask("my_telegram_bot")

    @my_app.post("/telegram")
    def telegram_webhook(): ...

    assert check_telegram_webhook(my_app, telegram, SECRET, bot).status == "pending"


def test_telegram_webhook_solution_passes_and_the_lab_webhook_comes_back(telegram, bot):
    bot.call(
        "setWebhook", url="https://lab.example.org/webhooks/telegram", secret_token="labsecret"
    )
    outcome = check_telegram_webhook(telegram_app(bot), telegram, SECRET, bot)
    assert outcome.passed, outcome.message
    assert telegram.webhook.url == "https://lab.example.org/webhooks/telegram"
    assert telegram.webhook.secret == "labsecret"


@pytest.mark.parametrize(
    ("variant", "said"),
    [
        ("unchecked", "aceptó una petición sin el encabezado del secreto"),
        ("prefix", "aceptó el secreto sin su último carácter"),
        ("401", "respondió HTTP 401; se rechaza con 403"),
        ("crash", "falló (HTTP 500) con una entrega correcta: KeyError: 'mensaje'"),
        ("silent", "el bot le envió a Ana nada"),
        ("other-text", "el bot le envió a Ana «Gracias»"),
    ],
)
def test_telegram_webhook_mistakes_fail_with_their_own_sentence(telegram, bot, variant, said):
    outcome = check_telegram_webhook(telegram_app(bot, variant), telegram, SECRET, bot)
    assert outcome.status == "wrong"
    assert said in outcome.message


def keyboard_of(options):
    return {"inline_keyboard": [[{"text": t, "callback_data": d}] for t, d in options.items()]}


OPTIONS = {"📚 Retiro": "retiro", "📅 Calendario": "calendario", "🕘 Horario": "horario"}


def test_keyboard_placeholder_is_pending(telegram, bot):
    assert check_keyboard(..., OPTIONS, telegram, bot).status == "pending"
    assert check_keyboard(keyboard_of, ..., telegram, bot).status == "pending"


def test_keyboard_solution_passes(telegram, bot):
    outcome = check_keyboard(keyboard_of, OPTIONS, telegram, bot)
    assert outcome.passed, outcome.message
    assert "3 botones en 3 filas" in outcome.message
    one_row = {"inline_keyboard": [[row[0] for row in keyboard_of(OPTIONS)["inline_keyboard"]]]}
    outcome = check_keyboard(lambda options: one_row, OPTIONS, telegram, bot)
    assert "3 botones en 1 fila," in outcome.message


@pytest.mark.parametrize(
    ("options", "function", "said"),
    [
        ({**OPTIONS, "Otra": 5}, keyboard_of, "callback_data debe ser texto (str), no int: 5"),
        ({**OPTIONS, "Larga": "x" * 65}, keyboard_of, "admite de 1 a 64 bytes"),
        (OPTIONS, lambda o: [[{"text": t, "callback_data": d}] for t, d in o.items()], "clave"),
        (
            OPTIONS,
            lambda o: {"inline_keyboard": [{"text": t, "callback_data": d} for t, d in o.items()]},
            "lista de filas",
        ),
        (
            OPTIONS,
            lambda o: {
                "inline_keyboard": [
                    [{"text": t, "callback_data": d, "url": "https://x.org"}] for t, d in o.items()
                ]
            },
            "exactamente una acción",
        ),
        (
            OPTIONS,
            lambda o: {"inline_keyboard": [[{"text": t, "callback_data": t}] for t in o]},
            "un botón por opción",
        ),
        ({"solo": "una"}, keyboard_of, "3 opciones o más"),
    ],
)
def test_keyboard_mistakes_fail_with_their_own_sentence(telegram, bot, options, function, said):
    outcome = check_keyboard(function, options, telegram, bot)
    assert outcome.status == "wrong"
    assert said in outcome.message


# -- notebook 03, exercise 2 -------------------------------------------------------

RULE = """
{
  "name": "horario",
  "keywords": ["horario", "horarios"],
  "response": "🕘 Atendemos de lunes a viernes, de 8:00 a 12:00 y de 14:00 a 18:00."
}
"""


@pytest.fixture
def rules_lab(tmp_path):
    copy = tmp_path / "responses_03.json"
    shutil.copy(ROOT / "responses.json", copy)
    lab = start(
        port=0, sandbox=True, settings=make_settings(tmp_path, LAB_RESPONSES=str(copy)), show=False
    )
    lab.sandbox["twilio"].join(PHONE)
    yield lab, copy
    lab.stop()


def test_rule_placeholder_is_pending(rules_lab):
    lab, copy = rules_lab
    assert check_rule(..., copy, lab.sandbox["twilio"], PHONE).status == "pending"


def test_rule_solution_passes_also_when_run_again(rules_lab):
    lab, copy = rules_lab
    for _ in range(2):
        outcome = check_rule(RULE, copy, lab.sandbox["twilio"], PHONE)
        assert outcome.passed, outcome.message
    assert [r["name"] for r in json.loads(copy.read_text())["rules"]].count("horario") == 1


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (RULE.replace('18:00."', '18:00.",'), "tu regla (new_rule), línea 5: ¿una coma de más?"),
        (RULE.replace('"horarios"]', '"horarios",]'), "línea 4: ¿una coma de más?"),
        (RULE.replace('"horarios"],', '"horarios"]'), "línea 4: ¿falta una coma?"),
        (RULE.replace('["horario", "horarios"]', '"horario"'), "tu regla no cumple el formato"),
        (RULE.replace('"horario", ', ""), "falta «horario»"),
        (RULE.replace('"response"', '"respuesta"'), "tu regla no cumple el formato"),
        ({"name": "horario"}, "no un dict"),
    ],
)
def test_rule_mistakes_fail_with_their_own_sentence(rules_lab, text, said):
    lab, copy = rules_lab
    outcome = check_rule(text, copy, lab.sandbox["twilio"], PHONE)
    assert outcome.status == "wrong"
    assert said in outcome.message


def test_a_trailing_comma_in_the_file_itself_says_its_line(rules_lab):
    lab, copy = rules_lab
    text = copy.read_text(encoding="utf-8")
    broken = text.replace('"\n    }\n  ]\n}', '",\n    }\n  ]\n}')
    assert broken != text
    copy.write_text(broken, encoding="utf-8")
    comma_line = broken[: broken.rindex('",') + 2].count("\n") + 1
    outcome = check_rule(RULE, copy, lab.sandbox["twilio"], PHONE)
    assert outcome.status == "wrong"
    assert f"responses_03.json, línea {comma_line}: ¿una coma de más?" in outcome.message
    # and the server, which keeps answering with the last good version, logs the same
    lab.sandbox["twilio"].send_inbound("hola", from_=PHONE)
    assert f"línea {comma_line}: ¿una coma de más?" in lab.context.responses.last_error
