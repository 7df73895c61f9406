"""Replies with characters XML 1.0 forbids still make valid TwiML (else Twilio error 12100),
and a retry gets the same valid answer back."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from lab_server.text import xml_safe
from lab_server.whatsapp.blueprint import twiml_text

from .whatsapp_support import RESPONSES, STUDENT, inbound_form, signed_post, start_lab, twiml

NASTY = "rojo \x1b[31m\x0b\x0c\ufffe\ufffffin\x00\x08\ud800 ok\ttab"
CLEAN = "rojo [31mfin ok\ttab"


def test_xml_safe_removes_exactly_what_xml_forbids():
    assert xml_safe(NASTY) == CLEAN
    assert xml_safe("¿Qué tal? 👋\n\r\t") == "¿Qué tal? 👋\n\r\t"


@given(st.text())
def test_any_reply_makes_well_formed_twiml(text):
    root = ET.fromstring(twiml_text((text,)))
    message = root.find("Message")
    shown = message.text or "" if message is not None else ""
    # an XML parser reads a raw carriage return as a newline
    assert shown == xml_safe(text).replace("\r\n", "\n").replace("\r", "\n")


def test_control_characters_in_a_reply_and_its_retry_are_valid_twiml(tmp_path):
    rules = [{"name": "ansi", "keywords": ["color"], "response": NASTY.replace("\ud800", "")}]
    lab = start_lab(tmp_path, {**RESPONSES, "rules": rules})
    twilio = lab.sandbox["twilio"]
    twilio.join(STUDENT)
    delivery = twilio.send_inbound("color", from_=STUDENT)
    assert delivery.error is None  # the stand-in reports 12100 for TwiML that does not parse
    assert delivery.twiml == twiml(CLEAN)
    form = inbound_form("color", sid=delivery.form["MessageSid"])
    retry = signed_post(lab.webhook_urls["whatsapp"], form, token=twilio.auth_token)
    assert retry.text == twiml(CLEAN)
    replies = [m for m in lab.store.list_messages() if m["direction"] == "out"]
    assert [m["body"] for m in replies] == [CLEAN]
