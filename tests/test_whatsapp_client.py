"""Sending through Twilio's REST API: `send_whatsapp`, its errors, and late answers."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask, request

from lab_server.errors import MissingCredentialError
from lab_server.replies import Replier
from lab_server.responses import Answer
from lab_server.serving import ServerThread
from lab_server.whatsapp.client import ApiBaseHttpClient, send_whatsapp
from lab_server.whatsapp.errors import TwilioSendError

from .conftest import make_settings
from .whatsapp_support import (
    BOT,
    STUDENT,
    check_create_request,
    inbound_form,
    joined_lab,
    signed_post,
    twiml,
    wait_until,
)


@pytest.fixture
def lab(tmp_path):
    return joined_lab(tmp_path)


@pytest.fixture
def twilio(lab):
    return lab.sandbox["twilio"]


def test_send_whatsapp_creates_a_queued_message_through_the_configured_base(lab, twilio):
    message = send_whatsapp("+59170000001", "Hola 👋", settings=lab.settings)
    assert message.status == "queued"
    assert message.to == STUDENT
    [recorded] = twilio.requests_to("/Messages.json")
    assert recorded.path == f"/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
    fields = check_create_request(recorded.path, recorded.body)
    assert fields == {"To": STUDENT, "From": BOT, "Body": "Hola 👋"}
    assert twilio.messages[message.sid]["body"] == "Hola 👋"


def test_media_and_status_callback_are_sent_as_twilio_names_them(lab, twilio):
    send_whatsapp(
        STUDENT,
        "foto",
        media_url=["https://example.org/a.png", "https://example.org/b.png"],
        settings=lab.settings,
        status_callback="https://example.org/status",
    )
    [recorded] = twilio.requests_to("/Messages.json")
    fields = check_create_request(recorded.path, recorded.body)
    assert fields["MediaUrl"] == ["https://example.org/a.png", "https://example.org/b.png"]
    assert fields["StatusCallback"] == "https://example.org/status"


@pytest.mark.parametrize(
    ("to", "body", "env", "code", "words"),
    [
        ("12", "hola", {}, 21211, "no es válido"),
        (STUDENT, "x" * 1601, {}, 21617, "1600 caracteres"),
        (STUDENT, "hola", {"TWILIO_AUTH_TOKEN": "mal"}, 20003, "credenciales"),
        (STUDENT, "hola", {"TWILIO_WHATSAPP_FROM": "+15550001111"}, 63007, "+14155238886"),
    ],
)
def test_twilio_errors_come_back_in_spanish_with_their_code(lab, to, body, env, code, words):
    settings = lab.settings.with_values(env)
    with pytest.raises(TwilioSendError) as caught:
        send_whatsapp(to, body, settings=settings)
    assert caught.value.code == code
    assert str(caught.value).startswith(f"Twilio error {code}: ")
    assert words in str(caught.value)
    assert str(caught.value).endswith(f"https://www.twilio.com/docs/errors/{code}")


def test_an_unreachable_api_is_a_clear_error(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    settings = make_settings(
        tmp_path,
        TWILIO_ACCOUNT_SID="AC" + "2" * 32,
        TWILIO_AUTH_TOKEN="secret",
        TWILIO_API_BASE=f"http://127.0.0.1:{closed}",
    )
    with pytest.raises(TwilioSendError) as caught:
        send_whatsapp(STUDENT, "hola", settings=settings)
    assert caught.value.code is None
    assert "no se pudo conectar con la API en http://127.0.0.1" in str(caught.value)


def test_missing_credentials_say_where_to_get_them(tmp_path):
    with pytest.raises(MissingCredentialError) as caught:
        send_whatsapp(STUDENT, "hola", settings=make_settings(tmp_path))
    assert "TWILIO_ACCOUNT_SID" in str(caught.value)


def test_the_http_client_rebases_scheme_and_host_and_keeps_path_and_query():
    app = Flask("echo")

    @app.get("/<path:rest>")
    def echo(rest):
        return {"path": request.path, "query": request.query_string.decode()}

    server = ServerThread(app)
    try:
        client = ApiBaseHttpClient(server.url + "/prefix/")
        response = client.request("GET", "https://api.twilio.com/2010-04-01/A.json?Page=2")
        assert response.status_code == 200
        assert response.text.replace(" ", "").replace("\n", "") == (
            '{"path":"/prefix/2010-04-01/A.json","query":"Page=2"}'
        )
    finally:
        server.stop()


# -- late answers: the seam the LLM uses when the model is slow -------------------------


class LateReplier(Replier):
    """Answers at once with a short text and sends `late` afterwards, like a slow LLM."""

    asks_model = True

    def __init__(self, base: Replier, late: str, meet: threading.Barrier | None = None) -> None:
        super().__init__(base.settings, base.responses)
        self.late = late
        self.meet = meet

    def answer(self, channel, text, *, history=(), send_late=None, deadline=None):
        if self.meet:
            self.meet.wait(timeout=10)
        threading.Thread(target=send_late, args=(self.late,), daemon=True).start()
        return Answer("Un momento, lo estoy pensando…", "fallback")


def test_a_late_answer_is_sent_through_the_api_and_stored(lab, twilio):
    lab.context.replier = LateReplier(lab.context.replier, "La respuesta larga. " * 100)
    delivery = twilio.send_inbound("pregunta difícil", from_=STUDENT)
    assert delivery.twiml == twiml("Un momento, lo estoy pensando…")
    wait_until(lambda: len(twilio.requests_to("/Messages.json")) == 2)
    twilio.settle()
    parts = []
    for recorded in twilio.requests_to("/Messages.json"):
        fields = check_create_request(recorded.path, recorded.body)
        assert fields["To"] == STUDENT
        assert fields["StatusCallback"] == lab.url + "/webhooks/whatsapp/status"
        parts.append(fields["Body"])
    assert all(len(part) <= 1600 for part in parts)
    assert " ".join(parts) == ("La respuesta larga. " * 100).strip()
    # both parts within 3 s: counted against the sandbox's pace, not refused
    assert twilio.posting.peaks() == {twilio.account_sid: 2}
    wait_until(lambda: len(lab.store.list_messages()) == 4)
    late = [m for m in lab.store.list_messages() if m["raw"] == {"source": "late"}]
    assert {m["in_reply_to"] for m in late} == {delivery.message_sid}
    assert {m["external_id"] for m in late} == set(twilio.messages)
    wait_until(lambda: {m["status"] for m in lab.store.list_messages()[:2]} == {"delivered"})


def test_a_retry_after_a_late_answer_replays_only_the_twiml(lab, twilio):
    lab.context.replier = LateReplier(lab.context.replier, "tarde")
    first = twilio.send_inbound("pregunta", from_=STUDENT)
    wait_until(lambda: len(lab.store.list_messages()) == 3)
    again = twilio.repeat(first)
    assert again.twiml == first.twiml == twiml("Un momento, lo estoy pensando…")
    assert len(twilio.requests_to("/Messages.json")) == 1


def test_concurrent_deliveries_of_one_message_send_the_late_answer_once(lab, twilio):
    lab.context.replier = LateReplier(lab.context.replier, "tarde", threading.Barrier(2))
    form = inbound_form("pregunta")
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(
                lambda _: signed_post(lab.webhook_urls["whatsapp"], form, token=twilio.auth_token),
                range(2),
            )
        )
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].text == answers[1].text == twiml("Un momento, lo estoy pensando…")
    wait_until(lambda: len(lab.store.list_messages()) == 3)
    twilio.settle()
    assert len(twilio.requests_to("/Messages.json")) == 1
    directions = sorted(m["direction"] for m in lab.store.list_messages())
    assert directions == ["in", "out", "out"]


def test_a_late_answer_twilio_refuses_is_stored_as_failed(lab, twilio):
    lab.context.replier = LateReplier(lab.context.replier, "tarde")
    form = inbound_form("pregunta", From="whatsapp:+12")
    assert (
        signed_post(lab.webhook_urls["whatsapp"], form, token=twilio.auth_token).status_code == 200
    )
    wait_until(lambda: len(lab.store.list_messages()) == 3)
    late = lab.store.list_messages()[0]
    assert (late["body"], late["status"], late["external_id"]) == ("tarde", "failed", None)
    assert "Twilio error 21211" in lab.logs(20)


class RecordingReplier(Replier):
    """Keeps the history each answer was given (read after answering, as a slow LLM might)."""

    asks_model = True

    def __init__(self, base: Replier) -> None:
        super().__init__(base.settings, base.responses)
        self.histories: list = []

    def answer(self, channel, text, *, history=(), send_late=None, deadline=None):
        self.histories.append(history)
        return super().answer(
            channel, text, history=history, send_late=send_late, deadline=deadline
        )


def test_the_replier_sees_the_conversation_so_far_and_is_not_asked_again_on_a_retry(lab, twilio):
    replier = lab.context.replier = RecordingReplier(lab.context.replier)
    twilio.send_inbound("retiro", from_=STUDENT)
    second = twilio.send_inbound("gracias", from_=STUDENT)
    assert twilio.repeat(second).twiml == second.twiml
    seen = [[(m["direction"], m["body"]) for m in history] for history in replier.histories]
    assert seen == [[], [("in", "retiro"), ("out", "Pasos del retiro: 1, 2 y 3.")]]
