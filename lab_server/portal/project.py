"""The course project's pages on the pipeline's Python API: Create, Preview/Edit, Dashboard.

`Pipeline` (lab_server/pipeline) does the work and its `PipelineError`s carry the HTTP
status and a Spanish message; these views only read forms and render.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, jsonify, redirect, request, url_for
from werkzeug.exceptions import BadRequest

from ..errors import LabError
from ..llm.adaptation import LIMITS
from ..text import measure
from .blueprint import bp, form_text, page

#: network -> (limit, unit): how each network counts a post. Twilio counts UTF-16 code
#: units (docs in lab_server/text.py); Telegram (4096, sendMessage) and LinkedIn count
#: characters.
COUNTING: dict[str, tuple[int, str]] = {
    **{network: (limit, "chars") for network, limit in LIMITS.items()},
    "whatsapp": (LIMITS["whatsapp"], "utf16"),
    "telegram": (4096, "chars"),
}
NAMES = {
    "linkedin": "LinkedIn",
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "instagram": "Instagram",
    "facebook": "Facebook",
    "tiktok": "TikTok",
}
STATUS_NAMES = {
    "draft": "borrador",
    "processing": "en proceso",
    "pending": "pendiente",
    "published": "publicada",
    "failed": "fallida",
}
#: Per-network fields the model fills and the student may edit: metadata key -> label.
FIELDS = {"suggested_image_prompt": "Prompt de imagen", "video_hook": "Gancho del video"}


def pipeline():
    return current_app.extensions["pipeline"]


def counting(network: str) -> tuple[int, str]:
    return COUNTING.get(network, (LIMITS.get("whatsapp", 1600), "utf16"))


def _refused(exc: LabError) -> tuple[str, int]:
    status = getattr(exc, "status", 400)
    return str(exc), status if isinstance(status, int) and 400 <= status < 600 else 502


@bp.app_template_filter("network_name")
def network_name(network: str) -> str:
    return NAMES.get(network, network)


@bp.app_template_filter("status_name")
def status_name(status: str) -> str:
    return STATUS_NAMES.get(status, status)


@bp.route("/crear", methods=["GET", "POST"])
def create():
    networks = pipeline().networks()
    values: dict[str, Any] = {"title": "", "content": "", "image_url": "", "networks": networks}
    if request.method == "POST":
        values = {
            "title": form_text("titulo", 1000),
            "content": form_text("contenido", 40_000),
            "image_url": form_text("imagen", 2000),
            "networks": request.form.getlist("redes"),
        }
        try:
            post = pipeline().create_post(
                values["title"], values["content"], values["image_url"] or None
            )
            pipeline().adapt(post["id"], values["networks"] or [])
        except LabError as exc:
            message, status = _refused(exc)
            return page("portal/create.html", error=message, values=values, all=networks), status
        return redirect(url_for("portal.preview", post_id=post["id"]))
    return page("portal/create.html", error=None, values=values, all=networks)


@bp.get("/posts/<post_id>")
def preview(post_id: str):
    try:
        post = pipeline().get_post(post_id)
    except LabError as exc:
        message, status = _refused(exc)
        return page("portal/error.html", code=status, message=message), status
    cards = [
        {
            **p,
            "limit": counting(p["network"])[0],
            "unit": counting(p["network"])[1],
            "count": measure(p["adapted_content"] or "", counting(p["network"])[1]),
            "hashtags": " ".join(p["metadata"].get("hashtags") or []),
            "fields": {k: (label, p["metadata"].get(k)) for k, label in FIELDS.items()},
            "editable": p["requested_at"] is None,
        }
        for p in post["publications"]
    ]
    return page("portal/preview.html", post=post, cards=cards)


def _back_to(post_id: str, note: str, ok: bool = True):
    flash(note, "info" if ok else "error")
    return redirect(url_for("portal.preview", post_id=post_id))


@bp.post("/posts/<post_id>/<network>/editar")
def edit(post_id: str, network: str):
    fields: dict[str, Any] = {}
    tags = form_text("hashtags", 2000).split()
    if any(not t.startswith("#") or len(t) < 2 for t in tags):
        raise BadRequest("Cada hashtag empieza con # y va separado por espacios (#UMSA #Becas).")
    fields["hashtags"] = tags
    for key in FIELDS:
        if key in request.form:
            fields[key] = form_text(key, 1000)
    try:
        pipeline().edit(post_id, network, form_text("texto", 20_000), fields)
    except LabError as exc:
        return _back_to(post_id, _refused(exc)[0], ok=False)
    return _back_to(post_id, f"Guardaste la versión de {network_name(network)}.")


@bp.post("/posts/<post_id>/<network>/readaptar")
def readapt(post_id: str, network: str):
    try:
        pipeline().adapt(post_id, [network])
    except LabError as exc:
        return _back_to(post_id, _refused(exc)[0], ok=False)
    return _back_to(post_id, f"El modelo volvió a adaptar la versión de {network_name(network)}.")


@bp.post("/posts/<post_id>/publicar")
def publish(post_id: str):
    networks = request.form.getlist("redes") or None
    try:
        pipeline().publish(post_id, networks)
    except LabError as exc:
        return _back_to(post_id, _refused(exc)[0], ok=False)
    flash("Publicación en marcha: sigue su estado aquí.", "info")
    return redirect(url_for("portal.dashboard"))


def dashboard_rows(network: str, status: str, date: str) -> list[dict[str, Any]]:
    """Every publication of the newest posts, filtered by network, status and day."""
    rows = []
    for post in pipeline().list_posts(None, 100, 0):
        if date and not str(post["created_at"]).startswith(date):
            continue
        for publication in pipeline().get_post(post["id"])["publications"]:
            if network and publication["network"] != network:
                continue
            if status and publication["status"] != status:
                continue
            rows.append({"post": post, **publication})
    return rows


def _filters() -> tuple[str, str, str]:
    network = request.args.get("red", "")
    status = request.args.get("estado", "")
    date = request.args.get("fecha", "")
    if network and network not in pipeline().networks():
        raise BadRequest("Red desconocida en el filtro.")
    if status and status not in ("pending", "published", "failed"):
        raise BadRequest("Estado desconocido en el filtro: pending, published o failed.")
    if date and (len(date) != 10 or not date.replace("-", "").isdigit()):
        raise BadRequest("La fecha del filtro va como AAAA-MM-DD.")
    return network, status, date


@bp.get("/panel")
def dashboard():
    network, status, date = _filters()
    return page(
        "portal/dashboard.html",
        rows=dashboard_rows(network, status, date),
        networks=pipeline().networks(),
        chosen={"red": network, "estado": status, "fecha": date},
    )


@bp.get("/portal/panel")
def dashboard_json():
    rows = dashboard_rows(*_filters())
    return jsonify(
        publications={
            r["id"]: {
                "status": r["status"],
                "status_name": status_name(r["status"]),
                "attempts": r["attempts"],
                "retries": r["retry_count"],
                "error": r["error_message"] or "",
                "url": r["provider_url"] or "",
            }
            for r in rows
        }
    )
