"""What the WhatsApp tests share: Twilio-signed posts, a known responses file, the spec checks."""

from __future__ import annotations

import json
import secrets
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import requests
from jsonschema import Draft202012Validator, FormatChecker
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from lab_server import start
from lab_server.lab import Lab

from .conftest import make_settings

TOKEN = "test-auth-token-" + "0123456789abcdef"
ACCOUNT = "AC" + "1" * 32
STUDENT = "whatsapp:+59170000001"
BOT = "whatsapp:+14155238886"
SPEC = Path(__file__).parent / "specs" / "twilio_messages.json"
MESSAGES_PATH = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
TWIML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'

#: Answers of the test's own responses.json, so expected TwiML is written out literally.
RESPONSES = {
    "default": "Respuesta por defecto.",
    "channels": {"whatsapp": {"response": "Respuesta de WhatsApp."}},
    "rules": [
        {"name": "retiro", "keywords": ["retiro"], "response": "Pasos del retiro: 1, 2 y 3."},
        {"name": "xml", "keywords": ["xml"], "response": "a < b & c > d"},
    ],
}


def write_responses(folder: Path, data: dict[str, Any] | None = None) -> Path:
    path = folder / "responses.json"
    path.write_text(json.dumps(data or RESPONSES, ensure_ascii=False), encoding="utf-8")
    return path


def start_lab(folder: Path, responses: dict[str, Any] | None = None, **env: str) -> Lab:
    """A lab with the Twilio stand-in, over real HTTP on loopback, answering from RESPONSES."""
    settings = make_settings(
        folder, LAB_RESPONSES=str(write_responses(folder, responses)), LAB_PORT="0", **env
    )
    return start(sandbox=True, settings=settings, show=False)


def joined_lab(folder: Path) -> Lab:
    """`start_lab` with STUDENT already joined to the sandbox."""
    lab = start_lab(folder)
    lab.sandbox["twilio"].join(STUDENT)
    return lab


def lab_on(database_url: str, folder: Path) -> Lab:
    """A lab without stand-ins on `database_url`, whose requests tests sign with TOKEN."""
    settings = make_settings(
        folder,
        DATABASE_URL=database_url,
        TWILIO_AUTH_TOKEN=TOKEN,
        LAB_RESPONSES=str(write_responses(folder)),
        LAB_PORT="0",
    )
    return start(sandbox=False, settings=settings, show=False)


def new_sid(prefix: str = "SM") -> str:
    return prefix + secrets.token_hex(16)


def inbound_form(body: str = "hola", sid: str | None = None, **extra: str) -> dict[str, str]:
    """The fields Twilio posts for a WhatsApp text message."""
    return {
        "MessageSid": sid or new_sid(),
        "AccountSid": ACCOUNT,
        "From": STUDENT,
        "To": BOT,
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Ana",
        "WaId": "59170000001",
        **extra,
    }


def signed_post(
    url: str,
    form: Any,
    *,
    token: str = TOKEN,
    sign_url: str | None = None,
    sign_form: Any = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """POST `form` to `url`, signed like Twilio for `sign_url` (default `url`)."""
    signed = MultiDict(form if sign_form is None else sign_form)  # a list may repeat a name
    signature = RequestValidator(token).compute_signature(sign_url or url, signed)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",  # also for an empty form
        "X-Twilio-Signature": signature,
        **(headers or {}),
    }
    return requests.post(url, data=form, headers=headers, timeout=20)


def twiml(*messages: str) -> str:
    """The exact TwiML twilio's MessagingResponse writes for these <Message> texts."""
    if not messages:
        return TWIML_HEAD + "<Response />"
    return (
        TWIML_HEAD
        + "<Response>"
        + "".join(f"<Message>{m}</Message>" for m in messages)
        + ("</Response>")
    )


# -- Twilio's OpenAPI description -------------------------------------------------------


def _nullable_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` is JSON Schema's `type: [..., "null"]`."""
    if isinstance(node, dict):
        out = {k: _nullable_to_json_schema(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") and "type" in node:
            out["type"] = [node["type"], "null"]
        return out
    if isinstance(node, list):
        return [_nullable_to_json_schema(v) for v in node]
    return node


SPEC_DOC = _nullable_to_json_schema(json.loads(SPEC.read_text(encoding="utf-8")))
FORMATS = FormatChecker()


@FORMATS.checks("date-time-rfc-2822", raises=(TypeError, ValueError))
def _rfc2822(value: object) -> bool:
    return not isinstance(value, str) or parsedate_to_datetime(value) is not None


def spec_validator(pointer: str) -> Draft202012Validator:
    """A validator for the spec's schema at JSON pointer `pointer` (refs resolve in the spec)."""
    return Draft202012Validator({**SPEC_DOC, "$ref": pointer}, format_checker=FORMATS)


CREATE = SPEC_DOC["paths"][MESSAGES_PATH]["post"]
MESSAGE = spec_validator("#/components/schemas/api.v2010.account.message")
REQUEST_SCHEMA = CREATE["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
CREATE_REQUEST = spec_validator(
    "#/paths/~12010-04-01~1Accounts~1{AccountSid}~1Messages.json/post/requestBody/content/"
    "application~1x-www-form-urlencoded/schema"
)
ACCOUNT_SID = Draft202012Validator(CREATE["parameters"][0]["schema"])

#: Twilio's REST error body. Not in the OpenAPI file: the fields twilio-python's
#: twilio/base/version.py reads into TwilioRestException (platform-facts.md §1.7).
ERROR = Draft202012Validator(
    {
        "type": "object",
        "required": ["code", "message", "more_info", "status"],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "integer"},
            "message": {"type": "string", "minLength": 1},
            "more_info": {"type": "string", "pattern": r"^https://www\.twilio\.com/docs/errors/"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
        },
    }
)


def create_request_fields(body: bytes) -> dict[str, Any]:
    """A form-encoded CreateMessage body as the object the spec describes (arrays as lists)."""
    fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    out: dict[str, Any] = {}
    for name, values in fields.items():
        kind = REQUEST_SCHEMA["properties"].get(name, {}).get("type")
        if kind == "array":
            out[name] = values
        else:
            assert len(values) == 1, f"{name} sent {len(values)} times"
            out[name] = values[0]
    return out


def check_create_request(path: str, body: bytes) -> dict[str, Any]:
    """Assert a request to Messages.json is what the spec allows; return its fields."""
    account = path.split("/")[3]
    ACCOUNT_SID.validate(account)
    fields = create_request_fields(body)
    unknown = set(fields) - set(REQUEST_SCHEMA["properties"])
    assert not unknown, f"fields the API does not define: {unknown}"
    CREATE_REQUEST.validate(fields)
    return fields


def wait_until(condition, timeout: float = 10.0) -> None:
    """Poll `condition` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.02)
