"""Undo the encoding damage of the seed deck (../shared/seed/000_*.txt).

The seed's UTF-8 bytes were once decoded as Windows code page 1254 and re-encoded as UTF-8.
Encoding each line back to cp1254 gives the original bytes, except bytes that were dropped on
the way: the soft hyphen 0xAD (second byte of "í") and 0x8F, which cp1254 cannot carry (inside
the emoji 🏛️ and ⚙️).  Those are put back by hand: a lone 0xC3 gets its 0xAD back, and the two
damaged emoji are listed in HAND_FIXES.  Anything else that does not decode raises an error.

It prints the restored text; slides/00_conexion_twilio.md was made from it (the "Actualización"
notes, the presenter notes and the code block for the git line were added afterwards, by hand).

Usage: python slides/tools/restore_seed.py ../shared/seed/000_f16c5ad7ce9ec1f1.txt
"""

from __future__ import annotations

import re
import sys

# Damaged text -> original text, for sequences whose lost byte cannot be guessed safely.
HAND_FIXES = {
    "ğŸ›ï¸": "🏛️",  # F0 9F [8F] 9B EF B8 [8F]
    "âš™ï¸": "⚙️",  # E2 9A 99 EF B8 [8F]
}
_SPLIT = re.compile("(" + "|".join(re.escape(k) for k in HAND_FIXES) + ")")
_LONE_C3 = re.compile(rb"\xc3(?![\x80-\xbf])")


def restore_line(line: str) -> str:
    parts = []
    for piece in _SPLIT.split(line):
        if piece in HAND_FIXES:
            parts.append(HAND_FIXES[piece])
            continue
        raw = _LONE_C3.sub(b"\xc3\xad", piece.encode("cp1254"))  # í lost its soft hyphen
        parts.append(raw.decode("utf-8"))
    return "".join(parts)


def main(path: str) -> None:
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    sys.stdout.write("\n".join(restore_line(line) for line in text.split("\n")))


if __name__ == "__main__":
    main(sys.argv[1])
