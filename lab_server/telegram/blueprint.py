"""POST /webhooks/telegram: Telegram's updates, checked, stored once, answered in the background.

- The `X-Telegram-Bot-Api-Secret-Token` header must equal the webhook's secret (compared in
  constant time), else 403. With no secret configured at all the answer is 403 too, saying
  how to get one: `set_webhook` always registers a secret and the sandbox generates one, so
  only a webhook registered by hand lacks it, and accepting unauthenticated updates would let
  anyone who finds the URL make the bot write to its users and spend its LLM budget.
- A body that is not a JSON Update gets 400. Telegram never sends one (it only delivers
  Updates), so the only one to see it is a person testing by hand, who needs to know.
- An Update is claimed by `update_id` in the transaction that stores it: a resend gets 200
  and nothing else. Once claimed the answer is 200, whatever happens next: the reply goes
  out from a background worker, and a failure there is recorded on the message instead of
  making Telegram resend the update forever.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import replace

from flask import Blueprint, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import BadRequest, Forbidden

from ..config import Settings
from ..context import current_lab
from .bot import TelegramBot
from .updates import clean_json, parse_update, update_id_of
from .webhook import WEBHOOK_PATH, webhook_secret

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

bp = Blueprint("telegram", __name__)


@bp.record_once
def _start_bot(state: BlueprintSetupState) -> None:
    state.app.extensions["telegram"] = TelegramBot(state.app.extensions["lab"])


def _check_secret(settings: Settings) -> None:
    expected = webhook_secret(settings)
    if not expected:
        log.warning("Telegram: webhook rechazado porque no hay secreto configurado")
        raise Forbidden(
            "El webhook de Telegram no tiene secreto configurado. Regístralo con "
            "`lab-server telegram set-webhook` (o set_webhook(lab)), que genera uno, "
            "o define TELEGRAM_SECRET_TOKEN."
        )
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        log.warning("Telegram: petición rechazada, secreto ausente o incorrecto")
        raise Forbidden(
            f"Falta el encabezado {SECRET_HEADER} o no coincide con el secreto del webhook."
        )


def _read_update() -> dict:
    try:
        update = clean_json(json.loads(request.get_data()))
    except (ValueError, RecursionError):
        raise BadRequest(
            "El cuerpo no es JSON válido: Telegram envía cada actualización como un objeto JSON."
        ) from None
    if update_id_of(update) is None:
        raise BadRequest("Falta update_id (un número entero): no es una actualización de Telegram.")
    return update


@bp.post(WEBHOOK_PATH)
def webhook():
    lab = current_lab()
    _check_secret(lab.settings)
    update = _read_update()
    inbound = parse_update(update)
    with lab.store.transaction() as tx:
        if not tx.claim_event("telegram", str(inbound.update_id)):
            log.info("Telegram: actualización %s repetida, ya atendida", inbound.update_id)
            return jsonify(ok=True, duplicate=True)
        row_id = tx.add_message(
            channel="telegram",
            direction="in",
            body=inbound.summary,
            external_id=str(inbound.update_id),
            sender=None if inbound.chat_id is None else str(inbound.chat_id),
            media=inbound.media,
            status="received" if inbound.answerable else "ignored",
            raw=update,
        )
    log.info("Telegram: actualización %s (%s) recibida", inbound.update_id, inbound.kind)
    if inbound.answerable:
        current_app.extensions["telegram"].submit(replace(inbound, row_id=row_id))
    return jsonify(ok=True)
