"""Checks for the exercises of notebooks 03, 04 and 06: the student's own webhooks,
responses.json rules, Telegram keyboards and prompt versions.

Each check returns an `Outcome` (pending, wrong or ok, with one Spanish sentence) and never
raises for anything the student wrote, so a notebook runs to the end as shipped. The
notebook prints `outcome.line("Ejercicio 1")`; a grader turns the same outcome into points.
"""

from __future__ import annotations

from .outcome import Outcome, is_placeholder

__all__ = ["Outcome", "is_placeholder"]
