"""Twilio's error codes, explained in Spanish with what to do next.

Twilio reports trouble in two ways: the REST API answers 4xx with an error code at once
(21211, 21617, 20003 ...), while WhatsApp delivery problems (63015, 63016) arrive later in
the message's status callback. Both paths, and the notebook's "Errores comunes", use the
same table. Codes and meanings: https://www.twilio.com/docs/api/errors/<code>.
"""

from __future__ import annotations

from ..errors import LabError

#: code -> (what happened, what to do)
EXPLANATIONS: dict[int, tuple[str, str]] = {
    11200: (
        "Twilio no pudo obtener una respuesta válida de tu webhook (respondió 4xx/5xx, o no "
        "se pudo conectar)",
        "Si tu servidor respondió 403, la firma no coincide: detrás de ngrok Twilio firma la "
        "URL pública https; usa start(tunnel=True) o define PUBLIC_BASE_URL.",
    ),
    11205: (
        "tu webhook tardó más de 15 segundos o no aceptó la conexión",
        "Responde rápido (el LLM tiene LLM_TIMEOUT) y revisa que el túnel siga abierto.",
    ),
    12100: (
        "tu webhook devolvió XML mal formado",
        "Devuelve TwiML generado con MessagingResponse, con Content-Type text/xml.",
    ),
    12200: (
        "tu webhook devolvió TwiML que no cumple el esquema de Twilio",
        "Usa MessagingResponse().message(texto) en lugar de escribir el XML a mano.",
    ),
    20003: (
        "Twilio no aceptó tus credenciales (Account SID o Auth Token incorrectos)",
        "Copia de nuevo TWILIO_ACCOUNT_SID y TWILIO_AUTH_TOKEN desde la consola (Account "
        "Info); no uses una API key como Auth Token.",
    ),
    20404: (
        "el recurso no existe en esta cuenta",
        "Revisa el SID y que TWILIO_ACCOUNT_SID sea la cuenta que creó el mensaje.",
    ),
    21211: (
        "el número de destino («To») no es válido",
        "Escríbelo en formato E.164 con prefijo de canal, por ejemplo whatsapp:+59171234567.",
    ),
    21602: (
        "el mensaje no tiene texto ni archivo adjunto",
        "Envía un texto en «body» o una URL en «media_url».",
    ),
    21604: ("falta el número de destino («To»)", "Indica a quién enviar el mensaje."),
    21610: (
        "el destinatario se dio de baja (envió STOP)",
        "Solo podrás escribirle cuando vuelva a suscribirse (START).",
    ),
    21617: (
        "el texto supera los 1600 caracteres que admite un mensaje",
        "Divide el texto en varios mensajes (el kit lo hace con split_message).",
    ),
    63007: (
        "Twilio no encontró un canal de WhatsApp con ese remitente («From»)",
        "Usa el número del sandbox, whatsapp:+14155238886 (TWILIO_WHATSAPP_FROM).",
    ),
    63015: (
        "el número no se ha unido al sandbox de WhatsApp (o su unión venció a los 3 días)",
        "Desde ese teléfono envía «join <tu-código>» al +1 415 523 8886 y vuelve a intentar.",
    ),
    63016: (
        "el mensaje libre está fuera de la ventana de 24 horas desde el último mensaje del usuario",
        "Pide al usuario que te escriba primero, o envía una plantilla aprobada con "
        "content_sid y content_variables (el sandbox del curso trae algunas: "
        "client.content.v1.contents.list()).",
    ),
}


def explain(code: int | None, detail: str = "") -> str:
    """One Spanish sentence for a Twilio error code, with the fix and the docs page."""
    if code in EXPLANATIONS:
        what, fix = EXPLANATIONS[code]
        text = f"Twilio error {code}: {what}. {fix}"
    elif code:
        text = f"Twilio error {code}: {detail or 'sin descripción'}."
    else:
        text = f"Twilio: {detail or 'error desconocido'}."
    if code:
        text += f" Más información: https://www.twilio.com/docs/errors/{code}"
    return text


class TwilioSendError(LabError):
    """Twilio refused (or could not be reached for) a message the kit tried to send."""

    def __init__(self, code: int | None, detail: str, status: int | None = None) -> None:
        self.code = code
        self.detail = detail
        self.status = status
        super().__init__(explain(code, detail))
