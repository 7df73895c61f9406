"""Local stand-ins for Meta: Facebook Login + Pages, and Instagram Login + content publishing.

Built from Meta's documentation (platform-facts.md §6):
- Facebook Login dialog `GET {FACEBOOK_OAUTH_BASE}/{version}/dialog/oauth` and the code and
  long-lived exchanges at `{GRAPH_API_BASE}/{version}/oauth/access_token`
  (https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow,
  https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived);
  `/me/accounts` with Page tokens and `POST /{page-id}/feed`
  (https://developers.facebook.com/docs/pages-api/getting-started, .../pages-api/posts).
- Instagram Login `GET {INSTAGRAM_API_BASE}/oauth/authorize`, `POST /oauth/access_token`
  (https://developers.facebook.com/docs/instagram-platform/reference/oauth-authorize); the
  60-day exchange and refresh on INSTAGRAM_GRAPH_BASE
  (https://developers.facebook.com/documentation/instagram-platform/reference/access_token);
  containers, `media_publish` and `content_publishing_limit`
  (https://developers.facebook.com/docs/instagram-platform/content-publishing/).
- Errors are Graph's `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`
  (https://developers.facebook.com/docs/graph-api/guides/error-handling/), with Instagram's
  publishing codes (.../instagram-graph-api/reference/error-codes). api.instagram.com's token
  endpoint answers errors as `{"error_type", "code", "error_message"}`, as developers report it.

Deliberate differences: the consent pages have no real login (one person, already signed in);
a container does not download its image (nothing here reaches the internet): it ends in ERROR
when `image_url` could not be fetched by Meta (not https, localhost, a private address), else
FINISHED after `processing_reads` status reads. The Page Publishing Authorization error's
exact wording is not documented; the stand-in uses code 200 with subcode 1404078, as
third-party error maps report it. Time comes from `clock`, which tests move forward.
"""

from __future__ import annotations

import hmac
import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from flask import Flask, Response, jsonify, redirect, request

from ..urls import private_url_problem
from .base import StandIn

DAY = 86400
LONG_LIVED = 60 * DAY  # both long-lived tokens
SHORT_LIVED = {"facebook": 2 * 3600, "instagram": 3600}
CODE_LIFETIME = 600
QUOTA_TOTAL = 100  # posts per moving 24 h (the 2025 guide; other pages say 50)
FACEBOOK_VERSIONED = "/<version>/"


class Clock:
    """Wall-clock time plus an offset that tests move with `advance()`."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float = 0, *, hours: float = 0, days: float = 0) -> None:
        self.offset += seconds + hours * 3600 + days * DAY


@dataclass
class Grant:
    """An authorization code waiting to be exchanged."""

    code: str
    redirect_uri: str
    scopes: tuple[str, ...]
    expires_at: float
    used: bool = False


@dataclass
class Issued:
    """A token the stand-in handed out."""

    kind: str  # "user" (short), "long", "page"
    scopes: tuple[str, ...]
    issued_at: float
    expires_at: float | None
    page_id: str | None = None


@dataclass
class Container:
    id: str
    owner: str
    image_url: str
    caption: str
    created_at: float
    reads: int = 0
    status_code: str = "IN_PROGRESS"
    status: str = ""
    media_id: str | None = None


@dataclass
class Post:
    id: str
    text: str
    at: float
    image_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class GraphRefusal(Exception):
    """A Graph error answer."""

    def __init__(
        self, status: int, code: int, message: str, subcode: int | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.subcode, self.extra = (
            status,
            code,
            message,
            subcode,
            extra,
        )


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%A, %d-%b-%y %H:%M:%S UTC")


def _scopes(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for s in raw.replace(",", " ").split() if s))


CONSENT_PAGE = """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 3em auto">
<h1>{title}</h1>
<p><strong>{app}</strong> quiere acceder a tu cuenta <strong>{account}</strong>
(simulador del curso: {host}).</p>
<p>Permisos solicitados:</p><ul>{scopes}</ul>
<form method="post">
<button name="decision" value="allow" id="allow">Permitir</button>
<button name="decision" value="deny" id="deny">Cancelar</button>
</form></body></html>"""


class _MetaStandIn(StandIn):
    """What both Meta stand-ins share: tokens, codes, a clock and errors on demand."""

    network: str
    token_prefix: str
    #: name -> (HTTP status, code, subcode, message) that `fail_next(name)` answers
    PRESETS: dict[str, tuple[int, int, int | None, str]] = {}

    def __init__(self) -> None:
        self.clock = Clock()
        self.app_id = str(10**15 + secrets.randbelow(9 * 10**15))
        self.app_secret = secrets.token_hex(16)
        self.grants: dict[str, Grant] = {}
        self.tokens: dict[str, Issued] = {}
        self.posts: list[Post] = []
        self._failures: list[tuple[str, GraphRefusal]] = []
        self._state = threading.RLock()
        self._ids = itertools.count(17_841_400_000_000_000 + secrets.randbelow(10**9))
        super().__init__()
        for code in (404, 405):
            self.app.register_error_handler(
                code,
                lambda _e, c=code: self._error(
                    GraphRefusal(400, 100, "Unsupported request - method type or path not found")
                ),
            )

    def next_id(self) -> str:
        return str(next(self._ids))

    # -- errors ------------------------------------------------------------------------

    def fail_next(self, name: str, path_part: str = "") -> None:
        """Answer the next request whose path contains `path_part` with preset error `name`."""
        status, code, subcode, message = self.PRESETS[name]
        with self._state:
            self._failures.append((path_part, GraphRefusal(status, code, message, subcode)))

    def _pending_failure(self) -> GraphRefusal | None:
        with self._state:
            for i, (part, refusal) in enumerate(self._failures):
                if part in request.path:
                    del self._failures[i]
                    return refusal
        return None

    @staticmethod
    def _error(refusal: GraphRefusal) -> tuple[Response, int]:
        body: dict[str, Any] = {
            "message": refusal.message,
            "type": "OAuthException",
            "code": refusal.code,
            "fbtrace_id": "A" + secrets.token_urlsafe(15),
        }
        if refusal.subcode is not None:
            body["error_subcode"] = refusal.subcode
        body.update(refusal.extra)
        return jsonify(error=body), refusal.status

    def _handle(self, view, *args: Any):
        failure = self._pending_failure()
        try:
            if failure:
                raise failure
            return view(*args)
        except GraphRefusal as refusal:
            return self._error(refusal)

    def route(self, app: Flask, rule: str, view, methods=("GET",)) -> None:
        app.add_url_rule(
            rule,
            view.__name__,
            lambda **kw: self._handle(lambda: view(**kw)),
            methods=list(methods),
        )

    # -- tokens ------------------------------------------------------------------------

    def issue(self, kind: str, scopes: tuple[str, ...], lifetime: float | None, **kw: Any) -> str:
        token = self.token_prefix + secrets.token_urlsafe(32)
        now = self.clock.now()
        with self._state:
            self.tokens[token] = Issued(
                kind, scopes, now, None if lifetime is None else now + lifetime, **kw
            )
        return token

    def _presented_token(self) -> str:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and value.strip():
            return value.strip()
        return request.values.get("access_token", "")

    def check_token(self, token: str | None = None) -> Issued:
        """The token's record, or Graph's code 190 for an unknown or expired one."""
        token = self._presented_token() if token is None else token
        if not token:
            raise GraphRefusal(400, 104, "An access token is required to request this resource.")
        issued = self.tokens.get(token)
        if issued is None:
            raise GraphRefusal(400, 190, "Invalid OAuth access token - Cannot parse access token")
        now = self.clock.now()
        if issued.expires_at is not None and now >= issued.expires_at:
            raise GraphRefusal(
                400,
                190,
                f"Error validating access token: Session has expired on {_when(issued.expires_at)}."
                f" The current time is {_when(now)}.",
                463,
            )
        return issued

    def _check_secret(self, secret: str | None) -> None:
        if not hmac.compare_digest((secret or "").encode(), self.app_secret.encode()):
            raise GraphRefusal(400, 1, "Error validating client secret.")

    # -- consent ----------------------------------------------------------------------

    def _consent(self, title: str, account: str, scope_sep: str):
        """The login dialog: a page with Permitir/Cancelar; the POST redirects with a code."""
        args = request.args
        if args.get("client_id") != self.app_id:
            return self._consent_problem("Invalid App ID: the provided app ID is not valid.")
        redirect_uri = args.get("redirect_uri", "")
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            return self._consent_problem(
                "URL blocked: this redirect failed because the redirect URI is not absolute "
                "or has a fragment."
            )
        scopes = _scopes(args.get("scope", ""))
        if request.method == "GET":
            items = "".join(f"<li>{escape(s)}</li>" for s in scopes) or "<li>(ninguno)</li>"
            return CONSENT_PAGE.format(
                title=escape(title),
                app="App del curso",
                account=escape(account),
                scopes=items,
                host=escape(self.base_url),
            )
        state = {"state": args["state"]} if "state" in args else {}
        if request.form.get("decision") != "allow":
            denied = {
                "error": "access_denied",
                "error_reason": "user_denied",
                "error_description": "Permissions error.",
                **state,
            }
            return redirect(self._join(redirect_uri, denied), 302)
        code = secrets.token_urlsafe(48)
        with self._state:
            self.grants[code] = Grant(code, redirect_uri, scopes, self.clock.now() + CODE_LIFETIME)
        return redirect(self._join(redirect_uri, {"code": code, **state}) + self.code_suffix, 302)

    code_suffix = ""

    @staticmethod
    def _join(url: str, params: dict[str, str]) -> str:
        return url + ("&" if urlsplit(url).query else "?") + urlencode(params)

    @staticmethod
    def _consent_problem(text: str):
        return Response(f"<!doctype html><p>{escape(text)}</p>", 400, mimetype="text/html")

    def redeem(self, code: str, redirect_uri: str) -> Grant:
        """Check and use up an authorization code (single use, exact redirect_uri)."""
        with self._state:
            grant = self.grants.get(code)
            if grant is None:
                raise GraphRefusal(400, 100, "Invalid verification code format.", 36008)
            if grant.used:
                raise GraphRefusal(400, 100, "This authorization code has been used.", 36009)
            if self.clock.now() >= grant.expires_at:
                raise GraphRefusal(400, 100, "This authorization code has expired.", 36007)
            if grant.redirect_uri != redirect_uri:
                raise GraphRefusal(
                    400,
                    100,
                    "Error validating verification code. Please make sure your redirect_uri is "
                    "identical to the one you used in the OAuth dialog request",
                    36008,
                )
            grant.used = True
            return grant

    def approve(self, authorize_url: str, *, allow: bool = True) -> str:
        """Click Permitir (or Cancelar) on the consent page; returns the redirect the browser
        would follow (the app's callback URL with `code` and `state`)."""
        answer = requests.post(
            authorize_url,
            data={"decision": "allow" if allow else "deny"},
            allow_redirects=False,
            timeout=10,
        )
        if answer.status_code != 302:
            raise RuntimeError(f"consent page answered {answer.status_code}: {answer.text[:200]}")
        return answer.headers["Location"]


class FacebookStandIn(_MetaStandIn):
    """Facebook Login, one person with one Page, and the Page's feed."""

    service = "facebook"
    network = "facebook"
    token_prefix = "EAA"
    PRESETS = {
        "expired_token": (
            400,
            190,
            463,
            "Error validating access token: Session has expired on Tuesday, 01-Dec-26 10:00:00"
            " PST. The current time is Tuesday, 01-Dec-26 11:00:00 PST.",
        ),
        "missing_permission": (
            403,
            200,
            None,
            "(#200) If posting to a page, requires both pages_read_engagement and "
            "pages_manage_posts as an admin with sufficient administrative permission",
        ),
        "page_publishing_authorization": (
            403,
            200,
            1404078,
            "(#200) The Page requires Page Publishing Authorization (PPA) to be completed "
            "before publishing",
        ),
        "rate_limit": (400, 4, None, "(#4) Application request limit reached"),
    }

    def __init__(self) -> None:
        self.user_id = str(10**14 + secrets.randbelow(9 * 10**14))
        self.user_name = "Ana Estudiante"
        self.page_id = str(10**14 + secrets.randbelow(9 * 10**14))
        self.page_name = "Página del curso"
        super().__init__()

    def overrides(self) -> dict[str, str]:
        return {
            "META_APP_ID": self.app_id,
            "META_APP_SECRET": self.app_secret,
            "GRAPH_API_BASE": self.base_url,
            "FACEBOOK_OAUTH_BASE": self.base_url,
        }

    def routes(self, app: Flask) -> None:
        self.route(app, "/<version>/dialog/oauth", self.dialog, ("GET", "POST"))
        self.route(app, "/<version>/oauth/access_token", self.access_token, ("GET", "POST"))
        self.route(app, "/<version>/me", self.me)
        self.route(app, "/<version>/me/accounts", self.accounts)
        self.route(app, "/<version>/<page_id>/feed", self.feed, ("POST",))

    def dialog(self, version: str):
        return self._consent("Iniciar sesión con Facebook", self.user_name, ",")

    def access_token(self, version: str):
        params = request.values
        if params.get("client_id") != self.app_id:
            raise GraphRefusal(400, 101, "Error validating application. Invalid application ID.")
        self._check_secret(params.get("client_secret"))
        if params.get("grant_type") == "fb_exchange_token":
            short = self.check_token(params.get("fb_exchange_token", ""))
            token = self.issue("long", short.scopes, LONG_LIVED)
            return jsonify(access_token=token, token_type="bearer", expires_in=LONG_LIVED)
        grant = self.redeem(params.get("code", ""), params.get("redirect_uri", ""))
        lifetime = SHORT_LIVED["facebook"]
        token = self.issue("user", grant.scopes, lifetime)
        return jsonify(access_token=token, token_type="bearer", expires_in=lifetime)

    def me(self, version: str):
        self.check_token()
        return jsonify(id=self.user_id, name=self.user_name)

    def accounts(self, version: str):
        issued = self.check_token()
        if issued.kind == "page":
            raise GraphRefusal(400, 100, "(#100) Tried accessing nonexisting field (accounts)")
        data = []
        if "pages_show_list" in issued.scopes:
            # A Page token from a long-lived user token does not expire.
            lifetime = None if issued.kind == "long" else SHORT_LIVED["facebook"]
            page_token = self.issue("page", issued.scopes, lifetime, page_id=self.page_id)
            data.append(
                {
                    "id": self.page_id,
                    "name": self.page_name,
                    "category": "Education",
                    "access_token": page_token,
                    "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
                }
            )
        return jsonify(data=data, paging={"cursors": {"before": "QVFIU", "after": "QVFIU"}})

    def feed(self, version: str, page_id: str):
        issued = self.check_token()
        if page_id != self.page_id:
            raise GraphRefusal(
                400,
                100,
                f"Unsupported post request. Object with ID '{page_id}' does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation.",
                33,
            )
        needed = {"pages_read_engagement", "pages_manage_posts"}
        if issued.kind != "page" or issued.page_id != page_id or not needed <= set(issued.scopes):
            status, code, subcode, message = self.PRESETS["missing_permission"]
            raise GraphRefusal(status, code, message, subcode)
        message = request.values.get("message", "")
        link = request.values.get("link") or None
        if not message.strip() and not link:
            raise GraphRefusal(400, 100, "(#100) Missing message or attachment.")
        post = Post(f"{page_id}_{self.next_id()}", message, self.clock.now(), link)
        with self._state:
            self.posts.append(post)
        return jsonify(id=post.id)


class InstagramStandIn(_MetaStandIn):
    """Instagram Login, one professional account, containers and publishing."""

    service = "instagram"
    network = "instagram"
    token_prefix = "IGAA"
    code_suffix = "#_"  # Instagram appends it to the redirect; the code ends before it
    PRESETS = {
        "expired_token": FacebookStandIn.PRESETS["expired_token"],
        "missing_permission": (
            403,
            10,
            None,
            "(#10) Application does not have permission for this action",
        ),
        "publishing_limit": (
            400,
            9,
            2207042,
            "You reached maximum number of posts that is allowed to be published by "
            "Content Publishing API.",
        ),
        "media_download_failed": (
            400,
            9004,
            2207052,
            "Media download has failed. The media URI doesn't meet our requirements.",
        ),
        "rate_limit": (400, 4, None, "(#4) Application request limit reached"),
    }

    def __init__(self) -> None:
        self.ig_user_id = str(17_841_400_000_000_000 + secrets.randbelow(10**9))
        self.app_scoped_id = str(10**15 + secrets.randbelow(9 * 10**15))
        self.username = "curso_lab"
        self.quota_total = QUOTA_TOTAL
        self.processing_reads = 1
        self.containers: dict[str, Container] = {}
        super().__init__()

    def overrides(self) -> dict[str, str]:
        return {
            "INSTAGRAM_APP_ID": self.app_id,
            "INSTAGRAM_APP_SECRET": self.app_secret,
            "INSTAGRAM_API_BASE": self.base_url,
            "INSTAGRAM_GRAPH_BASE": self.base_url,
        }

    def routes(self, app: Flask) -> None:
        self.route(app, "/oauth/authorize", self.authorize, ("GET", "POST"))
        app.add_url_rule("/oauth/access_token", "code", self.code_exchange, methods=["POST"])
        self.route(app, "/access_token", self.exchange)
        self.route(app, "/refresh_access_token", self.refresh)
        self.route(app, "/<version>/me", self.me)
        self.route(app, "/<version>/<ig_id>/content_publishing_limit", self.limit)
        self.route(app, "/<version>/<ig_id>/media", self.create_container, ("POST",))
        self.route(app, "/<version>/<ig_id>/media_publish", self.publish, ("POST",))
        self.route(app, "/<version>/<node_id>", self.node)

    def authorize(self):
        return self._consent("Iniciar sesión con Instagram", self.username, ",")

    def code_exchange(self):
        """api.instagram.com's own error shape: {"error_type", "code", "error_message"}."""
        form = request.form
        try:
            if form.get("client_id") != self.app_id:
                raise GraphRefusal(400, 400, "Invalid platform app")
            self._check_secret(form.get("client_secret"))
            if form.get("grant_type") != "authorization_code":
                raise GraphRefusal(400, 400, "Invalid grant_type")
            grant = self.redeem(form.get("code", ""), form.get("redirect_uri", ""))
        except GraphRefusal as refusal:
            message = refusal.message
            if refusal.subcode in (36007, 36008, 36009) and "redirect_uri" not in message:
                message = "Matching code was not found or was already used"
            return jsonify(error_type="OAuthException", code=400, error_message=message), 400
        token = self.issue("user", grant.scopes, SHORT_LIVED["instagram"])
        return jsonify(
            data=[
                {
                    "access_token": token,
                    "user_id": self.ig_user_id,
                    "permissions": ",".join(grant.scopes),
                }
            ]
        )

    def exchange(self):
        if request.args.get("grant_type") != "ig_exchange_token":
            raise GraphRefusal(400, 100, "Invalid grant_type, expected ig_exchange_token")
        self._check_secret(request.args.get("client_secret"))
        short = self.check_token(request.args.get("access_token", ""))
        if short.kind != "user":
            raise GraphRefusal(400, 100, "Only short-lived tokens can be exchanged.")
        token = self.issue("long", short.scopes, LONG_LIVED)
        return jsonify(access_token=token, token_type="bearer", expires_in=LONG_LIVED)

    def refresh(self):
        if request.args.get("grant_type") != "ig_refresh_token":
            raise GraphRefusal(400, 100, "Invalid grant_type, expected ig_refresh_token")
        old = request.args.get("access_token", "")
        issued = self.check_token(old)
        if issued.kind != "long":
            raise GraphRefusal(400, 100, "Only long-lived tokens can be refreshed.")
        if self.clock.now() - issued.issued_at < DAY:
            raise GraphRefusal(
                400, 100, "The access token can only be refreshed once it is 24 hours old."
            )
        token = self.issue("long", issued.scopes, LONG_LIVED)
        return jsonify(access_token=token, token_type="bearer", expires_in=LONG_LIVED)

    def me(self, version: str):
        self.check_token()
        return jsonify(id=self.app_scoped_id, user_id=self.ig_user_id, username=self.username)

    def _account(self, ig_id: str, *, publish: bool = False) -> Issued:
        issued = self.check_token()
        if ig_id not in (self.ig_user_id, "me"):
            raise GraphRefusal(
                400,
                100,
                f"Unsupported request. Object with ID '{ig_id}' does not exist, cannot be loaded "
                "due to missing permissions, or does not support this operation.",
                33,
            )
        needed = "instagram_business_content_publish" if publish else "instagram_business_basic"
        if needed not in issued.scopes:
            status, code, subcode, message = self.PRESETS["missing_permission"]
            raise GraphRefusal(status, code, message, subcode)
        return issued

    def quota_usage(self) -> int:
        since = self.clock.now() - DAY
        with self._state:
            return sum(1 for post in self.posts if post.at > since)

    def limit(self, version: str, ig_id: str):
        self._account(ig_id)
        config = {"quota_total": self.quota_total, "quota_duration": DAY}
        return jsonify(data=[{"quota_usage": self.quota_usage(), "config": config}])

    def create_container(self, version: str, ig_id: str):
        self._account(ig_id, publish=True)
        image_url = request.values.get("image_url", "")
        if not image_url:
            raise GraphRefusal(400, 100, "(#100) The parameter image_url is required.")
        caption = request.values.get("caption", "")
        if len(caption) > 2200:
            raise GraphRefusal(400, 100, "(#100) The caption is too long (max 2200 characters).")
        container = Container(self.next_id(), self.ig_user_id, image_url, caption, self.clock.now())
        with self._state:
            self.containers[container.id] = container
        return jsonify(id=container.id)

    def _read_container(self, container: Container) -> None:
        """A status read: IN_PROGRESS for `processing_reads` reads, then the outcome."""
        if container.status_code != "IN_PROGRESS":
            return
        container.reads += 1
        if container.reads <= self.processing_reads:
            return
        if private_url_problem(container.image_url):
            container.status_code = "ERROR"
            container.status = "Error: Media download has failed. (2207052)"
        else:
            container.status_code = "FINISHED"
            container.status = "Finished: Media has been uploaded and it is ready to be published."

    def publish(self, version: str, ig_id: str):
        self._account(ig_id, publish=True)
        with self._state:
            container = self.containers.get(request.values.get("creation_id", ""))
            if container is None:
                raise GraphRefusal(400, 100, "(#100) The parameter creation_id is required.")
            if self.clock.now() - container.created_at >= DAY:
                container.status_code = "EXPIRED"
            if container.status_code == "PUBLISHED":
                raise GraphRefusal(400, 9007, "Media ID is not available", 2207027)
            if container.status_code != "FINISHED":
                raise GraphRefusal(
                    400,
                    9007,
                    "The media is not ready for publishing, please wait for a moment",
                    2207027,
                )
            if self.quota_usage() >= self.quota_total:
                status, code, subcode, message = self.PRESETS["publishing_limit"]
                raise GraphRefusal(status, code, message, subcode, is_transient=False)
            media_id = self.next_id()
            container.status_code, container.media_id = "PUBLISHED", media_id
            self.posts.append(
                Post(media_id, container.caption, self.clock.now(), container.image_url)
            )
        return jsonify(id=media_id)

    def node(self, version: str, node_id: str):
        self.check_token()
        with self._state:
            container = self.containers.get(node_id)
            if container is not None:
                self._read_container(container)
                return jsonify(
                    id=container.id, status_code=container.status_code, status=container.status
                )
            post = next((p for p in self.posts if p.id == node_id), None)
        if post is None:
            raise GraphRefusal(
                400,
                100,
                f"Unsupported get request. Object with ID '{node_id}' does not exist.",
                33,
            )
        return jsonify(
            id=post.id,
            caption=post.text,
            media_type="IMAGE",
            permalink=f"https://www.instagram.com/p/{post.id[-11:]}/",
            timestamp=datetime.fromtimestamp(post.at, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        )
