"""A local stand-in for TikTok: Login Kit v2 with PKCE, user info and the Content Posting API.

Built from TikTok's documentation and platform-facts.md §5:
- authorization page `GET /v2/auth/authorize/` (`client_key`, comma-separated `scope`,
  `response_type=code`, `redirect_uri`, `state`, `code_challenge`, `code_challenge_method`):
  a consent page; "Permitir" redirects with `code`, `scopes`, `state`, "Cancelar" with
  `error=access_denied`. Redirects must be https, or http on localhost/127.0.0.1 with a port
  (desktop apps). https://developers.tiktok.com/doc/login-kit-web ,
  https://developers.tiktok.com/doc/login-kit-desktop
- token `POST /v2/oauth/token/` (form `client_key`, `client_secret`, `code`, `grant_type`,
  `redirect_uri`, `code_verifier`; or `grant_type=refresh_token`): `open_id`, `scope`,
  `access_token` (2 h), `refresh_token` (180 days), `refresh_expires_in`, `token_type`.
  Refresh tokens ROTATE: a refresh returns a new one and the old one stops working. Errors
  are `{"error", "error_description", "log_id"}` in the body; the status is not to be
  trusted, so this stand-in answers them with 200.
  https://developers.tiktok.com/doc/oauth-user-access-token-management ,
  https://developers.tiktok.com/docs/en/oauth-refresh-a-user-access-token
- PKCE: the challenge is checked as `pkce_encoding` says: "hex" (hex SHA-256, what
  developers report real TikTok wants; the default), "base64url" (RFC 7636) or "either".
  A mismatch answers "Code verifier or code challenge is invalid."
- `GET /v2/user/info/?fields=...` https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info
- Content Posting: `creator_info/query/` (20/min per token), `video/init/` and
  `content/init/` (6 inits/min per token), `inbox/video/init/` (drafts), `PUT /video/?upload_id=`
  for the chunks (rules of the media transfer guide: 5-64 MB, last chunk up to 128 MB,
  `total_chunk_count = video_size // chunk_size`, 1-1000 chunks, sequential `Content-Range`),
  `status/fetch/` (30/min): PROCESSING_UPLOAD or PROCESSING_DOWNLOAD, then PUBLISH_COMPLETE
  (or SEND_TO_USER_INBOX for drafts, or FAILED on demand).
  https://developers.tiktok.com/doc/content-posting-api-reference-direct-post ,
  https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide ,
  https://developers.tiktok.com/doc/content-posting-api-reference-photo-post ,
  https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status
- `POST /v2/video/list/?fields=...` (scope `video.list`; body `max_count` 1-20, `cursor` in
  Unix milliseconds): the user's PUBLIC videos, newest first, with `cursor` and `has_more`.
  A `SELF_ONLY` post and a photo post are not in it.
  https://developers.tiktok.com/doc/tiktok-api-v2-video-list
- API errors: `{"data": {}, "error": {"code", "message", "log_id"}}`, `code` "ok" on success.
  https://developers.tiktok.com/doc/tiktok-api-v2-error-handling
- An unaudited app (`audited = False`, the default) may post only `SELF_ONLY`; anything else
  answers `unaudited_client_can_only_post_to_private_accounts`.
  https://developers.tiktok.com/doc/content-sharing-guidelines/

`advance()` moves the clock that ages tokens, codes and rate-limit windows; `fail_next()`
makes the next API call answer an error (with HTTP 200 if asked, as some TikTok errors come);
`fail_next_post()` makes the next post end FAILED. `demo()` connects the creator (every
scope, a 2-hour token and its refresh token) for a sandboxed lab; `demo(k)` another creator
per student k (`creators`), each with its own tokens, posts and rate limits. The consent page
logs in the default creator. Both hosts are this one server.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, jsonify, redirect, request

from .base import Demo, DemoAccount, PostingCounter, PostingLimit, Recorded, StandIn
from .oauth_pages import Clock, ConsentTickets, html_page, with_query

ACCESS_SECONDS = 2 * 3600
REFRESH_SECONDS = 180 * 24 * 3600
CODE_SECONDS = 10 * 60
KNOWN_SCOPES = (
    "user.info.basic",
    "user.info.profile",
    "user.info.stats",
    "video.list",
    "video.upload",
    "video.publish",
)
USER_FIELDS = ("open_id", "union_id", "avatar_url", "display_name")
PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")
MB = 1024 * 1024
MIN_CHUNK, MAX_CHUNK, MAX_LAST_CHUNK, MAX_CHUNKS = 5 * MB, 64 * MB, 128 * MB, 1000
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm")
RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
DIRECT_POST_DOC = "https://developers.tiktok.com/doc/content-posting-api-reference-direct-post"
STATUS_DOC = "https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status"
#: Requests per user access token per minute, as the API reference pages publish them.
LIMITS = {
    "init": PostingLimit(6, 60, "user access token", DIRECT_POST_DOC),
    "creator_info": PostingLimit(20, 60, "user access token", DIRECT_POST_DOC),
    "status": PostingLimit(30, 60, "user access token", STATUS_DOC),
}

#: TikTok error codes -> HTTP status (error handling page and the Direct Post reference)
ERRORS: dict[str, tuple[int, str]] = {
    "access_token_invalid": (
        401,
        "The access token is invalid or not found in the request.",
    ),
    "scope_not_authorized": (
        401,
        "The user did not authorize the scope required for completing this request.",
    ),
    "rate_limit_exceeded": (429, "The API rate limit was exceeded. Please try again later."),
    "invalid_params": (400, "One or more fields in request is invalid."),
    "invalid_file_upload": (400, "The uploaded file does not meet API specifications."),
    "privacy_level_option_mismatch": (
        400,
        "privacy_level is not one of the privacy_level_options of creator_info.",
    ),
    "unaudited_client_can_only_post_to_private_accounts": (
        403,
        "Unaudited clients can only post to private accounts.",
    ),
    "url_ownership_unverified": (
        403,
        "Please review our URL ownership verification rules.",
    ),
    "spam_risk_too_many_posts": (403, "The daily post cap from the API is reached."),
    "spam_risk_user_banned_from_posting": (403, "The user is banned from making new posts."),
    "reached_active_user_cap": (403, "The daily quota of active publishing users is reached."),
    "internal_error": (500, "Something went wrong. Please try again later."),
}
FAIL_REASONS = (
    "file_format_check_failed",
    "duration_check_failed",
    "frame_rate_check_failed",
    "picture_size_check_failed",
    "internal",
    "video_pull_failed",
    "photo_pull_failed",
    "publish_cancelled",
    "auth_removed",
    "spam_risk_too_many_posts",
    "spam_risk_user_banned_from_posting",
    "spam_risk_text",
    "spam_risk",
)


def log_id() -> str:
    return time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(10).upper()


@dataclass
class Creator:
    """The TikTok user who "logs in" to the stand-in."""

    open_id: str = "-000kitOpenId7Q2x"
    union_id: str = "c9c60f44-a68e-4f5d-84dd-ce22faeb0ba1"
    username: str = "ana.estudiante"
    nickname: str = "Ana Estudiante"
    privacy_level_options: tuple[str, ...] = (
        "FOLLOWER_OF_CREATOR",
        "MUTUAL_FOLLOW_FRIENDS",
        "SELF_ONLY",
    )
    max_video_post_duration_sec: int = 300

    @classmethod
    def student(cls, number: int) -> Creator:
        """Student `number`'s creator: the same ids each time, distinct from everyone else's."""
        return cls(
            open_id=f"-000kitStudent{number:04d}",
            union_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-tiktok-student-{number}")),
            username=f"estudiante.{number}",
            nickname=f"Estudiante {number}",
        )


@dataclass
class Grant:
    scopes: tuple[str, ...]
    redirect_uri: str
    challenge: str | None
    issued: float
    open_id: str
    used: bool = False


@dataclass
class Token:
    """An access or refresh token: what it allows, until when, and whose it is."""

    scopes: tuple[str, ...]
    expires: float
    open_id: str


@dataclass
class Publish:
    """One post in progress, as status/fetch reports it."""

    publish_id: str
    kind: str  # "video" | "photo"
    source: str  # FILE_UPLOAD | PULL_FROM_URL
    token: str
    open_id: str
    body: dict[str, Any]
    inbox: bool = False
    video_size: int = 0
    chunk_size: int = 0
    total_chunk_count: int = 0
    upload_id: str = ""
    next_byte: int = 0
    ranges: list[str] = field(default_factory=list)
    polls: int = 0
    fail_reason: str | None = None
    post_id: str | None = None
    created: float = 0.0

    @property
    def uploaded(self) -> bool:
        return self.source != "FILE_UPLOAD" or self.next_byte == self.video_size


class TikTokStandIn(StandIn):
    service = "tiktok"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.client_key = "sbx" + secrets.token_hex(8)
        self.client_secret = "sandbox-secret-" + secrets.token_urlsafe(16)
        #: the creator of student 0, who also logs in through the consent page
        self.creator = Creator()
        #: every creator by open_id; `demo(k)` adds student k's
        self.creators: dict[str, Creator] = {self.creator.open_id: self.creator}
        #: "hex" (what TikTok reportedly checks), "base64url" (RFC 7636) or "either"
        self.pkce_encoding = "hex"
        self.audited = False
        #: domains (and their subdomains) verified for PULL_FROM_URL in the developer portal
        self.verified_domains: set[str] = {"example.com"}
        #: status fetches that still answer PROCESSING_* once the media is in
        self.processing_polls = 1
        self.clock = Clock(clock)
        self.consents = ConsentTickets("/v2/auth/authorize/decision")
        self.codes: dict[str, Grant] = {}
        self.tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, Token] = {}
        self.publishes: dict[str, Publish] = {}
        self._uploads: dict[str, str] = {}  # upload_id -> publish_id
        #: calls per token in a sliding minute, per bucket; inits are the posting limit
        self._buckets = {
            name: PostingCounter(limit, clock=self.now) for name, limit in LIMITS.items()
        }
        self.posting = self._buckets["init"]
        self._failures: list[tuple[str, int | None]] = []
        self._post_failures: list[str] = []
        self._ids = itertools.count(7_300_000_000_000_000_001)
        super().__init__()

    # -- what tests and notebooks use ----------------------------------------------------

    def now(self) -> float:
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Move the stand-in's clock: tokens, codes and rate-limit windows age by it."""
        self.clock.advance(seconds)

    def fail_next(self, code: str, http_status: int | None = None) -> None:
        """The next API call answers TikTok error `code` (see ERRORS); `http_status=200`
        sends it inside a 200 answer, as some TikTok errors arrive."""
        if code not in ERRORS:
            raise ValueError(f"error desconocido {code!r}; usa uno de {', '.join(ERRORS)}")
        self._failures.append((code, http_status))

    def fail_next_post(self, reason: str = "file_format_check_failed") -> None:
        """The next post accepted ends FAILED with `fail_reason` = `reason`."""
        if reason not in FAIL_REASONS:
            raise ValueError(f"motivo desconocido {reason!r}; usa uno de {', '.join(FAIL_REASONS)}")
        self._post_failures.append(reason)

    def creator_for(self, student: int) -> Creator:
        """Student `student`'s creator (0: the default one), registered on first use."""
        if student == 0:
            return self.creator
        creator = Creator.student(student)
        return self.creators.setdefault(creator.open_id, creator)

    def demo(self, student: int = 0) -> Demo:
        """The student's creator connected with every scope, as after «Permitir» and the
        token exchange: a 2-hour access token and the refresh token that renews it."""
        from datetime import UTC, datetime

        creator = self.creator_for(student)
        access, refresh = self._new_tokens(KNOWN_SCOPES, creator.open_id)
        refresh_until = datetime.fromtimestamp(self.now() + REFRESH_SECONDS, UTC)
        account = DemoAccount(
            "tiktok",
            creator.open_id,
            creator.nickname,
            access,
            KNOWN_SCOPES,
            ACCESS_SECONDS,
            {"refresh_expires_at": refresh_until.isoformat()},
            refresh_token=refresh,
        )
        return Demo(accounts=(account,))

    def overrides(self) -> dict[str, str]:
        return {
            "TIKTOK_CLIENT_KEY": self.client_key,
            "TIKTOK_CLIENT_SECRET": self.client_secret,
            "TIKTOK_OAUTH_BASE": self.base_url,
            "TIKTOK_API_BASE": self.base_url,
        }

    def routes(self, app: Flask) -> None:
        app.get("/v2/auth/authorize/")(self._authorize)
        app.post("/v2/auth/authorize/decision")(self._decide)
        app.post("/v2/oauth/token/")(self._token)
        app.get("/v2/user/info/")(self._user_info)
        app.post("/v2/post/publish/creator_info/query/")(self._creator_info)
        app.post("/v2/post/publish/video/init/")(self._video_init)
        app.post("/v2/post/publish/inbox/video/init/")(self._inbox_init)
        app.post("/v2/post/publish/content/init/")(self._content_init)
        app.put("/video/")(self._upload_chunk)
        app.post("/v2/post/publish/status/fetch/")(self._status)
        app.post("/v2/video/list/")(self._video_list)

    def _record(self) -> None:
        """Chunks are megabytes: record their headers, not their bytes."""
        if request.path != "/video/":
            return super()._record()
        with self._lock:
            self.received.append(
                Recorded(
                    "PUT",
                    request.path,
                    dict(request.headers),
                    request.args.to_dict(),
                    {},
                    None,
                    b"",
                )
            )

    # -- answers ---------------------------------------------------------------------------

    @staticmethod
    def _ok(data: dict[str, Any], status: int = 200):
        return jsonify(data=data, error={"code": "ok", "message": "", "log_id": log_id()}), status

    @staticmethod
    def _error(code: str, message: str | None = None, status: int | None = None):
        default_status, default_message = ERRORS[code]
        body = {
            "data": {},
            "error": {"code": code, "message": message or default_message, "log_id": log_id()},
        }
        return jsonify(body), default_status if status is None else status

    @staticmethod
    def _oauth_error(error: str, description: str):
        return jsonify(error=error, error_description=description, log_id=log_id()), 200

    # -- OAuth -----------------------------------------------------------------------------

    @staticmethod
    def _redirect_allowed(uri: str) -> bool:
        try:
            parts = urlsplit(uri)
            port = parts.port
        except ValueError:
            return False
        if parts.fragment or parts.query or len(uri) >= 512 or not parts.hostname:
            return False
        if parts.scheme == "https":
            return True
        return (
            parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1") and bool(port)
        )

    def _authorize(self):
        q = request.args
        if q.get("client_key") != self.client_key:
            return html_page("Error", "<p>client_key: invalid or missing.</p>", 400)
        redirect_uri = q.get("redirect_uri", "")
        if not self._redirect_allowed(redirect_uri):
            return html_page(
                "Error",
                "<p>redirect_uri: invalid (https, or http on localhost with a port).</p>",
                400,
            )
        state = q.get("state", "")

        def back(**params: str):
            return redirect(with_query(redirect_uri, {**params, "state": state}))

        if q.get("response_type") != "code":
            return back(error="invalid_request", error_description="response_type must be code")
        scopes = tuple(s for s in q.get("scope", "").split(",") if s)
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if not scopes or unknown:
            return back(
                error="invalid_scope", error_description=f"Scope not allowed: {','.join(unknown)}"
            )
        challenge = q.get("code_challenge") or ""
        if challenge and q.get("code_challenge_method") != "S256":
            return back(
                error="invalid_request", error_description="code_challenge_method must be S256"
            )
        return self.consents.page(
            "TikTok (sandbox): autorizar app",
            app=self.client_key,
            account=f"@{self.creator.username}",
            scopes=scopes,
            redirect_uri=redirect_uri,
            state=state,
            scope=",".join(scopes),
            challenge=challenge,
        )

    def _decide(self):
        pending, allowed = self.consents.decision()
        if pending is None:
            return self.consents.expired()
        target, state = pending["redirect_uri"], pending["state"]
        if not allowed:
            params = {
                "error": "access_denied",
                "error_description": "The user denied the request",
                "state": state,
            }
            return redirect(with_query(target, params))
        code = secrets.token_urlsafe(32)
        self.codes[code] = Grant(
            tuple(pending["scope"].split(",")),
            target,
            pending["challenge"] or None,
            self.now(),
            self.creator.open_id,
        )
        return redirect(
            with_query(target, {"code": code, "scopes": pending["scope"], "state": state})
        )

    def _challenge_matches(self, challenge: str, verifier: str) -> bool:
        digest = hashlib.sha256(verifier.encode()).digest()
        accepted = {
            "hex": {digest.hex()},
            "base64url": {base64.urlsafe_b64encode(digest).rstrip(b"=").decode()},
        }
        if self.pkce_encoding == "either":
            return challenge in accepted["hex"] | accepted["base64url"]
        return challenge in accepted[self.pkce_encoding]

    def _new_tokens(self, scopes: tuple[str, ...], open_id: str) -> tuple[str, str]:
        access, refresh = "act." + secrets.token_urlsafe(40), "rft." + secrets.token_urlsafe(40)
        now = self.now()
        self.tokens[access] = Token(scopes, now + ACCESS_SECONDS, open_id)
        self.refresh_tokens[refresh] = Token(scopes, now + REFRESH_SECONDS, open_id)
        return access, refresh

    def _issue(self, scopes: tuple[str, ...], open_id: str):
        access, refresh = self._new_tokens(scopes, open_id)
        return jsonify(
            open_id=open_id,
            scope=",".join(scopes),
            access_token=access,
            expires_in=ACCESS_SECONDS,
            refresh_token=refresh,
            refresh_expires_in=REFRESH_SECONDS,
            token_type="Bearer",
        )

    def _token(self):
        form = request.form
        if (
            form.get("client_key") != self.client_key
            or form.get("client_secret") != self.client_secret
        ):
            return self._oauth_error("invalid_client", "Client key or secret is incorrect.")
        grant_type = form.get("grant_type")
        if grant_type == "refresh_token":
            entry = self.refresh_tokens.pop(form.get("refresh_token", ""), None)  # rotation
            if entry is None or entry.expires <= self.now():
                return self._oauth_error("invalid_grant", "Refresh token is invalid or expired.")
            return self._issue(entry.scopes, entry.open_id)
        if grant_type != "authorization_code":
            return self._oauth_error("unsupported_grant_type", "grant_type is not supported.")
        grant = self.codes.get(form.get("code", ""))
        if grant is None or grant.used or self.now() - grant.issued > CODE_SECONDS:
            return self._oauth_error("invalid_grant", "Authorization code is expired.")
        if grant.redirect_uri != form.get("redirect_uri"):
            return self._oauth_error(
                "invalid_grant", "redirect_uri does not match the authorization request."
            )
        if grant.challenge and not self._challenge_matches(
            grant.challenge, form.get("code_verifier", "")
        ):
            return self._oauth_error("invalid_grant", "Code verifier or code challenge is invalid.")
        grant.used = True
        return self._issue(grant.scopes, grant.open_id)

    # -- API ---------------------------------------------------------------------------------

    def _bearer(self, *needs: str) -> tuple[str, Token] | tuple:
        """The request's valid token (with one of the scopes `needs`), or TikTok's error."""
        if self._failures:
            code, status = self._failures.pop(0)
            return self._error(code, status=status)
        header = request.headers.get("Authorization", "")
        key = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        token = self.tokens.get(key)
        if token is None or token.expires <= self.now():
            return self._error("access_token_invalid")
        if not set(needs) & set(token.scopes):
            return self._error(
                "scope_not_authorized", f"The user did not authorize the scope {needs[0]}."
            )
        return key, token

    def _limited(self, key: str, bucket: str):
        """TikTok's rate-limit answer when this token used up `bucket` in the last minute;
        otherwise the call is counted."""
        counter = self._buckets[bucket]
        if counter.take(key):
            return self._error(
                "rate_limit_exceeded",
                f"Rate limit of {counter.limit.calls} requests per minute exceeded for this "
                "access token.",
            )
        return None

    def _json(self) -> dict[str, Any] | None:
        body = request.get_json(silent=True)
        return body if isinstance(body, dict) else None

    def _user_info(self):
        auth = self._bearer("user.info.basic")
        if not isinstance(auth[1], Token):
            return auth
        fields = [f for f in request.args.get("fields", "").split(",") if f]
        unknown = [f for f in fields if f not in USER_FIELDS]
        if not fields or unknown:
            return self._error("invalid_params", f"Invalid fields: {','.join(unknown) or '(none)'}")
        creator = self.creators[auth[1].open_id]
        user = {
            "open_id": creator.open_id,
            "union_id": creator.union_id,
            "avatar_url": "https://p16-sign.tiktokcdn-us.com/sandbox/avatar.jpeg",
            "display_name": creator.nickname,
        }
        return self._ok({"user": {f: user[f] for f in fields}})

    def _creator_info(self):
        auth = self._bearer("video.publish")
        if not isinstance(auth[1], Token):
            return auth
        limited = self._limited(auth[0], "creator_info")
        if limited:
            return limited
        c = self.creators[auth[1].open_id]
        return self._ok(
            {
                "creator_avatar_url": "https://p16-sign.tiktokcdn-us.com/sandbox/avatar.jpeg",
                "creator_username": c.username,
                "creator_nickname": c.nickname,
                "privacy_level_options": list(c.privacy_level_options),
                "comment_disabled": False,
                "duet_disabled": False,
                "stitch_disabled": True,
                "max_video_post_duration_sec": c.max_video_post_duration_sec,
            }
        )

    def _verified(self, url: Any) -> bool:
        try:
            parts = urlsplit(url) if isinstance(url, str) else None
        except ValueError:
            return False
        host = (parts.hostname or "") if parts else ""
        return bool(parts and parts.scheme == "https") and any(
            host == d or host.endswith("." + d) for d in self.verified_domains
        )

    def _check_post_info(
        self, info: Any, max_title: int, inbox: bool, creator: Creator
    ) -> tuple | None:
        if inbox:
            return None
        if not isinstance(info, dict):
            return self._error("invalid_params", "post_info is required.")
        title = info.get("title", "")
        if not isinstance(title, str) or len(title.encode("utf-16-le")) // 2 > max_title:
            return self._error(
                "invalid_params", f"title must be a string of at most {max_title} characters."
            )
        privacy = info.get("privacy_level")
        if privacy not in PRIVACY_LEVELS:
            return self._error("invalid_params", "privacy_level is required.")
        if not self.audited and privacy != "SELF_ONLY":
            return self._error("unaudited_client_can_only_post_to_private_accounts")
        if privacy not in creator.privacy_level_options:
            return self._error("privacy_level_option_mismatch")
        return None

    @staticmethod
    def _chunk_problem(size: Any, chunk: Any, count: Any) -> str | None:
        """The media transfer guide's rules for video_size, chunk_size, total_chunk_count."""
        if not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (size, chunk, count)
        ):
            return "video_size, chunk_size and total_chunk_count must be positive integers."
        if size < MIN_CHUNK:
            if chunk != size or count != 1:
                return (
                    "Videos under 5 MB must be uploaded whole: chunk_size = video_size, "
                    "total_chunk_count = 1."
                )
            return None
        if not MIN_CHUNK <= chunk <= MAX_CHUNK:
            return "chunk_size must be between 5 MB and 64 MB."
        if chunk > size:
            return "chunk_size cannot exceed video_size."
        if count != size // chunk:
            return f"total_chunk_count must be video_size // chunk_size = {size // chunk}."
        if not 1 <= count <= MAX_CHUNKS:
            return "total_chunk_count must be between 1 and 1000."
        if count == 1 and size > MAX_CHUNK:
            return "Videos over 64 MB must be uploaded in multiple chunks."
        if size - (count - 1) * chunk > MAX_LAST_CHUNK:
            return "The final chunk can be at most 128 MB."
        return None

    def _new_publish(
        self, kind: str, source: str, auth: tuple[str, Token], body: dict, inbox: bool = False
    ) -> Publish:
        prefix = {
            "video": "v_pub_file" if source == "FILE_UPLOAD" else "v_pub_url",
            "photo": "p_pub_url",
        }[kind]
        if inbox:
            prefix = "v_inbox_file" if source == "FILE_UPLOAD" else "v_inbox_url"
        publish_id = f"{prefix}~v2-1.{next(self._ids)}"
        item = Publish(publish_id, kind, source, auth[0], auth[1].open_id, body, inbox=inbox)
        item.created = self.now()
        if self._post_failures:
            item.fail_reason = self._post_failures.pop(0)
        return item

    def _video_init(self, inbox: bool = False):
        auth = self._bearer("video.upload" if inbox else "video.publish")
        if not isinstance(auth[1], Token):
            return auth
        limited = self._limited(auth[0], "init")
        if limited:
            return limited
        body = self._json()
        if body is None:
            return self._error("invalid_params", "The request body must be JSON.")
        creator = self.creators[auth[1].open_id]
        problem = self._check_post_info(body.get("post_info"), 2200, inbox, creator)
        if problem:
            return problem
        source = body.get("source_info")
        if not isinstance(source, dict) or source.get("source") not in (
            "FILE_UPLOAD",
            "PULL_FROM_URL",
        ):
            return self._error(
                "invalid_params", "source_info.source must be FILE_UPLOAD or PULL_FROM_URL."
            )
        if source["source"] == "PULL_FROM_URL":
            if not self._verified(source.get("video_url")):
                return self._error("url_ownership_unverified")
            item = self._new_publish("video", "PULL_FROM_URL", auth, body, inbox)
            self.publishes[item.publish_id] = item
            return self._ok({"publish_id": item.publish_id})
        size, chunk, count = (
            source.get(k) for k in ("video_size", "chunk_size", "total_chunk_count")
        )
        problem = self._chunk_problem(size, chunk, count)
        if problem:
            return self._error("invalid_params", problem)
        item = self._new_publish("video", "FILE_UPLOAD", auth, body, inbox)
        item.video_size, item.chunk_size, item.total_chunk_count = size, chunk, count
        item.upload_id = secrets.token_hex(8)
        self._uploads[item.upload_id] = item.publish_id
        self.publishes[item.publish_id] = item
        token = secrets.token_urlsafe(12)
        query = urlencode({"upload_id": item.upload_id, "upload_token": token})
        upload_url = f"{self.base_url}/video/?{query}"
        return self._ok({"publish_id": item.publish_id, "upload_url": upload_url})

    def _inbox_init(self):
        return self._video_init(inbox=True)

    def _content_init(self):
        auth = self._bearer("video.publish")
        if not isinstance(auth[1], Token):
            return auth
        limited = self._limited(auth[0], "init")
        if limited:
            return limited
        body = self._json()
        if (
            body is None
            or body.get("media_type") != "PHOTO"
            or body.get("post_mode") != "DIRECT_POST"
        ):
            return self._error(
                "invalid_params", "media_type must be PHOTO and post_mode DIRECT_POST."
            )
        info = body.get("post_info")
        problem = self._check_post_info(info, 90, False, self.creators[auth[1].open_id])
        if problem:
            return problem
        description = info.get("description", "")
        if not isinstance(description, str) or len(description) > 4000:
            return self._error("invalid_params", "description must be at most 4000 characters.")
        source = body.get("source_info")
        images = source.get("photo_images") if isinstance(source, dict) else None
        if (
            source is None
            or source.get("source") != "PULL_FROM_URL"
            or not isinstance(images, list)
            or not 1 <= len(images) <= 35
        ):
            return self._error(
                "invalid_params", "source_info needs source PULL_FROM_URL and 1 to 35 photo_images."
            )
        cover = source.get("photo_cover_index", 0)
        if not isinstance(cover, int) or not 0 <= cover < len(images):
            return self._error("invalid_params", "photo_cover_index is out of range.")
        if not all(self._verified(u) for u in images):
            return self._error("url_ownership_unverified")
        item = self._new_publish("photo", "PULL_FROM_URL", auth, body)
        self.publishes[item.publish_id] = item
        return self._ok({"publish_id": item.publish_id})

    def _upload_chunk(self):
        """One PUT of a FILE_UPLOAD, checked against the init's plan: type, range, order."""
        item = self.publishes.get(self._uploads.get(request.args.get("upload_id", ""), ""))
        if item is None:
            return self._error("invalid_params", "upload_id not found or expired.", 404)
        if request.headers.get("Content-Type", "").split(";")[0].strip() not in VIDEO_TYPES:
            return self._error(
                "invalid_file_upload",
                "Content-Type must be video/mp4, video/quicktime or video/webm.",
            )
        match = RANGE.match(request.headers.get("Content-Range", ""))
        if not match:
            return self._error(
                "invalid_file_upload", "Content-Range must be 'bytes FIRST-LAST/TOTAL'."
            )
        first, last, total = map(int, match.groups())
        if item.next_byte == item.video_size:
            return self._error("invalid_file_upload", "All chunks were already uploaded.")
        if total != item.video_size:
            return self._error(
                "invalid_file_upload",
                f"TOTAL in Content-Range must be video_size {item.video_size}.",
            )
        if first != item.next_byte:
            return self._error(
                "invalid_file_upload",
                f"Chunks must be sequential: expected FIRST {item.next_byte}, got {first}.",
            )
        index = first // item.chunk_size
        is_last = index == item.total_chunk_count - 1
        expected = item.video_size - first if is_last else item.chunk_size
        if last != first + expected - 1:
            return self._error(
                "invalid_file_upload",
                f"Chunk {index + 1} must end at byte {first + expected - 1}, not {last}.",
            )
        data = request.get_data(cache=False)
        if len(data) != expected:
            return self._error(
                "invalid_file_upload",
                f"Chunk {index + 1} carries {len(data)} bytes; Content-Range says {expected}.",
            )
        item.next_byte = last + 1
        item.ranges.append(request.headers["Content-Range"])
        return "", 201 if is_last else 206

    def _status(self):
        auth = self._bearer("video.publish", "video.upload")  # drafts have only video.upload
        if not isinstance(auth[1], Token):
            return auth
        limited = self._limited(auth[0], "status")
        if limited:
            return limited
        body = self._json() or {}
        item = self.publishes.get(str(body.get("publish_id", "")))
        if item is None or item.open_id != auth[1].open_id:  # any token of the same user
            return self._error(
                "invalid_params", "publish_id does not exist or does not belong to this user."
            )
        data: dict[str, Any] = {
            "fail_reason": "",
            "publicaly_available_post_id": [],
            "uploaded_bytes": item.next_byte,
        }
        if not item.uploaded:
            return self._ok({**data, "status": "PROCESSING_UPLOAD"})
        item.polls += 1
        if item.polls <= self.processing_polls:
            status = "PROCESSING_UPLOAD" if item.source == "FILE_UPLOAD" else "PROCESSING_DOWNLOAD"
            return self._ok({**data, "status": status})
        if item.fail_reason:
            return self._ok({**data, "status": "FAILED", "fail_reason": item.fail_reason})
        if item.inbox:
            return self._ok({**data, "status": "SEND_TO_USER_INBOX"})
        if item.post_id is None:
            item.post_id = str(next(self._ids))
        public = item.body.get("post_info", {}).get("privacy_level") != "SELF_ONLY"
        return self._ok(
            {
                **data,
                "status": "PUBLISH_COMPLETE",
                "publicaly_available_post_id": [item.post_id] if public else [],
            }
        )

    def _video_list(self):
        """The user's public videos that finished publishing, newest first, a page at a time."""
        auth = self._bearer("video.list")
        if not isinstance(auth[1], Token):
            return auth
        body = self._json() or {}
        creator = self.creators[auth[1].open_id]
        count, cursor = body.get("max_count", 10), body.get("cursor")
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 20:
            return self._error("invalid_params", "max_count must be an integer from 1 to 20.")
        if cursor is not None and (not isinstance(cursor, int) or isinstance(cursor, bool)):
            return self._error("invalid_params", "cursor must be a Unix time in milliseconds.")
        public = sorted(
            (
                p
                for p in self.publishes.values()
                if p.kind == "video"
                and p.open_id == creator.open_id
                and p.post_id
                and not p.inbox
                and p.body.get("post_info", {}).get("privacy_level") != "SELF_ONLY"
                and (cursor is None or p.created * 1000 < cursor)
            ),
            key=lambda p: p.created,
            reverse=True,
        )
        page = public[:count]
        fields = set(request.args.get("fields", "id").split(","))
        videos = [
            {
                k: v
                for k, v in {
                    "id": p.post_id,
                    "title": p.body.get("post_info", {}).get("title", ""),
                    "create_time": int(p.created),
                    "share_url": f"https://www.tiktok.com/@{creator.username}/video/{p.post_id}",
                }.items()
                if k in fields
            }
            for p in page
        ]
        next_cursor = int(page[-1].created * 1000) if page else (cursor or 0)
        return self._ok({"videos": videos, "cursor": next_cursor, "has_more": len(public) > count})
