"""`lab.logs()` shows the current lab's lines only, even while an earlier lab's threads log."""

import time

from lab_server import start
from lab_server.logs import recent

from .conftest import make_settings

PHONE = "whatsapp:+59170000042"


def test_a_late_answer_of_the_previous_lab_stays_out_of_the_next_labs_log(tmp_path):
    settings = make_settings(tmp_path, LLM_REPLIES="1", LLM_TIMEOUT="0.3")
    first = start(port=0, sandbox=True, settings=settings, show=False)
    first.sandbox["twilio"].join(PHONE)
    first.sandbox["openai"].behave(delay=1.0)
    first.sandbox["twilio"].send_inbound("¿Qué es un token?", from_=PHONE)
    second = start(port=0, sandbox=True, settings=settings, show=False)  # replaces the first
    assert not first.running
    second.sandbox["twilio"].join(PHONE)
    second.sandbox["twilio"].send_inbound("hola", from_=PHONE)

    def late_lines():  # the stopped first lab's model thread: its answer has nowhere to go
        return [line for line in recent(200) if "después del plazo" in line or "tardía" in line]

    deadline = time.monotonic() + 10
    while not late_lines() and time.monotonic() < deadline:
        time.sleep(0.05)
    late = late_lines()
    assert late, "the first lab's model thread logged after the second lab started"
    assert not any(line in second.logs(200) for line in late)
    assert "POST /webhooks/whatsapp" in second.logs(200)  # its own request line
    assert "Servidor del laboratorio en " + second.url in second.logs(200)


def test_a_lab_shows_its_own_late_answer(tmp_path):
    settings = make_settings(tmp_path, LLM_REPLIES="1", LLM_TIMEOUT="0.3")
    lab = start(port=0, sandbox=True, settings=settings, show=False)
    lab.sandbox["twilio"].join(PHONE)
    lab.sandbox["openai"].behave(delay=0.8)
    lab.sandbox["twilio"].send_inbound("¿Qué es un token?", from_=PHONE)
    deadline = time.monotonic() + 10
    while "Respuesta tardía enviada" not in lab.logs(200) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Respuesta tardía enviada por whatsapp" in lab.logs(200)
