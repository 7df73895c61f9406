"""Fixtures the third-party Telegram client tests share."""

from __future__ import annotations

import pytest

from lab_server.sandbox.telegram import TelegramStandIn

from ..telegram_standin import standin_fixture  # noqa: F401 (the `standin` fixture)


@pytest.fixture
def ana(standin: TelegramStandIn) -> int:
    """Ana's chat id; she writes first, so the bot may write to her (as in Telegram)."""
    standin.send_text("hola")
    return standin.user.id


def spans(entities) -> list[tuple[str, int, int]]:
    """(type, offset, length) of each entity object a client library returns."""
    return [(e.type, e.offset, e.length) for e in entities or []]
