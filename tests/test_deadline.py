"""A whole class writes at once to a slow model, served as `lab-server run` serves it (waitress,
8 threads): every webhook answers within LLM_TIMEOUT + 0.5 s of its arrival, and every
message gets exactly one model answer, in the webhook or later through the REST API.
The same with 30 messages and a 20 s model is the last row of bench/deadline.py."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from lab_server.runner import prepare
from lab_server.serving import WaitressThread

from .conftest import make_settings
from .whatsapp_support import write_responses

MESSAGES = 30
LLM_TIMEOUT = 1.0
MODEL_DELAY = 4.0  # well past LLM_TIMEOUT: every answer has to go out late
MARGIN = 0.5


def test_thirty_messages_to_a_slow_model_keep_the_deadline(tmp_path):
    settings = make_settings(
        tmp_path,
        LLM_REPLIES="1",
        LLM_TIMEOUT=str(LLM_TIMEOUT),
        LAB_RESPONSES=str(write_responses(tmp_path)),
    )
    app, box = prepare(settings, "1")
    server = WaitressThread(app, threads=8)
    try:
        box.attach({n: server.url + p for n, p in app.extensions["lab"].webhook_paths().items()})
        twilio, model = box["twilio"], box["openai"]
        model.behave(delay=MODEL_DELAY)
        phones = [f"whatsapp:+5917900{i:04d}" for i in range(MESSAGES)]
        for phone in phones:
            twilio.join(phone)

        def one(phone: str):
            began = time.monotonic()
            delivery = twilio.send_inbound(f"pregunta de {phone}", from_=phone)
            return delivery, time.monotonic() - began

        with ThreadPoolExecutor(max_workers=MESSAGES) as pool:
            results = list(pool.map(one, phones))
        worst = max(took for _, took in results)
        assert worst <= LLM_TIMEOUT + MARGIN, f"slowest webhook: {worst:.2f} s"
        for delivery, _ in results:
            assert delivery.status_code == 200 and delivery.error is None
            assert len(delivery.replies) == 1
            assert not delivery.replies[0].startswith("[sandbox]")  # the model was too slow

        def late_by_phone() -> dict[str, int]:
            counts: dict[str, int] = {}
            for request in twilio.requests_to("/Messages.json"):
                if request.method == "POST":
                    counts[request.form["To"]] = counts.get(request.form["To"], 0) + 1
            return counts

        deadline = time.monotonic() + MODEL_DELAY + 15
        while time.monotonic() < deadline and len(late_by_phone()) < MESSAGES:
            time.sleep(0.1)
        time.sleep(0.5)  # a duplicate would show up here
        assert late_by_phone() == dict.fromkeys(phones, 1)
    finally:
        server.stop()
        box.stop()
        app.extensions["lab"].store.close()
