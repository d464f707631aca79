"""Bring a virtual cluster up for a test and always take it down."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
VCLUSTER = os.path.join(REPO, "tools", "vcluster")


def cluster_env(base: str, node: int = 1) -> dict:
    env = dict(os.environ)
    env["GANETI_ROOTDIR"] = os.path.join(base, "node%d" % node)
    env["GANETI_HOSTNAME"] = "node%d.vcluster.test" % node
    env["PATH"] = os.pathsep.join([os.path.join(REPO, "scripts"), os.path.join(REPO, "daemons"),
                                   os.path.dirname(sys.executable), env.get("PATH", "")])
    return env


def run(env: dict, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    res = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=timeout,
                         check=False)
    if check and res.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(args), res.returncode,
                                                         res.stdout, res.stderr))
    return res


@contextlib.contextmanager
def virtual_cluster(base: str, nodes: int = 1, hypervisors: str | None = None,
                    extra_env: dict | None = None):
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    env.update(extra_env or {})
    args = ["--hypervisors", hypervisors] if hypervisors else []
    try:
        res = subprocess.run([VCLUSTER, "up", base, "--nodes", str(nodes), *args], env=env,
                             capture_output=True, text=True, timeout=300, check=False)
        if res.returncode != 0:
            log = ""
            logpath = os.path.join(base, "vcluster.log")
            if os.path.exists(logpath):
                with open(logpath) as fh:
                    log = fh.read()[-4000:]
            raise AssertionError("vcluster up failed:\n%s\n%s\n%s" % (res.stdout, res.stderr, log))
        yield cluster_env(base)
    finally:
        subprocess.run([VCLUSTER, "down", base], env=env, capture_output=True, timeout=120,
                       check=False)


def read_pid(env: dict, name: str) -> int:
    """Pid of a daemon of the node ``env`` points at."""
    with open(os.path.join(env["GANETI_ROOTDIR"], "var", "run", "ganeti",
                           name + ".pid")) as fh:
        return int(fh.read().split()[0])


def wait_exited(pid: int, timeout: float = 10) -> None:
    """Wait until ``pid`` is gone or a zombie (init reaps daemons late)."""
    import time
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as fh:
                if fh.read().split()[2] == "Z":
                    return
        except FileNotFoundError:
            return
        time.sleep(0.05)
    raise AssertionError("process %d did not exit" % pid)


def master_socket(env: dict) -> str:
    return os.path.join(env["GANETI_ROOTDIR"], "var", "run", "ganeti", "socket",
                        "ganeti-master")


def submit_many(env: dict, jobs: list, scratch: str) -> list[int]:
    """Submit jobs at once (SubmitManyJobs) from a separate process; their ids."""
    import json
    path = os.path.join(scratch, "jobs.json")
    with open(path, "w") as fh:
        json.dump(jobs, fh)
    res = run(env, sys.executable, "-c",
              "import json,sys; from ganeti import luxi;"
              "r=luxi.Client(sys.argv[1]).submit_many_jobs(json.load(open(sys.argv[2])));"
              "print(json.dumps([j[1] for j in r if j[0]]))", master_socket(env), path)
    return json.loads(res.stdout)


def https_request(host: str, port: int, cafile: str, method: str, path: str,
                  user: str | None = None, body: object = None,
                  timeout: float = 30) -> tuple[int, bytes, object]:
    """One HTTPS request checked against ``cafile`` (a RAPI's own certificate):
    ``(status, body bytes, response)``; ``user`` is ``"name:password"``."""
    import base64
    import http.client
    import json
    import ssl
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=timeout)
    headers = {}
    if user:
        headers["Authorization"] = "Basic " + base64.b64encode(user.encode()).decode()
    data = None
    if body is not None:
        data = json.dumps(body)
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read(), resp
    finally:
        conn.close()
