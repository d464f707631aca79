"""Node daemon and RPC client over real TLS on 127.0.1.N."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
ADDRS = ["127.0.1.211", "127.0.1.212", "127.0.1.213"]


def _env(root: str) -> dict:
    env = dict(os.environ, GANETI_ROOTDIR=root, GANETI_HOSTNAME="n.example")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    return env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("noded"))
    env = _env(root)
    subprocess.run([sys.executable, "-c", "from ganeti import crypto, pathutils, utils;"
                    "import os; os.makedirs(os.path.dirname(pathutils.NODED_CERT_FILE),"
                    " exist_ok=True); crypto.write_cluster_cert(pathutils.NODED_CERT_FILE, 'c')"],
                   env=env, check=True)
    procs = []
    try:
        for addr in ADDRS:
            # every daemon gets its own pid file directory (same root otherwise)
            sub = os.path.join(root, addr)
            os.makedirs(os.path.join(sub, "var", "lib", "ganeti"), exist_ok=True)
            os.link(os.path.join(root, "var", "lib", "ganeti", "server.pem"),
                    os.path.join(sub, "var", "lib", "ganeti", "server.pem"))
            procs.append(subprocess.Popen(
                [sys.executable, os.path.join(REPO, "scripts", "ganeti-noded"), "-f",
                 "-b", addr], env=_env(sub), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True))
        deadline = time.time() + 20
        import socket
        for addr in ADDRS:
            while True:
                try:
                    socket.create_connection((addr, 1811), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.05)
        yield root
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def _client(root):
    from ganeti.rpc.client import RpcClient
    return RpcClient(cert_file=os.path.join(root, "var", "lib", "ganeti", "server.pem"))


def test_parallel_version_call(cluster):
    client = _client(cluster)
    nodes = [("n%d" % i, a, False) for i, a in enumerate(ADDRS)]
    res = client.call("version", nodes, [])
    assert {n: r.payload for n, r in res.items()} == {"n0": 3000000, "n1": 3000000,
                                                      "n2": 3000000}


def test_offline_and_unreachable(cluster):
    client = _client(cluster)
    res = client.call("version", [("off", "127.0.1.214", True)], [])
    assert res["off"].fail_msg  # version accepts offline nodes: it is tried, and fails
    res = client.call("node_info", [("off", "127.0.1.214", True)], [[], []])
    assert res["off"].fail_msg == "Node is marked offline" and res["off"].offline
    res = client.call("version", [("gone", "127.0.1.215", False)], [])
    assert "connect" in res["gone"].fail_msg.lower()


def test_upload_whitelist_and_errors(cluster):
    client = _client(cluster)
    node = [("n0", ADDRS[0], False)]
    res = client.call("upload_file", node, ["/etc/passwd", [0, "x"], 0o644, None, None, None,
                                            None])
    assert "not allowed" in res["n0"].fail_msg
    res = client.call("jobqueue_update", node, ["/var/lib/ganeti/queue/job-1", [0, "{}"]])
    assert res["n0"].fail_msg is None
    path = os.path.join(cluster, ADDRS[0], "var", "lib", "ganeti", "queue", "job-1")
    with open(path) as fh:
        assert fh.read() == "{}"
    res = client.call("jobqueue_update", node, ["/var/lib/ganeti/queue/../config.data",
                                                [0, "x"]])
    assert "not inside the queue" in res["n0"].fail_msg


def _post(addr: str, path: str, body: bytes, ctx: ssl.SSLContext, method: str = "POST"):
    req = urllib.request.Request("https://%s:1811/%s" % (addr, path), data=body, method=method)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _ctx(certfile: str | None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if certfile:
        ctx.load_cert_chain(certfile)
    return ctx


def test_client_without_cluster_cert_refused_and_logged(cluster, tmp_path):
    status, body = _post(ADDRS[1], "version", b"[]", _ctx(None))
    assert status == 403
    from ganeti import crypto
    key, cert = crypto.generate_self_signed_cert("intruder")
    other = tmp_path / "other.pem"
    other.write_bytes(key + cert)
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
        _post(ADDRS[1], "version", b"[]", _ctx(str(other)))
    time.sleep(0.2)
    log = os.path.join(cluster, ADDRS[1], "var", "log", "ganeti", "node-daemon.log")
    with open(log) as fh:
        text = fh.read()
    assert "Refused request" in text and "no client certificate" in text
    assert "Refused connection" in text


@pytest.mark.parametrize("path,body,method,code,fragment", [
    ("version", b"not json", "POST", 400, "Invalid JSON"),
    ("version", b"{}", "POST", 400, "JSON list"),
    ("nosuch", b"[]", "POST", 404, "Unknown procedure"),
    ("version", b"[]", "PUT", 400, "use POST"),
    ("test_delay", b"[1, 2, 3]", "POST", 400, "arguments"),
])
def test_malformed_requests(cluster, path, body, method, code, fragment):
    cert = os.path.join(cluster, "var", "lib", "ganeti", "server.pem")
    status, answer = _post(ADDRS[2], path, body, _ctx(cert), method)
    assert status == code
    assert fragment in answer["message"]
