"""Reading Updates: each kind the bot knows, and anything else without an exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import given

from lab_server.telegram.updates import Inbound, clean_json, parse_update, update_id_of

from .telegram_fuzz import UPDATES

CHAT = {"id": 42, "type": "private", "first_name": "Ana"}
USER = {"id": 42, "is_bot": False, "first_name": "Ana"}


def message(**content) -> dict:
    return {"message_id": 7, "from": USER, "chat": CHAT, "date": 1_700_000_000, **content}


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        (
            {"update_id": 1, "message": message(text="hola")},
            Inbound(1, "message", "text", 42, "hola", "hola", first_name="Ana"),
        ),
        (
            {
                "update_id": 2,
                "message": message(
                    photo=[
                        {"file_id": "s", "file_unique_id": "u1", "width": 90, "height": 68},
                        {"file_id": "b", "file_unique_id": "u2", "width": 1280, "height": 960},
                    ],
                    caption="mi horario",
                ),
            },
            Inbound(
                2,
                "message",
                "photo",
                42,
                "mi horario",
                "[foto] mi horario",
                {"type": "photo", "file_id": "b", "width": 1280, "height": 960},
                "Ana",
            ),
        ),
        (
            {
                "update_id": 3,
                "message": message(
                    document={"file_id": "d", "file_unique_id": "u", "file_name": "tarea.pdf"}
                ),
            },
            Inbound(
                3,
                "message",
                "document",
                42,
                "",
                "[documento tarea.pdf]",
                {"type": "document", "file_id": "d", "file_name": "tarea.pdf"},
                "Ana",
            ),
        ),
        (
            {"update_id": 4, "message": message(location={"latitude": -16.5, "longitude": -68})},
            Inbound(
                4,
                "message",
                "location",
                42,
                "",
                "[ubicación -16.50000, -68.00000]",
                {"type": "location", "latitude": -16.5, "longitude": -68.0},
                "Ana",
            ),
        ),
        (
            {
                "update_id": 5,
                "message": message(contact={"phone_number": "+591700", "first_name": "Beto"}),
            },
            Inbound(
                5,
                "message",
                "contact",
                42,
                "",
                "[contacto Beto +591700]",
                {"type": "contact", "phone_number": "+591700", "first_name": "Beto"},
                "Ana",
            ),
        ),
        (
            {"update_id": 6, "message": message(sticker={"file_id": "x"})},
            Inbound(6, "message", "other", 42, "", "[sticker]", first_name="Ana"),
        ),
        (
            {"update_id": 7, "edited_message": message(text="hola, editado")},
            Inbound(7, "edited_message", "text", 42, "hola, editado", "hola, editado", None, "Ana"),
        ),
        (
            {
                "update_id": 8,
                "channel_post": {
                    "message_id": 1,
                    "date": 1,
                    "chat": {"id": -100, "type": "channel"},
                    "text": "aviso",
                },
            },
            Inbound(8, "channel_post", "text", -100, "aviso", "aviso"),
        ),
        (
            {
                "update_id": 9,
                "callback_query": {
                    "id": "77",
                    "from": USER,
                    "message": message(text="Elige"),
                    "chat_instance": "1",
                    "data": "retiro",
                },
            },
            Inbound(
                9, "callback_query", "button", 42, "retiro", "[botón] retiro", None, "Ana", "77"
            ),
        ),
        (
            {"update_id": 10, "message_reaction": {"chat": CHAT}},
            Inbound(10, "message_reaction", "other", None, "", "[message_reaction]"),
        ),
        ({"update_id": 11}, Inbound(11, "empty", "other", None, "", "[empty]")),
    ],
)
def test_each_kind(update, expected):
    assert parse_update(update) == expected


@pytest.mark.parametrize(
    ("update", "answerable"),
    [
        ({"update_id": 1, "message": message(text="hola")}, True),
        ({"update_id": 1, "edited_message": message(text="hola")}, False),
        ({"update_id": 1, "message": {"text": "sin chat"}}, False),
        ({"update_id": 1, "message": message(text="x", chat={"id": "42"})}, False),
        ({"update_id": 1, "callback_query": {"data": "x", "message": message()}}, False),
    ],
)
def test_what_gets_an_answer(update, answerable):
    assert parse_update(update).answerable is answerable


def test_wrong_types_are_read_as_missing():
    update = {
        "update_id": 3,
        "message": {"chat": {"id": True}, "text": 5, "photo": "no", "location": {"latitude": "1"}},
    }
    assert parse_update(update) == Inbound(3, "message", "other", None, "", "[mensaje]")


def test_a_body_without_update_id_is_not_an_update():
    with pytest.raises(ValueError):
        parse_update({"message": message(text="hola")})


def test_clean_json_removes_what_databases_refuse():
    raw = json.loads('{"a\\u0000": ["x\\u0000y", "\\ud800z", NaN, 1.5, Infinity, {"n": null}]}')
    assert clean_json(raw) == {"a": ["xy", "?z", None, 1.5, None, {"n": None}]}


@given(update=UPDATES.filter(lambda u: update_id_of(u) is not None))
def test_any_shape_parses_without_an_exception(update):
    inbound = parse_update(clean_json(update))
    assert inbound.update_id == update["update_id"]
    assert isinstance(inbound.summary, str)
    json.dumps(inbound.media, allow_nan=False)  # storable as JSONB
