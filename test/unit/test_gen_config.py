"""tools/gen-config writes configurations ConfigWriter loads and verifies."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys

import pytest

from ganeti import config, objects

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOL = os.path.join(REPO, "tools", "gen-config")
REF = os.path.normpath(os.path.join(REPO, "..", "shared", "reference", "ganeti-3.0", "files",
                                    "config.data"))


def gen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True,
                          check=False, timeout=120)


def load(path) -> tuple[dict, config.ConfigWriter]:
    with open(path) as fh:
        raw = json.load(fh)
    return raw, config.ConfigWriter(path=str(path))


def test_extends_an_existing_cluster(tmp_path):
    out = tmp_path / "config.data"
    res = gen("--from", REF, "--out", str(out), "--nodes", "20", "--instances", "1000",
              "--seed", "3")
    assert res.returncode == 0, res.stderr
    assert "20 nodes, 1200 instances" in res.stdout
    raw, cfg = load(out)
    with open(REF) as fh:
        ref = json.load(fh)
    assert cfg.verify_config() == []
    assert objects.ConfigData.from_dict(raw).to_dict() == raw
    assert raw["cluster"] == ref["cluster"]
    assert raw["serial_no"] == ref["serial_no"] + 1
    data = cfg.data
    master = data.cluster.master_node
    assert not data.nodes[master].offline
    added = [n for u, n in data.nodes.items() if u not in ref["nodes"]]
    assert len(added) == 19 and all(n.offline and not n.master_candidate for n in added)
    assert len({n.name for n in data.nodes.values()}) == 20
    assert len({n.primary_ip for n in data.nodes.values()}) == 20
    new = [i for u, i in data.instances.items() if u not in ref["instances"]]
    assert len(new) == 1000
    assert len({i.name for i in data.instances.values()}) == 1200
    macs = [n.mac for i in data.instances.values() for n in i.nics]
    assert len(set(macs)) == len(macs) == 1200
    assert all(m.startswith("aa:00:00:") for m in macs)
    assert all(i.admin_state == "down" and i.hypervisor == "fake" and i.disks == []
               for i in new)
    per_node = collections.Counter(i.primary_node for i in new)
    assert set(per_node) == set(data.nodes) and set(per_node.values()) == {50}
    # the seed reproduces the file (up to the timestamps)
    again = tmp_path / "again.data"
    assert gen("--from", REF, "--out", str(again), "--nodes", "20", "--instances", "1000",
               "--seed", "3").returncode == 0
    with open(again) as fh:
        second = json.load(fh)
    assert sorted(second["instances"]) == sorted(raw["instances"])


def test_synthetic_cluster_up_and_online(tmp_path):
    out = tmp_path / "config.data"
    res = gen("--out", str(out), "--nodes", "3", "--instances", "7", "--up", "--online-nodes",
              "--os", "busybox", "--prefix", "vm")
    assert res.returncode == 0, res.stderr
    _, cfg = load(out)
    assert cfg.verify_config() == []
    assert "fake" in cfg.data.cluster.enabled_hypervisors
    assert not any(n.offline for n in cfg.data.nodes.values())
    insts = cfg.data.instances.values()
    assert all(i.admin_state == "up" and i.disks_active and i.os == "busybox" for i in insts)
    assert sorted(i.name for i in insts)[0] == "vm00001.example.com"


def test_refuses_fewer_nodes_than_the_source_has(tmp_path):
    res = gen("--from", REF, "--out", str(tmp_path / "x"), "--nodes", "0")
    assert res.returncode == 2
    first = gen("--out", str(tmp_path / "three"), "--nodes", "3", "--instances", "0")
    assert first.returncode == 0
    res = gen("--from", str(tmp_path / "three"), "--out", str(tmp_path / "x"), "--nodes", "2")
    assert res.returncode == 1
    assert "less than the 3 nodes" in res.stderr
    assert not os.path.exists(tmp_path / "x")


@pytest.mark.parametrize("missing", ["nosuch.data"])
def test_unreadable_source_is_an_error(tmp_path, missing):
    res = gen("--from", str(tmp_path / missing), "--out", str(tmp_path / "x"))
    assert res.returncode == 1
    assert "not found" in res.stderr
