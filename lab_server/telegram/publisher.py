"""Telegram as a publishing target of the pipeline: a post goes to one chat or channel.

TELEGRAM_CHANNEL is `@channelusername` (the bot must be an administrator of the channel) or
a chat's numeric id. https://core.telegram.org/bots/api#sendmessage

The Bot API has no idempotency key and no way to list what a bot sent, so the pipeline
cannot check an attempt whose outcome was lost: it fails such a publication as uncertain
rather than risk posting twice (docs/pipeline.md).
"""

from __future__ import annotations

from ..oauth.errors import PublishInputError
from ..publish import Post, PublishContext
from .client import MAX_TEXT, BotAPI

#: Telegram's limit for a photo caption.
MAX_CAPTION = 1024


def channel(ctx: PublishContext) -> str:
    """The chat the post goes to (also what Telegram's per-chat rate limit counts): the
    post's own chat, else TELEGRAM_CHANNEL."""
    return ctx.account or ctx.settings.require("TELEGRAM_CHANNEL")


def publish_post(text: str, image_url: str | None, ctx: PublishContext) -> Post:
    if len(text) > MAX_TEXT:
        raise PublishInputError(
            f"Telegram acepta como máximo {MAX_TEXT} caracteres; el texto tiene {len(text)}."
        )
    chat = channel(ctx)
    bot = BotAPI.from_settings(ctx.settings)
    if image_url and len(text) <= MAX_CAPTION:
        message = bot.send_photo(chat, image_url, caption=text)
    else:
        message = bot.send_message(chat, text)
    message_id = message["message_id"]
    username = (message.get("chat") or {}).get("username")
    url = f"https://t.me/{username}/{message_id}" if username else None
    return Post(network="telegram", id=f"{message['chat']['id']}:{message_id}", url=url)
