"""PostgreSQL killed for 5 s in the middle of 1000 signed WhatsApp messages: nothing lost.

The lab is served as `lab-server run` serves it (waitress), on PostgreSQL reached through a
TCP proxy on loopback (tests/tcp_proxy.py). After `--kill-after` answers the proxy drops
every connection and refuses new ones for `--down` seconds, then lets them through again.
Messages arriving meanwhile are answered from responses.json and kept in the journal, which
is written back when the database returns. Target: no 5xx, every message stored exactly once
with its reply, the journal empty at the end.

    .venv/bin/python bench/outage.py [--messages 1000] [--down 5] [--database-url postgresql://…]

Loopback only; the load is bounded by the message count and socket timeouts.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["LAB_ENV_FILE"] = "none"  # never read a personal .env

from lab_server.app import create_app  # noqa: E402
from lab_server.config import load_settings  # noqa: E402
from lab_server.serving import WaitressThread  # noqa: E402
from tests.tcp_proxy import TCPProxy  # noqa: E402

TOKEN = secrets.token_hex(16)


def schema_url(url: str, schema: str, port: int) -> str:
    parts = urlsplit(url)
    user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    query = f"options=-csearch_path%3D{schema}"
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}", query=query))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--kill-after", type=int, default=300)
    parser.add_argument("--down", type=float, default=5.0, help="seconds without PostgreSQL")
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/test", help="a server"
    )
    args = parser.parse_args(argv)

    import psycopg2

    target = urlsplit(args.database_url)
    schema = "bench_outage_" + uuid.uuid4().hex[:8]
    admin = psycopg2.connect(args.database_url)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE SCHEMA {schema}")
    proxy = TCPProxy(target.hostname or "127.0.0.1", target.port or 5432)
    with tempfile.TemporaryDirectory() as data:
        settings = load_settings(
            env={
                "LAB_DATA_DIR": data,
                "LAB_RESPONSES": str(ROOT / "responses.json"),
                "LAB_SANDBOX": "0",
                "LLM_REPLIES": "0",
                "TWILIO_AUTH_TOKEN": TOKEN,
                "DATABASE_URL": schema_url(args.database_url, schema, proxy.port),
            }
        )
        app = create_app(settings)
        lab = app.extensions["lab"]
        server = WaitressThread(app)
        url = server.url + "/webhooks/whatsapp"
        validator = RequestValidator(TOKEN)
        statuses: list[int] = []
        took: list[float] = []
        lock = threading.Lock()
        session = threading.local()

        def send(index: int) -> None:
            form = {
                "MessageSid": "SM" + secrets.token_hex(16),
                "AccountSid": "AC" + "0" * 32,
                "From": f"whatsapp:+5917{index:07d}",
                "To": "whatsapp:+14155238886",
                "Body": f"mensaje {index}",
                "NumMedia": "0",
            }
            headers = {"X-Twilio-Signature": validator.compute_signature(url, form)}
            if not hasattr(session, "http"):
                session.http = requests.Session()
            began = time.monotonic()
            try:
                status = session.http.post(url, data=form, headers=headers, timeout=20).status_code
            except requests.RequestException:
                status = 0
            with lock:
                statuses.append(status)
                took.append(time.monotonic() - began)

        def outage() -> None:
            while len(statuses) < args.kill_after:
                time.sleep(0.01)
            proxy.kill()
            time.sleep(args.down)
            proxy.restore()

        chaos = threading.Thread(target=outage)
        began = time.monotonic()
        chaos.start()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            list(pool.map(send, range(args.messages)))
        elapsed = time.monotonic() - began
        chaos.join()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not lab.keeper.up or len(lab.keeper.journal)):
            time.sleep(0.1)
        drained = time.monotonic() - began - elapsed
        stored = lab.store.list_messages(limit=10 * args.messages)
        inbound = [m["external_id"] for m in stored if m["direction"] == "in"]
        server.stop()
        lab.keeper.close()
        lab.store.close()
    proxy.close()
    admin.cursor().execute(f"DROP SCHEMA {schema} CASCADE")
    admin.close()

    errors = sum(1 for s in statuses if s >= 500 or s == 0)
    lost = args.messages - len(set(inbound))
    twice = len(inbound) - len(set(inbound))
    print(
        f"{args.messages} signed messages, {args.concurrency} at a time; PostgreSQL down "
        f"{args.down:g} s after {args.kill_after} answers\n"
    )
    header = "answered 200 | 5xx or no answer | lost | stored twice | worst webhook | median | "
    header += "journal drained after | rate"
    print(header)
    print("-" * len(header))
    print(
        f"{statuses.count(200):>12} | {errors:>16} | {lost:>4} | {twice:>12} | "
        f"{max(took):>11.2f} s | {statistics.median(took) * 1000:>4.0f} ms | "
        f"{drained:>19.1f} s | {args.messages / elapsed:.0f} msg/s"
    )
    return 0 if errors == lost == twice == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
