"""LinkedIn end to end against its stand-in: consent, id_token, userinfo, Posts API, errors."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from lab_server import start
from lab_server.linkedin import publish
from lab_server.oauth import NotConnectedError, TokenExpiredError
from lab_server.oauth.tokens import TokenStore, utcnow
from lab_server.sandbox.linkedin import LinkedInStandIn

from .conftest import make_settings


@pytest.fixture
def standin():
    box = LinkedInStandIn()
    yield box
    box.stop()


def run_lab(tmp_path, standin, **env):
    settings = make_settings(tmp_path, **standin.overrides(), **env)
    return start(port=0, sandbox=False, settings=settings, show=False)


def consent(
    browser: requests.Session, page: requests.Response, action: str = "allow", follow: bool = True
):
    """Click a button of the stand-in's consent page, as a person would."""
    assert page.status_code == 200 and "Permitir" in page.text
    form_action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    ticket = re.search(r'name="ticket" value="([^"]+)"', page.text).group(1)
    target = requests.compat.urljoin(page.url, form_action)
    data = {"ticket": ticket, "action": action}
    return browser.post(target, data=data, allow_redirects=follow, timeout=10)


def connect(lab, browser=None) -> requests.Response:
    browser = browser or requests.Session()
    return consent(browser, browser.get(lab.url + "/oauth/linkedin/start", timeout=10))


@pytest.fixture
def lab(tmp_path, standin):
    lab = run_lab(tmp_path, standin)
    assert connect(lab).status_code == 200
    return lab


def test_connect_then_publish_as_the_posts_api_requires(tmp_path, standin):
    lab = run_lab(tmp_path, standin)
    browser = requests.Session()
    started = browser.get(lab.url + "/oauth/linkedin/start", allow_redirects=False, timeout=10)
    assert started.headers["Location"].startswith(standin.base_url + "/oauth/v2/authorization?")
    assert "scope=openid+profile+email+w_member_social" in started.headers["Location"]
    done = consent(browser, browser.get(started.headers["Location"], timeout=10))
    assert done.status_code == 200 and "LinkedIn conectado" in done.text
    assert "Ana Estudiante" in done.text

    connection = TokenStore.for_settings(lab.settings, lab.store).get("linkedin")
    assert connection.account_id == standin.member.sub
    assert set(connection.scopes) == {"openid", "profile", "email", "w_member_social"}
    left = connection.expires_at - utcnow()
    assert timedelta(days=59, hours=23) < left <= timedelta(days=60)

    answer = requests.post(
        lab.url + "/api/publish/linkedin",
        json={"text": "Hola, curso"},
        headers=lab.api_headers,
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    [post] = standin.posts
    assert answer.json() == {
        "network": "linkedin",
        "id": post.urn,
        "url": f"https://www.linkedin.com/feed/update/{post.urn}/",
    }
    assert post.headers["Linkedin-Version"] == lab.settings.linkedin_version == "202601"
    assert post.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert post.headers["Authorization"] == f"Bearer {connection.access_token}"
    assert post.body == {
        "author": f"urn:li:person:{standin.member.sub}",
        "commentary": "Hola, curso",
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }


def test_the_sandbox_stands_in_for_linkedin_without_credentials(tmp_path):
    lab = start(
        port=0, sandbox=None, settings=make_settings(tmp_path, LAB_SANDBOX="auto"), show=False
    )
    assert "linkedin" in lab.sandbox and lab.settings.is_sandboxed("linkedin")
    assert connect(lab).status_code == 200
    assert publish("Desde Python", lab=lab).id.startswith("urn:li:share:")


def test_a_forged_id_token_is_refused(tmp_path, standin):
    lab = run_lab(tmp_path, standin)
    standin.signing_key = RSAKey.generate_key(2048, parameters={"kid": standin.key.kid})
    answer = connect(lab)
    assert answer.status_code == 400 and "id_token" in answer.text
    assert lab.store.count("oauth_tokens") == 0


def test_cancelled_consent_stores_nothing(tmp_path, standin):
    lab = run_lab(tmp_path, standin)
    browser = requests.Session()
    answer = consent(browser, browser.get(lab.url + "/oauth/linkedin/start", timeout=10), "cancel")
    assert answer.status_code == 400
    assert "user_cancelled_authorize" in answer.text and "No se concedió" in answer.text
    assert lab.store.count("oauth_tokens") == 0


def test_duplicate_post_is_422_with_linkedins_message(lab, standin):
    first = requests.post(
        lab.url + "/api/publish/linkedin",
        json={"text": "Igual"},
        headers=lab.api_headers,
        timeout=10,
    )
    again = requests.post(
        lab.url + "/api/publish/linkedin",
        json={"text": "Igual"},
        headers=lab.api_headers,
        timeout=10,
    )
    assert first.status_code == 201 and again.status_code == 422
    body = again.json()
    assert body["provider_code"] == "DUPLICATE_POST"
    assert body["provider_message"] == f"Content is a duplicate of {first.json()['id']}"
    assert "cambia el texto" in body["message"]


def test_missing_scope_and_expired_token_on_demand(lab, standin):
    standin.fail_next("missing_scope")
    scope = requests.post(
        lab.url + "/api/publish/linkedin", json={"text": "a"}, headers=lab.api_headers, timeout=10
    )
    assert scope.status_code == 403 and "w_member_social" in scope.json()["message"]
    assert scope.json()["provider_code"] == "ACCESS_DENIED"
    standin.advance(61 * 24 * 3600)  # LinkedIn's clock: the 60-day token is gone
    expired = requests.post(
        lab.url + "/api/publish/linkedin", json={"text": "b"}, headers=lab.api_headers, timeout=10
    )
    assert expired.status_code == 409 and expired.json()["provider_code"] == "EXPIRED_ACCESS_TOKEN"
    assert "/oauth/linkedin/start" in expired.json()["message"]
    assert standin.posts == []


def test_the_kit_knows_the_token_expired_before_asking(lab, standin):
    standin.clear()
    later = utcnow() + timedelta(days=61)
    with pytest.raises(TokenExpiredError, match="venció"):
        publish("tarde", lab=lab, clock=lambda: later)
    assert standin.requests_to("/rest/posts") == []


def test_a_retired_version_names_the_setting(tmp_path, standin):
    lab = run_lab(tmp_path, standin, LINKEDIN_VERSION="2026")
    connect(lab)
    answer = requests.post(
        lab.url + "/api/publish/linkedin", json={"text": "v"}, headers=lab.api_headers, timeout=10
    )
    assert answer.status_code == 502 and "LINKEDIN_VERSION" in answer.json()["message"]


def test_images_and_long_texts_are_bad_input(lab):
    image = requests.post(
        lab.url + "/api/publish/linkedin",
        json={"text": "a", "image_url": "https://img.example/a.png"},
        headers=lab.api_headers,
        timeout=10,
    )
    assert image.status_code == 400 and "solo texto" in image.json()["message"]
    long = requests.post(
        lab.url + "/api/publish/linkedin",
        json={"text": "x" * 3001},
        headers=lab.api_headers,
        timeout=10,
    )
    assert long.status_code == 400 and "3000" in long.json()["message"]


def test_not_connected(tmp_path, standin):
    lab = run_lab(tmp_path, standin)
    with pytest.raises(NotConnectedError):
        publish("hola", lab=lab)


# -- the stand-in, seen by clients the kit did not write -----------------------------------


def test_standin_speaks_oauth_to_a_plain_authlib_session(standin):
    redirect_uri = "http://127.0.0.1:9/callback"
    session = OAuth2Session(
        standin.client_id,
        standin.client_secret,
        scope="openid profile email w_member_social",
        redirect_uri=redirect_uri,
        token_endpoint_auth_method="client_secret_post",
    )
    url, state = session.create_authorization_url(
        standin.base_url + "/oauth/v2/authorization", nonce="n-0S6_WzA2Mj"
    )
    browser = requests.Session()
    back = consent(browser, browser.get(url, timeout=10), follow=False)
    location = back.headers["Location"]  # nothing listens on port 9: read where it goes
    assert location.startswith(redirect_uri) and f"state={state}" in location
    token = session.fetch_token(
        standin.base_url + "/oauth/v2/accessToken", authorization_response=location
    )
    assert token["scope"] == "email,openid,profile,w_member_social"
    assert token["expires_in"] == 60 * 24 * 3600 - 1
    metadata = requests.get(
        standin.base_url + "/oauth/.well-known/openid-configuration", timeout=10
    ).json()
    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    claims = jwt.decode(token["id_token"], keys).claims
    assert claims["iss"] == metadata["issuer"] and claims["aud"] == standin.client_id
    assert claims["nonce"] == "n-0S6_WzA2Mj" and claims["sub"] == standin.member.sub
    me = session.get(standin.base_url + "/v2/userinfo", timeout=10).json()
    assert me["sub"] == standin.member.sub and me["email_verified"] is True
    old = session.get(standin.base_url + "/v2/me", timeout=10)
    assert old.status_code == 403 and old.json()["code"] == "ACCESS_DENIED"
    again = requests.post(
        standin.base_url + "/oauth/v2/accessToken",
        data={
            "grant_type": "authorization_code",
            "code": re.search(r"code=([^&]+)", location).group(1),
            "redirect_uri": redirect_uri,
            "client_id": standin.client_id,
            "client_secret": standin.client_secret,
        },
        timeout=10,
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_request"


def test_standin_refuses_retired_scopes(standin):
    answer = requests.get(
        standin.base_url + "/oauth/v2/authorization",
        params={
            "response_type": "code",
            "client_id": standin.client_id,
            "redirect_uri": "https://lab.example.org/oauth/linkedin/callback",
            "state": "s1",
            "scope": "r_liteprofile r_emailaddress w_member_social",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302
    assert "error=unauthorized_scope_error" in answer.headers["Location"]
    assert "r_liteprofile" in requests.utils.unquote(answer.headers["Location"])
