"""The official `openai` library, for the calls the kit itself does not make, against the
OpenAI stand-in over real HTTP: what it gets must be what the real API gives."""

from __future__ import annotations

import json
from enum import Enum

import openai
import pytest
from openai import OpenAI
from pydantic import BaseModel, Field

MODEL = "gpt-5.4-mini"


@pytest.fixture
def client(openai_standin) -> OpenAI:
    return OpenAI(
        api_key=openai_standin.api_key,
        base_url=openai_standin.base_url + "/v1",
        max_retries=0,
        timeout=10,
    )


class Level(str, Enum):
    basic = "basic"
    advanced = "advanced"


class Speaker(BaseModel):
    name: str
    email: str | None
    confirmed: bool


class Session(BaseModel):
    title: str
    minutes: int = Field(ge=15, le=90)
    rating: float
    level: Level
    speakers: list[Speaker]
    host: Speaker
    room: str | None


class Agenda(BaseModel):
    event: str
    sessions: list[Session]


def test_chat_parse_fills_nested_refs_enums_nullables_and_arrays(client):
    completion = client.chat.completions.parse(
        model=MODEL,
        messages=[{"role": "user", "content": "La agenda de la Feria de Ingeniería"}],
        response_format=Agenda,
    )
    agenda = completion.choices[0].message.parsed
    assert isinstance(agenda, Agenda) and agenda.sessions
    session = agenda.sessions[0]
    assert 15 <= session.minutes <= 90 and isinstance(session.rating, float)
    assert isinstance(session.level, Level) and isinstance(session.host, Speaker)
    assert all(isinstance(s.confirmed, bool) for s in session.speakers)
    assert completion.choices[0].finish_reason == "stop"


def test_responses_parse_returns_the_pydantic_object(client):
    response = client.responses.parse(
        model=MODEL, input="Un orador para la feria", text_format=Speaker
    )
    assert isinstance(response.output_parsed, Speaker)
    assert Speaker.model_validate_json(response.output_text) == response.output_parsed


def test_responses_stream_events_in_the_documented_order(client):
    with client.responses.create(model=MODEL, input="¿Qué es un LLM?", stream=True) as stream:
        events = list(stream)
    kinds = [e.type for e in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == events[-1].response.output_text and deltas.startswith("[sandbox] ")


def test_responses_stream_helper_accumulates_a_parsed_object(client):
    with client.responses.stream(model=MODEL, input="Un orador", text_format=Speaker) as stream:
        final = stream.get_final_response()
    assert isinstance(final.output_parsed, Speaker)


def test_chat_stream_usage_is_null_until_the_last_chunk(client):
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "hola"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


def test_n_choices(client):
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "¿Qué es un LLM?"}],
        n=3,
        temperature=1.5,
    )
    assert [c.index for c in completion.choices] == [0, 1, 2]
    assert len({c.message.content for c in completion.choices}) > 1


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city", "unit", "days"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}


@pytest.mark.parametrize(
    "choice", ["required", {"type": "function", "function": {"name": "get_weather"}}]
)
def test_forced_tool_choice_returns_schema_valid_tool_calls(client, choice):
    from jsonschema import validate

    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "hola"}],
        tools=[WEATHER],
        tool_choice=choice,
    )
    assert completion.choices[0].finish_reason == "tool_calls"
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and call.id.startswith("call_")
    validate(json.loads(call.function.arguments), WEATHER["function"]["parameters"])


def test_auto_calls_the_tool_only_when_asked_for_what_it_does(client):
    def ask(text):
        return client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": text}], tools=[WEATHER]
        ).choices[0]

    asked = ask("What is the weather in La Paz?")
    assert asked.finish_reason == "tool_calls"
    assert json.loads(asked.message.tool_calls[0].function.arguments)["city"] == "La Paz"
    assert ask("Cuéntame un chiste").finish_reason == "stop"


def test_a_tool_result_gets_a_text_answer(client):
    messages = [
        {"role": "user", "content": "What is the weather in La Paz?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "La Paz"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "12 °C, soleado"},
    ]
    choice = client.chat.completions.create(
        model=MODEL, messages=messages, tools=[WEATHER]
    ).choices[0]
    assert choice.finish_reason == "stop" and "12 °C, soleado" in choice.message.content


def test_responses_function_tools(client):
    tool = {"type": "function", **WEATHER["function"]}
    response = client.responses.create(
        model=MODEL, input="weather in Sucre?", tools=[tool], tool_choice="required"
    )
    call = response.output[0]
    assert call.type == "function_call" and call.name == "get_weather"
    assert json.loads(call.arguments)["unit"] in ("celsius", "fahrenheit")


def test_models_retrieve(client):
    assert client.models.retrieve(MODEL).id == MODEL
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-3.5-turbo")


def test_unknown_parameters_are_a_bad_request(client):
    with pytest.raises(openai.BadRequestError, match="Unrecognized request argument"):
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hola"}], extra_body={"foo": 1}
        )


def test_reasoning_model_refuses_temperature(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="gpt-5-mini", messages=[{"role": "user", "content": "hola"}], temperature=0.2
        )
    assert caught.value.code == "unsupported_value" and caught.value.param == "temperature"


def test_gpt_image_refuses_response_format(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="gpt-image-2", prompt="un gato", response_format="url")
    assert caught.value.param == "response_format"
    images = client.images.generate(model="gpt-image-2", prompt="un gato", n=2)
    assert len(images.data) == 2 and images.data[0].b64_json != images.data[1].b64_json


def test_request_id_header(client):
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": "hola"}]
    )
    assert raw.headers["x-request-id"].startswith("req_")
    assert raw.parse().choices[0].message.content.startswith("[sandbox] ")


def test_methods_not_simulated_are_a_spanish_bad_request(client):
    with pytest.raises(openai.BadRequestError, match="El sandbox del curso no simula"):
        client.embeddings.create(model="text-embedding-3-small", input="hola")
