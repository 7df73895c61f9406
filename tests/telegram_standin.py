"""The `standin` fixture the Telegram tests share: a Telegram stand-in of their own.

Import it into a test module (`from .telegram_standin import standin_fixture`) to use it
there as `standin`; the other name keeps the test arguments from shadowing the import.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab_server.sandbox.telegram import TelegramStandIn


@pytest.fixture(name="standin")
def standin_fixture() -> Iterator[TelegramStandIn]:
    box = TelegramStandIn()
    yield box
    box.stop()
