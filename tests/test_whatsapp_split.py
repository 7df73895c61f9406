"""Long answers become several WhatsApp messages, cut between words."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab_server.message_split import split_message


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


def test_the_default_limit_is_twilios_1600():
    text = ("a" * 799 + " ") * 3  # three words of 799: two fit in 1599
    assert [len(p) for p in split_message(text)] == [1599, 799]
    assert split_message("x" * 1600) == ["x" * 1600]


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
def test_parts_fit_and_keep_every_word_in_order(words, separators, limit):
    text = "".join(w + s for w, s in zip(words, separators, strict=False))
    parts = split_message(text, limit)
    assert all(0 < units(p) <= limit for p in parts)
    assert all(p == p.strip() for p in parts)
    assert [w for p in parts for w in p.split()] == [w for w in text.split()]
