"""Structured outputs: the stand-in answers JSON valid for any JSON Schema a client sends."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from lab_server.sandbox.openai_model import Dice
from lab_server.sandbox.openai_schema import Filler, json_in, schema_like

from .test_sandbox_openai import CHAT, post

NAMES = st.sampled_from(["name", "city", "count", "text", "tags", "score", "items", "note", "x"])
LEAVES = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={"minLength": st.integers(0, 5), "maxLength": st.integers(5, 40)},
    ),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["string"]),
            "format": st.sampled_from(["date", "date-time", "email", "uri", "uuid"]),
        }
    ),
    st.fixed_dictionaries(
        {"type": st.just("integer")},
        optional={"minimum": st.integers(-5, 5), "maximum": st.integers(6, 99)},
    ),
    st.fixed_dictionaries(
        {"type": st.just("number")},
        optional={"exclusiveMinimum": st.just(0), "maximum": st.just(1.5)},
    ),
    st.just({"type": "boolean"}),
    st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4, unique=True).map(
        lambda values: {"type": "string", "enum": values}
    ),
    st.just({"type": ["string", "null"]}),
    st.just({"anyOf": [{"type": "integer"}, {"type": "null"}]}),
    st.just({"$ref": "#/$defs/Person"}),
)
SCHEMAS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.dictionaries(NAMES, inner, min_size=1, max_size=4).map(
            lambda props: {
                "type": "object",
                "properties": props,
                "required": list(props),
                "additionalProperties": False,
            }
        ),
        st.builds(
            lambda items, low: {"type": "array", "items": items, "minItems": low},
            inner,
            st.integers(0, 3),
        ),
    ),
    max_leaves=10,
)
DEFS = {
    "Person": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "friend": {"anyOf": [{"$ref": "#/$defs/Person"}, {"type": "null"}]},
        },
        "required": ["name", "friend"],
        "additionalProperties": False,
    }
}


@settings(max_examples=150, deadline=None)
@given(schema=SCHEMAS, temperature=st.sampled_from([0, 1, 2]), said=st.text(max_size=40))
def test_filled_json_is_valid_for_the_schema(schema, temperature, said):
    root = {**schema, "$defs": DEFS}
    data = Filler(root, Dice([said], temperature), said).fill()
    errors = list(Draft202012Validator(root).iter_errors(data))
    assert not errors, (errors[0].message, data)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(schema=SCHEMAS.filter(lambda s: s.get("type") == "object"))
def test_structured_outputs_over_http_are_valid(openai_standin, schema):
    root = {**schema, "$defs": DEFS}
    body = {
        **CHAT,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "x", "strict": True, "schema": root},
        },
    }
    response = post(openai_standin, "/v1/chat/completions", body)
    content = response.json()["choices"][0]["message"]["content"]
    Draft202012Validator(root).validate(json.loads(content))


def test_json_written_in_a_prompt_is_found_as_schema_or_example():
    assert json_in('Responde así: {"a": 1} y nada más') == {"a": 1}
    assert json_in("sin json") is None
    example = schema_like({"ciudad": "", "habitantes": 0, "capital": True, "zonas": [""]})
    assert example["properties"]["habitantes"] == {"type": "integer"}
    assert example["properties"]["zonas"] == {"type": "array", "items": {"type": "string"}}
