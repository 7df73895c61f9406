"""The OpenAI stand-in answers as OpenAI's published API description says it does."""

from __future__ import annotations

import json

import openai
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab_server.llm import make_client
from lab_server.sandbox import STANDINS

from .llm_helpers import spec_validator

CHAT = {"model": "gpt-5.4-mini", "messages": [{"role": "user", "content": "hola"}]}


def post(standin, path, body, key=None):
    headers = {"Authorization": f"Bearer {key or standin.api_key}"}
    return requests.post(standin.base_url + path, json=body, headers=headers, timeout=10)


def assert_valid(name, data):
    errors = list(spec_validator(name).iter_errors(data))
    assert not errors, f"{name}: {errors[0].message} at {list(errors[0].absolute_path)}"


def test_registered_for_the_openai_service():
    assert STANDINS["openai"].__name__ == "OpenAIStandIn"


def test_overrides_point_at_the_stand_in_with_a_generated_key(openai_standin):
    values = openai_standin.overrides()
    assert values["OPENAI_BASE_URL"] == openai_standin.base_url + "/v1"
    assert values["OPENAI_API_KEY"].startswith("sk-sandbox-")
    assert values["OPENAI_API_KEY"] != STANDINS["openai"]().overrides()["OPENAI_API_KEY"]


def test_chat_completion_matches_the_schema(openai_standin):
    response = post(openai_standin, "/v1/chat/completions", CHAT)
    assert response.status_code == 200
    data = response.json()
    assert_valid("chat_completion", data)
    assert data["choices"][0]["message"]["content"].startswith("[sandbox] ")
    assert "«hola»" in data["choices"][0]["message"]["content"]


def test_streamed_chunks_match_the_schema(openai_standin):
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    response = post(openai_standin, "/v1/chat/completions", body)
    assert response.headers["Content-Type"].startswith("text/event-stream")
    events = [e for e in response.text.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e[6:]) for e in events[:-1]]
    for chunk in chunks:
        assert_valid("chat_completion_chunk", chunk)
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_streaming_through_the_official_client(llm_settings):
    client = make_client(llm_settings)
    stream = client.chat.completions.create(
        model=llm_settings.openai_model,
        messages=[{"role": "user", "content": "cuéntame algo"}],
        stream=True,
    )
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    whole = client.chat.completions.create(
        model=llm_settings.openai_model, messages=[{"role": "user", "content": "cuéntame algo"}]
    )
    assert len(pieces) > 5
    assert "".join(pieces) == whole.choices[0].message.content


def test_responses_endpoint_matches_the_schema(openai_standin, llm_settings):
    body = {"model": "gpt-5.4-mini", "instructions": "Sé breve.", "input": "¿Qué es un LLM?"}
    data = post(openai_standin, "/v1/responses", body).json()
    assert_valid("response", data)
    text = make_client(llm_settings).responses.create(**body).output_text
    assert text.startswith("[sandbox] ") and "¿Qué es un LLM?" in text


def test_image_generation_returns_a_base64_png(openai_standin):
    data = post(openai_standin, "/v1/images/generations", {"model": "x", "prompt": "un gato"})
    assert_valid("images_response", data.json())
    import base64

    png = base64.b64decode(data.json()["data"][0]["b64_json"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png.endswith(b"IEND\xaeB`\x82")


def test_models_list_matches_the_schema_and_names_the_default(openai_standin, llm_settings):
    response = requests.get(
        openai_standin.base_url + "/v1/models",
        headers={"Authorization": f"Bearer {openai_standin.api_key}"},
        timeout=5,
    )
    assert_valid("models_list", response.json())
    ids = [m["id"] for m in response.json()["data"]]
    assert llm_settings.openai_model in ids and llm_settings.openai_image_model in ids


@pytest.mark.parametrize(
    ("key", "code"), [("", None), ("sk-wrong", "invalid_api_key")], ids=["missing", "wrong"]
)
def test_requires_bearer_auth_like_openai(openai_standin, key, code):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = requests.post(
        openai_standin.base_url + "/v1/chat/completions", json=CHAT, headers=headers, timeout=5
    )
    assert response.status_code == 401
    assert_valid("error", response.json())
    assert response.json()["error"]["code"] == code


def test_retired_models_are_not_found(openai_standin):
    response = post(openai_standin, "/v1/chat/completions", {**CHAT, "model": "gpt-3.5-turbo"})
    assert response.status_code == 404
    assert_valid("error", response.json())
    assert response.json()["error"]["code"] == "model_not_found"


@pytest.mark.parametrize("status", [404, 429, 500, 503])
def test_behave_error_answers_in_openai_error_shape(openai_standin, status):
    openai_standin.behave(error=status, times=1)
    failed = post(openai_standin, "/v1/chat/completions", CHAT)
    assert failed.status_code == status
    assert_valid("error", failed.json())
    assert post(openai_standin, "/v1/chat/completions", CHAT).status_code == 200


def test_behave_rejects_unknown_switches(openai_standin):
    with pytest.raises(ValueError):
        openai_standin.behave(error=418)
    with pytest.raises(ValueError):
        openai_standin.behave(invalid="xml")


def test_structured_off_refuses_json_schema_like_servers_without_it(openai_standin):
    openai_standin.behave(structured=False)
    body = {**CHAT, "response_format": {"type": "json_schema", "json_schema": {"schema": {}}}}
    response = post(openai_standin, "/v1/chat/completions", body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "response_format"


def test_unknown_path_is_json_404(openai_standin):
    response = requests.get(
        openai_standin.base_url + "/v1/nothing",
        headers={"Authorization": f"Bearer {openai_standin.api_key}"},
        timeout=5,
    )
    assert response.status_code == 404
    assert_valid("error", response.json())


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/v1/chat/completions", "/v1/responses", "/v1/images/generations"]),
    body=st.dictionaries(
        st.sampled_from(["model", "messages", "input", "prompt", "stream", "response_format"]),
        JSONISH,
    ),
)
def test_malformed_requests_get_a_4xx_never_a_5xx(openai_standin, path, body):
    response = post(openai_standin, path, body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_valid("error", response.json())


def test_slow_stand_in_makes_the_client_time_out(llm_settings, openai_standin):
    openai_standin.behave(delay=2)
    client = make_client(llm_settings, timeout=0.3, max_retries=0)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-5.4-mini", messages=CHAT["messages"])
