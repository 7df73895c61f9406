"""The classroom sandbox's WhatsApp templates (Twilio Content Templates, `HX...` SIDs).

Outside the 24-hour window WhatsApp only accepts approved templates, sent with `ContentSid`
and `ContentVariables` (twilio.com/docs/api/errors/63016). Real templates are made in the
Content Template Builder and approved by Meta; the sandbox ships a few already "approved"
`twilio/text` templates (twilio.com/docs/content/twilio-text) so that advice can be followed
in class. The first one is the appointment reminder Twilio's WhatsApp quickstart sends
(twilio.com/docs/whatsapp/quickstart), with the same SID and variables.

Variables follow twilio.com/docs/content/using-variables-with-content-api: `ContentVariables`
is a JSON object string such as `{"1":"Ana"}`; a variable left out takes the template's
default; a bad value is error 21656, an unknown SID 21655, variables without a SID 21654
(twilio.com/docs/api/errors/<code>).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
#: Values Twilio refuses in a body variable (errors/21656): newline, tab, 5+ spaces.
BAD_VALUE = re.compile(r"[\n\t]| {5,}")


class TemplateError(ValueError):
    """A template request Twilio refuses at once, with its error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Template:
    """One approved `twilio/text` template: its text and the defaults of its variables."""

    sid: str
    friendly_name: str
    language: str
    body: str
    variables: dict[str, str] = field(default_factory=dict)

    def render(self, values: dict[str, str]) -> str:
        merged = {**self.variables, **values}
        return PLACEHOLDER.sub(lambda m: merged.get(m.group(1), m.group(0)), self.body)

    def resource(self, date: str) -> dict:
        """The template as the Content API describes it (twilio.com/docs/content/
        content-api-resources#fetch-a-content-resource)."""
        return {
            "sid": self.sid,
            "account_sid": None,
            "friendly_name": self.friendly_name,
            "language": self.language,
            "variables": self.variables,
            "types": {"twilio/text": {"body": self.body}},
            "date_created": date,
            "date_updated": date,
            "url": f"https://content.twilio.com/v1/Content/{self.sid}",
            "links": {
                "approval_fetch": f"https://content.twilio.com/v1/Content/{self.sid}"
                "/ApprovalRequests",
            },
        }


TEMPLATES: dict[str, Template] = {
    t.sid: t
    for t in (
        Template(
            "HXb5b62575e6e4ff6129ad7c8efe1f983e",
            "appointment_reminder",
            "en",
            "Your appointment is coming up on {{1}} at {{2}}",
            {"1": "12/1", "2": "3pm"},
        ),
        Template(
            "HX0c1a55e3d5b84f0e9a7c2b6d4e8f1a01",
            "recordatorio_cita",
            "es",
            "Hola {{1}}, te recordamos tu cita del {{2}} a las {{3}}. "
            "Si necesitas cambiarla, responde a este mensaje.",
            {"1": "estudiante", "2": "lunes", "3": "10:00"},
        ),
        Template(
            "HX0c1a55e3d5b84f0e9a7c2b6d4e8f1a02",
            "retomar_conversacion",
            "es",
            "Hola {{1}}, pasó más de un día desde tu último mensaje. "
            "¿Seguimos con tu consulta? Responde «sí» y te ayudo.",
            {"1": "estudiante"},
        ),
        Template(
            "HX0c1a55e3d5b84f0e9a7c2b6d4e8f1a03",
            "estado_tramite",
            "es",
            "Hola {{1}}, tu trámite «{{2}}» cambió de estado: {{3}}.",
            {"1": "estudiante", "2": "inscripción", "3": "aprobado"},
        ),
    )
}


def render(content_sid: str, content_variables: str | None) -> str:
    """The text a template sends with these variables, or `TemplateError` (21655/21656)."""
    template = TEMPLATES.get(content_sid)
    if template is None:
        raise TemplateError(21655, "The ContentSid is Invalid")
    if not content_variables:
        return template.render({})
    try:
        values = json.loads(content_variables)
    except ValueError:
        values = None
    if not isinstance(values, dict) or not all(_usable(v) for v in values.values()):
        raise TemplateError(21656, "The ContentVariables Parameter is invalid")
    return template.render({str(k): str(v) for k, v in values.items()})


def _usable(value: object) -> bool:
    """A variable value Twilio accepts: a non-empty string (or number) without newlines,
    tabs or runs of spaces; null and empty strings are refused (errors/21656)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return False
    text = str(value)
    return bool(text.strip()) and not BAD_VALUE.search(text)
