"""The kit's keys: one root secret, one derived key per purpose.

The root secret is `LAB_SECRET_KEY` or, when it is not set, a random key generated once in
`LAB_DATA_DIR/secret.key` (file mode 0600). HKDF derives from it the Fernet key that
encrypts stored tokens and the key that signs the browser's session cookie, so one leaked
derived key does not reveal the other.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..config import Settings
from ..secret_files import keep_secret

log = logging.getLogger(__name__)

KEY_FILE = "secret.key"


def key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def root_secret(settings: Settings) -> bytes:
    """LAB_SECRET_KEY, else the generated key file (created on first use, mode 0600)."""
    if settings.secret_key:
        return settings.secret_key.encode("utf-8")
    secret, created = keep_secret(key_file(settings), size=48)
    if created:
        log.info("Clave nueva para cifrar tokens: %s (no la subas a git)", key_file(settings))
    return secret.encode("utf-8")


def derive(settings: Settings, purpose: str) -> bytes:
    """32 bytes for one `purpose`, derived from the root secret."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"lab-server {purpose}".encode()
    )
    return hkdf.derive(root_secret(settings))


def token_cipher(settings: Settings) -> Fernet:
    """The Fernet that encrypts access and refresh tokens at rest."""
    return Fernet(base64.urlsafe_b64encode(derive(settings, "oauth tokens")))


def session_key(settings: Settings) -> bytes:
    """Flask's secret key: signs the cookie that binds an OAuth `state` to its browser."""
    return derive(settings, "flask session")
