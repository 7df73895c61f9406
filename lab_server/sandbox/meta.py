"""Local stand-ins for Meta: Facebook Login + Pages, and Instagram Login + content publishing.

Built from Meta's documentation (platform-facts.md §6):
- Facebook Login dialog `GET {FACEBOOK_OAUTH_BASE}/{version}/dialog/oauth` and the code and
  long-lived exchanges at `{GRAPH_API_BASE}/{version}/oauth/access_token`
  (https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow,
  https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived);
  `/me/accounts` with Page tokens and `POST /{page-id}/feed`
  (https://developers.facebook.com/docs/pages-api/getting-started, .../pages-api/posts);
  `GET /{page-id}/feed` lists the Page's posts newest first (`id`, `message`,
  `created_time`; `limit`, `since`) (https://developers.facebook.com/docs/graph-api/reference/page/feed/).
- Instagram Login `GET {INSTAGRAM_API_BASE}/oauth/authorize`, `POST /oauth/access_token`
  (https://developers.facebook.com/docs/instagram-platform/reference/oauth-authorize); the
  60-day exchange and refresh on INSTAGRAM_GRAPH_BASE
  (https://developers.facebook.com/documentation/instagram-platform/reference/access_token);
  containers, `media_publish` and `content_publishing_limit`
  (https://developers.facebook.com/docs/instagram-platform/content-publishing/);
  `GET /{ig-user-id}/media` lists the account's media newest first (`id`, `caption`,
  `timestamp`, `permalink`; `limit`)
  (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media).
- Errors are Graph's `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`
  (https://developers.facebook.com/docs/graph-api/guides/error-handling/), with Instagram's
  publishing codes (.../instagram-graph-api/reference/error-codes). api.instagram.com's token
  endpoint answers errors as `{"error_type", "code", "error_message"}`, as developers report it.

`demo()` connects the person's Page (Facebook) and the professional account (Instagram) as
if the login had been done, so a sandboxed lab publishes with no set-up step. `demo(k)` gives
student k their own person and Page (Facebook) or professional account (Instagram): each token
speaks for its own account only, and the login dialog always signs in student 0.

Posting limits (`posting`): Instagram counts API-published posts per IG user id against 50 per
moving 24 h (`INSTAGRAM_POSTING_LIMIT`); Meta publishes no per-Page posting limit for Facebook
(only call-based rate limits, `rate_limit` below), so `FacebookStandIn.posting` is None.

Deliberate differences: the consent pages have no real login (one person, already signed in);
a container does not download its image (nothing here reaches the internet): it ends in ERROR
when `image_url` could not be fetched by Meta (not https, localhost, a private address), else
FINISHED after `processing_reads` status reads. The Page Publishing Authorization error's
exact wording is not documented; the stand-in uses code 200 with subcode 1404078, as
third-party error maps report it. Time comes from `clock`, which tests move forward.
"""

from __future__ import annotations

import dataclasses
import hmac
import itertools
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import Flask, Response, jsonify, redirect, request

from ..urls import private_url_problem
from .base import Demo, DemoAccount, PostingCounter, PostingLimit, StandIn
from .oauth_pages import DAY, Clock, consent_form, html_page, with_query

LONG_LIVED = 60 * DAY  # both long-lived tokens
SHORT_LIVED = {"facebook": 2 * 3600, "instagram": 3600}
CODE_LIFETIME = 600
#: API-published posts per IG user per moving 24 h. Sources disagree (platform-facts §6): the
#: content publishing guide (2025) says 100, the media_publish reference (2025-01-21) and
#: content_publishing_limit ("currently 50") say 50, older pages 25. The stand-in uses 50, as
#: the kit's policy (`pipeline/policy.py`) does.
INSTAGRAM_POSTING_LIMIT = PostingLimit(
    50,
    float(DAY),
    "IG user id",
    "https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/"
    "reference/ig-user/media_publish",
)
FACEBOOK_VERSIONED = "/<version>/"
#: Largest page a list edge answers (Graph's `limit`), and its default.
LIST_MAX, LIST_DEFAULT = 100, 25
FACEBOOK_SCOPES = ("pages_show_list", "pages_read_engagement", "pages_manage_posts")
INSTAGRAM_SCOPES = ("instagram_business_basic", "instagram_business_content_publish")


def graph_time(seconds: float) -> str:
    """Graph's timestamp format: `2026-11-28T10:00:00+0000`."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def list_limit() -> int:
    """The request's `limit` (1..LIST_MAX), or Graph's code 100 for a bad one."""
    raw = request.args.get("limit", str(LIST_DEFAULT))
    if not raw.isdigit() or not 1 <= int(raw) <= LIST_MAX:
        raise GraphRefusal(400, 100, f"(#100) The parameter limit must be 1..{LIST_MAX}.")
    return int(raw)


@dataclass(frozen=True)
class FacebookAccount:
    """A person and the one Page they manage (student 0: Ana Estudiante's course Page)."""

    user_id: str
    user_name: str
    page_id: str
    page_name: str


@dataclass(frozen=True)
class InstagramAccount:
    """A professional account: `ig_user_id` publishes, `app_scoped_id` is what /me calls `id`."""

    ig_user_id: str
    app_scoped_id: str
    username: str


Account = FacebookAccount | InstagramAccount


@dataclass
class Grant:
    """An authorization code waiting to be exchanged."""

    code: str
    redirect_uri: str
    scopes: tuple[str, ...]
    expires_at: float
    account: Account
    used: bool = False


@dataclass
class Issued:
    """A token the stand-in handed out, and the account it speaks for."""

    kind: str  # "user" (short), "long", "page"
    scopes: tuple[str, ...]
    issued_at: float
    expires_at: float | None
    account: Account
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
    #: the Page id (Facebook) or IG user id (Instagram) it was published on
    account: str = ""


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
        #: student number -> their account (0: the person the login dialog signs in)
        self.students: dict[int, Account] = {}
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

    def account_of(self, student: int) -> Account:
        """Student `student`'s account, created the first time."""
        with self._state:
            if student not in self.students:
                self.students[student] = self.new_account(student)
            return self.students[student]

    def new_account(self, student: int) -> Account:
        raise NotImplementedError

    def advance(self, seconds: float) -> None:
        """Move the stand-in's clock (tokens, codes, containers and posting windows)."""
        self.clock.advance(seconds)

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

    def issue(
        self,
        kind: str,
        scopes: tuple[str, ...],
        lifetime: float | None,
        account: Account,
        page_id: str | None = None,
    ) -> str:
        token = self.token_prefix + secrets.token_urlsafe(32)
        now = self.clock.now()
        expires = None if lifetime is None else now + lifetime
        with self._state:
            self.tokens[token] = Issued(kind, scopes, now, expires, account, page_id)
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
            form = consent_form(
                app="App del curso", account=account, scopes=scopes, field="decision", deny="deny"
            )
            return html_page(title, form)
        state = {"state": args["state"]} if "state" in args else {}
        if request.form.get("decision") != "allow":
            denied = {
                "error": "access_denied",
                "error_reason": "user_denied",
                "error_description": "Permissions error.",
                **state,
            }
            return redirect(with_query(redirect_uri, denied), 302)
        code = secrets.token_urlsafe(48)
        with self._state:
            self.grants[code] = Grant(
                code, redirect_uri, scopes, self.clock.now() + CODE_LIFETIME, self.account_of(0)
            )
        return redirect(with_query(redirect_uri, {"code": code, **state}) + self.code_suffix, 302)

    code_suffix = ""

    @staticmethod
    def _consent_problem(text: str):
        return html_page("Error", f"<p>{escape(text)}</p>", 400)

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
    """Facebook Login, one person with one Page per student, and each Page's feed.

    `posting` stays None: Meta publishes no per-Page posting limit, only call-based rate
    limits (https://developers.facebook.com/docs/graph-api/overview/rate-limiting/)."""

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

    def new_account(self, student: int) -> FacebookAccount:
        def graph_id() -> str:
            return str(10**14 + secrets.randbelow(9 * 10**14))

        if student == 0:
            return FacebookAccount(graph_id(), "Ana Estudiante", graph_id(), "Página del curso")
        name = f"Estudiante {student}"
        return FacebookAccount(graph_id(), name, graph_id(), f"Página de {name}")

    # student 0's person and Page, as tests and notebooks name them
    user_id = property(lambda self: self.account_of(0).user_id)
    user_name = property(lambda self: self.account_of(0).user_name)
    page_id = property(lambda self: self.account_of(0).page_id)
    page_name = property(lambda self: self.account_of(0).page_name)

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
        self.route(app, "/<version>/<page_id>/feed", self.page_posts)

    def demo(self, student: int = 0) -> Demo:
        """Student `student`'s Page connected as `/me/accounts` would hand it over: a Page
        token from a long-lived user token (it does not expire) with the publishing scopes."""
        owner = self.account_of(student)
        token = self.issue("page", FACEBOOK_SCOPES, None, owner, owner.page_id)
        account = DemoAccount(
            "facebook",
            owner.page_id,
            owner.page_name,
            token,
            FACEBOOK_SCOPES,
            extra={"category": "Education", "tasks": ["CREATE_CONTENT", "MANAGE"]},
        )
        return Demo(accounts=(account,))

    def dialog(self, version: str):
        return self._consent("Iniciar sesión con Facebook", self.user_name, ",")

    @staticmethod
    def _owner(account: Account) -> FacebookAccount:
        assert isinstance(account, FacebookAccount)
        return account

    def access_token(self, version: str):
        params = request.values
        if params.get("client_id") != self.app_id:
            raise GraphRefusal(400, 101, "Error validating application. Invalid application ID.")
        self._check_secret(params.get("client_secret"))
        if params.get("grant_type") == "fb_exchange_token":
            short = self.check_token(params.get("fb_exchange_token", ""))
            token = self.issue("long", short.scopes, LONG_LIVED, short.account)
            return jsonify(access_token=token, token_type="bearer", expires_in=LONG_LIVED)
        grant = self.redeem(params.get("code", ""), params.get("redirect_uri", ""))
        lifetime = SHORT_LIVED["facebook"]
        token = self.issue("user", grant.scopes, lifetime, grant.account)
        return jsonify(access_token=token, token_type="bearer", expires_in=lifetime)

    def me(self, version: str):
        """The person; with a Page token, the Page (as Graph answers /me for Page tokens)."""
        issued = self.check_token()
        owner = self._owner(issued.account)
        if issued.kind == "page":
            return jsonify(id=owner.page_id, name=owner.page_name)
        return jsonify(id=owner.user_id, name=owner.user_name)

    def accounts(self, version: str):
        issued = self.check_token()
        if issued.kind == "page":
            raise GraphRefusal(400, 100, "(#100) Tried accessing nonexisting field (accounts)")
        owner = self._owner(issued.account)
        data = []
        if "pages_show_list" in issued.scopes:
            # A Page token from a long-lived user token does not expire.
            lifetime = None if issued.kind == "long" else SHORT_LIVED["facebook"]
            page_token = self.issue("page", issued.scopes, lifetime, owner, owner.page_id)
            data.append(
                {
                    "id": owner.page_id,
                    "name": owner.page_name,
                    "category": "Education",
                    "access_token": page_token,
                    "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
                }
            )
        return jsonify(data=data, paging={"cursors": {"before": "QVFIU", "after": "QVFIU"}})

    def _page_token(self, page_id: str) -> Issued:
        """The request's token if it may publish on `page_id`. A Page its person does not
        manage (another student's) is refused like one that does not exist (code 100/33)."""
        issued = self.check_token()
        if page_id != self._owner(issued.account).page_id:
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
        return issued

    def page_posts(self, version: str, page_id: str):
        """`GET /{page-id}/feed`: the Page's posts, newest first; `since` (Unix time) filters."""
        self._page_token(page_id)
        limit, since = list_limit(), request.args.get("since", "")
        if since and not since.lstrip("-").isdigit():
            raise GraphRefusal(400, 100, "(#100) The parameter since must be a Unix timestamp.")
        with self._state:
            posts = [
                p
                for p in reversed(self.posts)
                if p.account == page_id and (not since or p.at >= int(since))
            ]
        data = [
            {"id": p.id, "message": p.text, "created_time": graph_time(p.at)} for p in posts[:limit]
        ]
        return jsonify(data=data, paging={"cursors": {"before": "QVFIU", "after": "QVFIU"}})

    def feed(self, version: str, page_id: str):
        self._page_token(page_id)
        message = request.values.get("message", "")
        link = request.values.get("link") or None
        if not message.strip() and not link:
            raise GraphRefusal(400, 100, "(#100) Missing message or attachment.")
        post = Post(f"{page_id}_{self.next_id()}", message, self.clock.now(), link, account=page_id)
        with self._state:
            self.posts.append(post)
        return jsonify(id=post.id)


class InstagramStandIn(_MetaStandIn):
    """Instagram Login, one professional account per student, containers and publishing
    (at most `quota_total` posts per account per moving 24 h, counted in `posting`)."""

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
        # code 9 / subcode 2207042 as third-party error maps report it; Meta's error-code page
        # does not list it, so the wording is the one developers quote, not a documented one
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

    posting: PostingCounter  # set in __init__: never None here

    def __init__(self) -> None:
        self.processing_reads = 1
        self.containers: dict[str, Container] = {}
        super().__init__()
        #: posts per IG user id, by the stand-in's clock
        self.posting = PostingCounter(INSTAGRAM_POSTING_LIMIT, self.clock.now)

    def new_account(self, student: int) -> InstagramAccount:
        return InstagramAccount(
            str(17_841_400_000_000_000 + secrets.randbelow(10**9)),
            str(10**15 + secrets.randbelow(9 * 10**15)),
            "curso_lab" if student == 0 else f"estudiante_{student}",
        )

    # student 0's account, as tests and notebooks name it
    ig_user_id = property(lambda self: self.account_of(0).ig_user_id)
    app_scoped_id = property(lambda self: self.account_of(0).app_scoped_id)
    username = property(lambda self: self.account_of(0).username)

    @property
    def quota_total(self) -> int:
        """Posts allowed per account per 24 h; a notebook lowers it to show the code 9 error."""
        return self.posting.limit.calls

    @quota_total.setter
    def quota_total(self, calls: int) -> None:
        self.posting.limit = dataclasses.replace(self.posting.limit, calls=calls)

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
        self.route(app, "/<version>/<ig_id>/media", self.media)
        self.route(app, "/<version>/<ig_id>/media_publish", self.publish, ("POST",))
        self.route(app, "/<version>/<node_id>", self.node)

    def demo(self, student: int = 0) -> Demo:
        """Student `student`'s professional account connected with a 60-day token, as after
        the login."""
        owner = self.account_of(student)
        token = self.issue("long", INSTAGRAM_SCOPES, LONG_LIVED, owner)
        account = DemoAccount(
            "instagram",
            owner.ig_user_id,
            owner.username,
            token,
            INSTAGRAM_SCOPES,
            LONG_LIVED,
            {"username": owner.username},
        )
        return Demo(accounts=(account,))

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
        token = self.issue("user", grant.scopes, SHORT_LIVED["instagram"], grant.account)
        return jsonify(
            data=[
                {
                    "access_token": token,
                    "user_id": self._owner(grant.account).ig_user_id,
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
        token = self.issue("long", short.scopes, LONG_LIVED, short.account)
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
        token = self.issue("long", issued.scopes, LONG_LIVED, issued.account)
        return jsonify(access_token=token, token_type="bearer", expires_in=LONG_LIVED)

    @staticmethod
    def _owner(account: Account) -> InstagramAccount:
        assert isinstance(account, InstagramAccount)
        return account

    def me(self, version: str):
        owner = self._owner(self.check_token().account)
        return jsonify(id=owner.app_scoped_id, user_id=owner.ig_user_id, username=owner.username)

    @staticmethod
    def _not_found(object_id: str) -> GraphRefusal:
        """Graph's answer for an object the token may not see (another student's account,
        container or media) as much as for one that does not exist."""
        return GraphRefusal(
            400,
            100,
            f"Unsupported request. Object with ID '{object_id}' does not exist, cannot be loaded "
            "due to missing permissions, or does not support this operation.",
            33,
        )

    def _account(self, ig_id: str, *, publish: bool = False) -> InstagramAccount:
        """The token's account if it is `ig_id` (or "me") and has the scope needed."""
        issued = self.check_token()
        owner = self._owner(issued.account)
        if ig_id not in (owner.ig_user_id, "me"):
            raise self._not_found(ig_id)
        needed = "instagram_business_content_publish" if publish else "instagram_business_basic"
        if needed not in issued.scopes:
            status, code, subcode, message = self.PRESETS["missing_permission"]
            raise GraphRefusal(status, code, message, subcode)
        return owner

    def quota_usage(self, ig_user_id: str | None = None) -> int:
        """Posts published by `ig_user_id` (default: student 0's) in the last 24 hours."""
        return self.posting.used(ig_user_id or self.ig_user_id)

    def limit(self, version: str, ig_id: str):
        """`content_publishing_limit`, from the same count that refuses the 51st post."""
        owner = self._account(ig_id)
        config = {"quota_total": self.quota_total, "quota_duration": DAY}
        usage = self.quota_usage(owner.ig_user_id)
        return jsonify(data=[{"quota_usage": usage, "config": config}])

    def _media_item(self, post: Post) -> dict[str, str]:
        return {
            "id": post.id,
            "caption": post.text,
            "media_type": "IMAGE",
            "permalink": f"https://www.instagram.com/p/{post.id[-11:]}/",
            "timestamp": graph_time(post.at),
        }

    def media(self, version: str, ig_id: str):
        """`GET /{ig-user-id}/media`: the account's published media, newest first."""
        owner = self._account(ig_id)
        limit = list_limit()
        with self._state:
            mine = [p for p in reversed(self.posts) if p.account == owner.ig_user_id]
            items = [self._media_item(p) for p in mine[:limit]]
        return jsonify(data=items, paging={"cursors": {"before": "QVFIU", "after": "QVFIU"}})

    def create_container(self, version: str, ig_id: str):
        owner = self._account(ig_id, publish=True)
        image_url = request.values.get("image_url", "")
        if not image_url:
            raise GraphRefusal(400, 100, "(#100) The parameter image_url is required.")
        caption = request.values.get("caption", "")
        if len(caption) > 2200:
            raise GraphRefusal(400, 100, "(#100) The caption is too long (max 2200 characters).")
        container = Container(
            self.next_id(), owner.ig_user_id, image_url, caption, self.clock.now()
        )
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
        """`media_publish`: counted per IG user id; over the limit, code 9 and nothing is
        published (media_publish reference, "Limitations")."""
        owner = self._account(ig_id, publish=True)
        creation_id = request.values.get("creation_id", "")
        if not creation_id:
            raise GraphRefusal(400, 100, "(#100) The parameter creation_id is required.")
        with self._state:
            container = self.containers.get(creation_id)
            if container is None or container.owner != owner.ig_user_id:
                raise self._not_found(creation_id)
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
            if self.posting.full(owner.ig_user_id):
                status, code, subcode, message = self.PRESETS["publishing_limit"]
                raise GraphRefusal(status, code, message, subcode, is_transient=False)
            media_id = self.next_id()
            container.status_code, container.media_id = "PUBLISHED", media_id
            self.posts.append(
                Post(
                    media_id,
                    container.caption,
                    self.clock.now(),
                    container.image_url,
                    account=owner.ig_user_id,
                )
            )
            self.posting.record(owner.ig_user_id)
        return jsonify(id=media_id)

    def node(self, version: str, node_id: str):
        """A container's status or a media object, if it belongs to the token's account."""
        mine = self._owner(self.check_token().account).ig_user_id
        with self._state:
            container = self.containers.get(node_id)
            if container is not None and container.owner == mine:
                self._read_container(container)
                return jsonify(
                    id=container.id, status_code=container.status_code, status=container.status
                )
            post = next((p for p in self.posts if p.id == node_id and p.account == mine), None)
        if post is None:
            raise self._not_found(node_id)
        return jsonify(self._media_item(post))
