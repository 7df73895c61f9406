"""The kit's Facebook and Instagram clients against the stand-ins, over real HTTP."""

from __future__ import annotations

import pytest

from lab_server.meta import (
    ContainerError,
    FacebookClient,
    GraphAPIError,
    InstagramClient,
    MetaConnectionError,
    PublishingLimitReached,
    instagram_refresh_due,
)
from lab_server.meta.client import GraphClient

from .meta_support import (
    FB_CALLBACK,
    IG_CALLBACK,
    PUBLIC_IMAGE,
    facebook_dialog_url,
    instagram_authorize_url,
    query_of,
)


def no_sleep(_seconds: float) -> None:
    pass


@pytest.fixture
def facebook(meta_box):
    """(stand-in, client, page id, page token) after a full Facebook Login."""
    box, settings = meta_box
    standin, client = box["facebook"], FacebookClient(settings)
    code = query_of(standin.approve(facebook_dialog_url(settings)))["code"]
    long_lived = client.long_lived_user_token(client.exchange_code(code, FB_CALLBACK).access_token)
    (page,) = client.pages(long_lived.access_token)
    return standin, client, page["id"], page["access_token"]


@pytest.fixture
def instagram(meta_box):
    """(stand-in, client, IG user id, long-lived token) after a full Instagram Login."""
    box, settings = meta_box
    standin, client = box["instagram"], InstagramClient(settings)
    code = query_of(standin.approve(instagram_authorize_url(settings)))["code"]
    short = client.exchange_code(code, IG_CALLBACK)
    long_lived = client.long_lived_token(short.access_token)
    return standin, client, client.me(long_lived.access_token)["user_id"], long_lived.access_token


# -- Facebook -------------------------------------------------------------------------------


def test_facebook_login_yields_a_long_lived_token_and_a_page_token(meta_box):
    box, settings = meta_box
    client = FacebookClient(settings)
    redirect = box["facebook"].approve(facebook_dialog_url(settings, state="abc"))
    assert redirect.startswith(FB_CALLBACK + "?") and query_of(redirect)["state"] == "abc"
    short = client.exchange_code(query_of(redirect)["code"], FB_CALLBACK)
    assert short.expires_in == 2 * 3600
    long_lived = client.long_lived_user_token(short.access_token)
    assert long_lived.expires_in == 60 * 86400 and long_lived.access_token != short.access_token
    pages = client.pages(long_lived.access_token)
    assert [p["name"] for p in pages] == ["Página del curso"]
    assert "CREATE_CONTENT" in pages[0]["tasks"]


def test_facebook_post_reaches_the_page_feed(facebook):
    standin, client, page_id, page_token = facebook
    published = client.post(page_id, page_token, "Hola desde el curso", link=PUBLIC_IMAGE)
    assert published.network == "facebook" and published.id.startswith(page_id + "_")
    assert published.url == f"https://www.facebook.com/{published.id}"
    (post,) = standin.posts
    assert (post.id, post.text, post.image_url) == (
        published.id,
        "Hola desde el curso",
        PUBLIC_IMAGE,
    )
    (call,) = standin.requests_to(f"/{page_id}/feed")
    assert call.method == "POST" and call.headers["Authorization"] == f"Bearer {page_token}"
    assert call.form == {"message": "Hola desde el curso", "link": PUBLIC_IMAGE}


def test_a_user_token_cannot_post_as_the_page(meta_box, facebook):
    _, client, page_id, _ = facebook
    box, settings = meta_box
    standin = box["facebook"]
    code = query_of(standin.approve(facebook_dialog_url(settings)))["code"]
    user_token = client.exchange_code(code, FB_CALLBACK).access_token
    with pytest.raises(GraphAPIError) as info:
        client.post(page_id, user_token, "hola")
    assert info.value.code == 200 and info.value.missing_permission
    assert "pages_manage_posts" in str(info.value) and "fbtrace_id" in str(info.value)


def test_without_pages_manage_posts_the_page_token_cannot_post(meta_box):
    box, settings = meta_box
    standin, client = box["facebook"], FacebookClient(settings)
    url = facebook_dialog_url(settings, scopes=("pages_show_list", "pages_read_engagement"))
    code = query_of(standin.approve(url))["code"]
    (page,) = client.pages(client.exchange_code(code, FB_CALLBACK).access_token)
    with pytest.raises(GraphAPIError, match="Falta un permiso"):
        client.post(page["id"], page["access_token"], "hola")
    assert standin.posts == []


@pytest.mark.parametrize(
    ("preset", "code", "subcode", "fix"),
    [
        ("expired_token", 190, 463, "vuelve a conectar"),
        ("missing_permission", 200, None, "pages_manage_posts"),
        ("page_publishing_authorization", 200, 1404078, "Page Publishing Authorization"),
        ("rate_limit", 4, None, "espera"),
    ],
)
def test_facebook_errors_on_demand_are_explained(facebook, preset, code, subcode, fix):
    standin, client, page_id, page_token = facebook
    standin.fail_next(preset, "/feed")
    with pytest.raises(GraphAPIError) as info:
        client.post(page_id, page_token, "hola")
    error = info.value
    assert (error.code, error.subcode) == (code, subcode)
    assert error.fbtrace_id and error.fbtrace_id in str(error)
    assert error.message in str(error) and fix in str(error)
    assert standin.posts == []
    client.post(page_id, page_token, "hola")  # one failure only
    assert len(standin.posts) == 1


def test_a_used_or_foreign_code_is_refused(meta_box):
    box, settings = meta_box
    standin, client = box["facebook"], FacebookClient(settings)
    code = query_of(standin.approve(facebook_dialog_url(settings)))["code"]
    with pytest.raises(GraphAPIError, match="redirect_uri"):
        client.exchange_code(code, "https://otro.example.org/callback")
    client.exchange_code(code, FB_CALLBACK)
    with pytest.raises(GraphAPIError, match="has been used") as info:
        client.exchange_code(code, FB_CALLBACK)
    assert info.value.subcode == 36009


def test_a_code_expires_after_ten_minutes(meta_box):
    box, settings = meta_box
    standin, client = box["facebook"], FacebookClient(settings)
    code = query_of(standin.approve(facebook_dialog_url(settings)))["code"]
    standin.clock.advance(seconds=601)
    with pytest.raises(GraphAPIError, match="expired") as info:
        client.exchange_code(code, FB_CALLBACK)
    assert info.value.subcode == 36007


def test_denied_consent_redirects_with_the_error_and_the_state(meta_box):
    box, settings = meta_box
    redirect = box["facebook"].approve(facebook_dialog_url(settings, state="q"), allow=False)
    assert query_of(redirect) == {
        "error": "access_denied",
        "error_reason": "user_denied",
        "error_description": "Permissions error.",
        "state": "q",
    }


def test_facebook_token_lifecycle_with_the_clock(facebook, meta_box):
    standin, client, page_id, page_token = facebook
    box, settings = meta_box
    code = query_of(standin.approve(facebook_dialog_url(settings)))["code"]
    short = client.exchange_code(code, FB_CALLBACK)
    long_lived = client.long_lived_user_token(short.access_token)
    standin.clock.advance(hours=3)
    with pytest.raises(GraphAPIError) as info:
        client.me(short.access_token)
    assert (info.value.code, info.value.subcode) == (190, 463)
    assert "Session has expired" in info.value.message
    assert client.me(long_lived.access_token)["name"] == "Ana Estudiante"
    standin.clock.advance(days=61)
    with pytest.raises(GraphAPIError, match="El token venció"):
        client.pages(long_lived.access_token)
    client.post(page_id, page_token, "El token de página no vence")


def test_the_app_secret_is_checked_and_never_shown(meta_box):
    box, settings = meta_box
    wrong = settings.with_values({"META_APP_SECRET": "secreto-equivocado-1234"})
    with pytest.raises(GraphAPIError, match="client secret") as info:
        FacebookClient(wrong).long_lived_user_token("EAAcualquiera")
    assert "secreto-equivocado" not in str(info.value)


def test_an_unreachable_graph_api_is_explained_without_the_token(meta_box):
    client = GraphClient("http://127.0.0.1:9", "v26.0", timeout=2)
    with pytest.raises(MetaConnectionError, match="No se pudo conectar") as info:
        client.call("GET", client.url("me"), "EAAtoken-secreto-abcd", params={"a": "b"})
    assert "token-secreto" not in str(info.value)


# -- Instagram ------------------------------------------------------------------------------


def test_instagram_login_strips_the_fragment_and_exchanges_at_once(meta_box):
    box, settings = meta_box
    standin, client = box["instagram"], InstagramClient(settings)
    redirect = standin.approve(instagram_authorize_url(settings))
    assert redirect.endswith("#_")
    code = query_of(redirect)["code"]
    short = client.exchange_code(code + "#_", IG_CALLBACK)  # copied with the fragment
    assert short.user_id == standin.ig_user_id
    assert short.permissions == ("instagram_business_basic", "instagram_business_content_publish")
    long_lived = client.long_lived_token(short.access_token)
    assert long_lived.expires_in == 60 * 86400
    (exchange,) = standin.requests_to("/access_token")[-1:]
    assert exchange.query["grant_type"] == "ig_exchange_token"


def test_instagram_post_is_container_then_poll_then_publish(instagram):
    standin, client, ig_id, token = instagram
    standin.processing_reads = 2
    published = client.publish_photo(ig_id, token, PUBLIC_IMAGE, "Hola Instagram", sleep=no_sleep)
    assert published.network == "instagram" and published.url.startswith(
        "https://www.instagram.com/p/"
    )
    graph = [(r.method, r.path.split("/", 2)[-1]) for r in standin.received if "/v" in r.path]
    calls = graph[-7:]
    container_id = calls[2][1]
    assert calls == [
        ("GET", f"{ig_id}/content_publishing_limit"),
        ("POST", f"{ig_id}/media"),
        *[("GET", container_id)] * 3,  # IN_PROGRESS, IN_PROGRESS, FINISHED
        ("POST", f"{ig_id}/media_publish"),
        ("GET", published.id),  # permalink
    ]
    (post,) = standin.posts
    assert (post.text, post.image_url) == ("Hola Instagram", PUBLIC_IMAGE)
    publish = standin.requests_to("/media_publish")[-1]
    assert publish.form == {"creation_id": container_id}
    statuses = [c.status_code for c in standin.containers.values()]
    assert statuses == ["PUBLISHED"]


def test_a_private_image_url_ends_in_error_and_is_explained(instagram):
    standin, client, ig_id, token = instagram
    for url, why in [
        ("https://localhost/foto.jpg", "nombre local"),
        ("https://192.168.1.20/foto.jpg", "dirección privada"),
        ("http://res.cloudinary.com/demo/sample.jpg", "no https"),
    ]:
        with pytest.raises(ContainerError) as info:
            client.publish_photo(ig_id, token, url, "hola", sleep=no_sleep)
        assert info.value.status_code == "ERROR" and why in str(info.value)
    assert standin.posts == []


def test_the_limit_is_checked_before_creating_a_container(instagram):
    standin, client, ig_id, token = instagram
    standin.quota_total = 2
    for n in range(2):
        client.publish_photo(ig_id, token, PUBLIC_IMAGE, f"post {n}", sleep=no_sleep)
    assert client.publishing_limit(ig_id, token) == (2, 2, 24.0)
    containers = len(standin.containers)
    with pytest.raises(PublishingLimitReached, match="2 de 2"):
        client.publish_photo(ig_id, token, PUBLIC_IMAGE, "uno más", sleep=no_sleep)
    assert len(standin.containers) == containers
    standin.clock.advance(hours=24)
    assert client.publishing_limit(ig_id, token)[0] == 0


def test_publishing_over_the_limit_gets_code_9(instagram):
    standin, client, ig_id, token = instagram
    standin.quota_total = 100
    container = client.create_container(ig_id, token, PUBLIC_IMAGE, "x")
    client.wait_until_finished(container, token, PUBLIC_IMAGE, sleep=no_sleep)
    standin.quota_total = 0
    with pytest.raises(GraphAPIError) as info:
        client.publish_container(ig_id, token, container)
    assert (info.value.code, info.value.subcode) == (9, 2207042)
    assert "límite de publicaciones" in str(info.value)


def test_publishing_a_container_that_is_not_ready_is_refused(instagram):
    standin, client, ig_id, token = instagram
    container = client.create_container(ig_id, token, PUBLIC_IMAGE, "x")
    with pytest.raises(GraphAPIError, match="FINISHED") as info:
        client.publish_container(ig_id, token, container)
    assert (info.value.code, info.value.subcode) == (9007, 2207027)


@pytest.mark.parametrize(
    ("preset", "code", "fix"),
    [
        ("expired_token", 190, "vuelve a conectar"),
        ("missing_permission", 10, "permiso"),
        ("publishing_limit", 9, "límite"),
        ("media_download_failed", 9004, "Cloudinary"),
    ],
)
def test_instagram_errors_on_demand_are_explained(instagram, preset, code, fix):
    standin, client, ig_id, token = instagram
    standin.fail_next(preset, "/media")
    with pytest.raises(GraphAPIError) as info:
        client.publish_photo(ig_id, token, PUBLIC_IMAGE, "hola", sleep=no_sleep)
    assert info.value.code == code and info.value.network == "instagram"
    assert fix in str(info.value) and info.value.message in str(info.value)


def test_a_token_without_the_publish_scope_cannot_create_containers(meta_box):
    box, settings = meta_box
    standin, client = box["instagram"], InstagramClient(settings)
    url = instagram_authorize_url(settings, scopes=("instagram_business_basic",))
    short = client.exchange_code(query_of(standin.approve(url))["code"], IG_CALLBACK)
    ig_id = client.me(short.access_token)["user_id"]
    with pytest.raises(GraphAPIError) as info:
        client.create_container(ig_id, short.access_token, PUBLIC_IMAGE)
    assert info.value.code == 10 and info.value.missing_permission


def test_instagram_token_lifecycle_with_the_clock(instagram):
    standin, client, ig_id, token = instagram
    issued = standin.clock.now()
    assert not instagram_refresh_due(issued, issued + 60 * 86400, standin.clock.now())
    with pytest.raises(GraphAPIError, match="24 hours"):
        client.refresh(token)  # too young
    standin.clock.advance(hours=25)
    assert instagram_refresh_due(issued, issued + 60 * 86400, standin.clock.now())
    fresh = client.refresh(token)
    assert fresh.expires_in == 60 * 86400 and fresh.access_token != token
    standin.clock.advance(days=59)  # the old token is gone, the new one still works
    with pytest.raises(GraphAPIError) as info:
        client.me(token)
    assert info.value.expired_token
    assert client.me(fresh.access_token)["user_id"] == ig_id
    assert not instagram_refresh_due(issued, issued + 60 * 86400, standin.clock.now())


def test_a_short_token_expires_after_one_hour(meta_box):
    box, settings = meta_box
    standin, client = box["instagram"], InstagramClient(settings)
    code = query_of(standin.approve(instagram_authorize_url(settings)))["code"]
    short = client.exchange_code(code, IG_CALLBACK)
    standin.clock.advance(hours=1)
    with pytest.raises(GraphAPIError, match="Un token corto dura 1 hora"):
        client.long_lived_token(short.access_token)


def test_an_instagram_token_on_the_facebook_host_cannot_be_parsed(meta_box, instagram):
    _, _, _, token = instagram
    _, settings = meta_box
    with pytest.raises(GraphAPIError, match="Cannot parse access token") as info:
        FacebookClient(settings).me(token)
    assert "graph.facebook.com" in str(info.value)
