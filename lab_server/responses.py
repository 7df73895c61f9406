"""The bot's canned answers, read from `responses.json`.

The file is validated when the server starts, so a typo stops the start with a message
that names the key, instead of failing in the middle of a conversation. While the server
runs, an edited file is picked up by the next message; an edit that breaks the file is
reported in the log and the last good version keeps answering.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastjsonschema

from .errors import ResponsesFileError

CHANNELS = ("facebook", "instagram", "linkedin", "tiktok", "whatsapp", "telegram")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["default", "channels", "rules"],
    "additionalProperties": False,
    "properties": {
        "$schema": {"type": "string"},
        "default": {"type": "string", "minLength": 1},
        "channels": {
            "type": "object",
            "propertyNames": {"enum": list(CHANNELS)},
            "additionalProperties": {
                "type": "object",
                "required": ["response"],
                "additionalProperties": False,
                "properties": {"response": {"type": "string", "minLength": 1}},
            },
        },
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "keywords", "response"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "keywords": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "string", "minLength": 1},
                    },
                    "response": {"type": "string", "minLength": 1},
                },
            },
        },
    },
}

log = logging.getLogger(__name__)


class _WithoutMarks(dict):
    """A `str.translate` table that drops combining marks (the accents NFKD splits off).

    Each code point is looked up in `unicodedata` the first time it appears; after that,
    translating is a dictionary lookup per character, done in C. The table stops growing at
    `LIMIT` entries, so text full of rare characters cannot fill the memory.
    """

    LIMIT = 4096

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.combining(chr(code)) else code
        if len(self) < self.LIMIT:
            self[code] = kept
        return kept


_WITHOUT_MARKS = _WithoutMarks()


def fold(text: str) -> str:
    """Lower case without accents, so «Menú», «MENU» and «menu» match the same rule."""
    folded = text.casefold()
    if folded.isascii():
        return folded  # no accents to remove, and NFKD leaves ASCII as it is
    return unicodedata.normalize("NFKD", folded).translate(_WITHOUT_MARKS)


#: JSON Schema types in the words a student uses.
TYPE_NAMES = {
    "object": "un objeto {…}",
    "array": "una lista […]",
    "string": "un texto entre comillas",
}


def _where(path: list[str]) -> str:
    """A JSON path such as `rules[2].keywords` from the validator's `['data', 'rules', '2', …]`."""
    out = ""
    for part in path[1:]:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "(raíz del archivo)"


def json_problem(name: str, text: str, exc: json.JSONDecodeError) -> str:
    """Where a JSON file is broken, in Spanish, naming the likely slip (a comma too many or
    missing) at the line where the student must look, not where the parser gave up."""
    before = text[: exc.pos].rstrip()
    line = before.count("\n") + 1
    if before.endswith(",") and exc.msg.startswith(("Expecting value", "Expecting property")):
        return (
            f"{name}, línea {line}: ¿una coma de más? Después del último elemento de una lista "
            "o de un objeto JSON no va coma."
        )
    if exc.msg.startswith("Expecting ',' delimiter"):
        return f"{name}, línea {line}: ¿falta una coma? Separa cada elemento del siguiente con «,»."
    return (
        f"{name}: JSON inválido en la línea {exc.lineno}, columna {exc.colno}: {exc.msg}. "
        "Revisa comas y comillas."
    )


def _problem(error: fastjsonschema.JsonSchemaValueException) -> str:
    """What is wrong, in Spanish, from the rule the value broke."""
    rule, expected, value = error.rule, error.rule_definition, error.value
    if rule == "required":
        missing = [k for k in expected if isinstance(value, dict) and k not in value]
        return f"falta la clave «{missing[0] if missing else expected[0]}»"
    if rule == "type":
        return f"debe ser {TYPE_NAMES.get(expected, expected)}"
    if rule == "minLength":
        return "no puede estar vacío"
    if rule == "minItems":
        return f"necesita al menos {expected} elemento(s)"
    if rule == "additionalProperties":
        known = set(error.definition.get("properties", {}))
        extra = sorted(k for k in value if k not in known) if isinstance(value, dict) else []
        return f"tiene claves que no van: {', '.join(extra)}"
    if rule == "propertyNames":
        wrong = sorted(k for k in value if k not in CHANNELS) if isinstance(value, dict) else []
        return (
            f"canal desconocido «{wrong[0] if wrong else '?'}»; los válidos: {', '.join(CHANNELS)}"
        )
    return error.message


#: Compiled once: fastjsonschema turns the schema into Python code (jsonschema costs a second
#: to import, and the server validates this file at every start).
_check = fastjsonschema.compile(SCHEMA)


def validate_responses(data: Any) -> None:
    """Raise `ResponsesFileError` naming the first wrong key and what is wrong with it."""
    try:
        _check(data)
    except fastjsonschema.JsonSchemaValueException as error:
        raise ResponsesFileError(
            f"responses.json: en «{_where(error.path)}»: {_problem(error)}"
        ) from None
    names = [rule["name"] for rule in data["rules"]]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ResponsesFileError(f"responses.json: regla repetida en «rules»: {repeated[0]}")


@dataclass(frozen=True)
class Answer:
    """A canned answer and where it came from (`rule:<name>`, `channel` or `default`)."""

    text: str
    source: str


def compile_rules(data: dict[str, Any]) -> list[tuple[re.Pattern[str], Answer]]:
    """One pattern per rule: any of its keywords as a whole word, in folded text."""
    compiled = []
    for rule in data["rules"]:
        words = "|".join(re.escape(fold(k)) for k in rule["keywords"])
        pattern = re.compile(rf"(?<!\w)(?:{words})(?!\w)")
        compiled.append((pattern, Answer(rule["response"], f"rule:{rule['name']}")))
    return compiled


class ResponseBook:
    """`responses.json`, reloaded whenever the file changes on disk."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self.last_error: str | None = None
        self._load(self._read())
        self._stamp = self._stat()

    def _load(self, data: dict[str, Any]) -> None:
        self.data = data
        self._rules = compile_rules(data)

    def _stat(self) -> tuple[int, int]:
        st = self.path.stat()
        return (st.st_mtime_ns, st.st_size)

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ResponsesFileError(
                f"No se encontró {self.path}. Copia responses.json desde el repositorio del curso "
                "o indica otra ruta con LAB_RESPONSES."
            ) from None
        except UnicodeDecodeError as exc:
            raise ResponsesFileError(
                f"{self.path.name}: no está en UTF-8 ({exc.reason})."
            ) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ResponsesFileError(json_problem(self.path.name, text, exc)) from None
        validate_responses(data)
        return data

    def refresh(self) -> None:
        """Reload if the file changed; keep the last good content if the new one is broken."""
        try:
            stamp = self._stat()
        except OSError as exc:
            self.last_error = f"No se puede leer {self.path}: {exc.strerror}"
            return
        if stamp == self._stamp:
            return  # unchanged, the usual case: no lock needed
        with self._lock:
            if stamp == self._stamp:
                return  # another thread reloaded it meanwhile
            try:
                self._load(self._read())
                self.last_error = None
                log.info("responses.json recargado")
            except ResponsesFileError as exc:
                self.last_error = str(exc)
                log.error("%s (se siguen usando las respuestas anteriores)", exc)
            # Only now: a thread that sees the new stamp without the lock finds the new rules.
            self._stamp = stamp

    def match_rule(self, text: str) -> Answer | None:
        """The first rule with a keyword in `text` (whole words, ignoring case and accents)."""
        self.refresh()
        return self._match(text)

    def _match(self, text: str) -> Answer | None:
        words = fold(text)
        return next((answer for pattern, answer in self._rules if pattern.search(words)), None)

    def channel_reply(self, channel: str) -> Answer:
        """The channel's own reply, or the default when the channel has none."""
        self.refresh()
        return self._channel(channel)

    def _channel(self, channel: str) -> Answer:
        entry = self.data["channels"].get(channel)
        if entry:
            return Answer(entry["response"], "channel")
        return Answer(self.data["default"], "default")

    def reply_for(self, channel: str, text: str) -> Answer:
        """Keyword rules first, then the channel's reply, then the default."""
        self.refresh()
        return self._match(text) or self._channel(channel)
