"""Checks for the exercises of notebooks 03, 04 and 06: the student's own webhooks,
responses.json rules, Telegram keyboards and prompt versions.

Each check returns an `Outcome` (pending, wrong or ok, with one Spanish sentence) and never
raises for anything the student wrote. The Otter checks in `instructor/source/` call them
and `Outcome.require()` turns the outcome into the student's line (docs/exercises.md).
"""

from __future__ import annotations

from .outcome import Outcome, is_placeholder

__all__ = ["Outcome", "is_placeholder"]
