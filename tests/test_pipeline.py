"""The pipeline end to end in the sandbox, on SQLite and PostgreSQL: create, adapt, edit,
publish to every network at once, retries, scheduling, exactly once, and the JSONL log."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from lab_server.oauth.errors import ProviderError, PublishInputError
from lab_server.pipeline import Pipeline
from tests.pipeline_support import NEWS, adapted_post, api, crashed_attempt

NETWORKS = ["linkedin", "telegram", "whatsapp"]


def counts(lab) -> dict[str, int]:
    """Posts each stand-in received: what really reached the networks."""
    box = lab.sandbox
    return {
        "linkedin": len(box["linkedin"].posts),
        "telegram": len([c for c in box["telegram"].sent if c.method == "sendMessage"]),
        "whatsapp": len(box["twilio"].messages),
    }


def test_create_adapt_edit_publish_reaches_every_network(sandbox_lab):
    lab = sandbox_lab
    created = api(lab, "POST", "/api/posts", json=NEWS)
    assert created.status_code == 201
    post = created.json()
    assert post["status"] == "draft" and post["publications"] == []

    adapted = api(lab, "POST", f"/api/posts/{post['id']}/adapt", json={"networks": NETWORKS})
    assert adapted.status_code == 200
    versions = {p["network"]: p for p in adapted.json()["publications"]}
    assert sorted(versions) == NETWORKS
    assert all(v["status"] == "pending" and v["adapted_content"] for v in versions.values())

    edited = api(
        lab,
        "PATCH",
        f"/api/posts/{post['id']}/publications/linkedin",
        json={"text": "Versión editada para LinkedIn", "fields": {"tone": "formal"}},
    )
    assert edited.status_code == 200

    answer = api(lab, "POST", f"/api/posts/{post['id']}/publish")
    assert answer.status_code == 202
    status = Pipeline.of(lab).wait(post["id"])
    assert status["status"] == "published"
    assert {n: p["status"] for n, p in status["publications"].items()} == dict.fromkeys(
        NETWORKS, "published"
    )
    assert counts(lab) == dict.fromkeys(NETWORKS, 1)
    assert lab.sandbox["linkedin"].posts[0].body["commentary"] == "Versión editada para LinkedIn"
    [sent] = lab.sandbox["twilio"].messages.values()
    assert sent["to"] == lab.sandbox["twilio"].DEMO_CONTACT

    shown = api(lab, "GET", f"/api/posts/{post['id']}/status").json()
    assert shown["publications"]["linkedin"]["provider_id"].startswith("urn:li:share:")
    late = api(lab, "PATCH", f"/api/posts/{post['id']}/publications/linkedin", json={"text": "x"})
    assert late.status_code == 409
    listed = api(lab, "GET", "/api/posts?status=published").json()["posts"]
    assert [p["id"] for p in listed] == [post["id"]]

    events = [(r["network"], r["event"]) for r in Pipeline.of(lab).log(post["id"])]
    for network in NETWORKS:
        assert events.count((network, "attempt")) == 1
        assert events.count((network, "published")) == 1


def test_publishing_twice_or_concurrently_posts_once(sandbox_lab):
    lab = sandbox_lab
    post_id = adapted_post(lab, NETWORKS)
    threads = [
        threading.Thread(target=api, args=(lab, "POST", f"/api/posts/{post_id}/publish"))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    Pipeline.of(lab).wait(post_id)
    api(lab, "POST", f"/api/posts/{post_id}/publish")
    assert Pipeline.of(lab).wait(post_id)["status"] == "published"
    time.sleep(0.3)
    assert counts(lab) == dict.fromkeys(NETWORKS, 1)


def test_one_network_failing_does_not_stop_the_others(sandbox_lab):
    lab = sandbox_lab
    lab.sandbox["linkedin"].fail_next("missing_scope")  # a 403: no retry can fix it
    post_id = adapted_post(lab, NETWORKS)
    Pipeline.of(lab).publish(post_id)
    status = Pipeline.of(lab).wait(post_id)
    assert status["status"] == "failed"
    linkedin = status["publications"]["linkedin"]
    assert linkedin["status"] == "failed" and linkedin["attempts"] == 1
    assert "w_member_social" in linkedin["error_message"]
    assert status["publications"]["whatsapp"]["status"] == "published"
    assert status["publications"]["telegram"]["status"] == "published"


def test_retries_with_backoff_until_success(sandbox_lab, testnet):
    lab = sandbox_lab
    flaky = testnet([ProviderError("caído", provider_code=503), TimeoutError("lento"), None])
    flaky_first = flaky.outcomes[0]
    flaky_first.http_status = 503
    post_id = adapted_post(lab, ["testnet"])
    Pipeline.of(lab).publish(post_id)
    status = Pipeline.of(lab).wait(post_id)["publications"]["testnet"]
    assert status["status"] == "published"
    assert (status["attempts"], status["retries"]) == (3, 2)
    log = Pipeline.of(lab).log(post_id)
    retries = [r for r in log if r["event"] == "retry"]
    assert [r["retry_in"] for r in retries] == [0.05, 0.1]
    moments = [datetime.fromisoformat(r["at"]) for r in log if r["event"] == "attempt"]
    assert moments[2] - moments[1] >= timedelta(seconds=0.09)


def test_gives_up_after_three_retries(sandbox_lab, testnet):
    lab = sandbox_lab
    failures = [ProviderError("caído") for _ in range(5)]
    flaky = testnet(failures)
    post_id = adapted_post(lab, ["testnet"])
    Pipeline.of(lab).publish(post_id)
    status = Pipeline.of(lab).wait(post_id)["publications"]["testnet"]
    assert status["status"] == "failed"
    assert (status["attempts"], status["retries"]) == (4, 3)
    assert len(flaky.calls) == 4


def test_a_4xx_is_not_retried_but_429_is_after_retry_after(sandbox_lab, testnet):
    lab = sandbox_lab
    bad = ProviderError("no")
    bad.http_status = 400
    testnet([bad])
    post_id = adapted_post(lab, ["testnet"])
    Pipeline.of(lab).publish(post_id)
    assert Pipeline.of(lab).wait(post_id)["publications"]["testnet"]["attempts"] == 1

    busy = ProviderError("espera")
    busy.http_status, busy.retry_after = 429, 0.6
    testnet([busy, None])
    post_id = adapted_post(lab, ["testnet"])
    began = time.monotonic()
    Pipeline.of(lab).publish(post_id)
    status = Pipeline.of(lab).wait(post_id)["publications"]["testnet"]
    assert status["status"] == "published" and status["retries"] == 1
    assert time.monotonic() - began >= 0.6
    [retry] = [r for r in Pipeline.of(lab).log(post_id) if r["event"] == "retry"]
    assert retry["retry_in"] == 0.6


def test_input_a_network_refuses_fails_at_once(sandbox_lab, testnet):
    lab = sandbox_lab
    testnet([PublishInputError("muy largo")])
    post_id = adapted_post(lab, ["testnet"])
    Pipeline.of(lab).publish(post_id)
    status = Pipeline.of(lab).wait(post_id)["publications"]["testnet"]
    assert (status["status"], status["attempts"]) == ("failed", 1)


def test_publish_at_waits_for_its_time(sandbox_lab):
    lab = sandbox_lab
    post_id = adapted_post(lab, ["linkedin"])
    when = datetime.now(timezone.utc) + timedelta(seconds=1.5)
    answer = api(
        lab, "POST", f"/api/posts/{post_id}/publish", json={"publish_at": when.isoformat()}
    )
    assert answer.status_code == 202
    assert answer.json()["publications"]["linkedin"]["publish_at"] is not None
    time.sleep(0.5)
    early = Pipeline.of(lab).status(post_id)
    assert early["status"] == "processing"
    assert early["publications"]["linkedin"]["attempts"] == 0
    assert len(lab.sandbox["linkedin"].posts) == 0
    status = Pipeline.of(lab).wait(post_id, timeout=10)
    assert status["status"] == "published"
    published = datetime.fromisoformat(status["publications"]["linkedin"]["published_at"])
    assert published >= when


def test_a_killed_attempt_is_reconciled_not_repeated(sandbox_lab):
    lab = sandbox_lab
    post_id = adapted_post(lab, NETWORKS)
    for network in NETWORKS:
        crashed_attempt(lab, post_id, network)
    assert counts(lab) == dict.fromkeys(NETWORKS, 1)
    Pipeline.of(lab).start()  # the dispatcher finds the expired leases
    status = Pipeline.of(lab).wait(post_id, timeout=10)
    assert counts(lab) == dict.fromkeys(NETWORKS, 1)  # no second post anywhere
    pubs = status["publications"]
    # LinkedIn refuses the repeat as a duplicate and names the first post: that is its id.
    assert pubs["linkedin"]["status"] == "published"
    assert pubs["linkedin"]["provider_id"] == lab.sandbox["linkedin"].posts[0].urn
    # WhatsApp: Twilio's message log shows the contact already got it.
    assert pubs["whatsapp"]["status"] == "published"
    assert pubs["whatsapp"]["provider_id"] == next(iter(lab.sandbox["twilio"].messages))
    # Telegram cannot be asked: uncertain, failed, not sent twice.
    assert pubs["telegram"]["status"] == "failed"
    assert "No se sabe" in pubs["telegram"]["error_message"]
    events = {(r["network"], r["event"]) for r in Pipeline.of(lab).log(post_id)}
    assert {
        ("linkedin", "reconcile"),
        ("linkedin", "reconciled"),
        ("whatsapp", "reconcile"),
    } <= events
    # Publishing again does not resend the uncertain one.
    Pipeline.of(lab).publish(post_id)
    time.sleep(0.3)
    assert counts(lab)["telegram"] == 1


def test_a_lookup_that_fails_is_made_again_before_publishing(sandbox_lab, monkeypatch):
    """The worker died mid-call and the provider's list is down at first: the next attempt
    still looks before publishing, so the post is found, not made twice."""
    from lab_server.publish import _publishers

    lab = sandbox_lab
    post_id = adapted_post(lab, ["facebook"])
    crashed_attempt(lab, post_id, "facebook")
    info = _publishers["facebook"]
    failures = [ProviderError("Graph no responde", provider_code=503)]
    failures[0].http_status = 503

    def find(text, image_url, ctx):
        if failures:
            raise failures.pop()
        return info.find(text, image_url, ctx)

    monkeypatch.setitem(_publishers, "facebook", replace(info, find=find))
    Pipeline.of(lab).start()
    status = Pipeline.of(lab).wait(post_id, timeout=15)["publications"]["facebook"]
    assert status["status"] == "published", status
    assert len(lab.sandbox["facebook"].posts) == 1
    assert status["provider_id"] == lab.sandbox["facebook"].posts[0].id
    events = [r["event"] for r in Pipeline.of(lab).log(post_id)]
    assert events == ["reconcile", "retry", "reconcile", "reconciled"], events


def test_waiting_for_a_rate_limit_keeps_the_unsettled_attempt(sandbox_lab, monkeypatch):
    """A killed attempt's retry that must first wait for LinkedIn's limit still knows, after
    the wait, that the first post may exist: LinkedIn's duplicate refusal names it."""
    from lab_server.pipeline import policy

    lab = sandbox_lab
    post_id = adapted_post(lab, ["linkedin"])
    crashed_attempt(lab, post_id, "linkedin")
    limit = policy.RateLimit(1, 0.2)
    monkeypatch.setitem(policy.RATE_LIMITS, "linkedin", limit)
    member = lab.sandbox["linkedin"].member.sub
    assert Pipeline.of(lab).runtime.limiter.acquire(f"linkedin:{member}", limit) == 0.0
    Pipeline.of(lab).start()
    status = Pipeline.of(lab).wait(post_id, timeout=15)["publications"]["linkedin"]
    assert status["status"] == "published", status
    assert len(lab.sandbox["linkedin"].posts) == 1
    assert status["provider_id"] == lab.sandbox["linkedin"].posts[0].urn
    events = [r["event"] for r in Pipeline.of(lab).log(post_id)]
    assert events[:2] == ["reconcile", "rate_limited"] and events[-1] == "reconciled", events


def test_publications_finishing_together_leave_their_post_published(database_url):
    """Six workers finishing one post's six publications at the same moment: the post ends
    `published`, not stuck in `processing` (a write skew under READ COMMITTED)."""
    from lab_server.pipeline.records import Records
    from lab_server.store import Store

    store = Store(database_url)
    store.init_schema()
    records = Records(store)
    now = datetime.now(timezone.utc)
    posts = []
    for n in range(15):
        post_id = records.create_post(f"Noticia {n}", "Contenido", None, now)
        with store.transaction() as tx:
            for network in ("a", "b", "c", "d", "e", "f"):
                records.upsert_adaptation(tx, post_id, network, "texto", {}, now)
        pubs = [p["id"] for p in records.publications(post_id)]
        with store.transaction() as tx:
            for pub in pubs:
                records.request(tx, pub, now, now, scheduled=False)
        for pub in pubs:
            assert records.claim(pub, f"w-{pub}", now, 60) is not None
        posts.append((post_id, pubs))
    try:
        for _post_id, pubs in posts:
            start = threading.Barrier(len(pubs))

            def finish(pub: str, start: threading.Barrier = start) -> None:
                start.wait()
                records.finish(pub, f"w-{pub}", now, status="published", provider_id="x")

            threads = [threading.Thread(target=finish, args=(pub,)) for pub in pubs]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
        statuses = [records.post(post_id)["status"] for post_id, _ in posts]
        assert statuses == ["published"] * len(posts)
    finally:
        store.close()
