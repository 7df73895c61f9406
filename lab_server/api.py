"""Health check and a small read-only JSON view of the store, used by the notebooks.

`/health` is open and says nothing secret; every `/api/...` route needs the bearer token
(`lab_server.auth`).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import BadRequest

from .context import current_lab
from .responses import CHANNELS

bp = Blueprint("api", __name__)

MAX_LIMIT = 500


@bp.get("/health")
def health():
    lab = current_lab()
    keeper = lab.keeper
    return jsonify(
        status="degraded" if keeper.degraded else "ok",
        database=lab.store.dialect,
        database_up=keeper.up,
        journal=len(keeper.journal),
        sandbox=sorted(lab.settings.sandboxed),
        channels=sorted(lab.webhook_paths()),
    )


@bp.get("/api/messages")
def messages():
    channel = request.args.get("channel") or None
    if channel is not None and channel not in CHANNELS:
        raise BadRequest(f"channel debe ser uno de: {', '.join(CHANNELS)}")
    raw_limit = request.args.get("limit", "50")
    try:
        limit = int(raw_limit)
    except ValueError:
        raise BadRequest(f"limit debe ser un número entero entre 1 y {MAX_LIMIT}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit debe ser un número entero entre 1 y {MAX_LIMIT}")
    return jsonify(messages=current_lab().store.list_messages(channel=channel, limit=limit))
