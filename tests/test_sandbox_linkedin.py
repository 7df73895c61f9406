"""The LinkedIn stand-in for a class: one member per student, 150 posts per member per day."""

from __future__ import annotations

import pytest
import requests

from lab_server.oauth.errors import RateLimitError
from lab_server.pipeline.policy import Verdict, classify
from lab_server.sandbox.linkedin import LinkedInStandIn

from .student_accounts import student

DAY = 86400
VERSION_HEADERS = {"LinkedIn-Version": "202601", "X-Restli-Protocol-Version": "2.0.0"}


@pytest.fixture
def standin():
    box = LinkedInStandIn()
    yield box
    box.stop()


def userinfo(standin: LinkedInStandIn, token: str) -> requests.Response:
    return requests.get(
        standin.base_url + "/v2/userinfo", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )


def create_post(standin: LinkedInStandIn, token: str, author: str, text: str) -> requests.Response:
    """POST /rest/posts as the Posts API documents it, with plain requests."""
    body = {
        "author": author,
        "commentary": text,
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": []},
        "lifecycleState": "PUBLISHED",
    }
    headers = {"Authorization": f"Bearer {token}", **VERSION_HEADERS}
    return requests.post(standin.base_url + "/rest/posts", json=body, headers=headers, timeout=5)


def author(standin: LinkedInStandIn, number: int) -> str:
    return standin.demo(number).accounts[0].extra["author"]


def test_each_student_is_another_member_and_stays_the_same(standin):
    ana, first, second = (standin.demo(n).accounts[0] for n in (0, 1, 2))
    assert ana.account_id == standin.member.sub and ana.account_name == "Ana Estudiante"
    assert len({ana.account_id, first.account_id, second.account_id}) == 3
    assert first.account_name == "Estudiante 1"
    assert first.extra == {
        "author": f"urn:li:person:{first.account_id}",
        "email": "estudiante1@example.com",
    }
    again = standin.demo(1).accounts[0]
    assert again.account_id == first.account_id and again.access_token != first.access_token
    for account in (ana, first, second, again):
        claims = userinfo(standin, account.access_token).json()
        assert (claims["sub"], claims["name"]) == (account.account_id, account.account_name)


def test_two_students_publish_through_the_kit_as_themselves(tmp_path, standin):
    one, two = student(tmp_path, standin, 1), student(tmp_path, standin, 2)
    first = one.publish("Mi primera publicación")
    second = two.publish("Mi primera publicación")  # another author: not a duplicate
    by_urn = {post.urn: post for post in standin.posts}
    assert by_urn[first.id].body["author"] == f"urn:li:person:{one.account.account_id}"
    assert by_urn[second.id].body["author"] == f"urn:li:person:{two.account.account_id}"
    assert by_urn[first.id].headers["Authorization"] == f"Bearer {one.token}"
    assert standin.posting.peaks() == {
        f"urn:li:person:{one.account.account_id}": 1,
        f"urn:li:person:{two.account.account_id}": 1,
    }


def test_a_students_token_cannot_post_as_another_member(standin):
    token = standin.demo(1).accounts[0].access_token
    refused = create_post(standin, token, author(standin, 2), "Suplantación")
    assert refused.status_code == 422
    assert refused.json()["message"].startswith("ERROR :: /author ::")
    assert standin.posts == [] and standin.posting.peaks() == {}
    assert create_post(standin, token, author(standin, 1), "Como yo").status_code == 201


def test_the_151st_post_of_a_day_is_refused_until_the_day_has_passed(tmp_path, standin):
    assert (standin.posting.limit.calls, standin.posting.limit.seconds) == (150, DAY)
    one = student(tmp_path, standin, 1)
    mine, other = author(standin, 1), author(standin, 2)
    for n in range(100):
        assert create_post(standin, one.token, mine, f"post {n}").status_code == 201
    standin.advance(12 * 3600)
    for n in range(100, 150):
        assert create_post(standin, one.token, mine, f"post {n}").status_code == 201

    refused = create_post(standin, one.token, mine, "post 150")
    assert refused.status_code == 429
    assert refused.json() == {
        "status": 429,
        "serviceErrorCode": 0,
        "code": "TOO_MANY_REQUESTS",
        "message": "Resource level throttle limit for calls to this resource is reached.",
    }
    with pytest.raises(RateLimitError, match="medianoche UTC") as refusal:
        one.publish("por el kit")
    assert 0 < refusal.value.retry_after <= DAY  # the pipeline retries when the day resets
    assert classify(refusal.value) == Verdict(True, refusal.value.retry_after)
    assert len(standin.posts) == 150
    # another student's member has their own count
    other_token = standin.demo(2).accounts[0].access_token
    assert create_post(standin, other_token, other, "post 0").status_code == 201

    standin.advance(12 * 3600)  # the first 100 are now more than a day old
    for n in range(150, 250):
        assert create_post(standin, one.token, mine, f"post {n}").status_code == 201
    assert create_post(standin, one.token, mine, "post 250").status_code == 429
    assert standin.posting.used(mine) == 150
    assert standin.posting.peaks() == {mine: 150, other: 1}
