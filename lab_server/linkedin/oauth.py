"""LinkedIn as an OAuth provider: Sign In with LinkedIn using OpenID Connect + Share.

Scopes `openid profile email` (r_liteprofile and r_emailaddress were retired on
2023-08-01) and `w_member_social` to post. Authorize at `/oauth/v2/authorization`, token at
`/oauth/v2/accessToken` with client_id and client_secret in the form; the id_token is
checked against the JWKS of `/oauth/.well-known/openid-configuration`. Tokens last 60 days
and ordinary apps get no refresh token: the member authorizes again.
https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow
https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2
https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens
"""

from __future__ import annotations

from ..oauth.errors import ProviderError
from ..oauth.providers import Connection, Grant, Provider
from .client import LinkedInClient


def finish(grant: Grant) -> list[Connection]:
    """The member from /v2/userinfo, which must be the id_token's subject."""
    info = LinkedInClient(grant.settings, grant.access_token).userinfo()
    claims = grant.token.get("userinfo") or {}
    if claims and claims.get("sub") != info["sub"]:
        raise ProviderError(
            "El id_token y /v2/userinfo hablan de personas distintas: no se guardó nada. "
            "Empieza de nuevo desde /oauth/linkedin/start."
        )
    sub = str(info["sub"])
    name = info.get("name") or " ".join(
        filter(None, (info.get("given_name"), info.get("family_name")))
    )
    return [
        grant.connection(
            sub,
            name or info.get("email") or sub,
            extra={"author": f"urn:li:person:{sub}", "email": info.get("email")},
        )
    ]


PROVIDER = Provider(
    name="linkedin",
    display_name="LinkedIn",
    base_setting="LINKEDIN_OAUTH_BASE",
    authorize_path="/oauth/v2/authorization",
    token_path="/oauth/v2/accessToken",
    discovery_path="/oauth/.well-known/openid-configuration",
    scopes=("openid", "profile", "email", "w_member_social"),
    client_id_setting="LINKEDIN_CLIENT_ID",
    client_secret_setting="LINKEDIN_CLIENT_SECRET",
    finish=finish,
    token_auth_method="client_secret_post",
    docs_url="https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow",
)
