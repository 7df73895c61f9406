"""Reading a Telegram Update into the few facts the bot acts on.

An Update (https://core.telegram.org/bots/api#update) is an `update_id` and at most one
payload field. Nothing in it is trusted: a field that is missing or of the wrong type makes
an update that is stored but not answered, never an exception in the webhook.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: Update fields that carry a Message, and the one the bot answers.
MESSAGE_KINDS = ("message", "edited_message", "channel_post")
#: Message fields of content the bot does not read, named in the stored summary.
OTHER_CONTENT = ("sticker", "voice", "audio", "video", "video_note", "animation", "poll", "dice")


@dataclass(frozen=True)
class Inbound:
    """One update as the bot sees it."""

    update_id: int
    kind: str  # the Update's payload field ("message", "callback_query", ...) or "empty"
    content: str  # "text", "photo", "document", "location", "contact", "button" or "other"
    chat_id: int | None
    text: str  # the message text or caption, or the pressed button's callback_data
    summary: str  # what the store keeps as the message body
    media: dict[str, Any] | None = None
    first_name: str | None = None
    callback_id: str | None = None
    row_id: int | None = None  # the stored message's id, set by the webhook

    @property
    def answerable(self) -> bool:
        """New messages and button presses get an answer; edits and channel posts do not."""
        if self.chat_id is None:
            return False
        return self.kind == "message" or (self.kind == "callback_query" and bool(self.callback_id))


def clean_json(value: Any) -> Any:
    """`value` with what no database stores: NUL, lone surrogates and non-finite numbers.

    PostgreSQL refuses NUL in TEXT and JSONB, both databases refuse unpaired surrogates
    (`"\\ud800"` is valid JSON), and `NaN`/`Infinity` are not JSON at all for JSONB.
    """
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [clean_json(item) for item in value]
    if isinstance(value, dict):
        return {clean_json(key): clean_json(item) for key, item in value.items()}
    return value


def _obj(value: Any, key: str) -> dict[str, Any]:
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, dict) else {}


def _int(value: Any, key: str) -> int | None:
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def _str(value: Any, key: str) -> str | None:
    found = value.get(key) if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


def _number(value: Any, key: str) -> float | None:
    found = value.get(key) if isinstance(value, dict) else None
    if isinstance(found, (int, float)) and not isinstance(found, bool):
        return float(found)
    return None


def update_id_of(update: Any) -> int | None:
    """The update's `update_id`, or None when the body is not an Update."""
    return _int(update, "update_id")


def _photo(message: dict[str, Any]) -> dict[str, Any] | None:
    sizes = message.get("photo")
    sizes = [s for s in sizes if isinstance(s, dict)] if isinstance(sizes, list) else []
    if not sizes:
        return None
    largest = max(sizes, key=lambda s: (_int(s, "width") or 0) * (_int(s, "height") or 0))
    return {
        "type": "photo",
        "file_id": _str(largest, "file_id"),
        "width": _int(largest, "width") or 0,
        "height": _int(largest, "height") or 0,
    }


def _content(message: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None]:
    """(content, summary, media) of a Message."""
    text = _str(message, "text")
    if text is not None:
        return "text", text, None
    caption = _str(message, "caption") or ""
    photo = _photo(message)
    if photo:
        return "photo", f"[foto] {caption}".strip(), photo
    document = _obj(message, "document")
    if document:
        name = _str(document, "file_name") or "sin nombre"
        media = {"type": "document", "file_id": _str(document, "file_id"), "file_name": name}
        return "document", f"[documento {name}] {caption}".strip(), media
    location = _obj(message, "location")
    latitude, longitude = _number(location, "latitude"), _number(location, "longitude")
    if latitude is not None and longitude is not None:
        media = {"type": "location", "latitude": latitude, "longitude": longitude}
        return "location", f"[ubicación {latitude:.5f}, {longitude:.5f}]", media
    contact = _obj(message, "contact")
    phone = _str(contact, "phone_number")
    if phone is not None:
        name = _str(contact, "first_name") or ""
        media = {"type": "contact", "phone_number": phone, "first_name": name}
        return "contact", f"[contacto {name} {phone}]".replace("  ", " "), media
    other = next((key for key in OTHER_CONTENT if key in message), "mensaje")
    return "other", f"[{other}]", None


def parse_update(update: dict[str, Any]) -> Inbound:
    """The facts of an Update that has a valid `update_id` (see `update_id_of`)."""
    update_id = update_id_of(update)
    if update_id is None:
        raise ValueError("not a Telegram Update: no integer update_id")
    query = _obj(update, "callback_query")
    if query:
        data = _str(query, "data") or ""
        return Inbound(
            update_id,
            "callback_query",
            "button",
            chat_id=_int(_obj(_obj(query, "message"), "chat"), "id"),
            text=data,
            summary=f"[botón] {data}",
            first_name=_str(_obj(query, "from"), "first_name"),
            callback_id=_str(query, "id"),
        )
    kind = next((k for k in MESSAGE_KINDS if _obj(update, k)), None)
    if kind is None:
        other = next((key for key in update if key != "update_id"), "empty")
        return Inbound(update_id, other[:64], "other", None, "", f"[{other[:64]}]")
    message = _obj(update, kind)
    content, summary, media = _content(message)
    return Inbound(
        update_id,
        kind,
        content,
        chat_id=_int(_obj(message, "chat"), "id"),
        text=_str(message, "text") or _str(message, "caption") or "",
        summary=summary,
        media=media,
        first_name=_str(_obj(message, "from"), "first_name"),
    )
