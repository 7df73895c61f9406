"""Long answers become several messages, cut between words, counted as each provider counts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab_server.text import measure, split_message
from lab_server.whatsapp.client import BODY_LIMIT


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize(
    ("text", "limit", "parts"),
    [
        ("", 10, []),
        ("   ", 10, []),
        ("hola", 10, ["hola"]),
        ("  hola mundo  ", 10, ["hola mundo"]),
        ("uno dos tres", 7, ["uno dos", "tres"]),
        ("uno dos tres", 8, ["uno dos", "tres"]),
        ("uno dos tres", 6, ["uno", "dos", "tres"]),
        ("abcdefghij", 4, ["abcd", "efgh", "ij"]),
        ("ver https://example.org/muy/larga", 10, ["ver", "https://ex", "ample.org/", "muy/larga"]),
        ("línea uno\nlínea dos\n\ntres", 20, ["línea uno\nlínea dos", "tres"]),
        ("📚📚📚 ok", 6, ["📚📚📚", "ok"]),
        ("📚📚📚📚", 5, ["📚📚", "📚📚"]),
        ("📚", 1, ["📚"]),
    ],
)
def test_exact_parts(text, limit, parts):
    assert split_message(text, limit) == parts


def test_whatsapp_bodies_are_cut_at_twilios_1600():
    assert BODY_LIMIT == 1600
    text = ("a" * 799 + " ") * 3  # three words of 799: two fit in 1599
    assert [len(p) for p in split_message(text, BODY_LIMIT)] == [1599, 799]
    assert split_message("x" * 1600, BODY_LIMIT) == ["x" * 1600]


@pytest.mark.parametrize(
    ("text", "limit", "parts"),
    [
        ("📚📚📚 ok", 3, ["📚📚📚", "ok"]),  # characters: an emoji counts one
        ("📚📚📚📚", 2, ["📚📚", "📚📚"]),
        ("uno dos tres", 7, ["uno dos", "tres"]),
        ("línea uno\nlínea dos\n\ntres", 20, ["línea uno\nlínea dos", "tres"]),
    ],
)
def test_exact_parts_counted_in_characters(text, limit, parts):
    assert split_message(text, limit, unit="chars") == parts


def test_measure_counts_as_the_provider_does():
    assert measure("📚a", "utf16") == 3
    assert measure("📚a", "chars") == 2


def test_a_zero_limit_is_refused():
    with pytest.raises(ValueError):
        split_message("hola", 0)


@given(
    words=st.lists(
        st.text(st.characters(exclude_categories=["Z", "Cc", "Cs"]), min_size=1, max_size=12),
        max_size=60,
    ),
    separators=st.lists(st.sampled_from([" ", "\n", "  ", "\t"]), min_size=60, max_size=60),
    limit=st.integers(24, 80),  # a word is at most 12 characters, 24 UTF-16 units
)
@pytest.mark.parametrize("unit", ["utf16", "chars"])
def test_parts_fit_and_keep_every_word_in_order(unit, words, separators, limit):
    text = "".join(w + s for w, s in zip(words, separators, strict=False))
    parts = split_message(text, limit, unit=unit)
    assert all(0 < (units(p) if unit == "utf16" else len(p)) <= limit for p in parts)
    assert all(p == p.strip() for p in parts)
    assert [w for p in parts for w in p.split()] == [w for w in text.split()]
