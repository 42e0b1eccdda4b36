#!/usr/bin/env python3
"""A stand-in of the WebHDFS REST API (Hadoop 3.4 documentation, "WebHDFS REST API") for the
hdfs connector's tests: the operations the connector uses, with the NameNode's two-step
redirects (CREATE, OPEN), overwrite=false, RENAME's false on an existing destination, and
RemoteException bodies. Files live under --root. Not a NameNode: no blocks, leases or
replication.

usage: webhdfs_standin.py --port P --root DIR [--token T] [--deny-user U]
"""
import argparse
import json
import os
import shutil
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


def remote_exception(exc, msg):
    return json.dumps({"RemoteException": {"exception": exc, "javaClassName": "org.apache.hadoop." + exc,
                                           "message": msg}}).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, code, body=b"", ctype="application/json", headers=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def fail(self, code, exc, msg):
        self.send(code, remote_exception(exc, msg))

    def local(self, hdfs_path):
        parts = [p for p in hdfs_path.split("/") if p]
        if any(p in (".", "..") for p in parts):
            return None
        return os.path.join(self.server.root, *parts)

    def status_of(self, path, name):
        st = os.stat(path)
        d = os.path.isdir(path)
        return {"pathSuffix": name, "type": "DIRECTORY" if d else "FILE", "length": 0 if d else st.st_size,
                "modificationTime": int(st.st_mtime * 1000), "owner": "iggy", "group": "supergroup",
                "permission": "755" if d else "644", "replication": 0 if d else 1,
                "blockSize": 0 if d else 134217728, "accessTime": 0, "childrenNum": 0, "fileId": st.st_ino}

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        data = self.body()
        if not url.path.startswith("/webhdfs/v1"):
            return self.fail(404, "FileNotFoundException", "not a WebHDFS path")
        hdfs_path = urllib.parse.unquote(url.path[len("/webhdfs/v1"):]) or "/"
        op = q.get("op", "").upper()
        srv = self.server
        if srv.token is not None and q.get("delegation") != srv.token and "datanode" not in q:
            return self.fail(401, "SecurityException", "Failed to obtain user group information: "
                             "token is not valid")
        if srv.deny_user and q.get("user.name") == srv.deny_user:
            return self.fail(403, "AccessControlException",
                             "Permission denied: user=%s, access=WRITE" % srv.deny_user)
        p = self.local(hdfs_path)
        if p is None:
            return self.fail(400, "IllegalArgumentException", "bad path")
        with LOCK:
            if self.command == "GET" and op == "GETFILESTATUS":
                if not os.path.exists(p):
                    return self.fail(404, "FileNotFoundException", "File does not exist: " + hdfs_path)
                return self.send(200, json.dumps({"FileStatus": self.status_of(p, "")}).encode())
            if self.command == "GET" and op == "LISTSTATUS":
                if not os.path.exists(p):
                    return self.fail(404, "FileNotFoundException", "File " + hdfs_path + " does not exist.")
                if os.path.isdir(p):
                    items = [self.status_of(os.path.join(p, n), n) for n in sorted(os.listdir(p))]
                else:
                    items = [self.status_of(p, "")]
                return self.send(200, json.dumps({"FileStatuses": {"FileStatus": items}}).encode())
            if self.command == "PUT" and op == "CREATE":
                if "datanode" not in q:
                    if data:
                        return self.fail(400, "IllegalArgumentException", "data sent to the NameNode")
                    q["datanode"] = "true"
                    loc = "http://127.0.0.1:%d%s?%s" % (srv.server_port, url.path, urllib.parse.urlencode(q))
                    return self.send(307, b"", headers={"Location": loc})
                overwrite = q.get("overwrite", "false") == "true"
                if os.path.exists(p) and not overwrite:
                    return self.fail(403, "FileAlreadyExistsException", hdfs_path + " already exists")
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "wb") as f:
                    f.write(data)
                return self.send(201, b"", headers={"Location": "hdfs://standin" + hdfs_path})
            if self.command == "GET" and op == "OPEN":
                if "datanode" not in q:
                    if not os.path.isfile(p):
                        return self.fail(404, "FileNotFoundException", "File does not exist: " + hdfs_path)
                    q["datanode"] = "true"
                    loc = "http://127.0.0.1:%d%s?%s" % (srv.server_port, url.path, urllib.parse.urlencode(q))
                    return self.send(307, b"", headers={"Location": loc})
                if not os.path.isfile(p):
                    return self.fail(404, "FileNotFoundException", "File does not exist: " + hdfs_path)
                size = os.path.getsize(p)
                off = int(q.get("offset", "0"))
                if off > size:
                    return self.fail(403, "IOException", "Offset=%d out of the range [0, %d)" % (off, size))
                length = int(q["length"]) if "length" in q else size - off
                with open(p, "rb") as f:
                    f.seek(off)
                    chunk = f.read(length)
                return self.send(200, chunk, ctype="application/octet-stream")
            if self.command == "PUT" and op == "MKDIRS":
                os.makedirs(p, exist_ok=True)
                return self.send(200, b'{"boolean": true}')
            if self.command == "PUT" and op == "RENAME":
                dest = self.local(q.get("destination", ""))
                ok = (dest is not None and os.path.exists(p) and not os.path.exists(dest)
                      and os.path.isdir(os.path.dirname(dest)))
                if ok:
                    os.rename(p, dest)
                return self.send(200, json.dumps({"boolean": ok}).encode())
            if self.command == "DELETE" and op == "DELETE":
                if not os.path.exists(p):
                    return self.send(200, b'{"boolean": false}')
                if os.path.isdir(p):
                    if os.listdir(p) and q.get("recursive") != "true":
                        return self.fail(403, "PathIsNotEmptyDirectoryException", hdfs_path + " is non empty")
                    shutil.rmtree(p)
                else:
                    os.remove(p)
                return self.send(200, b'{"boolean": true}')
        return self.fail(400, "UnsupportedOperationException", "op=%s is not supported" % op)

    do_GET = do_PUT = do_DELETE = do_POST = handle_any


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--token")
    ap.add_argument("--deny-user")
    a = ap.parse_args()
    os.makedirs(a.root, exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.root, srv.token, srv.deny_user = a.root, a.token, a.deny_user
    print("webhdfs stand-in on 127.0.0.1:%d" % a.port, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
