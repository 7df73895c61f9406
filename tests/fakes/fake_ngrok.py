"""A stand-in for the ngrok v3 agent, speaking the protocol pyngrok drives.

Built from pyngrok 9's process.py and ngrok.py (see platform-facts.md §7.1): pyngrok runs
`ngrok start --none --log stdout [--config X] [--authtoken T]`, waits for the logfmt lines
"starting web service" (with addr=), "tunnel session started" and "client session
established", then uses the local JSON API on /api/endpoints.

Like the real agent, each endpoint forwards HTTP to the upstream and adds
X-Forwarded-Proto/Host, so the app behind it sees the public https URL that providers sign.
The public URL itself is not reachable here; the forwarding port is reported in the
endpoint's extra field `local_forward`.

Environment: FAKE_NGROK_FAIL=<text> makes it log that error at start (lvl=eror) and exit;
FAKE_NGROK_HANG=1 makes it start and never say anything (an agent stuck offline).
Standard library only.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

VERSION = "3.20.0"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "host", "content-length"}


def log(lvl: str, msg: str, **fields: str) -> None:
    extra = " ".join(f"{k}={v}" for k, v in fields.items())
    print(f't={time.strftime("%Y-%m-%dT%H:%M:%S%z")} lvl={lvl} msg="{msg}" {extra}', flush=True)


def forwarder(upstream: str, public_host: str) -> ThreadingHTTPServer:
    """A server on a free loopback port that relays every request to `upstream`."""
    target = urlsplit(upstream)

    class Relay(BaseHTTPRequestHandler):
        def relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers.update(
                {
                    "Host": public_host,
                    "X-Forwarded-For": self.client_address[0],
                    "X-Forwarded-Proto": "https",
                    "X-Forwarded-Host": public_host,
                }
            )
            conn = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=30)
            conn.request(self.command, self.path, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = relay

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Relay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Agent:
    def __init__(self) -> None:
        self.endpoints: dict[str, dict] = {}
        self.relays: dict[str, ThreadingHTTPServer] = {}

    def create(self, options: dict) -> dict:
        name = options.get("name") or f"endpoint-{uuid.uuid4().hex[:8]}"
        upstream = (options.get("upstream") or {}).get(
            "url"
        ) or f"http://localhost:{options.get('addr')}"
        if "://" not in upstream:
            upstream = f"http://localhost:{upstream}"
        host = f"lab-{uuid.uuid4().hex[:10]}.ngrok-free.app"
        relay = forwarder(upstream, host)
        endpoint = {
            "id": f"ep_{uuid.uuid4().hex[:24]}",
            "name": name,
            "uri": f"/api/endpoints/{name}",
            "url": f"https://{host}",
            "public_url": f"https://{host}",
            "upstream": {"url": upstream, "protocol": "http1"},
            "local_forward": f"http://127.0.0.1:{relay.server_address[1]}",
        }
        self.endpoints[name] = endpoint
        self.relays[name] = relay
        return endpoint

    def delete(self, name: str) -> bool:
        relay = self.relays.pop(name, None)
        if relay:
            relay.shutdown()
        return self.endpoints.pop(name, None) is not None


def api_server(agent: Agent) -> ThreadingHTTPServer:
    class Api(BaseHTTPRequestHandler):
        def reply(self, status: int, payload: dict | None = None) -> None:
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/api/endpoints":
                return self.reply(200, {"endpoints": list(agent.endpoints.values())})
            name = self.path.rsplit("/", 1)[-1]
            if name in agent.endpoints:
                return self.reply(200, agent.endpoints[name])
            self.reply(404, {"error_code": 404, "msg": "endpoint not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            options = json.loads(self.rfile.read(length) or b"{}")
            self.reply(201, agent.create(options))

        def do_DELETE(self) -> None:
            found = agent.delete(self.path.rsplit("/", 1)[-1])
            self.reply(204) if found else self.reply(404, {"msg": "endpoint not found"})

        def log_message(self, *args: object) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Api)


def main(argv: list[str]) -> int:
    if "--version" in argv or argv[:1] == ["version"]:
        print(f"ngrok version {VERSION}")
        return 0
    if argv[:1] != ["start"]:
        print(f"fake ngrok: unsupported command {argv}", file=sys.stderr)
        return 2
    if os.environ.get("FAKE_NGROK_HANG"):
        time.sleep(600)
        return 1
    failure = os.environ.get("FAKE_NGROK_FAIL")
    if failure:
        log("eror", "session closing", err=json.dumps(failure))
        return 1
    server = api_server(Agent())
    log("info", "open config file", path="fake")
    log("info", "starting web service", obj="web", addr=f"127.0.0.1:{server.server_address[1]}")
    log("info", "tunnel session started", obj="tunnels.session")
    log("info", "client session established", obj="csess", id=uuid.uuid4().hex[:12])
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
