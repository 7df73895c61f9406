"""Benchmark: the kit's WhatsApp webhook against the minimal correct webhook.

Both run under waitress with the same settings (threads, trusted proxy), store in SQLite
(WAL, synchronous=NORMAL) in a temporary folder, and get the same Twilio-signed messages
from the same load client. The minimal webhook parses the form, checks the signature,
stores the message once and returns a fixed TwiML; the kit (`lab-server run`, sandbox
off, LLM off) also checks whether the message was already answered, claims it for
deduplication, matches responses.json and stores the reply, in one write transaction.
Target: the kit serves at least 0.8 of the minimal webhook's rate.

Where the machine has two cores, servers run on one and the client on the other. Each
round loads both servers back to back, in alternating order; the ratio is the median of
the rounds' ratios, so a slow spell of a shared machine weighs on both sides of a round.

    .venv/bin/python bench/webhook.py [--requests 600] [--concurrency 8] [--rounds 24]

Loopback only; every loop is bounded by a request count and socket timeouts.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import requests
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
PATH = "/webhooks/whatsapp"
TOKEN = secrets.token_hex(16)
ACCOUNT = "AC" + secrets.token_hex(16)
BODIES = ("hola", "¿Cómo hago el retiro de materias?", "gracias", "menú", "otra pregunta")
SENDERS = 50
THREADS = 8
FIXED_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Recibido.</Message></Response>'
)


# -- the minimal correct webhook ----------------------------------------------------------


def minimal_app(token: str, database: str):
    """Parse, validate the signature, store the message once in SQLite, answer a fixed TwiML.

    "The message" is what the kit keeps of an inbound message too: its SID (unique, so a
    retry is stored once), sender, recipient, text, every posted field as JSON, and when.
    """
    from flask import Flask, Response, abort, request

    app = Flask("minimal_webhook")
    validator = RequestValidator(token)
    local = threading.local()
    setup = sqlite3.connect(database, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute(
        "CREATE TABLE IF NOT EXISTS messages (sid TEXT PRIMARY KEY, sender TEXT, "
        "recipient TEXT, body TEXT, raw TEXT, created_at TEXT)"
    )
    setup.close()

    def connection() -> sqlite3.Connection:
        if not hasattr(local, "db"):
            local.db = sqlite3.connect(database, isolation_level=None, timeout=30)
            local.db.execute("PRAGMA synchronous=NORMAL")
        return local.db

    @app.post(PATH)
    def webhook():
        form = request.form
        if not validator.validate(request.url, form, request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        connection().execute(
            "INSERT OR IGNORE INTO messages VALUES (?, ?, ?, ?, ?, ?)",
            (
                form["MessageSid"],
                form["From"],
                form.get("To"),
                form.get("Body", ""),
                json.dumps(form.to_dict(), ensure_ascii=False),
                datetime.now(timezone.utc).isoformat(),
            ),
        )
        return Response(FIXED_TWIML, mimetype="text/xml")

    return app


def serve_minimal(port: int, database: str) -> None:
    """Under the waitress settings of `lab-server run` (lab_server/serving.py)."""
    import waitress

    from lab_server.serving import waitress_options

    app = minimal_app(os.environ["BENCH_TOKEN"], database)
    waitress.serve(app, port=port, **waitress_options(THREADS))


# -- servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def pin(cpu: int | None):
    return (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None


def launch(name: str, command: list[str], port: int, env: dict, cpu: int | None) -> Server:
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=pin(cpu),
    )
    server = Server(name, process, port)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}")
        try:
            requests.post(f"http://127.0.0.1:{port}{PATH}", timeout=1)
            return server
        except requests.ConnectionError:
            time.sleep(0.1)
    server.stop()
    raise SystemExit(f"{name} did not start")


def start_servers(folder: Path, cpu: int | None) -> list[Server]:
    env = {"BENCH_TOKEN": TOKEN}
    kit_port, minimal_port = free_port(), free_port()
    kit = launch(
        "lab-server run (kit)",
        [sys.executable, "-m", "lab_server", "run", "--no-sandbox", "--port", str(kit_port)]
        + ["--threads", str(THREADS)],
        kit_port,
        {
            **env,
            "LAB_ENV_FILE": "none",
            "LAB_SANDBOX": "0",
            "LAB_DATA_DIR": str(folder / "kit"),
            "DATABASE_URL": "",
            "LLM_REPLIES": "0",
            "TWILIO_ACCOUNT_SID": ACCOUNT,
            "TWILIO_AUTH_TOKEN": TOKEN,
        },
        cpu,
    )
    minimal = launch(
        "minimal webhook",
        [sys.executable, __file__, "--serve-minimal", str(minimal_port)]
        + ["--database", str(folder / "minimal.db")],
        minimal_port,
        env,
        cpu,
    )
    return [minimal, kit]


# -- the load client ----------------------------------------------------------------------


def signed_requests(port: int, count: int) -> list[tuple[bytes, dict[str, str]]]:
    """Distinct messages, as Twilio would post them to this server, signed in advance."""
    url = f"http://127.0.0.1:{port}{PATH}"
    validator = RequestValidator(TOKEN)
    out = []
    for i in range(count):
        sid = "SM" + secrets.token_hex(16)
        form = {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": ACCOUNT,
            "From": f"whatsapp:+5917{i % SENDERS:07d}",
            "To": "whatsapp:+14155238886",
            "Body": BODIES[i % len(BODIES)],
            "NumMedia": "0",
            "ProfileName": "Bench",
            "WaId": f"5917{i % SENDERS:07d}",
            "ApiVersion": "2010-04-01",
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(url, form),
        }
        out.append((urlencode(form).encode(), headers))
    return out


def load(port: int, work: list[tuple[bytes, dict[str, str]]], concurrency: int) -> dict:
    """Send `work` over `concurrency` kept-alive connections; rate and latencies."""
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    next_item = iter(range(len(work)))

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        bad = 0
        for index in iter(lambda: next(next_item, None), None):
            body, headers = work[index]
            began = time.perf_counter()
            conn.request("POST", PATH, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append(time.perf_counter() - began)
            bad += response.status != 200
        conn.close()
        with lock:
            latencies.extend(mine)
            failures.append(bad)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {"rate": len(latencies) / elapsed, "latencies": latencies, "failures": sum(failures)}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600, help="per server and round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=24)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--serve-minimal", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_minimal:
        serve_minimal(args.serve_minimal, args.database)
        return 0

    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, client_cpu = (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)
    with tempfile.TemporaryDirectory(prefix="bench-webhook-") as folder:
        servers = start_servers(Path(folder), server_cpu)
        if client_cpu is not None:
            os.sched_setaffinity(0, {client_cpu})
        try:
            results = {
                s.name: {"rates": [], "latencies": [], "failures": 0, "cpu": 0.0, "count": 0}
                for s in servers
            }
            for server in servers:
                load(server.port, signed_requests(server.port, args.warmup), args.concurrency)
            for round_ in range(args.rounds):
                for server in servers if round_ % 2 == 0 else servers[::-1]:
                    work = signed_requests(server.port, args.requests)
                    cpu = server.cpu_seconds()
                    run = load(server.port, work, args.concurrency)
                    results[server.name]["cpu"] += server.cpu_seconds() - cpu
                    results[server.name]["count"] += len(work)
                    results[server.name]["rates"].append(run["rate"])
                    results[server.name]["latencies"] += run["latencies"]
                    results[server.name]["failures"] += run["failures"]
        finally:
            for server in servers:
                server.stop()

    pinned = (
        f"server on CPU {server_cpu}, client on CPU {client_cpu}"
        if server_cpu is not None
        else "not pinned (one CPU)"
    )
    print(
        f"{args.rounds} rounds x {args.requests} signed requests per server, "
        f"{args.concurrency} keep-alive connections, waitress {THREADS} threads, SQLite; {pinned}"
    )
    print(
        f"{'server':<24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11} {'non-200':>8}"
    )
    rates = {}
    for name, result in results.items():
        rates[name] = statistics.median(result["rates"])
        lat = result["latencies"]
        print(
            f"{name:<24} {rates[name]:>8.0f} {percentile(lat, 0.5) * 1000:>8.2f} "
            f"{percentile(lat, 0.99) * 1000:>8.2f} {result['cpu'] / result['count'] * 1000:>11.2f} "
            f"{result['failures']:>8}"
        )
    minimal, kit = (s.name for s in servers)
    ratios = [k / m for k, m in zip(results[kit]["rates"], results[minimal]["rates"], strict=True)]
    print(
        f"ratio kit/minimal (median of {len(ratios)} rounds): {statistics.median(ratios):.2f}  "
        f"(rounds {min(ratios):.2f}-{max(ratios):.2f}; target >= 0.80)"
    )
    return 0 if all(r["failures"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
