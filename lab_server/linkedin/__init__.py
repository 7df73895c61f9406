"""LinkedIn: connect a member with OAuth (OpenID Connect) and publish text posts.

from lab_server.linkedin import publish
publish("Hola desde el curso", lab=lab)   # the connected member posts; returns a Post
"""

from __future__ import annotations

from typing import Any

from ..publish import Post
from ..publish import publish as _publish
from .client import LinkedInClient, post_url, publish_post
from .oauth import PROVIDER


def publish(text: str, *, lab: Any = None, **kwargs: Any) -> Post:
    """Publish `text` on LinkedIn as the connected member (see lab_server.publish.publish)."""
    return _publish("linkedin", text, None, lab=lab, **kwargs)


__all__ = ["PROVIDER", "LinkedInClient", "Post", "post_url", "publish", "publish_post"]
