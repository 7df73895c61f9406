"""Facebook Pages and Instagram through Meta's Graph API.

from lab_server.meta import FacebookClient, InstagramClient
FacebookClient(settings).post(page_id, page_token, "Hola")          # POST /{page-id}/feed
InstagramClient(settings).publish_photo(ig_id, token, image_url, "Hola")  # container -> publish
"""

from .client import (
    FACEBOOK_SCOPES,
    INSTAGRAM_SCOPES,
    FacebookClient,
    GraphClient,
    InstagramClient,
    Published,
    Token,
    instagram_refresh_due,
)
from .errors import (
    ContainerError,
    GraphAPIError,
    MetaConnectionError,
    MetaError,
    PublishingLimitReached,
)

__all__ = [
    "FACEBOOK_SCOPES",
    "INSTAGRAM_SCOPES",
    "ContainerError",
    "FacebookClient",
    "GraphAPIError",
    "GraphClient",
    "InstagramClient",
    "MetaConnectionError",
    "MetaError",
    "Published",
    "PublishingLimitReached",
    "Token",
    "instagram_refresh_due",
]
