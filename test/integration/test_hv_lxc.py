"""LXC driver with a real container whose root is a loop-mounted ext4 image."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest

from ganeti.hypervisor.hv_lxc import LxcHypervisor

BUSYBOX = shutil.which("busybox")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("lxc-start") is None, reason="lxc is not installed"),
    pytest.mark.skipif(BUSYBOX is None, reason="busybox is not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="glxc", dir="/tmp")
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", os.path.join(d, "lxc", "ct1", "rootfs")],
                       capture_output=True, check=False)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def image(workdir) -> str:
    root = os.path.join(workdir, "rootfs")
    for sub in ("bin", "sbin", "dev", "proc", "sys", "tmp", "etc", "root"):
        os.makedirs(os.path.join(root, sub))
    shutil.copy(BUSYBOX, os.path.join(root, "bin", "busybox"))
    for a in ("sh", "cat", "sleep", "echo", "ip", "hostname", "poweroff"):
        os.symlink("busybox", os.path.join(root, "bin", a))
    os.symlink("../bin/busybox", os.path.join(root, "sbin", "init"))
    with open(os.path.join(root, "etc", "inittab"), "w") as f:
        f.write("::sysinit:/bin/sh -c 'echo up > /tmp/booted'\n::respawn:/bin/sleep 100000\n")
    img = os.path.join(workdir, "root.img")
    subprocess.run(["mkfs.ext4", "-q", "-F", "-d", root, img, "32M"], check=True,
                   capture_output=True)
    return img


@pytest.fixture
def bridge():
    name = "glbr%d" % (os.getpid() % 100000)
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], check=False)


def test_lxc_lifecycle(workdir, image, bridge):
    hv = LxcHypervisor(run_dir=os.path.join(workdir, "lxc"))
    inst = {"name": "ct1", "hvparams": {"num_ttys": 1, "startup_timeout": 30,
                                        "drop_capabilities": "sys_module,sys_time",
                                        "extra_config": "lxc.signal.halt = SIGUSR2"},
            "beparams": {"maxmem": 128, "vcpus": 1},
            "nics": [{"mac": "aa:00:00:33:44:55",
                      "nicparams": {"mode": "bridged", "link": bridge}}]}
    disk = {"dev_type": "file", "mode": "rw"}
    try:
        hv.start_instance(inst, [(disk, image, None)], False)
        assert os.path.ismount(os.path.join(hv.run_dir, "ct1", "rootfs"))
        assert hv.list_instances() == ["ct1"]
        info = hv.get_instance_info("ct1")
        assert info["memory"] == 128 and info["state"] == "running"
        out = subprocess.run(["lxc-attach", "-P", hv.run_dir, "-n", "ct1", "--",
                              "/bin/sh", "-c", "cat /proc/1/comm; ip -o link"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        assert out.splitlines()[0] == "init"
        assert "eth0" in out
        assert os.listdir("/sys/class/net/%s/brif" % bridge)  # veth attached
        assert LxcHypervisor(run_dir=hv.run_dir).list_instances() == ["ct1"]
        hv.stop_instance(inst, timeout=20)
        assert hv.list_instances() == []
        assert hv.get_instance_info("ct1") is None
        assert not os.path.ismount(os.path.join(hv.run_dir, "ct1", "rootfs"))
        hv.stop_instance(inst)  # already stopped
    finally:
        subprocess.run(["lxc-stop", "-P", hv.run_dir, "-n", "ct1", "-k"],
                       capture_output=True, check=False)
        try:
            hv.cleanup_instance("ct1")
        except Exception:  # noqa: BLE001 - best effort
            pass
