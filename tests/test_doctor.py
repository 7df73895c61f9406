from lab_server.doctor import OK, check_services, check_settings, format_report, run_checks
from lab_server.sandbox import STANDINS

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


def service_line(settings, name):
    return next((c.status, c.detail) for c in check_services(settings) if c.name == name)


def test_services_say_real_sandbox_or_unavailable(tmp_path, monkeypatch):
    monkeypatch.setitem(STANDINS, "twilio", object)  # only membership matters here
    creds = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t" * 32}
    real = make_settings(tmp_path, LAB_SANDBOX="auto", **creds)
    assert service_line(real, "twilio") == (
        OK,
        "credenciales configuradas: se usa el servicio real",
    )
    forced = make_settings(tmp_path, LAB_SANDBOX="1", **creds)
    assert service_line(forced, "twilio") == (OK, "LAB_SANDBOX=1: se usa el sandbox del curso")
    missing = make_settings(tmp_path, LAB_SANDBOX="auto")
    assert service_line(missing, "twilio")[1].endswith("se usará el sandbox del curso")
    off = make_settings(tmp_path, LAB_SANDBOX="0")
    assert service_line(off, "twilio")[1].endswith("no disponible")
    assert service_line(forced, "ngrok")[1] == "falta NGROK_AUTHTOKEN: no disponible"


def test_the_spanish_report_says_si_or_no_never_python_booleans(tmp_path):
    settings = make_settings(
        tmp_path, LLM_REPLIES="0", TWILIO_VALIDATE_SIGNATURE="1", LLM_TIMEOUT="2.5"
    )
    report = format_report(run_checks(settings))
    lines = {c.name: c.detail for c in check_settings(settings)}
    assert (lines["LLM_REPLIES"], lines["TWILIO_VALIDATE_SIGNATURE"]) == ("no", "sí")
    assert lines["LLM_TIMEOUT"] == "2.5 s"
    assert "True" not in report and "False" not in report


def test_the_sandbox_mode_is_explained_in_words(tmp_path):
    detail = next(
        c.detail
        for c in check_settings(make_settings(tmp_path, LAB_SANDBOX="1"))
        if c.name == "LAB_SANDBOX"
    )
    assert detail == "1 (se simulan todos los servicios)"
