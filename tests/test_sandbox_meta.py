"""The Facebook and Instagram stand-ins for a class: one Page or professional account per
student, tokens bound to it, and Instagram's 50 posts per account per 24 h."""

from __future__ import annotations

import pytest
import requests

from lab_server.oauth.errors import OAuthError
from lab_server.sandbox.meta import FacebookStandIn, InstagramStandIn

from .meta_support import PUBLIC_IMAGE
from .student_accounts import student

DAY = 86400
V = "v26.0"


@pytest.fixture
def facebook():
    box = FacebookStandIn()
    yield box
    box.stop()


@pytest.fixture
def instagram():
    box = InstagramStandIn()
    box.processing_reads = 0  # FINISHED at the first status read: no waiting
    yield box
    box.stop()


def graph(standin, method: str, path: str, token: str, **params: str) -> requests.Response:
    """A Graph call with plain requests: the token as `access_token`, as Meta documents."""
    url = f"{standin.base_url}/{V}/{path}"
    params = {**params, "access_token": token}
    if method == "GET":
        return requests.get(url, params=params, timeout=5)
    return requests.post(url, data=params, timeout=5)


def error_of(answer: requests.Response) -> tuple[int, int | None]:
    error = answer.json()["error"]
    return error["code"], error.get("error_subcode")


# -- Facebook -------------------------------------------------------------------------------


def test_each_student_has_their_own_page_and_page_token(facebook):
    assert facebook.posting is None  # Meta publishes no per-Page posting limit
    ana, first, second = (facebook.demo(n).accounts[0] for n in (0, 1, 2))
    assert (ana.account_id, ana.account_name) == (facebook.page_id, "Página del curso")
    assert len({ana.account_id, first.account_id, second.account_id}) == 3
    assert first.account_name == "Página de Estudiante 1"
    again = facebook.demo(1).accounts[0]
    assert again.account_id == first.account_id and again.access_token != first.access_token
    for account in (ana, first, again):
        me = graph(facebook, "GET", "me", account.access_token).json()  # a Page token: the Page
        assert me == {"id": account.account_id, "name": account.account_name}


def test_two_students_post_on_their_own_pages_through_the_kit(tmp_path, facebook):
    one, two = student(tmp_path, facebook, 1), student(tmp_path, facebook, 2)
    first, second = one.publish("Hola desde mi página"), two.publish("Hola desde mi página")
    page_one, page_two = one.account.account_id, two.account.account_id
    assert first.id.startswith(page_one + "_") and second.id.startswith(page_two + "_")
    assert {(p.id, p.account) for p in facebook.posts} == {
        (first.id, page_one),
        (second.id, page_two),
    }
    feed = graph(facebook, "GET", f"{page_one}/feed", one.token).json()["data"]
    assert [p["id"] for p in feed] == [first.id]


def test_a_page_token_cannot_post_on_or_read_another_students_page(facebook):
    token = facebook.demo(1).accounts[0].access_token
    other_page = facebook.demo(2).accounts[0].account_id
    for method in ("POST", "GET"):
        answer = graph(facebook, method, f"{other_page}/feed", token, message="Suplantación")
        assert answer.status_code == 400 and error_of(answer) == (100, 33)
    assert facebook.posts == []


# -- Instagram ------------------------------------------------------------------------------


def publish_raw(standin: InstagramStandIn, ig_id: str, token: str, caption: str):
    """Container -> one status read -> media_publish; returns (container id, publish answer)."""
    created = graph(
        standin, "POST", f"{ig_id}/media", token, image_url=PUBLIC_IMAGE, caption=caption
    )
    container = created.json()["id"]
    status = graph(standin, "GET", container, token, fields="status_code").json()
    assert status["status_code"] == "FINISHED"
    return container, graph(standin, "POST", f"{ig_id}/media_publish", token, creation_id=container)


def quota(standin: InstagramStandIn, ig_id: str, token: str) -> dict:
    answer = graph(
        standin, "GET", f"{ig_id}/content_publishing_limit", token, fields="quota_usage,config"
    )
    return answer.json()["data"][0]


def test_each_student_has_their_own_professional_account(instagram):
    ana, first, second = (instagram.demo(n).accounts[0] for n in (0, 1, 2))
    assert (ana.account_id, ana.account_name) == (instagram.ig_user_id, "curso_lab")
    assert len({ana.account_id, first.account_id, second.account_id}) == 3
    assert first.account_name == "estudiante_1" and first.extra == {"username": "estudiante_1"}
    again = instagram.demo(1).accounts[0]
    assert again.account_id == first.account_id and again.access_token != first.access_token
    for account in (ana, first, again):
        me = graph(instagram, "GET", "me", account.access_token, fields="user_id,username").json()
        assert (me["user_id"], me["username"]) == (account.account_id, account.account_name)


def test_two_students_publish_on_their_own_accounts_through_the_kit(tmp_path, instagram):
    one, two = student(tmp_path, instagram, 1), student(tmp_path, instagram, 2)
    first = one.publish("Foto del curso", PUBLIC_IMAGE)
    second = two.publish("Foto del curso", PUBLIC_IMAGE)
    ig_one, ig_two = one.account.account_id, two.account.account_id
    assert {(p.id, p.account) for p in instagram.posts} == {(first.id, ig_one), (second.id, ig_two)}
    media = graph(instagram, "GET", f"{ig_one}/media", one.token).json()["data"]
    assert [m["id"] for m in media] == [first.id]
    assert graph(instagram, "GET", first.id, one.token).json()["id"] == first.id
    assert error_of(graph(instagram, "GET", second.id, one.token)) == (100, 33)
    assert instagram.posting.peaks() == {ig_one: 1, ig_two: 1}


def test_a_token_cannot_use_another_students_account_or_container(instagram):
    token = instagram.demo(1).accounts[0].access_token
    other = instagram.demo(2).accounts[0]
    for method, edge in [("POST", "media"), ("GET", "media"), ("GET", "content_publishing_limit")]:
        answer = graph(
            instagram, method, f"{other.account_id}/{edge}", token, image_url=PUBLIC_IMAGE
        )
        assert answer.status_code == 400 and error_of(answer) == (100, 33), edge
    # the other student's own container: neither readable nor publishable with this token
    container = graph(
        instagram, "POST", f"{other.account_id}/media", other.access_token, image_url=PUBLIC_IMAGE
    ).json()["id"]
    assert error_of(graph(instagram, "GET", container, token)) == (100, 33)
    mine = instagram.demo(1).accounts[0].account_id
    stolen = graph(instagram, "POST", f"{mine}/media_publish", token, creation_id=container)
    assert error_of(stolen) == (100, 33)
    assert instagram.posts == []


def test_the_51st_post_in_24_hours_is_refused_with_code_9(tmp_path, instagram):
    assert (instagram.posting.limit.calls, instagram.posting.limit.seconds) == (50, DAY)
    one = student(tmp_path, instagram, 1)
    ig_id, token = one.account.account_id, one.token
    for n in range(30):
        assert publish_raw(instagram, ig_id, token, f"foto {n}")[1].status_code == 200
    instagram.advance(12 * 3600)
    for n in range(30, 50):
        assert publish_raw(instagram, ig_id, token, f"foto {n}")[1].status_code == 200
    assert quota(instagram, ig_id, token) == {
        "quota_usage": 50,
        "config": {"quota_total": 50, "quota_duration": DAY},
    }

    container, refused = publish_raw(instagram, ig_id, token, "foto 50")
    assert refused.status_code == 400 and error_of(refused) == (9, 2207042)
    assert refused.json()["error"]["is_transient"] is False
    assert instagram.containers[container].status_code == "FINISHED"  # not published
    assert len(instagram.posts) == 50
    with pytest.raises(OAuthError, match="50 de 50"):  # the kit checks the limit first
        one.publish("por el kit", PUBLIC_IMAGE)
    # another student's account has its own count
    other = instagram.demo(2).accounts[0]
    assert quota(instagram, other.account_id, other.access_token)["quota_usage"] == 0
    assert publish_raw(instagram, other.account_id, other.access_token, "x")[1].status_code == 200

    instagram.advance(12 * 3600)  # the first 30 are now 24 hours old
    assert quota(instagram, ig_id, token)["quota_usage"] == 20
    again = graph(instagram, "POST", f"{ig_id}/media_publish", token, creation_id=container)
    assert again.status_code == 200  # the refused container publishes now
    assert quota(instagram, ig_id, token)["quota_usage"] == 21
    assert instagram.posting.peaks() == {ig_id: 50, other.account_id: 1}
