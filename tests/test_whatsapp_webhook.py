"""The WhatsApp webhook over real HTTP: signed by the Twilio stand-in, answered in TwiML."""

from __future__ import annotations

import logging

import pytest
import requests

from lab_server import create_app
from lab_server.logs import recent

from .conftest import make_settings
from .whatsapp_support import (
    BOT,
    RESPONSES,
    STUDENT,
    inbound_form,
    joined_lab,
    signed_post,
    start_lab,
    twiml,
)


@pytest.fixture
def lab(tmp_path):
    return joined_lab(tmp_path)


@pytest.fixture
def twilio(lab):
    return lab.sandbox["twilio"]


def url(lab) -> str:
    return lab.webhook_urls["whatsapp"]


def post(lab, form, **options) -> requests.Response:
    return signed_post(url(lab), form, token=lab.sandbox["twilio"].auth_token, **options)


def test_the_webhook_is_listed_for_the_console(lab):
    assert url(lab) == lab.url + "/webhooks/whatsapp"


def test_a_keyword_rule_answers_in_twiml(lab, twilio):
    delivery = twilio.send_inbound("¿Cómo hago el RETIRO?", from_=STUDENT)
    assert delivery.status_code == 200
    assert delivery.twiml == twiml("Pasos del retiro: 1, 2 y 3.")
    assert delivery.error is None


def test_without_a_rule_the_whatsapp_reply_answers(lab):
    response = post(lab, inbound_form("buen día"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.text == twiml("Respuesta de WhatsApp.")


def test_without_a_whatsapp_reply_the_default_answers(tmp_path):
    lab = start_lab(tmp_path, {**RESPONSES, "channels": {}})
    response = post(lab, inbound_form("buen día"))
    assert response.text == twiml("Respuesta por defecto.")


def test_answers_are_xml_escaped(lab):
    assert post(lab, inbound_form("xml")).text == twiml("a &lt; b &amp; c &gt; d")


def test_inbound_and_reply_are_stored_with_every_field(lab):
    form = inbound_form("quiero el retiro", Unknown="kept", Latitude="-17.39")
    post(lab, form)
    reply, inbound = lab.store.list_messages(channel="whatsapp")
    assert inbound["direction"] == "in"
    assert inbound["external_id"] == form["MessageSid"]
    assert (inbound["sender"], inbound["recipient"]) == (STUDENT, BOT)
    assert inbound["body"] == "quiero el retiro"
    assert inbound["status"] == "received"
    assert inbound["media"] is None
    assert inbound["raw"] == form
    assert reply["direction"] == "out"
    assert (reply["sender"], reply["recipient"]) == (BOT, STUDENT)
    assert reply["body"] == "Pasos del retiro: 1, 2 y 3."
    assert reply["in_reply_to"] == form["MessageSid"]
    assert reply["raw"] == {"source": "rule:retiro"}


def test_the_conversation_reads_back_in_order(lab, twilio):
    for text in ("hola", "retiro"):
        twilio.send_inbound(text, from_=STUDENT)
    bodies = [m["body"] for m in lab.store.conversation("whatsapp", STUDENT, limit=10)]
    assert bodies == ["hola", "Respuesta de WhatsApp.", "retiro", "Pasos del retiro: 1, 2 y 3."]
    api = lab.api_get("/api/messages", params={"channel": "whatsapp"})
    assert [m["body"] for m in api.json()["messages"]] == bodies[::-1]


def test_a_retry_gets_the_same_reply_and_is_stored_once(lab, twilio):
    first = twilio.send_inbound("retiro", from_=STUDENT)
    lab.context.responses.path.write_text(
        '{"default": "otra", "channels": {}, "rules": []}', encoding="utf-8"
    )
    again = twilio.repeat(first)
    assert again.status_code == 200
    assert again.twiml == first.twiml == twiml("Pasos del retiro: 1, 2 y 3.")
    assert lab.store.count() == 2
    assert lab.store.count("processed_events") == 1


def test_a_long_reply_is_split_on_word_boundaries(tmp_path):
    words = ["palabra"] * 250  # 250 * 8 - 1 = 1999 characters
    long = " ".join(words)
    rules = [{"name": "largo", "keywords": ["largo"], "response": long}]
    lab = start_lab(tmp_path, {**RESPONSES, "rules": rules})
    response = post(lab, inbound_form("largo"))
    first = " ".join(words[:200])  # 1599 characters; one more word would make 1607
    second = " ".join(words[200:])
    assert response.text == twiml(first, second)
    stored = [m["body"] for m in lab.store.list_messages() if m["direction"] == "out"]
    assert stored == [second, first]


def test_media_is_stored_and_acknowledged(lab, twilio):
    delivery = twilio.send_inbound("mira", from_=STUDENT, media=["image/jpeg"])
    assert delivery.twiml == twiml("📎 Recibí tu imagen (image/jpeg).", "Respuesta de WhatsApp.")
    inbound = lab.store.list_messages()[-1]
    assert inbound["media"] == [{"url": delivery.form["MediaUrl0"], "content_type": "image/jpeg"}]


def test_several_attachments_are_listed(lab):
    form = inbound_form(
        "",
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/m/1",
        MediaContentType0="audio/ogg",
        MediaUrl1="https://api.twilio.com/m/2",
        MediaContentType1="application/pdf",
    )
    response = post(lab, form)
    assert response.text == twiml(
        "📎 Recibí 2 archivos adjuntos: audio/ogg, application/pdf.", "Respuesta de WhatsApp."
    )


# -- signatures ---------------------------------------------------------------------------


def assert_refused(response: requests.Response, words: str) -> None:
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"] == "Forbidden"
    assert words in response.json()["message"]


def test_an_unsigned_request_is_refused_and_not_stored(lab):
    response = requests.post(url(lab), data=inbound_form(), timeout=5)
    assert_refused(response, "Falta la cabecera X-Twilio-Signature")
    assert lab.store.count() == 0


def test_a_forged_signature_is_refused(lab):
    response = requests.post(
        url(lab), data=inbound_form(), headers={"X-Twilio-Signature": "bm8gZmlybWE="}, timeout=5
    )
    assert_refused(response, "no corresponde a " + url(lab))
    assert "PUBLIC_BASE_URL" in response.json()["message"]
    assert lab.store.count() == 0


def test_a_tampered_body_is_refused(lab):
    form = inbound_form("hola")
    response = post(lab, {**form, "Body": "otra cosa"}, sign_form=form)
    assert_refused(response, "no corresponde")


def test_another_accounts_token_is_refused(lab):
    assert_refused(signed_post(url(lab), inbound_form(), token="other-token"), "no corresponde")


def test_a_signature_for_the_public_https_url_needs_the_proxy_headers(lab):
    form = inbound_form()
    public = "https://lab-abc.ngrok-free.app/webhooks/whatsapp"
    assert_refused(post(lab, form, sign_url=public), "no corresponde")
    behind_tunnel = post(
        lab,
        form,
        sign_url=public,
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "lab-abc.ngrok-free.app"},
    )
    assert behind_tunnel.status_code == 200


def test_public_base_url_is_the_url_twilio_signed(tmp_path):
    lab = start_lab(tmp_path, PUBLIC_BASE_URL="https://bot.example.edu/")
    assert lab.webhook_urls["whatsapp"] == "https://bot.example.edu/webhooks/whatsapp"
    local = lab.local_webhook_urls["whatsapp"]
    token = lab.sandbox["twilio"].auth_token
    signed_public = signed_post(
        local, inbound_form(), token=token, sign_url=lab.webhook_urls["whatsapp"]
    )
    assert signed_public.status_code == 200
    elsewhere = signed_post(
        local, inbound_form(), token=token, sign_url="https://evil.example/webhooks/whatsapp"
    )
    assert_refused(elsewhere, "no corresponde a https://bot.example.edu/webhooks/whatsapp")
    other_path = signed_post(
        local, inbound_form(), token=token, sign_url="https://bot.example.edu/webhooks/telegram"
    )
    assert other_path.status_code == 403


def test_without_an_auth_token_every_request_is_refused(tmp_path):
    settings = make_settings(tmp_path, LAB_RESPONSES=str(tmp_path / "r.json"))
    (tmp_path / "r.json").write_text('{"default": "x", "channels": {}, "rules": []}', "utf-8")
    client = create_app(settings).test_client()
    response = client.post("/webhooks/whatsapp", data=inbound_form())
    assert response.status_code == 403
    assert "Falta TWILIO_AUTH_TOKEN" in response.get_json()["message"]


def test_validation_is_off_only_when_asked_and_then_warns(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="lab_server"):
        lab = start_lab(tmp_path, TWILIO_VALIDATE_SIGNATURE="0")
    assert "TWILIO_VALIDATE_SIGNATURE=0" in caplog.text
    assert any("TWILIO_VALIDATE_SIGNATURE=0" in line for line in recent(50))
    response = requests.post(url(lab), data=inbound_form("retiro"), timeout=5)
    assert response.status_code == 200


def test_other_methods_get_a_json_405(lab):
    response = requests.get(url(lab), timeout=5)
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/json"


# -- status callbacks ---------------------------------------------------------------------


def status_form(sid: str, status: str, **extra: str) -> dict[str, str]:
    return {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "1" * 32, **extra}


def store_outbound(lab, sid: str, status: str = "queued") -> None:
    with lab.store.transaction() as tx:
        tx.add_message(
            channel="whatsapp", direction="out", body="x", external_id=sid, status=status
        )


def test_status_callbacks_update_the_message_and_answer_204(lab, twilio):
    sid = "SM" + "5" * 32
    store_outbound(lab, sid)
    response = twilio.send_status(sid, "sent")
    assert response.status_code == 204
    assert response.text == ""
    assert lab.store.list_messages()[0]["status"] == "sent"


def test_status_callbacks_are_deduplicated_and_never_go_back(lab):
    sid = "SM" + "6" * 32
    store_outbound(lab, sid)
    status_url = url(lab) + "/status"
    token = lab.sandbox["twilio"].auth_token
    for state in ("delivered", "delivered", "sent", "read", "sent"):
        assert signed_post(status_url, status_form(sid, state), token=token).status_code == 204
    assert lab.store.list_messages()[0]["status"] == "read"
    keys = {"delivered", "sent", "read"}
    assert lab.store.count("processed_events") == len(keys)


def test_a_failed_status_logs_the_spanish_explanation(lab, caplog):
    sid = "SM" + "7" * 32
    store_outbound(lab, sid)
    form = status_form(sid, "failed", ErrorCode="63016", ErrorMessage="outside window")
    with caplog.at_level(logging.WARNING, logger="lab_server"):
        post_status = signed_post(
            url(lab) + "/status", form, token=lab.sandbox["twilio"].auth_token
        )
    assert post_status.status_code == 204
    assert lab.store.list_messages()[0]["status"] == "failed"
    assert "Twilio error 63016" in caplog.text and "24 horas" in caplog.text


def test_status_callbacks_must_be_signed(lab):
    response = requests.post(
        url(lab) + "/status", data=status_form("SM" + "8" * 32, "sent"), timeout=5
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "form",
    [
        {"MessageStatus": "sent"},
        {"MessageSid": "SM" + "9" * 32},
        {"MessageSid": "SM" + "9" * 32, "MessageStatus": "Sent!"},
        {"MessageSid": "SM" + "9" * 32, "MessageStatus": "failed", "ErrorCode": "x1"},
        {"MessageSid": "SM" + "9" * 32, "MessageStatus": "failed", "ErrorCode": "²"},
        {"MessageSid": "SM" + "9" * 32, "MessageStatus": "failed", "ErrorCode": "9" * 5000},
    ],
)
def test_bad_status_callbacks_are_400(lab, form):
    response = signed_post(url(lab) + "/status", form, token=lab.sandbox["twilio"].auth_token)
    assert response.status_code == 400
    assert response.json()["message"]
