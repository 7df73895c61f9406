"""Who may use the portal: a login with the lab's API token, a session cookie, CSRF checks.

- The token is the one `/api/...` asks for (LAB_API_TOKEN, else the one generated into
  LAB_DATA_DIR/api_token), so a student has one secret, not two.
- The session cookie is Flask's signed cookie (`lab_session`, key derived from
  LAB_SECRET_KEY by `oauth.keys`): HttpOnly, SameSite=Lax, and Secure whenever the request
  came over https (the ngrok tunnel), since the same lab is also served on plain http at
  127.0.0.1, where a Secure cookie would never come back.
- The session remembers a fingerprint of the token, not the token: changing LAB_API_TOKEN
  logs every browser out.
- Every state-changing request of the portal goes through Flask-WTF's `CSRFProtect.protect()`
  (a token in the session, sent back in a form field or the X-CSRFToken header). It is not
  switched on app-wide: webhooks are signed by their providers and `/api/...` takes a bearer
  token, neither comes from a browser form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from datetime import timedelta

from flask import Flask, Request, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from ..auth import api_token
from ..config import Settings

SESSION_KEY = "portal"
#: A class is 2 hours; a working day is generous and still ends.
SESSION_HOURS = 12
#: How long a one-time login link from `lab.show()` stays valid, in seconds.
LINK_SECONDS = 120

csrf = CSRFProtect()


def fingerprint(token: str) -> str:
    return hashlib.sha256(b"lab-server portal " + token.encode("utf-8")).hexdigest()


class PortalSessions(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure when the request itself was https.

    A request without the cookie (every webhook: Twilio and Telegram send none) gets an empty
    session at once: Flask would build the signing serializer for each request just to find
    there is nothing to read, a cost the webhook's hot path pays thousands of times.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or _is_secure(request)


def _is_secure(req: Request) -> bool:
    try:
        return req.is_secure
    except RuntimeError:  # outside a request
        return False


class Access:
    """The portal's login state for one app: the token and the one-time login links."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._links: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def token(self) -> str:
        return api_token(self.settings)

    def check(self, given: str) -> bool:
        """Whether `given` is the token, compared in constant time."""
        return hmac.compare_digest(given.strip().encode("utf-8"), self.token.encode("utf-8"))

    def log_in(self) -> None:
        session.clear()  # a new session id for the new privilege (no session fixation)
        session.permanent = True
        session[SESSION_KEY] = fingerprint(self.token)

    @staticmethod
    def log_out() -> None:
        session.clear()

    def logged_in(self) -> bool:
        mark = session.get(SESSION_KEY)
        return isinstance(mark, str) and hmac.compare_digest(mark, fingerprint(self.token))

    def new_link_code(self) -> str:
        """A code for one login within LINK_SECONDS (`lab.show()` puts it in the iframe URL)."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            now = time.monotonic()
            self._links = {c: t for c, t in self._links.items() if t > now}
            self._links[code] = now + LINK_SECONDS
        return code

    def use_link_code(self, code: str) -> bool:
        with self._lock:
            expires = self._links.pop(code, None)
        return expires is not None and expires > time.monotonic()


def install(app: Flask, settings: Settings) -> Access:
    """Session cookie flags and CSRF for the portal; the `Access` kept in app.extensions."""
    app.session_interface = PortalSessions()
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        # protect() is called by the portal's blueprint only (see the module docstring)
        WTF_CSRF_CHECK_DEFAULT=False,
        # a tab left open through a class must still submit: the token lives as long as
        # the session, which ends after SESSION_HOURS
        WTF_CSRF_TIME_LIMIT=None,
    )
    csrf.init_app(app)
    access = Access(settings)
    app.extensions["portal"] = access
    return access
