"""langchain-openai's ChatOpenAI against the OpenAI stand-in over real HTTP."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field


class Event(BaseModel):
    """An event announced in a piece of news."""

    name: str
    attendees: int = Field(ge=0)
    free: bool
    tags: list[str]


@pytest.fixture
def chat(openai_standin) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-5.4-mini",
        api_key=openai_standin.api_key,
        base_url=openai_standin.base_url + "/v1",
        max_retries=0,
        timeout=10,
        temperature=0,
    )


def test_invoke_keeps_the_conversation_and_the_instructions(chat):
    reply = chat.invoke(
        [
            SystemMessage("Responde en inglés."),
            HumanMessage("me llamo Ana"),
            HumanMessage("¿cómo me llamo?"),
        ]
    )
    assert reply.content.startswith("[sandbox] ") and "Your name is Ana" in reply.content


def test_stream_yields_the_same_text(chat):
    pieces = [chunk.content for chunk in chat.stream("¿Qué es un LLM?")]
    assert len(pieces) > 5 and "".join(pieces) == chat.invoke("¿Qué es un LLM?").content


@pytest.mark.parametrize("method", ["function_calling", "json_schema"])
def test_with_structured_output(chat, method):
    structured = chat.with_structured_output(Event, method=method)
    event = structured.invoke("La Feria de Ingeniería recibe 600 visitantes, entrada libre")
    assert isinstance(event, Event) and event.attendees == 600 and event.tags


def test_with_structured_output_json_mode_follows_the_schema_in_the_prompt(chat):
    structured = chat.with_structured_output(Event, method="json_mode")
    schema = json.dumps(Event.model_json_schema())
    prompt = f"Extrae el evento y responde solo con JSON que cumpla este esquema: {schema}"
    event = structured.invoke([SystemMessage(prompt), HumanMessage("Feria con 600 visitantes")])
    assert isinstance(event, Event) and event.attendees == 600


def test_include_raw_shows_the_tool_call(chat):
    structured = chat.with_structured_output(Event, method="function_calling", include_raw=True)
    result = structured.invoke("Feria de 600 personas")
    assert result["parsing_error"] is None and result["raw"].tool_calls[0]["name"] == "Event"


def test_bind_tools_auto_calls_the_tool_when_asked(chat):
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        return "12 °C"

    reply = chat.bind_tools([get_weather]).invoke("What is the weather in Cochabamba?")
    assert reply.tool_calls[0]["name"] == "get_weather"
    assert reply.tool_calls[0]["args"] == {"city": "Cochabamba"}
