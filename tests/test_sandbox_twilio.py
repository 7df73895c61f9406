"""The Twilio stand-in speaks Twilio's protocol: checked against the published OpenAPI file,
against twilio's own RequestValidator, and through twilio's own REST client."""

from __future__ import annotations

import pytest
import requests
from flask import Flask
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from lab_server.sandbox.twilio import (
    JOINED,
    MEMBERSHIP_SECONDS,
    SANDBOX_NUMBER,
    WINDOW_SECONDS,
    TwilioStandIn,
)
from lab_server.serving import ServerThread
from lab_server.whatsapp.client import ApiBaseHttpClient

from .whatsapp_support import ERROR, MESSAGE, STUDENT, check_create_request


@pytest.fixture
def twilio():
    standin = TwilioStandIn()
    yield standin
    standin.stop()


@pytest.fixture
def webhook():
    """A stand-in for the lab: records what Twilio posts, answers what the test sets."""
    app = Flask("fake_lab")
    app.config["answer"] = ('<?xml version="1.0"?><Response><Message>ok</Message></Response>', 200)
    seen: list = []

    @app.post("/hook")
    def hook():
        from flask import request

        seen.append((request.url, request.form.to_dict(), dict(request.headers)))
        body, status = app.config["answer"]
        return body, status, {"Content-Type": app.config.get("type", "text/xml")}

    server = ServerThread(app)
    server.seen = seen
    server.app = app
    yield server
    server.stop()


def client(twilio: TwilioStandIn, token: str | None = None) -> Client:
    return Client(
        twilio.account_sid,
        token or twilio.auth_token,
        http_client=ApiBaseHttpClient(twilio.base_url),
    )


def messages_url(twilio: TwilioStandIn) -> str:
    return f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"


def post_message(twilio: TwilioStandIn, auth=None, **form: str) -> requests.Response:
    return requests.post(
        messages_url(twilio),
        data=form,
        auth=auth or (twilio.account_sid, twilio.auth_token),
        timeout=10,
    )


def test_overrides_are_generated_per_instance_and_look_like_twilio(twilio):
    other = TwilioStandIn()
    try:
        values = twilio.overrides()
        assert values["TWILIO_API_BASE"] == twilio.base_url
        assert values["TWILIO_WHATSAPP_FROM"] == "whatsapp:+14155238886"
        assert values["TWILIO_ACCOUNT_SID"] != other.overrides()["TWILIO_ACCOUNT_SID"]
        assert values["TWILIO_AUTH_TOKEN"] != other.overrides()["TWILIO_AUTH_TOKEN"]
        assert len(values["TWILIO_ACCOUNT_SID"]) == 34
    finally:
        other.stop()


def test_created_message_matches_twilios_schema_and_the_request_matches_the_spec(twilio):
    twilio.join(STUDENT)
    message = client(twilio).messages.create(to=STUDENT, from_=SANDBOX_NUMBER, body="hola 👋")
    assert message.status == "queued"
    assert message.sid.startswith("SM")
    [recorded] = twilio.requests_to("/Messages.json")
    fields = check_create_request(recorded.path, recorded.body)
    assert fields == {"To": STUDENT, "From": SANDBOX_NUMBER, "Body": "hola 👋"}
    resource = requests.get(
        f"{twilio.base_url}{message.uri}", auth=(twilio.account_sid, twilio.auth_token), timeout=5
    ).json()
    MESSAGE.validate(resource)
    assert resource["sid"] == message.sid


def test_the_201_body_is_valid_for_the_spec(twilio):
    twilio.join(STUDENT)
    response = post_message(
        twilio, To=STUDENT, From=SANDBOX_NUMBER, Body="x", MediaUrl="https://e/1.png"
    )
    assert response.status_code == 201
    MESSAGE.validate(response.json())
    assert response.json()["num_media"] == "1"
    assert response.json()["sid"].startswith("MM")


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"From": SANDBOX_NUMBER, "Body": "x"}, 21604),
        ({"To": STUDENT, "Body": "x"}, 21603),
        ({"To": STUDENT, "From": SANDBOX_NUMBER}, 21602),
        ({"To": "59170000001", "From": SANDBOX_NUMBER, "Body": "x"}, 21211),
        ({"To": STUDENT, "From": "whatsapp:+15550001111", "Body": "x"}, 63007),
        ({"To": STUDENT, "From": SANDBOX_NUMBER, "Body": "x" * 1601}, 21617),
    ],
)
def test_bad_requests_get_twilios_error_json(twilio, form, code):
    response = post_message(twilio, **form)
    assert response.status_code == 400
    ERROR.validate(response.json())
    assert response.json()["code"] == code
    assert response.json()["more_info"].endswith(str(code))


def test_wrong_credentials_get_401_with_code_20003(twilio):
    response = post_message(twilio, auth=(twilio.account_sid, "wrong"), To=STUDENT, Body="x")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    ERROR.validate(response.json())
    assert response.json()["code"] == 20003
    with pytest.raises(TwilioRestException) as caught:
        client(twilio, token="wrong").messages.create(to=STUDENT, from_=SANDBOX_NUMBER, body="x")
    assert caught.value.code == 20003
    assert twilio.messages == {}


def test_twilio_client_raises_the_error_code_the_stand_in_sent(twilio):
    with pytest.raises(TwilioRestException) as caught:
        client(twilio).messages.create(to="nope", from_=SANDBOX_NUMBER, body="x")
    assert (caught.value.status, caught.value.code) == (400, 21211)


def test_inbound_delivery_is_signed_exactly_as_twilio_signs(twilio, webhook):
    url = webhook.url + "/hook"
    twilio.join(STUDENT)
    delivery = twilio.send_inbound("¿Cómo hago el retiro?", from_=STUDENT, url=url)
    [(seen_url, form, headers)] = webhook.seen
    assert seen_url == url
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert RequestValidator(twilio.auth_token).validate(url, form, headers["X-Twilio-Signature"])
    assert not RequestValidator("other").validate(url, form, headers["X-Twilio-Signature"])
    assert form["Body"] == "¿Cómo hago el retiro?"
    assert form["From"] == STUDENT and form["To"] == SANDBOX_NUMBER
    assert form["MessageSid"] == form["SmsSid"] == delivery.message_sid
    assert len(form["MessageSid"]) == 34
    assert form["AccountSid"] == twilio.account_sid
    assert form["WaId"] == "59170000001"
    assert form["NumMedia"] == "0"
    assert delivery.status_code == 200
    assert delivery.replies == ["ok"]
    assert delivery.error is None


def test_repeat_sends_the_same_message_sid_and_signature(twilio, webhook):
    twilio.join(STUDENT)
    first = twilio.send_inbound("hola", from_=STUDENT, url=webhook.url + "/hook")
    again = twilio.repeat(first)
    assert again.message_sid == first.message_sid
    (_, form1, headers1), (_, form2, headers2) = webhook.seen
    assert form1 == form2
    assert headers1["X-Twilio-Signature"] == headers2["X-Twilio-Signature"]


def test_media_urls_are_twilio_shaped_and_need_basic_auth(twilio, webhook):
    twilio.join(STUDENT)
    delivery = twilio.send_inbound(
        "", from_=STUDENT, media=["image/jpeg", "audio/ogg"], url=webhook.url + "/hook"
    )
    form = delivery.form
    assert form["NumMedia"] == "2"
    assert delivery.message_sid.startswith("MM")
    assert form["MediaContentType0"] == "image/jpeg" and form["MediaContentType1"] == "audio/ogg"
    url = form["MediaUrl1"]
    assert f"/Accounts/{twilio.account_sid}/Messages/{delivery.message_sid}/Media/ME" in url
    assert requests.get(url, timeout=5).status_code == 401
    media = requests.get(url, auth=(twilio.account_sid, twilio.auth_token), timeout=5)
    assert media.status_code == 200
    assert media.headers["Content-Type"] == "audio/ogg"


def test_join_flow_and_unjoined_phones_are_not_forwarded(twilio, webhook):
    url = webhook.url + "/hook"
    refused = twilio.send_inbound("hola", from_="+59170000002", url=url)
    assert refused.status_code is None
    assert f"join {twilio.join_code}" in refused.replies[0]
    joined = twilio.send_inbound(f"JOIN {twilio.join_code}", from_="+59170000002", url=url)
    assert joined.replies == [JOINED]
    assert webhook.seen == []
    assert twilio.send_inbound("hola", from_="+59170000002", url=url).status_code == 200
    assert len(webhook.seen) == 1


def test_membership_expires_after_three_days(twilio, webhook):
    twilio.join(STUDENT)
    start = twilio.clock()
    twilio.clock = lambda: start + MEMBERSHIP_SECONDS + 1
    assert twilio.send_inbound("hola", from_=STUDENT, url=webhook.url + "/hook").status_code is None
    assert webhook.seen == []


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("joined", [("sent", None), ("delivered", None)]),
        ("never joined", [("failed", "63015")]),
        ("quiet for a day", [("failed", "63016")]),
    ],
)
def test_queued_messages_end_as_the_sandbox_rules_say_and_are_reported(
    twilio, webhook, setup, expected
):
    if setup != "never joined":
        twilio.join(STUDENT)
    if setup == "quiet for a day":
        start = twilio.clock()
        twilio.clock = lambda: start + WINDOW_SECONDS + 60
    message = client(twilio).messages.create(
        to=STUDENT, from_=SANDBOX_NUMBER, body="x", status_callback=webhook.url + "/hook"
    )
    twilio.settle()
    reports = [(form["MessageStatus"], form.get("ErrorCode")) for _, form, _ in webhook.seen]
    assert reports == expected
    for url, form, headers in webhook.seen:
        assert form["MessageSid"] == message.sid
        assert RequestValidator(twilio.auth_token).validate(
            url, form, headers["X-Twilio-Signature"]
        )
    fetched = client(twilio).messages(message.sid).fetch()
    assert fetched.status == expected[-1][0]
    assert fetched.error_code == (int(expected[-1][1]) if expected[-1][1] else None)


def test_fetching_an_unknown_message_is_20404(twilio):
    with pytest.raises(TwilioRestException) as caught:
        client(twilio).messages("SM" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


@pytest.mark.parametrize(
    ("answer", "content_type", "error", "replies"),
    [
        (("forbidden", 403), "application/json", 11200, []),
        (("OK", 200), "text/plain", None, ["OK"]),  # twilio.com/docs/api/twiml/sms/your_response
        (('{"ok": true}', 200), "application/json", 12300, []),
        (("<Response><Message>", 200), "text/xml", 12100, []),
    ],
)
def test_deliveries_report_the_error_twilio_would_log(
    twilio, webhook, answer, content_type, error, replies
):
    webhook.app.config.update(answer=answer, type=content_type)
    twilio.join(STUDENT)
    delivery = twilio.send_inbound("hola", from_=STUDENT, url=webhook.url + "/hook")
    assert delivery.error == error
    assert delivery.replies == replies


def test_the_simulated_phone_endpoint_delivers_to_the_attached_webhook(twilio, webhook):
    twilio.attach({"whatsapp": webhook.url + "/hook"})
    info = requests.get(twilio.base_url + "/_sandbox/whatsapp", timeout=5).json()
    assert info["join_code"] == twilio.join_code
    phone = twilio.base_url + "/_sandbox/whatsapp/inbound"
    join = requests.post(
        phone, data={"From": STUDENT, "Body": "join " + twilio.join_code}, timeout=5
    )
    assert join.json()["replies"] == [JOINED]
    answer = requests.post(phone, data={"From": STUDENT, "Body": "hola"}, timeout=5).json()
    assert answer["status_code"] == 200
    assert answer["replies"] == ["ok"]
    assert answer["message_sid"] == webhook.seen[0][1]["MessageSid"]
    assert requests.post(phone, data={"Body": "hola"}, timeout=5).status_code == 400
