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
  fails with 63015 or 63016, reported to its StatusCallback URL. Approved templates
  (`ContentSid`, twilio_templates.py) are delivered outside the 24 h window too.
- The message log (twilio.com/docs/messaging/api/message-resource): list with filters and
  paging (twilio_paging.py), redaction with `Body=""` and DELETE once a message is no longer
  in flight; inbound messages and TwiML replies are in the log, as in Twilio's.
- Production senders (`add_sender`): the account's other WhatsApp-enabled senders need no
  `join` but keep the 24-hour window; a `From` that is neither one nor the sandbox number is
  63007 "Twilio could not find a Channel with the specified From address"
  (twilio.com/docs/whatsapp/best-practices-and-faqs). They send 80 messages a second each and
  queue the excess, so they need no counter.
- The sandbox number's "one request every 3 seconds" per account (error 63018, support article
  360024008153) is counted in `posting`, not enforced: the kit's webhook sends a long reply as
  several parts at once.
- What Twilio does with the webhook's answer is in twilio_twiml.py. What the sandbox does not
  simulate answers in Twilio's error shape with a Spanish note (docs/sandbox/twilio.md).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import queue
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urldefrag

import requests
from flask import Flask, jsonify, request
from twilio.request_validator import RequestValidator

from . import twilio_paging, twilio_templates
from .base import Demo, PostingCounter, PostingLimit, StandIn
from .twilio_twiml import Reading, read_answer, timed_out

log = logging.getLogger(__name__)

SANDBOX_NUMBER = "whatsapp:+14155238886"
#: "a limit of one request every 3 seconds with the Sandbox number", per account (63018)
SANDBOX_LIMIT = PostingLimit(
    1,
    3.0,
    "account (sandbox number)",
    "https://support.twilio.com/hc/en-us/articles/360024008153-WhatsApp-Rate-Limiting",
)
NO_CHANNEL = (63007, "Twilio could not find a Channel with the specified From address")
API_VERSION = "2010-04-01"
MEMBERSHIP_SECONDS = 3 * 24 * 3600
WINDOW_SECONDS = 24 * 3600
BODY_LIMIT = 1600
#: Twilio waits at most 15 s for the whole answer (twilio.com/docs/api/errors/11205); the URL
#: fragment `#ct=...&rt=...&tt=...` (ms) lowers it (twilio.com/docs/usage/webhooks/
#: webhooks-connection-overrides).
WEBHOOK_TIMEOUT = 15.0
CONNECT_TIMEOUT = 5.0
#: Statuses of a message still in flight: Twilio refuses to delete or redact it (20009).
IN_FLIGHT = frozenset({"accepted", "scheduled", "queued", "sending"})
#: How many webhook deliveries the stand-in remembers for `deliveries`.
KEEP_DELIVERIES = 200
NOT_SIMULATED = (
    "Sandbox del curso: este recurso de Twilio no está simulado ({what}). Tus credenciales "
    "del sandbox están bien; lo que sí se simula está en docs/sandbox/twilio.md."
)
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


def _iso8601(moment: float) -> str:
    """The Content API's date format (ISO 8601, UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def twilio_error(status: int, code: int, message: str) -> tuple[Any, int]:
    """Twilio's error body, which twilio-python turns into `TwilioRestException`."""
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    return jsonify(code=code, message=message, more_info=more_info, status=status), status


@dataclass(frozen=True)
class Delivery:
    """One inbound WhatsApp message as the stand-in delivered it, and what came back.

    `status_code` is None when Twilio would not call the webhook (a `join` message, or a
    phone that has not joined): then `replies` holds the sandbox's own answer.
    `error` is the code Twilio would log for the answer (11200, 11205, 12100, 12200, 12300),
    `note` says in Spanish what Twilio would do, `twiml` is the answer decoded as Twilio
    decodes it (twilio_twiml.py).
    """

    url: str | None
    form: dict[str, str]
    headers: dict[str, str] = field(repr=False)
    status_code: int | None
    twiml: str
    replies: list[str]
    error: int | None = None
    content_type: str | None = None
    seconds: float | None = None
    note: str = ""

    @property
    def message_sid(self) -> str | None:
        return self.form.get("MessageSid")

    def as_row(self) -> dict[str, Any]:
        """What happened, as one row for a notebook's table."""
        row = asdict(self)
        del row["form"], row["headers"]
        return {"mensaje": self.form.get("Body", ""), **row}


class TwilioStandIn(StandIn):
    """Twilio's REST API for messages and the WhatsApp sandbox, on a loopback port."""

    service = "twilio"

    def __init__(self) -> None:
        self.account_sid = _sid("AC")
        self.auth_token = secrets.token_hex(16)
        self.join_code = f"{secrets.choice(WORDS)}-{secrets.choice(WORDS)}"
        self.clock = time.time  # tests move time forward to expire memberships and windows
        self.started = time.time()
        self.log: dict[str, dict[str, Any]] = {}  # sid -> resource, every message, oldest first
        self.deliveries: deque[Delivery] = deque(maxlen=KEEP_DELIVERIES)  # newest last
        self.webhook_timeout = WEBHOOK_TIMEOUT
        self.joined: dict[str, float] = {}  # address -> when it joined
        self.last_inbound: dict[str, float] = {}  # address -> its last message to the bot
        self.media: dict[str, str] = {}  # media sid -> content type, of inbound attachments
        #: the account's production WhatsApp senders besides the sandbox number (`add_sender`)
        self.senders: set[str] = set()
        #: REST messages from the sandbox number per Account SID, against SANDBOX_LIMIT (counted,
        #: never refused: see docs/sandbox/twilio.md)
        self.posting = PostingCounter(SANDBOX_LIMIT, clock=lambda: self.clock())
        self._state = threading.Lock()
        self._outbox: queue.Queue = queue.Queue()
        self._moving = threading.Event()  # cleared while `hold()` keeps messages queued
        self._moving.set()
        super().__init__()
        self._worker = threading.Thread(target=self._deliver_outbox, daemon=True)
        self._worker.start()

    @property
    def messages(self) -> dict[str, dict[str, Any]]:
        """The messages sent through the REST API (sid -> resource)."""
        with self._state:
            return {s: m for s, m in self.log.items() if m["direction"] == "outbound-api"}

    def overrides(self) -> dict[str, str]:
        return {
            "TWILIO_ACCOUNT_SID": self.account_sid,
            "TWILIO_AUTH_TOKEN": self.auth_token,
            "TWILIO_API_BASE": self.base_url,
            "TWILIO_WHATSAPP_FROM": SANDBOX_NUMBER,
        }

    #: The phone of the demo contact, who joined the sandbox and wrote to the bot at start.
    DEMO_CONTACT = "whatsapp:+59170009999"

    def demo(self, student: int = 0) -> Demo:
        """A contact inside its 24-hour window, so a post can go to WhatsApp at once.

        Only for student 0: a class-wide lab has one Twilio account (and one sandbox), so
        other students bring nothing of their own."""
        if student:
            return Demo()
        self.join(self.DEMO_CONTACT)
        return Demo(contacts=(("whatsapp", self.DEMO_CONTACT),))

    def add_sender(self, address: str) -> None:
        """Register another WhatsApp-enabled sender of the account (`whatsapp:+E164`), as
        after Meta approved it: messages From it need no `join`."""
        if not WHATSAPP_NUMBER.fullmatch(address) or address == SANDBOX_NUMBER:
            raise ValueError(f"remitente inválido {address!r}: usa whatsapp:+<número E.164>")
        with self._state:
            self.senders.add(address)

    def _is_sender(self, address: str) -> bool:
        with self._state:
            return address == SANDBOX_NUMBER or address in self.senders

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

    def _delivery_error(
        self, address: str, sender: str, template: bool = False
    ) -> tuple[int, str] | None:
        """Why a message from `sender` to `address` would fail now, as Twilio reports it:
        only the sandbox needs `join`; templates may go outside the 24 h window (which any
        message to one of the account's senders opens), free-form messages may not."""
        if sender == SANDBOX_NUMBER and not self.is_member(address):
            return NOT_A_MEMBER
        if template:
            return None
        with self._state:
            last = self.last_inbound.get(address, 0.0)
        return OUTSIDE_WINDOW if self.clock() - last > WINDOW_SECONDS else None

    # -- REST API ----------------------------------------------------------------------

    def routes(self, app: Flask) -> None:
        prefix = f"/{API_VERSION}/Accounts/<account_sid>"
        app.post(f"{prefix}/Messages.json")(self._create_message)
        app.get(f"{prefix}/Messages.json")(self._list_messages)
        app.get(f"{prefix}/Messages/<sid>.json")(self._fetch_message)
        app.post(f"{prefix}/Messages/<sid>.json")(self._update_message)
        app.delete(f"{prefix}/Messages/<sid>.json")(self._delete_message)
        app.get(f"{prefix}/Messages/<sid>/Media/<media_sid>")(self._media)
        app.get("/v1/Content")(self._list_templates)
        app.get("/v1/Content/<sid>")(self._fetch_template)
        app.register_error_handler(404, self._not_simulated)
        app.register_error_handler(405, self._not_allowed)
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

    def _credentials_ok(self) -> bool:
        return self._authenticated(self.account_sid)

    def _not_simulated(self, _error: Exception) -> tuple[Any, int]:
        """A path the sandbox does not serve: Twilio's answer for resources an environment
        does not offer, 403 with 20008 (twilio.com/docs/iam/test-credentials), never an
        HTML page or a 404 that reads as a wrong Account SID."""
        if not self._credentials_ok():
            return self._unauthorized()
        what = f"{request.method} {request.path}"
        return twilio_error(403, 20008, NOT_SIMULATED.format(what=what))

    def _not_allowed(self, _error: Exception) -> tuple[Any, int]:
        if not self._credentials_ok():
            return self._unauthorized()
        return twilio_error(
            405, 20004, f"Method not allowed. {NOT_SIMULATED.format(what=request.method)}"
        )

    def _not_found(self) -> tuple[Any, int]:
        return twilio_error(404, 20404, f"The requested resource {request.path} was not found")

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
        content_sid = form.get("ContentSid", "")
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not sender:
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if form.get("ContentVariables") and not content_sid:
            return twilio_error(400, 21654, "ContentSid Required")
        if content_sid:
            try:
                body = twilio_templates.render(content_sid, form.get("ContentVariables"))
            except twilio_templates.TemplateError as exc:
                return twilio_error(400, exc.code, exc.message)
        if not body and not media:
            return twilio_error(400, 21602, "Message body is required.")
        if not WHATSAPP_NUMBER.fullmatch(to):
            return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not self._is_sender(sender):
            return twilio_error(400, *NO_CHANNEL)
        if len(body) > BODY_LIMIT:
            return twilio_error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        sid = _sid("MM" if media else "SM")
        message = self._record_message(sid, sender, to, body, "outbound-api", "queued", media)
        if sender == SANDBOX_NUMBER:
            self.posting.record(self.account_sid)
        problem = self._delivery_error(to, sender, template=bool(content_sid))
        self._outbox.put((sid, form.get("StatusCallback"), problem))
        return jsonify(message), 201

    def _record_message(
        self,
        sid: str,
        sender: str,
        to: str,
        body: str,
        direction: str,
        status: str,
        media: list[str] | tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Add a message to the log as the Message resource describes it."""
        now = _rfc2822(self.clock())
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        message = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None if status == "queued" else now,
            "date_updated": now,
            "direction": direction,
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": None,
            "num_media": str(len(media)),
            "num_segments": "1",
            "price": None,
            "price_unit": None,
            "sid": sid,
            "status": status,
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": to,
            "uri": f"{uri}.json",
        }
        with self._state:
            self.log[sid] = message
        return dict(message)

    def _list_messages(self, account_sid: str):
        if not self._authenticated(account_sid):
            return self._unauthorized()
        with self._state:
            messages = [dict(m) for m in self.log.values()]
        try:
            return jsonify(twilio_paging.page(messages, request.args.to_dict(), request.path))
        except twilio_paging.QueryError as exc:
            return twilio_error(400, 20001, str(exc))

    def _update_message(self, account_sid: str, sid: str):
        """Redaction (`Body=""`) and cancelling, per the UpdateMessage operation and
        twilio.com/docs/api/errors/30400, /30409 and /20009."""
        if not self._authenticated(account_sid):
            return self._unauthorized()
        form = request.form
        with self._state:
            message = self.log.get(sid)
            if message is None:
                return self._not_found()
            if "Body" in form and "Status" in form:
                return twilio_error(400, 30400, "Parameters are not valid")
            if "Status" in form:
                if form["Status"] != "canceled":
                    return twilio_error(400, 30400, "Parameters are not valid")
                return twilio_error(400, 30409, "This message cannot be canceled")
            if "Body" not in form or form["Body"] != "":
                return twilio_error(400, 30400, "Parameters are not valid")
            if message["status"] in IN_FLIGHT:
                return twilio_error(400, 20009, "Cannot redact this resource before it is complete")
            message["body"] = ""
            message["date_updated"] = _rfc2822(self.clock())
            return jsonify(message)

    def _delete_message(self, account_sid: str, sid: str):
        if not self._authenticated(account_sid):
            return self._unauthorized()
        with self._state:
            message = self.log.get(sid)
            if message is None:
                return self._not_found()
            if message["status"] in IN_FLIGHT:
                return twilio_error(400, 20009, "Cannot delete this resource before it is complete")
            del self.log[sid]
        return "", 204

    def _list_templates(self):
        """The Content API's list (twilio.com/docs/content/content-api-resources)."""
        if not self._credentials_ok():
            return self._unauthorized()
        date = _iso8601(self.started)
        contents = [t.resource(date) for t in twilio_templates.TEMPLATES.values()]
        url = "https://content.twilio.com/v1/Content?PageSize=50&Page=0"
        meta = {
            "page": 0,
            "page_size": 50,
            "first_page_url": url,
            "previous_page_url": None,
            "url": url,
            "next_page_url": None,
            "key": "contents",
        }
        return jsonify(contents=contents, meta=meta)

    def _fetch_template(self, sid: str):
        if not self._credentials_ok():
            return self._unauthorized()
        template = twilio_templates.TEMPLATES.get(sid)
        if template is None:
            return self._not_found()
        return jsonify(template.resource(_iso8601(self.started)))

    def _fetch_message(self, account_sid: str, sid: str):
        if not self._authenticated(account_sid):
            return self._unauthorized()
        with self._state:
            message = self.log.get(sid)
            if message is not None:
                return jsonify(message)
        return self._not_found()

    def _media(self, account_sid: str, sid: str, media_sid: str):
        """Media URLs of inbound messages, which need Basic auth as Twilio's do."""
        if not self._authenticated(account_sid):
            return self._unauthorized()
        with self._state:
            content_type = self.media.get(media_sid)
        if content_type is None:
            return self._not_found()
        return PLACEHOLDER_MEDIA, 200, {"Content-Type": content_type}

    # -- what happens to a queued message ----------------------------------------------

    def _deliver_outbox(self) -> None:
        """Move queued messages on (sent, delivered; or failed) and report each step."""
        while (item := self._outbox.get()) is not None:
            self._moving.wait()
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
            message = self.log.get(sid)
            if message is None:  # deleted meanwhile
                return
            message["status"] = status
            message["date_updated"] = _rfc2822(self.clock())
            if status == "sent":
                message["date_sent"] = message["date_updated"]
            if error:
                message["error_code"], message["error_message"] = error

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Keep new messages `queued` inside the block, as a busy carrier would (to show,
        for example, that Twilio refuses to delete a message still in flight)."""
        self._moving.clear()
        try:
            yield
        finally:
            self._moving.set()

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

    def _post_signed(
        self, url: str, form: dict[str, str], timeout: float = WEBHOOK_TIMEOUT
    ) -> tuple[requests.Response, dict]:
        url = urldefrag(url).url  # the fragment holds overrides, and is not signed
        headers = {
            "X-Twilio-Signature": self.sign(self._public(url), form),
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            "User-Agent": "TwilioProxy/1.1",
        }
        return self.post_webhook(url, data=form, headers=headers, timeout=timeout), headers

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
        to: str = SANDBOX_NUMBER,
    ) -> Delivery:
        """A phone sends `body` (and attachments of the given content types) to the sandbox,
        or to the production sender `to`.

        The sandbox handles «join <code>» itself and does not forward messages from phones
        that have not joined; everything else reaches the lab's webhook, signed.
        """
        address = from_ if from_.startswith("whatsapp:") else "whatsapp:" + from_
        if not self._is_sender(to):
            raise ValueError(f"{to!r} no es un remitente de esta cuenta (ver add_sender)")
        if to == SANDBOX_NUMBER and body.strip().lower() == f"join {self.join_code}":
            self.join(address)
            return Delivery(None, {"From": address, "Body": body}, {}, None, "", [JOINED])
        if to == SANDBOX_NUMBER and not self.is_member(address):
            reply = NOT_JOINED.format(code=self.join_code)
            return Delivery(None, {"From": address, "Body": body}, {}, None, "", [reply])
        with self._state:
            self.last_inbound[address] = self.clock()
        sid = _sid("MM" if media else "SM")
        self._record_message(sid, address, to, body, "inbound", "received", media)
        form = {
            "SmsMessageSid": sid,
            "NumMedia": str(len(media)),
            "ProfileName": profile_name,
            "MessageType": media[0].split("/")[0] if media else "text",
            "SmsSid": sid,
            "WaId": address.removeprefix("whatsapp:+"),
            "SmsStatus": "received",
            "Body": body,
            "To": to,
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

    def _time_limit(self, url: str) -> float:
        """Seconds Twilio waits for the whole answer: 15, or less by `#tt=`/`#rt=` (ms)."""
        overrides = dict(parse_qsl(urldefrag(url).fragment))
        limit = self.webhook_timeout
        for name in ("tt", "rt"):
            if overrides.get(name, "").isdigit():
                limit = min(limit, int(overrides[name]) / 1000)
        return limit

    def _deliver(self, url: str, form: dict[str, str]) -> Delivery:
        """POST the message to the webhook and do with the answer what Twilio does."""
        limit = self._time_limit(url)
        started = time.monotonic()
        status = content_type = None
        headers: dict[str, str] = {}
        try:
            response, headers = self._post_signed(url, form, timeout=limit)
            status, content_type = response.status_code, response.headers.get("Content-Type")
            reading: Reading = read_answer(status, content_type, response.content)
        except (requests.Timeout, requests.ConnectionError):
            reading = timed_out(limit)
        seconds = time.monotonic() - started
        if seconds > limit:
            reading = timed_out(limit)
        for text in reading.replies:  # TwiML replies come from the number that was written to
            self._record_message(
                _sid("SM"), form["To"], form["From"], text, "outbound-reply", "delivered"
            )
        delivery = Delivery(
            url,
            form,
            headers,
            status,
            reading.text,
            reading.replies,
            reading.error,
            content_type,
            round(seconds, 3),
            reading.note,
        )
        self.deliveries.append(delivery)
        return delivery

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
            message = dict(self.log.get(sid, {}))
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
            templates={
                t.sid: {"name": t.friendly_name, "body": t.body, "variables": t.variables}
                for t in twilio_templates.TEMPLATES.values()
            },
        )

    def _phone(self):
        """A simulated phone for terminal users and the portal's chat simulator: POST From,
        Body, optionally ProfileName and MediaContentType (repeated)."""
        sender = request.form.get("From", "").strip()
        if not sender:
            return jsonify(error="Bad Request", message="Falta From (tu número simulado)."), 400
        delivery = self.send_inbound(
            request.form.get("Body", ""),
            from_=sender,
            media=request.form.getlist("MediaContentType"),
            profile_name=request.form.get("ProfileName", "").strip()[:60] or "Estudiante",
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
