"""A post chooses the account it goes out from on each network (a class-wide lab holds every
student's connections): the choice reaches the publisher, and each account has its own
rate-limit window."""

from __future__ import annotations

import time

from lab_server.pipeline import Pipeline, policy
from lab_server.publish import Post, PublishContext, PublisherInfo, _publishers
from lab_server.whatsapp.publisher import sender
from tests.pipeline_support import NEWS, api


def test_the_chosen_account_reaches_the_publisher_and_its_own_window(
    sandbox_lab, testnet, monkeypatch
):
    lab = sandbox_lab
    testnet([])
    seen: list[str | None] = []

    def publish(text: str, image_url: str | None, ctx: PublishContext) -> Post:
        seen.append(ctx.account)
        return Post("testnet", f"t{len(seen)}")

    monkeypatch.setitem(
        _publishers, "testnet", PublisherInfo("testnet", publish, account=lambda ctx: ctx.account)
    )
    monkeypatch.setitem(policy.RATE_LIMITS, "testnet", policy.RateLimit(1, 60.0))
    pipeline = Pipeline.of(lab)
    posts = {}
    for name, account in (("ana", "cuenta-ana"), ("beto", "cuenta-beto"), ("ana2", "cuenta-ana")):
        post = pipeline.create_post(
            f"{NEWS['title']} {name}", NEWS["content"], accounts={"testnet": account}
        )
        assert post["metadata"]["accounts"] == {"testnet": account}
        adapted = pipeline.adapt(post["id"], ["testnet"])
        assert adapted["publications"][0]["metadata"]["account"] == account
        posts[name] = post["id"]
    for name in ("ana", "beto"):
        pipeline.publish(posts[name])
        assert pipeline.wait(posts[name], timeout=10)["status"] == "published"
    pipeline.publish(posts["ana2"])  # Ana's second post within the minute: it waits its turn
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        events = [e["event"] for e in pipeline.log(posts["ana2"])]
        if "rate_limited" in events:
            break
        time.sleep(0.05)
    assert events == ["rate_limited"], events
    assert sorted(seen) == ["cuenta-ana", "cuenta-beto"]
    assert pipeline.status(posts["ana2"])["status"] == "processing"


def test_accounts_in_the_api_are_checked_before_anything_is_stored(sandbox_lab):
    lab = sandbox_lab
    before = len(Pipeline.of(lab).list_posts())
    answer = api(lab, "POST", "/api/posts", json={**NEWS, "accounts": {"tiktok": "nadie"}})
    assert answer.status_code == 400
    assert "La cuenta 'nadie' de tiktok no está conectada" in answer.json()["message"]
    assert len(Pipeline.of(lab).list_posts()) == before


def test_whatsapp_limits_the_sandbox_number_per_twilio_account_not_production_senders(
    sandbox_lab,
):
    lab = sandbox_lab
    ctx = PublishContext(lab.settings, None, None)
    assert sender(ctx) == lab.settings.twilio_account_sid  # the sandbox: 1 message / 3 s
    production = PublishContext(lab.settings, None, None, account="whatsapp:+15550001111")
    assert sender(production) is None  # Twilio queues beyond 80/s instead of refusing


SIX = ["facebook", "instagram", "linkedin", "telegram", "tiktok", "whatsapp"]


def test_each_student_publishes_everywhere_from_their_own_accounts(sandbox_lab):
    lab = sandbox_lab
    box = lab.sandbox
    ana, beto = (box.add_student(lab.settings, lab.store, k) for k in (1, 2))
    assert set(ana) == {"facebook", "instagram", "linkedin", "telegram", "tiktok"}
    assert all(ana[network] != beto[network] for network in ana)
    assert box.add_student(lab.settings, lab.store, 1) == ana  # the same student, again
    pipeline = Pipeline.of(lab)
    post = pipeline.create_post(
        NEWS["title"], NEWS["content"], image_url="https://example.com/feria.jpg", accounts=beto
    )
    pipeline.adapt(post["id"], SIX)
    pipeline.publish(post["id"])
    status = pipeline.wait(post["id"], timeout=30)
    assert status["status"] == "published", status
    assert box["linkedin"].posts[-1].body["author"] == f"urn:li:person:{beto['linkedin']}"
    assert box["facebook"].posts[-1].account == beto["facebook"]
    assert box["instagram"].posts[-1].account == beto["instagram"]
    [tiktok] = box["tiktok"].publishes.values()
    assert tiktok.open_id == beto["tiktok"]
    chat_id = status["publications"]["telegram"]["provider_id"].split(":")[0]
    assert beto["telegram"] == "@canal_estudiante_2"
    assert box["telegram"].chats[int(chat_id)]["username"] == "canal_estudiante_2"
    # WhatsApp: the lab's one Twilio account and sender (no per-student account)
    assert list(box["twilio"].messages.values())[-1]["from"] == lab.settings.twilio_whatsapp_from


def test_a_post_can_go_out_from_a_production_whatsapp_sender(sandbox_lab):
    lab = sandbox_lab
    twilio = lab.sandbox["twilio"]
    twilio.add_sender("whatsapp:+15550001111")
    pipeline = Pipeline.of(lab)
    post = pipeline.create_post(
        NEWS["title"], NEWS["content"], accounts={"whatsapp": "whatsapp:+15550001111"}
    )
    pipeline.adapt(post["id"], ["whatsapp"])
    pipeline.publish(post["id"])
    assert pipeline.wait(post["id"], timeout=30)["status"] == "published"
    assert list(twilio.messages.values())[-1]["from"] == "whatsapp:+15550001111"
    unknown = pipeline.create_post(
        NEWS["title"], NEWS["content"], accounts={"whatsapp": "whatsapp:+15559999999"}
    )
    pipeline.adapt(unknown["id"], ["whatsapp"])
    pipeline.publish(unknown["id"])
    failed = pipeline.wait(unknown["id"], timeout=30)["publications"]["whatsapp"]
    assert failed["status"] == "failed" and "63007" in failed["error_message"]
