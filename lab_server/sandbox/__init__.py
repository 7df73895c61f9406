"""The classroom sandbox: local stand-ins for every outside service the kit calls.

Students without accounts, and CI without internet, run every step of the course against
these. `LAB_SANDBOX=auto` stands in for each service whose credentials are missing,
`1` for every service, `0` for none.
"""

from __future__ import annotations

import dataclasses
import logging

from ..config import Settings
from .base import Recorded, StandIn
from .linkedin import LinkedInStandIn
from .meta import FacebookStandIn, InstagramStandIn
from .openai import OpenAIStandIn
from .telegram import TelegramStandIn
from .tiktok import TikTokStandIn
from .twilio import TwilioStandIn

log = logging.getLogger(__name__)

#: service name -> its stand-in class
STANDINS: dict[str, type[StandIn]] = {
    "twilio": TwilioStandIn,
    "openai": OpenAIStandIn,
    "telegram": TelegramStandIn,
    "linkedin": LinkedInStandIn,
    "facebook": FacebookStandIn,
    "instagram": InstagramStandIn,
    "tiktok": TikTokStandIn,
}


class Sandbox:
    """The stand-ins running for one lab server."""

    def __init__(self, standins: dict[str, StandIn]) -> None:
        self.standins = standins

    @classmethod
    def for_settings(cls, settings: Settings, mode: str) -> Sandbox | None:
        """Start the stand-ins `mode` calls for (see module docstring); None if there are none."""
        if mode == "0":
            return None
        names = [name for name in STANDINS if mode == "1" or settings.missing(name)]
        if not names:
            return None
        started: dict[str, StandIn] = {}
        try:
            for name in names:
                started[name] = STANDINS[name]()
        except BaseException:
            cls(started).stop()
            raise
        log.info("Sandbox activo para: %s", ", ".join(names))
        return cls(started)

    def apply(self, settings: Settings) -> Settings:
        """Settings pointed at the stand-ins, and marked as sandboxed for every display."""
        values: dict[str, str] = {}
        for standin in self.standins.values():
            values.update(standin.overrides())
        return dataclasses.replace(settings.with_values(values), sandboxed=frozenset(self.standins))

    def attach(self, webhook_urls: dict[str, str], public_base_url: str | None = None) -> None:
        for standin in self.standins.values():
            standin.attach(webhook_urls, public_base_url)

    def __getitem__(self, service: str) -> StandIn:
        return self.standins[service]

    def __contains__(self, service: str) -> bool:
        return service in self.standins

    def stop(self) -> None:
        for standin in self.standins.values():
            standin.stop()


__all__ = ["STANDINS", "Recorded", "Sandbox", "StandIn"]
