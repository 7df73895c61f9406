"""Connected accounts at rest: encrypted, masked, on SQLite and PostgreSQL."""

from __future__ import annotations

import stat
from datetime import datetime, timedelta, timezone

import pytest

from lab_server.cli import main
from lab_server.oauth import Connection, NotConnectedError, TokenDecryptError
from lab_server.oauth.keys import key_file, root_secret, token_cipher
from lab_server.oauth.tokens import TokenStore, describe, expiry_note
from lab_server.store import Store

from .conftest import make_settings

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
ACCESS = "AQX-access-token-value-0000-WXYZ"
REFRESH = "refresh-token-value-9876"


def connection(**changes) -> Connection:
    values = dict(
        provider="linkedin",
        account_id="abc123",
        account_name="Ada Lovelace",
        scopes=("openid", "profile", "w_member_social"),
        access_token=ACCESS,
        refresh_token=REFRESH,
        expires_at=NOW + timedelta(days=60),
        issued_at=NOW,
        extra={"urn": "urn:li:person:abc123"},
    )
    return Connection(**{**values, **changes})


@pytest.fixture
def tokens(tmp_path, database_url) -> TokenStore:
    settings = make_settings(tmp_path, DATABASE_URL=database_url)
    store = Store.from_settings(settings)
    store.init_schema()
    yield TokenStore.for_settings(settings, store)
    store.close()


def test_round_trip_and_nothing_in_clear(tokens):
    tokens.save(connection())
    got = tokens.get("linkedin")
    assert got.access_token == ACCESS and got.refresh_token == REFRESH
    assert got.expires_at == NOW + timedelta(days=60) and got.issued_at == NOW
    assert got.scopes == ("openid", "profile", "w_member_social")
    assert got.extra == {"urn": "urn:li:person:abc123"}
    with tokens.store.transaction(write=False) as tx:
        row = tx.execute("SELECT * FROM oauth_tokens").fetchone()
    text = " ".join(str(v) for v in row)
    assert ACCESS not in text and REFRESH not in text and "WXYZ" not in text


def test_saving_again_replaces_the_account(tokens):
    tokens.save(connection())
    tokens.save(connection(access_token="second-token-1111", refresh_token=None))
    tokens.save(connection(account_id="other", account_name="Grace"))
    assert tokens.store.count("oauth_tokens") == 2
    got = tokens.get("linkedin", "abc123")
    assert got.access_token == "second-token-1111" and got.refresh_token is None
    assert tokens.get("linkedin").account_id == "other"  # the newest
    assert tokens.delete("linkedin", "other") == 1
    assert [c.account_id for c in tokens.list()] == ["abc123"]


def test_not_connected_says_how_to_connect(tokens):
    with pytest.raises(NotConnectedError, match="/oauth/linkedin/start"):
        tokens.get("linkedin")


def test_another_key_cannot_read_the_tokens(tmp_path, tokens):
    tokens.save(connection())
    other = make_settings(tmp_path, LAB_SECRET_KEY="a-different-secret-for-this-test")
    with pytest.raises(TokenDecryptError, match="LAB_SECRET_KEY"):
        TokenStore(tokens.store, token_cipher(other)).get("linkedin")


def test_masked_in_repr_and_in_descriptions():
    c = connection()
    for shown in (repr(c), str(c), describe(c, NOW), f"{c}"):
        assert ACCESS not in shown and REFRESH not in shown
    assert "WXYZ" in repr(c) and "WXYZ" in describe(c, NOW)


def test_generated_key_file_is_private_and_stable(tmp_path):
    settings = make_settings(tmp_path / "data")
    first = root_secret(settings)
    path = key_file(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert root_secret(settings) == first and len(first) >= 64
    path.chmod(0o644)
    assert root_secret(settings) == first and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_lab_secret_key_wins_and_writes_no_file(tmp_path):
    settings = make_settings(tmp_path, LAB_SECRET_KEY="my-own-long-secret")
    assert root_secret(settings) == b"my-own-long-secret"
    assert not key_file(settings).exists()
    assert "my-own-long-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("left", "words"),
    [
        (timedelta(days=30), None),
        (timedelta(days=7, hours=1), None),
        (timedelta(days=6, hours=2), "vence en 6 días"),
        (timedelta(days=1, hours=2), "vence en 1 día:"),
        (timedelta(hours=3), "vence en menos de un día"),
        (timedelta(seconds=-1), "venció"),
    ],
)
def test_a_week_before_expiry_there_is_a_warning(left, words):
    note = expiry_note(connection(expires_at=NOW + left), NOW)
    assert note is None if words is None else words in note
    if words:
        assert "/oauth/linkedin/start" in note


def test_cli_lists_connections_masked(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path))
    settings = make_settings(tmp_path)
    TokenStore.for_settings(settings).save(connection())
    assert main(["connections"]) == 0
    out = capsys.readouterr().out
    assert "Ada Lovelace" in out and "w_member_social" in out and "WXYZ" in out
    assert ACCESS not in out
