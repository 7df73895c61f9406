"""The chat simulator: simulated people writing to the bot through the real webhook path.

The portal does not sign or build webhook requests itself: it asks the classroom sandbox's
simulated phone to send the message (`POST /_sandbox/whatsapp/inbound` on the Twilio
stand-in, `POST /_sandbox/telegram/inbound` on the Telegram stand-in), over HTTP. Each
stand-in then delivers as its service does: the Twilio one signs the form with
X-Twilio-Signature, the Telegram one sends X-Telegram-Bot-Api-Secret-Token, and the bot's
answers (TwiML, REST calls, late model answers) go back through the stand-ins. What the
portal shows is the conversation as the lab stored it, read from the store.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import requests

from ..config import Settings
from ..store import Store

#: channel -> the stand-in (sandbox service) that plays its phones
STANDIN = {"whatsapp": "twilio", "telegram": "telegram"}
CHANNEL_NAMES = {"whatsapp": "WhatsApp", "telegram": "Telegram"}
#: Simulated people every lab starts with, per channel: (id, name).
DEFAULT_CONTACTS = {
    "whatsapp": (("59170000001", "Ana"), ("59170000002", "Bruno"), ("59170000003", "Carla")),
    "telegram": (("7100000001", "Ana"), ("7100000002", "Bruno"), ("7100000003", "Carla")),
}
CONTACT_ID = re.compile(r"[0-9]{6,15}")
MAX_NAME = 40
MAX_TEXT = 1600
#: Messages shown per conversation.
SHOWN = 200
#: How long the portal waits for the simulated phone (Twilio waits 15 s for a webhook).
PHONE_TIMEOUT = 20.0


class ChatInputError(ValueError):
    """Bad input from the simulator's forms; its message is Spanish and says what to fix."""


@dataclass(frozen=True)
class Contact:
    channel: str
    id: str
    name: str

    @property
    def party(self) -> str:
        """How the store names this person: the WhatsApp address, or the Telegram chat id."""
        return f"whatsapp:+{self.id}" if self.channel == "whatsapp" else self.id


@dataclass(frozen=True)
class Outcome:
    """What happened to one message: whether the bot's webhook took it, and why not."""

    delivered: bool
    note: str = ""


def check_channel(channel: str) -> str:
    if channel not in STANDIN:
        raise ChatInputError("Canal desconocido: elige whatsapp o telegram.")
    return channel


def check_name(name: Any) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise ChatInputError("Escribe un nombre para el contacto.")
    if len(name) > MAX_NAME:
        raise ChatInputError(f"El nombre tiene {len(name)} caracteres; el máximo es {MAX_NAME}.")
    if not name.isprintable():
        raise ChatInputError("El nombre tiene caracteres que no se pueden mostrar.")
    return name


def check_text(text: Any) -> str:
    text = str(text or "")
    if not text.strip():
        raise ChatInputError("Escribe un mensaje antes de enviarlo.")
    if len(text) > MAX_TEXT:
        raise ChatInputError(f"El mensaje tiene {len(text)} caracteres; el máximo es {MAX_TEXT}.")
    if "\x00" in text:
        raise ChatInputError("El mensaje no puede tener caracteres nulos.")
    return text


def new_contact_id(channel: str, name: str) -> str:
    """A stable made-up number for a new simulated person (the same name, the same number)."""
    digits = str(int(hashlib.sha256(name.casefold().encode()).hexdigest(), 16))[:7]
    return ("5917" if channel == "whatsapp" else "72") + digits


def _name_in(channel: str, message: dict[str, Any]) -> str | None:
    raw = message.get("raw")
    if not isinstance(raw, dict):
        return None
    if channel == "whatsapp":
        name = raw.get("ProfileName")
    else:
        name = ((raw.get("message") or {}).get("from") or {}).get("first_name")
    return name if isinstance(name, str) and name.strip() else None


def contacts(store: Store, channel: str) -> list[Contact]:
    """The default people and everyone who wrote on `channel`, newest stored name first."""
    found = {cid: Contact(channel, cid, name) for cid, name in DEFAULT_CONTACTS[channel]}
    for message in store.list_messages(channel, 500):
        if message["direction"] != "in" or not message["sender"]:
            continue
        cid = message["sender"].removeprefix("whatsapp:+")
        if CONTACT_ID.fullmatch(cid) and cid not in found:
            found[cid] = Contact(channel, cid, _name_in(channel, message) or cid)
    return list(found.values())


def contact(store: Store, channel: str, cid: str, name: str | None = None) -> Contact:
    check_channel(channel)
    if not CONTACT_ID.fullmatch(cid):
        raise ChatInputError("El contacto debe ser un número de 6 a 15 cifras.")
    known = next((c for c in contacts(store, channel) if c.id == cid), None)
    if known:
        return known
    return Contact(channel, cid, check_name(name) if name else cid)


def conversation(store: Store, who: Contact, after: int = 0) -> list[dict[str, Any]]:
    """The stored messages with `who`, oldest first, those after row `after` only."""
    rows = store.conversation(who.channel, who.party, limit=SHOWN)
    return [
        {
            "id": m["id"],
            "from_bot": m["direction"] == "out",
            "body": m["body"] or "",
            "at": str(m["created_at"]),
            "status": m["status"] or "",
        }
        for m in rows
        if m["id"] > after
    ]


class Simulator:
    """Sends the simulated people's messages through the sandbox's stand-ins."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._joined: set[str] = set()

    def unavailable(self, channel: str) -> str | None:
        """Why the simulator cannot run on `channel` (None: it can)."""
        if self.settings.is_sandboxed(STANDIN[channel]):
            return None
        return (
            f"El simulador de {CHANNEL_NAMES[channel]} usa el sandbox de la clase, y este "
            f"servidor habla con el servicio real. Inícialo con start(sandbox=True) o "
            "LAB_SANDBOX=1 para chatear desde aquí; con el servicio real, escríbele al bot "
            "desde tu teléfono."
        )

    def send(self, who: Contact, text: str) -> Outcome:
        reason = self.unavailable(who.channel)
        if reason:
            return Outcome(False, reason)
        try:
            if who.channel == "whatsapp":
                return self._whatsapp(who, text)
            return self._telegram(who, text)
        except (requests.RequestException, ValueError) as exc:
            reason = type(exc).__name__
            return Outcome(False, f"El sandbox no respondió ({reason}): mira lab.logs().")

    def _phone(self, url: str, form: dict[str, str]) -> dict[str, Any]:
        answer = requests.post(url, data=form, timeout=PHONE_TIMEOUT)
        answer.raise_for_status()
        return answer.json()

    def _whatsapp(self, who: Contact, text: str) -> Outcome:
        base = self.settings.twilio_api_base
        form = {"From": who.party, "Body": text, "ProfileName": who.name}
        result = self._phone(base + "/_sandbox/whatsapp/inbound", form)
        if result.get("status_code") is None and who.party not in self._joined:
            # a phone must join the Twilio sandbox first («join <code>»), as a real one does
            code = requests.get(base + "/_sandbox/whatsapp", timeout=PHONE_TIMEOUT).json()
            join = {"From": who.party, "Body": f"join {code['join_code']}"}
            self._phone(base + "/_sandbox/whatsapp/inbound", join)
            self._joined.add(who.party)
            result = self._phone(base + "/_sandbox/whatsapp/inbound", form)
        status = result.get("status_code")
        if status == 200 and not result.get("error"):
            return Outcome(True)
        if status is None:
            return Outcome(False, " ".join(result.get("replies") or []))
        return Outcome(
            False,
            f"Tu webhook de WhatsApp respondió {status}"
            + (f" (Twilio registraría el error {result['error']})" if result.get("error") else "")
            + ": mira lab.logs().",
        )

    def _telegram(self, who: Contact, text: str) -> Outcome:
        form = {"user_id": who.id, "first_name": who.name, "text": text}
        result = self._phone(self.settings.telegram_api_base + "/_sandbox/telegram/inbound", form)
        if result.get("delivered"):
            return Outcome(True)
        if not result.get("webhook"):
            return Outcome(
                False,
                "Telegram (simulado) guardó tu mensaje, pero el bot no tiene webhook registrado. "
                'En el notebook: set_webhook(lab, url="https://tu-tunel.ngrok-free.app'
                '/webhooks/telegram"); el mensaje se entrega en cuanto lo registres.',
            )
        attempts = ", ".join(str(a) for a in result.get("attempts") or [])
        return Outcome(
            False, f"Tu webhook de Telegram no aceptó el mensaje (respuestas: {attempts})."
        )
