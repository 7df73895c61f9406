"""A local stand-in for LinkedIn: OAuth 2.0 + OpenID Connect, /v2/userinfo and the Posts API.

Built from LinkedIn's documentation and platform-facts.md §4:
- authorization page `GET /oauth/v2/authorization` (response_type=code, client_id,
  redirect_uri, state, space-separated scope): a consent page a person clicks (or a test
  submits: the form posts to `/oauth/v2/authorization/decision`); "Permitir" redirects to
  `redirect_uri?code=...&state=...`, "Cancelar" to `?error=user_cancelled_authorize`;
  an unknown scope (r_liteprofile, retired 2023-08-01) to `?error=unauthorized_scope_error`.
  https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow
- token `POST /oauth/v2/accessToken` (form: grant_type, code, redirect_uri, client_id,
  client_secret): `access_token`, `expires_in` (60 days), comma-separated `scope` and, when
  `openid` was asked, an RS256 `id_token`; codes live 30 minutes and work once.
- discovery `GET /oauth/.well-known/openid-configuration` and its JWKS
  `GET /oauth/openid/jwks`; `GET /v2/userinfo`.
  https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2
- `POST /rest/posts` with `LinkedIn-Version` and `X-Restli-Protocol-Version: 2.0.0`: 201
  and the post URN in `x-restli-id`; the same commentary twice → 422 duplicate.
  https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api
- errors are `{"status", "serviceErrorCode", "code", "message"}`
  (https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling).
- at most 150 posts per member per day (`POSTING_LIMIT`): the 151st answers 429 "Resource
  level throttle limit ..." and creates nothing.

`demo(student)` connects one member per student (0: Ana Estudiante; k: "Estudiante k"), each
with their own `sub`, token and posting count; the consent page always signs in member 0.

Tokens expire by `clock` (seconds; `advance()` moves it), and `fail_next()` makes the next
API call answer an error (expired token, missing scope, duplicate), for the notebooks.
Both hosts (www.linkedin.com and api.linkedin.com) are this one server.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, jsonify, redirect, request

from .base import Demo, DemoAccount, PostingCounter, PostingLimit, StandIn
from .oauth_pages import Clock, ConsentTickets, html_page, with_query

TOKEN_SECONDS = 60 * 24 * 3600  # 60 days
CODE_SECONDS = 30 * 60
ID_TOKEN_SECONDS = 3600
KNOWN_SCOPES = ("openid", "profile", "email", "w_member_social")
VERSION_PATTERN = re.compile(r"^20\d{2}(0[1-9]|1[0-2])(\.\d{2})?$")
MAX_COMMENTARY = 3000
#: Member posts per member per day. LinkedIn's rate-limit page says limits are per member per
#: application per day (reset at midnight UTC) and that numbers are shown in the Developer
#: Portal, not published; 150 per member per day is the Share on LinkedIn figure social
#: schedulers (Ayrshare) and the kit's policy (`pipeline/policy.py`) use. The stand-in counts
#: a moving 24 h window, which is stricter than a midnight reset.
POSTING_LIMIT = PostingLimit(
    150,
    86400.0,
    "member (urn:li:person:{sub})",
    "https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits",
)

#: Errors `fail_next` can produce: (status, serviceErrorCode, code, message).
ERRORS = {
    "expired_token": (
        401,
        65601,
        "EXPIRED_ACCESS_TOKEN",
        "The token used in the request has expired",
    ),
    "invalid_token": (401, 65600, "INVALID_ACCESS_TOKEN", "Invalid access token"),
    "missing_scope": (
        403,
        100,
        "ACCESS_DENIED",
        "Not enough permissions to access: partnerApiPostsExternal.CREATE.20260101",
    ),
    "duplicate": (422, 0, "DUPLICATE_POST", "Content is a duplicate of {urn}"),
    # the 429 wording of https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling
    # (its serviceErrorCode is not documented)
    "throttled": (
        429,
        0,
        "TOO_MANY_REQUESTS",
        "Resource level throttle limit for calls to this resource is reached.",
    ),
}


@dataclass(frozen=True)
class Member:
    """A LinkedIn member: the person who "logs in" to the stand-in (the defaults), or
    another student's demo account."""

    sub: str = "kitMember7Q2x"
    given_name: str = "Ana"
    family_name: str = "Estudiante"
    email: str = "ana.estudiante@example.com"

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def urn(self) -> str:
        """The author of the member's posts, and the key their posts are counted under."""
        return f"urn:li:person:{self.sub}"

    def claims(self) -> dict[str, Any]:
        return {
            "sub": self.sub,
            "name": self.name,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "picture": "https://media.licdn.com/dms/image/example/profile.jpg",
            "locale": {"country": "CL", "language": "es"},
            "email": self.email,
            "email_verified": True,
        }


@dataclass
class Grant:
    scopes: tuple[str, ...]
    redirect_uri: str
    nonce: str | None
    issued: float
    used: bool = False


@dataclass
class Token:
    scopes: tuple[str, ...]
    member: Member
    expires: float


@dataclass
class CreatedPost:
    urn: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class LinkedInStandIn(StandIn):
    service = "linkedin"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        from joserfc.jwk import RSAKey

        self.client_id = "sandbox" + secrets.token_hex(6)
        self.client_secret = "sandbox-secret-" + secrets.token_urlsafe(12)
        self.member = Member()
        #: student number -> their member (0: `member`), see `demo`
        self.members: dict[int, Member] = {0: self.member}
        self.clock = Clock(clock)
        self.posting = PostingCounter(POSTING_LIMIT, self.clock.now)
        self.key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig"})
        #: the key id_tokens are signed with; a test swaps it to see a forged token refused
        self.signing_key = self.key
        self.consents = ConsentTickets("/oauth/v2/authorization/decision")
        self.codes: dict[str, Grant] = {}
        self.tokens: dict[str, Token] = {}
        self.posts: list[CreatedPost] = []
        self._failures: list[str] = []
        self._ids = itertools.count(7_200_000_000_000_000_001)
        super().__init__()

    # -- what tests and notebooks use ----------------------------------------------------

    def now(self) -> float:
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Move the stand-in's clock: access tokens and codes expire by it (id_tokens, which
        the kit checks against its own clock, are still dated by the wall clock)."""
        self.clock.advance(seconds)

    def fail_next(self, kind: str) -> None:
        """The next /v2/userinfo or /rest/posts call answers error `kind` (see ERRORS)."""
        if kind not in ERRORS:
            raise ValueError(f"error desconocido {kind!r}; usa uno de {', '.join(ERRORS)}")
        self._failures.append(kind)

    def member_of(self, student: int) -> Member:
        """Student `student`'s member (0: Ana Estudiante), created the first time."""
        if student not in self.members:
            self.members[student] = Member(
                f"kitStudent{student:03d}",
                "Estudiante",
                str(student),
                f"estudiante{student}@example.com",
            )
        return self.members[student]

    def demo(self, student: int = 0) -> Demo:
        """Student `student`'s member, connected with every scope, as if they had clicked
        «Permitir»: the token speaks for that member only."""
        member = self.member_of(student)
        token = "AQV" + secrets.token_urlsafe(40)
        self.tokens[token] = Token(KNOWN_SCOPES, member, self.now() + TOKEN_SECONDS)
        account = DemoAccount(
            "linkedin",
            member.sub,
            member.name,
            token,
            KNOWN_SCOPES,
            TOKEN_SECONDS,
            {"author": member.urn, "email": member.email},
        )
        return Demo(accounts=(account,))

    def overrides(self) -> dict[str, str]:
        return {
            "LINKEDIN_CLIENT_ID": self.client_id,
            "LINKEDIN_CLIENT_SECRET": self.client_secret,
            "LINKEDIN_OAUTH_BASE": self.base_url,
            "LINKEDIN_API_BASE": self.base_url,
        }

    @property
    def issuer(self) -> str:
        return self.base_url + "/oauth"

    # -- HTTP ------------------------------------------------------------------------------

    def routes(self, app: Flask) -> None:
        app.get("/oauth/v2/authorization")(self._authorize)
        app.post("/oauth/v2/authorization/decision")(self._decide)
        app.post("/oauth/v2/accessToken")(self._token)
        app.get("/oauth/.well-known/openid-configuration")(self._discovery)
        app.get("/oauth/openid/jwks")(self._jwks)
        app.get("/v2/userinfo")(self._userinfo)
        app.get("/v2/me")(self._me)
        app.post("/rest/posts")(self._create_post)

    @staticmethod
    def _api_error(status: int, service_code: int, code: str, message: str):
        body = {
            "status": status,
            "serviceErrorCode": service_code,
            "code": code,
            "message": message,
        }
        return jsonify(body), status

    @staticmethod
    def _oauth_error(error: str, description: str, status: int = 400):
        return jsonify(error=error, error_description=description), status

    def _authorize(self):
        q = request.args
        if q.get("client_id") != self.client_id:
            return html_page("Error", "<p>The passed in client_id is invalid.</p>", 400)
        redirect_uri = q.get("redirect_uri", "")
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or "#" in redirect_uri:
            return html_page(
                "Error", "<p>The redirect_uri does not match the registered value.</p>", 400
            )
        state = q.get("state", "")

        def back(**params: str):
            return redirect(with_query(redirect_uri, params))

        if q.get("response_type") != "code":
            return back(
                error="invalid_request", error_description="response_type must be code", state=state
            )
        scopes = tuple(q.get("scope", "").split())
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if not scopes or unknown:
            return back(
                error="unauthorized_scope_error",
                error_description=f'Scope "{(unknown or [""])[0]}" is not authorized for '
                "your application",
                state=state,
            )
        return self.consents.page(
            "LinkedIn (sandbox): autorizar app",
            app=self.client_id,
            account=f"de {self.member.name}",
            scopes=scopes,
            redirect_uri=redirect_uri,
            state=state,
            scope=" ".join(scopes),
            nonce=q.get("nonce", ""),
        )

    def _decide(self):
        pending, allowed = self.consents.decision()
        if pending is None:
            return self.consents.expired()
        target = pending["redirect_uri"]
        if not allowed:
            params = {
                "error": "user_cancelled_authorize",
                "error_description": "The user cancelled the authorization",
                "state": pending["state"],
            }
            return redirect(with_query(target, params))
        code = secrets.token_urlsafe(32)
        self.codes[code] = Grant(
            scopes=tuple(pending["scope"].split()),
            redirect_uri=target,
            nonce=pending["nonce"] or None,
            issued=self.now(),
        )
        return redirect(with_query(target, {"code": code, "state": pending["state"]}))

    def _token(self):
        form = request.form
        if form.get("grant_type") != "authorization_code":
            return self._oauth_error(
                "unsupported_grant_type", "grant_type must be authorization_code"
            )
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return self._oauth_error("invalid_client", "Client authentication failed", 401)
        grant = self.codes.get(form.get("code", ""))
        if (
            grant is None
            or grant.used
            or grant.redirect_uri != form.get("redirect_uri")
            or self.now() - grant.issued > CODE_SECONDS
        ):
            return self._oauth_error(
                "invalid_request",
                "Unable to retrieve access token: appid/redirect uri/code verifier does not "
                "match authorization code. Or authorization code expired. Or external member "
                "binding exists",
            )
        grant.used = True
        token = secrets.token_urlsafe(48)
        now = self.now()
        self.tokens[token] = Token(grant.scopes, self.member, now + TOKEN_SECONDS)
        body: dict[str, Any] = {
            "access_token": token,
            "expires_in": TOKEN_SECONDS - 1,
            "scope": ",".join(sorted(grant.scopes)),
            "token_type": "Bearer",
        }
        if "openid" in grant.scopes:
            # signed by the wall clock: `advance` ages tokens, the relying party's clock stays
            body["id_token"] = self._id_token(grant, self.clock.source())
        return jsonify(body)

    def _id_token(self, grant: Grant, now: float) -> str:
        from joserfc import jwt

        claims = {
            "iss": self.issuer,
            "aud": self.client_id,
            "iat": int(now),
            "exp": int(now) + ID_TOKEN_SECONDS,
            **{k: v for k, v in self.member.claims().items() if k != "locale"},
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        key = self.signing_key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    def _discovery(self):
        return jsonify(
            issuer=self.issuer,
            authorization_endpoint=self.base_url + "/oauth/v2/authorization",
            token_endpoint=self.base_url + "/oauth/v2/accessToken",
            userinfo_endpoint=self.base_url + "/v2/userinfo",
            jwks_uri=self.base_url + "/oauth/openid/jwks",
            response_types_supported=["code"],
            subject_types_supported=["pairwise"],
            id_token_signing_alg_values_supported=["RS256"],
            scopes_supported=["openid", "profile", "email"],
            claims_supported=[
                "iss", "aud", "iat", "exp", "sub", "name", "given_name", "family_name",
                "picture", "email", "email_verified", "locale",
            ],
        )  # fmt: skip

    def _jwks(self):
        return jsonify(keys=[self.key.as_dict(private=False)])

    def _bearer(self) -> Token | tuple:
        """The valid token of this request, or LinkedIn's 401 answer."""
        if self._failures and self._failures[0] in ("expired_token", "invalid_token"):
            return self._api_error(*ERRORS[self._failures.pop(0)])
        header = request.headers.get("Authorization", "")
        token = (
            self.tokens.get(header.removeprefix("Bearer "))
            if header.startswith("Bearer ")
            else None
        )
        if token is None:
            return self._api_error(*ERRORS["invalid_token"])
        if token.expires <= self.now():
            return self._api_error(*ERRORS["expired_token"])
        return token

    def _userinfo(self):
        token = self._bearer()
        if not isinstance(token, Token):
            return token
        if "openid" not in token.scopes:
            return self._api_error(
                403,
                100,
                "ACCESS_DENIED",
                "Not enough permissions to access: userinfo.GET.NO_VERSION",
            )
        claims = token.member.claims()
        if "email" not in token.scopes:
            claims.pop("email"), claims.pop("email_verified")
        return jsonify(claims)

    def _me(self):
        """OpenID-only apps get 403 on /v2/me: the most searched error of the module."""
        token = self._bearer()
        if not isinstance(token, Token):
            return token
        return self._api_error(
            403, 100, "ACCESS_DENIED", "Not enough permissions to access: me.GET.NO_VERSION"
        )

    def _create_post(self):
        token = self._bearer()
        if not isinstance(token, Token):
            return token
        if self._failures:
            kind = self._failures.pop(0)
            status, service_code, code, message = ERRORS[kind]
            urn = self.posts[-1].urn if self.posts else "urn:li:share:7200000000000000000"
            return self._api_error(status, service_code, code, message.format(urn=urn))
        version = request.headers.get("LinkedIn-Version", "")
        if not version:
            return self._api_error(
                400,
                0,
                "VERSION_MISSING",
                "A version must be present. Please specify a version by adding the "
                "LinkedIn-Version header.",
            )
        if not VERSION_PATTERN.match(version):
            return self._api_error(
                426, 0, "NONEXISTENT_VERSION", f"Requested version {version} is not active"
            )
        if request.headers.get("X-Restli-Protocol-Version") != "2.0.0":
            return self._api_error(
                400, 0, "PROTOCOL_VERSION", "X-Restli-Protocol-Version must be 2.0.0"
            )
        if "w_member_social" not in token.scopes:
            return self._api_error(*ERRORS["missing_scope"])
        # The member limit counts the member whose token is used (rate-limits page above).
        if self.posting.full(token.member.urn):
            return self._api_error(*ERRORS["throttled"])
        body = request.get_json(silent=True)
        problem = self._check_post(body, token)
        if problem:
            return self._api_error(422, 0, "UNPROCESSABLE_ENTITY", problem)
        for post in self.posts:
            if (
                post.body["author"] == body["author"]
                and post.body["commentary"] == body["commentary"]
            ):
                return self._api_error(
                    422, 0, "DUPLICATE_POST", f"Content is a duplicate of {post.urn}"
                )
        urn = f"urn:li:share:{next(self._ids)}"
        self.posts.append(CreatedPost(urn, body, dict(request.headers)))
        self.posting.record(token.member.urn)
        return "", 201, {"x-restli-id": urn}

    @staticmethod
    def _check_post(body: Any, token: Token) -> str | None:
        """The Posts API's required fields (platform-facts.md §4)."""
        if not isinstance(body, dict):
            return "ERROR :: / :: the request body must be a JSON object"
        if body.get("author") != token.member.urn:
            return f"ERROR :: /author :: must be {token.member.urn} for this token"
        text = body.get("commentary")
        if not isinstance(text, str) or len(text) > MAX_COMMENTARY:
            return f"ERROR :: /commentary :: must be text of at most {MAX_COMMENTARY} characters"
        if body.get("visibility") not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN"):
            return "ERROR :: /visibility :: must be PUBLIC, CONNECTIONS or LOGGED_IN"
        distribution = body.get("distribution")
        if not isinstance(distribution, dict) or distribution.get("feedDistribution") not in (
            "MAIN_FEED",
            "NONE",
        ):
            return "ERROR :: /distribution/feedDistribution :: field is required"
        if body.get("lifecycleState") != "PUBLISHED":
            return "ERROR :: /lifecycleState :: must be PUBLISHED"
        return None
