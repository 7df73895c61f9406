"""The application factory: one Flask app per configuration, a blueprint per concern."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

from . import api, media
from .config import Settings, load_settings
from .context import LabContext
from .logs import capture_logs
from .replies import Replier
from .responses import ResponseBook
from .store import Store
from .telegram import blueprint as telegram
from .whatsapp import blueprint as whatsapp

log = logging.getLogger(__name__)

#: Largest request body accepted; webhooks are a few kilobytes.
MAX_CONTENT_LENGTH = 1024 * 1024


def create_app(settings: Settings | None = None) -> Flask:
    """Build the lab's Flask app. Fails early (bad responses.json, bad database URL)."""
    settings = settings or load_settings()
    capture_logs()
    app = Flask("lab_server")
    app.config.update(MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH, JSON_SORT_KEYS=False)
    # Which proxy may set the request's scheme and host (X-Forwarded-Proto/Host from the
    # tunnel agent) is the server's business: see runner.behind_tunnel and `lab-server run`.

    store = Store.from_settings(settings)
    store.init_schema()
    responses = ResponseBook(settings.responses_path)
    app.extensions["lab"] = LabContext(
        app=app,
        settings=settings,
        store=store,
        responses=responses,
        replier=Replier(settings, responses),
    )

    app.register_blueprint(api.bp)
    app.register_blueprint(media.bp)
    app.register_blueprint(telegram.bp)
    app.register_blueprint(whatsapp.bp)
    app.register_error_handler(HTTPException, _json_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


#: Spanish wording for werkzeug's default (English) descriptions of the errors a student meets.
DEFAULT_MESSAGES = {
    400: "La petición está mal formada: revisa los parámetros y que el cuerpo sea JSON válido.",
    404: "No existe la ruta {path} en este servidor. Revisa la URL.",
    405: "La ruta {path} no acepta el método {method}. Métodos permitidos: {allowed}.",
    413: f"El cuerpo de la petición supera el máximo de {MAX_CONTENT_LENGTH // 1024} KiB.",
}


def _json_error(error: HTTPException):
    """Every error is JSON with a message a student can act on, keeping headers such as Allow."""
    # werkzeug lists the allowed methods from a set; sorted, the header reads the same every time
    allowed = ", ".join(sorted(getattr(error, "valid_methods", None) or ()))
    message = error.description
    if error.code in DEFAULT_MESSAGES and message == type(error).description:
        message = DEFAULT_MESSAGES[error.code].format(
            path=request.path, method=request.method, allowed=allowed
        )
    response = jsonify(error=error.name, message=message)
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "allow"):
            response.headers[name] = value
    if allowed:
        response.headers["Allow"] = allowed
    return response, error.code or 500


def _unexpected_error(error: Exception):
    log.exception("Error inesperado atendiendo la petición")
    return _json_error(InternalServerError("Error interno; revisa lab.logs() para ver el detalle."))
