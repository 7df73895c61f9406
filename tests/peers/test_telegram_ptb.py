"""python-telegram-bot 22 against the Telegram stand-in, over real HTTP.

PTB is pointed at the stand-in with `Bot(token, base_url=...)`, as its docs describe for a
local Bot API server (https://docs.python-telegram-bot.org/en/stable/telegram.bot.html).
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from telegram import Bot, BotCommand, MessageEntity
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, EndPointNotFound, RetryAfter

from lab_server.sandbox.telegram import TelegramStandIn

from .conftest import spans


def run(standin: TelegramStandIn, steps):
    """Run `steps(bot)` with a PTB Bot pointed at the stand-in."""

    async def main():
        async with Bot(standin.token, base_url=standin.base_url + "/bot") as bot:
            return await steps(bot)

    return asyncio.run(main())


def test_each_parse_mode_gives_telegram_entities(standin, ana):
    async def steps(bot: Bot):
        html = await bot.send_message(ana, "<b>Hola</b> 👋 <i>mundo</i>", parse_mode=ParseMode.HTML)
        v2 = await bot.send_message(
            ana, "*Nota* \\- __ojo__ 👋 ||spoiler||", parse_mode="MarkdownV2"
        )
        v1 = await bot.send_message(ana, "*negrita* y [enlace](https://example.org)", "Markdown")
        return html, v2, v1

    html, v2, v1 = run(standin, steps)
    assert html.text == "Hola 👋 mundo"
    # 👋 is two UTF-16 code units, so "mundo" starts at 8, not 7
    assert spans(html.entities) == [("bold", 0, 4), ("italic", 8, 5)]
    assert v2.text == "Nota - ojo 👋 spoiler"
    assert spans(v2.entities) == [("bold", 0, 4), ("underline", 7, 3), ("spoiler", 14, 7)]
    assert spans(v1.entities) == [("bold", 0, 7), ("text_link", 10, 6)]
    assert v1.entities[1].url == "https://example.org"
    assert v1.parse_entities(["text_link"]) == {v1.entities[1]: "enlace"}


def test_broken_markup_is_telegrams_bad_request(standin, ana):
    async def steps(bot: Bot):
        with pytest.raises(BadRequest) as dot:
            await bot.send_message(ana, "Versión 1.0", parse_mode="MarkdownV2")
        with pytest.raises(BadRequest) as tag:
            await bot.send_message(ana, "<p>hola</p>", parse_mode="HTML")
        return str(dot.value), str(tag.value)

    dot, tag = run(standin, steps)
    # PTB drops "Bad Request: " and capitalizes the rest (str.capitalize lowers the others)
    assert dot == (
        "Can't parse entities: character '.' is reserved and must be escaped with the "
        "preceding '\\'"
    )
    assert tag == 'Can\'t parse entities: unsupported start tag "p" at byte offset 0'
    assert standin.bot_messages() == []


def test_get_updates_long_polls_and_offset_confirms(standin):
    later = threading.Timer(0.5, standin.send_text, args=("/start",))

    async def steps(bot: Bot):
        started = time.monotonic()
        later.start()
        first = await bot.get_updates(timeout=10)
        waited = time.monotonic() - started
        again = await bot.get_updates(offset=first[-1].update_id + 1, timeout=0)
        return first, waited, again

    first, waited, again = run(standin, steps)
    assert [u.message.text for u in first] == ["/start"]
    assert first[0].message.entities == (MessageEntity("bot_command", 0, 6),)
    assert 0.4 < waited < 5  # held until the update came, not for the whole timeout
    assert again == ()
    assert standin.pending == []


def test_uploads_and_file_ids(standin, ana):
    async def steps(bot: Bot):
        photo = await bot.send_photo(
            ana, b"\x89PNG fake image", caption="<b>Mira</b>", parse_mode="HTML"
        )
        doc = await bot.send_document(ana, b"notas del curso", filename="notas.txt")
        again = await bot.send_document(ana, doc.document.file_id)
        return photo, doc, again

    photo, doc, again = run(standin, steps)
    assert photo.caption == "Mira" and spans(photo.caption_entities) == [("bold", 0, 4)]
    assert doc.document.file_name == "notas.txt" and doc.document.file_size == 15
    assert again.document.file_id == doc.document.file_id
    uploads = [s.params for s in standin.sent if s.method in ("sendPhoto", "sendDocument")]
    sizes = [
        value["size"] for params in uploads for value in params.values() if isinstance(value, dict)
    ]
    assert sizes == [15, 15]


def test_webhook_info_keeps_max_connections_and_allowed_updates(standin):
    async def steps(bot: Bot):
        await bot.set_webhook(
            "https://bot.example.org/webhooks/telegram",
            max_connections=7,
            allowed_updates=["message", "callback_query"],
        )
        return await bot.get_webhook_info()

    info = run(standin, steps)
    assert info.url == "https://bot.example.org/webhooks/telegram"
    assert info.max_connections == 7
    assert info.allowed_updates == ("callback_query", "message")


def test_commands_edit_delete_and_chat_action(standin, ana):
    async def steps(bot: Bot):
        await bot.set_my_commands([BotCommand("start", "Empezar"), BotCommand("ayuda", "Ayuda")])
        commands = await bot.get_my_commands()
        assert await bot.send_chat_action(ana, ChatAction.TYPING) is True
        sent = await bot.send_message(ana, "borrador")
        edited = await bot.edit_message_text(
            "*final*", ana, sent.message_id, parse_mode="MarkdownV2"
        )
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text("*final*", ana, sent.message_id, parse_mode="MarkdownV2")
        assert await bot.delete_message(ana, sent.message_id) is True
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(ana, sent.message_id)
        return commands, edited

    commands, edited = run(standin, steps)
    assert [(c.command, c.description) for c in commands] == [
        ("start", "Empezar"),
        ("ayuda", "Ayuda"),
    ]
    assert edited.text == "final" and edited.edit_date is not None
    assert spans(edited.entities) == [("bold", 0, 5)]


def test_methods_not_simulated_and_unknown_methods(standin, ana):
    async def steps(bot: Bot):
        with pytest.raises(BadRequest) as voice:
            await bot.send_voice(ana, b"OggS fake voice")
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("sendFax")
        return str(voice.value)

    voice = run(standin, steps)
    assert "sendvoice no está simulado en el sandbox de la clase" in voice.lower()


def test_a_full_channel_raises_retry_after(standin):
    channel = standin.demo(3).settings["TELEGRAM_CHANNEL"]

    async def steps(bot: Bot):
        sent = [await bot.send_message(channel, f"aviso {n}") for n in range(20)]
        with pytest.raises(RetryAfter) as caught:
            await bot.send_photo(channel, "https://example.org/f.jpg")
        return sent, caught.value

    sent, error = run(standin, steps)
    assert {m.chat.username for m in sent} == {"canal_estudiante_3"}
    wait = int(error.message.split("Retry in ")[1].split()[0])  # .retry_after changes type in v23
    assert 55 <= wait <= 60
