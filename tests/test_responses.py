import json
import os

import pytest

from lab_server import create_app
from lab_server.errors import ResponsesFileError
from lab_server.responses import ResponseBook, validate_responses

from .conftest import ROOT, make_settings


@pytest.fixture
def book_file(tmp_path):
    path = tmp_path / "responses.json"
    path.write_text((ROOT / "responses.json").read_text(encoding="utf-8"), encoding="utf-8")
    return path


def write(path, data):
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    # make sure the change is visible even on coarse file-system clocks
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_shipped_file_is_valid_and_has_every_channel():
    data = json.loads((ROOT / "responses.json").read_text(encoding="utf-8"))
    validate_responses(data)
    assert set(data["channels"]) >= {"facebook", "instagram", "linkedin", "whatsapp", "telegram"}
    assert {r["name"] for r in data["rules"]} >= {"saludo", "retiro", "ayuda"}


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("Hola!", "rule:saludo"),
        ("¿Cómo hago el RETIRO de materias?", "rule:retiro"),
        ("menú", "rule:ayuda"),
        ("MENU por favor", "rule:ayuda"),
        ("cholagogo", "channel"),  # "hola" inside another word is not a greeting
    ],
)
def test_rules_match_whole_words_ignoring_case_and_accents(book_file, text, source):
    assert ResponseBook(book_file).reply_for("whatsapp", text).source == source


def test_channel_reply_then_default(book_file):
    book = ResponseBook(book_file)
    data = json.loads(book_file.read_text(encoding="utf-8"))
    assert book.reply_for("whatsapp", "qué tal").text == data["channels"]["whatsapp"]["response"]
    assert book.reply_for("tiktok", "qué tal").text == data["default"]


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d.pop("default"), "raíz"),
        (lambda d: d["rules"][1].update(keywords=[]), "rules[1].keywords"),
        (lambda d: d["channels"].update(whatsap={"response": "x"}), "channels"),
        (lambda d: d["channels"]["whatsapp"].update(response=3), "channels.whatsapp.response"),
        (lambda d: d["rules"].append(dict(d["rules"][0])), "saludo"),
    ],
)
def test_broken_files_name_the_key(book_file, mutate, where):
    data = json.loads(book_file.read_text(encoding="utf-8"))
    mutate(data)
    write(book_file, data)
    with pytest.raises(ResponsesFileError, match=where.replace("[", r"\[").replace("]", r"\]")):
        ResponseBook(book_file)


def test_invalid_json_names_line_and_column(book_file):
    book_file.write_text(
        '{\n  "default": "hola",\n  "channels": {}\n  "rules": []\n}', encoding="utf-8"
    )
    # the comma is missing at the end of line 3, where the student must add it
    with pytest.raises(ResponsesFileError, match="línea 3: ¿falta una coma?"):
        ResponseBook(book_file)


def test_a_trailing_comma_names_the_line_of_the_comma(book_file):
    book_file.write_text(
        '{\n  "default": "hola",\n  "channels": {},\n  "rules": [],\n}', encoding="utf-8"
    )
    with pytest.raises(ResponsesFileError, match="línea 4: ¿una coma de más?"):
        ResponseBook(book_file)


def test_server_refuses_to_start_with_a_broken_file(tmp_path, book_file):
    book_file.write_text("{", encoding="utf-8")
    with pytest.raises(ResponsesFileError):
        create_app(make_settings(tmp_path, LAB_RESPONSES=str(book_file)))


def test_edits_are_used_by_the_next_message_without_restart(book_file):
    book = ResponseBook(book_file)
    data = json.loads(book_file.read_text(encoding="utf-8"))
    data["rules"].insert(0, {"name": "horario", "keywords": ["horario"], "response": "De 8 a 12."})
    write(book_file, data)
    assert book.reply_for("whatsapp", "¿cuál es el horario?").text == "De 8 a 12."


def test_a_broken_edit_keeps_the_last_good_answers(book_file):
    book = ResponseBook(book_file)
    before = book.reply_for("whatsapp", "hola").text
    book_file.write_text("{ roto", encoding="utf-8")
    os.utime(book_file, ns=(0, book_file.stat().st_mtime_ns + 2_000_000_000))
    assert book.reply_for("whatsapp", "hola").text == before
    assert "JSON inválido" in book.last_error
