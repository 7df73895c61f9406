"""Raw `httpx` streaming, as tutorials without an SDK do it: the server-sent events as sent."""

from __future__ import annotations

import json

import httpx
import pytest


@pytest.fixture
def http(openai_standin):
    headers = {"Authorization": f"Bearer {openai_standin.api_key}"}
    with httpx.Client(base_url=openai_standin.base_url + "/v1", headers=headers, timeout=10) as c:
        yield c


def test_chat_stream_lines(http):
    body = {
        "model": "gpt-5.4-mini",
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0,
        "messages": [{"role": "user", "content": "¿Qué es un LLM?"}],
    }
    with http.stream("POST", "/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-request-id"].startswith("req_")
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines) and lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text.startswith("[sandbox] Sobre «¿Qué es un LLM?»")
    assert [c["usage"] for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    usage = chunks[-1]["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_responses_stream_has_event_lines_matching_the_data_type(http):
    body = {"model": "gpt-5.4-mini", "input": "hola", "stream": True}
    with http.stream("POST", "/responses", json=body) as response:
        raw = response.read().decode()
    events = [block.split("\n") for block in raw.strip().split("\n\n")]
    for event_line, data_line in events:
        assert event_line.startswith("event: ") and data_line.startswith("data: ")
        assert json.loads(data_line[6:])["type"] == event_line[7:]
    assert events[-1][0] == "event: response.completed"
    assert "[DONE]" not in raw  # the Responses API ends with its last event, not [DONE]


def test_errors_are_json_never_html(http):
    for path in ("/nothing/here", "/embeddings", "/chat/completions"):
        response = http.post(path, json={"model": "x"})
        assert response.headers["content-type"].startswith("application/json")
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
