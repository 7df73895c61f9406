"""Shared by the portal's tests: a sandboxed lab, and a browser-like session logged into it."""

from __future__ import annotations

import re

import requests

from lab_server import start
from lab_server.portal import api_token

from .conftest import make_settings

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
HOOK = "https://lab-prueba.ngrok-free.app/webhooks/telegram"


def start_lab(tmp_path, **env: str):
    """A lab in the classroom sandbox, with Telegram's webhook registered as a student would."""
    from lab_server.telegram import set_webhook

    lab = start(settings=make_settings(tmp_path, LAB_SANDBOX="1", LAB_PORT="0", **env), show=False)
    set_webhook(lab, url=HOOK)
    return lab


def csrf_of(page: requests.Response) -> str:
    match = CSRF_FIELD.search(page.text)
    assert match, f"no CSRF field in {page.url}"
    return match.group(1)


def logged_in(lab) -> tuple[requests.Session, str]:
    """A session logged into the portal, and the CSRF token of its session."""
    session = requests.Session()
    token = csrf_of(session.get(lab.url + "/entrar", timeout=10))
    answer = session.post(
        lab.url + "/entrar",
        data={"token": api_token(lab.settings), "csrf_token": token},
        timeout=10,
    )
    assert answer.status_code == 200 and answer.url.rstrip("/") == lab.url
    return session, csrf_of(answer)
