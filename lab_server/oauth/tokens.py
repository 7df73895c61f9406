"""Connected accounts in the `oauth_tokens` table, their tokens encrypted with Fernet.

The access and refresh tokens never reach the database in clear: they are Fernet tokens
(AES-128-CBC + HMAC-SHA256, from `cryptography`) under a key derived from LAB_SECRET_KEY or
the generated key file (see `keys.py`). Everything shown to a person masks them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from ..config import Settings, mask_secret
from ..store import Store
from .errors import NotConnectedError, TokenDecryptError
from .keys import token_cipher
from .providers import Connection

Clock = Callable[[], datetime]

COLUMNS = (
    "provider, account_id, account_name, scopes, access_token, refresh_token, expires_at, "
    "issued_at, extra"
)


#: Tokens that cannot be refreshed (LinkedIn) are flagged this long before they expire.
EXPIRY_WARNING = timedelta(days=7)


def expiry_note(connection: Connection, now: datetime) -> str | None:
    """A Spanish warning when the token is expired or expires within `EXPIRY_WARNING`."""
    left = connection.expires_in(now)
    if left is None or left > EXPIRY_WARNING:
        return None
    again = f"vuelve a conectar la cuenta en /oauth/{connection.provider}/start"
    if left <= timedelta(0):
        return f"El permiso de {connection.provider} venció: {again}."
    days = left.days
    when = f"{days} día{'s' if days != 1 else ''}" if days else "menos de un día"
    return f"El permiso de {connection.provider} vence en {when}: {again} antes de que venza."


def describe(connection: Connection, now: datetime) -> str:
    """One Spanish line for people: account, permissions, expiry; tokens masked."""
    expiry = (
        f"vence {connection.expires_at:%Y-%m-%d %H:%M} UTC"
        if connection.expires_at
        else "sin vencimiento"
    )
    line = (
        f"{connection.provider:<10} {connection.account_name} ({connection.account_id}) · "
        f"permisos: {' '.join(connection.scopes)} · {expiry} · "
        f"token {mask_secret(connection.access_token)}"
    )
    note = expiry_note(connection, now)
    return f"{line}\n  ⚠ {note}" if note else line


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _as_datetime(value: Any) -> datetime | None:
    """SQLite gives ISO text back, PostgreSQL a datetime: both become aware datetimes."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat()


class TokenStore:
    """Save, read and list connections; tokens are encrypted on the way in."""

    def __init__(self, store: Store, cipher: Fernet) -> None:
        self.store = store
        self._cipher = cipher

    @classmethod
    def for_settings(cls, settings: Settings, store: Store | None = None) -> TokenStore:
        """The token store of `settings` (its database and key); the schema is ensured."""
        if store is None:
            store = Store.from_settings(settings)
            store.init_schema()
        return cls(store, token_cipher(settings))

    def _seal(self, secret: str | None) -> str | None:
        return None if secret is None else self._cipher.encrypt(secret.encode()).decode("ascii")

    def _open(self, sealed: str | None, provider: str) -> str | None:
        if sealed is None:
            return None
        try:
            return self._cipher.decrypt(sealed.encode("ascii")).decode()
        except InvalidToken:
            raise TokenDecryptError(
                f"El token guardado de {provider} se cifró con otra clave (¿cambiaste "
                "LAB_SECRET_KEY o borraste LAB_DATA_DIR/secret.key?). Vuelve a conectar la "
                f"cuenta: /oauth/{provider}/start."
            ) from None

    def save(self, connection: Connection) -> None:
        """Insert or replace the connection of (provider, account_id)."""
        with self.store.transaction() as tx:
            tx.execute(
                f"INSERT INTO oauth_tokens ({COLUMNS}, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (provider, account_id) DO UPDATE SET "
                "account_name = excluded.account_name, scopes = excluded.scopes, "
                "access_token = excluded.access_token, refresh_token = excluded.refresh_token, "
                "expires_at = excluded.expires_at, issued_at = excluded.issued_at, "
                "extra = excluded.extra, updated_at = excluded.updated_at",
                (
                    connection.provider,
                    connection.account_id,
                    connection.account_name,
                    " ".join(connection.scopes),
                    self._seal(connection.access_token),
                    self._seal(connection.refresh_token),
                    _iso(connection.expires_at),
                    _iso(connection.issued_at),
                    json.dumps(dict(connection.extra), ensure_ascii=False),
                    tx.now,
                    tx.now,
                ),
            )

    def _row(self, row: tuple) -> Connection:
        provider, account_id, name, scopes, access, refresh, expires, issued, extra = row
        return Connection(
            provider=provider,
            account_id=account_id,
            account_name=name or "",
            scopes=tuple(scopes.split()),
            access_token=self._open(access, provider) or "",
            refresh_token=self._open(refresh, provider),
            expires_at=_as_datetime(expires),
            issued_at=_as_datetime(issued),
            extra=json.loads(extra) if isinstance(extra, str) else (extra or {}),
        )

    def list(self, provider: str | None = None) -> list[Connection]:
        """Every connection (of one provider), most recently updated first."""
        where, params = ("WHERE provider = ?", (provider,)) if provider else ("", ())
        with self.store.transaction(write=False) as tx:
            rows = tx.execute(
                f"SELECT {COLUMNS} FROM oauth_tokens {where} "
                "ORDER BY updated_at DESC, provider, account_id",
                params,
            ).fetchall()
        return [self._row(r) for r in rows]

    def get(self, provider: str, account_id: str | None = None) -> Connection:
        """The connection of `account_id`, or the newest of `provider`; else NotConnected."""
        for connection in self.list(provider):
            if account_id is None or connection.account_id == str(account_id):
                return connection
        raise NotConnectedError(provider)

    def delete(self, provider: str, account_id: str | None = None) -> int:
        """Forget one account (or every account of `provider`); returns how many."""
        sql, params = "DELETE FROM oauth_tokens WHERE provider = ?", (provider,)
        if account_id is not None:
            sql, params = sql + " AND account_id = ?", (provider, str(account_id))
        with self.store.transaction() as tx:
            return int(tx.execute(sql, params).rowcount)
