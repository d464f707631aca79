"""Fake hypervisor: state files only, fast, survive a driver restart."""

from __future__ import annotations

import time

import pytest

from ganeti import errors
from ganeti.hypervisor.hv_fake import FakeHypervisor


def inst(name, mem=512, vcpus=2):
    return {"name": name, "hvparams": {}, "beparams": {"maxmem": mem, "vcpus": vcpus},
            "nics": [], "disks": []}


def test_lifecycle(tmp_path):
    hv = FakeHypervisor(run_dir=str(tmp_path / "fake-hv"))
    assert hv.list_instances() == []
    assert hv.get_instance_info("a") is None
    hv.start_instance(inst("a"), [], False)
    hv.start_instance(inst("b", 256, 1), [], True)
    with pytest.raises(errors.HypervisorError, match="already running"):
        hv.start_instance(inst("a"), [], False)
    assert hv.list_instances() == ["a", "b"]
    info = hv.get_instance_info("a")
    assert info["memory"] == 512 and info["vcpus"] == 2 and info["state"] == "running"
    assert hv.get_instance_info("b")["state"] == "paused"
    hv.reboot_instance(inst("b"))
    assert hv.get_instance_info("b")["state"] == "running"
    # new driver object (node daemon restart) sees the same instances
    again = FakeHypervisor(run_dir=hv.run_dir)
    assert sorted(again.get_all_instances_info()) == ["a", "b"]
    again.stop_instance(inst("a"))
    again.stop_instance(inst("a"))  # already stopped: no error
    assert hv.list_instances() == ["b"]
    with pytest.raises(errors.HypervisorError):
        hv.reboot_instance(inst("a"))
    assert hv.get_instance_console(inst("b"), {"name": "n"}, {}, {}, {})["kind"] == "msg"


def test_many_instances_fast(tmp_path):
    hv = FakeHypervisor(run_dir=str(tmp_path / "fake-hv"))
    start = time.monotonic()
    for i in range(2000):
        hv.start_instance(inst("inst%05d" % i), [], False)
    all_info = hv.get_all_instances_info()
    elapsed = time.monotonic() - start
    assert len(all_info) == 2000
    assert elapsed < 10, elapsed
    used = sum(i["memory"] for i in all_info.values())
    assert used == 2000 * 512
