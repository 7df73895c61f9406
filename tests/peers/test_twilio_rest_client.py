"""twilio's own `Client` against the stand-in: the message log (list, filters, paging,
redaction, delete), templates and the 24 h window, signed status callbacks, and the answer
for what the sandbox does not simulate.

Sources: twilio.com/docs/messaging/api/message-resource, the ListMessage/UpdateMessage/
DeleteMessage operations of twilio/twilio-oai spec/json/twilio_api_v2010.json,
twilio.com/docs/api/errors/{20009,21654,21655,21656,30400,30409,63016},
twilio.com/docs/content/content-api-resources, twilio.com/docs/iam/test-credentials (20008).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
from flask import request
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from lab_server.sandbox.twilio import WINDOW_SECONDS
from lab_server.sandbox.twilio_templates import TEMPLATES

from ..whatsapp_support import ERROR, MESSAGE
from .twilio_peer import (  # noqa: F401 (the `twilio` and `webhook` fixtures)
    OTHER,
    SANDBOX,
    STUDENT,
    twilio_client,
    twilio_fixture,
    webhook_fixture,
)

REMINDER = "HXb5b62575e6e4ff6129ad7c8efe1f983e"  # Twilio's WhatsApp quickstart template


def send(client, to: str = STUDENT, **options):
    return client.messages.create(to=to, from_=SANDBOX, **options)


@pytest.fixture
def sent(twilio):
    """Five delivered messages: three to STUDENT, two to OTHER, oldest first."""
    twilio.join(STUDENT)
    twilio.join(OTHER)
    client = twilio_client(twilio)
    sids = [send(client, to, body=f"m{i}").sid for i, to in enumerate([STUDENT, OTHER] * 2)]
    sids.append(send(client, STUDENT, body="m4").sid)
    twilio.settle()
    return sids


def test_list_returns_the_log_newest_first_and_filters_by_to_and_from(twilio, sent):
    client = twilio_client(twilio)
    assert [m.sid for m in client.messages.list()] == sent[::-1]
    assert [m.body for m in client.messages.list(to=STUDENT)] == ["m4", "m2", "m0"]
    assert [m.body for m in client.messages.list(to=OTHER, from_=SANDBOX)] == ["m3", "m1"]
    assert client.messages.list(from_=STUDENT) == []
    assert {m.status for m in client.messages.list()} == {"delivered"}


def test_list_pages_as_twilio_pages(twilio, sent):
    client = twilio_client(twilio)
    assert [m.sid for m in client.messages.list(page_size=2)] == sent[::-1]
    assert [m.sid for m in client.messages.stream(page_size=2, limit=3)] == sent[::-1][:3]
    first = client.messages.page(page_size=2)
    second = first.next_page()
    third = second.next_page()
    assert [len(list(p)) for p in (first, second, third)] == [2, 2, 1]
    assert third.next_page() is None
    raw = requests.get(
        f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json",
        params={"PageSize": 2, "To": STUDENT},
        auth=(twilio.account_sid, twilio.auth_token),
        timeout=5,
    ).json()
    assert set(raw) == {
        "end",
        "first_page_uri",
        "next_page_uri",
        "page",
        "page_size",
        "previous_page_uri",
        "messages",
        "start",
        "uri",
    }
    assert (raw["page"], raw["page_size"], raw["start"], raw["end"]) == (0, 2, 0, 1)
    assert raw["previous_page_uri"] is None
    assert "PageToken=PA" + raw["messages"][-1]["sid"] in raw["next_page_uri"]
    assert "To=whatsapp%3A%2B59170000001" in raw["next_page_uri"]
    for message in raw["messages"]:
        MESSAGE.validate(message)


def test_list_filters_by_date_sent(twilio, sent):
    client = twilio_client(twilio)
    today = datetime.now(timezone.utc)
    yesterday = today - timedelta(days=1)
    assert len(client.messages.list(date_sent=today)) == 5
    assert len(client.messages.list(date_sent_after=yesterday)) == 5
    assert client.messages.list(date_sent_before=yesterday) == []
    assert client.messages.list(date_sent=yesterday) == []
    day = today.strftime("%Y-%m-%d")
    url = f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
    auth = (twilio.account_sid, twilio.auth_token)
    on_day = requests.get(url, params={"DateSent<": day}, auth=auth, timeout=5).json()
    assert len(on_day["messages"]) == 5  # "on and before" a whole GMT day


def test_bad_list_queries_are_400_with_twilios_error_shape(twilio):
    url = f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
    auth = (twilio.account_sid, twilio.auth_token)
    for params in ({"PageSize": "0"}, {"PageSize": "1001"}, {"DateSent": "ayer"}):
        response = requests.get(url, params=params, auth=auth, timeout=5)
        assert response.status_code == 400
        ERROR.validate(response.json())


def test_redaction_empties_the_body_and_keeps_the_record(twilio, sent):
    client = twilio_client(twilio)
    redacted = client.messages(sent[0]).update(body="")
    assert (redacted.sid, redacted.body, redacted.status) == (sent[0], "", "delivered")
    assert client.messages(sent[0]).fetch().body == ""
    with pytest.raises(TwilioRestException) as caught:
        client.messages(sent[1]).update(body="otro texto")
    assert (caught.value.status, caught.value.code) == (400, 30400)
    with pytest.raises(TwilioRestException) as caught:
        client.messages(sent[1]).update(status="canceled")
    assert caught.value.code == 30409  # only scheduled messages can be canceled


def test_delete_answers_204_and_the_message_is_gone(twilio, sent):
    client = twilio_client(twilio)
    assert client.messages(sent[0]).delete() is True
    with pytest.raises(TwilioRestException) as caught:
        client.messages(sent[0]).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)
    assert sent[0] not in [m.sid for m in client.messages.list()]
    with pytest.raises(TwilioRestException) as caught:
        client.messages(sent[0]).delete()
    assert caught.value.code == 20404


def test_a_message_in_flight_cannot_be_deleted_or_redacted(twilio):
    twilio.join(STUDENT)
    client = twilio_client(twilio)
    with twilio.hold():
        message = send(client, body="todavía en cola")
        assert client.messages(message.sid).fetch().status == "queued"
        for action in (lambda m: m.delete(), lambda m: m.update(body="")):
            with pytest.raises(TwilioRestException) as caught:
                action(client.messages(message.sid))
            assert caught.value.code == 20009
    twilio.settle()
    assert client.messages(message.sid).delete() is True


def test_inbound_messages_are_in_the_log(twilio, webhook):
    twilio.join(STUDENT)
    delivery = twilio.send_inbound("hola bot", from_=STUDENT, url=webhook.url)
    [inbound] = twilio_client(twilio).messages.list(from_=STUDENT)
    assert (inbound.sid, inbound.body) == (delivery.message_sid, "hola bot")
    assert (inbound.direction, inbound.status, inbound.to) == ("inbound", "received", SANDBOX)


# -- templates and the 24-hour window ---------------------------------------------------


def callbacks_app(twilio, webhook):
    """The student's status-callback route: validates the signature, answers 204."""
    token = twilio.auth_token

    def status():
        signature = request.headers.get("X-Twilio-Signature", "")
        if not RequestValidator(token).validate(request.url, request.form, signature):
            return "", 403
        return "", 204

    webhook.handler = status


def reports(webhook) -> list[tuple[str, str | None]]:
    return [(form["MessageStatus"], form.get("ErrorCode")) for _, form, _ in webhook.seen]


def quiet_for_a_day(twilio) -> None:
    start = twilio.clock()
    twilio.clock = lambda: start + WINDOW_SECONDS + 60


def test_free_text_outside_the_window_fails_with_63016_and_a_template_goes_through(twilio, webhook):
    callbacks_app(twilio, webhook)
    twilio.join(STUDENT)
    quiet_for_a_day(twilio)
    client = twilio_client(twilio)
    free = send(client, body="¿sigues ahí?", status_callback=webhook.url)
    twilio.settle()
    assert reports(webhook) == [("failed", "63016")]
    assert client.messages(free.sid).fetch().error_code == 63016
    webhook.seen.clear()
    template = send(
        client,
        content_sid=REMINDER,
        content_variables=json.dumps({"1": "12/1", "2": "3pm"}),
        status_callback=webhook.url,
    )
    twilio.settle()
    assert reports(webhook) == [("sent", None), ("delivered", None)]
    assert (
        client.messages(template.sid).fetch().body == "Your appointment is coming up on 12/1 at 3pm"
    )
    for url, form, headers in webhook.seen:
        assert RequestValidator(twilio.auth_token).validate(
            url, form, headers["X-Twilio-Signature"]
        )
        assert form["MessageSid"] == template.sid


def test_spanish_templates_render_their_variables_and_defaults(twilio):
    twilio.join(STUDENT)
    client = twilio_client(twilio)
    sid = next(s for s, t in TEMPLATES.items() if t.friendly_name == "recordatorio_cita")
    message = send(client, content_sid=sid, content_variables=json.dumps({"1": "Ana"}))
    assert message.body == (
        "Hola Ana, te recordamos tu cita del lunes a las 10:00. "
        "Si necesitas cambiarla, responde a este mensaje."
    )


def test_a_template_still_needs_a_joined_phone(twilio, webhook):
    callbacks_app(twilio, webhook)
    send(twilio_client(twilio), content_sid=REMINDER, status_callback=webhook.url)
    twilio.settle()
    assert reports(webhook) == [("failed", "63015")]


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"content_sid": "HX" + "0" * 32}, 21655),
        ({"content_sid": REMINDER, "content_variables": "{no es json"}, 21656),
        ({"content_sid": REMINDER, "content_variables": '{"1": null}'}, 21656),
        ({"content_sid": REMINDER, "content_variables": '{"1": "a\\nb"}'}, 21656),
        ({"content_variables": '{"1": "x"}', "body": "hola"}, 21654),
    ],
)
def test_template_mistakes_get_twilios_codes(twilio, options, code):
    with pytest.raises(TwilioRestException) as caught:
        send(twilio_client(twilio), **options)
    assert (caught.value.status, caught.value.code) == (400, code)


def test_the_content_api_lists_the_sandbox_templates(twilio):
    contents = twilio_client(twilio).content.v1.contents.list()
    assert {c.sid for c in contents} == set(TEMPLATES)
    reminder = twilio_client(twilio).content.v1.contents(REMINDER).fetch()
    assert (
        reminder.types["twilio/text"]["body"] == "Your appointment is coming up on {{1}} at {{2}}"
    )


# -- what the sandbox does not simulate ----------------------------------------------------


def test_what_is_not_simulated_answers_in_twilios_shape_with_a_spanish_note(twilio):
    client = twilio_client(twilio)
    with pytest.raises(TwilioRestException) as caught:
        client.calls.create(to="+59170000001", from_="+14155238886", url="https://e.com/x")
    assert (caught.value.status, caught.value.code) == (403, 20008)
    assert "no está simulado" in caught.value.msg
    response = requests.get(
        f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/IncomingPhoneNumbers.json",
        auth=(twilio.account_sid, twilio.auth_token),
        timeout=5,
    )
    assert response.headers["Content-Type"] == "application/json"
    ERROR.validate(response.json())
    assert "credenciales del sandbox están bien" in response.json()["message"]
    wrong = requests.get(f"{twilio.base_url}/v2/Services", auth=("AC" + "0" * 32, "x"), timeout=5)
    assert (wrong.status_code, wrong.json()["code"]) == (401, 20003)
    put = requests.put(
        f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json",
        auth=(twilio.account_sid, twilio.auth_token),
        timeout=5,
    )
    assert (put.status_code, put.json()["code"]) == (405, 20004)


# -- the account's senders and the sandbox's pace --------------------------------------------

PRODUCTION = "whatsapp:+15550001111"
NEWCOMER = "whatsapp:+59170000003"


def test_the_sandbox_pace_is_counted_per_account_but_not_enforced(twilio):
    twilio.join(STUDENT)
    assert twilio.demo(2).contacts == ()  # one Twilio account (and sandbox) per lab
    twilio.add_sender(PRODUCTION)
    client = twilio_client(twilio)
    assert (twilio.posting.limit.calls, twilio.posting.limit.seconds) == (1, 3.0)
    parts = [send(client, body=f"parte {n}") for n in range(3)]  # at once, as the kit does
    client.messages.create(to=STUDENT, from_=PRODUCTION, body="no cuenta")
    twilio.settle()
    assert {client.messages(m.sid).fetch().status for m in parts} == {"delivered"}
    assert twilio.posting.peaks() == {twilio.account_sid: 3}
    start = twilio.clock()
    twilio.clock = lambda: start + 3.5
    assert twilio.posting.used(twilio.account_sid) == 0


def test_a_production_sender_needs_no_join_but_keeps_the_window(twilio, webhook):
    twilio.add_sender(PRODUCTION)
    webhook.handler = lambda: (
        "<Response><Message>¡Hola!</Message></Response>",
        200,
        {"Content-Type": "text/xml"},
    )
    delivery = twilio.send_inbound("hola", from_=NEWCOMER, to=PRODUCTION, url=webhook.url)
    assert delivery.status_code == 200 and delivery.replies == ["¡Hola!"]
    assert webhook.seen[0][1]["To"] == PRODUCTION
    client = twilio_client(twilio)
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    post = client.messages.create(to=NEWCOMER, from_=PRODUCTION, body="Aviso del curso")
    stranger = client.messages.create(to=STUDENT, from_=PRODUCTION, body="¿me lees?")
    sandbox = send(client, to=NEWCOMER, body="desde el sandbox")
    twilio.settle()
    assert client.messages(post.sid).fetch().status == "delivered"  # no join needed
    assert client.messages(stranger.sid).fetch().error_code == 63016  # never wrote: no window
    assert client.messages(sandbox.sid).fetch().error_code == 63015  # the sandbox still needs join
    template = client.messages.create(to=STUDENT, from_=PRODUCTION, content_sid=REMINDER)
    twilio.settle()
    assert client.messages(template.sid).fetch().status == "delivered"
    sent_from = client.messages.list(from_=PRODUCTION, to=NEWCOMER, date_sent_after=since)
    assert [(m.body, m.direction) for m in sent_from] == [
        ("Aviso del curso", "outbound-api"),
        ("¡Hola!", "outbound-reply"),
    ]
    assert [m.body for m in client.messages.list(to=PRODUCTION)] == ["hola"]
    assert twilio.posting.peaks() == {twilio.account_sid: 1}  # only the sandbox's message


def test_a_from_that_is_no_sender_of_the_account_is_63007(twilio):
    twilio.join(STUDENT)
    with pytest.raises(TwilioRestException) as caught:
        twilio_client(twilio).messages.create(to=STUDENT, from_=PRODUCTION, body="hola")
    assert (caught.value.status, caught.value.code) == (400, 63007)
    assert "could not find a Channel with the specified From address" in caught.value.msg
    assert twilio.messages == {} and twilio.posting.peaks() == {}
    with pytest.raises(ValueError):
        twilio.add_sender("+15550001111")  # not a WhatsApp address
