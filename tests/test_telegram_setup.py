"""Webhook management from Python and from `lab-server telegram`, against the stand-in."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from pyngrok import conf, ngrok

from lab_server import start
from lab_server.errors import SettingsError
from lab_server.telegram import (
    BotAPI,
    WebhookURLError,
    check_webhook_url,
    set_webhook,
    wait_replies,
    webhook_info,
)
from lab_server.telegram.webhook import ensure_secret, running_tunnel_url, webhook_secret

from .conftest import ROOT, make_settings
from .telegram_standin import standin_fixture  # noqa: F401 (the `standin` fixture)

HOOK = "https://mi-bot.example.org/webhooks/telegram"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://127.0.0.1:5000/webhooks/telegram",
            "Telegram solo entrega webhooks a URLs https, y esta no lo es: "
            "http://127.0.0.1:5000/webhooks/telegram.",
        ),
        ("ftp://bot.example.org/x", "Telegram solo entrega webhooks a URLs https"),
        (
            "https://bot.example.org:5000/webhooks/telegram",
            "Telegram solo entrega webhooks en los puertos 443, 80, 88 y 8443, y esta URL usa "
            "el 5000",
        ),
        ("https://bot.example.org:99999/x", "La URL 'https://bot.example.org:99999/x' tiene un"),
        ("https:///webhooks/telegram", "La URL 'https:///webhooks/telegram' no tiene nombre"),
        ("https://localhost/webhooks/telegram", "Telegram no puede llegar a localhost"),
        ("https://192.168.1.20/webhooks/telegram", "Telegram no puede llegar a 192.168.1.20"),
    ],
)
def test_urls_telegram_would_refuse(url, message):
    with pytest.raises(WebhookURLError) as info:
        check_webhook_url(url)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        (HOOK, HOOK),
        ("https://abc.ngrok-free.app", "https://abc.ngrok-free.app/webhooks/telegram"),
        ("https://abc.ngrok-free.app/", "https://abc.ngrok-free.app/webhooks/telegram"),
        ("https://bot.example.org:8443/otra/ruta", "https://bot.example.org:8443/otra/ruta"),
        ("https://149.154.167.220:88/hook", "https://149.154.167.220:88/hook"),
    ],
)
def test_urls_telegram_accepts(url, accepted):
    assert check_webhook_url(url) == accepted


def test_a_secret_is_generated_once_and_kept_private(tmp_path):
    settings = make_settings(tmp_path)
    assert webhook_secret(settings) is None
    secret, where = ensure_secret(settings)
    path = tmp_path / "telegram_secret_token"
    assert where == f"generado ahora y guardado en {path} (fuera de git)"
    assert path.read_text().strip() == secret and len(secret) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_secret(settings) == (secret, f"guardado en {path}")
    assert webhook_secret(settings) == secret


def test_the_configured_secret_wins_and_is_checked(tmp_path):
    settings = make_settings(tmp_path, TELEGRAM_SECRET_TOKEN="mi_secreto-1")
    assert ensure_secret(settings) == ("mi_secreto-1", "TELEGRAM_SECRET_TOKEN (entorno o .env)")
    bad = make_settings(tmp_path, TELEGRAM_SECRET_TOKEN="con:dos puntos")
    with pytest.raises(SettingsError) as info:
        ensure_secret(bad)
    assert "con:dos puntos" not in str(info.value) and "A-Z, a-z, 0-9, _ o -" in str(info.value)


def test_a_sandbox_secret_says_the_sandbox_made_it_not_the_env_file(tmp_path):
    lab = start(settings=make_settings(tmp_path, LAB_SANDBOX="1", LAB_PORT="0"), show=False)
    try:
        secret, where = ensure_secret(lab.settings)
        assert secret == lab.sandbox["telegram"].secret
        assert where.startswith("generado por el Telegram simulado")
        assert ".env" not in where.replace("no es de tu .env", "")
        registration = set_webhook(lab, url="https://tu-tunel.ngrok-free.app/webhooks/telegram")
        assert "generado por el Telegram simulado" in str(registration)
    finally:
        lab.stop()


def test_without_a_tunnel_the_lab_url_is_refused(tmp_path):
    lab = start(settings=make_settings(tmp_path, LAB_SANDBOX="1", LAB_PORT="0"), show=False)
    with pytest.raises(WebhookURLError, match="Telegram solo entrega webhooks a URLs https"):
        set_webhook(lab)
    assert lab.sandbox["telegram"].webhook is None


def test_with_a_tunnel_the_webhook_is_its_public_url(tmp_path, fake_ngrok):
    settings = make_settings(tmp_path, LAB_SANDBOX="1", LAB_PORT="0", NGROK_AUTHTOKEN="tok")
    lab = start(tunnel=True, settings=settings, show=False)
    tg = lab.sandbox["telegram"]
    registration = set_webhook(lab)
    assert registration.url == lab.public_url + "/webhooks/telegram"
    assert registration.url.startswith("https://lab-") and tg.webhook.url == registration.url
    assert tg.webhook.secret == lab.settings.telegram_secret_token
    assert tg.send_text("hola").attempts == (200,)
    wait_replies(lab)
    assert len(tg.requests_to("/sendMessage")) == 1
    agent = ngrok.get_ngrok_process(conf.PyngrokConfig()).api_url
    assert running_tunnel_url(lab.server.port, agent) == lab.public_url
    assert running_tunnel_url(lab.server.port + 1, agent) is None


def run_cli(tmp_path, standin, *args, **env):
    """`python -m lab_server telegram ...` in its own process, pointed at the stand-in."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "PUBLIC_"))}
    base.update(
        LAB_ENV_FILE="none",
        LAB_DATA_DIR=str(tmp_path),
        LAB_PORT="5000",
        TELEGRAM_API_BASE=standin.base_url,
        TELEGRAM_BOT_TOKEN=standin.token,
    )
    done = subprocess.run(
        [sys.executable, "-m", "lab_server", "telegram", *args],
        env={**base, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert standin.token not in done.stdout + done.stderr
    return done.returncode, done.stdout, done.stderr


def test_cli_set_webhook_info_and_delete(tmp_path, standin):
    secret_path = tmp_path / "telegram_secret_token"
    code, out, err = run_cli(tmp_path, standin, "set-webhook", "--url", HOOK)
    assert (code, err) == (0, "")
    secret = secret_path.read_text().strip()
    assert out == (
        f"Webhook de Telegram registrado en {HOOK}\n"
        "Telegram respondió: Webhook was set\n"
        f"Secreto ••••••••{secret[-4:]}: "
        f"generado ahora y guardado en {secret_path} (fuera de git)\n"
    )
    assert secret not in out
    assert (standin.webhook.url, standin.webhook.secret) == (HOOK, secret)

    code, out, _ = run_cli(tmp_path, standin, "set-webhook", "--url", HOOK)
    assert code == 0 and "Telegram respondió: Webhook is already set\n" in out
    assert out.endswith(f": guardado en {secret_path}\n")

    assert run_cli(tmp_path, standin, "info") == (
        0,
        f"Webhook: {HOOK}\nActualizaciones pendientes: 0\n",
        "",
    )
    standin.send_text("hola")  # nothing listens at the lab's address: the delivery fails
    when = datetime.fromtimestamp(standin.last_error[0], timezone.utc)
    assert run_cli(tmp_path, standin, "info") == (
        0,
        f"Webhook: {HOOK}\n"
        "Actualizaciones pendientes: 1\n"
        f"Último error ({when:%Y-%m-%d %H:%M:%S} UTC): Connection refused\n"
        "Qué significa: Telegram no llega a tu servidor: ¿están encendidos el servidor y el "
        "túnel? ¿Cambió la URL del túnel? Entonces registra el webhook otra vez.\n",
        "",
    )
    assert run_cli(tmp_path, standin, "delete", "--drop-pending") == (
        0,
        "Webhook eliminado y se descartaron las actualizaciones pendientes. "
        "Telegram respondió: Webhook was deleted\n",
        "",
    )
    assert run_cli(tmp_path, standin, "info") == (
        0,
        "Webhook: ninguno (Telegram guarda los mensajes hasta 24 h para getUpdates)\n"
        "Actualizaciones pendientes: 0\n",
        "",
    )


def test_cli_default_url_is_public_base_url(tmp_path, standin):
    code, out, _ = run_cli(
        tmp_path, standin, "set-webhook", PUBLIC_BASE_URL="https://fijo.example.org/"
    )
    assert code == 0 and standin.webhook.url == "https://fijo.example.org/webhooks/telegram"
    assert out.startswith("Webhook de Telegram registrado en https://fijo.example.org/webhooks/")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["set-webhook", "--url", "http://127.0.0.1:5000/webhooks/telegram"],
            "Error: Telegram solo entrega webhooks a URLs https, y esta no lo es: "
            "http://127.0.0.1:5000/webhooks/telegram.",
        ),
        (
            ["set-webhook", "--url", "https://mi-bot.example.org:5000/webhooks/telegram"],
            "Error: Telegram solo entrega webhooks en los puertos 443, 80, 88 y 8443, y esta URL "
            "usa el 5000",
        ),
        (
            ["set-webhook"],
            "Error: No hay una URL pública para el webhook: ni túnel de ngrok hacia el puerto "
            "5000 ni PUBLIC_BASE_URL.",
        ),
    ],
)
def test_cli_refuses_urls_telegram_would_refuse(tmp_path, standin, args, error):
    code, out, err = run_cli(tmp_path, standin, *args)
    assert (code, out) == (2, "") and err.startswith(error)
    assert standin.webhook is None and standin.requests_to("setWebhook") == []


def test_cli_wrong_token_is_explained_without_showing_it(tmp_path, standin):
    wrong = standin.token[:-6] + "abcdef"
    code, out, err = run_cli(tmp_path, standin, "info", TELEGRAM_BOT_TOKEN=wrong)
    assert (code, out) == (2, "")
    assert err == (
        "Error: Telegram rechazó getWebhookInfo (error 401): «Unauthorized». "
        "El token no es válido: cópialo otra vez de @BotFather a TELEGRAM_BOT_TOKEN.\n"
    )
    assert wrong not in err


def test_cli_without_token_says_where_to_get_it(tmp_path, standin):
    code, _, err = run_cli(tmp_path, standin, "info", TELEGRAM_BOT_TOKEN="")
    assert code == 2 and err.startswith("Error: Falta TELEGRAM_BOT_TOKEN. Dónde conseguirlo:")


def test_cli_when_the_api_is_unreachable(tmp_path, standin):
    code, _, err = run_cli(
        tmp_path, standin, "delete", TELEGRAM_API_BASE="http://127.0.0.1:9/telegram"
    )
    assert code == 2
    assert err.startswith("Error: No se pudo conectar con la Bot API (http://127.0.0.1:9/telegram)")


def test_info_masks_a_token_used_in_the_webhook_path(tmp_path, standin):
    """Old tutorials register https://host/<token>; getWebhookInfo would show it back."""
    BotAPI(standin.token, standin.base_url).call(
        "setWebhook", url=f"https://bot.example.org/{standin.token}"
    )
    settings = make_settings(
        tmp_path, TELEGRAM_BOT_TOKEN=standin.token, TELEGRAM_API_BASE=standin.base_url
    )
    shown = str(webhook_info(settings=settings))
    assert standin.token not in shown
    assert shown.startswith(f"Webhook: https://bot.example.org/••••••••{standin.token[-4:]}\n")
