"""OAuth 2.0 connections shared by every social network (see docs/oauth.md).

from lab_server.oauth import Provider, register, TokenStore
register(Provider(...))                 # a service package's provider, from app.py
TokenStore.for_settings(settings).list()  # the connected accounts, tokens masked in repr
"""

from .errors import (
    ConsentDeniedError,
    DuplicatePostError,
    MissingScopeError,
    NotConnectedError,
    OAuthError,
    ProviderError,
    ProviderNotConfiguredError,
    PublishInputError,
    RedirectURIError,
    StateError,
    TokenDecryptError,
    TokenError,
    TokenExpiredError,
    UnknownProviderError,
)
from .providers import Connection, Grant, Provider, get, register, unregister
from .tokens import TokenStore

__all__ = [
    "ConsentDeniedError",
    "Connection",
    "DuplicatePostError",
    "Grant",
    "MissingScopeError",
    "NotConnectedError",
    "OAuthError",
    "Provider",
    "ProviderError",
    "ProviderNotConfiguredError",
    "PublishInputError",
    "RedirectURIError",
    "StateError",
    "TokenDecryptError",
    "TokenError",
    "TokenExpiredError",
    "TokenStore",
    "UnknownProviderError",
    "get",
    "register",
    "unregister",
]
