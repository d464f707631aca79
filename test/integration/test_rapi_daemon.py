"""ganeti-rapi on a virtual cluster: started by init, user from vcluster, TLS, failover."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import stat
import subprocess
import sys
import tempfile
import time

import pytest

from cluster_env import REPO, cluster_env, https_request, read_pid, run, virtual_cluster

RAPI = os.path.join(REPO, "scripts", "ganeti-rapi")


def node_ip(base: str, k: int) -> str:
    with open(os.path.join(base, "node%d" % k, "etc", "hosts")) as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2 and parts[1] == "node%d.vcluster.test" % k:
                return parts[0]
    raise AssertionError("node%d not in its /etc/hosts" % k)


def rapi_pem(base: str, k: int) -> str:
    return os.path.join(base, "node%d" % k, "var", "lib", "ganeti", "rapi.pem")


def password(base: str) -> str:
    with open(os.path.join(base, "rapi.secret")) as fh:
        return fh.read().strip()


def request(base: str, k: int, method: str, path: str, user: str | None = None,
            body: object = None, timeout: float = 30) -> tuple[int, bytes, object]:
    """One HTTPS request to node k's RAPI, verifying its certificate."""
    return https_request(node_ip(base, k), 5080, rapi_pem(base, k), method, path, user=user,
                         body=body, timeout=timeout)


def wait_rapi(base: str, k: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    last: object = None
    while time.time() < deadline:
        try:
            status, raw, _ = request(base, k, "GET", "/version", timeout=5)
            if status == 200 and raw.strip() == b"2":
                return
            last = (status, raw)
        except (OSError, ssl.SSLError) as err:
            last = err
        time.sleep(0.2)
    raise AssertionError("RAPI on node%d does not answer: %r" % (k, last))


@pytest.fixture(scope="module")
def vc():
    base = tempfile.mkdtemp(prefix="ra", dir="/tmp")  # short: unix socket paths
    try:
        with virtual_cluster(base) as env:
            yield base, env
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_rapi_runs_after_vcluster_up(vc):
    base, env = vc
    assert read_pid(env, "ganeti-rapi") > 0
    wait_rapi(base, 1)
    status, raw, resp = request(base, 1, "GET", "/version")
    assert (status, raw) == (200, b"2\n")
    assert resp.getheader("Server").startswith("Ganeti ")
    mode = stat.S_IMODE(os.stat(os.path.join(base, "rapi.secret")).st_mode)
    assert mode == 0o600


def test_vcluster_user_and_auth(vc):
    base, _ = vc
    pw = password(base)
    status, raw, _ = request(base, 1, "GET", "/2/info", user="vcluster:" + pw)
    assert status == 200, raw
    assert json.loads(raw)["name"]
    status, raw, resp = request(base, 1, "PUT", "/2/redistribute-config",
                                user="vcluster:wrong")
    assert status == 401
    assert resp.getheader("WWW-Authenticate") == 'Basic realm="Ganeti Remote API"'
    status, raw, _ = request(base, 1, "PUT", "/2/redistribute-config", user="vcluster:" + pw)
    assert status == 200, raw
    assert isinstance(json.loads(raw), int)


def test_not_master_exits_11(vc):
    _, env = vc
    other = dict(env, GANETI_HOSTNAME="node9.vcluster.test")
    res = subprocess.run([sys.executable, RAPI, "-f"], env=other, capture_output=True,
                         text=True, timeout=60, check=False)
    assert res.returncode == 11, res.stderr
    assert "Not master" in res.stderr


def test_write_openapi(vc, tmp_path):
    _, env = vc
    out = tmp_path / "openapi.json"
    run(env, sys.executable, RAPI, "--write-openapi", str(out))
    doc = json.loads(out.read_text())
    assert doc["openapi"] == "3.1.0" and "/2/info" in doc["paths"]


def test_sighup_and_renewed_certificate(vc):
    base, env = vc
    pid = read_pid(env, "ganeti-rapi")
    run(env, "daemon-util", "rotate-logs", "ganeti-rapi")
    wait_rapi(base, 1)
    assert read_pid(env, "ganeti-rapi") == pid
    with open(rapi_pem(base, 1), "rb") as fh:
        old = fh.read()
    run(env, "gnt-cluster", "renew-crypto", "--new-rapi-certificate", "-f", timeout=180)
    with open(rapi_pem(base, 1), "rb") as fh:
        assert fh.read() != old
    # request() verifies against the new file: only the new certificate passes
    wait_rapi(base, 1)
    assert read_pid(env, "ganeti-rapi") == pid


@pytest.mark.slow
def test_rapi_moves_with_master_failover():
    base = tempfile.mkdtemp(prefix="rf", dir="/tmp")
    try:
        with virtual_cluster(base, nodes=2):
            wait_rapi(base, 1)
            env2 = cluster_env(base, 2)
            res = run(env2, "gnt-cluster", "master-failover", check=False, timeout=300)
            assert res.returncode == 0, res.stdout + res.stderr
            wait_rapi(base, 2, timeout=60)
            pw = password(base)
            status, raw, _ = request(base, 2, "GET", "/2/info", user="vcluster:" + pw)
            assert status == 200 and json.loads(raw)["master"] == "node2.vcluster.test", raw
            status, _, _ = request(base, 2, "PUT", "/2/redistribute-config",
                                   user="vcluster:" + pw)
            assert status == 200
            # the old master's RAPI is gone
            with pytest.raises((OSError, ssl.SSLError)):
                request(base, 1, "GET", "/version", timeout=5)
    finally:
        shutil.rmtree(base, ignore_errors=True)
