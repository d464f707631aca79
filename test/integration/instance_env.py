"""Helpers of the instance integration tests: OS definitions, status polling."""

from __future__ import annotations

import os
import time

from cluster_env import run

NODE = "node1.vcluster.test"


def _root(env: dict, path: str) -> str:
    return env["GANETI_ROOTDIR"] + path


def _write_os(env: dict, name: str, create_body: str) -> None:
    """A minimal OS definition (API 20) in the node's OS directory."""
    base = _root(env, "/srv/ganeti/os/" + name)
    os.makedirs(base, exist_ok=True)
    with open(os.path.join(base, "ganeti_api_version"), "w") as fh:
        fh.write("20\n")
    with open(os.path.join(base, "parameters.list"), "w") as fh:
        fh.write("")
    for script, body in (("create", create_body), ("import", "exit 0"), ("export", "exit 0"),
                         ("rename", "exit 0"), ("verify", "exit 0")):
        path = os.path.join(base, script)
        with open(path, "w") as fh:
            fh.write("#!/bin/sh\n%s\n" % body)
        os.chmod(path, 0o755)


def _status(env: dict, name: str) -> str:
    res = run(env, "gnt-instance", "list", "--no-headers", "-o", "status", name)
    return res.stdout.strip()


def _wait_status(env: dict, name: str, wanted: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if _status(env, name) == wanted:
            return
        time.sleep(0.2)
    raise AssertionError("%s never reached %s (now %s)" % (name, wanted, _status(env, name)))


def _add(env: dict, name: str, *args: str, check: bool = True):
    return run(env, "gnt-instance", "add", "--no-name-check", "--no-ip-check", *args, name,
               check=check, timeout=180)
