"""adapt(): schema-valid posts for every network, one corrected retry, clear errors."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from lab_server.llm import NETWORKS, AdaptationError, AdaptationInputError, Adapter, adapt
from lab_server.llm.adaptation import (
    LIMITS,
    InvalidAdaptation,
    adaptation_schema,
    model_schema,
    parse_adaptation,
    published_text,
)

from .llm_helpers import CASES, load_case

CHAT_PATH = "/v1/chat/completions"
EXTRA = {
    "facebook": set(),
    "instagram": {"suggested_image_prompt"},
    "linkedin": {"tone"},
    "tiktok": {"video_hook"},
    "whatsapp": {"format"},
}


def valid_post(network: str, text: str = "Texto de prueba") -> dict:
    post = {"text": text, "hashtags": [] if network == "whatsapp" else ["#UNI"]}
    post["character_count"] = len(text)
    extra = {"whatsapp": "conversational"}
    for field in EXTRA[network]:
        post[field] = extra.get(network, "algo")
    return post


def test_the_three_course_cases_are_there():
    assert {load_case(p)["case"] for p in CASES} == {"corporate_news", "product_launch", "event"}


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_adapt_returns_schema_valid_posts_for_every_network(llm_settings, case):
    news = load_case(case)
    result = adapt(news["title"], news["content"], settings=llm_settings)
    assert list(result) == list(NETWORKS)
    Draft202012Validator(adaptation_schema(NETWORKS)).validate(result)
    for network, post in result.items():
        assert set(post) == {"text", "hashtags", "character_count"} | EXTRA[network]
        assert post["character_count"] == len(post["text"]) <= LIMITS[network]
        assert len(published_text(post)) <= LIMITS[network]
        assert news["title"] in post["text"]
    assert result["whatsapp"]["format"] == "conversational"


def test_structured_output_is_requested_with_the_schema(llm_settings, openai_standin):
    adapt("Título", "Contenido", ["linkedin"], settings=llm_settings)
    body = openai_standin.requests_to(CHAT_PATH)[0].json
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["linkedin"]
    user = json.loads(body["messages"][1]["content"])
    assert user == {"titulo": "Título", "contenido": "Contenido", "redes": ["linkedin"]}
    assert "Contenido" not in body["messages"][0]["content"]


def test_server_without_structured_output_gets_plain_json(llm_settings, openai_standin):
    openai_standin.behave(structured=False)
    adapter = Adapter(llm_settings)
    result = adapter.adapt("Título", "Contenido", ["facebook", "whatsapp"])
    assert set(result) == {"facebook", "whatsapp"} and adapter.structured is False
    bodies = [r.json for r in openai_standin.requests_to(CHAT_PATH)]
    assert "response_format" in bodies[0] and "response_format" not in bodies[1]
    adapter.adapt("Otro", "Contenido", ["tiktok"])  # remembered: no second refused request
    assert len(openai_standin.requests_to(CHAT_PATH)) == 3


@pytest.mark.parametrize("invalid", ["json", "schema"])
def test_invalid_output_is_retried_once_with_the_error(llm_settings, openai_standin, invalid):
    openai_standin.behave(invalid=invalid, times=1)
    result = adapt("Título", "Contenido", ["facebook", "instagram"], settings=llm_settings)
    assert set(result) == {"facebook", "instagram"}
    requests = openai_standin.requests_to(CHAT_PATH)
    assert len(requests) == 2
    correction = requests[1].json["messages"][-1]
    assert correction["role"] == "user" and correction["content"].startswith(
        "Tu respuesta no es válida: "
    )
    expected = "no es JSON válido" if invalid == "json" else "le falta el campo «text»"
    assert expected in correction["content"]


@pytest.mark.parametrize("invalid", ["json", "schema"])
def test_invalid_twice_is_a_clear_error_after_exactly_one_retry(
    llm_settings, openai_standin, invalid
):
    openai_standin.behave(invalid=invalid)
    with pytest.raises(AdaptationError, match="dos veces una adaptación inválida"):
        adapt("Título", "Contenido", ["facebook"], settings=llm_settings)
    assert len(openai_standin.requests_to(CHAT_PATH)) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "c", ["facebook"]), "título está vacío"),
        (("   ", "c", ["facebook"]), "título está vacío"),
        (("t", "", ["facebook"]), "contenido está vacío"),
        (("t", "c", []), "lista de redes está vacía"),
        (("t", "c", ["myspace"]), "Red desconocida: 'myspace'"),
        (("t", "c", "facebook"), "debe ser una lista"),
        (("t" * 501, "c", ["facebook"]), "el máximo es 500"),
        ((None, "c", ["facebook"]), "título está vacío"),
    ],
)
def test_bad_inputs_are_clear_errors_before_any_request(
    llm_settings, openai_standin, args, message
):
    with pytest.raises(AdaptationInputError, match=message):
        adapt(*args, settings=llm_settings)
    assert openai_standin.requests_to(CHAT_PATH) == []


def test_over_limit_text_is_rejected_with_the_numbers():
    post = valid_post("instagram", "x" * 2201)
    with pytest.raises(InvalidAdaptation, match="tiene 2201 caracteres y el máximo es 2200"):
        parse_adaptation(json.dumps({"instagram": post}), ["instagram"])


def test_hashtags_count_towards_the_limit():
    post = valid_post("tiktok", "x" * 2195)
    post["hashtags"] = ["#Feria"]
    with pytest.raises(InvalidAdaptation, match="con sus hashtags tiene 2203"):
        parse_adaptation(json.dumps({"tiktok": post}), ["tiktok"])


def test_character_count_is_recomputed():
    post = valid_post("facebook", "Hola 👋")
    post["character_count"] = 99
    result = parse_adaptation(json.dumps({"facebook": post}), ["facebook"])
    assert result["facebook"]["character_count"] == 6


def test_a_markdown_fence_around_the_json_is_accepted():
    raw = "```json\n" + json.dumps({"facebook": valid_post("facebook")}) + "\n```"
    assert parse_adaptation(raw, ["facebook"])["facebook"]["text"] == "Texto de prueba"


@pytest.mark.parametrize(
    ("network", "change", "message"),
    [
        ("instagram", lambda p: p.update(hashtags=["sin almohadilla"]), "no es un hashtag válido"),
        ("whatsapp", lambda p: p.update(format="lista"), "debe ser uno de"),
        ("linkedin", lambda p: p.update(extra=1), "campos que no van: extra"),
        ("whatsapp", lambda p: p.update(hashtags=["#a"]), "tiene 1 elementos y el máximo es 0"),
        ("tiktok", lambda p: p.pop("video_hook"), "le falta el campo «video_hook»"),
        ("facebook", lambda p: p.update(text=""), "«facebook.text» está vacío"),
        ("facebook", lambda p: p.update(character_count="5"), "debe ser de tipo integer"),
    ],
)
def test_schema_errors_are_described_in_spanish(network, change, message):
    post = valid_post(network)
    change(post)
    with pytest.raises(InvalidAdaptation, match=message):
        parse_adaptation(json.dumps({network: post}), [network])


def test_missing_network_and_extra_network_are_invalid():
    with pytest.raises(InvalidAdaptation, match="le falta el campo «tiktok»"):
        parse_adaptation(json.dumps({"facebook": valid_post("facebook")}), ["facebook", "tiktok"])
    both = {"facebook": valid_post("facebook"), "tiktok": valid_post("tiktok")}
    with pytest.raises(InvalidAdaptation, match="campos que no van: tiktok"):
        parse_adaptation(json.dumps(both), ["facebook"])


def test_model_schema_drops_only_local_length_checks():
    sent = model_schema(adaptation_schema(["linkedin"]))
    assert "maxLength" not in json.dumps(sent)
    assert sent["properties"]["linkedin"]["required"] == [
        "text",
        "hashtags",
        "character_count",
        "tone",
    ]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)


@given(raw=st.one_of(st.text(max_size=200), JSON_VALUES.map(json.dumps)))
def test_any_model_output_is_either_valid_or_an_invalid_adaptation(raw):
    try:
        result = parse_adaptation(raw, ["facebook"])
    except InvalidAdaptation as exc:
        assert str(exc)
    else:
        Draft202012Validator(adaptation_schema(["facebook"])).validate(result)


@given(
    title=st.text(max_size=600),
    content=st.text(max_size=50),
    networks=st.lists(st.text(max_size=12), max_size=4),
)
def test_any_input_is_accepted_or_refused_with_a_clear_error(title, content, networks):
    from lab_server.llm.adaptation import check_inputs

    try:
        chosen = check_inputs(title, content, networks)
    except AdaptationInputError as exc:
        assert str(exc)[0].isupper()
    else:
        assert chosen and set(chosen) <= set(NETWORKS) and title.strip() and content.strip()


def test_packaged_prompts_are_listed_and_readable():
    from lab_server.llm import prompt_names, prompt_text

    assert {"adapt_v1", "bot_v1"} <= set(prompt_names())
    assert "$esquema" in prompt_text("adapt_v1") and "$canal" in prompt_text("bot_v1")
    with pytest.raises(ValueError, match="adapt_v1"):
        prompt_text("adapt_v9")


def test_a_students_prompt_replaces_the_packaged_one(llm_settings, openai_standin):
    mine = "Adapta la noticia. Responde en JSON según $esquema. Máximo $hashtags_tiktok hashtags."
    adapt("Título", "Contenido", ["tiktok"], settings=llm_settings, prompt=mine)
    system = openai_standin.requests_to(CHAT_PATH)[0].json["messages"][0]["content"]
    assert system.startswith("Adapta la noticia.") and "Máximo 10 hashtags." in system
    assert '"required": ["tiktok"]' in system and "$hashtags" not in system


def test_the_prompt_visibly_changes_the_simulated_posts(llm_settings):
    from lab_server.llm import prompt_text

    news = load_case(CASES[0])
    v1 = adapt(news["title"], news["content"], ["facebook", "linkedin"], settings=llm_settings)
    v2 = (
        prompt_text("adapt_v1")
        .replace("de 300 a 500 caracteres", "de 120 a 200 caracteres, sin emojis y sin hashtags")
        .replace("tono profesional", "tono inspirador")
    )
    mine = adapt(
        news["title"], news["content"], ["facebook", "linkedin"], settings=llm_settings, prompt=v2
    )
    assert 300 <= len(v1["facebook"]["text"]) <= 500 and v1["facebook"]["hashtags"]
    assert 120 <= len(mine["facebook"]["text"]) <= 200 and mine["facebook"]["hashtags"] == []
    assert not re.search("[\U0001f300-\U0001faff]", mine["facebook"]["text"])
    assert (v1["linkedin"]["tone"], mine["linkedin"]["tone"]) == ("profesional", "inspirador")


@pytest.mark.parametrize(
    ("prompt", "message"),
    [("", "prompt está vacío"), ("Usa $plantilla", r"\$plantilla"), ("Cuesta 5 $", r"\$\$")],
)
def test_a_bad_prompt_is_a_clear_error_before_any_request(
    llm_settings, openai_standin, prompt, message
):
    with pytest.raises(AdaptationInputError, match=message):
        adapt("Título", "Contenido", ["facebook"], settings=llm_settings, prompt=prompt)
    assert openai_standin.requests_to(CHAT_PATH) == []
