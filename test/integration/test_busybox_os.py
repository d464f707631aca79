"""The shipped busybox OS definition, installed through the OS runner onto real disks."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from ganeti import errors, pathutils
from ganeti.backend import os_defs, os_run

MIB = 1024 * 1024
REPO_OS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "os"))

pytestmark = pytest.mark.skipif(
    not shutil.which("mkfs.ext4") or not shutil.which("debugfs")
    or not any(os.path.exists(b) for b in ("/bin/busybox", "/usr/bin/busybox")),
    reason="needs e2fsprogs (mkfs.ext4, debugfs) and busybox-static")


@pytest.fixture
def node(os_node, monkeypatch):
    monkeypatch.setattr(pathutils, "OS_SEARCH_PATH", [REPO_OS])
    return os_node


def make_instance(fs, size_mib=64, disks=1, dev_type="file", path=None, **extra):
    dl = []
    for idx in range(disks):
        dpath = path or str(fs / "inst1" / ("disk%d" % idx))
        if dev_type == "file":
            with open(dpath, "wb") as fh:
                fh.truncate(size_mib * MIB)
            lid = ["loop", dpath]
        else:
            lid = ["manual", dpath]
        dl.append({"dev_type": dev_type, "logical_id": lid, "size": size_mib, "mode": "rw",
                   "params": {}, "uuid": "disk-%d" % idx, "iv_name": "disk/%d" % idx,
                   "nodes": ["n1"]})
    inst = {"name": "bb1.example.com", "uuid": "i-1", "os": "busybox+default",
            "primary_node": "n1", "hypervisor": "kvm", "hvparams": {}, "beparams": {},
            "osparams": {}, "osparams_private": {},
            "nics": [{"mac": "aa:00:00:11:22:33", "ip": "198.51.100.20", "uuid": "nic0",
                      "nicparams": {"mode": "bridged", "link": "br0"}}],
            "disks": dl}
    inst.update(extra)
    return inst


def debugfs_cat(image, path):
    res = subprocess.run(["debugfs", "-R", "cat %s" % path, str(image)], capture_output=True,
                         text=True, check=True)
    return res.stdout


def test_shipped_definition_is_valid():
    entry = os_defs.inspect_os("busybox", REPO_OS)
    assert entry[2] is True, entry[3]
    assert entry[4] == ["default"] and entry[6] == [20, 15, 10]
    assert entry[5] == [["hostname", "host name set in the guest (default: the instance name)"]]


def test_install_on_file_disk(node):
    inst = make_instance(node / "fs")
    os_run.instance_os_add(inst, False, 0)
    image = inst["disks"][0]["logical_id"][1]
    assert "::sysinit:/etc/init.d/rcS" in debugfs_cat(image, "/etc/inittab")
    rcs = debugfs_cat(image, "/etc/init.d/rcS")
    assert "ganeti-busybox: $(cat /etc/hostname) up" in rcs and "GUEST-READY" in rcs
    assert "dd if=/dev/input/$ev bs=24 count=1" in rcs and "poweroff" in rcs
    assert "mount -o remount,rw /" in rcs and "insmod" in rcs
    assert debugfs_cat(image, "/etc/hostname") == "bb1.example.com\n"
    assert "ETH0_ADDR=198.51.100.20/24" in debugfs_cat(image, "/etc/ganeti-net")
    ls = subprocess.run(["debugfs", "-R", "stat /sbin/init", image], capture_output=True,
                        text=True, check=True).stdout
    assert "Fast link dest: \"../bin/busybox\"" in ls
    label = subprocess.run(["e2label", image], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert label == "gnt-busybox"
    assert os.path.getsize(image) == 64 * MIB
    log = os.listdir(pathutils.LOG_OS_DIR)[0]
    assert log.startswith("add-busybox+default-bb1.example.com-")

    # rename rewrites /etc/hostname in the image
    inst["name"] = "bb2.example.com"
    os_run.instance_run_rename(inst, "bb1.example.com", 0)
    assert debugfs_cat(image, "/etc/hostname") == "bb2.example.com\n"

    # export / import round trip through the OS scripts
    dump = node / "dump.img"
    os_run.instance_os_export(inst, 0, str(dump), 0)
    assert dump.stat().st_size == 64 * MIB
    inst2 = make_instance(node / "fs", path=str(node / "fs" / "inst1" / "copy"))
    os_run.instance_os_import(inst2, 0, str(dump), 0)
    assert debugfs_cat(node / "fs" / "inst1" / "copy", "/etc/hostname") == "bb2.example.com\n"


def test_hostname_parameter_and_verify(node):
    inst = make_instance(node / "fs", osparams={"hostname": "custom-host"})
    os_run.instance_os_add(inst, True, 1)
    image = inst["disks"][0]["logical_id"][1]
    assert debugfs_cat(image, "/etc/hostname") == "custom-host\n"
    assert os_run.os_validate(True, "busybox", ["parameters"], {"hostname": "ok.host"}, False)
    with pytest.raises(errors.OpExecError, match="invalid hostname parameter"):
        os_run.os_validate(True, "busybox", ["parameters"], {"hostname": "bad host"}, False)


def test_too_small_and_missing_disk(node):
    inst = make_instance(node / "fs", size_mib=4)
    with pytest.raises(errors.OpExecError) as exc:
        os_run.instance_os_add(inst, False, 0)
    assert "needs at least 8 MiB" in str(exc.value)
    inst = make_instance(node / "fs", disks=0)
    with pytest.raises(errors.OpExecError, match="busybox OS needs a disk"):
        os_run.instance_os_add(inst, False, 0)


def test_install_on_loop_block_device(node, loop_devices):
    dev, img = loop_devices(32)
    inst = make_instance(node / "fs", size_mib=32, dev_type="blockdev", path=dev)
    os_run.instance_os_add(inst, False, 0)
    assert debugfs_cat(dev, "/etc/hostname") == "bb1.example.com\n"
    assert "GUEST-READY" in debugfs_cat(img, "/etc/init.d/rcS")


def test_image_scripts_parse_and_run_in_chroot(node):
    """The generated rcS is valid shell, and the tree works as a chroot (LXC) root."""
    inst = make_instance(node / "fs", size_mib=16)
    os_run.instance_os_add(inst, False, 0)
    image = inst["disks"][0]["logical_id"][1]
    rcs = node / "rcS"
    rcs.write_text(debugfs_cat(image, "/etc/init.d/rcS"))
    busybox = "/bin/busybox" if os.path.exists("/bin/busybox") else "/usr/bin/busybox"
    subprocess.run([busybox, "sh", "-n", str(rcs)], check=True)
    if os.geteuid() != 0:
        pytest.skip("mounting the image read-only needs root")
    mnt = node / "mnt"
    mnt.mkdir()
    res = subprocess.run(["mount", "-o", "loop,ro", image, str(mnt)], capture_output=True,
                         text=True, check=False)
    if res.returncode != 0:
        pytest.skip("cannot loop-mount: %s" % res.stderr.strip())
    try:
        out = subprocess.run([shutil.which("chroot") or "/usr/sbin/chroot", str(mnt), "/bin/sh", "-c",
                              "cat /etc/hostname; ls /bin/ip && echo ok"],
                             capture_output=True, text=True, check=True, env={"PATH": "/bin"})
        assert out.stdout.split() == ["bb1.example.com", "/bin/ip", "ok"]
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


GUEST_DIR = "/var/cache/ganeti/guest"


@pytest.mark.slow
def test_image_boots_and_powers_off(node):
    """Boot the installed disk under QEMU TCG; the ACPI button must power it off."""
    kernel, initrd = GUEST_DIR + "/vmlinuz", GUEST_DIR + "/initrd.img"
    if not (os.path.exists(kernel) and os.path.exists(initrd)
            and shutil.which("qemu-system-x86_64")):
        pytest.skip("needs qemu-system-x86 and a guest kernel from tools/guest-kernel")
    inst = make_instance(node / "fs", size_mib=32)
    os_run.instance_os_add(inst, False, 0)
    image = inst["disks"][0]["logical_id"][1]
    serial, qmp = node / "serial.log", node / "qmp.sock"
    proc = subprocess.Popen(
        ["qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-smp", "1", "-nodefaults",
         "-no-user-config", "-display", "none", "-kernel", kernel, "-initrd", initrd,
         "-append", "root=/dev/vda console=ttyS0 quiet panic=-1",
         "-drive", "file=%s,format=raw,if=virtio" % image, "-serial", "file:%s" % serial,
         "-qmp", "unix:%s,server,nowait" % qmp, "-no-reboot"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        text = b""
        while time.time() < deadline and b"GUEST-READY" not in text:
            time.sleep(0.2)
            text = serial.read_bytes() if serial.exists() else b""
        assert b"ganeti-busybox: bb1.example.com up" in text, text[-2000:]
        assert b"GUEST-READY" in text
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(str(qmp))
        fh = sock.makefile("rw")
        fh.readline()
        for cmd in ("qmp_capabilities", "system_powerdown"):
            fh.write(json.dumps({"execute": cmd}) + "\n")
            fh.flush()
        assert proc.wait(30) == 0
        sock.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
