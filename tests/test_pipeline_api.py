"""`/api/posts...` refuses bad input with a 4xx and a Spanish message, never a 5xx (fuzzed)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.pipeline_support import NEWS, headers

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "title": json_values,
        "content": json_values,
        "image_url": json_values,
        "networks": json_values,
        "publish_at": json_values | st.datetimes().map(lambda d: d.isoformat()),
        "text": json_values,
        "fields": json_values,
        "accounts": json_values
        | st.dictionaries(
            st.sampled_from(["linkedin", "telegram", "tiktok", "whatsapp", "myspace"]),
            json_values,
            max_size=3,
        ),
    },
)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def draft(client, app):
    answer = client.post("/api/posts", json=NEWS, headers=headers(app.extensions["lab"]))
    assert answer.status_code == 201
    return answer.get_json()["id"]


def check(answer) -> None:
    assert answer.status_code < 500, answer.get_data(as_text=True)
    if answer.status_code >= 400:
        body = answer.get_json()
        assert body["message"] and body["error"]


@FUZZ
@given(body=bodies | json_values)
def test_create_never_fails_with_5xx(client, app, body):
    check(client.post("/api/posts", json=body, headers=headers(app.extensions["lab"])))


@FUZZ
@given(body=bodies, network=st.text(min_size=1, max_size=20))
def test_post_routes_never_fail_with_5xx(client, app, draft, body, network):
    auth = headers(app.extensions["lab"])
    path = f"/api/posts/{draft}"
    check(client.post(f"{path}/publish", json=body, headers=auth))
    check(client.patch(f"{path}/publications/{quote(network, safe='')}", json=body, headers=auth))
    check(client.post(f"{path}/adapt", json=body, headers=auth))


@FUZZ
@given(
    post_id=st.text(min_size=1, max_size=60),
    query=st.dictionaries(st.sampled_from(["status", "limit", "offset"]), st.text(max_size=12)),
)
def test_reads_never_fail_with_5xx(client, app, post_id, query):
    auth = headers(app.extensions["lab"])
    check(client.get(f"/api/posts/{quote(post_id, safe='')}", headers=auth))
    check(client.get(f"/api/posts/{quote(post_id, safe='')}/status", headers=auth))
    check(client.get("/api/posts", query_string=query, headers=auth))


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"content": "x"}, 400, "Falta el título"),
        ({"title": "t" * 501, "content": "x"}, 400, "máximo es 500"),
        ({"title": "t", "content": " "}, 400, "Falta el contenido"),
        ({"title": "t", "content": "x", "image_url": "ftp://x"}, 400, "image_url"),
        ([1, 2], 400, "objeto JSON"),
        ({**NEWS, "accounts": ["tiktok"]}, 400, "accounts debe ser un objeto"),
        ({**NEWS, "accounts": {"myspace": "yo"}}, 400, "red desconocida"),
        ({**NEWS, "accounts": {"telegram": " "}}, 400, "accounts.telegram"),
        ({**NEWS, "accounts": {"telegram": "@a\nb"}}, 400, "sin caracteres de control"),
        ({**NEWS, "accounts": {"linkedin": "nadie"}}, 400, "no está conectada"),
    ],
)
def test_create_explains_what_is_wrong(client, app, body, status, words):
    answer = client.post("/api/posts", json=body, headers=headers(app.extensions["lab"]))
    assert answer.status_code == status
    assert words in answer.get_json()["message"]


def test_unknown_and_unadapted_posts(client, app, draft):
    auth = headers(app.extensions["lab"])
    missing = client.get("/api/posts/00000000-0000-0000-0000-000000000000", headers=auth)
    assert missing.status_code == 404 and "No existe" in missing.get_json()["message"]
    assert client.get("/api/posts/no-es-un-uuid", headers=auth).status_code == 404
    early = client.post(f"/api/posts/{draft}/publish", headers=auth)
    assert early.status_code == 409 and "adapta" in early.get_json()["message"]
    past = client.post(
        f"/api/posts/{draft}/publish", json={"publish_at": "2020-01-01T00:00:00Z"}, headers=auth
    )
    assert past.status_code == 400
    naive = client.post(
        f"/api/posts/{draft}/publish", json={"publish_at": "2099-01-01T00:00:00"}, headers=auth
    )
    assert naive.status_code == 400 and "zona horaria" in naive.get_json()["message"]
    unknown = client.post(f"/api/posts/{draft}/adapt", json={"networks": ["myspace"]}, headers=auth)
    assert unknown.status_code == 400 and "myspace" in unknown.get_json()["message"]
