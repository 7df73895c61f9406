"""TikTok's API v2 for one user: who they are, and the Content Posting API.

- `GET /v2/user/info/?fields=...` https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info
- `POST /v2/post/publish/creator_info/query/` (20/min per token): privacy options, max
  duration; required before every Direct Post.
- `POST /v2/post/publish/video/init/` (6/min per token): `post_info` + `source_info`
  (`FILE_UPLOAD` → `upload_url`, or `PULL_FROM_URL` from a verified domain).
  https://developers.tiktok.com/doc/content-posting-api-reference-direct-post
- `PUT {upload_url}` per chunk (see `upload.py`).
  https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide
- `POST /v2/post/publish/content/init/` with `media_type: PHOTO` (photos only by URL).
  https://developers.tiktok.com/doc/content-posting-api-reference-photo-post
- `POST /v2/post/publish/status/fetch/` (30/min per token) until `PUBLISH_COMPLETE` or
  `FAILED`. https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status

Every answer goes through `errors.check_body`: `error.code != "ok"` is an error even when
the HTTP status is 200.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

import requests

from ..config import Settings
from ..oauth.errors import ProviderError
from .errors import check_body, connection_error, error_from
from .upload import ChunkPlan

TIMEOUT = 30
USER_FIELDS = "open_id,union_id,avatar_url,display_name"
FINAL_STATUSES = ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX", "FAILED")


@dataclass(frozen=True)
class CreatorInfo:
    """What creator_info/query says about the account, read before every post."""

    username: str
    nickname: str
    privacy_level_options: tuple[str, ...]
    max_video_post_duration_sec: int | None
    comment_disabled: bool = False
    duet_disabled: bool = False
    stitch_disabled: bool = False

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> CreatorInfo:
        options = data.get("privacy_level_options")
        duration = data.get("max_video_post_duration_sec")
        return cls(
            username=str(data.get("creator_username") or ""),
            nickname=str(data.get("creator_nickname") or ""),
            privacy_level_options=tuple(options) if isinstance(options, list) else (),
            max_video_post_duration_sec=duration if isinstance(duration, int) else None,
            comment_disabled=bool(data.get("comment_disabled")),
            duet_disabled=bool(data.get("duet_disabled")),
            stitch_disabled=bool(data.get("stitch_disabled")),
        )


class TikTokClient:
    """Calls TikTok's API with one user's access token."""

    def __init__(self, settings: Settings, access_token: str) -> None:
        self.base = settings.tiktok_api_base.rstrip("/")
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {access_token}"

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._session.request(method, self.base + path, timeout=TIMEOUT, **kwargs)
            body = response.json()
        except requests.RequestException as exc:
            raise connection_error(exc, self.base) from None
        except ValueError:
            raise ProviderError(
                f"TikTok respondió {response.status_code} sin JSON en {path}: revisa "
                "TIKTOK_API_BASE."
            ) from None
        return check_body(body, response.status_code)

    def _post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        # TikTok asks for this exact content type on every posting endpoint
        return self._call(
            "POST",
            path,
            json=body or {},
            headers={"Content-Type": "application/json; charset=UTF-8"},
        )

    def user_info(self) -> dict[str, Any]:
        """open_id, union_id, avatar_url, display_name (scope user.info.basic)."""
        data = self._call("GET", "/v2/user/info/", params={"fields": USER_FIELDS})
        user = data.get("user")
        if not isinstance(user, dict):
            raise ProviderError("TikTok respondió /v2/user/info/ sin el objeto user.")
        return user

    def creator_info(self) -> CreatorInfo:
        return CreatorInfo.from_data(self._post("/v2/post/publish/creator_info/query/"))

    def init_video(self, post_info: dict[str, Any], source_info: dict[str, Any]) -> dict[str, Any]:
        """Direct Post of a video: `publish_id` and, for FILE_UPLOAD, `upload_url`."""
        data = self._post(
            "/v2/post/publish/video/init/", {"post_info": post_info, "source_info": source_info}
        )
        if not data.get("publish_id"):
            raise ProviderError("TikTok aceptó el video pero no devolvió publish_id.")
        return data

    def init_photo(
        self, post_info: dict[str, Any], photo_urls: list[str], cover_index: int = 0
    ) -> str:
        """Direct Post of photos, which TikTok downloads itself; returns the publish_id."""
        data = self._post(
            "/v2/post/publish/content/init/",
            {
                "post_info": post_info,
                "source_info": {
                    "source": "PULL_FROM_URL",
                    "photo_cover_index": cover_index,
                    "photo_images": photo_urls,
                },
                "post_mode": "DIRECT_POST",
                "media_type": "PHOTO",
            },
        )
        if not data.get("publish_id"):
            raise ProviderError("TikTok aceptó las fotos pero no devolvió publish_id.")
        return str(data["publish_id"])

    def upload(self, upload_url: str, video: BinaryIO, plan: ChunkPlan, mime: str) -> list[int]:
        """PUT every chunk of `video` in order; the HTTP statuses (206 ..., 201 at the end)."""
        statuses = []
        with requests.Session() as uploader:  # the upload_url carries its own credentials
            for chunk in plan.chunks():
                video.seek(chunk.first)
                data = video.read(chunk.size)
                if len(data) != chunk.size:
                    raise ProviderError(
                        "El archivo cambió de tamaño durante la subida: vuelve a empezar."
                    )
                headers = {
                    "Content-Type": mime,
                    "Content-Length": str(chunk.size),
                    "Content-Range": chunk.content_range,
                }
                try:
                    response = uploader.put(upload_url, data=data, headers=headers, timeout=120)
                except requests.RequestException as exc:
                    raise connection_error(exc, upload_url.split("?")[0]) from None
                if response.status_code not in (200, 201, 206):
                    raise _upload_error(response, chunk.index, plan.total_chunk_count)
                statuses.append(response.status_code)
        return statuses

    def status(self, publish_id: str) -> dict[str, Any]:
        """`status`, `fail_reason`, `uploaded_bytes`, `publicaly_available_post_id` (sic)."""
        return self._post("/v2/post/publish/status/fetch/", {"publish_id": publish_id})

    def wait(
        self,
        publish_id: str,
        *,
        timeout: float = 300.0,
        first_interval: float = 0.25,
        max_interval: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        on_status: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Poll the status until it is final; the interval doubles (30 fetches/min at most)."""
        interval, waited = first_interval, 0.0
        while True:
            data = self.status(publish_id)
            if on_status:
                on_status(data)
            if data.get("status") in FINAL_STATUSES or waited >= timeout:
                return data
            sleep(interval)
            waited += interval
            interval = min(interval * 2, max_interval)


def _upload_error(response: requests.Response, index: int, count: int) -> ProviderError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"code": f"http_{response.status_code}", "message": response.text[:200]}
    exc = error_from(error, response.status_code)
    exc.args = (f"Trozo {index + 1} de {count}: {exc}",)
    return exc
