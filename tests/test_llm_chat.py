"""Building the bot's request and fitting its answer to a channel."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lab_server.llm.chat import build_messages, fit, history_messages
from lab_server.llm.prompts import BOT_PROMPT, load_prompt


def test_fit_keeps_short_text_and_cuts_long_text_at_a_word():
    assert fit("  hola  ", 10) == "hola"
    assert fit("uno dos tres cuatro cinco", 14) == "uno dos tres…"
    assert fit("abcdefghijklmnop", 6) == "abcde…"


@given(text=st.text(), limit=st.integers(min_value=1, max_value=2000))
def test_fit_never_exceeds_the_limit(text, limit):
    out = fit(text, limit)
    assert len(out) <= limit
    if len(text.strip()) <= limit:
        assert out == text.strip()


def test_system_prompt_is_versioned_spanish_and_filled():
    template = load_prompt(BOT_PROMPT)
    assert "$max_caracteres" in template.template and "$canal" in template.template
    messages = build_messages("whatsapp", "hola", [], keep=10)
    assert messages[0]["role"] == "system"
    assert "Respondes por whatsapp" in messages[0]["content"]
    assert "como máximo 700 caracteres" in messages[0]["content"]
    assert "$" not in messages[0]["content"]


@given(text=st.text(min_size=1, max_size=300))
def test_user_text_never_reaches_the_system_prompt(text):
    system = build_messages("telegram", text, [], keep=10)[0]["content"]
    plain = build_messages("telegram", "x", [], keep=10)[0]["content"]
    assert system == plain


def test_history_skips_empty_bodies_and_the_message_being_answered():
    history = [
        {"direction": "in", "body": "hola"},
        {"direction": "out", "body": ""},
        {"direction": "out", "body": "¡Hola!"},
        {"direction": "in", "body": "¿y el retiro?"},
    ]
    assert history_messages(history, "¿y el retiro?", keep=10) == [
        {"role": "user", "content": "hola"},
        {"role": "assistant", "content": "¡Hola!"},
    ]
    assert history_messages(history, "otra cosa", keep=0) == []
