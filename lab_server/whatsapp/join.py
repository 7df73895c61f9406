"""Joining Twilio's WhatsApp sandbox: a link and a QR code with `join <code>` prefilled.

Scanning the QR with the phone's camera opens WhatsApp on a chat with the sandbox number
and the join message already typed; the student only presses send. The link format is
WhatsApp's click-to-chat: https://wa.me/<number without +>?text=<message>.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from urllib.parse import quote

import qrcode
import qrcode.image.svg

from ..errors import LabError

#: Twilio's shared WhatsApp sandbox number.
SANDBOX_NUMBER = "+14155238886"

CODE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*", re.IGNORECASE)
NUMBER = re.compile(r"\+[1-9][0-9]{7,14}")


class JoinCodeError(LabError):
    """The sandbox code or number does not look like the ones Twilio's console shows."""


def _clean_code(code: str) -> str:
    code = code.strip()
    if code.lower().startswith("join "):
        code = code[5:].strip()
    if not CODE.fullmatch(code) or len(code) > 64 or code.lower() == "join":
        raise JoinCodeError(
            f"Código de sandbox no válido: {code!r}. Cópialo de la consola de Twilio "
            "(Messaging > Try it out > Send a WhatsApp message): son palabras unidas por "
            "guiones, por ejemplo «join happy-tiger»; escribe solo «happy-tiger»."
        )
    return code


def _clean_number(number: str) -> str:
    number = number.strip().removeprefix("whatsapp:").replace(" ", "")
    if not NUMBER.fullmatch(number):
        raise JoinCodeError(
            f"Número no válido: {number!r}. Usa formato E.164, por ejemplo {SANDBOX_NUMBER}."
        )
    return number


@dataclass(frozen=True)
class JoinQR:
    """The join link for one sandbox, as a QR code (PNG or SVG) that notebooks display."""

    code: str
    number: str = SANDBOX_NUMBER

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", _clean_code(self.code))
        object.__setattr__(self, "number", _clean_number(self.number))

    @property
    def message(self) -> str:
        return f"join {self.code}"

    @property
    def link(self) -> str:
        return f"https://wa.me/{self.number.lstrip('+')}?text={quote(self.message)}"

    def _qr(self) -> qrcode.QRCode:
        qr = qrcode.QRCode(box_size=8, border=2)
        qr.add_data(self.link)
        qr.make(fit=True)
        return qr

    def png(self) -> bytes:
        out = io.BytesIO()
        self._qr().make_image().save(out)
        return out.getvalue()

    def svg(self) -> str:
        image = self._qr().make_image(image_factory=qrcode.image.svg.SvgPathImage)
        return image.to_string(encoding="unicode")

    def ascii(self) -> str:
        """The QR drawn with block characters, for a terminal."""
        out = io.StringIO()
        self._qr().print_ascii(out=out, invert=True)
        return out.getvalue()

    def save(self, path: str | Path) -> Path:
        """Write the QR as PNG or SVG, chosen by the file's extension."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".png":
            path.write_bytes(self.png())
        elif suffix == ".svg":
            path.write_text(self.svg(), encoding="utf-8")
        else:
            raise JoinCodeError(f"{path.name}: usa la extensión .png o .svg")
        return path

    def instructions(self) -> str:
        return (
            f"Escanea el código QR con la cámara del teléfono, o abre {self.link}, o envía "
            f"«{self.message}» por WhatsApp al {self.number}."
        )

    def _repr_html_(self) -> str:
        image = base64.b64encode(self.png()).decode("ascii")
        return (
            f'<div><img src="data:image/png;base64,{image}" alt="{escape(self.link)}" '
            f'width="200"><br>{escape(self.instructions())}</div>'
        )

    def __str__(self) -> str:
        return self.instructions()


def join_qr(code: str, number: str = SANDBOX_NUMBER) -> JoinQR:
    """The QR that joins `number`'s sandbox with `code` (accepts «join code» as well)."""
    return JoinQR(code, number)
