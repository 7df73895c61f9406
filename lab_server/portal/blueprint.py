"""The portal's pages: login, the chat simulator (and the project's pages, pipeline.py).

Server-rendered Jinja pages in Spanish; `static/portal/portal.js` adds live updates by
polling small JSON routes under `/portal/...` (docs/portal.md says why polling). Those JSON
routes live outside `/api/` on purpose: `/api/...` takes the bearer token (scripts and
notebooks), the portal's browser requests take the session cookie and a CSRF token.
"""

from __future__ import annotations

from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException

from ..context import current_lab
from . import chat
from .access import Access, csrf

bp = Blueprint(
    "portal",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/portal/static",
)

#: Pages that do not need a login.
OPEN = {"portal.login", "portal.static"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
#: Who may frame the portal: itself, and a notebook served from this computer (`lab.show()`).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; "
    "frame-ancestors 'self' http://localhost:* http://127.0.0.1:*"
)
CSRF_MESSAGE = (
    "El formulario caducó o no vino de este portal (falta el token CSRF). Recarga la página "
    "e inténtalo otra vez."
)


def access() -> Access:
    return current_app.extensions["portal"]


def simulator() -> chat.Simulator:
    return current_app.extensions["portal.chat"]


def wants_json() -> bool:
    best = request.accept_mimetypes.best
    return request.path.startswith("/portal/") or best == "application/json"


def local_path(target: str | None) -> str:
    """`target` if it is a path on this server, else the home page (no open redirect)."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or target.startswith("//"):
        return url_for("portal.home")
    return target


@bp.before_request
def _guard() -> Response | None:
    if request.method in UNSAFE:
        csrf.protect()
    if request.endpoint in OPEN or access().logged_in():
        return None
    if wants_json():
        return jsonify(error="Unauthorized", message="Inicia sesión en el portal."), 401
    return redirect(url_for("portal.login", siguiente=request.full_path.rstrip("?")))


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.errorhandler(HTTPException)
def _refused(error: HTTPException):
    message = CSRF_MESSAGE if isinstance(error, CSRFError) else error.description
    if wants_json():
        return jsonify(error=error.name, message=message), error.code
    return render_template("portal/error.html", code=error.code, message=message), error.code


@bp.errorhandler(chat.ChatInputError)
def _bad_chat_input(error: chat.ChatInputError):
    return _refused(BadRequest(str(error)))


def form_text(name: str, limit: int = 20_000) -> str:
    value = request.form.get(name, "")
    if len(value) > limit:
        raise BadRequest(f"El campo {name} es demasiado largo (máximo {limit} caracteres).")
    return value


def page(template: str, **context: Any) -> str:
    lab = current_lab()
    return render_template(
        template,
        sandboxed=sorted(lab.settings.sandboxed),
        has_pipeline="pipeline" in current_app.extensions,
        **context,
    )


def json_or_back(view):
    """Answer a fetch() with JSON, a plain form with a redirect (the pages work without JS)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        payload, back, note = view(*args, **kwargs)
        if request.accept_mimetypes.best == "application/json":
            return jsonify(payload)
        if note:
            flash(note, "error" if not payload.get("ok", True) else "info")
        return redirect(back)

    return wrapper


# -- login ------------------------------------------------------------------------------


@bp.route("/entrar", methods=["GET", "POST"])
def login():
    target = local_path(request.values.get("siguiente"))
    code = request.args.get("codigo", "")
    if code and access().use_link_code(code):
        access().log_in()
        return redirect(target)
    error = None
    if request.method == "POST":
        if access().check(form_text("token", 500)):
            access().log_in()
            return redirect(target)
        error = "Ese token no es el del laboratorio. Cópialo otra vez y vuelve a intentarlo."
    status = 401 if error else 200
    return page("portal/login.html", error=error, siguiente=target), status


@bp.post("/salir")
def logout():
    access().log_out()
    flash("Cerraste la sesión.", "info")
    return redirect(url_for("portal.login"))


@bp.get("/")
def home():
    return page("portal/home.html")


# -- the chat simulator -------------------------------------------------------------------


@bp.get("/chat")
def chat_home():
    return redirect(url_for("portal.chat_channel", channel="whatsapp"))


@bp.get("/chat/<channel>")
def chat_channel(channel: str):
    chat.check_channel(channel)
    first = chat.contacts(current_lab().store, channel)[0]
    return redirect(url_for("portal.chat_with", channel=channel, cid=first.id))


@bp.get("/chat/<channel>/<cid>")
def chat_with(channel: str, cid: str):
    store = current_lab().store
    who = chat.contact(store, channel, cid, request.args.get("nombre"))
    people = chat.contacts(store, channel)
    if who not in people:
        people.append(who)
    return page(
        "portal/chat.html",
        channel=channel,
        channel_name=chat.CHANNEL_NAMES[channel],
        channels=chat.CHANNEL_NAMES,
        who=who,
        people=people,
        messages=chat.conversation(store, who),
        unavailable=simulator().unavailable(channel),
        max_text=chat.MAX_TEXT,
    )


@bp.post("/chat/<channel>/contactos")
def chat_new_contact(channel: str):
    chat.check_channel(channel)
    name = chat.check_name(form_text("nombre", 200))
    cid = chat.new_contact_id(channel, name)
    return redirect(url_for("portal.chat_with", channel=channel, cid=cid, nombre=name))


@bp.post("/chat/<channel>/<cid>")
@json_or_back
def chat_send(channel: str, cid: str):
    who = chat.contact(current_lab().store, channel, cid, form_text("nombre", 200) or None)
    outcome = simulator().send(who, chat.check_text(form_text("texto", chat.MAX_TEXT + 1)))
    back = url_for("portal.chat_with", channel=channel, cid=who.id, nombre=who.name)
    return {"ok": outcome.delivered, "note": outcome.note}, back, outcome.note


@bp.get("/portal/chat/<channel>/<cid>")
def chat_messages(channel: str, cid: str):
    who = chat.contact(current_lab().store, channel, cid)
    after = request.args.get("despues", "0")
    if not after.isdigit() or len(after) > 18:
        raise BadRequest("despues debe ser el número del último mensaje mostrado.")
    return jsonify(messages=chat.conversation(current_lab().store, who, int(after)))
