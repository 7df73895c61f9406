"""pyTelegramBotAPI 4 (telebot) against the Telegram stand-in, over real HTTP.

telebot reaches a local Bot API server through `apihelper.API_URL`
(https://pytba.readthedocs.io/en/latest/sync_version/index.html, "Using local Bot API Server").
"""

from __future__ import annotations

import io
import threading
import time

import pytest
from telebot import TeleBot, apihelper, types
from telebot.apihelper import ApiTelegramException

from lab_server.sandbox.telegram import TelegramStandIn

from .conftest import spans


@pytest.fixture
def bot(standin: TelegramStandIn, monkeypatch: pytest.MonkeyPatch) -> TeleBot:
    monkeypatch.setattr(apihelper, "API_URL", standin.base_url + "/bot{0}/{1}")
    return TeleBot(standin.token, threaded=False)


def test_each_parse_mode_gives_telegram_entities(bot, ana):
    html = bot.send_message(ana, "<u>ojo</u> <code>x = 1</code> &lt;3", parse_mode="HTML")
    v2 = bot.send_message(
        ana, "~no~ `código` [web](https://example.org/a\\)b)", parse_mode="MarkdownV2"
    )
    v1 = bot.send_message(ana, "_cursiva_ ```py\nprint(1)```", parse_mode="Markdown")
    assert html.text == "ojo x = 1 <3"
    assert spans(html.entities) == [("underline", 0, 3), ("code", 4, 5)]
    assert v2.text == "no código web"
    assert spans(v2.entities) == [("strikethrough", 0, 2), ("code", 3, 6), ("text_link", 10, 3)]
    assert v2.entities[2].url == "https://example.org/a)b"
    assert v1.text == "cursiva print(1)"
    assert spans(v1.entities) == [("italic", 0, 7), ("pre", 8, 8)]
    assert v1.entities[1].language == "py"


def test_broken_markup_is_telegrams_bad_request(bot, ana):
    with pytest.raises(ApiTelegramException) as caught:
        bot.send_message(ana, "*sin cerrar", parse_mode="Markdown")
    assert caught.value.error_code == 400
    assert caught.value.description == (
        "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 0"
    )
    with pytest.raises(ApiTelegramException) as nested:
        bot.send_message(ana, "<b>uno <i>dos</b></i>", parse_mode="HTML")
    assert nested.value.description == (
        "Bad Request: can't parse entities: Unmatched end tag at byte offset 13, "
        'expected "</i>", found "</b>"'
    )


def test_get_updates_long_polls_and_offset_confirms(bot, standin):
    threading.Timer(0.5, standin.send_text, args=("¿hay clase?",)).start()
    started = time.monotonic()
    updates = bot.get_updates(long_polling_timeout=10, timeout=15)
    waited = time.monotonic() - started
    assert [u.message.text for u in updates] == ["¿hay clase?"]
    assert 0.4 < waited < 5
    started = time.monotonic()
    assert bot.get_updates(offset=updates[-1].update_id + 1, long_polling_timeout=1) == []
    assert time.monotonic() - started >= 0.9  # nothing new: held for the whole timeout


def test_uploads(bot, standin, ana):
    photo = bot.send_photo(
        ana, io.BytesIO(b"\xff\xd8 fake jpeg"), caption="*hola*", parse_mode="Markdown"
    )
    document = bot.send_document(ana, io.BytesIO(b"a,b\n1,2\n"), visible_file_name="datos.csv")
    assert len(photo.photo) == 3 and photo.caption == "hola"
    assert spans(photo.caption_entities) == [("bold", 0, 4)]
    assert document.document.file_name == "datos.csv"
    assert document.document.file_size == 8
    with pytest.raises(ApiTelegramException, match="file must be non-empty"):
        bot.send_document(ana, io.BytesIO(b""), visible_file_name="vacio.txt")


def test_webhook_info_and_allowed_updates(bot):
    assert bot.set_webhook(
        "https://bot.example.org/hook", max_connections=3, allowed_updates=["message"]
    )
    info = bot.get_webhook_info()
    assert (info.url, info.max_connections, info.allowed_updates) == (
        "https://bot.example.org/hook",
        3,
        ["message"],
    )
    with pytest.raises(ApiTelegramException) as private:
        bot.set_webhook("https://192.168.1.20/hook")
    assert (
        private.value.description == "Bad Request: bad webhook: IP address 192.168.1.20 is reserved"
    )


def test_commands_edit_delete_and_chat_action(bot, ana):
    assert bot.set_my_commands([types.BotCommand("menu", "Ver el menú")])
    assert [(c.command, c.description) for c in bot.get_my_commands()] == [("menu", "Ver el menú")]
    with pytest.raises(ApiTelegramException, match="BOT_COMMAND_INVALID"):
        bot.set_my_commands([types.BotCommand("Menu", "con mayúscula")])
    assert bot.send_chat_action(ana, "upload_document") is True
    with pytest.raises(ApiTelegramException, match="wrong parameter action in request"):
        bot.send_chat_action(ana, "dancing")
    sent = bot.send_message(ana, "v1")
    edited = bot.edit_message_text("v2", ana, sent.message_id)
    assert edited.text == "v2" and edited.message_id == sent.message_id
    assert bot.delete_message(ana, sent.message_id) is True
    with pytest.raises(ApiTelegramException, match="message to edit not found"):
        bot.edit_message_text("v3", ana, sent.message_id)


def test_methods_not_simulated(bot, ana):
    with pytest.raises(ApiTelegramException) as caught:
        bot.send_location(ana, -16.5, -68.15)
    assert caught.value.error_code == 400
    assert "sendLocation no está simulado en el sandbox de la clase" in caught.value.description
