"""Xen drivers against the simulated ``xl`` (test/sim/xl)."""

from __future__ import annotations

import os
import subprocess

import pytest

from ganeti import errors
from ganeti.hypervisor import hv_xen

SIM_XL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "sim", "xl")


@pytest.fixture
def xen_env(tmp_path, monkeypatch):
    monkeypatch.setenv("GANETI_XL_COMMAND", SIM_XL)
    monkeypatch.setenv("XL_SIM_STATE", str(tmp_path / "xl-state"))
    return tmp_path


def make_inst(name="x1.example.com", kernel="/boot/vmlinuz-sim", extra=None):
    hvp = {"kernel_path": kernel, "root_path": "/dev/xvda1", "kernel_args": "ro",
           "blockdev_prefix": "xvd", "cpu_weight": 256}
    hvp.update(extra or {})
    return {"name": name, "uuid": "uuid-1", "hvparams": hvp,
            "beparams": {"maxmem": 256, "vcpus": 2},
            "nics": [{"mac": "aa:00:00:11:22:33",
                      "nicparams": {"mode": "bridged", "link": "xen-br0"}}]}


def test_sim_formats(xen_env):
    out = subprocess.run([SIM_XL, "list"], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0] == "Name                                        ID   Mem VCPUs\tState\tTime(s)"
    assert "Domain-0" in hv_xen.parse_xl_list(out)
    res = subprocess.run([SIM_XL, "list", "nosuch"], capture_output=True, text=True)
    assert res.returncode != 0 and "nosuch is an invalid domain identifier" in res.stderr
    info = hv_xen.parse_xl_info(subprocess.run([SIM_XL, "info"], capture_output=True,
                                               text=True, check=True).stdout)
    assert info["xen_major"] == "4" and int(info["total_memory"]) > 0


def test_pvm_lifecycle(xen_env):
    hv = hv_xen.XenPvmHypervisor(run_dir=str(xen_env / "run"),
                                 config_dir=str(xen_env / "etc-xen"))
    kernel = xen_env / "vmlinuz"
    kernel.write_bytes(b"kernel")
    disk = xen_env / "disk0"
    disk.write_bytes(b"\0" * 1024)
    inst = make_inst(kernel=str(kernel))
    node = hv.get_node_info()
    assert node["memory_total"] == 16384 and node["cpu_total"] == 4
    assert node["memory_dom0"] == 1024 and node["hv_version"] == "4.17.3-pre"
    assert hv.list_instances() == []
    hv.start_instance(inst, [({"mode": "rw"}, str(disk), None)], False)
    cfg = open(hv.config_path(inst["name"])).read()
    assert "kernel = '%s'" % kernel in cfg and "memory = 256" in cfg
    assert "disk = ['file:%s,xvda,w']" % disk in cfg
    assert "vif = ['mac=aa:00:00:11:22:33,bridge=xen-br0']" in cfg
    assert "extra = 'ro'" in cfg and "root = '/dev/xvda1'" in cfg
    assert hv.list_instances() == [inst["name"]]
    info = hv.get_instance_info(inst["name"])
    assert info["memory"] == 256 and info["vcpus"] == 2 and info["state"] == "running"
    assert hv.get_node_info()["memory_free"] == 16384 - 1024 - 256
    with pytest.raises(errors.HypervisorError, match="already running"):
        hv.start_instance(inst, [], False)
    hv.reboot_instance(inst)
    hv.stop_instance(inst)
    assert hv.list_instances() == []
    assert not os.path.exists(hv.config_path(inst["name"]))
    hv.stop_instance(inst)  # not running: fine
    with pytest.raises(errors.HypervisorError, match="not running"):
        hv.reboot_instance(inst)


def test_start_failure_and_paused(xen_env):
    hv = hv_xen.XenPvmHypervisor(config_dir=str(xen_env / "etc-xen"))
    with pytest.raises(errors.HypervisorError, match="xc_dom_kernel_file failed"):
        hv.start_instance(make_inst(kernel="/nonexistent/vmlinuz"), [], False)
    kernel = xen_env / "k"
    kernel.write_bytes(b"k")
    inst = make_inst(kernel=str(kernel))
    hv.start_instance(inst, [], True)
    assert hv.get_instance_info(inst["name"])["state"] == "paused"
    hv.stop_instance(inst, force=True)
    assert hv.get_instance_info(inst["name"]) is None


def test_stop_timeout_then_destroy(xen_env):
    hv = hv_xen.XenHvmHypervisor(config_dir=str(xen_env / "etc-xen"))
    inst = make_inst(name="h1", extra={"blockdev_prefix": "hd"})
    inst["hvparams"] = {"boot_order": "cd", "nic_type": "e1000", "vnc_bind_address": "0.0.0.0",
                        "blockdev_prefix": "hd", "kvm_extra_ignored": None}
    del inst["hvparams"]["kvm_extra_ignored"]
    inst["network_port"] = 5903
    hv.start_instance(inst, [], False)
    cfg = open(hv.config_path("h1")).read()
    assert "type = 'hvm'" in cfg and "vncdisplay = 3" in cfg and "model=e1000" in cfg
    # make the simulated guest ignore the shutdown request
    with open(hv.config_path("h1"), "a") as f:
        f.write("sim_ignore_shutdown = 1\n")
    subprocess.run([SIM_XL, "destroy", "h1"], check=True)
    subprocess.run([SIM_XL, "create", hv.config_path("h1")], check=True, capture_output=True)
    hv.stop_instance(inst, timeout=1)
    assert hv.list_instances() == []


def test_hvm_config_cdrom(xen_env):
    hv = hv_xen.XenHvmHypervisor(config_dir=str(xen_env / "etc-xen"))
    inst = make_inst(name="h2")
    inst["hvparams"] = {"cdrom_image_path": "/iso/a.iso", "blockdev_prefix": "hd"}
    cfg = hv.build_config(inst, [({"mode": "rw"}, "/dev/loop3", None)])
    assert "disk = ['phy:/dev/loop3,hda,w', 'file:/iso/a.iso,hdc:cdrom,r']" in cfg
