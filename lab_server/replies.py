"""What the bot answers: the one seam every channel calls.

Channels do not know where an answer comes from. Today it is `responses.json`; the LLM
module plugs in behind the same `Replier.answer()` call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from .config import Settings
from .responses import Answer, ResponseBook

#: Sends a late answer through the channel's REST API (e.g. `send_whatsapp`).
LateSender = Callable[[str], None]


class Replier:
    """Chooses the answer to one inbound message."""

    def __init__(self, settings: Settings, responses: ResponseBook) -> None:
        self.settings = settings
        self.responses = responses

    def answer(
        self,
        channel: str,
        text: str,
        *,
        history: Sequence[dict[str, Any]] = (),
        send_late: LateSender | None = None,
    ) -> Answer:
        """The answer to `text` on `channel`.

        `history` is the conversation so far (oldest first, from `Store.conversation`);
        `send_late` lets a slow source deliver its answer after the webhook has replied.
        """
        return self.responses.reply_for(channel, text)
