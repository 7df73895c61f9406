"""The application factory: one Flask app per configuration, a blueprint per concern."""

from __future__ import annotations

import dataclasses
import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

from . import api, auth, media, portal, publish
from .config import Settings, load_settings
from .context import LabContext
from .journal import Keeper, check_writable
from .linkedin import client as linkedin_client
from .linkedin import oauth as linkedin_oauth
from .logs import capture_logs
from .meta import oauth as meta_oauth
from .meta import publishers as meta_publishers
from .oauth import blueprint as oauth_pages
from .oauth import flow as oauth_flow
from .oauth import providers as oauth_providers
from .oauth.tokens import TokenStore
from .pipeline import api as posts_api
from .pipeline.service import Pipeline
from .replies import Replier
from .responses import ResponseBook
from .serving import MAX_BODY
from .store import Store
from .telegram import blueprint as telegram
from .telegram import publisher as telegram_publisher
from .tiktok import oauth as tiktok_oauth
from .tiktok import posting as tiktok_posting
from .whatsapp import blueprint as whatsapp
from .whatsapp import publisher as whatsapp_publisher

log = logging.getLogger(__name__)

# Service packages plug in their OAuth provider and their publisher (docs/oauth.md).
oauth_providers.register(linkedin_oauth.PROVIDER)
publish.register_publisher("linkedin", linkedin_client.publish_post, rejects_duplicates=True)
oauth_providers.register(meta_oauth.FACEBOOK)
oauth_providers.register(meta_oauth.INSTAGRAM)
publish.register_publisher(
    "facebook", meta_publishers.publish_facebook, find=meta_publishers.find_facebook
)
publish.register_publisher(
    "instagram", meta_publishers.publish_instagram, find=meta_publishers.find_instagram
)
oauth_providers.register(tiktok_oauth.PROVIDER)
publish.register_publisher("tiktok", tiktok_posting.publish_post, find=tiktok_posting.find_post)
publish.register_publisher(
    "whatsapp",
    whatsapp_publisher.publish_post,
    resumable=True,
    account=whatsapp_publisher.sender,
)
publish.register_publisher(
    "telegram", telegram_publisher.publish_post, account=telegram_publisher.channel
)

#: Largest request body accepted; webhooks are a few kilobytes.
MAX_CONTENT_LENGTH = MAX_BODY


def create_app(settings: Settings | None = None) -> Flask:
    """Build the lab's Flask app. Fails early (bad responses.json, bad database URL,
    LAB_DATA_DIR that cannot be written)."""
    settings = settings or load_settings()
    check_writable(settings.data_dir)
    settings = dataclasses.replace(settings, api_token=auth.api_token(settings))
    capture_logs()
    app = Flask("lab_server")
    app.config.update(MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH, JSON_SORT_KEYS=False)
    # Which proxy may set the request's scheme and host (X-Forwarded-Proto/Host from the
    # tunnel agent) is the server's business: see runner.behind_tunnel and `lab-server run`.

    store = Store.from_settings(settings)
    store.init_schema()
    keeper = Keeper(store, settings.data_dir)  # after the schema: it may replay a journal
    responses = ResponseBook(settings.responses_path)
    app.extensions["lab"] = LabContext(
        app=app,
        settings=settings,
        store=store,
        responses=responses,
        replier=Replier(settings, responses),
        keeper=keeper,
    )
    auth.protect_api(app, settings.api_token)

    oauth_flow.install(app, settings, TokenStore.for_settings(settings, store))
    app.extensions["pipeline"] = Pipeline(settings, store)
    app.register_blueprint(posts_api.bp)
    portal.install(app, settings)  # after OAuth, whose session key the portal's cookie uses
    app.register_blueprint(api.bp)
    app.register_blueprint(oauth_pages.bp)
    app.register_blueprint(publish.bp)
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
