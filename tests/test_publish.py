"""POST /api/publish/<network> and publish(): validation, registry and error mapping."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from lab_server import publish as publishing
from lab_server.oauth import DuplicatePostError, NotConnectedError

calls: list[tuple[str, str | None]] = []


def echo_publisher(text, image_url, ctx):
    """A network that accepts everything, except the texts that name an error."""
    if text == "duplicado":
        raise DuplicatePostError(
            "Ya publicaste ese texto: cámbialo.", provider_message="Duplicate", provider_code=422
        )
    if text == "sin cuenta":
        ctx.tokens.get("echo")  # nothing connected: NotConnectedError
    calls.append((text, image_url))
    return publishing.Post("echo", f"echo-{len(calls)}", f"https://echo.example/{len(calls)}")


@pytest.fixture(autouse=True)
def echo_network():
    publishing.register_publisher("echo", echo_publisher)
    calls.clear()
    yield
    publishing._publishers.pop("echo", None)


def test_publish_returns_201_with_network_id_and_url(client):
    answer = client.post("/api/publish/echo", json={"text": "Hola", "image_url": None})
    assert answer.status_code == 201
    assert answer.get_json() == {"network": "echo", "id": "echo-1", "url": "https://echo.example/1"}
    assert calls == [("Hola", None)]


def test_the_same_function_from_python(settings):
    post = publishing.publish(
        "echo", "Desde Python", "https://img.example/a.png", settings=settings
    )
    assert post == publishing.Post("echo", "echo-1", "https://echo.example/1")
    assert calls == [("Desde Python", "https://img.example/a.png")]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"text": ""}, 400, "Falta el texto"),
        ({"text": "   "}, 400, "Falta el texto"),
        ({"image_url": "https://x.example/a.png"}, 400, "Falta el texto"),
        ({"text": 5}, 400, "Falta el texto"),
        ({"text": "x" * 10_001}, 400, "10000"),
        ({"text": "a", "image_url": "ftp://x.example/a.png"}, 400, "image_url"),
        ({"text": "a", "image_url": "/local/file.png"}, 400, "image_url"),
        ({"text": "a", "image_url": ["https://x"]}, 400, "image_url"),
        ({"text": "duplicado"}, 422, "Ya publicaste"),
        ({"text": "sin cuenta"}, 409, "/oauth/echo/start"),
    ],
)
def test_errors_are_clear_json(client, body, status, words):
    answer = client.post("/api/publish/echo", json=body)
    assert answer.status_code == status
    assert words in answer.get_json()["message"]


def test_provider_code_and_message_are_kept(client):
    body = client.post("/api/publish/echo", json={"text": "duplicado"}).get_json()
    assert body["error"] == "DuplicatePostError"
    assert body["provider_code"] == 422 and body["provider_message"] == "Duplicate"


def test_unknown_network_and_bad_body(client):
    unknown = client.post("/api/publish/myspace", json={"text": "hola"})
    assert unknown.status_code == 404 and "echo" in unknown.get_json()["message"]
    not_json = client.post("/api/publish/echo", data="text=hola")
    assert not_json.status_code == 400 and "JSON" in not_json.get_json()["message"]
    assert client.get("/api/publish/echo").status_code == 405


def test_not_connected_from_python(settings):
    with pytest.raises(NotConnectedError):
        publishing.publish("echo", "sin cuenta", settings=settings)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(
    body=st.one_of(
        json_values,
        st.fixed_dictionaries({}, optional={"text": json_values, "image_url": json_values}),
    )
)
@hsettings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_fuzzed_bodies_never_get_a_5xx(client, body):
    answer = client.post(
        "/api/publish/echo", data=json.dumps(body), content_type="application/json"
    )
    assert answer.status_code in (201, 400, 409, 422), answer.get_data(as_text=True)
    assert "message" in answer.get_json() or answer.status_code == 201
