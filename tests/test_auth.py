"""The /api routes answer only with the bearer token, over real HTTP on both databases."""

from __future__ import annotations

import stat

import pytest
import requests
from flask import Blueprint, jsonify
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab_server import auth, start
from lab_server.app import create_app
from lab_server.doctor import check_api_token
from lab_server.runner import behind_tunnel
from lab_server.serving import ServerThread

from .conftest import make_settings


@pytest.fixture
def lab(tmp_path, database_url):
    return start(
        port=0,
        sandbox=False,
        settings=make_settings(tmp_path, DATABASE_URL=database_url),
        show=False,
    )


def get(lab, path="/api/messages", **headers):
    return requests.get(lab.url + path, headers=headers, timeout=5)


def assert_refused(response):
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer")
    assert "Authorization: Bearer" in response.json()["message"]
    assert "lab.api_get" in response.json()["message"]


def test_without_the_token_the_api_answers_401_in_spanish(lab):
    assert_refused(get(lab))
    assert_refused(get(lab, Authorization="Bearer " + "x" * 43))
    assert_refused(get(lab, Authorization="Bearer " + lab.api_token[:-1]))
    assert_refused(get(lab, Authorization="Basic " + lab.api_token))
    assert_refused(get(lab, Authorization=lab.api_token))
    assert_refused(get(lab, "/api/messages?channel=myspace"))  # the token is checked first


def test_with_the_token_the_api_answers(lab):
    assert get(lab, Authorization=f"Bearer {lab.api_token}").status_code == 200
    assert get(lab, Authorization=f"bearer {lab.api_token}").status_code == 200
    assert lab.api_get("/api/messages", params={"limit": 1}).json() == {"messages": []}
    with lab.api_session() as session:
        assert session.get(lab.url + "/api/messages", timeout=5).status_code == 200


def test_health_and_webhooks_stay_open_and_health_tells_no_secret(lab):
    health = get(lab, "/health")
    assert health.status_code == 200
    assert lab.api_token not in health.text
    assert lab.api_token[-4:] not in health.text
    assert requests.post(lab.url + "/webhooks/whatsapp", timeout=5).status_code != 401


def test_routes_added_later_are_covered_by_the_prefix(tmp_path):
    app = create_app(make_settings(tmp_path))
    later = Blueprint("later", __name__)
    later.get("/api/posts", endpoint="posts")(lambda: jsonify(posts=[]))
    later.post("/api/publish/<network>", endpoint="publish")(lambda network: jsonify(ok=True))
    app.register_blueprint(later)
    server = ServerThread(behind_tunnel(app))
    token = app.extensions["lab"].settings.api_token
    try:
        assert_refused(requests.get(server.url + "/api/posts", timeout=5))
        assert_refused(requests.post(server.url + "/api/publish/linkedin", timeout=5))
        assert_refused(requests.get(server.url + "/api/does-not-exist", timeout=5))
        bearer = {"Authorization": f"Bearer {token}"}
        assert requests.get(server.url + "/api/posts", headers=bearer, timeout=5).ok
    finally:
        server.stop()


def test_the_token_is_generated_once_owner_only_and_kept(tmp_path):
    settings = make_settings(tmp_path)
    first = create_app(settings).extensions["lab"].settings.api_token
    path = tmp_path / "api_token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 40
    assert create_app(settings).extensions["lab"].settings.api_token == first


def test_lab_api_token_wins_and_writes_no_file(tmp_path):
    app = create_app(make_settings(tmp_path, LAB_API_TOKEN="token-del-profe-1234"))
    assert app.extensions["lab"].settings.api_token == "token-del-profe-1234"
    assert not (tmp_path / "api_token").exists()
    client = app.test_client()
    assert (
        client.get(
            "/api/messages", headers={"Authorization": "Bearer token-del-profe-1234"}
        ).status_code
        == 200
    )


def test_the_comparison_is_constant_time_on_every_path(monkeypatch):
    """Every check goes through hmac.compare_digest, even a wrong scheme or length."""
    import hmac

    compared = []
    real = hmac.compare_digest

    def recording(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", recording)
    token = "t" * 43
    for header in ("", "Bearer", "Basic " + token, "Bearer short", "Bearer " + token):
        compared.clear()
        result = auth.bearer_matches(header, token)
        assert result is (header == "Bearer " + token)
        assert len(compared) == 1 and compared[0][1] == token.encode()


def test_the_card_and_doctor_show_the_token_masked(lab, tmp_path):
    token = lab.api_token
    assert "••••••••" + token[-4:] in str(lab)
    assert token not in str(lab) and token not in lab._repr_html_()
    check = check_api_token(lab.settings.with_values({}))
    assert token[-4:] in check.detail and token not in check.detail


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.text(max_size=80).filter(lambda h: "\n" not in h and "\r" not in h))
def test_fuzzed_authorization_headers_get_401_never_5xx(app, header):
    response = app.test_client().get("/api/messages", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.is_json
