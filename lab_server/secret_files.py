"""Secrets the kit makes for the student and keeps in LAB_DATA_DIR, readable only by them.

The API token, the Telegram webhook secret and the root key that encrypts OAuth tokens are
each a setting the student may give, or else a random value generated once into a file of the
data folder (mode 0600, outside git). One implementation keeps the three equally careful:
two processes starting at once keep the first value written (O_EXCL), a full disk leaves no
empty file behind, and a file other users could read is closed to them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path

from .errors import DataDirError

log = logging.getLogger(__name__)


def read_secret(path: Path) -> str | None:
    """The secret kept in `path`, or None when there is none (yet)."""
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def keep_secret(path: Path, size: int = 32) -> tuple[str, bool]:
    """(the secret in `path`, whether it was created now): created once, owner-only.

    The new secret is written to a private temporary file first and then linked into place, an
    atomic step that fails if `path` exists: nobody ever reads a half-written secret, and of two
    processes starting at once the second keeps the first one's. `size` is the number of random
    bytes. An unwritable folder or a full disk raises `DataDirError` (a Spanish message).
    """
    kept = _existing(path)
    if kept:
        return kept, False
    secret = secrets.token_urlsafe(size)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secret + "\n")
        os.link(draft, path)
    except FileExistsError:
        if path.is_file():  # another process linked its secret first: keep that one
            return _existing(path) or secret, False
        raise DataDirError(path.parent, FileExistsError("no es una carpeta")) from None
    except OSError as exc:
        raise DataDirError(path.parent, exc) from exc
    finally:
        with contextlib.suppress(OSError):  # the folder may not even exist
            draft.unlink(missing_ok=True)
    return secret, True


def _existing(path: Path) -> str | None:
    """The secret already in `path`, its file closed to other users; None if there is none."""
    if not path.is_file():
        return None
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
        log.warning("%s era legible por otros usuarios: se dejó en modo 0600", path)
    kept = read_secret(path)
    if kept is None:  # an empty file (a crash of an older kit): make a new secret
        path.unlink(missing_ok=True)
    return kept
