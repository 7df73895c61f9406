"""The generic authorization-code + PKCE flow, over real HTTP against oauth2-mock-server.

The lab server runs on a loopback port; a `requests.Session` plays the browser (it keeps
the session cookie that binds `state` to it) and follows the redirects to the independent
OAuth server and back.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from lab_server import start
from lab_server.oauth.flow import flows_of
from lab_server.oauth.tokens import TokenStore

from .conftest import make_settings
from .oauth_support import Clock

CLIENT_ID = "kit-test-client"
CLIENT_SECRET = "kit-test-secret-0123456789"


def run_lab(tmp_path, base: str, **env: str):
    settings = make_settings(
        tmp_path,
        LINKEDIN_OAUTH_BASE=base,
        LINKEDIN_CLIENT_ID=CLIENT_ID,
        LINKEDIN_CLIENT_SECRET=CLIENT_SECRET,
        LAB_SECRET_KEY="a-long-random-test-secret-for-the-kit",
        **env,
    )
    lab = start(port=0, sandbox=False, settings=settings, show=False)
    clock = Clock()
    flows_of(lab.context.app).clock = clock
    return lab, clock


@pytest.fixture
def lab(tmp_path, oauth2_mock_server, mock_provider):
    lab, clock = run_lab(tmp_path, oauth2_mock_server)
    lab.clock = clock
    return lab


def to_provider(browser: requests.Session, lab) -> str:
    """Start the flow and let the provider answer; return the callback URL it redirects to."""
    started = browser.get(lab.url + "/oauth/mockoidc/start", allow_redirects=False, timeout=10)
    assert started.status_code == 302
    answered = browser.get(started.headers["Location"], allow_redirects=False, timeout=10)
    assert answered.status_code == 302
    callback = answered.headers["Location"]
    assert callback.startswith(lab.url + "/oauth/mockoidc/callback?")
    return callback


def stored(lab) -> int:
    return lab.store.count("oauth_tokens")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_full_flow_with_pkce_stores_one_encrypted_token(
    tmp_path, oauth2_mock_server, mock_provider, database, request
):
    url = (
        f"sqlite:///{tmp_path / 'lab.db'}"
        if database == "sqlite"
        else request.getfixturevalue("pg_schema_url")
    )
    lab, _ = run_lab(tmp_path, oauth2_mock_server, DATABASE_URL=url)
    browser = requests.Session()
    started = browser.get(lab.url + "/oauth/mockoidc/start", allow_redirects=False, timeout=10)
    query = parse_qs(urlsplit(started.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"] == [lab.url + "/oauth/mockoidc/callback"]
    assert query["scope"] == ["openid profile"] and query["client_id"] == [CLIENT_ID]

    page = browser.get(started.headers["Location"], timeout=10)  # follows back to the lab

    assert page.status_code == 200, page.text
    assert "Servidor OAuth de prueba conectado" in page.text
    [connection] = TokenStore.for_settings(lab.settings, lab.store).list()
    assert connection.account_id == "johndoe"  # from the id_token, validated against the JWKS
    assert connection.access_token.count(".") == 2  # the mock issues JWT access tokens
    assert connection.refresh_token
    with lab.store.transaction(write=False) as tx:
        raw = tx.execute("SELECT access_token, refresh_token FROM oauth_tokens").fetchone()
    assert connection.access_token not in raw and connection.refresh_token not in raw
    assert all(value.startswith("gAAAAA") for value in raw)  # Fernet tokens


def test_a_state_works_once(lab):
    browser = requests.Session()
    callback = to_provider(browser, lab)
    assert browser.get(callback, timeout=10).status_code == 200
    replay = browser.get(callback, timeout=10)
    assert replay.status_code == 400
    assert "ya se usó" in replay.text and "text/html" in replay.headers["Content-Type"]
    assert stored(lab) == 1


def test_a_state_expires_after_ten_minutes(lab):
    browser = requests.Session()
    callback = to_provider(browser, lab)
    lab.clock.advance(minutes=10, seconds=1)
    late = browser.get(callback, timeout=10)
    assert late.status_code == 400 and "expiró" in late.text
    assert stored(lab) == 0


def test_nine_minutes_is_still_in_time(lab):
    browser = requests.Session()
    callback = to_provider(browser, lab)
    lab.clock.advance(minutes=9)
    assert browser.get(callback, timeout=10).status_code == 200


def test_a_state_from_another_browser_is_refused(lab):
    callback = to_provider(requests.Session(), lab)
    other = requests.get(callback, timeout=10)  # no session cookie: another browser
    assert other.status_code == 400 and "otro navegador" in other.text
    assert stored(lab) == 0


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("code=abc", "Falta el parámetro state"),
        ("code=abc&state=", "Falta el parámetro state"),
        ("code=abc&state=forged-state", "no lo emitió este servidor"),
    ],
)
def test_missing_or_unknown_state_is_refused(lab, query, words):
    answer = requests.get(f"{lab.url}/oauth/mockoidc/callback?{query}", timeout=10)
    assert answer.status_code == 400 and words in answer.text
    assert stored(lab) == 0


def test_denied_consent_stores_nothing_and_uses_up_the_state(lab):
    browser = requests.Session()
    callback = to_provider(browser, lab)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    denied = f"{lab.url}/oauth/mockoidc/callback?error=access_denied&state={state}"
    answer = browser.get(denied + "&error_description=The+user+said+no", timeout=10)
    assert answer.status_code == 400
    assert "No se concedió el acceso" in answer.text and "The user said no" in answer.text
    assert browser.get(callback, timeout=10).status_code == 400  # the state is gone
    assert stored(lab) == 0


def test_a_bad_code_is_a_clear_page(lab):
    browser = requests.Session()
    callback = to_provider(browser, lab)
    parts = urlsplit(callback)
    state = parse_qs(parts.query)["state"][0]
    answer = browser.get(f"{lab.url}{parts.path}?code=forged&state={state}", timeout=10)
    assert answer.status_code == 400
    assert "no se pudo" in answer.text.lower() or "rechazó" in answer.text
    assert stored(lab) == 0


def test_provider_text_is_escaped(lab):
    browser = requests.Session()
    state = parse_qs(urlsplit(to_provider(browser, lab)).query)["state"][0]
    answer = browser.get(
        f"{lab.url}/oauth/mockoidc/callback",
        params={"error": "<script>alert(1)</script>", "state": state},
        timeout=10,
    )
    assert answer.status_code == 400
    assert "<script>" not in answer.text and "&lt;script&gt;" in answer.text


def test_no_verifier_or_token_in_logs(lab, caplog):
    caplog.set_level(logging.DEBUG)  # everything, Authlib's and urllib3's debug lines too
    browser = requests.Session()
    callback = to_provider(browser, lab)
    cached = list(flows_of(lab.context.app).cache._live.values())
    [(data, _)] = cached
    verifier = parse_qs("v=" + data.split('"code_verifier": "')[1].split('"')[0])["v"][0]
    assert len(verifier) >= 43
    assert verifier not in browser.cookies.get("lab_session", "")  # kept on the server
    assert browser.get(callback, timeout=10).status_code == 200
    connection = TokenStore.for_settings(lab.settings, lab.store).get("mockoidc")
    logs = caplog.text + "\n" + lab.logs(1000)
    for secret in (verifier, connection.access_token, connection.refresh_token, CLIENT_SECRET):
        assert secret not in logs
    assert connection.access_token not in repr(connection)
    assert connection.access_token[-4:] in repr(connection)


def test_no_open_redirect(lab):
    evil = "https://evil.example/steal"
    answer = requests.get(
        lab.url + "/oauth/mockoidc/start",
        params={"next": evil, "redirect_uri": evil, "return_to": evil},
        allow_redirects=False,
        timeout=10,
    )
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}" == lab.settings.linkedin_oauth_base
    assert parse_qs(location.query)["redirect_uri"] == [lab.url + "/oauth/mockoidc/callback"]
    failed = requests.get(lab.url + "/oauth/mockoidc/callback?next=" + evil, timeout=10)
    assert failed.status_code == 400 and not failed.history
    # werkzeug merges the double slash with a 308 that stays on the lab, then 404
    slashes = requests.get(lab.url + "/oauth//evil.example/start", timeout=10)
    assert slashes.status_code == 404 and slashes.url.startswith(lab.url + "/oauth/")


def test_public_base_url_is_the_only_redirect_base(tmp_path, oauth2_mock_server, mock_provider):
    lab, _ = run_lab(tmp_path, oauth2_mock_server, PUBLIC_BASE_URL="https://lab.example.org")
    answer = requests.get(
        lab.url + "/oauth/mockoidc/start",
        headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
        allow_redirects=False,
        timeout=10,
    )
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["redirect_uri"] == ["https://lab.example.org/oauth/mockoidc/callback"]


def test_a_localhost_redirect_is_explained_for_a_remote_provider(tmp_path, mock_provider):
    lab, _ = run_lab(tmp_path, "https://oauth.example.org")
    answer = requests.get(lab.url + "/oauth/mockoidc/start", allow_redirects=False, timeout=10)
    assert answer.status_code == 400 and "Location" not in answer.headers
    assert "túnel" in answer.text and "PUBLIC_BASE_URL" in answer.text
    assert f"{lab.url}/oauth/mockoidc/callback" in answer.text


def test_unknown_provider_and_missing_credentials(tmp_path, mock_provider):
    settings = make_settings(tmp_path)
    lab = start(port=0, sandbox=False, settings=settings, show=False)
    unknown = requests.get(lab.url + "/oauth/myspace/start", timeout=10)
    assert unknown.status_code == 404 and "myspace" in unknown.text
    missing = requests.get(lab.url + "/oauth/mockoidc/start", timeout=10)
    assert missing.status_code == 400
    assert "LINKEDIN_CLIENT_ID" in missing.text and "LINKEDIN_CLIENT_SECRET" in missing.text
