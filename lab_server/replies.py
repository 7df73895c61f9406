"""What the bot answers: the one seam every channel calls.

Channels do not know where an answer comes from. Keyword rules from `responses.json`
come first (the course's deterministic answers); then, with LLM_REPLIES=1, the model.

The deadline: Twilio drops a webhook answer after 15 s, so the model gets LLM_TIMEOUT
seconds. If it is slower, the webhook answers at once with the fallback (the channel's
`responses.json` reply, or the LLM_ACK_TEXT acknowledgement) and the model's answer is
handed to `send_late` when it arrives, from the model's own thread. Either the webhook
or `send_late` gets the model's answer, never both, and `send_late` runs at most once.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from .config import Settings
from .errors import LabError
from .llm.chat import CHANNEL_LIMITS, DEFAULT_LIMIT, ChatModel, fit
from .responses import Answer, ResponseBook

log = logging.getLogger("lab_server.llm")

#: Sends a late answer through the channel's REST API (e.g. `send_whatsapp`).
LateSender = Callable[[str], None]
#: Model calls allowed in flight at once (a whole class writing at the same moment);
#: beyond that, answers come from responses.json.
MAX_PENDING = 64
#: Webhook threads allowed to wait for the model at once. The others hand the model's answer
#: over at once (to be sent late) instead of waiting, so waiting for a slow model never uses
#: up the server threads that accept new messages; `lab-server run` gives waitress this many
#: threads on top of its own.
MAX_WAITING = 24


class PendingReply:
    """A model call in a daemon thread whose result goes to exactly one taker.

    The webhook takes it if it arrives before the deadline; otherwise `hand_over()` gives
    it to a late handler, called once from the model's thread. One lock decides which.
    """

    def __init__(self, work: Callable[[], str]) -> None:
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self.text: str | None = None
        self.error: Exception | None = None
        self._late: Callable[[PendingReply], None] | None = None
        threading.Thread(  # in the caller's context, so its log lines keep their lab
            target=contextvars.copy_context().run,
            args=(self._run, work),
            name="llm-reply",
            daemon=True,
        ).start()

    def _run(self, work: Callable[[], str]) -> None:
        text, error = None, None
        try:
            text = work()
        except Exception as exc:  # reported to whoever takes the result
            error = exc
        with self._lock:
            self.text, self.error = text, error
            self._finished.set()
            late = self._late
        if late:
            late(self)

    def wait(self, timeout: float) -> bool:
        """True if the result arrived within `timeout` seconds."""
        return self._finished.wait(timeout)

    def hand_over(self, late: Callable[[PendingReply], None]) -> bool:
        """Give the result to `late`; False if it arrived meanwhile (then the caller keeps it)."""
        with self._lock:
            if self._finished.is_set():
                return False
            self._late = late
            return True


class Replier:
    """Chooses the answer to one inbound message."""

    def __init__(self, settings: Settings, responses: ResponseBook) -> None:
        self.settings = settings
        self.responses = responses
        self.model = ChatModel(settings)
        self._slots = threading.BoundedSemaphore(MAX_PENDING)
        self._waiting = threading.BoundedSemaphore(MAX_WAITING)

    @property
    def asks_model(self) -> bool:
        """Whether an answer may come from the model: slow, paid, maybe delivered late.

        Without it an answer is a lookup in responses.json, cheaper to repeat than to avoid.
        """
        return self.settings.llm_replies

    def answer(
        self,
        channel: str,
        text: str,
        *,
        history: Sequence[dict[str, Any]] = (),
        send_late: LateSender | None = None,
        deadline: float | None = None,
    ) -> Answer:
        """The answer to `text` on `channel`, by `deadline` (time.monotonic(); by default
        LLM_TIMEOUT seconds from now).

        `history` is the conversation so far (oldest first, from `Store.conversation`);
        `send_late` lets a slow model deliver its answer after the webhook has replied.
        """
        if deadline is None:
            deadline = time.monotonic() + self.settings.llm_timeout
        if not self.asks_model:
            return self.responses.reply_for(channel, text)
        rule = self.responses.match_rule(text)
        if rule:
            return rule
        if not self._slots.acquire(blocking=False):
            log.warning("Demasiadas respuestas del modelo en curso; se responde con responses.json")
            return self.responses.channel_reply(channel)

        def work() -> str:
            try:
                return self.model.reply(channel, text, history)
            finally:
                self._slots.release()

        pending = PendingReply(work)
        if self._wait(pending, deadline, can_leave=send_late is not None) or not (
            send_late and pending.hand_over(self._late_delivery(channel, send_late))
        ):
            return self._now(channel, pending)
        log.info(
            "El modelo tarda más de %.1f s: se responde ya y su respuesta se enviará después",
            self.settings.llm_timeout,
        )
        return (
            Answer(self.settings.llm_ack_text, "ack")
            if self.settings.llm_ack_text
            else (self.responses.channel_reply(channel))
        )

    def _wait(self, pending: PendingReply, deadline: float, can_leave: bool) -> bool:
        """Wait for the model until `deadline`, if a waiting place is free; True if it
        answered. Without a free place, an answer that can be sent late is not waited for."""
        left = max(0.0, deadline - time.monotonic())
        if not (
            self._waiting.acquire(blocking=False)
            if can_leave
            else self._waiting.acquire(timeout=left)
        ):
            return pending.wait(0)
        try:
            return pending.wait(max(0.0, deadline - time.monotonic()))
        finally:
            self._waiting.release()

    def _now(self, channel: str, pending: PendingReply) -> Answer:
        """The answer the webhook returns itself: the model's, or the fallback."""
        if pending.text is not None:
            return Answer(pending.text, "llm")
        if pending.error is not None:
            log.error("El modelo falló; se responde con responses.json: %s", _reason(pending.error))
        else:
            log.warning(
                "El modelo tardó más de %.1f s y el canal %s no envía respuestas tardías; "
                "se responde con responses.json",
                self.settings.llm_timeout,
                channel,
            )
        return self.responses.channel_reply(channel)

    def _late_delivery(self, channel: str, send_late: LateSender) -> Callable[[PendingReply], None]:
        """What runs once the slow model finishes: send its answer (or, after an
        acknowledgement, the fallback) through the channel; never retried."""
        limit = CHANNEL_LIMITS.get(channel, DEFAULT_LIMIT)

        def deliver(pending: PendingReply) -> None:
            if pending.error is not None:
                log.error("El modelo falló después del plazo: %s", _reason(pending.error))
                if not self.settings.llm_ack_text:
                    return  # the fallback already was the final answer
                text = self.responses.channel_reply(channel).text
            else:
                text = pending.text or ""
            try:
                send_late(fit(text, limit))
                log.info("Respuesta tardía enviada por %s", channel)
            except Exception as exc:
                log.error("No se pudo enviar la respuesta tardía por %s: %s", channel, exc)

        return deliver


def _reason(error: Exception) -> str:
    return str(error) if isinstance(error, LabError) else f"{type(error).__name__}: {error}"
