from pathlib import Path

import pytest

from lab_server.config import VARIABLES, load_settings, mask_secret, mask_url
from lab_server.errors import MissingCredentialError, SettingsError

from .conftest import ROOT, make_settings


def test_defaults_need_no_credentials(tmp_path):
    settings = make_settings(tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'lab.db'}"
    assert settings.twilio_api_base == "https://api.twilio.com"
    assert settings.telegram_api_base == "https://api.telegram.org"
    assert settings.openai_base_url == "https://api.openai.com/v1"
    assert settings.twilio_auth_token is None
    assert settings.port == 5000 and settings.llm_timeout == 8.0


def test_outside_the_repository_the_kit_checkout_is_the_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # e.g. `lab-server run` from the home folder
    settings = load_settings(env={})
    assert settings.responses_path == ROOT / "responses.json"
    assert settings.data_dir == ROOT / ".lab"


def test_relative_data_dir_is_under_the_project_root():
    settings = load_settings(env={})
    assert settings.data_dir == ROOT / ".lab"
    assert settings.responses_path == ROOT / "responses.json"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LAB_SANDBOX", "maybe"),
        ("LAB_PORT", "cinco"),
        ("LLM_TIMEOUT", "-1"),
        ("LLM_REPLIES", "tal vez"),
    ],
)
def test_bad_values_name_the_variable(tmp_path, name, value):
    with pytest.raises(SettingsError, match=name):
        make_settings(tmp_path, **{name: value})


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("true", True), ("sí", True), ("0", False)]
)
def test_booleans(tmp_path, raw, expected):
    assert make_settings(tmp_path, LLM_REPLIES=raw).llm_replies is expected


def test_missing_credential_says_where_to_get_it(tmp_path):
    settings = make_settings(tmp_path)
    with pytest.raises(MissingCredentialError) as info:
        settings.require("TWILIO_AUTH_TOKEN")
    assert "TWILIO_AUTH_TOKEN" in str(info.value)
    assert "console.twilio.com" in str(info.value) or "Consola de Twilio" in str(info.value)
    assert settings.missing("twilio") == ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"]


def test_secrets_are_masked_in_repr(tmp_path):
    settings = make_settings(tmp_path, TWILIO_AUTH_TOKEN="supersecret-token-1234")
    assert "supersecret" not in repr(settings)
    assert mask_secret("supersecret-token-1234") == "••••••••1234"
    assert mask_secret("abc") == "•••"
    assert mask_secret(None) == "(no definido)"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://bot:s3cr3t@db.example.com:5432/lab",
            "postgresql://bot:••••@db.example.com:5432/lab",
        ),
        ("postgresql://bot:p@ss:w0rd@localhost/lab", "postgresql://bot:••••@localhost/lab"),
        (
            "postgresql://localhost/lab?user=bot&password=s3cr3t",
            "postgresql://localhost/lab?user=bot&password=••••",
        ),
        ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://postgres@127.0.0.1:5432/test"),
        ("sqlite:////tmp/lab.db", "sqlite:////tmp/lab.db"),
        (
            "postgresql+psycopg2://bot:s3cr3t@db/lab",
            "postgresql+psycopg2://bot:••••@db/lab",
        ),
        ("mysql://root:hunter2@db/lab?password=x", "mysql://root:••••@db/lab?password=••••"),
        ("host=db password=s3cr3t dbname=lab", "host=db password=•••• dbname=lab"),
        ("whatsapp:+14155238886", "whatsapp:+14155238886"),
    ],
)
def test_mask_url_hides_only_the_password(url, shown):
    assert mask_url(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg2://bot:s3cr3t@db.example.com/lab",
        "mysql://bot:s3cr3t@db.example.com/lab",
        "sqlite://bot:s3cr3t@host/lab.db",
    ],
)
def test_a_bad_database_url_never_shows_its_password(tmp_path, url):
    from lab_server.errors import StoreError
    from lab_server.store import Store

    with pytest.raises(StoreError) as info:
        Store(url).ping()
    assert "s3cr3t" not in str(info.value)


def test_environment_wins_over_dotenv_file(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("TELEGRAM_BOT_TOKEN=from-file\nOPENAI_MODEL=file-model\nLAB_PORT=\n")
    monkeypatch.setenv("OPENAI_MODEL", "env-model")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("LAB_PORT", raising=False)  # `make test` exports LAB_PORT=0
    settings = load_settings(dotenv_path=env_file)
    assert settings.telegram_bot_token == "from-file"
    assert settings.openai_model == "env-model"
    assert settings.port == 5000  # an empty line in .env means "use the default"


def test_lab_env_file_none_reads_no_file(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=from-file\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAB_ENV_FILE", "none")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert load_settings().telegram_bot_token is None
    monkeypatch.setenv("LAB_ENV_FILE", str(tmp_path / ".env"))
    assert load_settings().telegram_bot_token == "from-file"


def test_with_values_parses_like_the_environment(tmp_path):
    settings = make_settings(tmp_path).with_values(
        {"LLM_TIMEOUT": "2.5", "TWILIO_API_BASE": "http://x"}
    )
    assert settings.llm_timeout == 2.5 and settings.twilio_api_base == "http://x"


def test_env_example_documents_every_variable_without_values():
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    assigned = {
        line.split("=", 1)[0]: line.split("=", 1)[1]
        for line in lines
        if "=" in line and not line.startswith("#")
    }
    assert set(assigned) == {v.name for v in VARIABLES}
    assert all(value == "" for value in assigned.values()), (
        "no values (and never a secret) in .env.example"
    )
    for var in VARIABLES:
        note = lines[lines.index(f"{var.name}=") - 1]
        assert note.startswith("#") and var.where in note, f"{var.name} needs its one-line note"


def test_gitignore_keeps_secrets_and_state_out():
    ignored = Path(ROOT / ".gitignore").read_text().split()
    for entry in (".env", ".venv/", ".lab/", "build/", "node_modules/"):
        assert entry in ignored
