"""Fixtures for the Facebook and Instagram tests: the two stand-ins and settings aimed at them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from lab_server.config import Settings
from lab_server.meta import FACEBOOK_SCOPES, INSTAGRAM_SCOPES
from lab_server.sandbox import Sandbox

from .conftest import make_settings

FB_CALLBACK = "https://aula.example.org/oauth/facebook/callback"
IG_CALLBACK = "https://aula.example.org/oauth/instagram/callback"
PUBLIC_IMAGE = "https://res.cloudinary.com/demo/image/upload/sample.jpg"


@pytest.fixture
def meta_box(tmp_path: Path) -> Iterator[tuple[Sandbox, Settings]]:
    settings = make_settings(tmp_path)
    box = Sandbox.for_settings(settings, "1")
    assert box is not None
    try:
        yield box, box.apply(settings)
    finally:
        box.stop()


def facebook_dialog_url(settings: Settings, state: str = "s1", scopes=FACEBOOK_SCOPES) -> str:
    query = {
        "client_id": settings.meta_app_id,
        "redirect_uri": FB_CALLBACK,
        "state": state,
        "scope": ",".join(scopes),
        "response_type": "code",
    }
    base = f"{settings.facebook_oauth_base}/{settings.graph_api_version}/dialog/oauth"
    return f"{base}?{urlencode(query)}"


def instagram_authorize_url(settings: Settings, state: str = "s2", scopes=INSTAGRAM_SCOPES) -> str:
    query = {
        "client_id": settings.instagram_app_id,
        "redirect_uri": IG_CALLBACK,
        "state": state,
        "scope": ",".join(scopes),
        "response_type": "code",
    }
    return f"{settings.instagram_api_base}/oauth/authorize?{urlencode(query)}"


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
