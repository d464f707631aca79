"""gnt-node and gnt-group against a running virtual cluster (real masterd and noded)."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time

import pytest

from cluster_env import REPO, run, virtual_cluster

REF = os.path.normpath(os.path.join(REPO, "..", "shared", "reference", "ganeti-3.0", "outputs"))
NODE = "node1.vcluster.test"


def ref_lines(name: str) -> list[str]:
    with open(os.path.join(REF, name)) as fh:
        lines = fh.read().splitlines()
    return [line for line in lines[1:] if not line.startswith("[exit code")]


def needs_lus(*op_ids: str):
    """Skip while the logical units behind a command are not there yet."""
    from ganeti.cmdlib import LU_CLASSES
    missing = [op for op in op_ids if op not in LU_CLASSES]
    return pytest.mark.skipif(bool(missing), reason="logical units not implemented yet: %s"
                              % ", ".join(missing))


def gnt(env, *args, check=False):
    return run(env, *args, check=check)


def test_node_list_live_values(env):
    out = gnt(env, "gnt-node", "list", check=True).stdout.splitlines()
    assert out[0].split() == ref_lines("gnt-node-list.txt")[0].split()
    cells = out[1].split()
    assert cells[0] == NODE and cells[-2:] == ["0", "0"]
    # live values came back from the node (file storage, memory): no special values
    assert all(re.fullmatch(r"\d+(\.\d)?[MGT]", c) for c in cells[1:6]), cells


def test_node_list_config_fields_and_filter(env):
    res = gnt(env, "gnt-node", "list", "--no-headers", "-o",
              "name,role,master,master_candidate,group,vm_capable,pinst_list", check=True)
    assert res.stdout.split() == [NODE, "M", "Y", "Y", "default", "Y"]
    short = gnt(env, "gnt-node", "list", "--no-headers", "-o", "name", "node1", check=True)
    assert short.stdout == NODE + "\n"
    none = gnt(env, "gnt-node", "list", "--no-headers", "-F", "not master", check=True)
    assert none.stdout == ""
    bad = gnt(env, "gnt-node", "list", "-o", "name,nosuch")
    assert bad.returncode == 14 and "??" in bad.stdout


def test_node_list_fields_match_reference(env):
    res = gnt(env, "gnt-node", "list-fields", check=True)
    assert res.stdout.splitlines() == ref_lines("gnt-node-list-fields.txt")


def test_node_info_shape(env):
    lines = gnt(env, "gnt-node", "info", check=True).stdout.splitlines()
    want = ref_lines("gnt-node-info.txt")
    assert lines[0] == "- Node name: %s" % NODE
    assert re.fullmatch(r"  primary ip: 127\.\d+\.\d+\.1", lines[1]), lines[1]
    assert [line.split(":")[0] for line in lines[3:]] == \
        [line.split(":")[0] for line in want[3:9] + want[11:]]
    bad = gnt(env, "gnt-node", "info", "nosuch")
    assert bad.returncode == 1 and bad.stderr.endswith("Node 'nosuch' not known\n")


def test_group_list_and_info(env):
    out = gnt(env, "gnt-group", "list", check=True).stdout.splitlines()
    ref = ref_lines("gnt-group-list.txt")
    assert out[0] == ref[0]
    assert out[1] == ref[1].replace("        2 ", "        0 ")
    info = gnt(env, "gnt-group", "info", "default", check=True).stdout.splitlines()
    assert [line.split(":")[0] for line in info] == \
        [line.split(":")[0] for line in ref_lines("gnt-group-info.txt")]


@needs_lus("OP_GROUP_ADD", "OP_GROUP_RENAME", "OP_GROUP_REMOVE", "OP_GROUP_SET_PARAMS")
def test_group_add_modify_rename_remove(env):
    gnt(env, "gnt-group", "add", "--alloc-policy", "last_resort", "--node-parameters",
        "spindle_count=3", "--ipolicy-vcpu-ratio", "2.5", "rack1", check=True)
    out = gnt(env, "gnt-group", "list", "--no-headers", "-o",
              "name,node_cnt,alloc_policy,ndp/spindle_count", check=True).stdout
    assert out.splitlines()[1].split() == ["rack1", "0", "last_resort", "3"]
    info = gnt(env, "gnt-group", "info", "rack1", check=True).stdout
    assert "    spindle_count: 3\n" in info and "  vcpu-ratio: 2.5\n" in info
    res = gnt(env, "gnt-group", "modify", "--ipolicy-vcpu-ratio", "default", "rack1",
              check=True)
    assert res.stdout.startswith("Modified node group rack1\n")
    assert "vcpu-ratio: default (" in gnt(env, "gnt-group", "info", "rack1",
                                          check=True).stdout
    gnt(env, "gnt-group", "rename", "rack1", "rack2", check=True)
    names = gnt(env, "gnt-group", "list", "--no-headers", "-o", "name", check=True).stdout
    assert names.split() == ["default", "rack2"]
    gnt(env, "gnt-group", "remove", "rack2", check=True)
    last = gnt(env, "gnt-group", "remove", "default")
    assert last.returncode == 1 and "Failure" in last.stderr
    names = gnt(env, "gnt-group", "list", "--no-headers", "-o", "name", check=True).stdout
    assert names.split() == ["default"]


@needs_lus("OP_NODE_SET_PARAMS")
def test_node_modify_node_parameters(env):
    res = gnt(env, "gnt-node", "modify", "--node-parameters", "spindle_count=2", "node1",
              check=True)
    assert res.stdout.splitlines()[0] == "Modified node node1"
    assert res.stdout.splitlines()[1].startswith(" - ndparams -> ")
    out = gnt(env, "gnt-node", "list", "--no-headers", "-o",
              "ndp/spindle_count,custom_ndparams", check=True).stdout
    assert out.split(None, 1) == ["2", "{'spindle_count': 2}\n"]
    info = gnt(env, "gnt-node", "info", check=True).stdout
    assert "    spindle_count: 2\n" in info
    gnt(env, "gnt-node", "modify", "--node-parameters", "spindle_count=default", "node1",
        check=True)
    info = gnt(env, "gnt-node", "info", check=True).stdout
    assert "    spindle_count: default (1)\n" in info
    nothing = gnt(env, "gnt-node", "modify", "node1")
    assert nothing.returncode == 1
    assert nothing.stderr == "Please give at least one of the parameters.\n"


def test_node_list_is_fast(env):
    times = []
    for _ in range(7):
        start = time.perf_counter()
        gnt(env, "gnt-node", "list", check=True)
        times.append(time.perf_counter() - start)
    # one node here; the 20-node fan-out is measured by test_twenty_node_live_query
    assert statistics.median(times) < 0.5, times


_BENCH = r"""
import copy, os, shutil, sys, tempfile, time
from ganeti import config, objects, pathutils
from ganeti.cmdlib import query as cq
from ganeti.server.masterd import RpcRunner
tmp = tempfile.mkdtemp()
path = os.path.join(tmp, "config.data")
shutil.copy(pathutils.CLUSTER_CONF_FILE, path)
cfg = config.ConfigWriter(path=path)
master = cfg.get_master_node_info()
for i in range(2, 21):  # 19 more nodes, all answered by node1's noded
    node = copy.deepcopy(master)
    node.uuid = objects.new_uuid()
    node.name = "node%d.vcluster.test" % i
    cfg.data.nodes[node.uuid] = node
rpc = RpcRunner()
fields = ["name", "dtotal", "dfree", "mtotal", "mnode", "mfree", "pinst_cnt", "sinst_cnt"]
times = []
for _ in range(11):
    t = time.perf_counter()
    res = cq.query_config_resource(cfg, "node", fields, None, rpc=rpc)
    times.append(time.perf_counter() - t)
    assert len(res["data"]) == 20 and all(r[5][0] == 0 for r in res["data"]), res["data"]
shutil.rmtree(tmp)
times.sort()
print("%.1f %.1f" % (times[-1] * 1000, times[5] * 1000))
"""


def test_twenty_node_live_query(env):
    """The master side of ``gnt-node list`` for 20 nodes: one parallel node_info."""
    res = subprocess.run([sys.executable, "-c", _BENCH], env=env, capture_output=True,
                         text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    worst, median = (float(x) for x in res.stdout.split())
    # the CLI itself adds ~40 ms; the budget for the whole command is 150 ms
    assert median < 100, "20-node query: median %.1f ms (worst %.1f ms)" % (median, worst)


# --- two nodes: roles, specials from a real offline / dead node, groups ---------------------

@pytest.fixture(scope="module")
def env2(tmp_path_factory):
    from ganeti.cmdlib import LU_CLASSES
    if "OP_NODE_ADD" not in LU_CLASSES:
        pytest.skip("logical unit OP_NODE_ADD not implemented yet")
    base = str(tmp_path_factory.mktemp("vc2"))
    try:
        cm = virtual_cluster(base, nodes=2)
        env = cm.__enter__()
    except AssertionError as err:
        if "multi-node virtual clusters need gnt-node add" in str(err):
            pytest.skip("tools/vcluster cannot build multi-node clusters yet")
        raise
    try:
        yield env, base
    finally:
        cm.__exit__(None, None, None)


def _rows(env, *args):
    res = gnt(env, "gnt-node", "list", "--no-headers", *args, check=True)
    return [line.split() for line in res.stdout.splitlines()]


@pytest.mark.slow
def test_two_nodes_roles_and_live_specials(env2):
    from cluster_env import cluster_env
    env, base = env2
    assert _rows(env, "-o", "name,role,master,master_candidate") == [
        [NODE, "M", "Y", "Y"], ["node2.vcluster.test", "C", "N", "Y"]]
    live = _rows(env)
    assert all(c not in ("?", "*", "-") for row in live for c in row), live
    # offline: never contacted, "*" (verbose "(offline)")
    gnt(env, "gnt-node", "modify", "-O", "yes", "node2", check=True)
    try:
        rows = _rows(env, "-o", "name,role,mfree,dtotal,bootid")
        assert rows[1] == ["node2.vcluster.test", "O", "*", "*", "*"]
        verbose = _rows(env, "-v", "-o", "name,mfree")
        assert verbose[1] == ["node2.vcluster.test", "(offline)"]
    finally:
        gnt(env, "gnt-node", "modify", "-O", "no", "node2", check=True)
    # a node daemon that is gone: "?" (verbose "(nodata)"), the other node unaffected
    env_node2 = cluster_env(base, 2)
    pidfile = os.path.join(env_node2["GANETI_ROOTDIR"], "var/run/ganeti/ganeti-noded.pid")
    with open(pidfile) as fh:
        pid = int(fh.read().strip())
    os.kill(pid, 9)
    try:
        start = time.perf_counter()
        rows = _rows(env, "-o", "name,mtotal,bootid,pinst_cnt")
        assert time.perf_counter() - start < 10
        assert rows[0][1] not in ("?", "*") and rows[1] == ["node2.vcluster.test", "?", "?",
                                                            "0"]
        assert _rows(env, "-v", "-o", "mfree")[1] == ["(nodata)"]
    finally:
        run(env_node2, "daemon-util", "start", "ganeti-noded", check=False)


@pytest.mark.slow
@needs_lus("OP_GROUP_ADD", "OP_GROUP_ASSIGN_NODES", "OP_GROUP_REMOVE")
def test_two_nodes_group_membership(env2):
    env, _ = env2
    gnt(env, "gnt-group", "add", "--node-parameters", "spindle_count=5", "rack1", check=True)
    gnt(env, "gnt-group", "assign-nodes", "rack1", "node2", check=True)
    try:
        assert _rows(env, "-o", "name,group,ndp/spindle_count") == [
            [NODE, "default", "1"], ["node2.vcluster.test", "rack1", "5"]]
        out = gnt(env, "gnt-group", "list", "--no-headers", "-o", "name,node_cnt,node_list",
                  check=True).stdout
        assert [line.split() for line in out.splitlines()] == [
            ["default", "1", NODE], ["rack1", "1", "node2.vcluster.test"]]
        busy = gnt(env, "gnt-group", "remove", "rack1")
        assert busy.returncode == 1 and "node2.vcluster.test" in busy.stderr
    finally:
        gnt(env, "gnt-group", "assign-nodes", "default", "node2", check=True)
    gnt(env, "gnt-group", "remove", "rack1", check=True)
