"""TikTok: connect an account (Login Kit v2 with PKCE) and post videos and photos.

from lab_server import tiktok
print(tiktok.preflight(lab=lab).describe())            # creator_info, privacy: before posting
tiktok.publish("Hola", video_path="clip.mp4", lab=lab)  # FILE_UPLOAD in chunks, then statuses
"""

from __future__ import annotations

from .client import CreatorInfo, TikTokClient
from .errors import PostingRefusedError, RateLimitError
from .oauth import PROVIDER, fresh_connection, pkce_challenge
from .posting import Plan, plan_privacy, preflight, publish, publish_post
from .upload import Chunk, ChunkPlan, plan_chunks

__all__ = [
    "PROVIDER",
    "Chunk",
    "ChunkPlan",
    "CreatorInfo",
    "Plan",
    "PostingRefusedError",
    "RateLimitError",
    "TikTokClient",
    "fresh_connection",
    "pkce_challenge",
    "plan_chunks",
    "plan_privacy",
    "preflight",
    "publish",
    "publish_post",
]
