"""`urls.private_url_problem`: the URLs a provider on the internet cannot fetch, and why."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lab_server.urls import private_url_problem


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("https://res.cloudinary.com/x.jpg", True),
        ("https://8.8.8.8/x.jpg", True),
        ("https://localhost:5000/x.jpg", False),
        ("https://127.0.0.1/x.jpg", False),
        ("https://10.0.0.4/x.jpg", False),
        ("https://192.168.1.20/x.jpg", False),
        ("https://[::1]/x.jpg", False),
        ("https://impresora.local/x.jpg", False),
        ("https://router.home.arpa/x.jpg", False),
        ("https://intranet/x.jpg", False),
        ("http://res.cloudinary.com/x.jpg", False),
        ("ftp://example.org/x.jpg", False),
        ("https://[::1/x.jpg", False),
        ("", False),
    ],
)
def test_private_url_problem(url, public):
    assert (private_url_problem(url) == "") is public


def test_the_problem_names_who_fetches_and_the_fix():
    problem = private_url_problem("http://127.0.0.1:5000/media/foto.png", "Meta")
    assert problem.startswith("la URL usa «http», no https.")
    assert "Meta descarga el archivo desde sus servidores" in problem and "Cloudinary" in problem
    assert "192.168.0.9 es una dirección privada" in private_url_problem("https://192.168.0.9/a")


@given(st.text(max_size=200))
def test_any_text_gets_an_answer_never_an_exception(text):
    assert isinstance(private_url_problem(text), str)
