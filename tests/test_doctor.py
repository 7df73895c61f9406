from lab_server.doctor import OK, check_settings, format_report, run_checks

from .conftest import make_settings


def test_database_url_is_shown_without_its_password(tmp_path):
    settings = make_settings(tmp_path, DATABASE_URL="postgresql://bot:s3cr3t@db.example.com/lab")
    line = next(c for c in check_settings(settings) if c.name == "DATABASE_URL")
    assert (line.status, line.detail) == (OK, "postgresql://bot:••••@db.example.com/lab")


def test_report_never_prints_a_secret_in_full(tmp_path):
    settings = make_settings(
        tmp_path,
        TELEGRAM_BOT_TOKEN="123456:telegram-secret-abcd",
        DATABASE_URL=f"sqlite:///{tmp_path / 'lab.db'}",
    )
    checks = run_checks(settings)
    token = next(c for c in checks if c.name == "TELEGRAM_BOT_TOKEN")
    assert (token.status, token.detail) == (OK, "••••••••abcd")
    assert "telegram-secret" not in format_report(checks)
