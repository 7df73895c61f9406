"""How long the WhatsApp webhook takes with a slow model, and when the final answer lands.

Everything runs on loopback: the lab server, served as `lab-server run` serves it (waitress,
8 threads), Twilio's and OpenAI's stand-ins. For each model latency, `--messages` phones
each send one message at the same time; the last row is a whole class (`--class-size`
phones, a model that takes `--class-latency` s). The script records how long each webhook
took and when the model's answer was delivered (in the webhook's TwiML, or later through
Twilio's REST API). Target: every webhook answers within LLM_TIMEOUT + 0.5 s of its
arrival, and every message gets its model answer exactly once.

    .venv/bin/python bench/deadline.py                # latencies 0.5 5 30, then 30 x 20 s
    .venv/bin/python bench/deadline.py --latencies 1 3 --timeout 2 --class-size 0
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

os.environ["LAB_ENV_FILE"] = "none"  # never read a personal .env

from lab_server.config import load_settings  # noqa: E402
from lab_server.runner import prepare  # noqa: E402
from lab_server.serving import WaitressThread  # noqa: E402

MARGIN = 0.5
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_latency(box, latency: float, messages: int, wait_limit: float) -> dict:
    twilio, model = box["twilio"], box["openai"]
    model.behave(delay=latency)
    twilio.clear()
    phones = [f"whatsapp:+5917{latency * 10:03.0f}{i:04d}" for i in range(messages)]
    for phone in phones:
        twilio.join(phone)

    def one(phone: str) -> tuple[float, float, bool]:
        started, clock = time.time(), time.monotonic()  # stand-ins stamp requests with time()
        delivery = twilio.send_inbound(f"pregunta de {phone}", from_=phone)
        took = time.monotonic() - clock
        in_webhook = any(r.startswith("[sandbox] ") for r in delivery.replies)
        return started, took, in_webhook

    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=messages) as pool:
        results = dict(zip(phones, pool.map(one, phones), strict=True))
    finals: dict[str, float] = {}
    deadline = began + latency + wait_limit
    while time.monotonic() < deadline:
        late = [r for r in twilio.requests_to("/Messages.json") if r.method == "POST"]
        if len(late) + sum(r[2] for r in results.values()) >= messages:
            break
        time.sleep(0.05)
    time.sleep(1.0)  # a duplicate would show up here
    late = [r for r in twilio.requests_to("/Messages.json") if r.method == "POST"]
    per_phone: dict[str, int] = {}
    for request in late:
        per_phone[request.form["To"]] = per_phone.get(request.form["To"], 0) + 1
        finals.setdefault(request.form["To"], request.at)
    answers = []
    for phone, (started, took, in_webhook) in results.items():
        if in_webhook:
            answers.append(took)
        elif phone in finals:
            answers.append(finals[phone] - started)
    return {
        "messages": messages,
        "latency": latency,
        "worst_webhook": max(r[1] for r in results.values()),
        "in_webhook": sum(r[2] for r in results.values()),
        "late": len(late),
        "duplicates": sum(n - 1 for n in per_phone.values() if n > 1),
        "answered": sum(r[2] for r in results.values()) + len(per_phone),
        "worst_final": max(answers) if answers else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latencies", type=float, nargs="+", default=[0.5, 5.0, 30.0])
    parser.add_argument("--timeout", type=float, default=8.0, help="LLM_TIMEOUT (s)")
    parser.add_argument("--messages", type=int, default=5, help="simultaneous messages")
    parser.add_argument("--class-size", type=int, default=30, help="messages of the last row")
    parser.add_argument("--class-latency", type=float, default=20.0, help="its model latency")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as data:
        settings = load_settings(
            env={
                "LAB_DATA_DIR": data,
                "LAB_RESPONSES": os.path.join(ROOT, "responses.json"),
                "LLM_REPLIES": "1",
                "LLM_TIMEOUT": str(args.timeout),
            }
        )
        app, box = prepare(settings, "1")
        server = WaitressThread(app, threads=8)
        try:
            paths = app.extensions["lab"].webhook_paths()
            box.attach({name: server.url + path for name, path in paths.items()})
            rows = [run_latency(box, x, args.messages, wait_limit=30) for x in args.latencies]
            if args.class_size:
                rows.append(run_latency(box, args.class_latency, args.class_size, wait_limit=30))
        finally:
            server.stop()
            box.stop()
            app.extensions["lab"].store.close()

    budget = args.timeout + MARGIN
    print(f"LLM_TIMEOUT = {args.timeout:g} s, waitress with 8 threads as `lab-server run`")
    print(f"target: webhook worst case <= {budget:g} s; one model answer per message\n")
    header = (
        "messages | model latency | webhook worst | in webhook | late via REST | duplicates | "
        "final answer worst | ok"
    )
    print(header)
    print("-" * len(header))
    ok_all = True
    for row in rows:
        ok = (
            row["worst_webhook"] <= budget
            and row["answered"] == row["messages"]
            and row["duplicates"] == 0
        )
        ok_all &= ok
        print(
            f"{row['messages']:>8} | {row['latency']:>11.1f} s | {row['worst_webhook']:>11.2f} s | "
            f"{row['in_webhook']:>10} | {row['late']:>13} | {row['duplicates']:>10} | "
            f"{row['worst_final']:>16.2f} s | {'yes' if ok else 'NO'}"
        )
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
