"""Telegram's formatting options for the stand-in: text with markup -> text and MessageEntity.

Written from the Bot API documentation, https://core.telegram.org/bots/api#formatting-options
(HTML style, MarkdownV2 style, Markdown style), and from how the Bot API server behaves
(its parser is tdlib's `td/telegram/MessageEntity.cpp`, whose error texts are copied so a
student sees the same "can't parse entities" description in class and in production):

- offsets and lengths count UTF-16 code units (https://core.telegram.org/bots/api#messageentity);
- an entity with no text inside is dropped; entities come sorted by offset, longer first;
- a link whose URL Telegram would not accept is dropped, the text stays;
- then, as Telegram does, the text is trimmed and mentions, hashtags, bot commands, http(s)
  URLs and e-mail addresses are marked (`detect`); Telegram also marks bare domains, phone and
  card numbers, which the stand-in does not.

Not simulated: custom emoji ids are not checked, `tg://user?id=` links name only the users the
stand-in knows, and expandable block quotes (`**>`) are read as ordinary text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

#: MarkdownV2 characters that must be escaped outside code (the docs' list, plus new lines).
RESERVED_V2 = "_*[]()~`>#+-=|{}.!"
HTML_TAGS = frozenset(
    [
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    ]
)
HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
#: tdlib's names for entity types, used in its error messages.
NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
    "blockquote": "BlockQuote",
}
#: Sort order for entities that start and end together (outer first), as Telegram sends them.
PRIORITY = {
    "blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
#: Entities that automatic detection may not overlap.
SOLID = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})
WHITESPACE = " \t\r\n\v\f\x00"
USER_LINK = re.compile(r"tg://user\?id=(\d{1,20})")
DETECTORS = (
    ("url", re.compile(r"(?<![\w/@.])https?://[^\s<>\"]+[^\s<>\".,;:!?)\]'»]")),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("bot_command", re.compile(r"(?<![\w/<>])/\w{1,64}(?:@\w{3,32})?(?![\w/<>])", re.ASCII)),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{2,32}(?!\w)")),
    ("hashtag", re.compile(r"(?<![\w#])#(?=\w*[^\W\d_])\w{1,256}(?![\w#])")),
)

UserLookup = Callable[[int], "dict[str, Any] | None"]


class MarkupError(ValueError):
    """Markup Telegram cannot parse; the message is tdlib's, after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: what MessageEntity offsets and lengths count."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _byte_offset(text: str, index: int) -> int:
    """tdlib reports positions as UTF-8 byte offsets into the text it was given."""
    return len(text[:index].encode("utf-8", "surrogatepass"))


def checked_link(url: str) -> str | None:
    """The URL as Telegram keeps it in a text_link, or None when it would drop the link."""
    url = url.strip()
    if not url or any(c in url for c in WHITESPACE):
        return None
    if url.lower().startswith(("tg:", "ton:")):
        return url
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https", "ftp") or not parts.hostname:
        return None
    return url


@dataclass
class _Open:
    """An entity whose start has been read and whose end has not."""

    type: str
    at: int  # UTF-16 offset in the output
    source: int  # index in the input (for error messages)
    out: int  # length of the output so far (link text used as its own URL)
    argument: str = ""


@dataclass
class _Builder:
    """The output text, its UTF-16 length and the entities found so far."""

    lookup: UserLookup | None
    parts: list[str] = field(default_factory=list)
    length: int = 0
    entities: list[dict[str, Any]] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += utf16_len(text)

    def text(self) -> str:
        return "".join(self.parts)

    def close(self, entity: _Open) -> None:
        """Record `entity`, ending here, as Telegram would return it (or not at all)."""
        length = self.length - entity.at
        if length <= 0:
            return
        found: dict[str, Any] = {"type": entity.type, "offset": entity.at, "length": length}
        if entity.type == "text_link":
            url = entity.argument or self.text()[entity.out :]
            user = USER_LINK.fullmatch(url.strip())
            if user:
                known = self.lookup(int(user.group(1))) if self.lookup else None
                if known is None:
                    return
                found = {**found, "type": "text_mention", "user": known}
            else:
                link = checked_link(url)
                if link is None:
                    return
                found["url"] = link
        elif entity.type == "pre" and entity.argument:
            found["language"] = entity.argument
        elif entity.type == "custom_emoji":
            found["custom_emoji_id"] = entity.argument
        self.entities.append(found)


def parse_markdown_v2(text: str, lookup: UserLookup | None = None) -> tuple[str, list[dict]]:
    """https://core.telegram.org/bots/api#markdownv2-style"""
    out, stack, quote = _Builder(lookup), list[_Open](), False
    n, i = len(text), 0

    def unescaped(start: int, stop: str) -> tuple[str, int]:
        """Read a (url) part up to `stop`, undoing escapes; returns it and the index of `stop`."""
        chars, j = [], start
        while j < n and text[j] != stop:
            if text[j] == "\\" and j + 1 < n and 0 < ord(text[j + 1]) <= 126:
                j += 1
            chars.append(text[j])
            j += 1
        return "".join(chars), j

    def unfinished(entity: _Open) -> MarkupError:
        name = NAMES[entity.type]
        if entity.type == "pre" and entity.argument:
            name = "PreCode"
        return MarkupError(
            f"Can't find end of {name} entity at byte offset {_byte_offset(text, entity.source)}"
        )

    def reserved(char: str) -> MarkupError:
        return MarkupError(
            f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
        )

    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.add(text[i + 1])
            i += 2
            continue
        top = stack[-1] if stack else None
        in_code = top is not None and top.type in ("code", "pre")
        if c not in ("`" if in_code else RESERVED_V2 + "\n"):
            out.add(c)
            i += 1
            continue
        if top is not None and _ends(top.type, text, i, quote):
            if c == "\n" and top.type != "blockquote":
                raise unfinished(top)
            i += 1
            if top.type in ("underline", "spoiler"):
                i += 1
            elif top.type == "pre":
                i += 2
            elif top.type in ("text_link", "custom_emoji"):
                if text.startswith("(", i):
                    url, j = unescaped(i + 1, ")")
                    if j >= n:
                        what = "a URL" if top.type == "text_link" else "a custom emoji URL"
                        raise MarkupError(
                            f"Can't find end of {what} at byte offset {_byte_offset(text, i + 1)}"
                        )
                    top.argument, i = url, j + 1
                elif top.type == "custom_emoji":
                    raise MarkupError("Custom emoji entity must contain a tg://emoji URL")
                if top.type == "custom_emoji":
                    emoji = re.fullmatch(r"tg://emoji\?id=(\d+)", top.argument)
                    if not emoji:
                        raise MarkupError("Custom emoji URL must have an emoji identifier")
                    top.argument = emoji.group(1)
            elif top.type == "blockquote":
                out.add("\n")
                quote = False
            out.close(stack.pop())
            continue
        start = i
        if c == "\n":
            out.add("\n")
            i += 1
            if text.startswith(">", i):
                i += 1
                if not quote:
                    quote = True
                    stack.append(_Open("blockquote", out.length, start, len(out.text())))
            continue
        if c == ">" and i == 0:
            quote = True
            stack.append(_Open("blockquote", out.length, start, 0))
            i += 1
            continue
        kind, width, argument = _opening(text, i)
        if kind is None:
            raise reserved(c)
        i += width
        if kind == "pre":
            argument, i = _pre_header(text, i)
        stack.append(_Open(kind, out.length, start, len(out.text()), argument))
    if stack and stack[-1].type == "blockquote":
        out.close(stack.pop())
    if stack:
        raise unfinished(stack[-1])
    return out.text(), out.entities


def _ends(kind: str, text: str, i: int, quote: bool) -> bool:
    """Whether the character at `i` closes the innermost open entity `kind` (MarkdownV2)."""
    c, after = text[i], text[i + 1 : i + 3]
    if quote and c == "\n" and not after.startswith(">"):
        return True
    return {
        "bold": c == "*",
        "italic": c == "_" and not after.startswith("_"),
        "underline": c == "_" and after.startswith("_"),
        "strikethrough": c == "~",
        "spoiler": c == "|" and after.startswith("|"),
        "code": c == "`",
        "pre": c == "`" and after == "``",
        "text_link": c == "]",
        "custom_emoji": c == "]",
    }.get(kind, False)


def _opening(text: str, i: int) -> tuple[str | None, int, str]:
    """The MarkdownV2 entity starting at `i`, how many characters its mark takes, its argument."""
    c, after = text[i], text[i + 1 : i + 3]
    if c == "_":
        return ("underline", 2, "") if after.startswith("_") else ("italic", 1, "")
    if c == "|" and after.startswith("|"):
        return "spoiler", 2, ""
    if c == "!" and after.startswith("["):
        return "custom_emoji", 2, ""
    if c == "`":
        return ("pre", 3, "") if after == "``" else ("code", 1, "")
    simple = {"*": "bold", "~": "strikethrough", "[": "text_link"}
    return (simple[c], 1, "") if c in simple else (None, 0, "")


def _pre_header(text: str, i: int) -> tuple[str, int]:
    """After an opening ```: the language (up to the first space) and one new line are skipped."""
    end = i
    while end < len(text) and text[end] not in WHITESPACE + "`":
        end += 1
    language = ""
    if end != i and end < len(text) and text[end] != "`":
        language, i = text[i:end], end
    if text.startswith(("\r\n", "\n\r"), i):
        i += 2
    elif text.startswith(("\n", "\r"), i):
        i += 1
    return language, i


def parse_markdown(text: str, lookup: UserLookup | None = None) -> tuple[str, list[dict]]:
    """Legacy Markdown, https://core.telegram.org/bots/api#markdown-style: no nesting, only
    `_*`[` can be escaped, and a missing end mark names the byte where the entity started."""
    out, n, i = _Builder(lookup), len(text), 0
    ends = {"_": "_", "*": "*", "`": "`", "[": "]"}
    while i < n:
        c = text[i]
        if c == "\\" and text[i + 1 : i + 2] in ("_", "*", "`", "["):
            out.add(text[i + 1])
            i += 2
            continue
        if c not in ends:
            out.add(c)
            i += 1
            continue
        start, i = i, i + 1
        pre = c == "`" and text.startswith("``", i)
        language = ""
        if pre:
            language, i = _pre_header(text, i + 2)
        kind = {"_": "italic", "*": "bold", "[": "text_link"}.get(c, "pre" if pre else "code")
        entity = _Open(kind, out.length, start, len(out.text()), language)
        while i < n and not (text[i] == ends[c] and (not pre or text.startswith("``", i + 1))):
            out.add(text[i])
            i += 1
        if i >= n:
            raise MarkupError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(text, start)}"
            )
        i += 3 if pre else 1
        if kind == "text_link" and text.startswith("(", i):
            close = text.find(")", i)
            close = n if close < 0 else close
            entity.argument, i = text[i + 1 : close], close + 1
        out.close(entity)
    return out.text(), out.entities


def parse_html(text: str, lookup: UserLookup | None = None) -> tuple[str, list[dict]]:
    """https://core.telegram.org/bots/api#html-style: the supported tags, &lt; &gt; &amp; &quot;
    and numeric character references; an unknown `&name;` stays as it is."""
    out, stack, n, i = _Builder(lookup), list[_Open](), len(text), 0
    while i < n:
        c = text[i]
        if c == "&":
            char, i = _html_entity(text, i)
            out.add(char)
            continue
        if c != "<":
            out.add(c)
            i += 1
            continue
        start = i
        at = _byte_offset(text, start)
        if text.startswith("</", i):
            if not stack:
                raise MarkupError(f"Unexpected end tag at byte offset {at}")
            j = i + 2
            while j < n and text[j] not in WHITESPACE + ">":
                j += 1
            name = text[i + 2 : j].lower()
            while j < n and text[j] in WHITESPACE:
                j += 1
            if j >= n or text[j] != ">":
                raise MarkupError(f"Unclosed end tag at byte offset {at}")
            expected = stack[-1].type
            if name and name != expected:
                raise MarkupError(
                    f'Unmatched end tag at byte offset {at}, expected "</{expected}>", '
                    f'found "</{name}>"'
                )
            _close_tag(out, stack.pop())
            i = j + 1
            continue
        j = i + 1
        while j < n and text[j] not in WHITESPACE + ">":
            j += 1
        if j >= n:
            raise MarkupError(f"Unclosed start tag at byte offset {at}")
        name = text[i + 1 : j].lower()
        if name not in HTML_TAGS:
            raise MarkupError(f'Unsupported start tag "{name}" at byte offset {at}')
        attributes, i = _html_attributes(text, j, name, at)
        argument = ""
        if name == "a":
            argument = attributes.get("href", "")
        elif name == "code" and attributes.get("class", "").startswith("language-"):
            argument = attributes["class"].removeprefix("language-")
        elif name == "span":
            if attributes.get("class") != "tg-spoiler":
                raise MarkupError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        elif name == "tg-emoji":
            argument = attributes.get("emoji-id", "")
        stack.append(_Open(name, out.length, start, len(out.text()), argument))
    if stack:
        raise MarkupError(f"Can't find end tag corresponding to start tag {stack[-1].type}")
    for entity in out.entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    return out.text(), out.entities


def _html_entity(text: str, i: int) -> tuple[str, int]:
    """The character an HTML entity at `i` stands for, and where the text continues."""
    match = re.match(r"&(?:#x([0-9A-Fa-f]+)|#(\d+)|([A-Za-z]+));?", text[i:])
    if match:
        hexa, decimal, name = match.groups()
        code = int(hexa, 16) if hexa else int(decimal) if decimal else None
        if code is not None and 0 < code < 0x10FFFF and len(match.group(0).rstrip(";")) < 10:
            return chr(code), i + match.end()
        if name in HTML_ENTITIES:
            return HTML_ENTITIES[name], i + match.end()
    return "&", i + 1


def _html_attributes(text: str, i: int, tag: str, at: int) -> tuple[dict[str, str], int]:
    """Attributes from `i` to the tag's `>`; returns them and the index after `>`."""
    n, found = len(text), {}
    while True:
        while i < n and text[i] in WHITESPACE:
            i += 1
        if i >= n:
            raise MarkupError(f"Unclosed start tag at byte offset {at}")
        if text[i] == ">":
            return found, i + 1
        start = i
        while i < n and text[i] not in WHITESPACE + "=":
            i += 1
        name = text[start:i]
        if not name:
            raise MarkupError(f'Empty attribute name in the tag "{tag}" at byte offset {at}')
        while i < n and text[i] in WHITESPACE:
            i += 1
        if i >= n or text[i] != "=":
            raise MarkupError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {at}"
            )
        i += 1
        while i < n and text[i] in WHITESPACE:
            i += 1
        if i >= n:
            raise MarkupError(f'Unclosed start tag "{tag}" at byte offset {at}')
        if text[i] in "'\"":
            quote, i, chars = text[i], i + 1, []
            while i < n and text[i] != quote:
                if text[i] == "&":
                    char, i = _html_entity(text, i)
                    chars.append(char)
                    continue
                chars.append(text[i])
                i += 1
            i += 1
            value = "".join(chars)
        else:
            start = i
            while i < n and (text[i].isascii() and text[i].isalnum() or text[i] in ".-"):
                i += 1
            value = text[start:i].lower()
            if i < n and text[i] not in WHITESPACE + ">":
                raise MarkupError(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, start)}"
                )
        if i >= n:
            raise MarkupError(f"Unclosed start tag at byte offset {at}")
        found[name] = value


def _close_tag(out: _Builder, entity: _Open) -> None:
    """An HTML end tag: the entity its tag stands for (<pre><code class=...> is one pre)."""
    kinds = {
        "b": "bold",
        "strong": "bold",
        "i": "italic",
        "em": "italic",
        "u": "underline",
        "ins": "underline",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "tg-spoiler": "spoiler",
        "span": "spoiler",
        "a": "text_link",
        "tg-emoji": "custom_emoji",
        "blockquote": "blockquote",
    }
    length = out.length - entity.at
    last = out.entities[-1] if out.entities else None
    same = last is not None and (last["offset"], last["length"]) == (entity.at, length)
    if entity.type == "tg-emoji" and length > 0 and not entity.argument.isdigit():
        raise MarkupError("Invalid custom emoji identifier specified")
    if entity.type == "pre" and same and last["type"] == "code" and last.get("language"):
        last["type"] = "pre"
        return
    if entity.type == "code" and same and last["type"] == "pre" and entity.argument:
        last["language"] = entity.argument
        return
    kind = kinds.get(entity.type, entity.type)
    out.close(_Open(kind, entity.at, entity.source, entity.out, entity.argument))
    if kind == "code" and entity.argument and out.entities and out.entities[-1]["type"] == "code":
        out.entities[-1]["language"] = entity.argument  # removed at the end unless in a <pre>


PARSERS = {"html": parse_html, "markdownv2": parse_markdown_v2, "markdown": parse_markdown}


def _trim(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Telegram strips leading and trailing white space; entities are cut to what is left."""
    stripped = text.strip(WHITESPACE)
    if not stripped:
        return "", []
    lead = utf16_len(text[: len(text) - len(text.lstrip(WHITESPACE))])
    size = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def detect(text: str, entities: list[dict]) -> list[dict]:
    """Entities Telegram finds by itself; none may overlap code, pre or a link."""
    taken = [(e["offset"], e["offset"] + e["length"]) for e in entities if e["type"] in SOLID]
    found: list[dict] = []
    for kind, pattern in DETECTORS:
        for match in pattern.finditer(text):
            start = utf16_len(text[: match.start()])
            end = start + utf16_len(match.group(0))
            if all(end <= a or start >= b for a, b in taken):
                taken.append((start, end))
                found.append({"type": kind, "offset": start, "length": end - start})
    return sort_entities(found)


def sort_entities(entities: list[dict]) -> list[dict]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"], PRIORITY.get(e["type"], 50)))


def format_text(
    text: str, parse_mode: str | None, lookup: UserLookup | None = None
) -> tuple[str, list[dict]]:
    """The text and entities of the Message Telegram returns for `text` sent with `parse_mode`.

    Raises MarkupError for broken markup, and ValueError("unsupported parse_mode") for a mode
    Telegram does not know (https://core.telegram.org/bots/api#formatting-options).
    """
    mode = (parse_mode or "").lower()
    if mode and mode not in PARSERS:
        raise ValueError("unsupported parse_mode")
    plain, entities = PARSERS[mode](text, lookup) if mode else (text, [])
    plain, entities = _trim(plain, entities)
    return plain, sort_entities(entities + detect(plain, entities))
