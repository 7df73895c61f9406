"""The prompt lab of notebook 04 (lab_server.llm.prompt_lab) and the check of the student's
prompt versions (lab_server.exercises.prompts), against the OpenAI stand-in over HTTP."""

from __future__ import annotations

import pytest

from lab_server.exercises.prompts import check_prompt_version
from lab_server.llm import AdaptationInputError, prompt_text
from lab_server.llm.prompt_lab import (
    CORRECTED,
    INVALID,
    VALID,
    comparison,
    course_cases,
    try_prompt,
)

from .llm_helpers import CASES

V1 = prompt_text("adapt_v1")
OWN = """Eres quien escribe las redes de una facultad. Recibes una noticia en JSON y escribes una
versión en español para cada red pedida.
- facebook: cercano, de 250 a 400 caracteres, 3 hashtags.
- instagram: visual, de 150 a 300 caracteres, 5 hashtags y una idea de foto.
- linkedin: profesional, de 600 a 900 caracteres, 2 hashtags y el tono en tone.
- tiktok: juvenil, de 60 a 120 caracteres, 4 hashtags y un gancho en video_hook.
- whatsapp: conversacional, de 150 a 250 caracteres, sin hashtags.
No inventes datos. Los hashtags van aparte, con # y sin espacios.
Responde solo con JSON según este esquema: $esquema"""


def test_the_cases_are_package_data_and_the_tests_read_the_same_files():
    cases = course_cases()
    assert [c["case"] for c in cases] == ["corporate_news", "event", "product_launch"]
    assert all(c["title"] and c["content"] for c in cases)
    assert [p.stem for p in CASES] == [c["case"] for c in cases]


def test_v1_on_the_three_cases_counts_tokens_per_network(llm_settings):
    trials = try_prompt("v1", None, llm_settings)
    assert len(trials) == 3 * 5
    assert {t.schema for t in trials} == {VALID}
    assert all(t.within_limit and t.tokens_in > 0 and t.tokens_out > 0 for t in trials)
    rows = comparison(trials)
    assert [r.network for r in rows] == ["facebook", "instagram", "linkedin", "tiktok", "whatsapp"]
    assert all(r.valid == r.within_limit == r.cases == 3 for r in rows)
    assert rows[0].cost(1_000_000, 0) == rows[0].tokens_in


def test_a_prompt_changes_what_the_table_shows(llm_settings):
    rows = comparison(try_prompt("v1", None, llm_settings) + try_prompt("v2", OWN, llm_settings))
    by = {(r.network, r.version): r for r in rows}
    assert by["instagram", "v2"].hashtags == 5 != by["instagram", "v1"].hashtags
    assert by["linkedin", "v2"].characters < by["linkedin", "v1"].characters
    assert [r.version for r in rows if r.network == "tiktok"] == ["v1", "v2"]


def test_an_answer_fixed_on_retry_and_one_that_stays_invalid(llm_settings, openai_standin):
    case = course_cases()[:1]
    openai_standin.behave(invalid="json", times=1)
    assert {t.schema for t in try_prompt("v1", None, llm_settings, case)} == {CORRECTED}
    openai_standin.behave(invalid="schema")
    trials = try_prompt("v1", None, llm_settings, case)
    assert {t.schema for t in trials} == {INVALID} and "inválida" in trials[0].error
    assert comparison(trials)[0].valid == 0


def test_a_prompt_with_an_unknown_marker_fails_before_any_request(llm_settings, openai_standin):
    before = len(openai_standin.model_requests())
    with pytest.raises(AdaptationInputError, match=r"\$limite_twitter"):
        try_prompt("v2", OWN + " $limite_twitter", llm_settings)
    assert len(openai_standin.model_requests()) == before


def test_the_students_own_version_passes(llm_settings):
    outcome = check_prompt_version(OWN, "v2", {"v1": V1}, llm_settings)
    assert outcome.passed, outcome.message
    assert "3 casos" in outcome.message and "5 redes" in outcome.message


@pytest.mark.parametrize(
    ("prompt", "earlier", "status", "said"),
    [
        (..., {"v1": V1}, "pending", "escribe tu v3"),
        (["no"], {"v1": V1}, "wrong", "no un list"),
        (V1, {"v1": V1}, "wrong", "tu v3 es v1 tal cual"),
        ("  " + V1.replace("\n", " \n"), {"v1": V1}, "wrong", "tu v3 es v1 tal cual"),
        (V1.replace("boliviana", "pública"), {"v1": V1}, "wrong", "% igual a v1"),
        (OWN, {"v1": V1, "tu v2": OWN}, "wrong", "tu v3 es tu v2 tal cual"),
        (OWN, {"v1": V1, "tu v2": ...}, "ok", "es tuyo"),
        ("lorem ipsum " + OWN, {"v1": V1}, "wrong", "texto de relleno ('lorem')"),
        ("Adapta la noticia y responde en JSON.", {"v1": V1}, "wrong", "palabras distintas"),
        ("hola " * 60 + OWN, {"v1": V1}, "wrong", "repite «hola» 60 veces"),
        (
            OWN.replace("$esquema", "$schema"),
            {"v1": V1},
            "wrong",
            "marcador que no existe: $schema",
        ),
    ],
)
def test_each_mistake_in_a_version_gets_its_sentence(llm_settings, prompt, earlier, status, said):
    outcome = check_prompt_version(prompt, "v3", earlier, llm_settings)
    assert outcome.status == status, outcome.message
    assert said in outcome.message


def test_a_version_the_model_cannot_adapt_is_wrong(llm_settings, openai_standin):
    openai_standin.behave(invalid="schema")
    outcome = check_prompt_version(OWN, "v2", {"v1": V1}, llm_settings)
    assert outcome.status == "wrong"
    assert "el caso «corporate_news» no se pudo adaptar" in outcome.message
