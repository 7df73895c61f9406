"""Facebook and Instagram end to end through the kit: /oauth/<name>/start -> consent ->
callback -> encrypted token -> POST /api/publish/<network>, over real HTTP on loopback,
against the Meta stand-ins, on SQLite and PostgreSQL.

A `requests.Session` plays the browser: it keeps the lab's session cookie (which binds the
`state` to it) and clicks Permitir/Cancelar on the stand-in's consent page.
"""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from lab_server import start
from lab_server.linkedin import oauth as linkedin_oauth
from lab_server.meta import oauth as meta_oauth
from lab_server.oauth.flow import flows_of
from lab_server.oauth.tokens import TokenStore
from lab_server.publish import publish

from .conftest import make_settings
from .meta_support import PUBLIC_IMAGE
from .oauth_support import Clock

NETWORKS = ("facebook", "instagram")


def run_lab(tmp_path, **env: str):
    """A lab whose Facebook and Instagram are the stand-ins, with a clock the test moves."""
    settings = make_settings(tmp_path, LAB_SANDBOX="1", **env)
    lab = start(port=0, sandbox=None, settings=settings, show=False)
    lab.clock = Clock()
    flows_of(lab.context.app).clock = lab.clock
    return lab


@pytest.fixture
def lab(tmp_path):
    return run_lab(tmp_path)


def to_callback(browser: requests.Session, lab, network: str, allow: bool = True) -> str:
    """Start the flow and click on the consent page; the callback URL the browser goes to."""
    started = browser.get(f"{lab.url}/oauth/{network}/start", allow_redirects=False, timeout=10)
    assert started.status_code == 302, started.text
    dialog = started.headers["Location"]
    page = browser.get(dialog, timeout=10)
    assert page.status_code == 200 and "Permitir" in page.text
    clicked = browser.post(
        dialog, data={"decision": "allow" if allow else "deny"}, allow_redirects=False, timeout=10
    )
    assert clicked.status_code == 302
    callback = clicked.headers["Location"]
    assert callback.startswith(f"{lab.url}/oauth/{network}/callback?")
    return callback


def connect(lab, network: str) -> requests.Response:
    browser = requests.Session()
    return browser.get(to_callback(browser, lab, network), timeout=10)


def meta_connections(lab) -> list:
    """Facebook and Instagram connections made through OAuth (the sandbox also connects a demo
    account on every network, marked `demo`, which these tests leave alone)."""
    connections = TokenStore.for_settings(lab.settings, lab.store).list()
    return [
        c
        for c in connections
        if c.provider in ("facebook", "instagram") and not c.extra.get("demo")
    ]


def stored(lab) -> int:
    return len(meta_connections(lab))


def assert_sealed(lab, token: str) -> None:
    """The database holds the token only as a Fernet token, never in clear."""
    with lab.store.transaction(write=False) as tx:
        rows = tx.execute("SELECT access_token, refresh_token, extra FROM oauth_tokens").fetchall()
    assert rows
    for access, refresh, extra in rows:
        assert access.startswith("gAAAAA") and token not in access
        assert refresh is None or token not in refresh
        assert token not in str(extra)


def post(lab, network: str, body) -> requests.Response:
    return requests.post(
        f"{lab.url}/api/publish/{network}", json=body, headers=lab.api_headers, timeout=30
    )


# -- the provider definitions ----------------------------------------------------------------


def test_facebook_asks_the_dialog_host_and_exchanges_on_the_graph_host(tmp_path):
    settings = make_settings(tmp_path)
    facebook = meta_oauth.FACEBOOK
    assert facebook.authorize_url(settings) == "https://www.facebook.com/v26.0/dialog/oauth"
    assert facebook.token_url(settings) == "https://graph.facebook.com/v26.0/oauth/access_token"
    pinned = make_settings(tmp_path, GRAPH_API_VERSION="v25.0", GRAPH_API_BASE="https://g.test")
    assert facebook.token_url(pinned) == "https://g.test/v25.0/oauth/access_token"
    assert facebook.authorize_url(pinned) == "https://www.facebook.com/v25.0/dialog/oauth"
    instagram = meta_oauth.INSTAGRAM
    assert instagram.authorize_url(settings) == "https://api.instagram.com/oauth/authorize"
    assert instagram.token_url(settings) == "https://api.instagram.com/oauth/access_token"
    # a provider without token_base_setting keeps one host for both (LinkedIn)
    linkedin = linkedin_oauth.PROVIDER
    assert linkedin.token_url(settings) == "https://www.linkedin.com/oauth/v2/accessToken"
    assert linkedin.discovery_url(settings).endswith("/oauth/.well-known/openid-configuration")


# -- Facebook ----------------------------------------------------------------------------------


def test_facebook_connect_stores_the_page_token_encrypted_and_publishes(tmp_path, database_url):
    lab = run_lab(tmp_path, DATABASE_URL=database_url)
    standin = lab.sandbox["facebook"]
    browser = requests.Session()
    callback = to_callback(browser, lab, "facebook")
    dialog = standin.requests_to("/dialog/oauth")[0].query
    assert dialog["scope"] == "pages_show_list,pages_read_engagement,pages_manage_posts"
    assert dialog["client_id"] == lab.settings.meta_app_id
    assert dialog["redirect_uri"] == f"{lab.url}/oauth/facebook/callback"

    page = browser.get(callback, timeout=10)

    assert page.status_code == 200 and "Facebook conectado" in page.text
    assert "Página del curso" in page.text
    [code_exchange, long_exchange] = standin.requests_to("/oauth/access_token")
    assert code_exchange.path == "/v26.0/oauth/access_token"
    assert code_exchange.form["code"] == parse_qs(urlsplit(callback).query)["code"][0]
    assert code_exchange.form["redirect_uri"] == dialog["redirect_uri"]
    assert code_exchange.form["client_secret"] == lab.settings.meta_app_secret
    assert long_exchange.query["grant_type"] == "fb_exchange_token"
    [accounts] = standin.requests_to("/me/accounts")
    user_token = accounts.headers["Authorization"].removeprefix("Bearer ")
    assert standin.tokens[user_token].kind == "long"  # the Pages come from the 60-day token

    [connection] = meta_connections(lab)
    assert (connection.provider, connection.account_id) == ("facebook", standin.page_id)
    issued = standin.tokens[connection.access_token]
    assert issued.kind == "page" and issued.expires_at is None and connection.expires_at is None
    assert connection.extra["category"] == "Education"
    assert_sealed(lab, connection.access_token)

    answer = post(lab, "facebook", {"text": "Hola, página 📣", "image_url": PUBLIC_IMAGE})

    assert answer.status_code == 201, answer.text
    [created] = standin.posts
    assert answer.json() == {
        "network": "facebook",
        "id": created.id,
        "url": f"https://www.facebook.com/{created.id}",
    }
    [feed] = standin.requests_to("/feed")
    assert feed.method == "POST" and feed.path == f"/v26.0/{standin.page_id}/feed"
    assert feed.headers["Authorization"] == f"Bearer {connection.access_token}"
    assert feed.form == {"message": "Hola, página 📣", "link": PUBLIC_IMAGE}


@pytest.mark.parametrize(
    ("preset", "status", "words"),
    [
        ("expired_token", 409, "lab-server connect"),
        ("missing_permission", 403, "pages_manage_posts"),
        ("page_publishing_authorization", 403, "Page Publishing Authorization"),
        ("rate_limit", 429, "Demasiadas llamadas"),
    ],
)
def test_facebook_errors_keep_metas_message_and_code(lab, preset, status, words):
    assert connect(lab, "facebook").status_code == 200
    standin = lab.sandbox["facebook"]
    standin.fail_next(preset, "/feed")
    answer = post(lab, "facebook", {"text": "hola"})
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert words in body["message"]
    assert body["provider_code"] == standin.PRESETS[preset][1]
    assert body["provider_message"] == standin.PRESETS[preset][3]
    assert standin.posts == []


def test_facebook_without_pages_stores_nothing(lab):
    standin = lab.sandbox["facebook"]
    browser = requests.Session()
    started = browser.get(lab.url + "/oauth/facebook/start", allow_redirects=False, timeout=10)
    # the person unticks pages_show_list on the dialog: /me/accounts lists no Page
    dialog = started.headers["Location"].replace("pages_show_list%2C", "")
    back = browser.post(dialog, data={"decision": "allow"}, timeout=10)
    assert back.status_code == 400 and "ninguna página" in back.text
    assert stored(lab) == 0 and standin.requests_to("/me/accounts")


# -- Instagram ---------------------------------------------------------------------------------


def test_instagram_connect_exchanges_at_once_and_publishes_a_container(tmp_path, database_url):
    lab = run_lab(tmp_path, DATABASE_URL=database_url)
    standin = lab.sandbox["instagram"]

    page = connect(lab, "instagram")

    assert page.status_code == 200 and "Instagram conectado" in page.text
    [dialog] = standin.requests_to("/oauth/authorize")[:1]
    assert dialog.query["scope"] == "instagram_business_basic,instagram_business_content_publish"
    [code_exchange] = standin.requests_to("/oauth/access_token")
    assert code_exchange.method == "POST" and code_exchange.form["grant_type"] == (
        "authorization_code"
    )
    assert code_exchange.form["client_secret"] == lab.settings.instagram_app_secret
    [long_exchange] = standin.requests_to("/access_token")[1:]  # after /oauth/access_token
    assert long_exchange.query["grant_type"] == "ig_exchange_token"
    connection = TokenStore.for_settings(lab.settings, lab.store).get("instagram")
    assert (connection.account_id, connection.account_name) == (standin.ig_user_id, "curso_lab")
    assert standin.tokens[connection.access_token].kind == "long"
    assert connection.expires_at - connection.issued_at == timedelta(days=60)
    assert set(connection.scopes) == {
        "instagram_business_basic",
        "instagram_business_content_publish",
    }
    assert_sealed(lab, connection.access_token)

    standin.clear()
    answer = post(lab, "instagram", {"text": "Mi foto 📸", "image_url": PUBLIC_IMAGE})

    assert answer.status_code == 201, answer.text
    [created] = standin.posts
    assert answer.json()["network"] == "instagram" and answer.json()["id"] == created.id
    assert answer.json()["url"].startswith("https://www.instagram.com/p/")
    account = f"/v26.0/{standin.ig_user_id}"
    calls = [(r.method, r.path.removeprefix(account)) for r in standin.received]
    [container_id] = standin.containers
    assert calls[:2] == [("GET", "/content_publishing_limit"), ("POST", "/media")]
    polls = [c for c in calls if c == ("GET", f"/v26.0/{container_id}")]
    assert len(polls) >= 2  # IN_PROGRESS, then FINISHED
    assert ("POST", "/media_publish") in calls
    media = standin.requests_to("/media")[0]
    assert media.form == {"image_url": PUBLIC_IMAGE, "caption": "Mi foto 📸"}
    assert standin.requests_to("/media_publish")[0].form == {"creation_id": container_id}
    for request in standin.received:
        assert request.headers["Authorization"] == f"Bearer {connection.access_token}"


def test_instagram_refreshes_a_token_at_least_a_day_old(lab):
    connect(lab, "instagram")
    standin = lab.sandbox["instagram"]
    tokens = TokenStore.for_settings(lab.settings, lab.store)
    first = tokens.get("instagram")
    publish("instagram", "recién conectada", PUBLIC_IMAGE, lab=lab, clock=lab.clock)
    assert standin.requests_to("/refresh_access_token") == []  # 0 h old: not yet

    standin.clock.advance(hours=25)
    lab.clock.advance(hours=25)
    publish("instagram", "un día después", PUBLIC_IMAGE, lab=lab, clock=lab.clock)

    [refresh] = standin.requests_to("/refresh_access_token")
    assert refresh.query == {"grant_type": "ig_refresh_token", "access_token": first.access_token}
    renewed = tokens.get("instagram")
    assert renewed.access_token != first.access_token
    assert renewed.issued_at == lab.clock.now
    assert renewed.expires_at == lab.clock.now + timedelta(days=60)
    assert_sealed(lab, renewed.access_token)
    publish("instagram", "y otra", PUBLIC_IMAGE, lab=lab, clock=lab.clock)
    assert len(standin.requests_to("/refresh_access_token")) == 1  # fresh again


def test_an_expired_instagram_token_asks_to_reconnect_without_calling_meta(lab):
    connect(lab, "instagram")
    standin = lab.sandbox["instagram"]
    standin.clear()
    lab.clock.advance(days=61)
    answer = post(lab, "instagram", {"text": "tarde", "image_url": PUBLIC_IMAGE})
    assert answer.status_code == 409 and "/oauth/instagram/start" in answer.json()["message"]
    assert standin.requests_to() == []


@pytest.mark.parametrize(
    ("image_url", "words"),
    [
        (None, "Instagram no publica solo texto"),
        ("http://res.cloudinary.com/x.jpg", "no https"),
        ("https://127.0.0.1:5000/media/foto.jpg", "dirección privada"),
        ("https://localhost/foto.jpg", "nombre local"),
    ],
)
def test_instagram_needs_a_public_image_and_says_why(lab, image_url, words):
    connect(lab, "instagram")
    standin = lab.sandbox["instagram"]
    answer = post(lab, "instagram", {"text": "hola", "image_url": image_url})
    assert answer.status_code == 400 and words in answer.json()["message"]
    assert standin.containers == {}


def test_instagram_limit_and_missing_permission(lab):
    connect(lab, "instagram")
    standin = lab.sandbox["instagram"]
    standin.quota_total = 0
    full = post(lab, "instagram", {"text": "hola", "image_url": PUBLIC_IMAGE})
    assert full.status_code == 429 and "content_publishing_limit" in full.json()["message"]
    assert standin.containers == {}
    standin.quota_total = 100
    standin.fail_next("missing_permission", "/media")
    scope = post(lab, "instagram", {"text": "hola", "image_url": PUBLIC_IMAGE})
    assert scope.status_code == 403 and scope.json()["provider_code"] == 10


# -- what the callback refuses (both providers) ------------------------------------------------


@pytest.mark.parametrize("network", NETWORKS)
def test_denied_consent_is_a_spanish_page_and_stores_nothing(lab, network):
    browser = requests.Session()
    answer = browser.get(to_callback(browser, lab, network, allow=False), timeout=10)
    assert answer.status_code == 400 and "text/html" in answer.headers["Content-Type"]
    assert "No se concedió el acceso" in answer.text and "access_denied" in answer.text
    assert stored(lab) == 0


@pytest.mark.parametrize("network", NETWORKS)
def test_replayed_expired_and_foreign_states_are_refused(lab, network):
    browser = requests.Session()
    foreign = requests.get(to_callback(browser, lab, network), timeout=10)  # no cookie
    assert foreign.status_code == 400 and "otro navegador" in foreign.text

    late = to_callback(browser, lab, network)
    lab.clock.advance(minutes=10, seconds=1)
    expired = browser.get(late, timeout=10)
    assert expired.status_code == 400 and "expiró" in expired.text
    assert stored(lab) == 0

    callback = to_callback(browser, lab, network)
    assert browser.get(callback, timeout=10).status_code == 200
    replay = browser.get(callback, timeout=10)
    assert replay.status_code == 400 and "ya se usó" in replay.text
    assert stored(lab) == 1


@pytest.mark.parametrize("network", NETWORKS)
def test_a_code_meta_refuses_is_a_clear_page(lab, network):
    browser = requests.Session()
    callback = to_callback(browser, lab, network)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    answer = browser.get(
        f"{lab.url}/oauth/{network}/callback", params={"code": "forged", "state": state}, timeout=10
    )
    assert answer.status_code == 400 and "rechazó el intercambio" in answer.text
    assert "code" in answer.text.lower()  # Meta's own words are kept
    assert stored(lab) == 0


# -- fuzzing: bad input is a 4xx, never a 5xx --------------------------------------------------

texts = st.text(max_size=40)


@given(
    network=st.sampled_from(NETWORKS),
    query=st.dictionaries(
        st.sampled_from(["code", "state", "error", "error_description", "error_reason", "x"]),
        texts,
        max_size=5,
    ),
)
@hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_fuzzed_callbacks_are_4xx(lab, network, query):
    answer = requests.get(f"{lab.url}/oauth/{network}/callback", params=query, timeout=10)
    assert 400 <= answer.status_code < 500, answer.text
    assert stored(lab) == 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
image_urls = st.one_of(
    json_values,
    st.sampled_from([PUBLIC_IMAGE, "https://localhost/a.jpg", "http://x.test/a.jpg", ""]),
)


@pytest.fixture
def connected(lab):
    for network in NETWORKS:
        assert connect(lab, network).status_code == 200
    lab.sandbox["instagram"].processing_reads = 0  # FINISHED at the first read: no waits
    return lab


@given(
    network=st.sampled_from(NETWORKS),
    body=st.one_of(
        json_values,
        st.fixed_dictionaries({}, optional={"text": json_values, "image_url": image_urls}),
    ),
)
@hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_fuzzed_publish_bodies_are_never_5xx(connected, network, body):
    answer = requests.post(
        f"{connected.url}/api/publish/{network}",
        data=json.dumps(body),
        headers={"Content-Type": "application/json", **connected.api_headers},
        timeout=30,
    )
    assert answer.status_code in (201, 400, 429), answer.text
    if answer.status_code != 201:
        assert answer.json()["message"]


def test_no_token_or_secret_in_the_lab_logs(lab, caplog):
    for network in NETWORKS:
        connect(lab, network)
    standin = lab.sandbox["instagram"]
    standin.clock.advance(hours=25)
    lab.clock.advance(hours=25)
    publish("instagram", "con renovación", PUBLIC_IMAGE, lab=lab, clock=lab.clock)
    post(lab, "facebook", {"text": "hola"})
    logs = caplog.text + "\n" + lab.logs(5000)
    assert "/access_token?" in logs and "/refresh_access_token?" in logs  # the lines are there
    secrets = [lab.settings.meta_app_secret, lab.settings.instagram_app_secret]
    secrets += list(lab.sandbox["facebook"].tokens) + list(standin.tokens)
    for secret in secrets:
        assert secret not in logs
