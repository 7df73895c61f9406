"""WhatsApp through Twilio: the signed webhook, sending with the REST API, errors, the join QR.

from lab_server.whatsapp import send_whatsapp, join_qr
send_whatsapp("+59170000000", "Hola")   # through TWILIO_API_BASE (the sandbox or Twilio)
join_qr("tu-codigo")                      # the QR that joins a phone to the Twilio sandbox

Modules: `blueprint` (POST /webhooks/whatsapp and its status callback), `signature`
(X-Twilio-Signature), `client` (REST sends), `errors` (Twilio's codes in Spanish), `join`.
"""

from .client import BODY_LIMIT, send_whatsapp, whatsapp_address
from .errors import EXPLANATIONS, TwilioSendError, explain
from .join import JoinQR, join_qr

__all__ = [
    "BODY_LIMIT",
    "EXPLANATIONS",
    "JoinQR",
    "TwilioSendError",
    "explain",
    "join_qr",
    "send_whatsapp",
    "whatsapp_address",
]
