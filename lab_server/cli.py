"""The `lab-server` command (also `python -m lab_server`)."""

from __future__ import annotations

import argparse
import logging
import sys

from .config import load_settings
from .errors import LabError

# Each command imports what it needs when it runs, so `lab-server --help` answers at once.

#: Only the local tunnel agent may tell the app its public scheme and host.
TRUSTED_PROXY = "127.0.0.1"


def cmd_run(args: argparse.Namespace) -> int:
    """Serve the app with waitress, the production WSGI server."""
    import waitress

    from . import tunnel as tunnels
    from .display import SANDBOX_NOTE
    from .errors import TunnelError
    from .runner import prepare

    # Before the app exists, so warnings given while creating it reach the terminal.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    mode = {True: "1", False: "0", None: settings.sandbox}[args.sandbox]
    app, box = prepare(settings, mode)
    settings = app.extensions["lab"].settings
    base = f"http://{args.host}:{args.port}"
    public = settings.public_base_url
    if args.tunnel:
        try:
            public = tunnels.open_tunnel(args.port, settings)
        except TunnelError as exc:
            print(f"Túnel: {exc}", file=sys.stderr)
    paths = app.extensions["lab"].webhook_paths()
    if box:
        box.attach({name: base + path for name, path in paths.items()})
        print(SANDBOX_NOTE)
        for name, standin in sorted(box.standins.items()):
            print(f"  {name:<10} simulado en {standin.base_url}")
    print(f"Servidor del laboratorio en {base}")
    for name, path in sorted(paths.items()):
        print(f"  webhook {name:<10} {(public or base) + path}")
    try:
        waitress.serve(
            app,
            host=args.host,
            port=args.port,
            threads=args.threads,
            trusted_proxy=TRUSTED_PROXY,
            trusted_proxy_count=1,
            trusted_proxy_headers={"x-forwarded-proto", "x-forwarded-host"},
            clear_untrusted_proxy_headers=True,
            ident="lab-server",
        )
    finally:
        if box:
            box.stop()
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import FAIL, format_report, run_checks

    checks = run_checks(load_settings())
    print(format_report(checks))
    return 1 if any(c.status == FAIL for c in checks) else 0


def cmd_whatsapp_join_qr(args: argparse.Namespace) -> int:
    """The QR (and link) that joins a phone to Twilio's WhatsApp sandbox."""
    from .whatsapp.join import JoinQR

    qr = JoinQR(args.code, args.number)
    if args.out:
        print(f"Código QR guardado en {qr.save(args.out)}")
    else:
        print(qr.ascii())
    print(qr.instructions())
    return 0


def cmd_telegram(args: argparse.Namespace) -> int:
    """Register, inspect or remove the Telegram bot's webhook."""
    from .telegram import webhook as telegram_webhook

    settings = load_settings()
    if args.action == "set-webhook":
        result = telegram_webhook.set_webhook(
            url=args.url, settings=settings, drop_pending=args.drop_pending
        )
    elif args.action == "info":
        result = telegram_webhook.webhook_info(settings=settings)
    else:
        result = telegram_webhook.delete_webhook(settings=settings, drop_pending=args.drop_pending)
    print(result)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lab-server", description="Servidor del laboratorio")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="servir el webhook con waitress")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=None, help="por defecto LAB_PORT (5000)")
    run.add_argument("--threads", type=int, default=8)
    run.add_argument("--tunnel", action="store_true", help="abrir un túnel público con ngrok")
    box = run.add_mutually_exclusive_group()
    box.add_argument(
        "--sandbox",
        dest="sandbox",
        action="store_true",
        default=None,
        help="simular todos los servicios externos en 127.0.0.1",
    )
    box.add_argument(
        "--no-sandbox", dest="sandbox", action="store_false", help="no simular ningún servicio"
    )
    run.set_defaults(func=cmd_run)

    doctor = sub.add_parser("doctor", help="revisar configuración y servicios")
    doctor.set_defaults(func=cmd_doctor)

    whatsapp = sub.add_parser("whatsapp", help="WhatsApp con Twilio")
    whatsapp_sub = whatsapp.add_subparsers(dest="whatsapp_command", required=True)
    join = whatsapp_sub.add_parser("join-qr", help="código QR para unirse al sandbox de Twilio")
    join.add_argument("--code", required=True, help="el código de tu sandbox, p. ej. happy-tiger")
    join.add_argument("--number", default="+14155238886", help="número del sandbox")
    join.add_argument("--out", help="guardar como .png o .svg (si no, se dibuja en la terminal)")
    join.set_defaults(func=cmd_whatsapp_join_qr)

    telegram = sub.add_parser("telegram", help="webhook del bot de Telegram")
    telegram.set_defaults(func=cmd_telegram)
    actions = telegram.add_subparsers(dest="action", required=True)
    register = actions.add_parser("set-webhook", help="registrar el webhook, con su secreto")
    register.add_argument(
        "--url", help="URL https pública (por defecto: la del túnel abierto o PUBLIC_BASE_URL)"
    )
    actions.add_parser("info", help="estado del webhook: pendientes y último error")
    delete = actions.add_parser("delete", help="eliminar el webhook")
    for action in (register, delete):
        action.add_argument(
            "--drop-pending", action="store_true", help="descartar las actualizaciones pendientes"
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "port", 0) is None:
            args.port = load_settings().port
        return args.func(args)
    except LabError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
