"""A student's demo account of a social stand-in, connected in the kit's own token store.

A class-wide lab gives each student their own connected account (`StandIn.demo(student)`);
here each student gets their own data folder and `TokenStore`, as their own lab would, so
`lab_server.publish.publish` posts with exactly that account.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import lab_server.app  # noqa: F401  (registers the publishers `publish` uses)
from lab_server.config import Settings
from lab_server.oauth.tokens import TokenStore, utcnow
from lab_server.publish import Post, publish
from lab_server.sandbox import DemoAccount, StandIn, connect_demo

from .conftest import make_settings


@dataclass(frozen=True)
class Student:
    """One student's connected account and the lab settings that reach the stand-in."""

    account: DemoAccount
    settings: Settings
    tokens: TokenStore

    @property
    def token(self) -> str:
        return self.account.access_token

    def publish(self, text: str, image_url: str | None = None) -> Post:
        """Publish through the kit, with this student's connection."""
        return publish(
            self.account.provider, text, image_url, settings=self.settings, tokens=self.tokens
        )


def student(tmp_path: Path, standin: StandIn, number: int) -> Student:
    """Student `number`'s demo account of `standin`, saved in their own token store."""
    (account,) = standin.demo(number).accounts
    settings = make_settings(tmp_path / f"student{number}", **standin.overrides())
    tokens = TokenStore.for_settings(settings)
    connect_demo(tokens, account, utcnow())
    return Student(account, settings, tokens)
