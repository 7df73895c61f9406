"""Text that XML 1.0 can carry: what a TwiML answer may hold.

XML 1.0 allows tab, newline, carriage return and the characters from U+0020 up, except the
surrogates and U+FFFE/U+FFFF (https://www.w3.org/TR/xml/#charsets). A model or a
responses.json rule can produce others (\\x0b, \\x0c, an ANSI \\x1b, U+FFFE), and one of
them makes the whole TwiML invalid: Twilio answers error 12100 and the user gets nothing.
"""

from __future__ import annotations

import re

#: Every character XML 1.0 forbids.
FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 forbids (the rest is kept as it is)."""
    return FORBIDDEN.sub("", text)
