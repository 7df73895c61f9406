"""The `lab-server` command (also `python -m lab_server`)."""

from __future__ import annotations

import argparse
import logging
import sys

from .config import load_settings
from .errors import LabError

# Each command imports what it needs when it runs, so `lab-server --help` answers at once.


def cmd_run(args: argparse.Namespace) -> int:
    """Serve the app with waitress, the production WSGI server."""
    import dataclasses

    import waitress

    from . import tunnel as tunnels
    from .config import mask_secret
    from .display import SANDBOX_NOTE
    from .errors import TunnelError
    from .runner import prepare
    from .serving import waitress_options

    # Before the app exists, so warnings given while creating it reach the terminal.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    mode = {True: "1", False: "0", None: settings.sandbox}[args.sandbox]
    app, box = prepare(settings, mode)
    settings = app.extensions["lab"].settings
    # Bind before announcing anything: with --port 0 the system picks the port, and every
    # URL printed below (and given to the sandbox's stand-ins) must carry the real one.
    server = waitress.create_server(
        app, host=args.host, port=args.port, **waitress_options(args.threads)
    )
    port = server.effective_port
    base = f"http://{args.host}:{port}"
    public = settings.public_base_url
    if args.tunnel:
        try:
            public = tunnels.open_tunnel(port, settings, rerun=tunnels.RERUN_TERMINAL)
        except TunnelError as exc:
            print(f"Túnel: {exc}", file=sys.stderr)
        else:  # webhooks check signatures against the URL providers call, and no other
            app.extensions["lab"].settings = dataclasses.replace(settings, public_base_url=public)
    paths = app.extensions["lab"].webhook_paths()
    if box:
        box.attach({name: base + path for name, path in paths.items()}, public)
        print(SANDBOX_NOTE)
        for name, standin in sorted(box.standins.items()):
            print(f"  {name:<10} simulado en {standin.base_url}")
    app.extensions["pipeline"].start()
    print(f"Servidor del laboratorio en {base}")
    print(f"  token de la API (rutas /api): {mask_secret(settings.api_token)}")
    for name, path in sorted(paths.items()):
        print(f"  webhook {name:<10} {(public or base) + path}")
    sys.stdout.flush()  # the URLs reach a pipe or a log file before serving starts
    try:
        server.run()
    finally:
        server.close()
        app.extensions["pipeline"].stop()
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


def cmd_connect(args: argparse.Namespace) -> int:
    """Print (and open in the browser, where there is one) the page that connects an account."""
    import webbrowser

    from .oauth import providers

    settings = load_settings()
    provider = providers.get(args.provider)
    base = (args.url or settings.public_base_url or f"http://127.0.0.1:{settings.port}").rstrip("/")
    url = f"{base}/oauth/{provider.name}/start"
    print(
        f"Para conectar {provider.display_name}, abre en tu navegador (con el servidor en marcha):"
    )
    print(f"  {url}")
    print(f"La URL de retorno que registras en la app: {base}/oauth/{provider.name}/callback")
    if not args.no_browser:
        webbrowser.open(url)
    return 0


def cmd_connections(args: argparse.Namespace) -> int:
    """The connected accounts, their permissions and expiry; tokens masked."""
    from .oauth.tokens import TokenStore, describe, utcnow

    settings = load_settings()
    connections = TokenStore.for_settings(settings).list(args.provider)
    if not connections:
        print("No hay cuentas conectadas. Usa `lab-server connect <red>` para conectar una.")
        return 0
    now = utcnow()
    for c in connections:
        print(describe(c, now))
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """The database's migrations (Alembic) and demo data."""
    from . import schema
    from .store import Store

    settings = load_settings()
    url = settings.database_url
    if args.action == "upgrade":
        schema.upgrade(url, args.revision)
        print(f"Base {Store(url).masked_url()} en la revisión {schema.current(url)}.")
    elif args.action == "current":
        print(schema.current(url) or "(sin migraciones aplicadas)")
    elif args.action == "history":
        for revision, down, doc in schema.history():
            print(f"{down or '<base>'} -> {revision}  {doc}")
    else:
        from .pipeline.seed import seed

        store = Store(url)
        store.init_schema()
        added = seed(store)
        print(f"Datos de demostración: {len(added)} publicaciones nuevas (borradores).")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """An RQ worker that runs publication jobs (REDIS_URL, queue LAB_QUEUE)."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    from . import app  # noqa: F401 - registers every network's publisher
    from .errors import SettingsError
    from .pipeline.jobs import Runtime, install
    from .pipeline.policy import RedisLimiter
    from .store import Store

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    if not settings.redis_url:
        raise SettingsError(
            "REDIS_URL", "", "una URL de Redis, por ejemplo redis://127.0.0.1:6379/0"
        )
    store = Store.from_settings(settings)
    store.init_schema()
    connection = Redis.from_url(settings.redis_url)
    limiter = RedisLimiter(connection, settings.lab_queue)
    install(Runtime(settings, store, limiter=limiter, lease=settings.publish_lease))
    # SimpleWorker runs jobs in this process: its database connections and clients are reused.
    worker = SimpleWorker([Queue(settings.lab_queue, connection=connection)], connection=connection)
    print(f"Worker de publicaciones en la cola {settings.lab_queue!r}.")
    worker.work(burst=args.burst, logging_level="WARNING")
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
    connect = sub.add_parser("connect", help="conectar una cuenta con OAuth (LinkedIn, ...)")
    connect.add_argument("provider", help="linkedin, facebook, instagram...")
    connect.add_argument("--url", help="URL pública del servidor (por defecto PUBLIC_BASE_URL)")
    connect.add_argument("--no-browser", action="store_true", help="solo mostrar la URL")
    connect.set_defaults(func=cmd_connect)

    connections = sub.add_parser("connections", help="cuentas conectadas, permisos y vencimiento")
    connections.add_argument("provider", nargs="?", help="solo las de esta red")
    connections.set_defaults(func=cmd_connections)

    db = sub.add_parser("db", help="migraciones de la base (Alembic) y datos de demostración")
    db.set_defaults(func=cmd_db)
    db_actions = db.add_subparsers(dest="action", required=True)
    upgrade = db_actions.add_parser("upgrade", help="aplicar las migraciones pendientes")
    upgrade.add_argument("revision", nargs="?", default="head")
    db_actions.add_parser("current", help="la revisión en que está la base")
    db_actions.add_parser("history", help="todas las migraciones")
    db_actions.add_parser("seed", help="agregar publicaciones de demostración")

    worker = sub.add_parser("worker", help="worker de RQ que publica (necesita REDIS_URL)")
    worker.add_argument("--burst", action="store_true", help="terminar cuando la cola se vacíe")
    worker.set_defaults(func=cmd_worker)
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
