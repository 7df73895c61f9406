"""JSON Schemas for Telegram Bot API objects, built from the spec excerpt in specs/.

specs/telegram_bot_api.json lists each type's and method's fields as the official docs do
(name, types such as "Integer" or "Array of PhotoSize", required). `schema_for_type` and
`schema_for_params` turn those lists into JSON Schema: every listed type becomes a strict
object (no fields the spec does not name), a type the excerpt does not copy becomes "any
object". The response envelope is hand-derived from https://core.telegram.org/bots/api#making-requests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SPEC = json.loads((Path(__file__).parent / "specs" / "telegram_bot_api.json").read_text("utf-8"))

PRIMITIVES: dict[str, dict[str, Any]] = {
    "Integer": {"type": "integer"},
    "Float": {"type": "number"},
    "String": {"type": "string"},
    "Boolean": {"type": "boolean"},
    "True": {"const": True},
    "InputFile": {"type": "string"},  # in a JSON body: "attach://<name>"
}

#: {"ok": true, "result": ..., "description"?} or {"ok": false, "error_code", "description", ...}
ENVELOPE: dict[str, Any] = {
    "oneOf": [
        {
            "type": "object",
            "required": ["ok", "result"],
            "properties": {"ok": {"const": True}, "result": {}, "description": {"type": "string"}},
            "additionalProperties": False,
        },
        {
            "type": "object",
            "required": ["ok", "error_code", "description"],
            "properties": {
                "ok": {"const": False},
                "error_code": {"type": "integer"},
                "description": {"type": "string"},
                "parameters": {"$ref": "#/$defs/ResponseParameters"},
            },
            "additionalProperties": False,
        },
    ]
}


def _one_type(name: str) -> dict[str, Any]:
    if name.startswith("Array of "):
        return {"type": "array", "items": _one_type(name.removeprefix("Array of "))}
    if name in PRIMITIVES:
        return PRIMITIVES[name]
    if name in SPEC["types"]:
        return {"$ref": f"#/$defs/{name}"}
    return {"type": "object"}  # not copied into the excerpt


def _field(types: list[str]) -> dict[str, Any]:
    options = [_one_type(name) for name in types]
    return options[0] if len(options) == 1 else {"anyOf": options}


def _object(fields: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {f["name"]: _field(f["types"]) for f in fields},
        "required": [f["name"] for f in fields if f["required"]],
        "additionalProperties": False,
    }


def _definition(entry: dict[str, Any]) -> dict[str, Any]:
    if "subtypes" in entry:
        return {"anyOf": [_one_type(name) for name in entry["subtypes"]]}
    return _object(entry.get("fields", []))


DEFS = {name: _definition(entry) for name, entry in SPEC["types"].items()}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**schema, "$defs": DEFS})


def schema_for_type(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}", "$defs": DEFS}


def schema_for_params(method: str) -> dict[str, Any]:
    return {**_object(SPEC["methods"][method].get("fields", [])), "$defs": DEFS}


def errors(schema: dict[str, Any], value: Any) -> list[str]:
    """Every way `value` breaks `schema`, as readable lines (empty when it conforms)."""
    found = _validator(schema).iter_errors(value)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in found]


def type_errors(name: str, value: Any) -> list[str]:
    return errors(schema_for_type(name), value)


def params_errors(method: str, params: Any) -> list[str]:
    return errors(schema_for_params(method), params)


def result_errors(method: str, result: Any) -> list[str]:
    """How a method's `result` breaks the type the spec says it returns."""
    return errors(_field(SPEC["methods"][method]["returns"]), result)


def envelope_errors(answer: Any) -> list[str]:
    return errors(ENVELOPE, answer)
