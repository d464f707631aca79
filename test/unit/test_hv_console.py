"""Console dicts (master side, pure) of every driver."""

from __future__ import annotations

import copy
import os

from ganeti import constants, pathutils
from ganeti.hypervisor import HYPERVISOR_CLASSES, hv_kvm

NODE = {"name": "node1.example.com", "primary_ip": "192.0.2.10", "ssh_port": 2222}
KEYS = {"instance", "kind", "message", "host", "port", "user", "command", "display"}


def inst(hv, port=0):
    return {"name": "i1.example.com", "hypervisor": hv, "network_port": port,
            "hvparams": copy.deepcopy(constants.HVC_DEFAULTS[hv])}


def console(hv, hvparams=None, port=0):
    i = inst(hv, port)
    hvp = hvparams if hvparams is not None else i["hvparams"]
    return HYPERVISOR_CLASSES[hv].get_instance_console(i, NODE, {}, hvp, {})


def test_kvm_serial():
    c = console("kvm")
    assert set(c) == KEYS
    assert c["kind"] == "ssh" and c["host"] == NODE["name"] and c["port"] == 2222
    assert c["user"] == "root" and c["instance"] == "i1.example.com"
    ctrl = os.path.join(pathutils.RUN_DIR, "kvm-hypervisor", "ctrl", "i1.example.com")
    assert c["command"] == [hv_kvm.console_wrapper_path(), "socat", "i1.example.com",
                            ctrl + ".qmp", "STDIO,raw,echo=0,escape=0x1d",
                            "UNIX-CONNECT:" + ctrl + ".serial"]
    assert os.access(c["command"][0], os.X_OK)


def test_kvm_vnc_and_msg():
    hvp = dict(constants.HVC_DEFAULTS["kvm"], serial_console=False,
               vnc_bind_address="198.51.100.5")
    c = console("kvm", hvp, port=5911)
    assert c["kind"] == "vnc" and c["host"] == "198.51.100.5"
    assert c["port"] == 5911 and c["display"] == 11
    hvp["vnc_bind_address"] = "0.0.0.0"
    assert console("kvm", hvp, port=5911)["host"] == "192.0.2.10"
    hvp["vnc_bind_address"] = ""
    c = console("kvm", hvp)
    assert c["kind"] == "msg" and c["message"]


def test_other_hypervisors():
    assert console("fake")["kind"] == "msg"
    c = console("lxc")
    assert c["kind"] == "ssh" and c["command"][:3] == ["lxc-console", "-n", "i1.example.com"]
    assert c["command"][3:] == ["-P", os.path.join(pathutils.RUN_DIR, "lxc")]
    c = console("chroot")
    assert c["kind"] == "ssh" and c["command"][0] == "chroot" and c["command"][-1] == "/bin/sh"
    for xen in ("xen-pvm", "xen-hvm"):
        c = console(xen)
        assert c["kind"] == "ssh" and c["command"][-2:] == ["console", "i1.example.com"]
        assert set(c) == KEYS
