"""200 distinct messages and 50 Twilio retries at once, through a real server, on both
databases: every message stored once and answered once, every retry answered the same."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

from lab_server import start

from .conftest import make_settings
from .whatsapp_support import (
    TOKEN,
    inbound_form,
    signed_post,
    twiml,
    write_responses,
)

DISTINCT = 200
RETRIES = 50


def test_concurrent_messages_and_retries_are_stored_and_answered_once(tmp_path, database_url):
    settings = make_settings(
        tmp_path,
        DATABASE_URL=database_url,
        TWILIO_AUTH_TOKEN=TOKEN,
        LAB_RESPONSES=str(write_responses(tmp_path)),
        LAB_PORT="0",
    )
    lab = start(sandbox=False, settings=settings, show=False)
    url = lab.webhook_urls["whatsapp"]
    forms = [
        inbound_form("retiro" if i % 3 == 0 else f"mensaje {i}", From=f"whatsapp:+5917{i:07d}")
        for i in range(DISTINCT)
    ]
    retries = random.Random(3).sample(forms, RETRIES)
    batch = forms + retries
    random.Random(4).shuffle(batch)

    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(lambda form: signed_post(url, form), batch))

    expected = {
        form["MessageSid"]: twiml(
            "Pasos del retiro: 1, 2 y 3." if form["Body"] == "retiro" else "Respuesta de WhatsApp."
        )
        for form in forms
    }
    for form, answer in zip(batch, answers, strict=True):
        assert answer.status_code == 200, answer.text
        assert answer.text == expected[form["MessageSid"]]
    stored = lab.store.list_messages(limit=500)
    inbound = [m for m in stored if m["direction"] == "in"]
    replies = [m for m in stored if m["direction"] == "out"]
    assert sorted(m["external_id"] for m in inbound) == sorted(expected)
    assert sorted(m["in_reply_to"] for m in replies) == sorted(expected)
    assert lab.store.count("processed_events") == DISTINCT
