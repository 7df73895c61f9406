"""The classroom sandbox: local stand-ins for every outside service the kit calls.

Students without accounts, and CI without internet, run every step of the course against
these. `LAB_SANDBOX=auto` stands in for each service whose credentials are missing,
`1` for every service, `0` for none.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from typing import Any

from ..config import Settings
from .base import Demo, DemoAccount, Recorded, StandIn
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


#: Settings a demo sets that name the account a post goes out from on a network.
ACCOUNT_SETTINGS = {"TELEGRAM_CHANNEL": "telegram"}


def connect_demo(tokens: Any, account: DemoAccount, now: Any) -> None:
    """Save a demo account as the OAuth flow would have, marked as a demo."""
    from ..oauth.providers import Connection

    expires = None if account.expires_in is None else now + timedelta(seconds=account.expires_in)
    tokens.save(
        Connection(
            account.provider,
            account.account_id,
            account.account_name,
            account.scopes,
            account.access_token,
            refresh_token=account.refresh_token,
            expires_at=expires,
            issued_at=now,
            extra={**account.extra, "demo": True},
        )
    )


class Sandbox:
    """The stand-ins running for one lab server."""

    def __init__(self, standins: dict[str, StandIn]) -> None:
        self.standins = standins
        #: what each stand-in brings so the pipeline works with no set-up (`install_demo`)
        self.demos: dict[str, Demo] = {name: s.demo() for name, s in standins.items()}

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
        for name, standin in self.standins.items():
            values.update(standin.overrides())
            values.update(self.demos[name].settings)
        contacts = tuple(c for demo in self.demos.values() for c in demo.contacts)
        return dataclasses.replace(
            settings.with_values(values),
            sandboxed=frozenset(self.standins),
            demo_contacts=contacts,
        )

    def install_demo(self, settings: Settings, store: Any) -> list[str]:
        """Connect each stand-in's demo account unless the student has their own (made through
        OAuth). Demo contacts travel in `settings.demo_contacts` (see `apply`) and are used only
        while no real contact is inside its window. Returns what was installed."""
        from ..oauth.tokens import TokenStore, utcnow

        tokens = TokenStore.for_settings(settings, store)
        now = utcnow()
        installed = []
        for demo in self.demos.values():
            for account in demo.accounts:
                if any(not c.extra.get("demo") for c in tokens.list(account.provider)):
                    continue
                connect_demo(tokens, account, now)
                installed.append(
                    f"{account.provider}: cuenta de demostración {account.account_name}"
                )
            for channel, address in demo.contacts:
                installed.append(f"{channel}: contacto de demostración {address}")
            for name, value in demo.settings.items():
                installed.append(f"{name}={value}")
        return installed

    def add_student(self, settings: Settings, store: Any, student: int) -> dict[str, str]:
        """Connect demo accounts of one more student (1, 2 …), as a class-wide lab holds every
        student's own: returns the post's `accounts` ({network: account}) that publish as them."""
        from ..oauth.tokens import TokenStore, utcnow

        if student < 1:
            raise ValueError("student starts at 1 (0 is the lab's own demo account)")
        tokens = TokenStore.for_settings(settings, store)
        now = utcnow()
        accounts = {}
        for standin in self.standins.values():
            demo = standin.demo(student)
            for account in demo.accounts:
                connect_demo(tokens, account, now)
                accounts[account.provider] = account.account_id
            for name, value in demo.settings.items():
                if name in ACCOUNT_SETTINGS:
                    accounts[ACCOUNT_SETTINGS[name]] = value
        return accounts

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


__all__ = ["STANDINS", "Demo", "DemoAccount", "Recorded", "Sandbox", "StandIn", "connect_demo"]
