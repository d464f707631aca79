"""Instances on a two-node virtual cluster: placement, a new primary, an offline node."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from cluster_env import run, virtual_cluster
from instance_env import _add, _status, _write_os

pytestmark = pytest.mark.slow

NODE1 = "node1.vcluster.test"
NODE2 = "node2.vcluster.test"


@pytest.fixture(scope="module")
def env2():
    if os.geteuid() != 0:
        pytest.skip("multi-node virtual clusters need root (sshd)")
    base = tempfile.mkdtemp(prefix="vci", dir="/tmp")
    try:
        with virtual_cluster(base, nodes=2) as env:
            for k in (1, 2):
                node_env = dict(env, GANETI_ROOTDIR=os.path.join(base, "node%d" % k))
                _write_os(node_env, "scratch", "exit 0")
            yield env
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _pnode(env: dict, name: str) -> str:
    return run(env, "gnt-instance", "list", "--no-headers", "-o", "pnode", name).stdout.strip()


def test_instance_on_second_node_and_new_primary(env2):
    name = "m1.vcluster.test"
    _add(env2, name, "-t", "diskless", "-H", "fake", "-o", "scratch", "-n", NODE2)
    assert _pnode(env2, name) == NODE2 and _status(env2, name) == "running"
    res = run(env2, "gnt-instance", "modify", "--new-primary", NODE1, name, check=False)
    assert res.returncode != 0 and "marked to be up" in res.stdout + res.stderr
    run(env2, "gnt-instance", "shutdown", name)
    run(env2, "gnt-instance", "modify", "--new-primary", NODE1, name)
    assert _pnode(env2, name) == NODE1
    run(env2, "gnt-instance", "startup", name)
    assert _status(env2, name) == "running"
    out = run(env2, "gnt-node", "list", "--no-headers", "-o", "name,pinst_cnt").stdout
    assert out.split() == [NODE1, "1", NODE2, "0"]
    res = run(env2, "gnt-node", "remove", NODE1, check=False)
    assert res.returncode != 0


def test_allocator_places_instances(env2):
    names = ["a%d.vcluster.test" % i for i in range(3)]
    for name in names:
        _add(env2, name, "-t", "file", "--disk", "0:size=8M", "-H", "fake", "-o", "scratch")
    placed = {_pnode(env2, name) for name in names}
    assert placed <= {NODE1, NODE2} and placed
    for name in names:
        run(env2, "gnt-instance", "remove", "-f", name)


def test_offline_primary(env2):
    name = "off1.vcluster.test"
    _add(env2, name, "-t", "diskless", "-H", "fake", "-o", "scratch", "-n", NODE2)
    run(env2, "gnt-node", "modify", "-O", "yes", "-f", NODE2)
    try:
        assert _status(env2, name) == "ERROR_nodeoffline"
        res = run(env2, "gnt-instance", "startup", name, check=False)
        assert res.returncode != 0 and "offline" in res.stdout + res.stderr
    finally:
        run(env2, "gnt-node", "modify", "-O", "no", NODE2)
    assert _status(env2, name) == "running"
    run(env2, "gnt-instance", "remove", "-f", name)
