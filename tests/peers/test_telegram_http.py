"""The Telegram stand-in over plain HTTP: what no client library shows on its own.

Webhook replies (https://core.telegram.org/bots/api#making-requests-when-getting-updates),
allowed_updates on deliveries, reserved webhook addresses, the error shape for methods the
sandbox does not simulate, and fuzzed bad input that must get a 4xx, never a 5xx.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import requests
from flask import Flask, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab_server.sandbox import base, telegram
from lab_server.sandbox.telegram import TelegramStandIn
from lab_server.sandbox.telegram_entities import MarkupError, format_text
from lab_server.serving import ServerThread

from ..telegram_fuzz import JSON, NASTY_TEXT
from ..telegram_spec import envelope_errors, result_errors, type_errors

HOOK = "https://bot.example.org/webhooks/telegram"


def call(box: TelegramStandIn, method: str, **params):
    answer = requests.post(f"{box.base_url}/bot{box.token}/{method}", json=params, timeout=10)
    assert answer.headers["Content-Type"] == "application/json"
    body = answer.json()
    assert envelope_errors(body) == []
    return answer.status_code, body


class Bot:
    """A webhook that answers every update with `reply` in its HTTP response."""

    def __init__(self) -> None:
        self.reply: dict | None = None
        self.kinds: list[str] = []
        app = Flask("webhook")

        @app.post("/webhooks/telegram")
        def receive():
            update = request.get_json()
            self.kinds.append(next(k for k in update if k != "update_id"))
            return self.reply or ("", 200)

        self.server = ServerThread(app)


@pytest.fixture
def bot(standin: TelegramStandIn) -> Iterator[Bot]:
    webhook = Bot()
    standin.attach({"telegram": webhook.server.url + "/webhooks/telegram"})
    yield webhook
    webhook.server.stop()


def test_a_method_in_the_webhook_answer_is_run(standin, bot):
    call(standin, "setWebhook", url=HOOK)
    ana = standin.user.id
    bot.reply = {
        "method": "sendMessage",
        "chat_id": ana,
        "text": "<b>¡Hola!</b>",
        "parse_mode": "HTML",
    }
    assert standin.send_text("hola").delivered
    [message] = standin.bot_messages()
    assert message["text"] == "¡Hola!" and message["entities"][0]["type"] == "bold"
    assert result_errors("sendMessage", message) == []
    # a refused method is not reported back to the bot, and the delivery still counts
    bot.reply = {
        "method": "sendMessage",
        "chat_id": ana,
        "text": "*roto",
        "parse_mode": "MarkdownV2",
    }
    assert standin.send_text("otra vez").delivered
    assert len(standin.bot_messages()) == 1
    assert standin.transcript().splitlines() == ["Ana: hola", "Bot: ¡Hola!", "Ana: otra vez"]


def test_deliveries_honour_allowed_updates(standin, bot):
    call(standin, "setWebhook", url=HOOK, allowed_updates=["callback_query"])
    skipped = standin.send_text("no llega")
    assert skipped.filtered and skipped.attempts == () and bot.kinds == []
    call(standin, "setWebhook", url=HOOK, allowed_updates=[])  # [] = the default set again
    standin.send_text("sí llega")
    standin.send_update({"message_reaction": {"chat": standin.user.chat(), "message_id": 1}})
    assert bot.kinds == ["message"]  # reactions come only when asked for
    call(standin, "setWebhook", url=HOOK, allowed_updates=["message", "message_reaction"])
    standin.send_update({"message_reaction": {"chat": standin.user.chat(), "message_id": 1}})
    assert bot.kinds == ["message", "message_reaction"]
    info = call(standin, "getWebhookInfo")[1]["result"]
    assert info["allowed_updates"] == ["message", "message_reaction"]
    assert result_errors("getWebhookInfo", info) == []


@pytest.mark.parametrize(
    ("url", "reserved"),
    [
        ("https://127.0.0.1/hook", "127.0.0.1"),
        ("https://localhost:8443/hook", "127.0.0.1"),
        ("https://10.0.0.7/hook", "10.0.0.7"),
        ("https://[::1]/hook", "::1"),
    ],
)
def test_reserved_webhook_addresses_are_refused(standin, url, reserved):
    assert call(standin, "setWebhook", url=url) == (
        400,
        {
            "ok": False,
            "error_code": 400,
            "description": f"Bad Request: bad webhook: IP address {reserved} is reserved",
        },
    )
    assert standin.webhook is None


def test_a_lab_may_allow_its_own_loopback_host(standin, bot):
    standin.private_webhook_hosts.add("127.0.0.1")
    assert call(standin, "setWebhook", url="https://127.0.0.1/webhooks/telegram")[0] == 200
    assert standin.send_text("hola").delivered
    assert call(standin, "setWebhook", url="https://10.0.0.7/hook")[0] == 400


def test_unknown_and_unsimulated_methods_keep_telegrams_shape(standin):
    assert call(standin, "sendFax") == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    status, body = call(standin, "sendPoll", chat_id=1, question="¿?")
    assert status == 400 and body["description"].startswith("Bad Request: sendPoll no está")
    assert "sandbox de la clase" in body["description"]
    # a malformed token is a path Telegram does not know; a well-formed wrong one is 401
    answer = requests.get(f"{standin.base_url}/botnot-a-token/getMe", timeout=10)
    assert (answer.status_code, answer.json()["description"]) == (404, "Not Found")
    answer = requests.get(f"{standin.base_url}/bot123:abc/getMe", timeout=10)
    assert (answer.status_code, answer.json()["description"]) == (401, "Unauthorized")


def test_received_messages_carry_telegrams_entities(standin):
    delivery = standin.send_text("Escribe a @profe_bot o mira https://example.org #tarea")
    message = delivery.update["message"]
    assert [(e["type"], e["offset"], e["length"]) for e in message["entities"]] == [
        ("mention", 10, 10),
        ("url", 28, 19),
        ("hashtag", 48, 6),
    ]
    assert type_errors("Update", delivery.update) == []


def test_long_polls_are_released_by_a_new_update(standin):
    results: list[tuple[int, dict]] = []
    waiter = threading.Thread(
        target=lambda: results.append(call(standin, "getUpdates", timeout=20))
    )
    waiter.start()
    standin.send_text("ya")
    waiter.join(5)
    assert not waiter.is_alive()
    [(status, body)] = results
    assert status == 200 and [u["message"]["text"] for u in body["result"]] == ["ya"]


def test_request_logs_and_calls_are_bounded(monkeypatch):
    monkeypatch.setattr(base, "MAX_RECORDED", 5)
    monkeypatch.setattr(telegram, "MAX_KEPT", 3)
    box = TelegramStandIn()
    try:
        box.send_text("hola")
        for n in range(8):
            call(box, "sendMessage", chat_id=box.user.id, text=f"mensaje {n}")
        assert len(box.received) == 5 and box.received[-1].json["text"] == "mensaje 7"
        assert [s.result["text"] for s in box.sent] == ["mensaje 5", "mensaje 6", "mensaje 7"]
        assert len(box.chat_log) == 3
    finally:
        box.stop()


FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
#: The parameters the newly served methods read, filled with any JSON.
FIELDS = st.sampled_from(
    [
        "chat_id",
        "message_id",
        "text",
        "parse_mode",
        "entities",
        "caption",
        "caption_entities",
        "photo",
        "document",
        "action",
        "commands",
        "scope",
        "language_code",
        "reply_markup",
        "inline_message_id",
        "url",
        "max_connections",
        "allowed_updates",
        "ip_address",
        "offset",
        "limit",
    ]
)
METHODS = st.sampled_from(
    [
        "sendMessage",
        "editMessageText",
        "deleteMessage",
        "sendChatAction",
        "setMyCommands",
        "getMyCommands",
        "deleteMyCommands",
        "sendDocument",
        "sendPhoto",
        "getUpdates",
        "setWebhook",
        "getWebhookInfo",
    ]
)


@FUZZ
@given(method=METHODS, params=st.dictionaries(FIELDS, JSON, max_size=5), form=st.booleans())
def test_bad_input_gets_a_4xx_never_a_5xx(standin, method, params, form):
    standin.chats.setdefault(standin.user.id, standin.user.chat())
    url = f"{standin.base_url}/bot{standin.token}/{method}"
    if form:  # the same values as form fields, as multipart clients send them
        data = {k: v if isinstance(v, str) else repr(v) for k, v in params.items()}
        answer = requests.post(url, data=data, timeout=10)
    else:  # json.dumps, unlike requests' json=, writes NaN and Infinity as Python reads them
        headers = {"Content-Type": "application/json"}
        answer = requests.post(url, data=json.dumps(params), headers=headers, timeout=10)
    assert answer.status_code < 500
    assert envelope_errors(answer.json()) == []
    call(standin, "deleteWebhook")


@settings(max_examples=300, deadline=None)
@given(
    text=NASTY_TEXT | st.text(st.sampled_from("<>/&;\\_*~|[]()`!>#+-=.{}\nabc👋 \"'"), max_size=40),
    mode=st.sampled_from(["HTML", "MarkdownV2", "Markdown"]),
)
def test_any_markup_parses_or_is_refused_cleanly(text, mode):
    try:
        plain, entities = format_text(text, mode)
    except MarkupError:
        return
    size = len(plain.encode("utf-16-le", "surrogatepass")) // 2
    for entity in entities:
        assert entity["offset"] >= 0 and entity["length"] > 0
        assert entity["offset"] + entity["length"] <= size
