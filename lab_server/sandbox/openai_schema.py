"""JSON that satisfies any JSON Schema a client sends: structured outputs and tool arguments.

Covers what OpenAI's structured outputs accept (platform.openai.com/docs/guides/structured-outputs,
"Supported schemas"): string, number, integer, boolean, object, array, enum, const, anyOf,
nullable types (`["string", "null"]` or `anyOf` with null), `$ref` to `$defs`/`definitions`
(recursion included), allOf, and the string/number/array bounds. An object whose key is a
network of the course gets a real-looking adaptation (`openai_model.adapt_post`).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

from .openai_model import MARK, NETWORK_LIMITS, Dice, adapt_post, network_rules, quoted

MAX_DEPTH = 6
FORMATS = {
    "date": "2026-03-15",
    "date-time": "2026-03-15T10:30:00Z",
    "time": "10:30:00",
    "email": "ana@example.com",
    "uri": "https://example.com/sandbox",
    "hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "duration": "PT15M",
}
KNOWN_NAMES = {
    "name": "Ana",
    "nombre": "Ana",
    "first_name": "Ana",
    "city": "La Paz",
    "ciudad": "La Paz",
    "location": "La Paz",
    "country": "Bolivia",
    "pais": "Bolivia",
    "país": "Bolivia",
    "language": "es",
    "idioma": "es",
    "currency": "BOB",
    "unit": "celsius",
}


class Filler:
    """Fills schemas for one request: `context` is the text the values are drawn from."""

    def __init__(
        self,
        root: dict,
        dice: Dice,
        context: str,
        system: str = "",
        news: tuple[str, str] | None = None,
        marked: bool = True,
    ) -> None:
        self.root = root
        self.dice = dice
        self.context = context
        self.system = system
        self.news = news
        self.marked = marked  # free text carries «[sandbox]» (not in tool arguments)
        self.entity = entity_in(context)

    def fill(self, schema: Any = None, name: str = "", depth: int = 0) -> Any:
        schema = self.root if schema is None else schema
        if not isinstance(schema, dict):
            return None
        if "$ref" in schema:
            if depth > MAX_DEPTH:
                return self.empty(schema)
            return self.fill(self.resolve(schema["$ref"]), name, depth + 1)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            values = [v for v in schema["enum"] if v is not None] or schema["enum"]
            return values[0] if self.dice.temperature <= 0 else self.dice.pick(values)
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                branches = [b for b in schema[key] if not _is_null(b)] or schema[key]
                if depth > MAX_DEPTH and len(branches) < len(schema[key]):
                    return None
                return self.fill(branches[0], name, depth + 1)
        if isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                part = self.resolve(part["$ref"]) if "$ref" in part else part
                for key, value in part.items():
                    if key == "properties":
                        merged.setdefault("properties", {}).update(value)
                    else:
                        merged.setdefault(key, value)
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return self.fill({**merged, **rest}, name, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"]
            if not kinds or depth > MAX_DEPTH:
                return None
            kind = kinds[0]
        if kind is None:
            kind = (
                "object" if "properties" in schema else "array" if "items" in schema else "string"
            )
        if kind == "object":
            return self.object(schema, name, depth)
        if kind == "array":
            return self.array(schema, name, depth)
        if kind == "integer":
            return int(self.number(schema, name, integer=True))
        if kind == "number":
            return self.number(schema, name, integer=False)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self.string(schema, name)

    def resolve(self, ref: str) -> dict:
        """A local `$ref` ("#/$defs/Name"); an unknown one fills as an empty object."""
        node: Any = self.root
        for part in ref.lstrip("#/").split("/") if ref.startswith("#") else []:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {"type": "object"}

    def empty(self, schema: dict) -> Any:
        """What ends a recursion: null when allowed, else an empty array or object."""
        target = self.resolve(schema["$ref"]) if "$ref" in schema else schema
        return [] if target.get("type") == "array" else None if _nullable(target) else {}

    def object(self, schema: dict, name: str, depth: int) -> dict:
        properties = schema.get("properties") or {}
        out: dict[str, Any] = {}
        for key, sub in properties.items():
            if key in NETWORK_LIMITS and isinstance(sub, dict) and self.news is not None:
                target = self.resolve(sub["$ref"]) if "$ref" in sub else sub
                if "text" in (target.get("properties") or {}):
                    out[key] = self.post(key, target, depth)
                    continue
            if depth >= MAX_DEPTH and key not in set(schema.get("required") or []):
                continue
            out[key] = self.fill(sub, key, depth + 1)
        if isinstance(out.get("text"), str) and "character_count" in out:
            out["character_count"] = len(out["text"])  # an honest count, as a good model gives
        return out

    def post(self, network: str, schema: dict, depth: int) -> dict:
        """A network's adapted post; fields the course does not define are filled plainly."""
        title, content = self.news or ("la noticia", "")
        fields = list(schema.get("properties") or {})
        rules = network_rules(self.system, network)
        post = adapt_post(network, title, content, rules, self.dice, fields)
        tags = (schema.get("properties") or {}).get("hashtags") or {}
        if isinstance(tags.get("maxItems"), int):
            post["hashtags"] = post.get("hashtags", [])[: tags["maxItems"]]
        out = {}
        for key in fields:
            out[key] = (
                post[key] if key in post else self.fill(schema["properties"][key], key, depth)
            )
        return out

    def array(self, schema: dict, name: str, depth: int) -> list:
        low = int(schema.get("minItems") or 0)
        high = schema.get("maxItems")
        count = max(low, 1 if depth >= MAX_DEPTH - 1 else 2)
        if isinstance(high, int):
            count = min(count, high)
        items = schema.get("items")
        prefix = schema.get("prefixItems") or []
        if isinstance(items, dict) and isinstance(items.get("enum"), list):
            values = list(dict.fromkeys(items["enum"]))
            return values[: max(1, min(count, len(values)))] if count else []
        out = [self.fill(p, name, depth + 1) for p in prefix][:count]
        singular = name[:-1] if name.endswith("s") else name
        while len(out) < count:
            value = self.fill(items if isinstance(items, dict) else {}, singular, depth + 1)
            if isinstance(value, str) and value in out:
                value = f"{value} {len(out) + 1}"
            out.append(value)
        return out

    def number(self, schema: dict, name: str, *, integer: bool) -> float:
        low = schema.get("minimum")
        if low is None and isinstance(schema.get("exclusiveMinimum"), (int, float)):
            low = schema["exclusiveMinimum"] + (1 if integer else 0.5)
        high = schema.get("maximum")
        if high is None and isinstance(schema.get("exclusiveMaximum"), (int, float)):
            high = schema["exclusiveMaximum"] - (1 if integer else 0.5)
        found = re.search(r"-?\d+(?:[.,]\d+)?", self.context)
        wanted = float(found.group().replace(",", ".")) if found else 3.0
        if name in ("character_count", "count", "total"):
            wanted = 0
        value = wanted
        if low is not None:
            value = max(value, low)
        if high is not None:
            value = min(value, high)
        step = schema.get("multipleOf")
        if isinstance(step, (int, float)) and step > 0:
            value = round(value / step) * step
            if low is not None and value < low:
                value += step
            if high is not None and value > high:
                value -= step
        return int(round(value)) if integer else float(value)

    def string(self, schema: dict, name: str) -> str:
        fmt = schema.get("format")
        if fmt == "uuid":
            return str(uuid.UUID(hashlib.md5(self.context.encode()).hexdigest()))
        if fmt in FORMATS:
            value = FORMATS[fmt]
        elif name.lower() in KNOWN_NAMES:
            value = self.entity or KNOWN_NAMES[name.lower()]
        elif name.lower() in ("query", "q", "search", "question", "pregunta", "texto", "input"):
            value = quoted(self.context, 80)
        elif name.lower() in ("hashtag", "tag"):
            value = "#Sandbox"
        else:
            label = name.replace("_", " ") or "texto"
            topic = self.entity or quoted(self.context, 40) or "tu pedido"
            value = f"{label}: {topic}"
            if self.marked:
                value = f"{MARK} {value}"
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and not _matches(pattern, value):
            value = next(
                (
                    c
                    for c in ("#Sandbox", "sandbox", "SANDBOX", "Sandbox", "123", "a", "A")
                    if _matches(pattern, c)
                ),
                value,
            )
        low, high = schema.get("minLength"), schema.get("maxLength")
        if isinstance(high, int) and len(value) > high:
            value = value[:high]
        if isinstance(low, int) and len(value) < low:
            value = value + "." * (low - len(value))
        return value


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return True


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null"


def _nullable(schema: dict) -> bool:
    kinds = schema.get("type")
    return (
        schema.get("nullable") is True
        or (isinstance(kinds, list) and "null" in kinds)
        or any(_is_null(b) for b in schema.get("anyOf") or [])
    )


def entity_in(text: str) -> str | None:
    """A proper name in the request ("¿Qué clima hace en La Paz?" -> "La Paz"), if any."""
    found = re.search(
        r"(?:\b(?:en|de|para|a|in|for|of|at|to|llamad[oa]|named|called)\s+)"
        r"((?:[A-ZÁÉÍÓÚÑ][\wáéíóúñ]+)(?:\s+[A-ZÁÉÍÓÚÑ][\wáéíóúñ]+)*)",
        text,
    )
    return found.group(1) if found else None


def json_in(text: str) -> Any:
    """The first JSON object written in `text` (a schema or an example), else None."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and value:
            return value
    return None


def schema_like(value: dict) -> dict:
    """A JSON Schema from what a prompt shows: a schema itself, or an example object."""
    if "properties" in value or value.get("type") == "object" or "$defs" in value:
        return value
    return {"type": "object", "properties": {k: _example_schema(v) for k, v in value.items()}}


def _example_schema(value: Any) -> dict:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, list):
        return {"type": "array", "items": _example_schema(value[0]) if value else {}}
    if isinstance(value, dict):
        return schema_like(value) if value else {"type": "object"}
    if value is None:
        return {"type": "null"}
    return {"type": "string"}
