#!/usr/bin/env python3
"""ganeti-rapi: requests/s of GET /2/info with 8 keep-alive clients.

On a one-node virtual cluster, 8 client processes each keep one HTTPS
connection open and repeat a request for a few seconds. Printed next to it,
measured in the same run:
- `GET /version` (answered by the daemon alone, no LUXI): the daemon's own
  cost per request;
- the bare TLS round trip: the same 8 clients against a minimal TLS server
  (a thread per connection that reads a request head and writes a fixed
  answer) with the same certificate: what TLS and the clients allow.
/2/info also pays one LUXI round trip to ganeti-masterd (QueryClusterInfo).
"""

from __future__ import annotations

import base64
import http.client
import multiprocessing
import os
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
from typing import Any

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(REPO, "test", "integration"))

from cluster_env import virtual_cluster  # noqa: E402

CLIENTS = 8
DURATION = 3.0
FIXED = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
         b"\r\n2\n")


def _client(host: str, port: int, cafile: str, path: str, auth: str | None,
            duration: float, out: "multiprocessing.Queue") -> None:
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=30)
    headers = {"Authorization": auth} if auth else {}
    count, errors = 0, 0
    end = time.monotonic() + duration
    while time.monotonic() < end:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status == 200:
            count += 1
        else:
            errors += 1
    conn.close()
    out.put((count, errors))


def load(host: str, port: int, cafile: str, path: str, auth: str | None = None) -> float:
    """Requests/s of CLIENTS processes with a keep-alive connection each."""
    q: multiprocessing.Queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_client,
                                     args=(host, port, cafile, path, auth, DURATION, q))
             for _ in range(CLIENTS)]
    for p in procs:
        p.start()
    results = [q.get(timeout=DURATION + 60) for _ in procs]
    for p in procs:
        p.join()
    total = sum(c for c, _ in results)
    errs = sum(e for _, e in results)
    if errs:
        print("  (%d non-200 answers on %s)" % (errs, path))
    return total / DURATION


def _bare_server(cert: str, ready: Any) -> None:
    """Minimal TLS server: a thread per connection, fixed answer per request head."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert)
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)
    ready.port = lsock.getsockname()[1]  # tells runner() the port

    def serve(sock: socket.socket) -> None:
        try:
            conn = ctx.wrap_socket(sock, server_side=True)
            buf = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while b"\r\n\r\n" in buf:
                    _, buf = buf.split(b"\r\n\r\n", 1)
                    conn.sendall(FIXED)
        except OSError:
            pass

    while True:
        sock, _ = lsock.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(sock,), daemon=True).start()


def bare_tls(cert: str) -> float:
    port_q: multiprocessing.Queue = multiprocessing.Queue()

    def runner(q: multiprocessing.Queue) -> None:
        class Ready:
            port = 0
        ready = Ready()
        t = threading.Thread(target=_bare_server, args=(cert, ready), daemon=True)
        t.start()
        while not ready.port:
            time.sleep(0.01)
        q.put(ready.port)
        t.join()

    proc = multiprocessing.Process(target=runner, args=(port_q,), daemon=True)
    proc.start()
    try:
        port = port_q.get(timeout=30)
        return load("127.0.0.1", port, cert, "/version")
    finally:
        proc.terminate()
        proc.join()


def main() -> int:
    multiprocessing.set_start_method("fork")
    base = tempfile.mkdtemp(prefix="br", dir="/tmp")
    try:
        with virtual_cluster(base):
            with open(os.path.join(base, "node1", "etc", "hosts")) as fh:
                ip = next(ln.split()[0] for ln in fh if "node1.vcluster.test" in ln)
            cert = os.path.join(base, "node1", "var", "lib", "ganeti", "rapi.pem")
            with open(os.path.join(base, "rapi.secret")) as fh:
                auth = "Basic " + base64.b64encode(b"vcluster:" +
                                                   fh.read().strip().encode()).decode()
            load(ip, 5080, cert, "/version")       # warm-up (imports, LUXI pool)
            info = load(ip, 5080, cert, "/2/info", auth)
            version = load(ip, 5080, cert, "/version", auth)
            bound = bare_tls(cert)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print("GET /2/info, %d keep-alive clients: %.0f requests/s" % (CLIENTS, info))
    print("  GET /version (no LUXI), same clients: %.0f requests/s" % version)
    print("  bound: bare TLS round trip, same clients: %.0f requests/s" % bound)
    print("  /2/info reaches %.0f%% of the bound, /version %.0f%%"
          % (100 * info / bound, 100 * version / bound))
    return 0


if __name__ == "__main__":
    sys.exit(main())
