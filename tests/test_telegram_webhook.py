"""POST /webhooks/telegram over real HTTP, with the Telegram stand-in playing Telegram.

Each test runs on SQLite and on PostgreSQL. Replies are counted where Telegram would see
them: in the requests the stand-in received.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab_server import start
from lab_server.telegram import set_webhook, wait_replies
from lab_server.telegram.bot import HELP, MENU, MENU_TEXT, SAMPLE_PHOTO_URL
from lab_server.telegram.updates import parse_update, update_id_of
from lab_server.telegram.webhook import ensure_secret

from .conftest import make_settings
from .telegram_fuzz import JSON, NASTY_TEXT, UPDATES
from .telegram_spec import params_errors

HOOK = "https://lab-prueba.ngrok-free.app/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RESPONSES = {
    "default": "Respuesta por defecto.",
    "channels": {"telegram": {"response": "Respuesta del canal Telegram."}},
    "rules": [
        {"name": "saludo", "keywords": ["hola"], "response": "¡Hola desde las reglas!"},
        {"name": "retiro", "keywords": ["retiro"], "response": "Pasos del retiro."},
        {"name": "largo", "keywords": ["largo"], "response": "palabra " * 700},
    ],
}


@pytest.fixture
def lab(tmp_path, database_url):
    responses = tmp_path / "responses.json"
    responses.write_text(json.dumps(RESPONSES), encoding="utf-8")
    env = {"LAB_SANDBOX": "1", "LAB_PORT": "0", "DATABASE_URL": database_url}
    lab = start(settings=make_settings(tmp_path, LAB_RESPONSES=str(responses), **env), show=False)
    set_webhook(lab, url=HOOK)
    yield lab
    wait_replies(lab, 30)  # no reply outlives the database it writes to


@pytest.fixture
def tg(lab):
    return lab.sandbox["telegram"]


def post(lab, body, secret: str | None = "use-the-lab's") -> requests.Response:
    """POST to the webhook as Telegram would, with the lab's secret unless told otherwise."""
    headers = {"Content-Type": "application/json"}
    if secret == "use-the-lab's":
        secret = lab.settings.telegram_secret_token
    if secret is not None:
        headers[SECRET_HEADER] = secret
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(lab.local_webhook_urls["telegram"], data=data, headers=headers, timeout=10)


def sent(tg, method: str = "") -> list[dict]:
    """The parameters of every Bot API call the bot made (of `method`, if given)."""
    return [r.json for r in tg.requests_to("/" + method) if "/bot" in r.path]


def rows(lab, direction: str) -> list[dict]:
    return [
        m for m in reversed(lab.store.list_messages("telegram", 500)) if m["direction"] == direction
    ]


def test_a_text_and_a_photo_each_get_exactly_one_reply(lab, tg):
    assert tg.send_text("hola").attempts == (200,)
    wait_replies(lab)
    assert tg.send_photo(caption="mi horario").attempts == (200,)
    wait_replies(lab)
    ana = tg.user.id
    assert sent(tg, "sendMessage") == [
        {"chat_id": ana, "text": "¡Hola desde las reglas!"},
        {"chat_id": ana, "text": "📷 ¡Gracias por la foto! Me llegó en 1280×960 píxeles."},
    ]
    assert [r.path.rsplit("/", 1)[1] for r in tg.requests_to("/bot")] == [
        "setWebhook",
        "sendMessage",
        "sendMessage",
    ]
    incoming, outgoing = rows(lab, "in"), rows(lab, "out")
    assert [(m["body"], m["sender"], m["status"]) for m in incoming] == [
        ("hola", str(ana), "answered"),
        ("[foto] mi horario", str(ana), "answered"),
    ]
    assert incoming[1]["media"]["width"] == 1280 and incoming[0]["raw"]["message"]["text"] == "hola"
    assert [(m["recipient"], m["status"], m["in_reply_to"]) for m in outgoing] == [
        (str(ana), "sent", incoming[0]["external_id"]),
        (str(ana), "sent", incoming[1]["external_id"]),
    ]
    assert outgoing[0]["external_id"] == f"{ana}:{outgoing[0]['raw']['message_id']}"


def test_parameters_the_bot_sends_conform_to_the_spec(lab, tg):
    for text in ("/start", "hola", "/foto", "/menu"):
        tg.send_text(text)
        wait_replies(lab)
    tg.press_button("retiro")
    wait_replies(lab)
    calls = [(r.path.rsplit("/", 1)[1], r.json) for r in tg.requests_to("/bot")]
    assert [method for method, _ in calls] == [
        "setWebhook",
        "sendMessage",
        "sendMessage",
        "sendPhoto",
        "sendMessage",
        "answerCallbackQuery",
        "sendMessage",
    ]
    for method, params in calls:
        assert params_errors(method, params) == [], method


def test_the_same_update_twice_gets_one_reply(lab, tg):
    first = tg.send_text("hola")
    again = tg.repeat(first)
    assert first.attempts == again.attempts == (200,)
    assert post(lab, first.update).json() == {"ok": True, "duplicate": True}
    wait_replies(lab)
    assert len(sent(tg, "sendMessage")) == 1
    assert len(rows(lab, "in")) == 1


def test_concurrent_resends_get_one_reply(lab, tg):
    tg.send_text("hola")  # the chat exists
    wait_replies(lab)
    update = {
        "update_id": 999_000_001,
        "message": {
            "message_id": 50,
            "date": 1,
            "chat": tg.user.chat(),
            "from": tg.user.user(),
            "text": "hola de nuevo",
        },
    }
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(post(lab, update).status_code))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_replies(lab)
    assert statuses == [200] * 8
    assert len(sent(tg, "sendMessage")) == 2


@pytest.mark.parametrize("secret", [None, "", "adivinanza", "ñandú-ü"])
def test_a_missing_or_wrong_secret_is_403(lab, tg, secret):
    answer = post(lab, {"update_id": 5, "message": {"text": "hola"}}, secret=secret)
    assert answer.status_code == 403
    assert answer.json() == {
        "error": "Forbidden",
        "message": f"Falta el encabezado {SECRET_HEADER} o no coincide con el secreto del webhook.",
    }
    assert lab.store.count() == 0 and sent(tg, "sendMessage") == []


def test_without_any_secret_configured_the_webhook_refuses(tmp_path, database_url):
    lab = start(
        settings=make_settings(tmp_path, LAB_PORT="0", DATABASE_URL=database_url), show=False
    )
    answer = post(lab, {"update_id": 1}, secret=None)
    assert answer.status_code == 403
    assert "`lab-server telegram set-webhook`" in answer.json()["message"]
    secret, _ = ensure_secret(lab.settings)  # what set-webhook does: saved in the data folder
    assert post(lab, {"update_id": 1}, secret=secret).json() == {"ok": True}
    assert post(lab, {"update_id": 2}, secret="otro").status_code == 403


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"no es json", "El cuerpo no es JSON válido"),
        (b"\xff\xfe\x00", "El cuerpo no es JSON válido"),
        (b"[" * 100_000 + b"]" * 100_000, "El cuerpo no es JSON válido"),
        (b"[]", "Falta update_id"),
        (b'{"update_id": "7"}', "Falta update_id"),
        (b'{"update_id": true}', "Falta update_id"),
        (b'{"message": {"text": "hola"}}', "Falta update_id"),
    ],
)
def test_a_body_that_is_not_an_update_is_400(lab, body, message):
    answer = post(lab, body)
    assert answer.status_code == 400
    assert answer.json()["error"] == "Bad Request" and answer.json()["message"].startswith(message)


def test_a_body_over_one_megabyte_is_413(lab):
    answer = post(lab, {"update_id": 1, "message": {"text": "x" * (1024 * 1024)}})
    assert answer.status_code == 413


def test_huge_text_is_stored_and_answered(lab, tg):
    tg.send_text("primero")
    wait_replies(lab)
    text = "á" * 100_000  # 600 kB as Telegram escapes it, under the 1 MiB limit
    assert tg.send_text(text).attempts == (200,)
    wait_replies(lab)
    assert rows(lab, "in")[-1]["body"] == text
    assert sent(tg, "sendMessage")[-1]["text"] == "Respuesta del canal Telegram."


FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(body=UPDATES | JSON)
def test_fuzzed_bodies_never_get_a_5xx(lab, body):
    status = post(lab, json.dumps(body)).status_code
    assert status == (200 if update_id_of(body) is not None else 400), body


@FUZZ
@given(text=NASTY_TEXT | st.text(max_size=5000), chat_id=st.integers() | NASTY_TEXT | st.none())
def test_fuzzed_messages_are_stored_and_never_get_a_5xx(lab, text, chat_id):
    update = {
        "update_id": abs(hash((text, str(chat_id)))),
        "message": {"chat": {"id": chat_id}, "text": text},
    }
    assert post(lab, update).status_code == 200


@FUZZ
@given(
    secret=st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_categories=("Cc", "Zs")),
        max_size=300,
    )
)
def test_fuzzed_secrets_are_403(lab, secret):
    assert post(lab, {"update_id": 1}, secret=secret).status_code == 403


def test_after_fuzzing_the_worker_settles(lab, tg):
    for number in range(20):
        post(lab, {"update_id": number, "message": {"chat": {"id": number}, "text": "\x00"}})
    wait_replies(lab, 30)
    assert {m["status"] for m in rows(lab, "in")} == {"failed"}
    assert {m["status"] for m in rows(lab, "out")} == {"failed"}


def test_a_reply_telegram_rejects_is_recorded_as_failed(lab, tg):
    tg.send_text("hola")
    wait_replies(lab)
    tg.block()
    delivery = tg.send_text("hola otra vez")
    wait_replies(lab)
    assert delivery.attempts == (200,)  # Telegram got its 200: no resend loop
    incoming, outgoing = rows(lab, "in")[-1], rows(lab, "out")[-1]
    assert incoming["status"] == "failed"
    assert (outgoing["status"], outgoing["body"], outgoing["external_id"]) == (
        "failed",
        "¡Hola desde las reglas!",
        None,
    )
    assert outgoing["raw"] == {
        "error": "Telegram rechazó sendMessage (error 403): «Forbidden: bot was blocked by the "
        "user». La persona bloqueó al bot: no se le puede escribir hasta que lo desbloquee."
    }
    assert len(sent(tg, "sendMessage")) == 2
    info = requests.post(f"{tg.base_url}/bot{tg.token}/getWebhookInfo", timeout=5).json()
    assert info["result"]["pending_update_count"] == 0
    assert "no se pudo responder a la actualización" in lab.logs(50)


def test_a_failure_in_our_handler_is_recorded_and_still_200(lab, tg, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("el replier falló")

    monkeypatch.setattr(lab.context.replier, "answer", broken)
    delivery = tg.send_text("hola")
    wait_replies(lab)
    assert delivery.attempts == (200,)
    assert rows(lab, "in")[-1]["status"] == "failed"
    assert sent(tg, "sendMessage") == []
    assert "Telegram: error preparando la respuesta" in lab.logs(50)


def test_commands(lab, tg):
    def reply_to(text: str) -> dict:
        before = len(tg.requests_to("/bot"))
        tg.send_text(text)
        wait_replies(lab)
        new = tg.requests_to("/bot")[before:]
        assert len(new) == 1
        return {"method": new[0].path.rsplit("/", 1)[1], **new[0].json}

    ana = tg.user.id
    assert reply_to("/start") == {
        "method": "sendMessage",
        "chat_id": ana,
        "text": "¡Hola, Ana! 👋 Soy el bot del curso. Escríbeme tu pregunta o elige una opción:",
        "reply_markup": MENU,
    }
    assert reply_to("/help") == {"method": "sendMessage", "chat_id": ana, "text": HELP}
    assert reply_to("/ayuda") == {"method": "sendMessage", "chat_id": ana, "text": HELP}
    assert reply_to("/menu") == {
        "method": "sendMessage",
        "chat_id": ana,
        "text": MENU_TEXT,
        "reply_markup": MENU,
    }
    assert reply_to("/MENU@curso_lab_bot") == reply_to("/menu")
    assert reply_to("/foto") == {
        "method": "sendPhoto",
        "chat_id": ana,
        "photo": SAMPLE_PHOTO_URL,
        "caption": "Una foto de ejemplo: el bot la envía con sendPhoto y una URL pública.",
    }
    assert reply_to("/nada") == {
        "method": "sendMessage",
        "chat_id": ana,
        "text": f"No conozco el comando /nada.\n\n{HELP}",
    }


def test_buttons_are_acknowledged_and_answered(lab, tg):
    tg.send_text("/menu")
    wait_replies(lab)
    query = tg.press_button("retiro").update["callback_query"]
    wait_replies(lab)
    query_photo = tg.press_button("/foto").update["callback_query"]
    wait_replies(lab)
    calls = [(r.path.rsplit("/", 1)[1], r.json) for r in tg.requests_to("/bot")][2:]
    assert calls == [
        ("answerCallbackQuery", {"callback_query_id": query["id"]}),
        ("sendMessage", {"chat_id": tg.user.id, "text": "Pasos del retiro."}),
        ("answerCallbackQuery", {"callback_query_id": query_photo["id"]}),
        (
            "sendPhoto",
            {
                "chat_id": tg.user.id,
                "photo": SAMPLE_PHOTO_URL,
                "caption": "Una foto de ejemplo: el bot la envía con sendPhoto y una URL pública.",
            },
        ),
    ]
    assert [m["body"] for m in rows(lab, "in")][-2:] == ["[botón] retiro", "[botón] /foto"]


def test_documents_locations_and_contacts(lab, tg):
    tg.send_document("tarea.pdf")
    wait_replies(lab)
    tg.send_location(-16.5, -68.15)
    wait_replies(lab)
    tg.send_contact("+59170000000", "Beto")
    wait_replies(lab)
    assert [p["text"] for p in sent(tg, "sendMessage")] == [
        "📄 Recibí tu archivo «tarea.pdf».",
        "📍 Recibí tu ubicación: -16.50000, -68.15000.",
        "👤 Recibí el contacto de Beto.",
    ]


def test_edits_channel_posts_and_other_kinds_are_recorded_not_answered(lab, tg):
    first = tg.send_text("hola")
    wait_replies(lab)
    deliveries = [
        tg.edit_text(first, "hola, editado"),
        tg.post_in_channel("Mañana no hay clase"),
        tg.send_update({"message_reaction": {"chat": tg.user.chat(), "message_id": 1}}),
        tg.send_update({"poll": {"id": "1"}}),
    ]
    wait_replies(lab)
    assert [d.attempts for d in deliveries] == [(200,)] * 4
    assert [(m["body"], m["status"]) for m in rows(lab, "in")][1:] == [
        ("hola, editado", "ignored"),
        ("Mañana no hay clase", "ignored"),
        ("[message_reaction]", "ignored"),
        ("[poll]", "ignored"),
    ]
    assert len(sent(tg, "sendMessage")) == 1


def test_a_long_answer_is_split_for_telegram(lab, tg):
    tg.send_text("algo largo")
    wait_replies(lab)
    pieces = [p["text"] for p in sent(tg, "sendMessage")]
    assert len(pieces) == 2 and all(len(p) <= 4096 for p in pieces)
    assert " ".join(pieces) == ("palabra " * 700).strip()  # whitespace at the cuts is dropped


def test_the_history_is_the_conversation_before_the_message(lab, tg):
    tg.send_text("hola")
    wait_replies(lab)
    tg.send_text("¿y el retiro?")
    wait_replies(lab)
    bot = lab.context.app.extensions["telegram"]
    second = rows(lab, "in")[1]
    inbound = parse_update(second["raw"])
    history = bot.history(replace(inbound, row_id=second["id"]))
    assert [(m["direction"], m["body"]) for m in history] == [
        ("in", "hola"),
        ("out", "¡Hola desde las reglas!"),
    ]


def test_the_token_never_shows_in_logs_or_the_store(lab, tg):
    tg.send_text("/start")
    tg.block()
    tg.send_text("hola")
    wait_replies(lab)
    assert tg.token not in lab.logs(1000)
    assert tg.token not in json.dumps(lab.store.list_messages("telegram", 100), ensure_ascii=False)
    assert tg.token[-4:] in lab.logs(1000)  # masked, still recognisable
