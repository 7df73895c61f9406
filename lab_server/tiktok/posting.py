"""Publishing on TikTok the way its Direct Post guidelines ask, with the checks up front.

1. Fresh token (refreshed and stored if it expires within 5 minutes).
2. `creator_info/query`: the privacy levels this account may use, the longest video.
3. The privacy decision BEFORE anything is sent: an app TikTok has not audited posts only
   `SELF_ONLY` (https://developers.tiktok.com/doc/content-sharing-guidelines/), so the kit
   says so now (`TIKTOK_APP_AUDITED=false`, the default) instead of letting TikTok refuse
   `unaudited_client_can_only_post_to_private_accounts` after an upload.
4. Init (video FILE_UPLOAD / PULL_FROM_URL, or photos), the chunked upload, and the status
   polling until `PUBLISH_COMPLETE` or `FAILED`.

Exactly once: TikTok takes no idempotency key and its video list (`/v2/video/list/`) shows
only PUBLIC videos, so `find_post` can settle a lost attempt only for a video of an audited
app; a private (`SELF_ONLY`) post or a photo post cannot be checked, and the pipeline fails
it as uncertain rather than post twice (at most once, like Telegram).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ..oauth.errors import MissingScopeError, ProviderError, PublishInputError
from ..oauth.tokens import Clock, utcnow
from ..publish import CannotCheck, Post, PublishContext, context
from ..urls import private_url_problem
from .client import CreatorInfo, TikTokClient
from .errors import RECONNECT
from .oauth import fresh_connection
from .upload import DEFAULT_CHUNK, content_type, plan_chunks

log = logging.getLogger(__name__)

PRIVATE = "SELF_ONLY"
POST_SCOPE = "video.publish"
#: Caption limits of the Direct Post reference (video title in UTF-16 code units).
MAX_VIDEO_TITLE = 2200
MAX_PHOTO_TITLE = 90
MAX_PHOTO_DESCRIPTION = 4000
MAX_PHOTOS = 35
VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm")

UNAUDITED = (
    "Tu app de TikTok no está auditada (TIKTOK_APP_AUDITED=false): TikTok solo publica en "
    "privado (SELF_ONLY), en cuentas privadas y para hasta 5 usuarios por día. La "
    "publicación la verás solo tú."
)


@dataclass(frozen=True)
class Plan:
    """What will be posted, decided before any upload: the account and its privacy level."""

    creator: CreatorInfo
    privacy_level: str
    warnings: tuple[str, ...] = ()

    def describe(self) -> str:
        """Spanish lines for the notebook: account, privacy, limits and warnings."""
        duration = self.creator.max_video_post_duration_sec
        lines = [
            f"Cuenta: @{self.creator.username} ({self.creator.nickname})",
            f"Privacidad: {self.privacy_level} (opciones de la cuenta: "
            f"{', '.join(self.creator.privacy_level_options) or 'ninguna'})",
            f"Duración máxima de video: {duration} s" if duration else "Duración máxima: ?",
        ]
        return "\n".join(lines + [f"⚠ {w}" for w in self.warnings])


def plan_privacy(creator: CreatorInfo, audited: bool, privacy_level: str | None = None) -> Plan:
    """The privacy level to post with, or a `PublishInputError` before anything is sent."""
    options = creator.privacy_level_options
    if not audited:
        if privacy_level not in (None, PRIVATE):
            raise PublishInputError(
                f"{UNAUDITED} Pediste {privacy_level}: usa privacy_level='SELF_ONLY' o pide la "
                "auditoría en developers.tiktok.com y define TIKTOK_APP_AUDITED=true."
            )
        privacy_level = PRIVATE
    elif privacy_level is None:
        privacy_level = "PUBLIC_TO_EVERYONE" if "PUBLIC_TO_EVERYONE" in options else PRIVATE
    if options and privacy_level not in options:
        raise PublishInputError(
            f"La cuenta @{creator.username} no ofrece el nivel de privacidad {privacy_level}; "
            f"creator_info/query dice: {', '.join(options)}."
        )
    return Plan(creator, privacy_level, () if audited else (UNAUDITED,))


def _client(ctx: PublishContext) -> TikTokClient:
    connection = fresh_connection(ctx.settings, ctx.tokens, ctx.now, ctx.account)
    if not connection.has_scopes(POST_SCOPE):
        raise MissingScopeError(
            f"La cuenta conectada no dio el permiso {POST_SCOPE} (Direct Post): agrega el "
            "producto Content Posting API a tu app, activa Direct Post y vuelve a conectar. "
            + RECONNECT
        )
    return TikTokClient(ctx.settings, connection.access_token)


def preflight(
    privacy_level: str | None = None,
    *,
    lab: Any = None,
    settings: Any = None,
    tokens: Any = None,
    clock: Clock = utcnow,
) -> Plan:
    """Ask creator_info/query and decide the privacy level, without posting anything."""
    ctx = context(lab=lab, settings=settings, tokens=tokens, clock=clock)
    client = _client(ctx)
    return plan_privacy(client.creator_info(), ctx.settings.tiktok_app_audited, privacy_level)


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _public(url: Any, what: str) -> str:
    if not isinstance(url, str) or not url:
        raise PublishInputError(f"{what} debe ser una URL https pública.")
    problem = private_url_problem(url, "TikTok")
    if problem:
        raise PublishInputError(f"TikTok no puede descargar {what} ({url[:80]}): {problem}")
    return url


@dataclass(frozen=True)
class Media:
    """One of: a local video file, a video URL, or photo URLs."""

    video_path: Path | None = None
    video_url: str | None = None
    photo_urls: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        video_path: str | Path | None,
        video_url: str | None,
        photo_urls: list[str] | tuple[str, ...] | None,
    ) -> Media:
        given = [x for x in (video_path, video_url, photo_urls) if x]
        if len(given) != 1:
            raise PublishInputError(
                "TikTok no publica solo texto: da exactamente uno de video_path (archivo local), "
                "video_url (URL pública) o photo_urls (lista de URLs públicas de fotos)."
            )
        if video_path:
            path = Path(video_path).expanduser()
            if not path.is_file():
                raise PublishInputError(f"No existe el archivo de video {path}.")
            content_type(path)  # refuses other formats before anything is sent
            return cls(video_path=path)
        if video_url:
            return cls(video_url=_public(video_url, "el video"))
        if isinstance(photo_urls, str) or not 1 <= len(photo_urls or ()) <= MAX_PHOTOS:
            raise PublishInputError(
                f"photo_urls debe ser una lista de 1 a {MAX_PHOTOS} URLs de fotos."
            )
        return cls(photo_urls=tuple(_public(u, "la foto") for u in photo_urls or ()))


def _check_caption(text: str, media: Media) -> None:
    if media.photo_urls:
        if len(text) > MAX_PHOTO_DESCRIPTION:
            raise PublishInputError(
                f"La descripción de fotos admite {MAX_PHOTO_DESCRIPTION} caracteres; tiene "
                f"{len(text)}."
            )
    elif _utf16_length(text) > MAX_VIDEO_TITLE:
        raise PublishInputError(
            f"El texto de un video en TikTok admite {MAX_VIDEO_TITLE} caracteres; tiene "
            f"{_utf16_length(text)}."
        )


def post(
    text: str,
    media: Media,
    ctx: PublishContext,
    *,
    privacy_level: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    wait: bool = True,
    on_status: Callable[[dict[str, Any]], None] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> Post:
    """creator_info → privacy check → init → upload → status; the `Post` (id = publish_id)."""
    _check_caption(text, media)
    client = _client(ctx)
    creator = client.creator_info()
    plan = plan_privacy(creator, ctx.settings.tiktok_app_audited, privacy_level)
    for warning in plan.warnings:
        log.warning("TikTok: %s", warning)
    info: dict[str, Any] = {
        "title": text,
        "privacy_level": plan.privacy_level,
        "disable_comment": creator.comment_disabled,
    }
    if media.photo_urls:
        first_line = text.strip().splitlines()[0] if text.strip() else ""
        info.update(title=first_line[:MAX_PHOTO_TITLE], description=text, auto_add_music=True)
        publish_id = client.init_photo(info, list(media.photo_urls))
    else:
        info.update(disable_duet=creator.duet_disabled, disable_stitch=creator.stitch_disabled)
        if media.video_url:
            source = {"source": "PULL_FROM_URL", "video_url": media.video_url}
            publish_id = str(client.init_video(info, source)["publish_id"])
        else:
            path = media.video_path
            assert path is not None
            plan_ = plan_chunks(path.stat().st_size, chunk_size)
            data = client.init_video(info, plan_.source_info())
            publish_id = str(data["publish_id"])
            if not data.get("upload_url"):
                raise ProviderError("TikTok no devolvió upload_url para FILE_UPLOAD.")
            with path.open("rb") as video:
                client.upload(str(data["upload_url"]), video, plan_, content_type(path))
    if not wait:
        return Post(network="tiktok", id=publish_id)
    kwargs = {"sleep": sleep} if sleep else {}
    final = client.wait(publish_id, on_status=on_status, **kwargs)
    if final.get("status") == "FAILED":
        reason = final.get("fail_reason") or "sin motivo"
        raise ProviderError(
            f"TikTok no publicó {publish_id}: terminó en FAILED. Revisa el formato, la duración "
            f"(máximo {creator.max_video_post_duration_sec} s) y el texto, y vuelve a intentar.",
            provider_code=reason,
            provider_message=f"fail_reason={reason}",
        )
    ids = final.get("publicaly_available_post_id") or []
    url = f"https://www.tiktok.com/@{creator.username}/video/{ids[0]}" if ids else None
    return Post(network="tiktok", id=publish_id, url=url)


def publish(
    text: str,
    *,
    video_path: str | Path | None = None,
    video_url: str | None = None,
    photo_urls: list[str] | None = None,
    privacy_level: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    wait: bool = True,
    on_status: Callable[[dict[str, Any]], None] | None = None,
    lab: Any = None,
    settings: Any = None,
    tokens: Any = None,
    clock: Clock = utcnow,
) -> Post:
    """Publish on TikTok: a local video (FILE_UPLOAD in chunks), a video URL or photo URLs."""
    from ..publish import validate

    text, _ = validate(text, None)
    media = Media.of(video_path, video_url, photo_urls)
    ctx = context(lab=lab, settings=settings, tokens=tokens, clock=clock)
    return post(
        text,
        media,
        ctx,
        privacy_level=privacy_level,
        chunk_size=chunk_size,
        wait=wait,
        on_status=on_status,
    )


def _is_video(url: str) -> bool:
    return Path(url.split("?")[0]).suffix.lower() in VIDEO_EXTENSIONS


def find_post(text: str, image_url: str | None, ctx: PublishContext) -> Post | None:
    """The public video with this title made since the lost attempt began, if any; or
    `CannotCheck` when the post would not be listed (private, or photos)."""
    if not ctx.settings.tiktok_app_audited or not image_url or not _is_video(image_url):
        raise CannotCheck("TikTok lista solo videos públicos")
    since = ((ctx.previous_attempt or ctx.now) - timedelta(minutes=1)).timestamp()
    for video in _client(ctx).recent_videos():
        created = video.get("create_time")
        if video.get("title") == text and isinstance(created, int) and created >= since:
            return Post(network="tiktok", id=str(video.get("id")), url=video.get("share_url"))
    return None


def publish_post(text: str, image_url: str | None, ctx: PublishContext) -> Post:
    """The registered publisher: the URL is a video (.mp4/.mov/.webm) or one photo."""
    if not image_url:
        raise PublishInputError(
            "TikTok no publica solo texto: envía en image_url la URL pública de una foto o de "
            "un video (.mp4, .mov, .webm)."
        )
    is_video = _is_video(image_url)
    media = Media.of(None, image_url if is_video else None, None if is_video else [image_url])
    return post(text, media, ctx)
