"""Facebook Login and Instagram Login as OAuth providers of the kit's core (docs/oauth.md).

- Facebook Login: the dialog at `{FACEBOOK_OAUTH_BASE}/{version}/dialog/oauth`, the code
  exchanged at `{GRAPH_API_BASE}/{version}/oauth/access_token` (two hosts: the provider's
  `token_base_setting`). `finish` swaps the short-lived user token for a 60-day one and stores
  the token of each Page from `/me/accounts`: a Page token obtained from a long-lived user
  token does not expire, and it is the one that publishes.
  https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
  https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
  https://developers.facebook.com/docs/pages-api/getting-started
- Instagram Login: `{INSTAGRAM_API_BASE}/oauth/authorize` and `/oauth/access_token`, whose
  answer is `{"data": [{"access_token", "user_id", "permissions"}]}` (unwrapped by the
  compliance fix below). The 1-hour token is exchanged at once for a 60-day one, which
  `publishers.instagram_connection` refreshes once it is 24 h old.
  https://developers.facebook.com/docs/instagram-platform/reference/oauth-authorize
  https://developers.facebook.com/documentation/instagram-platform/reference/access_token
"""

from __future__ import annotations

import json
from typing import Any

from ..oauth.errors import ProviderError
from ..oauth.providers import Connection, Grant, Provider
from .client import FACEBOOK_SCOPES, INSTAGRAM_SCOPES, FacebookClient, InstagramClient
from .errors import MetaError, as_oauth_error


def graph_token_response(session: Any) -> None:
    """Authlib compliance fix: read Meta's token answers as RFC 6749 ones.

    - Instagram wraps the token: `{"data": [{"access_token", "user_id", "permissions"}]}`;
      its `permissions` become `scope`.
    - Errors come as Graph's `{"error": {"message", "code", ...}}` or api.instagram.com's
      `{"error_type", "code", "error_message"}`: they become `error` + `error_description`,
      which Authlib raises (the callback then answers its 400 page).
    - No `token_type`: Meta's tokens are bearer tokens.
    """

    def fix(response: Any) -> Any:
        try:
            body = response.json()
        except ValueError:
            return response
        if not isinstance(body, dict):
            body = {}
        data = body.get("data")
        if isinstance(data, list) and data and isinstance(data[0], dict):
            body = dict(data[0])
        error = body.get("error")
        if isinstance(error, dict):
            body = {
                "error": str(error.get("code") or error.get("type") or "graph_error"),
                "error_description": str(error.get("message") or ""),
            }
        elif "error_message" in body:
            body = {
                "error": str(body.get("error_type") or body.get("code") or "oauth_error"),
                "error_description": str(body["error_message"]),
            }
        elif not isinstance(body.get("access_token"), str) or not body["access_token"]:
            body = {"error": "invalid_response", "error_description": "no access_token"}
        else:
            body.setdefault("token_type", "bearer")
            permissions = body.get("permissions")
            if permissions and "scope" not in body:
                body["scope"] = permissions
        response._content = json.dumps(body).encode()
        return response

    session.register_compliance_hook("access_token_response", fix)


def finish_facebook(grant: Grant) -> list[Connection]:
    """A 60-day user token, then one connection per Page with the Page's own token."""
    client = FacebookClient(grant.settings)
    try:
        user_token = client.long_lived_user_token(grant.access_token)
        pages = client.pages(user_token.access_token)
    except MetaError as exc:
        raise as_oauth_error(exc) from None
    pages = [p for p in pages if p.get("id") and p.get("access_token")]
    if not pages:
        raise ProviderError(
            "Facebook no devolvió ninguna página para publicar: al autorizar, elige al menos "
            "una página que administres y acepta pages_show_list. Si no tienes una, créala en "
            "Facebook y vuelve a /oauth/facebook/start."
        )
    return [
        grant.connection(
            page["id"],
            str(page.get("name") or page["id"]),
            access_token=str(page["access_token"]),
            refresh_token=None,
            expires_at=None,  # a Page token from a long-lived user token does not expire
            extra={
                "category": page.get("category"),
                "tasks": list(page.get("tasks") or []),
                "user_token_expires_at": (
                    grant.expires_at(user_token.expires_in).isoformat()
                    if user_token.expires_in
                    else None
                ),
            },
        )
        for page in pages
    ]


def finish_instagram(grant: Grant) -> list[Connection]:
    """The 1-hour token exchanged at once for a 60-day one; the account from `/me`."""
    client = InstagramClient(grant.settings)
    try:
        long_lived = client.long_lived_token(grant.access_token)
        account = client.me(long_lived.access_token)
    except MetaError as exc:
        raise as_oauth_error(exc) from None
    user_id = str(account.get("user_id") or grant.token.get("user_id") or "")
    if not user_id:
        raise ProviderError("Instagram respondió /me sin user_id: vuelve a intentarlo.")
    return [
        grant.connection(
            user_id,
            str(account.get("username") or user_id),
            access_token=long_lived.access_token,
            refresh_token=None,
            expires_at=grant.expires_at(long_lived.expires_in),
            extra={"username": account.get("username")},
        )
    ]


FACEBOOK = Provider(
    name="facebook",
    display_name="Facebook",
    base_setting="FACEBOOK_OAUTH_BASE",
    token_base_setting="GRAPH_API_BASE",
    authorize_path="/{graph_api_version}/dialog/oauth",
    token_path="/{graph_api_version}/oauth/access_token",
    scopes=FACEBOOK_SCOPES,
    client_id_setting="META_APP_ID",
    client_secret_setting="META_APP_SECRET",
    finish=finish_facebook,
    scope_separator=",",
    token_auth_method="client_secret_post",
    compliance_fix=graph_token_response,
    docs_url="https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow",
)

INSTAGRAM = Provider(
    name="instagram",
    display_name="Instagram",
    base_setting="INSTAGRAM_API_BASE",
    authorize_path="/oauth/authorize",
    token_path="/oauth/access_token",
    scopes=INSTAGRAM_SCOPES,
    client_id_setting="INSTAGRAM_APP_ID",
    client_secret_setting="INSTAGRAM_APP_SECRET",
    finish=finish_instagram,
    scope_separator=",",
    token_auth_method="client_secret_post",
    compliance_fix=graph_token_response,
    docs_url="https://developers.facebook.com/docs/instagram-platform/reference/oauth-authorize",
)
