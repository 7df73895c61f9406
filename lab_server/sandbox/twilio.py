"""A stand-in for Twilio's WhatsApp sandbox, speaking Twilio's documented protocol.

Built from:
- REST: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with Basic auth (Account SID,
  Auth Token) answering 201 with the `api.v2010.account.message` resource (Twilio's OpenAPI
  description, twilio/twilio-oai spec/json/twilio_api_v2010.json), and errors as JSON
  `{code, message, more_info, status}` (what twilio-python's base/version.py parses).
- Inbound webhooks: a form POST with Twilio's WhatsApp fields, signed with the Auth Token
  exactly as Twilio signs (twilio's `RequestValidator.compute_signature`), answered in TwiML
  (twilio.com/docs/messaging/guides/webhook-request, /docs/usage/webhooks/webhooks-security).
- Sandbox rules (twilio.com/docs/whatsapp/sandbox): a phone joins with `join <code>`, the
  membership lasts 3 days, free-form messages only within 24 h of the user's last message.
  As with Twilio, breaking them does not fail the REST call: the message is queued, then
  fails with 63015 or 63016, reported to its StatusCallback URL.
"""

from __future__ import annotations

import hmac
import logging
import queue
import re
import secrets
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask, jsonify, request
from twilio.request_validator import RequestValidator

from .base import StandIn

log = logging.getLogger(__name__)

SANDBOX_NUMBER = "whatsapp:+14155238886"
API_VERSION = "2010-04-01"
MEMBERSHIP_SECONDS = 3 * 24 * 3600
WINDOW_SECONDS = 24 * 3600
BODY_LIMIT = 1600
XML_TYPES = ("text/xml", "application/xml")
WHATSAPP_NUMBER = re.compile(r"whatsapp:\+[1-9][0-9]{6,14}")
#: Sandbox codes in Twilio's console are two words joined by a hyphen.
WORDS = (
    "amber", "basket", "candle", "desert", "eagle", "forest", "garden", "harbor", "island",
    "jungle", "kettle", "lemon", "meadow", "needle", "orange", "pepper", "quiet", "river",
    "silver", "tiger", "valley", "window", "yellow", "zebra",
)  # fmt: skip
JOINED = "Sandbox de Twilio (simulado): ✅ te uniste al sandbox. Ya puedes escribirle a tu bot."
NOT_JOINED = (
    "Sandbox de Twilio (simulado): este número no está unido al sandbox (o su unión venció a "
    "los 3 días). Envía «join {code}» para unirte."
)
PLACEHOLDER_MEDIA = b"archivo simulado por el sandbox del curso"
#: How Twilio reports a free-form WhatsApp message the sandbox cannot deliver.
NOT_A_MEMBER = (
    63015,
    "Channel Sandbox can only send messages to phone numbers that have joined the Sandbox",
)
OUTSIDE_WINDOW = (
    63016,
    "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template.",
)


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _rfc2822(moment: float) -> str:
    """Twilio's date format, as in its API examples: `Thu, 24 Aug 2023 05:01:45 +0000`."""
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(moment))


def twilio_error(status: int, code: int, message: str) -> tuple[Any, int]:
    """Twilio's error body, which twilio-python turns into `TwilioRestException`."""
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    return jsonify(code=code, message=message, more_info=more_info, status=status), status


def twiml_messages(text: str) -> list[str]:
    """The texts of the <Message> verbs of a TwiML answer."""
    root = ET.fromstring(text)
    out = []
    for message in root.iter("Message"):
        body = message.find("Body")
        out.append((body.text if body is not None else message.text) or "")
    return out


@dataclass(frozen=True)
class Delivery:
    """One inbound WhatsApp message as the stand-in delivered it, and what came back.

    `status_code` is None when Twilio would not call the webhook (a `join` message, or a
    phone that has not joined): then `replies` holds the sandbox's own answer.
    `error` is the code Twilio would log for a bad answer (11200, 12100, 12300).
    """

    url: str | None
    form: dict[str, str]
    headers: dict[str, str] = field(repr=False)
    status_code: int | None
    twiml: str
    replies: list[str]
    error: int | None = None

    @property
    def message_sid(self) -> str | None:
        return self.form.get("MessageSid")


class TwilioStandIn(StandIn):
    """Twilio's REST API for messages and the WhatsApp sandbox, on a loopback port."""

    service = "twilio"

    def __init__(self) -> None:
        self.account_sid = _sid("AC")
        self.auth_token = secrets.token_hex(16)
        self.join_code = f"{secrets.choice(WORDS)}-{secrets.choice(WORDS)}"
        self.clock = time.time  # tests move time forward to expire memberships and windows
        self.messages: dict[str, dict[str, Any]] = {}  # sid -> resource, sent through REST
        self.joined: dict[str, float] = {}  # address -> when it joined
        self.last_inbound: dict[str, float] = {}  # address -> its last message to the bot
        self.media: dict[str, str] = {}  # media sid -> content type, of inbound attachments
        self._state = threading.Lock()
        self._outbox: queue.Queue = queue.Queue()
        super().__init__()
        self._worker = threading.Thread(target=self._deliver_outbox, daemon=True)
        self._worker.start()

    def overrides(self) -> dict[str, str]:
        return {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_API_BASE": self.base_url,
            "TWILIO_WHATSAPP_FROM": SANDBOX_NUMBER,
        }

    # -- the sandbox's rules -----------------------------------------------------------

    def join(self, address: str) -> None:
        """What sending «join <code>» from that phone does."""
        with self._state:
            now = self.clock()
            self.joined[address] = now
            self.last_inbound[address] = now

    def is_member(self, address: str) -> bool:
        with self._state:
            since = self.joined.get(address)
        return since is not None and self.clock() - since < MEMBERSHIP_SECONDS

    def _delivery_error(self, address: str) -> tuple[int, str] | None:
        """Why a free-form message to `address` would fail now, as Twilio reports it."""
        if not self.is_member(address):
            return NOT_A_MEMBER
        with self._state:
            last = self.last_inbound.get(address, 0.0)
        return OUTSIDE_WINDOW if self.clock() - last > WINDOW_SECONDS else None

    # -- REST API ----------------------------------------------------------------------

    def routes(self, app: Flask) -> None:
        prefix = f"/{API_VERSION}/Accounts/<account_sid>"
        app.post(f"{prefix}/Messages.json")(self._create_message)
        app.get(f"{prefix}/Messages/<sid>.json")(self._fetch_message)
        app.get(f"{prefix}/Messages/<sid>/Media/<media_sid>")(self._media)
        app.get("/_sandbox/whatsapp")(self._phone_help)
        app.post("/_sandbox/whatsapp/inbound")(self._phone)

    def _authenticated(self, account_sid: str) -> bool:
        auth = request.authorization
        return bool(
            auth
            and auth.type == "basic"
            and hmac.compare_digest(auth.username or "", self.account_sid)
            and hmac.compare_digest(auth.password or "", self.auth_token)
            and account_sid == self.account_sid
        )

    def _unauthorized(self) -> tuple[Any, int]:
        response, status = twilio_error(401, 20003, "Authenticate")
        response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        return response, status

    def _create_message(self, account_sid: str):
        if not self._authenticated(account_sid):
            return self._unauthorized()
        form = request.form
        to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        media = form.getlist("MediaUrl")
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not sender:
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if not body and not media:
            return twilio_error(400, 21602, "Message body is required.")
        if not WHATSAPP_NUMBER.fullmatch(to):
            return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if sender != SANDBOX_NUMBER:
            return twilio_error(
                400, 63007, "Twilio could not find a Channel with the specified From address"
            )
        if len(body) > BODY_LIMIT:
            return twilio_error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        now = self.clock()
        sid = _sid("MM" if media else "SM")
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        message = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": _rfc2822(now),
            "date_sent": None,
            "date_updated": _rfc2822(now),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": None,
            "num_media": str(len(media)),
            "num_segments": "1",
            "price": None,
            "price_unit": None,
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": to,
            "uri": f"{uri}.json",
        }
        with self._state:
            self.messages[sid] = message
        self._outbox.put((sid, form.get("StatusCallback"), self._delivery_error(to)))
        return jsonify(message), 201

    def _fetch_message(self, account_sid: str, sid: str):
        if not self._authenticated(account_sid):
            return self._unauthorized()
        with self._state:
            message = self.messages.get(sid)
            if message is not None:
                return jsonify(message)
        return twilio_error(404, 20404, f"The requested resource {request.path} was not found")

    def _media(self, account_sid: str, sid: str, media_sid: str):
        """Media URLs of inbound messages, which need Basic auth as Twilio's do."""
        if not self._authenticated(account_sid):
            return self._unauthorized()
        with self._state:
            content_type = self.media.get(media_sid)
        if content_type is None:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        return PLACEHOLDER_MEDIA, 200, {"Content-Type": content_type}

    # -- what happens to a queued message ----------------------------------------------

    def _deliver_outbox(self) -> None:
        """Move queued messages on (sent, delivered; or failed) and report each step."""
        while (item := self._outbox.get()) is not None:
            sid, callback, problem = item
            try:
                steps = [("failed", problem)] if problem else [("sent", None), ("delivered", None)]
                for status, error in steps:
                    self._set_status(sid, status, error)
                    if callback:
                        self.send_status(sid, status, url=callback, error=error)
            except requests.RequestException as exc:
                log.warning("Sandbox de Twilio: no se pudo avisar el estado de %s: %s", sid, exc)
            finally:
                self._outbox.task_done()

    def _set_status(self, sid: str, status: str, error: tuple[int, str] | None) -> None:
        with self._state:
            message = self.messages[sid]
            message["status"] = status
            message["date_updated"] = _rfc2822(self.clock())
            if status == "sent":
                message["date_sent"] = message["date_updated"]
            if error:
                message["error_code"], message["error_message"] = error

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every queued message reached its final status (and was reported)."""
        deadline = time.monotonic() + timeout
        while self._outbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        if self._outbox.unfinished_tasks:
            raise TimeoutError("el sandbox de Twilio no terminó de entregar sus mensajes")

    # -- calling the lab's webhooks ----------------------------------------------------

    def sign(self, url: str, form: dict[str, str]) -> str:
        """X-Twilio-Signature for `form` posted to `url`, as Twilio computes it."""
        return RequestValidator(self.auth_token).compute_signature(url, form)

    def _post_signed(self, url: str, form: dict[str, str]) -> tuple[requests.Response, dict]:
        headers = {
            "X-Twilio-Signature": self.sign(self._public(url), form),
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            "User-Agent": "TwilioProxy/1.1",
        }
        return self.post_webhook(url, data=form, headers=headers), headers

    def _public(self, url: str) -> str:
        """The URL Twilio signs for a delivery to `url`: the public one when the lab has one."""
        local = next(iter(self.webhook_urls.values()), "")
        origin = local[: local.find("/", len("http://"))] if local else ""
        if self.public_base_url and origin and url.startswith(origin + "/"):
            return self.public_base_url + url[len(origin) :]
        return url

    def _webhook(self, path: str = "") -> str:
        if "whatsapp" not in self.webhook_urls:
            raise RuntimeError("el sandbox de Twilio aún no conoce la URL del webhook de WhatsApp")
        return self.webhook_urls["whatsapp"] + path

    def send_inbound(
        self,
        body: str = "",
        *,
        from_: str,
        media: tuple[str, ...] | list[str] = (),
        profile_name: str = "Estudiante",
        url: str | None = None,
    ) -> Delivery:
        """A phone sends `body` (and attachments of the given content types) to the sandbox.

        Twilio handles «join <code>» itself and does not forward messages from phones that
        have not joined; everything else reaches the lab's webhook, signed.
        """
        address = from_ if from_.startswith("whatsapp:") else "whatsapp:" + from_
        if body.strip().lower() == f"join {self.join_code}":
            self.join(address)
            return Delivery(None, {"From": address, "Body": body}, {}, None, "", [JOINED])
        if not self.is_member(address):
            reply = NOT_JOINED.format(code=self.join_code)
            return Delivery(None, {"From": address, "Body": body}, {}, None, "", [reply])
        with self._state:
            self.last_inbound[address] = self.clock()
        sid = _sid("MM" if media else "SM")
        form = {
            "SmsMessageSid": sid,
            "NumMedia": str(len(media)),
            "ProfileName": profile_name,
            "MessageType": media[0].split("/")[0] if media else "text",
            "SmsSid": sid,
            "WaId": address.removeprefix("whatsapp:+"),
            "SmsStatus": "received",
            "Body": body,
            "To": SANDBOX_NUMBER,
            "NumSegments": "1",
            "ReferralNumMedia": "0",
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": address,
            "ApiVersion": API_VERSION,
        }
        for index, content_type in enumerate(media):
            media_sid = _sid("ME")
            with self._state:
                self.media[media_sid] = content_type
            form[f"MediaUrl{index}"] = (
                f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
                f"/Media/{media_sid}"
            )
            form[f"MediaContentType{index}"] = content_type
        return self._deliver(url or self._webhook(), form)

    def repeat(self, delivery: Delivery) -> Delivery:
        """Deliver the same message again, same MessageSid, as Twilio does when it retries."""
        if delivery.url is None:
            raise ValueError("ese mensaje no llegó al webhook, no hay nada que repetir")
        return self._deliver(delivery.url, delivery.form)

    def _deliver(self, url: str, form: dict[str, str]) -> Delivery:
        response, headers = self._post_signed(url, form)
        error, replies = None, []
        if response.status_code != 200:
            error = 11200
        elif response.headers.get("Content-Type", "").split(";")[0] not in XML_TYPES:
            error = 12300
        else:
            try:
                replies = twiml_messages(response.text)
            except ET.ParseError:
                error = 12100
        return Delivery(url, form, headers, response.status_code, response.text, replies, error)

    def send_status(
        self,
        sid: str,
        status: str,
        *,
        url: str | None = None,
        error: tuple[int, str] | None = None,
    ) -> requests.Response:
        """Report `status` of message `sid` to a status callback URL, signed."""
        with self._state:
            message = dict(self.messages.get(sid, {}))
        form = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.account_sid,
            "From": message.get("from", SANDBOX_NUMBER),
            "To": message.get("to", ""),
            "MessageStatus": status,
            "SmsStatus": status,
            "ChannelPrefix": "whatsapp",
            "ApiVersion": API_VERSION,
        }
        if error:
            form["ErrorCode"], form["ErrorMessage"] = str(error[0]), error[1]
        return self._post_signed(url or self._webhook("/status"), form)[0]

    def _phone_help(self):
        return jsonify(
            number=SANDBOX_NUMBER,
            join_code=self.join_code,
            send=f"POST {self.base_url}/_sandbox/whatsapp/inbound con From, Body",
        )

    def _phone(self):
        """A simulated phone for terminal users: POST From, Body (MediaContentType...)."""
        sender = request.form.get("From", "").strip()
        if not sender:
            return jsonify(error="Bad Request", message="Falta From (tu número simulado)."), 400
        delivery = self.send_inbound(
            request.form.get("Body", ""),
            from_=sender,
            media=request.form.getlist("MediaContentType"),
        )
        return jsonify(
            message_sid=delivery.message_sid,
            status_code=delivery.status_code,
            twiml=delivery.twiml,
            replies=delivery.replies,
            error=delivery.error,
        )

    def stop(self) -> None:
        self._outbox.put(None)
        self._worker.join(timeout=5)
        super().stop()
