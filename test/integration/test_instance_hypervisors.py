"""The other hypervisors through the cluster: LXC containers and Xen (simulated xl)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest
from cluster_env import REPO, run, virtual_cluster
from instance_env import NODE, _add, _root, _status

XL_SIM = os.path.join(REPO, "test", "sim", "xl")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("lxc-start"),
                    reason="LXC needs root and the lxc package")
def test_lxc_busybox_container(env):
    name = "lxc1.vcluster.test"
    _add(env, name, "-H", "lxc", "-o", "busybox", "-t", "file", "--disk", "0:size=64M", "-n",
         NODE)
    assert _status(env, name) == "running"
    lxc_dir = _root(env, "/var/run/ganeti/lxc")
    res = subprocess.run(["lxc-attach", "-P", lxc_dir, "-n", name, "--", "/bin/sh", "-c",
                          "hostname; cat /proc/1/comm"], capture_output=True, text=True,
                         timeout=30, check=False)
    assert res.stdout.split() in ([name, "init"], ["lxc1", "init"]), res.stderr
    show = run(env, "gnt-instance", "console", "--show-cmd", name).stdout
    assert "lxc-console -n %s" % name in show
    run(env, "gnt-instance", "shutdown", "--timeout", "10", name)
    assert _status(env, name) == "ADMIN_down"
    run(env, "gnt-instance", "remove", "-f", name)
    mounts = open("/proc/mounts").read()
    assert env["GANETI_ROOTDIR"] not in mounts


def test_xen_through_simulated_xl():
    base = tempfile.mkdtemp(prefix="vcx", dir="/tmp")
    state = os.path.join(base, "xl-state")
    os.makedirs(state)
    xl_env = {"GANETI_XL_COMMAND": XL_SIM, "XL_SIM_STATE": state}
    try:
        with virtual_cluster(base, hypervisors="xen-pvm,xen-hvm,fake", extra_env=xl_env) as env:
            name = "xen1.vcluster.test"
            _add(env, name, "-o", "busybox", "-t", "file", "--disk", "0:size=16M", "-n", NODE,
                 "-H", "xen-pvm:kernel_path=/bin/true")
            assert _status(env, name) == "running"
            listing = subprocess.run([XL_SIM, "list"], env=dict(os.environ, **xl_env),
                                     capture_output=True, text=True, check=True).stdout
            assert name in listing
            out = run(env, "gnt-instance", "list", "--no-headers", "--units", "m", "-o",
                      "oper_ram,oper_vcpus", name).stdout.split()
            assert out == ["128", "1"]
            run(env, "gnt-instance", "reboot", name)
            run(env, "gnt-instance", "shutdown", name)
            assert _status(env, name) == "ADMIN_down"
            listing = subprocess.run([XL_SIM, "list"], env=dict(os.environ, **xl_env),
                                     capture_output=True, text=True, check=True).stdout
            assert name not in listing
            run(env, "gnt-instance", "remove", "-f", name)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="the chroot hypervisor mounts disk images")
def test_chroot_busybox_instance(env):
    name = "chroot1.vcluster.test"
    run(env, "gnt-cluster", "modify", "--enabled-hypervisors", "kvm,lxc,fake,chroot")
    _add(env, name, "-H", "chroot", "-o", "busybox", "-t", "file", "--disk", "0:size=32M",
         "-n", NODE)
    assert _status(env, name) == "running"
    root = _root(env, "/var/run/ganeti/chroot-hypervisor/" + name)
    with open("/proc/mounts") as fh:
        assert root in fh.read()
    # the instance's process runs with its root in the instance's tree
    in_root = [pid for pid in os.listdir("/proc") if pid.isdigit()
               and _proc_root(pid) == root]
    assert in_root
    run(env, "gnt-instance", "shutdown", name)
    assert _status(env, name) == "ADMIN_down"
    assert not [pid for pid in in_root if os.path.exists("/proc/" + pid)
                and _proc_root(pid) == root]
    run(env, "gnt-instance", "remove", "-f", name)
    with open("/proc/mounts") as fh:
        assert root not in fh.read()


def _proc_root(pid: str) -> str | None:
    try:
        return os.readlink("/proc/%s/root" % pid)
    except OSError:
        return None
