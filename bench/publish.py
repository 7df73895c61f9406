"""One post to six networks whose stand-ins each take 1 s to answer: published in parallel.

    python bench/publish.py [--latency 1.0]

The lab runs in the classroom sandbox (jobs in-process, one per publication). LinkedIn,
WhatsApp (Twilio) and Telegram are their stand-ins, slowed down to `--latency` seconds per
post; networks this checkout has no publisher for (Facebook, Instagram, TikTok until their
packages land) are registered here as a publisher that POSTs to a local endpoint with the
same latency. Target: the post fully published in at most 1.5 s (in parallel), not 6 s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any

import requests
from flask import Flask, request

os.environ.setdefault("LAB_ENV_FILE", "none")

from lab_server import start  # noqa: E402
from lab_server.pipeline import Pipeline  # noqa: E402
from lab_server.publish import Post, networks, register_publisher  # noqa: E402
from lab_server.serving import ServerThread  # noqa: E402

SIX = ["facebook", "instagram", "linkedin", "telegram", "tiktok", "whatsapp"]
TARGET = 1.5


def slow_endpoint(latency: float) -> ServerThread:
    """A local endpoint that answers each post after `latency` seconds."""
    app = Flask("slow-network")

    @app.post("/<network>/posts")
    def create(network: str):
        time.sleep(latency)
        return {"id": f"{network}-{request.content_length}"}, 201

    return ServerThread(app, "127.0.0.1", 0)


def stand_in_publisher(base: str, network: str) -> Any:
    def publish(text: str, image_url: str | None, ctx: Any) -> Post:
        answer = requests.post(f"{base}/{network}/posts", json={"text": text}, timeout=10)
        return Post(network, answer.json()["id"])

    return publish


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0)
    args = parser.parse_args()
    endpoint = slow_endpoint(args.latency)
    generic = [n for n in SIX if n not in networks()]
    for network in generic:
        register_publisher(network, stand_in_publisher(endpoint.url, network))
    with tempfile.TemporaryDirectory() as data:
        os.environ.update(LAB_DATA_DIR=data, LAB_SANDBOX="1", LLM_REPLIES="0")
        lab = start(port=0, sandbox=True, show=False)
        try:
            for name in ("linkedin", "twilio", "telegram"):
                lab.sandbox[name].app.before_request(
                    lambda: time.sleep(args.latency) if request.method == "POST" else None
                )
            pipeline = Pipeline.of(lab)
            post = pipeline.create_post("Feria de IA", "El jueves 28 hay feria de proyectos.")
            pipeline.adapt(post["id"], SIX)  # before the clock: the model is not the subject
            began = time.perf_counter()
            pipeline.publish(post["id"])
            status = pipeline.wait(post["id"], timeout=30)
            elapsed = time.perf_counter() - began
        finally:
            lab.stop()
            endpoint.stop()
    print(f"{'network':<10} {'status':<10} {'stand-in':<10}")
    for network in SIX:
        kind = "genérico" if network in generic else "del kit"
        print(f"{network:<10} {status['publications'][network]['status']:<10} {kind:<10}")
    mark = "yes" if elapsed <= TARGET and status["status"] == "published" else "NO"
    print(f"\n{'what':<44} {'time':>7} {'target':>7}  ok")
    print(
        f"{'1 post x 6 networks, ' + f'{args.latency:g} s each':<44} {elapsed:>6.2f}s "
        f"{TARGET:>6.1f}s  {mark}"
    )


if __name__ == "__main__":
    main()
