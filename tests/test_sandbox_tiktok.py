"""The TikTok stand-in seen by plain HTTP clients (no kit code): OAuth, chunk rules, fuzzing."""

from __future__ import annotations

import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from lab_server.sandbox.tiktok import TikTokStandIn
from lab_server.tiktok import plan_chunks
from lab_server.tiktok.upload import MAX_CHUNK, MIN_CHUNK

from .test_linkedin import consent

MB = 1024 * 1024
REDIRECT = "http://127.0.0.1:8765/callback"


@pytest.fixture(scope="module")
def standin():
    box = TikTokStandIn()
    yield box
    box.stop()


def code_for(standin, verifier: str, scope: str = "user.info.basic,video.publish") -> str:
    """Authorize as a browser would, with a hex challenge; the code from the redirect."""
    browser = requests.Session()
    page = browser.get(
        standin.base_url + "/v2/auth/authorize/",
        params={
            "client_key": standin.client_key,
            "scope": scope,
            "response_type": "code",
            "redirect_uri": REDIRECT,
            "state": "s1",
            "code_challenge": hashlib.sha256(verifier.encode()).hexdigest(),
            "code_challenge_method": "S256",
        },
        timeout=10,
    )
    back = consent(browser, page, follow=False)
    query = parse_qs(urlsplit(back.headers["Location"]).query)
    assert query["state"] == ["s1"] and query["scopes"] == [scope]
    return query["code"][0]


def token_for(standin) -> dict:
    verifier = secrets.token_urlsafe(48)
    answer = requests.post(
        standin.base_url + "/v2/oauth/token/",
        data={
            "client_key": standin.client_key,
            "client_secret": standin.client_secret,
            "code": code_for(standin, verifier),
            "grant_type": "authorization_code",
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    return answer.json()


def api(standin, token: str, path: str, body) -> requests.Response:
    return requests.post(
        standin.base_url + path,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_tokens_rotate_for_a_plain_authlib_session(standin):
    token = token_for(standin)
    assert token["expires_in"] == 7200 and token["refresh_expires_in"] == 180 * 24 * 3600
    session = OAuth2Session(client_id=standin.client_key, token_endpoint_auth_method="none")
    keys = urlencode({"client_key": standin.client_key, "client_secret": standin.client_secret})
    url = standin.base_url + "/v2/oauth/token/"
    renewed = session.refresh_token(url, refresh_token=token["refresh_token"], body=keys)
    assert renewed["refresh_token"] != token["refresh_token"]
    with pytest.raises(OAuthError, match="invalid_grant"):  # the old one died
        session.refresh_token(url, refresh_token=token["refresh_token"], body=keys)
    raw = requests.post(
        url,
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        timeout=10,
    )
    assert raw.status_code == 200 and raw.json()["error"] == "invalid_client"  # 200 body


def test_wrong_verifier_and_reused_code(standin):
    verifier = secrets.token_urlsafe(48)
    code = code_for(standin, verifier)
    form = {
        "client_key": standin.client_key,
        "client_secret": standin.client_secret,
        "code": code,
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT,
    }
    url = standin.base_url + "/v2/oauth/token/"
    wrong = requests.post(url, data={**form, "code_verifier": "x" * 50}, timeout=10).json()
    assert wrong["error_description"] == "Code verifier or code challenge is invalid."
    assert "access_token" in requests.post(url, data={**form, "code_verifier": verifier}).json()
    assert requests.post(url, data={**form, "code_verifier": verifier}).json()["error"]


def test_chunks_must_follow_the_plan_in_order(standin):
    token = token_for(standin)["access_token"]
    size = 10 * MB + 7
    init = api(
        standin,
        token,
        "/v2/post/publish/video/init/",
        {
            "post_info": {"title": "t", "privacy_level": "SELF_ONLY"},
            "source_info": plan_chunks(size, 5 * MB).source_info(),
        },
    ).json()
    url = init["data"]["upload_url"]

    def put(first: int, last: int, mime: str = "video/mp4", total: int = size):
        headers = {"Content-Type": mime, "Content-Range": f"bytes {first}-{last}/{total}"}
        return requests.put(url, data=b"\0" * (last - first + 1), headers=headers, timeout=30)

    second = put(5 * MB, size - 1)
    assert second.status_code == 400 and "sequential" in second.json()["error"]["message"]
    assert put(0, 5 * MB - 1, mime="text/plain").status_code == 400
    assert put(0, 5 * MB - 1, total=size + 1).status_code == 400
    assert put(0, 4 * MB).status_code == 400  # not the chunk size
    assert put(0, 5 * MB - 1).status_code == 206
    assert put(5 * MB, size - 1).status_code == 201
    assert put(0, 5 * MB - 1).status_code == 400  # already complete
    status = api(
        standin, token, "/v2/post/publish/status/fetch/", {"publish_id": init["data"]["publish_id"]}
    )
    assert status.json()["data"]["uploaded_bytes"] == size


@pytest.mark.parametrize(
    ("size", "chunk", "expected"),
    [
        (300_000, 10 * MB, (300_000, 1)),
        (MIN_CHUNK, 10 * MB, (MIN_CHUNK, 1)),
        (12 * MB, 10 * MB, (10 * MB, 1)),
        (25 * MB, 10 * MB, (10 * MB, 2)),
        (25 * MB, 1 * MB, (MIN_CHUNK, 5)),
        (200 * MB, 100 * MB, (MAX_CHUNK, 3)),
        (64 * MB + 1, 40 * MB, (32 * MB, 2)),
        (6000 * MB, 5 * MB, (6 * MB, 1000)),
        (6001 * MB, 5 * MB, (6 * MB + 1049, 999)),
    ],
)
def test_chunk_plans(size, chunk, expected):
    plan = plan_chunks(size, chunk)
    assert (plan.chunk_size, plan.total_chunk_count) == expected
    chunks = plan.chunks()
    assert chunks[0].first == 0 and chunks[-1].last == size - 1
    assert all(a.last + 1 == b.first for a, b in zip(chunks, chunks[1:], strict=False))


@given(st.integers(1, 4 * 1024 * MB), st.integers(1, 200 * MB))
def test_every_plan_the_kit_makes_is_one_the_standin_accepts(size, chunk):
    plan = plan_chunks(size, chunk)
    problem = TikTokStandIn._chunk_problem(plan.video_size, plan.chunk_size, plan.total_chunk_count)
    assert problem is None


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
PATHS = st.sampled_from(
    [
        "/v2/post/publish/video/init/",
        "/v2/post/publish/content/init/",
        "/v2/post/publish/inbox/video/init/",
        "/v2/post/publish/status/fetch/",
        "/v2/post/publish/creator_info/query/",
    ]
)


@hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=PATHS,
    body=JSON,
    source=st.dictionaries(
        st.sampled_from(["source", "video_size", "chunk_size", "total_chunk_count", "video_url"]),
        JSON,
    ),
)
def test_fuzzed_api_bodies_get_4xx_never_5xx(standin, path, body, source):
    token = standin._fuzz_token if hasattr(standin, "_fuzz_token") else None
    if token is None:
        token = standin._fuzz_token = token_for(standin)["access_token"]
    standin.advance(61)  # keep clear of the rate limits
    for payload in (
        body,
        {"post_info": {"title": "x", "privacy_level": "SELF_ONLY"}, "source_info": source},
    ):
        answer = api(standin, token, path, payload)
        assert answer.status_code < 500, answer.text
        assert "error" in answer.json()


@hsettings(max_examples=60, deadline=None)
@given(
    content_range=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
    | st.builds(
        lambda a, b, c: f"bytes {a}-{b}/{c}",
        st.integers(-5, 10**8),
        st.integers(-5, 10**8),
        st.integers(-5, 10**8),
    ),
    mime=st.sampled_from(["video/mp4", "video/webm", "", "image/png"]),
    upload_id=st.text(max_size=20),
)
def test_fuzzed_chunks_get_4xx_never_5xx(standin, content_range, mime, upload_id):
    answer = requests.put(
        standin.base_url + "/video/",
        params={"upload_id": upload_id},
        data=b"\0" * 64,
        headers={"Content-Type": mime, "Content-Range": content_range.strip() or "x"},
        timeout=10,
    )
    assert 400 <= answer.status_code < 500, answer.text


# -- one creator per student, the posting limit ---------------------------------------------


@pytest.fixture
def fresh():
    """A stand-in of its own: these tests move its clock and fill its rate limits."""
    box = TikTokStandIn()
    yield box
    box.stop()


def direct_post(standin, token: str, url: str = "https://cdn.example.com/a.mp4"):
    body = {
        "post_info": {"title": "t", "privacy_level": "SELF_ONLY"},
        "source_info": {"source": "PULL_FROM_URL", "video_url": url},
    }
    return api(standin, token, "/v2/post/publish/video/init/", body)


def test_each_student_is_a_creator_of_their_own(fresh):
    first, again = fresh.demo().accounts[0], fresh.demo(0).accounts[0]
    one, two = fresh.demo(1).accounts[0], fresh.demo(2).accounts[0]
    assert first.account_id == again.account_id == fresh.creator.open_id
    assert first.account_name == "Ana Estudiante" and one.account_name == "Estudiante 1"
    assert len({first.account_id, one.account_id, two.account_id}) == 3
    assert fresh.demo(1).accounts[0].account_id == one.account_id  # same student, same creator
    for account in (first, one, two):
        me = requests.get(
            fresh.base_url + "/v2/user/info/",
            params={"fields": "open_id,display_name"},
            headers={"Authorization": f"Bearer {account.access_token}"},
            timeout=10,
        ).json()["data"]["user"]
        assert me == {"open_id": account.account_id, "display_name": account.account_name}
        info = api(fresh, account.access_token, "/v2/post/publish/creator_info/query/", {})
        assert info.json()["data"]["creator_nickname"] == account.account_name
    renewed = requests.post(
        fresh.base_url + "/v2/oauth/token/",
        data={
            "client_key": fresh.client_key,
            "client_secret": fresh.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": two.refresh_token,
        },
        timeout=10,
    ).json()
    assert renewed["open_id"] == two.account_id


def test_a_creator_cannot_follow_another_creators_post(fresh):
    fresh.audited = True
    fresh.processing_polls = 0
    one, two = fresh.demo(1).accounts[0], fresh.demo(2).accounts[0]
    for student in (1, 2):
        fresh.creator_for(student).privacy_level_options += ("PUBLIC_TO_EVERYONE",)
    body = {
        "post_info": {"title": "de uno", "privacy_level": "PUBLIC_TO_EVERYONE"},
        "source_info": plan_chunks(300_000, 10 * MB).source_info(),
    }
    init = api(fresh, one.access_token, "/v2/post/publish/video/init/", body).json()["data"]
    put = requests.put(
        init["upload_url"],
        data=b"\0" * 300_000,
        headers={"Content-Type": "video/mp4", "Content-Range": "bytes 0-299999/300000"},
        timeout=10,
    )
    assert put.status_code == 201
    status = "/v2/post/publish/status/fetch/"
    other = api(fresh, two.access_token, status, {"publish_id": init["publish_id"]})
    assert other.status_code == 400 and other.json()["error"]["code"] == "invalid_params"
    own = api(fresh, one.access_token, status, {"publish_id": init["publish_id"]}).json()
    assert own["data"]["status"] == "PUBLISH_COMPLETE"
    photo = {
        "media_type": "PHOTO",
        "post_mode": "DIRECT_POST",
        "post_info": {"title": "foto", "privacy_level": "PUBLIC_TO_EVERYONE"},
        "source_info": {"source": "PULL_FROM_URL", "photo_images": ["https://example.com/f.jpg"]},
    }
    assert api(fresh, two.access_token, "/v2/post/publish/content/init/", photo).status_code == 200

    def listed(account) -> list[str]:
        answer = requests.post(
            fresh.base_url + "/v2/video/list/",
            params={"fields": "id,share_url"},
            json={"max_count": 20},
            headers={"Authorization": f"Bearer {account.access_token}"},
            timeout=10,
        )
        return [v["share_url"] for v in answer.json()["data"]["videos"]]

    assert listed(one) == [
        f"https://www.tiktok.com/@estudiante.1/video/{own['data']['publicaly_available_post_id'][0]}"
    ]
    assert listed(two) == []


def test_the_seventh_init_in_a_minute_is_refused_per_token(fresh):
    token, other = fresh.demo(1).accounts[0].access_token, fresh.demo(2).accounts[0].access_token
    assert fresh.posting.limit.calls == 6 and fresh.posting.limit.seconds == 60
    for _ in range(6):
        assert direct_post(fresh, token).status_code == 200
    refused = direct_post(fresh, token)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert direct_post(fresh, other).status_code == 200  # another creator's token: its own
    fresh.advance(59)
    assert direct_post(fresh, token).status_code == 429
    fresh.advance(1.5)
    assert direct_post(fresh, token).status_code == 200
    assert fresh.posting.peaks() == {token: 6, other: 1}
    assert fresh.posting.used(token) == 1
