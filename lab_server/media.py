"""GET /media/<name>: the images the kit saved in the data folder, for a post's image_url."""

from __future__ import annotations

import re

from flask import Blueprint, send_from_directory
from werkzeug.exceptions import NotFound

from .context import current_lab
from .llm.images import media_dir

bp = Blueprint("media", __name__)

#: Only names the kit itself gives (content hash + extension); nothing else is served.
NAME = re.compile(r"[0-9a-f]{32}\.(?:png|jpg|webp)")


@bp.get("/media/<name>")
def media_file(name: str):
    folder = media_dir(current_lab().settings)
    if not NAME.fullmatch(name) or not (folder / name).is_file():
        raise NotFound("No existe esa imagen.")
    return send_from_directory(folder, name, max_age=3600)
