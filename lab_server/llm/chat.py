"""Chat replies for the bots: the system prompt, the conversation so far, the user's text.

The user's text only ever goes in a `user` message, never into the system prompt, so a
message cannot rewrite the bot's instructions. Replies are cut to what the channel can
carry in one message (WhatsApp: 1,600 characters).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..config import Settings
from .client import LLMError, explain, make_client
from .prompts import BOT_PROMPT, render_prompt

if TYPE_CHECKING:  # imported when the first reply is asked for, not when the app starts
    from openai import OpenAI

#: Characters one message may carry on each channel (Twilio error 21617 above 1,600).
CHANNEL_LIMITS = {"whatsapp": 1600, "telegram": 4096}
DEFAULT_LIMIT = 1600
#: What the prompt asks for; the hard limit above is only a safety net.
TARGET_CHARS = 700
#: Caps a runaway answer; leaves room for the reasoning tokens some models spend first.
MAX_REPLY_TOKENS = 2048


def fit(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, at a word boundary when one is near, with «…»."""
    text = text.strip()
    if len(text) <= limit:
        return text
    if limit <= 1:
        return text[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 0.6:
        cut = cut[:space]
    return cut.rstrip() + "…"


def history_messages(
    history: Sequence[dict[str, Any]], text: str, keep: int
) -> list[dict[str, str]]:
    """The last `keep` stored messages as user/assistant turns, without the current one."""
    turns = [m for m in history if (m.get("body") or "").strip()]
    if turns and turns[-1].get("direction") == "in" and turns[-1]["body"].strip() == text.strip():
        turns = turns[:-1]  # the channel stored the message before asking for its answer
    turns = turns[-keep:] if keep > 0 else []
    return [
        {"role": "user" if m.get("direction") == "in" else "assistant", "content": m["body"]}
        for m in turns
    ]


def build_messages(
    channel: str, text: str, history: Sequence[dict[str, Any]], keep: int
) -> list[dict[str, str]]:
    """System prompt, then the conversation so far, then the new message."""
    limit = CHANNEL_LIMITS.get(channel, DEFAULT_LIMIT)
    system = render_prompt(BOT_PROMPT, canal=channel, max_caracteres=min(TARGET_CHARS, limit))
    return [
        {"role": "system", "content": system},
        *history_messages(history, text, keep),
        {"role": "user", "content": text},
    ]


class ChatModel:
    """The bot's model: one client per app, created on first use, shared by threads."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: OpenAI | None = None
        self._lock = threading.Lock()

    def client(self) -> OpenAI:
        with self._lock:
            if self._client is None:
                self._client = make_client(self.settings)
            return self._client

    def reply(self, channel: str, text: str, history: Sequence[dict[str, Any]] = ()) -> str:
        """The model's answer to `text`, fitted to the channel; raises `LLMError`."""
        import openai

        messages = build_messages(channel, text, history, self.settings.llm_history)
        try:
            completion = self.client().chat.completions.create(
                model=self.settings.openai_model,
                messages=messages,  # type: ignore[arg-type]
                max_completion_tokens=MAX_REPLY_TOKENS,
            )
        except openai.OpenAIError as exc:
            raise explain(exc, self.settings) from exc
        content = completion.choices[0].message.content if completion.choices else None
        if not content or not content.strip():
            model = self.settings.openai_model
            raise LLMError(f"El modelo «{model}» devolvió una respuesta vacía.")
        return fit(content, CHANNEL_LIMITS.get(channel, DEFAULT_LIMIT))
