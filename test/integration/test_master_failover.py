"""Master killed with -9 on a 3-node cluster, failover to a candidate: no job lost."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time

import pytest

from cluster_env import (cluster_env, read_pid, run, submit_many, virtual_cluster,
                         wait_exited)

pytestmark = pytest.mark.slow




def test_kill9_master_and_failover(tmp_path):
    base = tempfile.mkdtemp(prefix="mf", dir="/tmp")  # short: unix socket paths
    try:
        with virtual_cluster(base, nodes=3) as env1:
            jobs = [[{"OP_ID": "OP_TEST_DELAY", "duration": 0.05, "no_locks": False}]
                    for _ in range(60)]
            ids = submit_many(env1, jobs, str(tmp_path))
            assert len(ids) == 60
            time.sleep(0.3)
            pid = read_pid(env1, "ganeti-masterd")
            os.kill(pid, signal.SIGKILL)
            wait_exited(pid)
            env2 = cluster_env(base, 2)
            res = run(env2, "gnt-cluster", "master-failover", check=False)
            assert res.returncode == 0, res.stdout + res.stderr
            assert run(env2, "gnt-cluster", "getmaster").stdout.strip() == \
                "node2.vcluster.test"
            deadline = time.time() + 90
            statuses: dict[str, str] = {}
            while time.time() < deadline:
                out = run(env2, "gnt-job", "list", "--no-headers", "-o", "id,status",
                          "--separator=|").stdout
                statuses = dict(line.split("|") for line in out.splitlines())
                if all(statuses.get(str(i)) in ("success", "error", "canceled") for i in ids):
                    break
                time.sleep(0.3)
            # every job accepted by the old master is on the new one, and finished
            missing = [i for i in ids if str(i) not in statuses]
            assert not missing, missing
            assert all(statuses[str(i)] in ("success", "error") for i in ids), statuses
            # the new master has the cluster's SSH key: it can (re-)join nodes itself
            run(env2, "gnt-node", "add", "--readd", "node3.vcluster.test")
            # the old master, when back, refuses to start its masterd
            res = run(env1, "daemon-util", "start", "ganeti-masterd", check=False)
            assert res.returncode == 11
            assert "Not master" in res.stderr or "not master" in (res.stderr + res.stdout)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_stopped_noded_fails_job_naming_the_node():
    base = tempfile.mkdtemp(prefix="st", dir="/tmp")
    try:
        with virtual_cluster(base, nodes=2) as env1:
            env2 = cluster_env(base, 2)
            pid = read_pid(env2, "ganeti-noded")
            os.kill(pid, signal.SIGSTOP)
            try:
                start = time.time()
                res = run(env1, "gnt-debug", "delay", "-n", "node2", "0.1", check=False,
                          timeout=120)
                elapsed = time.time() - start
                assert res.returncode == 1
                assert "node2.vcluster.test" in res.stderr
                assert elapsed < 60, elapsed
                out = run(env1, "gnt-node", "list", "--no-headers", "-o", "name,mtotal").stdout
                rows = dict(line.split() for line in out.splitlines())
                assert rows["node2.vcluster.test"] == "?"
                assert rows["node1.vcluster.test"] not in ("?", "*", "-")
            finally:
                os.kill(pid, signal.SIGCONT)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_cluster_wide_commands_on_two_nodes(tmp_path):
    base = tempfile.mkdtemp(prefix="cw", dir="/tmp")
    try:
        with virtual_cluster(base, nodes=2) as env:
            out = run(env, "gnt-cluster", "command", "echo", "hi").stdout
            assert out.count("return code = 0") == 2
            assert out.index("node2.vcluster.test") < out.index("node1.vcluster.test")  # master last
            src = tmp_path / "payload.txt"
            src.write_text("copied\n")
            # copyfile writes the same absolute path on the other nodes (shared here), so
            # copy a file inside node1's root and check node2 got it under the same path
            target = os.path.join(base, "node1", "tmp-payload.txt")
            with open(target, "w") as fh:
                fh.write("copied\n")
            run(env, "gnt-cluster", "copyfile", "-n", "node2", target)
            run(env, "gnt-cluster", "redist-conf")
            res = run(env, "gnt-cluster", "verify", "--error-codes", "-I", "ENODESETUP",
                      check=False)
            assert "ECLUSTERFILECHECK" not in res.stdout, res.stdout
            assert res.returncode == 0, res.stdout
            # a new cluster certificate reaches every node; no node is lost
            run(env, "gnt-cluster", "renew-crypto", "-f", "--new-cluster-certificate")
            rows = run(env, "gnt-node", "list", "--no-headers", "-o", "name,mtotal").stdout
            values = dict(line.split() for line in rows.splitlines())
            assert all(v not in ("?", "*", "-") for v in values.values()), values
            with open(os.path.join(base, "node1", "var", "lib", "ganeti", "server.pem")) as a, \
                    open(os.path.join(base, "node2", "var", "lib", "ganeti",
                                      "server.pem")) as b:
                assert a.read() == b.read()
    finally:
        shutil.rmtree(base, ignore_errors=True)
