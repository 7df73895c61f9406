"""`/api/posts...`: the course project's REST API, JSON in and out, errors in Spanish.

    POST  /api/posts                    {"title", "content", "image_url"?, "accounts"?}  201
    GET   /api/posts?status=&limit=&offset=
    GET   /api/posts/<id>
    POST  /api/posts/<id>/adapt                       {"networks"?: [...]}
    PATCH /api/posts/<id>/publications/<network>      {"text"?, "fields"?: {...}}
    POST  /api/posts/<id>/publish                     {"networks"?, "publish_at"?}        202
    GET   /api/posts/<id>/status

The lab's API token (every `/api/` route) is checked app-wide, not here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from ..errors import LabError, StoreError
from .service import Pipeline, PipelineError

bp = Blueprint("posts", __name__)


def _pipeline() -> Pipeline:
    return current_app.extensions["pipeline"]


def _body(optional: bool = False) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and optional and not request.get_data():
        return {}
    if not isinstance(body, dict):
        raise PipelineError("El cuerpo debe ser un objeto JSON (Content-Type: application/json).")
    return body


@bp.errorhandler(LabError)
def _refused(exc: LabError):
    """The request's fault: its 4xx; the model or database unavailable: 502/503."""
    from ..llm.adaptation import AdaptationInputError
    from ..llm.client import LLMError

    status = getattr(exc, "status", None)
    if not isinstance(status, int) or not 400 <= status < 600:
        if isinstance(exc, AdaptationInputError):
            status = 400
        elif isinstance(exc, LLMError):
            status = 502
        elif isinstance(exc, StoreError):
            status = 503
        else:
            status = 400
    return jsonify(error=type(exc).__name__, message=str(exc)), status


@bp.post("/api/posts")
def create_post():
    body = _body()
    post = _pipeline().create_post(
        body.get("title"), body.get("content"), body.get("image_url"), body.get("accounts")
    )
    return jsonify(post), 201


@bp.get("/api/posts")
def list_posts():
    args = request.args
    posts = _pipeline().list_posts(args.get("status"), args.get("limit", 50), args.get("offset", 0))
    return jsonify(posts=posts)


@bp.get("/api/posts/<post_id>")
def get_post(post_id: str):
    return jsonify(_pipeline().get_post(post_id))


@bp.post("/api/posts/<post_id>/adapt")
def adapt(post_id: str):
    body = _body(optional=True)
    return jsonify(_pipeline().adapt(post_id, body.get("networks")))


@bp.patch("/api/posts/<post_id>/publications/<network>")
def edit(post_id: str, network: str):
    body = _body()
    return jsonify(_pipeline().edit(post_id, network, body.get("text"), body.get("fields")))


@bp.post("/api/posts/<post_id>/publish")
def publish(post_id: str):
    body = _body(optional=True)
    status = _pipeline().publish(post_id, body.get("networks"), body.get("publish_at"))
    return jsonify(status), 202


@bp.get("/api/posts/<post_id>/status")
def status(post_id: str):
    return jsonify(_pipeline().status(post_id))
