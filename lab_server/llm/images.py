"""An image for a post (optional, as in the course): generate, then make it reachable.

Current image models return the picture as base64 only. Instagram needs a public
`image_url`, so with `CLOUDINARY_URL` set the image is uploaded there; without it the
image is saved in the data folder and served by the lab server at `/media/<name>`
(public only through the tunnel or PUBLIC_BASE_URL).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from ..config import Settings
from ..errors import LabError
from .client import LLMError, explain, make_client

log = logging.getLogger("lab_server.llm")

MAX_PROMPT = 4000
#: File signatures of the formats image models return (`output_format`).
SIGNATURES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg", b"RIFF": "webp"}
UPLOAD_TIMEOUT = 60


class ImageUploadError(LabError):
    """Cloudinary refused or could not receive the image."""


@dataclass(frozen=True)
class GeneratedImage:
    """Where the image is: `url` for the post, `path` when it was saved locally."""

    url: str
    path: Path | None
    prompt: str


def media_dir(settings: Settings) -> Path:
    return settings.data_dir / "media"


def image_kind(data: bytes) -> str:
    """The file extension for `data`, or `LLMError` when it is not an image."""
    for signature, kind in SIGNATURES.items():
        if data.startswith(signature):
            return kind
    raise LLMError("El modelo de imágenes no devolvió un PNG, JPEG ni WebP.")


def save_image(data: bytes, settings: Settings) -> Path:
    """Save under the data folder with a name made from the content (same image, same file)."""
    name = f"{hashlib.sha256(data).hexdigest()[:32]}.{image_kind(data)}"
    folder = media_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def cloudinary_options(cloudinary_url: str) -> dict[str, str]:
    """cloudinary://API_KEY:API_SECRET@CLOUD_NAME[?option=value] as upload options."""
    parts = urlsplit(cloudinary_url)
    if parts.scheme != "cloudinary" or not (parts.hostname and parts.username and parts.password):
        raise ImageUploadError(
            "CLOUDINARY_URL debe tener la forma cloudinary://API_KEY:API_SECRET@CLOUD_NAME "
            "(cópiala de https://console.cloudinary.com > API Keys)."
        )
    return {
        "cloud_name": parts.hostname,
        "api_key": unquote(parts.username),
        "api_secret": unquote(parts.password),
        **dict(parse_qsl(parts.query)),
    }


def upload_to_cloudinary(data: bytes, cloudinary_url: str) -> str:
    """Upload as a data URI with the official library and return the public https URL."""
    import cloudinary.exceptions
    import cloudinary.uploader

    kind = image_kind(data)
    mime = "jpeg" if kind == "jpg" else kind
    data_uri = f"data:image/{mime};base64,{base64.b64encode(data).decode()}"
    try:
        result = cloudinary.uploader.upload(
            data_uri,
            folder="lab-server",
            resource_type="image",
            timeout=UPLOAD_TIMEOUT,
            **cloudinary_options(cloudinary_url),
        )
    except cloudinary.exceptions.Error as exc:
        raise ImageUploadError(
            f"Cloudinary rechazó la imagen: {exc}. Revisa CLOUDINARY_URL."
        ) from exc
    except OSError as exc:
        raise ImageUploadError(f"No se pudo conectar con Cloudinary: {exc}") from exc
    return result["secure_url"]


def generate_image(
    prompt: str, *, settings: Settings, base_url: str | None = None
) -> GeneratedImage:
    """Generate one image for `prompt`; upload it to Cloudinary or keep it in the lab.

    `base_url` is the lab server's address (`lab.public_url or lab.url`); it defaults to
    PUBLIC_BASE_URL, else the local port.
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise LLMError("La descripción de la imagen está vacía.")
    if len(prompt) > MAX_PROMPT:
        raise LLMError(f"La descripción tiene {len(prompt)} caracteres; el máximo es {MAX_PROMPT}.")
    import openai

    client = make_client(settings)
    try:
        result = client.images.generate(
            model=settings.openai_image_model, prompt=prompt, n=1, size="1024x1024"
        )
    except openai.OpenAIError as exc:
        raise explain(exc, settings, model=settings.openai_image_model) from exc
    encoded = result.data[0].b64_json if result.data else None
    if not encoded:
        raise LLMError(
            f"«{settings.openai_image_model}» no devolvió la imagen en base64 (b64_json). "
            "Usa un modelo de imágenes actual en OPENAI_IMAGE_MODEL."
        )
    try:
        data = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise LLMError("La imagen recibida no es base64 válido.") from exc
    if settings.cloudinary_url:
        url = upload_to_cloudinary(data, settings.cloudinary_url)
        log.info("Imagen subida a Cloudinary: %s", url)
        return GeneratedImage(url=url, path=None, prompt=prompt)
    path = save_image(data, settings)
    base = (base_url or settings.public_base_url or f"http://127.0.0.1:{settings.port}").rstrip("/")
    log.info("Imagen guardada en %s", path)
    return GeneratedImage(url=f"{base}/media/{path.name}", path=path, prompt=prompt)
