"""ganeti-noded as a real process: TLS refusals, request validation, daemon plumbing.

Each node daemon runs as a subprocess with its own GANETI_ROOTDIR (pathutils
reads the environment at import) on a 127.0.1.N address. The helpers here
are also used by test_rpc.py.
"""

from __future__ import annotations

import contextlib
import datetime
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

import pytest

from ganeti import constants, crypto, daemon, errors, pathutils
from ganeti.rpc.client import RpcClient

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
NODED = os.path.join(REPO, "scripts", "ganeti-noded")
PORT = constants.DEFAULT_NODED_PORT
LOG_LINE_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: ganeti-noded pid=\d+ "
                         r"(DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


def node_paths(root: str) -> dict[str, str]:
    return {
        "data": os.path.join(root, "var/lib/ganeti"),
        "cert": os.path.join(root, "var/lib/ganeti/server.pem"),
        "log": os.path.join(root, "var/log/ganeti/node-daemon.log"),
        "pid": os.path.join(root, "var/run/ganeti/ganeti-noded.pid"),
    }


def node_env(root: str, hostname: str) -> dict[str, str]:
    env = dict(os.environ)
    env["GANETI_ROOTDIR"] = root
    env["GANETI_HOSTNAME"] = hostname
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class Noded:
    """One node daemon subprocess in the foreground (-f)."""

    def __init__(self, root: str, address: str, hostname: str, cert_pem: bytes):
        self.root = root
        self.address = address
        self.hostname = hostname
        self.paths = node_paths(root)
        os.makedirs(self.paths["data"], exist_ok=True)
        with open(self.paths["cert"], "wb") as fh:
            fh.write(cert_pem)
        os.chmod(self.paths["cert"], 0o440)
        self.env = node_env(root, hostname)
        self.proc: subprocess.Popen | None = None

    def start(self, *extra: str) -> Noded:
        self.stderr = open(os.path.join(self.root, "noded.stderr"), "ab")
        self.proc = subprocess.Popen([sys.executable, NODED, "-f", "-b", self.address, *extra],
                                     env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)
        return self

    def wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError("noded exited with %s:\n%s" % (self.proc.returncode,
                                                                   self.read_log()))
            with contextlib.suppress(OSError):
                socket.create_connection((self.address, PORT), timeout=0.5).close()
                return
            time.sleep(0.02)
        raise AssertionError("noded on %s did not come up" % self.address)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None:
            self.stderr.close()

    def read_log(self) -> str:
        try:
            with open(self.paths["log"], encoding="utf-8") as fh:
                return fh.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern: str, timeout: float = 5.0) -> str:
        deadline = time.time() + timeout
        while time.time() < deadline:
            log = self.read_log()
            if re.search(pattern, log):
                return log
            time.sleep(0.02)
        raise AssertionError("%r not in log:\n%s" % (pattern, self.read_log()))

    def target(self, name: str | None = None, offline: bool = False) -> tuple:
        return (name or self.hostname, self.address, offline)


@contextlib.contextmanager
def running_nodeds(base: str, addresses: list[str], cert_pem: bytes):
    """Start one noded per address (in parallel) and always stop them all."""
    nodes = []
    try:
        for i, addr in enumerate(addresses):
            root = os.path.join(base, "node%d" % (i + 1))
            nodes.append(Noded(root, addr, "node%d.test" % (i + 1), cert_pem).start())
        for nd in nodes:
            nd.wait_ready()
        yield nodes
    finally:
        for nd in nodes:
            nd.stop()


@pytest.fixture(scope="module")
def cluster_pem() -> bytes:
    key, cert = crypto.generate_self_signed_cert("cluster.test")
    return key + cert


@pytest.fixture(scope="module")
def noded(tmp_path_factory, cluster_pem):
    base = str(tmp_path_factory.mktemp("noded"))
    with running_nodeds(base, ["127.0.1.21"], cluster_pem) as nodes:
        yield nodes[0]


def _client_ctx(nd: Noded, client_pem: str | None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(nd.paths["cert"])
    if client_pem:
        ctx.load_cert_chain(client_pem)
    return ctx


def _https(nd: Noded, client_pem: str | None, source: str = "127.0.1.20"):
    return http.client.HTTPSConnection(nd.address, PORT, context=_client_ctx(nd, client_pem),
                                       timeout=5, source_address=(source, 0))


def _request(nd: Noded, method: str, path: str, body: bytes | str | None = None,
             headers: dict | None = None) -> tuple[int, object]:
    conn = _https(nd, nd.paths["cert"])
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def _write_pem(path: str, key_pem: bytes, cert_pem: bytes) -> str:
    with open(path, "wb") as fh:
        fh.write(key_pem + cert_pem)
    return path


def _cert_from_cluster_key(cluster_pem: bytes, new_key: bool) -> tuple[bytes, bytes]:
    """A certificate signed by the cluster key that is not the cluster cert."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    ca_key = serialization.load_pem_private_key(cluster_pem, None)
    ca_cert = crypto.load_cert(cluster_pem)
    key = ec.generate_private_key(ec.SECP256R1()) if new_key else ca_key
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "impostor")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(ca_key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


# -- TLS: who may talk to noded ---------------------------------------------
def _assert_refused(nd: Noded, client_pem: str | None, source: str, log_pattern: str,
                    tls_layer: bool) -> None:
    """Refused in the TLS handshake, or served with 403 only; logged either way."""
    conn = _https(nd, client_pem, source)
    try:
        if tls_layer:
            with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
                conn.request("POST", "/version", body="[]")
                conn.getresponse().read()
        else:
            for _ in range(2):  # every request on the connection, not only the first
                conn.request("POST", "/version", body="[]")
                resp = conn.getresponse()
                assert resp.status == 403
                assert "cluster certificate is required" in json.loads(resp.read())["message"]
    finally:
        conn.close()
    nd.wait_log(r"WARNING Refused connection from %s:\d+: %s" % (re.escape(source),
                                                                log_pattern))
    if not tls_layer:
        nd.wait_log(r"WARNING Refused request POST /version from %s: %s"
                    % (re.escape(source), log_pattern))


def test_client_without_certificate_is_refused_and_logged(noded):
    _assert_refused(noded, None, "127.0.1.22", "no client certificate", tls_layer=False)


def test_client_with_other_self_signed_cert_is_refused_and_logged(noded, tmp_path):
    pem = _write_pem(str(tmp_path / "other.pem"), *crypto.generate_self_signed_cert("evil"))
    _assert_refused(noded, pem, "127.0.1.23", r"wrong client certificate \(self-signed",
                    tls_layer=True)


@pytest.mark.parametrize("new_key, source", [(True, "127.0.1.24"), (False, "127.0.1.29")])
def test_client_cert_issued_by_cluster_key_is_not_enough(noded, tmp_path, cluster_pem,
                                                         new_key, source):
    # e.g. a per-node client.pem: passes CA verification, fails the exact pin
    pem = _write_pem(str(tmp_path / "issued.pem"), *_cert_from_cluster_key(cluster_pem,
                                                                           new_key))
    _assert_refused(noded, pem, source, r"wrong client certificate \(SHA1 [0-9A-F:]+ is not"
                                        r" the cluster certificate\)", tls_layer=False)


def test_cluster_cert_is_accepted(noded):
    assert _request(noded, "POST", "/version", "[]") == (200, [True,
                                                               constants.PROTOCOL_VERSION])


def test_client_refuses_server_with_another_key(tmp_path, cluster_pem):
    """A server cert issued by the cluster key but with its own key fails the pin."""
    key_pem, cert_pem = _cert_from_cluster_key(cluster_pem, new_key=True)
    with running_nodeds(str(tmp_path), ["127.0.1.25"], key_pem + cert_pem) as (nd,):
        cert = str(tmp_path / "cluster.pem")
        with open(cert, "wb") as fh:
            fh.write(cluster_pem)
        res = RpcClient(cert_file=cert).call("version", [nd.target()], [])[nd.hostname]
        assert res.fail_msg and res.payload is None
        assert res.fail_msg.startswith("Error 90: ") and "pinned public key" in res.fail_msg


# -- request validation ----------------------------------------------------
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_only_post_is_allowed(noded, method):
    status, body = _request(noded, method, "/version", "[]" if method != "GET" else None)
    assert status == 400 and "use POST" in body["message"]


def test_unknown_procedure_is_404(noded):
    status, body = _request(noded, "POST", "/no_such_procedure", "[]")
    assert status == 404 and body["message"] == "Unknown procedure 'no_such_procedure'"
    assert _request(noded, "POST", "/", "[]")[0] == 404


@pytest.mark.parametrize("body, fragment", [
    ("{not json", "Invalid JSON"),
    (b"\xff\xfe", "Invalid JSON"),
    ('{"a": 1}', "must be a JSON list"),
    ("[1, 2]", "Wrong number of arguments for version: expected 0, got 2"),
])
def test_malformed_bodies_are_400(noded, body, fragment):
    status, answer = _request(noded, "POST", "/version", body)
    assert status == 400
    assert fragment in answer["message"] and "Traceback" not in answer["message"]


def test_too_large_body_is_refused_before_reading(noded):
    conn = _https(noded, noded.paths["cert"])
    try:
        conn.putrequest("POST", "/version")
        conn.putheader("Content-Length", str(constants.RPC_MAX_BODY + 1))
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 400
        assert "too large" in json.loads(resp.read())["message"]
    finally:
        conn.close()


def test_backend_errors_come_back_as_false(noded):
    status, answer = _request(noded, "POST", "/test_delay", '["soon"]')
    assert (status, answer) == (200, [False, "Invalid delay duration 'soon'"])


def test_unexpected_exception_is_logged_with_traceback(noded):
    status, answer = _request(noded, "POST", "/get_file_info", json.dumps(["/a\u0000b"]))
    assert status == 200 and answer[0] is False
    assert answer[1].startswith("Error while executing backend function: ")
    log = noded.wait_log("Error while executing backend function get_file_info")
    assert "Traceback (most recent call last)" in log


def test_log_format(noded):
    lines = [line for line in noded.read_log().splitlines() if line[:2] == "20"]
    assert lines and all(LOG_LINE_RE.match(line) for line in lines), lines[:3]


# -- daemon plumbing -------------------------------------------------------
def test_second_instance_refused_and_sighup_reopens_log(noded):
    res = subprocess.run([sys.executable, NODED, "-f", "-b", noded.address],
                         env=noded.env, capture_output=True, text=True, timeout=30)
    assert res.returncode == 1
    assert "already running (pid %d)" % noded.proc.pid in res.stderr
    rotated = noded.paths["log"] + ".1"
    os.rename(noded.paths["log"], rotated)
    os.kill(noded.proc.pid, signal.SIGHUP)
    noded.wait_log("Log file reopened")
    _request(noded, "POST", "/test_delay", '["later"]')
    assert "Invalid delay duration 'later'" in noded.wait_log("later")


def test_daemonize_reports_start_and_sigterm_removes_pidfile(tmp_path, cluster_pem):
    nd = Noded(str(tmp_path / "n"), "127.0.1.26", "node6.test", cluster_pem)
    res = subprocess.run([sys.executable, NODED, "-b", nd.address], env=nd.env,
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    pid = int(open(nd.paths["pid"]).read())
    try:
        nd.wait_ready()
        bad = subprocess.run([sys.executable, NODED, "-b", "127.0.1.26"], env=nd.env,
                             capture_output=True, text=True, timeout=30)
        assert bad.returncode == 1
        assert "ganeti-noded already running (pid %d)" % pid in bad.stderr
    finally:
        os.kill(pid, signal.SIGTERM)
    deadline = time.time() + 10
    while os.path.exists(nd.paths["pid"]) and time.time() < deadline:
        time.sleep(0.02)
    assert not os.path.exists(nd.paths["pid"])
    assert "Received SIGTERM, shutting down" in nd.read_log()


def test_daemonize_reports_start_failure(tmp_path, cluster_pem, noded):
    # another root, but the address of the running module noded: bind fails
    nd = Noded(str(tmp_path / "n"), noded.address, "node7.test", cluster_pem)
    res = subprocess.run([sys.executable, NODED, "-b", noded.address], env=nd.env,
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 1
    assert "Can't listen on %s:1811: Address already in use" % noded.address in res.stderr
    assert not os.path.exists(nd.paths["pid"])


def test_missing_certificate_prevents_start(tmp_path, cluster_pem):
    nd = Noded(str(tmp_path / "n"), "127.0.1.27", "node7.test", cluster_pem)
    os.unlink(nd.paths["cert"])
    res = subprocess.run([sys.executable, NODED, "-f", "-b", nd.address], env=nd.env,
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 1 and "Can't load the cluster certificate" in res.stderr


def test_node_leave_cluster_removes_files_and_stops(tmp_path, cluster_pem):
    with running_nodeds(str(tmp_path), ["127.0.1.28"], cluster_pem) as (nd,):
        for name in ("config.data", "ssconf_master_node", "hmac.key"):
            with open(os.path.join(nd.paths["data"], name), "w") as fh:
                fh.write("x\n")
        client = RpcClient(cert_file=nd.paths["cert"])
        res = client.call("node_leave_cluster", [nd.target()], [False])[nd.hostname]
        assert res.fail_msg is None and res.payload == "Shutdown scheduled"
        assert nd.proc.wait(10) == 0
        assert os.listdir(nd.paths["data"]) == ["rapi"]


# -- in-process pieces of daemon.py ----------------------------------------
def test_pidfile_lock_in_process(tmp_path, monkeypatch):
    monkeypatch.setattr(pathutils, "RUN_DIR", str(tmp_path))
    fd = daemon.write_pidfile("ganeti-test")
    try:
        with pytest.raises(errors.PidFileLockError, match=r"ganeti-test already running "
                                                          r"\(pid %d\)" % os.getpid()):
            daemon.write_pidfile("ganeti-test")
    finally:
        daemon.remove_pidfile("ganeti-test", fd)
    assert not os.path.exists(tmp_path / "ganeti-test.pid")


def test_ensure_dirs_modes(tmp_path, monkeypatch):
    root = str(tmp_path)
    for attr in ("DATA_DIR", "RUN_DIR", "LOG_DIR", "LOCK_DIR", "CONF_DIR"):
        monkeypatch.setattr(pathutils, attr, root + "/" + attr.lower())
    monkeypatch.setattr(pathutils, "QUEUE_DIR", root + "/data_dir/queue")
    monkeypatch.setattr(pathutils, "JOB_QUEUE_ARCHIVE_DIR", root + "/data_dir/queue/archive")
    monkeypatch.setattr(pathutils, "SOCKET_DIR", root + "/run_dir/socket")
    monkeypatch.setattr(pathutils, "LOG_OS_DIR", root + "/log_dir/os")
    monkeypatch.setattr(pathutils, "RAPI_USERS_FILE", root + "/data_dir/rapi/users")
    os.makedirs(root + "/data_dir", mode=0o700)
    daemon.ensure_dirs()
    daemon.ensure_dirs()

    def mode(p):
        return os.stat(root + p).st_mode & 0o7777

    assert mode("/data_dir") == 0o755
    assert mode("/data_dir/queue") == 0o700
    assert mode("/run_dir/socket") == 0o750
    assert mode("/log_dir") == 0o750


def test_daemon_options():
    parser = daemon.make_parser("ganeti-x", "x", default_port=1811, ssl_option=True)
    opts = daemon.parse_options(parser, ["-f", "-d", "-b", "127.0.1.5", "-p", "1900",
                                         "--no-ssl", "--syslog"])
    assert isinstance(opts, daemon.DaemonOptions)
    assert (opts.foreground, opts.debug, opts.bind, opts.port, opts.no_ssl, opts.syslog) == \
        (True, True, "127.0.1.5", 1900, True, "yes")
    opts = daemon.parse_options(daemon.make_parser("ganeti-y", "y"), [])
    assert (opts.foreground, opts.no_ssl, opts.port) == (False, False, None)
