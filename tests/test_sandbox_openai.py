"""The OpenAI stand-in answers as OpenAI's published API description says it does."""

from __future__ import annotations

import json
import re

import openai
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab_server.llm import make_client
from lab_server.sandbox import STANDINS

from .llm_helpers import CASES, load_case, spec_validator

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


# -- the simulated model: each lesson shows ------------------------------------------------


def answer(standin, messages, **extra):
    response = post(standin, "/v1/chat/completions", {**CHAT, "messages": messages, **extra})
    assert response.status_code == 200, response.text
    return [c["message"]["content"] for c in response.json()["choices"]]


def ask(standin, system, question="¿Cómo retiro una materia?", **extra):
    messages = [{"role": "system", "content": system}, {"role": "user", "content": question}]
    return answer(standin, messages, temperature=0, **extra)[0]


def test_a_name_given_earlier_is_recalled_only_with_the_history(openai_standin):
    history = [
        {"role": "user", "content": "Hola, me llamo Ana"},
        {"role": "assistant", "content": "¡Hola!"},
        {"role": "user", "content": "¿Cómo me llamo?"},
    ]
    with_history = answer(openai_standin, history)[0]
    without = answer(openai_standin, history[-1:])[0]
    assert with_history.startswith("[sandbox] ") and "Ana" in with_history
    assert "Ana" not in without and "no me has dicho" in without


def test_same_request_same_answer_and_temperature_zero_never_varies(openai_standin):
    question = [{"role": "user", "content": "¿Qué es un LLM?"}]
    cold = answer(openai_standin, question, temperature=0, n=4)
    assert len(set(cold)) == 1
    hot = answer(openai_standin, question, temperature=1.6, n=4)
    assert len(set(hot)) > 1
    assert answer(openai_standin, question, temperature=1.6, n=4) == hot


def test_higher_temperature_changes_more_of_the_wording(openai_standin):
    question = [{"role": "user", "content": "¿Qué es un LLM?"}]
    base = answer(openai_standin, question, temperature=0)[0]

    def changed(temperature):
        others = answer(openai_standin, question, temperature=temperature, n=20)
        return sum(other != base for other in others)

    assert changed(0.2) < changed(1.9)


@pytest.mark.parametrize(
    ("system", "check"),
    [
        ("Responde en inglés.", lambda a: "Courses are dropped" in a),
        ("Responde siempre en español.", lambda a: "portal académico" in a),
        ("Trata al estudiante de usted.", lambda a: "Puede retirar" in a and "Hágalo" in a),
        ("Háblale de tú.", lambda a: "Puedes retirar" in a and "Hazlo" in a),
        ("Responde en una lista con viñetas.", lambda a: a.count("\n- ") >= 2),
        ("Responde en prosa, sin listas.", lambda a: "\n- " not in a),
        ("Usa emojis.", lambda a: "📚" in a),
        ("No uses emojis.", lambda a: "📚" not in a),
    ],
)
def test_system_instructions_visibly_change_the_answer(openai_standin, system, check):
    reply = ask(openai_standin, system)
    assert reply.startswith("[sandbox] ") and check(reply), reply


def test_short_and_long_instructions_change_the_length(openai_standin):
    short = ask(openai_standin, "Responde de forma breve.")
    normal = ask(openai_standin, "Eres un asistente.")
    long = ask(openai_standin, "Responde de forma detallada.")
    assert len(short) < len(normal) < len(long)


@pytest.mark.parametrize("model", ["gpt-5-mini", "o3", "gpt-5"])
def test_reasoning_models_refuse_temperature_like_the_api(openai_standin, model):
    body = {**CHAT, "model": model, "temperature": 0.2}
    response = post(openai_standin, "/v1/chat/completions", body)
    assert response.status_code == 400
    assert_valid("error", response.json())
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("temperature", "unsupported_value")
    assert "Only the default (1) value is supported" in error["message"]
    assert post(openai_standin, "/v1/chat/completions", {**body, "temperature": 1}).ok
    resp = post(openai_standin, "/v1/responses", {"model": model, "input": "x", "temperature": 0})
    assert resp.status_code == 400 and resp.json()["error"]["param"] == "temperature"


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_each_network_gets_a_visibly_different_post(llm_settings, case):
    from lab_server.llm import adapt

    news = load_case(case)
    posts = adapt(news["title"], news["content"], settings=llm_settings)
    texts = {network: post["text"] for network, post in posts.items()}
    assert len(set(texts.values())) == 5
    assert all(text.startswith("[sandbox] ") for text in texts.values())
    assert 300 <= len(texts["facebook"]) <= 500
    assert 200 <= len(texts["whatsapp"]) <= 300 and posts["whatsapp"]["hashtags"] == []
    assert len(texts["tiktok"]) < len(texts["facebook"]) < len(texts["linkedin"]) <= 3000
    assert len(texts["instagram"]) <= 2200 and "\n" in texts["instagram"]
    counts = {network: len(post["hashtags"]) for network, post in posts.items()}
    assert counts["instagram"] > counts["tiktok"] > counts["facebook"] > counts["whatsapp"] == 0
    emoji = re.compile("[\U0001f300-\U0001faff]")
    assert emoji.search(texts["tiktok"]) and not emoji.search(texts["linkedin"])
    assert posts["linkedin"]["tone"] == "profesional"
    assert news["title"][:30] in posts["tiktok"]["video_hook"]
    assert news["title"] in posts["instagram"]["suggested_image_prompt"]


# -- the protocol --------------------------------------------------------------------------


def test_every_answer_carries_a_request_id(openai_standin):
    for response in (
        post(openai_standin, "/v1/chat/completions", CHAT),
        post(openai_standin, "/v1/chat/completions", {**CHAT, "bogus": 1}),
        requests.get(openai_standin.base_url + "/v1/models", timeout=5),
    ):
        assert re.fullmatch(r"req_[0-9a-f]{32}", response.headers["x-request-id"])


def test_unknown_parameters_are_refused_like_the_api(openai_standin):
    chat = post(openai_standin, "/v1/chat/completions", {**CHAT, "temprature": 0.5})
    assert chat.status_code == 400
    assert chat.json()["error"]["message"] == "Unrecognized request argument supplied: temprature"
    resp = post(openai_standin, "/v1/responses", {"model": "m", "input": "x", "messages": []})
    assert resp.status_code == 400
    assert resp.json()["error"]["param"] == "messages"
    assert resp.json()["error"]["code"] == "unknown_parameter"


def test_json_mode_needs_the_word_json_and_answers_an_object(openai_standin):
    body = {**CHAT, "response_format": {"type": "json_object"}}
    refused = post(openai_standin, "/v1/chat/completions", body)
    assert refused.status_code == 400 and "'json'" in refused.json()["error"]["message"]
    asked = [{"role": "user", "content": 'Responde en JSON como {"ciudad": "", "habitantes": 0}'}]
    content = answer(openai_standin, asked, response_format={"type": "json_object"})[0]
    data = json.loads(content)
    assert isinstance(data["ciudad"], str) and isinstance(data["habitantes"], int)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (
            {"model": "gpt-image-2", "prompt": "un gato", "response_format": "url"},
            "response_format",
        ),
        ({"model": "gpt-image-2", "prompt": "un gato", "style": "vivid"}, "style"),
        ({"model": "gpt-image-2", "prompt": "un gato", "size": "512x512"}, "size"),
    ],
)
def test_image_parameters_gpt_image_does_not_take_are_refused(openai_standin, body, param):
    response = post(openai_standin, "/v1/images/generations", body)
    assert response.status_code == 400
    assert_valid("error", response.json())
    assert response.json()["error"]["param"] == param


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/embeddings"),
        ("POST", "/v1/audio/speech"),
        ("GET", "/v1/files"),
        ("GET", "/v1/responses/resp_123"),
        ("POST", "/v1/assistants"),
    ],
)
def test_methods_not_simulated_say_so_in_spanish(openai_standin, method, path):
    response = requests.request(
        method,
        openai_standin.base_url + path,
        json={"model": "x", "input": "hola"},
        headers={"Authorization": f"Bearer {openai_standin.api_key}"},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    assert_valid("error", response.json())
    assert response.json()["error"]["code"] == "not_simulated_in_sandbox"
    assert "El sandbox del curso no simula" in response.json()["error"]["message"]


def test_models_retrieve_and_retired_models(openai_standin):
    headers = {"Authorization": f"Bearer {openai_standin.api_key}"}
    found = requests.get(openai_standin.base_url + "/v1/models/gpt-5.4-mini", headers=headers)
    assert found.json() == {
        "id": "gpt-5.4-mini",
        "object": "model",
        "created": 0,
        "owned_by": "sandbox",
    }
    gone = requests.get(openai_standin.base_url + "/v1/models/gpt-4", headers=headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "model_not_found"


def test_streamed_tool_calls_and_n_choices_match_the_schema(openai_standin):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "clima",
                "parameters": {
                    "type": "object",
                    "properties": {"ciudad": {"type": "string"}},
                    "required": ["ciudad"],
                },
            },
        }
    ]
    body = {
        **CHAT,
        "stream": True,
        "n": 2,
        "tools": tools,
        "tool_choice": "required",
        "stream_options": {"include_usage": True},
    }
    events = [e for e in post(openai_standin, "/v1/chat/completions", body).text.split("\n\n") if e]
    chunks = [json.loads(e[6:]) for e in events[:-1]]
    for chunk in chunks:
        assert_valid("chat_completion_chunk", chunk)
    assert all(c["usage"] is None for c in chunks[:-1]) and chunks[-1]["usage"]["total_tokens"]
    finishes = [
        c["choices"][0]["finish_reason"] for c in chunks[:-1] if c["choices"][0]["finish_reason"]
    ]
    assert finishes == ["tool_calls", "tool_calls"]
    arguments = "".join(
        call["function"].get("arguments", "")
        for c in chunks[:-1]
        if c["choices"][0]["index"] == 1
        for call in c["choices"][0]["delta"].get("tool_calls", [])
    )
    assert isinstance(json.loads(arguments)["ciudad"], str)
