"""Publishing benchmarks: one post to six slow networks, and a class's batch on RQ workers.

    python bench/publish.py [--latency 1.0] [--batch-latency 0.5] [--posts 60]
                            [--students 20] [--only single|batch]
                            [--database-url postgresql://…] [--redis-url redis://…]

1. One post to six networks whose stand-ins each take `--latency` seconds to create it. The
   lab runs in the classroom sandbox (jobs in-process, one per publication). Target: fully
   published in at most 1.5 s (in parallel), not 6 s.

2. `--posts` posts x 6 networks with 1 and with 4 RQ workers, deployed as docs/deploy.md
   describes: `lab-server run` and `lab-server worker` processes on PostgreSQL and Redis,
   talking to the stand-ins that run in this process (each create slowed to
   `--batch-latency` seconds). The posts come from `--students` students of a class-wide
   lab, each publishing from their own accounts (`Sandbox.add_student`): published limits
   are per account (TikTok 6 inits/min per token, Instagram 50 posts/24 h, Telegram 20
   messages/min per channel), so one shared account would cap any batch whatever the worker
   count. WhatsApp goes out from a production sender (the class's number): the sandbox
   number allows one message every 3 s per Twilio account, 20 posts a minute at best.
   Targets: 4 workers at least 3x faster than 1; every post published exactly once on every
   network; no account over its provider's published posting limit, as the stand-ins count
   it by their own clock (not as the kit believes it behaved).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from flask import request

os.environ.setdefault("LAB_ENV_FILE", "none")

from lab_server import start  # noqa: E402
from lab_server.config import load_settings  # noqa: E402
from lab_server.pipeline import Pipeline  # noqa: E402
from lab_server.sandbox import STANDINS, Sandbox  # noqa: E402
from lab_server.store import Store  # noqa: E402

SIX = ["facebook", "instagram", "linkedin", "telegram", "tiktok", "whatsapp"]
#: stand-in -> the path of the request that creates the post (the one slowed down)
CREATES = {
    "linkedin": "/rest/posts",
    "twilio": "/Messages",
    "telegram": "/send",
    "facebook": "/feed",
    "instagram": "/media_publish",
    "tiktok": "/init/",
}
#: stand-in -> the network whose posts it counts
NETWORK_OF = {"twilio": "whatsapp"}
#: stand-in -> how many posts it created (refused requests are not posts)
CREATED = {
    "linkedin": lambda s: len(s.posts),
    "facebook": lambda s: len(s.posts),
    "instagram": lambda s: len(s.posts),
    "tiktok": lambda s: len(s.publishes),
    "telegram": lambda s: sum(1 for m in s.messages.values() if m["chat"]["type"] == "channel"),
    "twilio": lambda s: len(s.messages),
}
TARGET = 1.5
SPEEDUP = 3.0
PRODUCTION_SENDER = "whatsapp:+15550001111"
NEWS = {
    "title": "Feria de IA",
    "content": "El jueves 28 hay feria de proyectos de IA en el patio central, de 9 a 13 h.",
    "image_url": "https://example.com/feria.jpg",  # Instagram and TikTok need one
}
CLI = shutil.which("lab-server", path=str(Path(sys.executable).parent)) or "lab-server"
ROOT = Path(__file__).resolve().parent.parent


def slow_down(sandbox: Sandbox, latency: float) -> None:
    """Every stand-in takes `latency` seconds to answer the request that creates a post."""
    for name, creates in CREATES.items():
        sandbox[name].app.before_request(
            lambda creates=creates: (
                time.sleep(latency)
                if request.method == "POST" and creates in request.path
                else None
            )
        )


# -- 1. one post, six networks, in-process ------------------------------------------------


def single(latency: float) -> tuple[float, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as data:
        os.environ.update(LAB_DATA_DIR=data, LAB_SANDBOX="1", LLM_REPLIES="0")
        lab = start(port=0, sandbox=True, show=False)
        try:
            slow_down(lab.sandbox, latency)
            pipeline = Pipeline.of(lab)
            post = pipeline.create_post(**NEWS)
            pipeline.adapt(post["id"], SIX)  # before the clock: the model is not the subject
            began = time.perf_counter()
            pipeline.publish(post["id"])
            status = pipeline.wait(post["id"], timeout=30)
            return time.perf_counter() - began, status
        finally:
            lab.stop()


# -- 2. a class's batch on RQ workers -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_schema(database_url: str) -> tuple[str, str]:
    """A new schema in the database, and the URL whose connections use it."""
    import psycopg2

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg2.connect(database_url) as conn:
        conn.autocommit = True
        conn.cursor().execute(f"CREATE SCHEMA {schema}")
    parts = urlsplit(database_url)
    option = f"options=-csearch_path%3D{schema}"
    query = f"{parts.query}&{option}" if parts.query else option
    return schema, urlunsplit(parts._replace(query=query))


def drop_schema(database_url: str, schema: str) -> None:
    import psycopg2

    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    conn.cursor().execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    conn.close()


class Deployment:
    """The lab and its workers as processes, the stand-ins here, one database schema."""

    def __init__(self, args: argparse.Namespace, workers: int, data: Path) -> None:
        self.args, self.data = args, data
        self.sandbox = Sandbox({name: cls() for name, cls in STANDINS.items()})
        slow_down(self.sandbox, args.batch_latency)
        self.sandbox["twilio"].add_sender(PRODUCTION_SENDER)
        self.schema, url = fresh_schema(args.database_url)
        self.queue = f"bench-{uuid.uuid4().hex[:10]}"
        self.token = "bench-" + uuid.uuid4().hex
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("LAB_", "TWILIO"))},
            "LAB_ENV_FILE": "none",
            "LAB_SANDBOX": "0",
            "LAB_DATA_DIR": str(data),
            "LAB_API_TOKEN": self.token,
            "LAB_RESPONSES": str(ROOT / "responses.json"),
            "LLM_REPLIES": "0",
            "DATABASE_URL": url,
            "REDIS_URL": args.redis_url,
            "LAB_QUEUE": self.queue,
        }
        for standin in self.sandbox.standins.values():
            self.env.update(standin.overrides())
        self.env["TWILIO_WHATSAPP_FROM"] = PRODUCTION_SENDER
        self.env["TELEGRAM_CHANNEL"] = self.sandbox.demos["telegram"].settings["TELEGRAM_CHANNEL"]
        settings = load_settings(env={k: v for k, v in self.env.items() if k != "LAB_ENV_FILE"})
        self.store = Store(url)
        self.store.init_schema()
        self.students = [
            self.sandbox.add_student(settings, self.store, k) for k in range(1, args.students + 1)
        ]
        with self.store.transaction() as tx:  # the class's contact, inside its 24 h window
            contact = self.sandbox["twilio"].DEMO_CONTACT
            tx.add_message(channel="whatsapp", direction="in", body="hola", sender=contact)
        self.processes: list[subprocess.Popen] = []
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.spawn("run", "--port", str(port), "--no-sandbox")
        for _ in range(workers):
            self.spawn("worker")
        self.wait_healthy()

    def spawn(self, *args: str) -> None:
        log = open(self.data / f"{args[0]}-{len(self.processes)}.log", "wb")  # noqa: SIM115
        self.processes.append(subprocess.Popen([CLI, *args], env=self.env, stdout=log, stderr=log))

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base + "/health", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise SystemExit("lab-server run no respondió: " + (self.data / "run-0.log").read_text())

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        answer = requests.request(method, self.base + path, headers=headers, timeout=60, **kwargs)
        if answer.status_code >= 300:
            raise SystemExit(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer.json()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.store.close()
        self.sandbox.stop()
        drop_schema(self.args.database_url, self.schema)
        import redis

        connection = redis.Redis.from_url(self.args.redis_url)
        for key in connection.scan_iter(f"*{self.queue}*"):
            connection.delete(key)


def batch(args: argparse.Namespace, workers: int) -> dict[str, Any]:
    """Publish the batch with `workers` RQ workers: time, statuses and what the stand-ins saw."""
    with tempfile.TemporaryDirectory() as data:
        lab = Deployment(args, workers, Path(data))
        try:
            posts = []
            for number in range(args.posts):
                accounts = lab.students[number % len(lab.students)]
                body = {**NEWS, "title": f"Noticia {number}", "accounts": accounts}
                body["content"] = f"{NEWS['content']} Aviso {number}."
                post = lab.call("POST", "/api/posts", json=body)
                lab.call("POST", f"/api/posts/{post['id']}/adapt", json={"networks": SIX})
                posts.append(post["id"])
            began = time.perf_counter()
            for post_id in posts:
                lab.call("POST", f"/api/posts/{post_id}/publish")
            statuses = wait_all(lab, posts, timeout=args.posts * 6 * (args.batch_latency + 1))
            elapsed = time.perf_counter() - began
            events = [
                json.loads(line)
                for line in (Path(data) / "publications.jsonl").read_text().splitlines()
            ]
            return {
                "workers": workers,
                "elapsed": elapsed,
                "statuses": statuses,
                "posted": posted_per_network(lab.sandbox),
                "limits": limit_report(lab.sandbox),
                "retries": sum(1 for e in events if e["event"] == "retry"),
                "waits": sum(1 for e in events if e["event"] == "rate_limited"),
            }
        finally:
            lab.stop()


def wait_all(lab: Deployment, posts: list[str], timeout: float) -> list[dict[str, Any]]:
    """The status of every post once none is processing (or at the timeout)."""
    deadline = time.monotonic() + timeout
    pending = set(posts)
    while pending and time.monotonic() < deadline:
        for post_id in sorted(pending):
            if lab.call("GET", f"/api/posts/{post_id}/status")["status"] != "processing":
                pending.discard(post_id)
        time.sleep(0.2)
    return [lab.call("GET", f"/api/posts/{post_id}/status") for post_id in posts]


def posted_per_network(sandbox: Sandbox) -> dict[str, int]:
    """How many posts each stand-in created."""
    return {NETWORK_OF.get(name, name): count(sandbox[name]) for name, count in CREATED.items()}


def limit_report(sandbox: Sandbox) -> dict[str, tuple[int, int, str, str]]:
    """Per network with a published limit: (busiest account's peak, limit, window, per what)."""
    report = {}
    for name, standin in sandbox.standins.items():
        counter = standin.posting
        if counter is None:
            continue
        peak = max(counter.peaks().values(), default=0)
        limit = counter.limit
        report[NETWORK_OF.get(name, name)] = (peak, limit.calls, window(limit.seconds), limit.per)
    return report


def window(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds:g} s"


# -- the tables -----------------------------------------------------------------------


def print_single(latency: float, elapsed: float, status: dict[str, Any]) -> bool:
    print(f"1 post to six networks, each stand-in {latency:g} s to create it (in-process jobs)\n")
    print(f"{'network':<10} {'status':<10}")
    for network in SIX:
        print(f"{network:<10} {status['publications'][network]['status']:<10}")
    ok = elapsed <= TARGET and status["status"] == "published"
    print(f"\n{'what':<44} {'time':>7} {'target':>7}  ok")
    print(
        f"{'1 post x 6 networks, ' + f'{latency:g} s each':<44} {elapsed:>6.2f}s "
        f"{TARGET:>6.1f}s  {'yes' if ok else 'NO'}\n"
    )
    return ok


def print_batch(args: argparse.Namespace, runs: list[dict[str, Any]]) -> bool:
    print(
        f"{args.posts} posts x 6 networks from {args.students} students, each create "
        f"{args.batch_latency:g} s; lab + RQ workers on PostgreSQL and Redis\n"
    )
    print(f"{'workers':>7} {'time':>8} {'published':>10} {'retries':>8} {'waits':>6}  per network")
    ok = True
    expected = args.posts * len(SIX)
    for run in runs:
        done = sum(
            1
            for status in run["statuses"]
            for pub in status["publications"].values()
            if pub["status"] == "published"
        )
        exact = all(count == args.posts for count in run["posted"].values())
        ok &= done == expected and exact
        per = " ".join(f"{n}={c}" for n, c in sorted(run["posted"].items()))
        print(
            f"{run['workers']:>7} {run['elapsed']:>7.1f}s {done:>4}/{expected:<5} "
            f"{run['retries']:>8} {run['waits']:>6}  {per}"
        )
    few, many = (run["workers"] for run in (runs[0], runs[-1]))
    busiest = f"busiest account ({few} / {many} w.)"
    print(f"\n{'network':<10} {'per':<26} {'limit':>12} {busiest:>28}  ok")
    for network in sorted(runs[0]["limits"]):
        peaks = [run["limits"][network][0] for run in runs]
        _, calls, span, per = runs[0]["limits"][network]
        fine = all(peak <= calls for peak in peaks)
        ok &= fine
        print(
            f"{network:<10} {per:<26} {f'{calls} / {span}':>12} "
            f"{' / '.join(str(p) for p in peaks):>28}  {'yes' if fine else 'NO'}"
        )
    speedup = runs[0]["elapsed"] / runs[-1]["elapsed"]
    fast = speedup >= SPEEDUP
    print(f"\n{'what':<44} {'value':>7} {'target':>7}  ok")
    mark = {True: "yes", False: "NO"}
    label = f"{runs[-1]['workers']} workers vs {runs[0]['workers']}: speed-up"
    print(f"{label:<44} {speedup:>6.2f}x {SPEEDUP:>6.1f}x  {mark[fast]}")
    print(f"{'each post once per network, within limits':<44} {'':>7} {'':>7}  {mark[ok]}")
    return ok and fast


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--batch-latency", type=float, default=0.5)
    parser.add_argument("--posts", type=int, default=60)
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--only", choices=("single", "batch"))
    parser.add_argument("--workers", type=int, nargs=2, default=(1, 4), metavar=("FEW", "MANY"))
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args()
    ok = True
    if args.only != "batch":
        elapsed, status = single(args.latency)
        ok &= print_single(args.latency, elapsed, status)
    if args.only != "single":
        runs = [batch(args, workers) for workers in args.workers]
        ok &= print_batch(args, runs)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
