"""Cut a long answer into messages a provider accepts, on word boundaries.

Providers count a message's length differently: Twilio counts UTF-16 code units (an emoji
outside the Basic Multilingual Plane is two), Telegram counts characters. The unit and the
limit are parameters, so both channels share one splitter.
"""

from __future__ import annotations

from typing import Literal

#: How a provider measures a message: UTF-16 code units or Unicode characters.
Unit = Literal["utf16", "chars"]


def _width(char: str, unit: Unit) -> int:
    return 2 if unit == "utf16" and ord(char) > 0xFFFF else 1


def measure(text: str, unit: Unit = "utf16") -> int:
    """The length of `text` as a provider that counts in `unit` sees it."""
    return len(text.encode("utf-16-le")) // 2 if unit == "utf16" else len(text)


def _fitting_chars(text: str, limit: int, unit: Unit) -> int:
    """How many leading characters of `text` fit in `limit` units."""
    used = 0
    for index, char in enumerate(text):
        used += _width(char, unit)
        if used > limit:
            return index
    return len(text)


def split_message(text: str, limit: int, unit: Unit = "utf16") -> list[str]:
    """`text` as consecutive parts of at most `limit` units, cut at the last whitespace.

    A single word longer than `limit` (a long URL) is cut inside the word. Whitespace at
    the cuts is dropped; whitespace inside a part (line breaks) is kept.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    rest = text.strip()
    while rest:
        if measure(rest, unit) <= limit:  # the usual case: it all fits
            parts.append(rest)
            break
        fits = _fitting_chars(rest, limit, unit)
        cut = fits  # rest[fits] is the first character that does not fit
        while cut > 0 and not rest[cut].isspace():
            cut -= 1
        if cut == 0:
            cut = max(fits, 1)  # one word longer than the limit (or one emoji with limit 1)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return parts
