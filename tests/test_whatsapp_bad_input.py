"""Bad input never gets a 5xx: malformed forms, missing fields, wrong types, huge bodies.

The signed fuzz computes a valid Twilio signature over whatever it sends, so it reaches
the field checks and the database (SQLite and PostgreSQL), not only the 403.
"""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab_server.app import MAX_CONTENT_LENGTH

from .whatsapp_support import inbound_form, lab_on, new_sid, signed_post

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def lab(tmp_path, database_url):
    return lab_on(database_url, tmp_path)


def assert_clear_4xx(response: requests.Response, *codes: int) -> None:
    assert response.status_code in codes, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"] == "application/json"
    payload = response.json()
    assert payload["error"] and payload["message"]


def assert_handled(response: requests.Response) -> None:
    """A signed request is answered in TwiML or refused with a clear 400, never a 5xx."""
    if response.status_code == 200:
        assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
        assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response>')
    else:
        assert_clear_4xx(response, 400)


texts = st.text(max_size=40)
#: What an HTTP client can put in a header: latin-1, no line breaks, no edge spaces.
header_texts = st.text(
    alphabet=st.characters(codec="latin-1", min_codepoint=0x20, exclude_characters="\x7f"),
    max_size=30,
).map(str.strip)
known_values = {
    "MessageSid": st.one_of(st.just(None), st.builds(new_sid), texts),
    "From": st.one_of(st.just(None), st.just("whatsapp:+59170000001"), texts),
    "Body": st.one_of(st.just(None), texts, st.text(min_size=1500, max_size=2500)),
    "NumMedia": st.one_of(st.just(None), st.integers(-2, 12).map(str), texts),
    "MediaUrl0": st.one_of(st.just(None), st.just("https://api.twilio.com/m/1"), texts),
    "MediaContentType0": st.one_of(st.just(None), st.just("image/png"), texts),
    "MediaUrl1": st.one_of(st.just(None), st.just("https://api.twilio.com/m/2"), texts),
    "MediaContentType1": st.one_of(st.just(None), st.just("audio/ogg"), texts),
}
signed_forms = st.tuples(
    st.fixed_dictionaries(known_values),
    st.lists(st.tuples(texts, texts), max_size=8),
).map(lambda parts: [(k, v) for k, v in parts[0].items() if v is not None] + parts[1])


@FUZZ
@given(form=signed_forms)
def test_signed_random_forms_are_answered_or_refused_clearly(lab, form):
    assert_handled(signed_post(lab.webhook_urls["whatsapp"], form))


@FUZZ
@given(
    sender=st.text(min_size=1, max_size=60).filter(str.strip),
    body=st.text(max_size=300),
    extra=st.dictionaries(texts.filter(lambda k: k not in {"MessageSid", "From", "Body"}), texts),
)
def test_any_text_in_a_valid_message_is_stored_exactly_or_refused(lab, sender, body, extra):
    form = {**extra, "MessageSid": new_sid(), "From": sender, "Body": body, "NumMedia": "0"}
    response = signed_post(lab.webhook_urls["whatsapp"], form)
    if any("\x00" in text for text in (*form, *form.values())):
        assert_clear_4xx(response, 400)
        return
    assert response.status_code == 200, response.text
    with lab.store.transaction(write=False) as tx:
        row = tx.execute(
            "SELECT body, sender, raw FROM messages WHERE external_id = ?", (form["MessageSid"],)
        ).fetchone()
    stored_raw = row[2] if isinstance(row[2], dict) else json.loads(row[2])
    assert (row[0], row[1], stored_raw) == (body, sender.strip(), form)


numbers = st.one_of(
    st.integers(-5, 10**12).map(str),
    st.text(st.characters(categories=["N"]), max_size=12),  # ², ٣, …: digits, not ASCII
    st.text(st.characters(codec="ascii", categories=["Nd"]), min_size=5000, max_size=5000),
    texts,
)
status_forms = st.tuples(
    st.fixed_dictionaries(
        {
            "MessageSid": st.one_of(st.just(None), st.builds(new_sid), texts),
            "MessageStatus": st.one_of(
                st.just(None), st.sampled_from(["sent", "delivered", "failed", "read"]), texts
            ),
            "ErrorCode": st.one_of(st.just(None), numbers),
            "ErrorMessage": st.one_of(st.just(None), texts),
        }
    ),
    st.lists(st.tuples(texts, texts), max_size=4),
).map(lambda parts: [(k, v) for k, v in parts[0].items() if v is not None] + parts[1])


@FUZZ
@given(form=status_forms)
def test_signed_random_status_callbacks_never_fail(lab, form):
    response = signed_post(lab.webhook_urls["whatsapp"] + "/status", form)
    if response.status_code != 204:
        assert_clear_4xx(response, 400)


@FUZZ
@given(
    body=st.binary(max_size=300),
    content_type=st.one_of(
        st.sampled_from(
            [
                FORM,
                FORM + "; charset=utf-8",
                FORM + "; charset=latin-1",
                "application/json",
                "multipart/form-data; boundary=x",
                "text/plain",
                "text/xml",
                "",
            ]
        ),
        header_texts,
    ),
    signature=st.one_of(st.just(None), header_texts),
)
def test_random_bodies_and_content_types_get_a_clear_4xx(lab, body, content_type, signature):
    headers = {"Content-Type": content_type}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    response = requests.post(lab.webhook_urls["whatsapp"], data=body, headers=headers, timeout=10)
    assert_clear_4xx(response, 400, 403, 415)


@FUZZ
@given(
    count=st.one_of(st.integers(0, 11).map(str), st.sampled_from(["", " ", "-1", "1.0", "٣", "²"])),
    present=st.lists(st.integers(0, 10), unique=True, max_size=11),
)
def test_num_media_must_match_the_attachments(lab, count, present):
    fields = {}
    for index in present:
        fields[f"MediaUrl{index}"] = f"https://api.twilio.com/m/{index}"
        fields[f"MediaContentType{index}"] = "image/png"
    form = inbound_form("foto", NumMedia=count, **fields)
    response = signed_post(lab.webhook_urls["whatsapp"], form)
    complete = count.isascii() and count.isdigit() and int(count) <= 10
    complete = complete and set(range(int(count))) <= set(present)
    if complete:
        assert response.status_code == 200
        assert response.text.count("<Message>") == (2 if int(count) else 1)
    else:
        assert_clear_4xx(response, 400)
        assert "NumMedia" in response.json()["message"]


# -- the cases, one by one ----------------------------------------------------------------


@pytest.mark.parametrize(("missing", "words"), [("MessageSid", "MessageSid"), ("From", "From")])
def test_missing_required_fields_are_400(lab, missing, words):
    form = inbound_form()
    del form[missing]
    response = signed_post(lab.webhook_urls["whatsapp"], form)
    assert_clear_4xx(response, 400)
    assert f"Falta el campo {words}" in response.json()["message"]
    assert lab.store.count() == 0


def test_invalid_utf8_is_400_even_when_signed(lab):
    url = lab.webhook_urls["whatsapp"]
    body = f"MessageSid={new_sid()}&From=whatsapp%3A%2B1&Body=%FF%FE".encode()
    response = requests.post(url, data=body, headers={"Content-Type": FORM}, timeout=10)
    assert_clear_4xx(response, 400)
    assert "UTF-8" in response.json()["message"]


def test_nul_characters_are_400(lab):
    response = signed_post(lab.webhook_urls["whatsapp"], inbound_form("a\x00b"))
    assert_clear_4xx(response, 400)
    assert "nulos" in response.json()["message"]


def test_json_is_415(lab):
    response = requests.post(lab.webhook_urls["whatsapp"], json=inbound_form(), timeout=10)
    assert_clear_4xx(response, 415)
    assert FORM in response.json()["message"]


def test_too_many_fields_are_400(lab):
    form = inbound_form(**{f"F{i}": "x" for i in range(250)})
    response = signed_post(lab.webhook_urls["whatsapp"], form)
    assert_clear_4xx(response, 400)
    assert "200 campos" in response.json()["message"]


def test_a_body_over_one_mebibyte_is_413(lab):
    form = inbound_form("x" * MAX_CONTENT_LENGTH)
    response = signed_post(lab.webhook_urls["whatsapp"], form)
    assert_clear_4xx(response, 413)
    assert lab.store.count() == 0
