#!/usr/bin/env python3
"""A stand-in for the Confluent Schema Registry REST API (the subset Tributary's client uses), for
tests where no real registry can run. It follows the documented API (Confluent's "Schema Registry
API Reference", the same paths Apicurio serves under /apis/ccompat/v7): ids are global and a
schema registered under two subjects keeps one id; errors are JSON {error_code, message} with
40401 subject not found, 40402 version not found, 40403 schema not found, 42201 invalid schema,
40101 unauthorized. It does not implement compatibility rules beyond one: a schema of another
schemaType than the subject's latest is incompatible.

Control endpoints for tests (never authenticated):
  POST /_standin/fail?status=503&count=2   the next 2 API requests answer 503
  GET  /_standin/requests                  {"requests": N} API requests served so far

Usage: ccompat_standin.py --port P [--prefix /apis/ccompat/v7] [--user-info user:pass]
       [--bearer TOKEN] [--tls-cert F --tls-key F [--tls-client-ca F]]
"""
import argparse
import base64
import json
import re
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit, parse_qs

CT = "application/vnd.schemaregistry.v1+json"


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.schemas = []  # index = id - 1: (type, text, refs)
        self.subjects = {}  # subject -> [id, ...] (version = index + 1)
        self.fail_status = 0
        self.fail_count = 0
        self.requests = 0


def canon(body):
    stype = body.get("schemaType") or "AVRO"
    refs = body.get("references") or []
    refs = [{"name": r.get("name", ""), "subject": r.get("subject", ""),
             "version": int(r.get("version", 0))} for r in refs]
    return (stype, body.get("schema", ""), json.dumps(refs, sort_keys=True))


def schema_json(key, sid=None, subject=None, version=None):
    stype, text, refs = key
    out = {}
    if subject is not None:
        out.update({"subject": subject, "version": version, "id": sid})
    out["schema"] = text
    if stype != "AVRO":
        out["schemaType"] = stype
    r = json.loads(refs)
    if r:
        out["references"] = r
    return out


def make_handler(state, args):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go in two writes

        def log_message(self, fmt, *a):  # quiet: the harness keeps stdout as the log
            pass

        def send(self, status, obj):
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", CT)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def err(self, status, code, message):
            self.send(status, {"error_code": code, "message": message})

        def authorized(self):
            if not args.user_info and not args.bearer:
                return True
            got = self.headers.get("Authorization", "")
            if args.user_info and got == "Basic " + base64.b64encode(
                    args.user_info.encode()).decode():
                return True
            if args.bearer and got == "Bearer " + args.bearer:
                return True
            return False

        def body(self):
            n = int(self.headers.get("Content-Length", "0") or 0)
            raw = self.rfile.read(n) if n else b""
            try:
                b = json.loads(raw or b"{}")
            except ValueError:
                return None
            return b if isinstance(b, dict) else None

        def route(self, method):
            url = urlsplit(self.path)
            path = url.path
            if path.startswith("/_standin/"):
                q = parse_qs(url.query)
                if path == "/_standin/fail":
                    with state.lock:
                        state.fail_status = int(q.get("status", ["503"])[0])
                        state.fail_count = int(q.get("count", ["1"])[0])
                    return self.send(200, {})
                if path == "/_standin/requests":
                    with state.lock:
                        return self.send(200, {"requests": state.requests})
                return self.err(404, 404, "unknown control path")
            if args.prefix:
                if not path.startswith(args.prefix):
                    return self.err(404, 404, "not found")
                path = path[len(args.prefix):]
            body = self.body() if method == "POST" else {}
            with state.lock:
                state.requests += 1
                if state.fail_count > 0:
                    state.fail_count -= 1
                    return self.err(state.fail_status, state.fail_status * 100, "injected failure")
            if not self.authorized():
                return self.err(401, 40101, "Unauthorized")
            if body is None:
                return self.err(422, 42201, "Invalid request body")
            with state.lock:
                return self.api(method, path, body)

        def api(self, method, path, body):
            m = re.fullmatch(r"/schemas/ids/(\d+)", path)
            if m and method == "GET":
                sid = int(m.group(1))
                if sid < 1 or sid > len(state.schemas):
                    return self.err(404, 40403, "Schema %d not found" % sid)
                return self.send(200, schema_json(state.schemas[sid - 1]))
            if path == "/subjects" and method == "GET":
                return self.send(200, sorted(state.subjects))
            m = re.fullmatch(r"/subjects/([^/]+)/versions", path)
            if m and method == "POST":
                subject = unquote(m.group(1))
                key = canon(body)
                if not key[1]:
                    return self.err(422, 42201, "Empty schema")
                if key[0] not in ("AVRO", "PROTOBUF", "JSON"):
                    return self.err(422, 42201, "Unknown schema type " + key[0])
                if key in state.schemas:
                    sid = state.schemas.index(key) + 1
                else:
                    state.schemas.append(key)
                    sid = len(state.schemas)
                versions = state.subjects.setdefault(subject, [])
                if sid not in versions:
                    versions.append(sid)
                return self.send(200, {"id": sid})
            m = re.fullmatch(r"/subjects/([^/]+)/versions/([^/]+)", path)
            if m and method == "GET":
                subject = unquote(m.group(1))
                if subject not in state.subjects:
                    return self.err(404, 40401, "Subject '%s' not found." % subject)
                versions = state.subjects[subject]
                v = m.group(2)
                n = len(versions) if v in ("latest", "-1") else int(v) if v.isdigit() else 0
                if n < 1 or n > len(versions):
                    return self.err(404, 40402, "Version %s not found." % v)
                sid = versions[n - 1]
                return self.send(200, schema_json(state.schemas[sid - 1], sid, subject, n))
            m = re.fullmatch(r"/subjects/([^/]+)", path)
            if m and method == "POST":
                subject = unquote(m.group(1))
                if subject not in state.subjects:
                    return self.err(404, 40401, "Subject '%s' not found." % subject)
                key = canon(body)
                for n, sid in enumerate(state.subjects[subject], 1):
                    if state.schemas[sid - 1] == key:
                        return self.send(200, schema_json(key, sid, subject, n))
                return self.err(404, 40403, "Schema not found")
            m = re.fullmatch(r"/compatibility/subjects/([^/]+)/versions/latest", path)
            if m and method == "POST":
                subject = unquote(m.group(1))
                if subject not in state.subjects:
                    return self.err(404, 40401, "Subject '%s' not found." % subject)
                latest = state.schemas[state.subjects[subject][-1] - 1]
                return self.send(200, {"is_compatible": latest[0] == canon(body)[0]})
            return self.err(404, 404, "HTTP 404 Not Found")

        def do_GET(self):
            self.route("GET")

        def do_POST(self):
            self.route("POST")

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--prefix", default="")
    p.add_argument("--user-info", default="")
    p.add_argument("--bearer", default="")
    p.add_argument("--tls-cert", default="")
    p.add_argument("--tls-key", default="")
    p.add_argument("--tls-client-ca", default="")
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(State(), args))
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        if args.tls_client_ca:
            ctx.load_verify_locations(args.tls_client_ca)
            ctx.verify_mode = ssl.CERT_REQUIRED
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("ccompat stand-in listening on 127.0.0.1:%d%s" % (args.port, args.prefix), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
