"""chroot driver with a real busybox root directory and real processes."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from ganeti.hypervisor.hv_chroot import ChrootHypervisor, processes_in_root

BUSYBOX = shutil.which("busybox")

pytestmark = [pytest.mark.skipif(BUSYBOX is None, reason="busybox not installed"),
              pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")]

INIT = """#!/bin/sh
case "$1" in
  start) echo started > /state; setsid sleep 1000 & echo $! > /pid ;;
  stop) echo stopped > /state; kill $(cat /pid) ;;
esac
"""


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    (r / "bin").mkdir(parents=True)
    (r / "dev").mkdir()
    os.mknod(r / "dev" / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    shutil.copy(BUSYBOX, r / "bin" / "busybox")
    for a in ("sh", "sleep", "kill", "cat", "setsid", "echo"):
        os.symlink("busybox", r / "bin" / a)
    (r / "ganeti-chroot").write_text(INIT)
    os.chmod(r / "ganeti-chroot", 0o755)
    yield str(r)
    for pid in processes_in_root(str(r)):
        os.kill(pid, 9)


def test_chroot_lifecycle(tmp_path, root):
    hv = ChrootHypervisor(run_dir=str(tmp_path / "run"))
    inst = {"name": "c1", "hvparams": {"init_script": "/ganeti-chroot"},
            "beparams": {"maxmem": 64, "vcpus": 1}}
    hv.start_instance(inst, [({}, root, None)], False)
    assert open(os.path.join(root, "state")).read().strip() == "started"
    assert processes_in_root(root)
    assert hv.list_instances() == ["c1"]
    assert ChrootHypervisor(run_dir=hv.run_dir).get_instance_info("c1")["memory"] == 64
    hv.stop_instance(inst)
    assert open(os.path.join(root, "state")).read().strip() == "stopped"
    assert not processes_in_root(root)
    assert hv.list_instances() == [] and hv.get_instance_info("c1") is None


def test_chroot_force_kills(tmp_path, root):
    hv = ChrootHypervisor(run_dir=str(tmp_path / "run"))
    inst = {"name": "c2", "hvparams": {"init_script": "/ganeti-chroot"}, "beparams": {}}
    hv.start_instance(inst, [({}, root, None)], False)
    hv.stop_instance(inst, force=True)
    assert not processes_in_root(root)
    assert open(os.path.join(root, "state")).read().strip() == "started"
