#!/usr/bin/env python3
"""A receiving HTTP server for the HTTP connectors' tests, with fault injection.

    receiver.py PORT [CERT KEY]     (with CERT and KEY: HTTPS)

Every request to a path not starting with /_ gets a fate, drawn from the current configuration:
  ok      answer `status` (200) after `delay_seconds` (0) and record the request as processed;
  500     answer 500, not processed;
  429     answer 429 with Retry-After: `retry_after`, not processed;
  hang    record the request as processed, then wait `hang_seconds` before answering 200 (the
          client has given up by then: "a timeout that actually succeeded");
  drop    wait `hang_seconds` and answer 500, not processed (a hang that processed nothing).
A `script` list of fates is used first, one per request, then the probabilities. A request whose
body contains `reject_if_contains` is answered 400 (not processed).

Control (JSON): POST /_config {"p500": .1, "p429": .1, "phang": .05, "pdrop": 0, "retry_after":
"1", "hang_seconds": 3, "status": 200, "seed": 1, "script": ["500", "ok"],
"reject_if_contains": "poison", "routes": {"/path": {...a response...}}}; POST /_reset (forget
requests and config); GET /_requests (every request with its fate); GET /_stats
({"max_in_flight", "requests"}); GET /_health. A scripted fate may also be a status ("503").
GET requests to paths in `routes` answer that route's canned response: {"status": 200,
"headers": {...}, "body": "..."} or a list of such responses served in turn by the query
parameter `page` (for the polling source's pagination tests).
"""
import json
import random
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
STATE = {"config": {}, "requests": [], "rng": random.Random(0), "script": [], "in_flight": 0,
         "max_in_flight": 0}


def reset():
    STATE["config"] = {}
    STATE["requests"] = []
    STATE["rng"] = random.Random(0)
    STATE["script"] = []
    STATE["max_in_flight"] = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=None):
        try:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def control(self, body):
        path = urlsplit(self.path).path
        if path == "/_health":
            return self.reply(200, b"ok")
        if path == "/_reset":
            with LOCK:
                reset()
            return self.reply(200, b"{}")
        if path == "/_config":
            cfg = json.loads(body or b"{}")
            with LOCK:
                STATE["config"] = cfg
                STATE["rng"] = random.Random(cfg.get("seed", 0))
                STATE["script"] = list(cfg.get("script", []))
            return self.reply(200, b"{}")
        if path == "/_stats":
            with LOCK:
                data = json.dumps({"max_in_flight": STATE["max_in_flight"],
                                   "requests": len(STATE["requests"])}).encode()
            return self.reply(200, data, {"Content-Type": "application/json"})
        if path == "/_requests":
            with LOCK:
                data = json.dumps(STATE["requests"]).encode()
            return self.reply(200, data, {"Content-Type": "application/json"})
        return self.reply(404)

    def route(self, cfg, path, query):
        r = cfg.get("routes", {}).get(path)
        if r is None:
            return False
        if isinstance(r, list):
            page = int(query.get("page", ["0"])[0])
            r = r[page] if page < len(r) else {"status": 200, "body": "[]"}
        body = r.get("body", "")
        if not isinstance(body, str):
            body = json.dumps(body)
        self.reply(r.get("status", 200), body.encode(), r.get("headers", {}))
        return True

    def handle_any(self):
        body = self.body()
        parts = urlsplit(self.path)
        if parts.path.startswith("/_"):
            return self.control(body)
        query = parse_qs(parts.query)
        with LOCK:
            cfg = dict(STATE["config"])
            if self.route(cfg, parts.path, query):
                STATE["requests"].append({"method": self.command, "path": self.path,
                                          "headers": dict(self.headers.items()),
                                          "body": body.decode("utf-8", "replace"),
                                          "fate": "route"})
                return
            rng = STATE["rng"]
            if STATE["script"]:
                fate = STATE["script"].pop(0)
            else:
                x = rng.random()
                fate = "ok"
                for name in ("500", "429", "hang", "drop"):
                    p = cfg.get("p" + name, 0)
                    if x < p:
                        fate = name
                        break
                    x -= p
            needle = cfg.get("reject_if_contains")
            if needle and needle.encode() in body:
                fate = "400"
            STATE["requests"].append({"method": self.command, "path": self.path,
                                      "headers": dict(self.headers.items()),
                                      "body": body.decode("utf-8", "replace"), "fate": fate,
                                      "at": time.time(), "peer_port": self.client_address[1]})
            STATE["in_flight"] += 1
            STATE["max_in_flight"] = max(STATE["max_in_flight"], STATE["in_flight"])
        try:
            self.answer(cfg, fate)
        finally:
            with LOCK:
                STATE["in_flight"] -= 1

    def answer(self, cfg, fate):
        hang = float(cfg.get("hang_seconds", 3))
        if fate == "ok":
            if cfg.get("delay_seconds"):
                time.sleep(float(cfg["delay_seconds"]))
            self.reply(int(cfg.get("status", 200)), b'{"ok":true}')
        elif fate == "500":
            self.reply(500, b"injected failure")
        elif fate == "400":
            self.reply(400, b"rejected")
        elif fate == "429":
            self.reply(429, b"slow down", {"Retry-After": str(cfg.get("retry_after", "1"))})
        elif fate in ("hang", "drop"):
            time.sleep(hang)
            self.reply(200 if fate == "hang" else 500, b"late")
        else:
            ra = {"Retry-After": str(cfg.get("retry_after", "1"))} if fate in ("429", "503") else {}
            self.reply(int(fate), b"scripted", ra)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any


def main():
    port = int(sys.argv[1])
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    srv.request_queue_size = 128
    if len(sys.argv) >= 4:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
