"""Nothing the caller sends chooses the URL a Twilio signature is checked against: with a
known public URL (PUBLIC_BASE_URL or the lab's tunnel) only that one counts, and forwarded
headers count only from the local tunnel agent (127.0.0.1)."""

from __future__ import annotations

import http.client
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

from lab_server import start

from .conftest import make_settings
from .whatsapp_support import STUDENT, inbound_form, signed_post, start_lab, write_responses

PATH = "/webhooks/whatsapp"


def test_with_public_base_url_the_request_s_own_url_and_host_do_not_count(tmp_path):
    lab = start_lab(tmp_path, PUBLIC_BASE_URL="https://bot.example.edu/")
    token = lab.sandbox["twilio"].auth_token
    local = lab.local_webhook_urls["whatsapp"]
    assert signed_post(local, inbound_form(), token=token).status_code == 403
    evil = "https://evil.example/webhooks/whatsapp"
    for header in ("Host", "X-Forwarded-Host"):  # what the caller says is not the URL
        headers = {header: "evil.example", "X-Forwarded-Proto": "https"}
        forged = signed_post(local, inbound_form(), token=token, sign_url=evil, headers=headers)
        assert forged.status_code == 403, header
    public = signed_post(local, inbound_form(), token=token, sign_url=lab.webhook_urls["whatsapp"])
    assert public.status_code == 200


def test_the_sandbox_signs_the_public_url_as_twilio_does(tmp_path):
    lab = start_lab(tmp_path, PUBLIC_BASE_URL="https://bot.example.edu/")
    twilio = lab.sandbox["twilio"]
    twilio.join(STUDENT)
    assert twilio.send_inbound("retiro", from_=STUDENT).status_code == 200


def test_the_tunnel_url_is_the_only_one_checked(tmp_path, fake_ngrok):
    settings = make_settings(
        tmp_path, NGROK_AUTHTOKEN="test-token-0000", LAB_RESPONSES=str(write_responses(tmp_path))
    )
    lab = start(port=0, tunnel=True, sandbox=True, settings=settings, show=False)
    assert lab.tunnel_error is None
    twilio = lab.sandbox["twilio"]
    twilio.join(STUDENT)
    assert twilio.send_inbound("retiro", from_=STUDENT).status_code == 200
    local = lab.local_webhook_urls["whatsapp"]
    token = twilio.auth_token
    assert signed_post(local, inbound_form(), token=token).status_code == 403
    tunnel = signed_post(local, inbound_form(), token=token, sign_url=lab.webhook_urls["whatsapp"])
    assert tunnel.status_code == 200


def post_from(address: str, url: str, form: dict, signature: str, **headers: str) -> int:
    """POST from a chosen loopback source address (another peer than the tunnel agent)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, source_address=(address, 0))
    try:
        conn.request(
            "POST",
            parts.path,
            body=urlencode(form),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
                **headers,
            },
        )
        return conn.getresponse().status
    finally:
        conn.close()


def test_forwarded_headers_count_only_from_the_tunnel_agent(tmp_path):
    lab = start_lab(tmp_path)
    token = lab.sandbox["twilio"].auth_token
    public = "https://lab-abc.ngrok-free.app" + PATH
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "lab-abc.ngrok-free.app"}
    url = lab.local_webhook_urls["whatsapp"]
    form = inbound_form()
    signature = RequestValidator(token).compute_signature(public, form)
    assert post_from("127.0.0.2", url, form, signature, **forwarded) == 403
    assert post_from("127.0.0.1", url, form, signature, **forwarded) == 200
