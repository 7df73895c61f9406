"""What a running app holds: settings, store, canned answers and the replier."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from .config import Settings
from .journal import Keeper
from .replies import Replier
from .responses import ResponseBook
from .store import Store


@dataclass
class LabContext:
    """Kept in `app.extensions["lab"]`; `current_lab()` returns it inside a request."""

    app: Flask
    settings: Settings
    store: Store
    responses: ResponseBook
    replier: Replier
    keeper: Keeper

    def webhook_paths(self) -> dict[str, str]:
        """Channel name -> webhook path, for every blueprint with a `webhook` endpoint."""
        return {
            rule.endpoint.split(".")[0]: rule.rule
            for rule in self.app.url_map.iter_rules()
            if rule.endpoint.endswith(".webhook")
        }


def current_lab() -> LabContext:
    return current_app.extensions["lab"]
