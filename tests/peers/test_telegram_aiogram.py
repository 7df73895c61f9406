"""aiogram 3 against the Telegram stand-in, over real HTTP.

aiogram reaches a local Bot API server through `TelegramAPIServer.from_base(...)`
(https://docs.aiogram.dev/en/latest/api/session/custom_server.html).
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BotCommand, BufferedInputFile

from lab_server.sandbox.telegram import TelegramStandIn

from .conftest import spans


def run(standin: TelegramStandIn, steps):
    """Run `steps(bot)` with an aiogram Bot pointed at the stand-in."""

    async def main():
        session = AiohttpSession(api=TelegramAPIServer.from_base(standin.base_url))
        bot = Bot(standin.token, session=session)
        try:
            return await steps(bot)
        finally:
            await session.close()

    return asyncio.run(main())


def test_each_parse_mode_gives_telegram_entities(standin, ana):
    async def steps(bot: Bot):
        return (
            await bot.send_message(
                ana, '<a href="https://example.org">sitio</a> 🎓 <s>no</s>', parse_mode="HTML"
            ),
            await bot.send_message(ana, ">cita\n*fin*", parse_mode="MarkdownV2"),
            await bot.send_message(ana, "`x` y *y*", parse_mode="Markdown"),
        )

    html, v2, v1 = run(standin, steps)
    assert html.text == "sitio 🎓 no"
    assert spans(html.entities) == [("text_link", 0, 5), ("strikethrough", 9, 2)]
    assert v2.text == "cita\nfin"
    assert spans(v2.entities) == [("blockquote", 0, 5), ("bold", 5, 3)]
    assert spans(v1.entities) == [("code", 0, 1), ("bold", 4, 1)]


def test_broken_markup_is_telegrams_bad_request(standin, ana):
    async def steps(bot: Bot):
        with pytest.raises(TelegramBadRequest) as caught:
            await bot.send_message(ana, "__subrayado sin cerrar", parse_mode="MarkdownV2")
        return caught.value.message

    assert run(standin, steps) == (
        "Bad Request: can't parse entities: Can't find end of Underline entity at byte offset 0"
    )


def test_get_updates_long_polls(standin):
    async def steps(bot: Bot):
        loop = asyncio.get_running_loop()
        loop.call_later(0.5, lambda: loop.run_in_executor(None, standin.send_text, "buenas"))
        started = time.monotonic()
        updates = await bot.get_updates(timeout=10, request_timeout=15)
        return updates, time.monotonic() - started

    updates, waited = run(standin, steps)
    assert [u.message.text for u in updates] == ["buenas"]
    assert 0.4 < waited < 5


def test_uploads(standin, ana):
    async def steps(bot: Bot):
        photo = await bot.send_photo(ana, BufferedInputFile(b"\x89PNG foto", "foto.png"))
        doc = await bot.send_document(
            ana, BufferedInputFile(b"%PDF-1.4 apuntes", "apuntes.pdf"), caption="Apuntes"
        )
        by_id = await bot.send_photo(ana, photo.photo[-1].file_id)
        return photo, doc, by_id

    photo, doc, by_id = run(standin, steps)
    assert len(photo.photo) == 3 and len(by_id.photo) == 3
    assert (doc.document.file_name, doc.document.mime_type, doc.document.file_size) == (
        "apuntes.pdf",
        "application/pdf",
        16,
    )
    assert doc.caption == "Apuntes"


def test_webhook_info(standin):
    async def steps(bot: Bot):
        await bot.set_webhook(
            "https://bot.example.org:8443/tg", max_connections=100, allowed_updates=["message"]
        )
        return await bot.get_webhook_info()

    info = run(standin, steps)
    assert (info.url, info.max_connections, info.allowed_updates) == (
        "https://bot.example.org:8443/tg",
        100,
        ["message"],
    )


def test_commands_edit_delete_and_chat_action(standin, ana):
    async def steps(bot: Bot):
        await bot.set_my_commands([BotCommand(command="start", description="Empezar")])
        commands = await bot.get_my_commands()
        await bot.send_chat_action(ana, "typing")
        sent = await bot.send_message(ana, "uno")
        edited = await bot.edit_message_text(
            "<b>dos</b>", chat_id=ana, message_id=sent.message_id, parse_mode="HTML"
        )
        deleted = await bot.delete_message(ana, sent.message_id)
        return commands, edited, deleted

    commands, edited, deleted = run(standin, steps)
    assert [c.command for c in commands] == ["start"]
    assert edited.text == "dos" and spans(edited.entities) == [("bold", 0, 3)]
    assert deleted is True
    assert [s.method for s in standin.sent][-4:] == [
        "sendChatAction",
        "sendMessage",
        "editMessageText",
        "deleteMessage",
    ]


def test_methods_not_simulated(standin, ana):
    async def steps(bot: Bot):
        with pytest.raises(TelegramBadRequest) as caught:
            await bot.send_dice(ana)
        return caught.value.message

    assert "sendDice no está simulado en el sandbox de la clase" in run(standin, steps)
