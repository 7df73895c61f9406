"""The chunk plan of a FILE_UPLOAD, exactly as TikTok's media transfer guide sets it.

https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide
- each chunk is at least 5 MB and at most 64 MB, except the last one, which takes the
  trailing bytes and may reach 128 MB;
- a video under 5 MB goes whole: chunk_size = video_size, one chunk; over 64 MB it must
  be split;
- total_chunk_count = video_size // chunk_size (rounded down), from 1 to 1000;
- chunks go in order, one `PUT` each, with `Content-Type`, `Content-Length` and
  `Content-Range: bytes FIRST-LAST/TOTAL` (LAST inclusive).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..oauth.errors import PublishInputError

MB = 1024 * 1024
MIN_CHUNK = 5 * MB
MAX_CHUNK = 64 * MB
MAX_LAST_CHUNK = 128 * MB
MAX_CHUNKS = 1000
#: What the kit asks for when nobody says otherwise (TikTok's examples use 10 MB).
DEFAULT_CHUNK = 10 * MB

CONTENT_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm"}


@dataclass(frozen=True)
class Chunk:
    """One PUT of the upload: bytes `first`..`last` (inclusive) of `total`."""

    index: int
    first: int
    last: int
    total: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.first}-{self.last}/{self.total}"


@dataclass(frozen=True)
class ChunkPlan:
    video_size: int
    chunk_size: int
    total_chunk_count: int

    def chunks(self) -> list[Chunk]:
        """Every chunk in upload order; the last one takes the trailing bytes."""
        out = []
        for index in range(self.total_chunk_count):
            first = index * self.chunk_size
            last = (
                self.video_size - 1
                if index == self.total_chunk_count - 1
                else first + self.chunk_size - 1
            )
            out.append(Chunk(index, first, last, self.video_size))
        return out

    def source_info(self) -> dict[str, object]:
        """The `source_info` of the init request for this plan."""
        return {
            "source": "FILE_UPLOAD",
            "video_size": self.video_size,
            "chunk_size": self.chunk_size,
            "total_chunk_count": self.total_chunk_count,
        }


def plan_chunks(video_size: int, chunk_size: int = DEFAULT_CHUNK) -> ChunkPlan:
    """The chunk plan for a video of `video_size` bytes, `chunk_size` adjusted to the rules."""
    if video_size <= 0:
        raise PublishInputError("El video está vacío: TikTok necesita un archivo con bytes.")
    if video_size < MIN_CHUNK:
        return ChunkPlan(video_size, video_size, 1)
    size = min(max(chunk_size, MIN_CHUNK), MAX_CHUNK)
    if video_size // size > MAX_CHUNKS:  # too many chunks: make them bigger
        size = -(-video_size // MAX_CHUNKS)
    if size > MAX_CHUNK:
        raise PublishInputError(
            f"El video pesa {video_size / MB:.0f} MB: no cabe en {MAX_CHUNKS} trozos de "
            f"{MAX_CHUNK // MB} MB como máximo."
        )
    if video_size <= size:
        return ChunkPlan(video_size, video_size, 1)
    if video_size > MAX_CHUNK and video_size // size < 2:
        size = video_size // 2  # one chunk would carry it all, and over 64 MB must be split
    return ChunkPlan(video_size, size, video_size // size)


def content_type(path: Path) -> str:
    """The MIME type TikTok expects for the file's extension (MP4, MOV or WebM)."""
    try:
        return CONTENT_TYPES[path.suffix.lower()]
    except KeyError:
        raise PublishInputError(
            f"TikTok acepta videos MP4, MOV o WebM; {path.name} no tiene esas extensiones."
        ) from None
