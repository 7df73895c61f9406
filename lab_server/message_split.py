"""Cut a long answer into messages a provider accepts, on word boundaries.

An LLM answer easily passes Twilio's 1600-character limit (error 21617). Lengths are
counted in UTF-16 code units, the stricter of the two ways providers count, so a text full
of emoji never trips the limit either.
"""

from __future__ import annotations

#: Twilio's limit for the body of one message (error 21617 above it).
TWILIO_BODY_LIMIT = 1600


def _fitting_chars(text: str, limit: int) -> int:
    """How many leading characters of `text` fit in `limit` UTF-16 code units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def split_message(text: str, limit: int = TWILIO_BODY_LIMIT) -> list[str]:
    """`text` as consecutive parts of at most `limit` units, cut at the last whitespace.

    A single word longer than `limit` (a long URL) is cut inside the word. Whitespace at
    the cuts is dropped; whitespace inside a part (line breaks) is kept.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    rest = text.strip()
    while rest:
        fits = _fitting_chars(rest, limit)
        if fits == len(rest):
            parts.append(rest)
            break
        cut = fits  # rest[fits] is the first character that does not fit
        while cut > 0 and not rest[cut].isspace():
            cut -= 1
        if cut == 0:
            cut = max(fits, 1)  # one word longer than the limit (or one emoji with limit 1)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return parts
