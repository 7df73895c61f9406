"""The secrets the kit generates into LAB_DATA_DIR: once, owner-only, never empty."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

from lab_server.errors import DataDirError
from lab_server.secret_files import keep_secret, read_secret


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_secret_is_created_once_for_its_owner_only(tmp_path):
    path = tmp_path / "nested" / "api_token"
    assert read_secret(path) is None
    secret, created = keep_secret(path)
    assert created and len(secret) >= 40 and mode(path) == 0o600
    assert keep_secret(path) == (secret, False)
    assert read_secret(path) == secret


def test_processes_starting_together_keep_the_first_secret(tmp_path):
    path = tmp_path / "secret.key"
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: keep_secret(path, size=48)[0], range(16)))
    assert len(set(results)) == 1 and read_secret(path) == results[0]


def test_a_file_others_can_read_is_closed_to_them(tmp_path, caplog):
    path = tmp_path / "api_token"
    path.write_text("guardado\n")
    path.chmod(0o644)
    assert keep_secret(path) == ("guardado", False)
    assert mode(path) == 0o600
    assert "modo 0600" in caplog.text


def test_an_empty_file_left_by_a_crash_is_replaced(tmp_path):
    path = tmp_path / "telegram_secret_token"
    path.touch(mode=0o600)
    secret, created = keep_secret(path)
    assert created and secret and read_secret(path) == secret


def test_a_folder_that_is_a_file_is_a_spanish_error(tmp_path):
    blocker = tmp_path / "datos"
    blocker.write_text("no soy una carpeta")
    with pytest.raises(DataDirError, match="LAB_DATA_DIR"):
        keep_secret(blocker / "api_token")
