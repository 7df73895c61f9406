"""All six networks from one post in the sandbox (Facebook, Instagram and TikTok through
their stand-ins' demo accounts), and how each settles an attempt whose outcome was lost."""

from __future__ import annotations

import dataclasses
import time

import requests

from lab_server.oauth.tokens import TokenStore, utcnow
from lab_server.pipeline import Pipeline
from lab_server.publish import CannotCheck, PublishContext, publisher_info
from lab_server.tiktok.posting import find_post
from tests.pipeline_support import NEWS, api, crashed_attempt

SIX = ["facebook", "instagram", "linkedin", "telegram", "tiktok", "whatsapp"]
IMAGE = "https://example.com/feria.jpg"  # public, on the TikTok stand-in's verified domain


def delivered(lab) -> dict[str, int]:
    """Posts each stand-in holds: what really reached the networks."""
    box = lab.sandbox
    return {
        "facebook": len(box["facebook"].posts),
        "instagram": len(box["instagram"].posts),
        "linkedin": len(box["linkedin"].posts),
        "telegram": len([c for c in box["telegram"].sent if c.method.startswith("send")]),
        "tiktok": len(box["tiktok"].publishes),
        "whatsapp": len(box["twilio"].messages),
    }


def six_network_post(lab) -> str:
    pipeline = Pipeline.of(lab)
    post = pipeline.create_post(NEWS["title"], NEWS["content"], image_url=IMAGE)
    pipeline.adapt(post["id"], SIX)
    return post["id"]


def test_one_post_reaches_all_six_networks_with_no_set_up(sandbox_lab):
    lab = sandbox_lab
    assert Pipeline.of(lab).networks() == SIX
    created = api(lab, "POST", "/api/posts", json={**NEWS, "image_url": IMAGE}).json()
    adapted = api(lab, "POST", f"/api/posts/{created['id']}/adapt", json={})
    assert sorted(p["network"] for p in adapted.json()["publications"]) == SIX
    assert api(lab, "POST", f"/api/posts/{created['id']}/publish").status_code == 202
    status = Pipeline.of(lab).wait(created["id"], timeout=20)
    assert {n: p["status"] for n, p in status["publications"].items()} == dict.fromkeys(
        SIX, "published"
    ), status
    assert status["status"] == "published"
    assert delivered(lab) == dict.fromkeys(SIX, 1)
    box = lab.sandbox
    [page_post] = box["facebook"].posts
    assert status["publications"]["facebook"]["provider_id"] == page_post.id
    assert page_post.image_url == IMAGE  # the image went as the post's link
    assert status["publications"]["instagram"]["provider_id"] == box["instagram"].posts[0].id
    [tiktok] = box["tiktok"].publishes.values()
    assert tiktok.kind == "photo" and tiktok.body["post_info"]["privacy_level"] == "SELF_ONLY"
    # LinkedIn gets the text only: the kit does not upload images there.
    assert "content" not in box["linkedin"].posts[0].body


def test_a_lost_facebook_or_instagram_outcome_is_found_not_reposted(sandbox_lab):
    lab = sandbox_lab
    post_id = six_network_post(lab)
    for network in ("facebook", "instagram"):
        crashed_attempt(lab, post_id, network)
    Pipeline.of(lab).publish(post_id, ["linkedin"])  # the rest of the post goes on
    Pipeline.of(lab).start()  # the dispatcher finds the dead worker's expired leases
    status = Pipeline.of(lab).wait(post_id, timeout=15)
    pubs = status["publications"]
    assert pubs["facebook"]["status"] == "published"
    assert pubs["facebook"]["provider_id"] == lab.sandbox["facebook"].posts[0].id
    assert pubs["instagram"]["status"] == "published"
    assert pubs["instagram"]["provider_id"] == lab.sandbox["instagram"].posts[0].id
    time.sleep(0.3)
    assert delivered(lab)["facebook"] == 1 and delivered(lab)["instagram"] == 1
    events = [(r["network"], r["event"]) for r in Pipeline.of(lab).log(post_id)]
    for network in ("facebook", "instagram"):
        assert (network, "reconciled") in events and (network, "attempt") not in events
    # The reconciliation asked the documented list endpoints.
    assert any(r.method == "GET" for r in lab.sandbox["facebook"].requests_to("/feed"))
    assert any(r.method == "GET" for r in lab.sandbox["instagram"].requests_to("/media"))


def test_a_facebook_call_that_never_left_is_sent_once(sandbox_lab):
    """Killed before the call went out: the feed has no such post, so it is sent, once."""
    lab = sandbox_lab
    post_id = six_network_post(lab)
    older = dataclasses.replace(_page_post(lab, post_id), at=time.time() - 3600, id="1_older")
    lab.sandbox["facebook"].posts.append(older)  # the same text an hour ago does not count
    crashed_attempt(lab, post_id, "facebook", delivered=False)
    Pipeline.of(lab).start()
    status = Pipeline.of(lab).wait(post_id, timeout=15)
    assert status["publications"]["facebook"]["status"] == "published"
    assert status["publications"]["facebook"]["provider_id"] != "1_older"
    assert delivered(lab)["facebook"] == 2  # the old one and this one
    events = [(r["network"], r["event"]) for r in Pipeline.of(lab).log(post_id)]
    assert ("facebook", "reconcile") in events and ("facebook", "published") in events


def _page_post(lab, post_id: str):
    from lab_server.sandbox.meta import Post

    [pub] = [
        p for p in Pipeline.of(lab).get_post(post_id)["publications"] if p["network"] == "facebook"
    ]
    return Post("1_x", pub["adapted_content"], time.time())


def test_a_lost_tiktok_photo_post_is_uncertain_not_repeated(sandbox_lab):
    lab = sandbox_lab
    post_id = six_network_post(lab)
    crashed_attempt(lab, post_id, "tiktok")
    Pipeline.of(lab).start()
    status = Pipeline.of(lab).wait(post_id, timeout=15)
    tiktok = status["publications"]["tiktok"]
    assert tiktok["status"] == "failed" and "No se sabe" in tiktok["error_message"]
    assert delivered(lab)["tiktok"] == 1


def test_tiktok_finds_a_public_video_of_an_audited_app(sandbox_lab):
    lab = sandbox_lab
    standin = lab.sandbox["tiktok"]
    standin.audited = True
    standin.creator.privacy_level_options += ("PUBLIC_TO_EVERYONE",)
    settings = dataclasses.replace(lab.settings, tiktok_app_audited=True)
    tokens = TokenStore.for_settings(settings, lab.store)
    began = utcnow()
    ctx = PublishContext(settings, tokens, began, previous_attempt=began)
    video = "https://example.com/clip.mp4"
    publisher_info("tiktok").publish("Feria de IA #IA", video, ctx)
    found = find_post("Feria de IA #IA", video, ctx)
    assert found is not None and found.url and found.id in found.url
    assert find_post("Otro texto", video, ctx) is None
    private = dataclasses.replace(ctx, settings=lab.settings)
    try:
        find_post("Feria de IA #IA", video, private)
    except CannotCheck:
        pass
    else:
        raise AssertionError("an unaudited app's private post cannot be looked up")


def test_the_list_endpoints_answer_as_documented(sandbox_lab):
    """Plain HTTP, no kit code: Graph's feed and media edges, TikTok's video list."""
    lab = sandbox_lab
    box = lab.sandbox
    facebook, instagram = box["facebook"], box["instagram"]
    fb_token = lab.sandbox.demos["facebook"].accounts[0].access_token
    base = facebook.base_url + "/v26.0"
    made = requests.post(
        f"{base}/{facebook.page_id}/feed",
        data={"message": "hola"},
        timeout=5,
        headers={"Authorization": f"Bearer {fb_token}"},
    ).json()
    listed = requests.get(
        f"{base}/{facebook.page_id}/feed",
        params={"access_token": fb_token, "fields": "id,message,created_time"},
        timeout=5,
    ).json()
    assert listed["data"][0]["id"] == made["id"] and listed["data"][0]["message"] == "hola"
    assert listed["data"][0]["created_time"].endswith("+0000")
    bad = requests.get(f"{base}/{facebook.page_id}/feed", params={"limit": "0"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["error"]["code"] in (100, 104)
    ig_token = lab.sandbox.demos["instagram"].accounts[0].access_token
    media = requests.get(
        f"{instagram.base_url}/v26.0/{instagram.ig_user_id}/media",
        headers={"Authorization": f"Bearer {ig_token}"},
        timeout=5,
    )
    assert media.status_code == 200 and media.json()["data"] == []
    tiktok = box["tiktok"]
    tk_token = lab.sandbox.demos["tiktok"].accounts[0].access_token
    videos = requests.post(
        f"{tiktok.base_url}/v2/video/list/?fields=id,title",
        json={"max_count": 21},
        headers={"Authorization": f"Bearer {tk_token}"},
        timeout=5,
    ).json()
    assert videos["error"]["code"] == "invalid_params"
