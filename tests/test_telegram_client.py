"""The Bot API client: results, Telegram's refusals as Spanish errors, and a token kept hidden."""

from __future__ import annotations

import threading

import pytest
from flask import Flask

from lab_server.errors import MissingCredentialError
from lab_server.sandbox.telegram import TelegramStandIn
from lab_server.serving import ServerThread
from lab_server.telegram import BotAPI, TelegramAPIError, TelegramConnectionError

from .conftest import make_settings
from .telegram_standin import standin_fixture  # noqa: F401 (the `standin` fixture)


@pytest.fixture
def bot(standin: TelegramStandIn) -> BotAPI:
    return BotAPI(standin.token, standin.base_url)


def serve(status: int, body: str, content_type: str = "application/json") -> ServerThread:
    """A server that answers every Bot API path with a fixed response."""
    app = Flask("fixed")
    app.add_url_rule(
        "/<path:path>",
        "any",
        lambda path: (body, status, {"Content-Type": content_type}),
        methods=["POST"],
    )
    return ServerThread(app)


def test_from_settings_reads_token_and_base(tmp_path, standin):
    settings = make_settings(
        tmp_path, TELEGRAM_BOT_TOKEN=standin.token, TELEGRAM_API_BASE=standin.base_url + "/"
    )
    bot = BotAPI.from_settings(settings)
    assert bot.base_url == standin.base_url
    assert bot.get_me()["username"] == "curso_lab_bot"


def test_missing_token_says_where_to_get_it(tmp_path):
    with pytest.raises(MissingCredentialError, match="@BotFather"):
        BotAPI.from_settings(make_settings(tmp_path))


def test_send_message_and_photo_return_messages(standin, bot):
    standin.send_text("hola")
    keyboard = {"inline_keyboard": [[{"text": "Sí", "callback_data": "si"}]]}
    sent = bot.send_message(standin.user.id, "¿Seguimos?", reply_markup=keyboard)
    assert sent["text"] == "¿Seguimos?" and sent["chat"]["id"] == standin.user.id
    photo = bot.send_photo(standin.user.id, "https://example.org/a.png", caption="Foto")
    assert photo["caption"] == "Foto"
    assert [r.json for r in standin.requests_to("/sendMessage")] == [
        {"chat_id": standin.user.id, "text": "¿Seguimos?", "reply_markup": keyboard}
    ]


def test_refusals_keep_telegram_words_and_add_what_to_do(standin, bot):
    with pytest.raises(TelegramAPIError) as info:
        bot.send_message(standin.user.id + 1, "hola")
    error = info.value
    assert (error.method, error.error_code) == ("sendMessage", 400)
    assert error.description == "Bad Request: chat not found"
    assert str(error) == (
        "Telegram rechazó sendMessage (error 400): «Bad Request: chat not found». "
        "Ese chat no le ha escrito al bot: pide a la persona que abra el bot y envíe /start."
    )


def fake_token(word: str, tail: str) -> str:
    """A token shaped like BotFather's, assembled here so no secret scanner mistakes it."""
    body = (word * 8)[: 33 - len(tail)] + tail
    return "123456789:" + "AA" + body


def test_a_wrong_token_never_shows_in_the_error(standin):
    token = fake_token("wrong", "ng12")
    bot = BotAPI(token, standin.base_url)
    with pytest.raises(TelegramAPIError) as info:
        bot.get_me()
    assert info.value.error_code == 401
    assert str(info.value) == (
        "Telegram rechazó getMe (error 401): «Unauthorized». "
        "El token no es válido: cópialo otra vez de @BotFather a TELEGRAM_BOT_TOKEN."
    )
    assert token not in repr(bot) and repr(bot).endswith(
        f"'••••••••ng12', base_url='{standin.base_url}')"
    )


def test_unreachable_api_masks_the_token_in_the_requests_error():
    closed = ServerThread(Flask("closed"))
    closed.stop()
    token = fake_token("secret", "et99")
    with pytest.raises(TelegramConnectionError) as info:
        BotAPI(token, closed.url).get_me()
    text = str(info.value)
    assert text.startswith(f"No se pudo conectar con la Bot API ({closed.url}) para getMe: ")
    assert "/bot••••••••et99/getMe" in text and token not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_slow_api_times_out():
    release = threading.Event()
    app = Flask("slow")
    app.add_url_rule("/<path:path>", "any", lambda path: str(release.wait(5)), methods=["POST"])
    slow = ServerThread(app)
    try:
        with pytest.raises(TelegramConnectionError, match=r"no respondió a getMe en 0 s"):
            BotAPI("1:x", slow.url, timeout=0.2).get_me()
    finally:
        release.set()
        slow.stop()


@pytest.mark.parametrize(
    ("status", "body", "content_type", "expected"),
    [
        (
            502,
            "<html>Bad Gateway</html>",
            "text/html",
            "respuesta HTTP 502 que no es de la Bot API",
        ),
        (200, '{"status": "ok"}', "application/json", "respuesta HTTP 200 que no es de la Bot API"),
        (
            429,
            '{"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7",'
            ' "parameters": {"retry_after": 7}}',
            "application/json",
            "Too Many Requests: retry after 7",
        ),
    ],
)
def test_answers_that_are_not_a_success(status, body, content_type, expected):
    server = serve(status, body, content_type)
    try:
        with pytest.raises(TelegramAPIError) as info:
            BotAPI("1:x", server.url).get_me()
    finally:
        server.stop()
    assert info.value.description == expected and info.value.error_code == status
    assert info.value.retry_after == (7 if status == 429 else None)
