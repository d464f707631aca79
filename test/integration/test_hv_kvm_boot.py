"""Boot a real TCG guest through the KVM driver.

Exercises the whole node-side life cycle the node daemon relies on: start
(tap on a bridge, serial socket, QMP), info/list, reboot, a "restarted"
driver object finding the guest again, clean ACPI shutdown, kill -9
detection, and the console wrapper unpausing a paused guest.
"""

from __future__ import annotations

import copy
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from ganeti import constants
from ganeti.hypervisor import hv_kvm

QEMU = shutil.which("qemu-system-x86_64")
BUSYBOX = shutil.which("busybox")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUEST_DIR = os.environ.get("GANETI_TEST_GUEST_DIR", "/tmp/ganeti-test-guest-kernel")
INIT_MARK = b"GUEST-ROOTFS-INIT-OK"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 is not installed"),
    pytest.mark.skipif(BUSYBOX is None, reason="busybox is not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (taps, bridges, mknod)"),
]

RCS = r"""#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -o remount,rw /
for m in failover net_failover virtio_net evdev button; do insmod /lib/modules/$m.ko 2>/dev/null; done
ev=$(grep -A5 'Power Button' /proc/bus/input/devices | sed -n 's/.*Handlers=.*\(event[0-9]*\).*/\1/p')
( dd if=/dev/input/$ev bs=24 count=1 of=/dev/null 2>/dev/null; poweroff ) &
echo "GUEST-ROOTFS-INIT-OK pid1=$(cat /proc/1/comm) root=$(grep ' / ' /proc/mounts | cut -d' ' -f1,3)"
ip -o link; echo GUEST-READY
"""


@pytest.fixture(scope="module")
def guest_kernel() -> str:
    res = subprocess.run([os.path.join(REPO, "tools", "guest-kernel"), GUEST_DIR],
                         capture_output=True, text=True, timeout=300, check=False)
    if res.returncode != 0:
        pytest.skip("guest kernel not available: %s" % res.stderr.strip()[-300:])
    return GUEST_DIR


@pytest.fixture(scope="module")
def root_image(guest_kernel, tmp_path_factory) -> str:
    """A 64 MiB ext4 image with busybox init, built without mounting."""
    work = tmp_path_factory.mktemp("rootfs")
    root = work / "rootfs"
    for sub in ("bin", "sbin", "dev", "proc", "sys", "tmp", "root", "etc/init.d", "lib/modules"):
        (root / sub).mkdir(parents=True)
    shutil.copy(BUSYBOX, root / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", root / "bin" / a)
    os.symlink("../bin/busybox", root / "sbin" / "init")
    for ko in os.listdir(os.path.join(guest_kernel, "modules")):
        shutil.copy(os.path.join(guest_kernel, "modules", ko), root / "lib" / "modules")
    (root / "etc" / "inittab").write_text(
        "::sysinit:/etc/init.d/rcS\n::respawn:-/bin/sh\n::shutdown:/bin/umount -a -r\n")
    (root / "etc" / "init.d" / "rcS").write_text(RCS)
    os.chmod(root / "etc" / "init.d" / "rcS", 0o755)
    (root / "etc" / "passwd").write_text("root::0:0:root:/root:/bin/sh\n")
    image = str(work / "root.raw")
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "guestroot", "-d", str(root), image, "64M"],
                   check=True, capture_output=True)
    return image


@pytest.fixture
def bridge():
    name = "gtbr%d" % (os.getpid() % 100000)
    subprocess.run(["ip", "link", "add", name, "type", "bridge"], check=True)
    subprocess.run(["ip", "link", "set", name, "up"], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "link", "del", name], check=False)


@pytest.fixture
def kvm():
    # short path: unix socket paths are limited to 107 bytes
    top = tempfile.mkdtemp(prefix="gkvm", dir="/tmp")
    run_dir = os.path.join(top, "kvm-hypervisor")
    hv = hv_kvm.KvmHypervisor(run_dir=run_dir)
    try:
        yield hv
    finally:
        piddir = os.path.join(run_dir, "pid")
        for name in os.listdir(piddir) if os.path.isdir(piddir) else []:
            try:
                pid = int(open(os.path.join(piddir, name)).read())
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
            try:
                hv_kvm.KvmHypervisor(run_dir=run_dir).stop_instance({"name": name}, force=True)
            except Exception:  # noqa: BLE001 - best effort cleanup
                pass
        shutil.rmtree(top, ignore_errors=True)


def make_instance(kernel_dir: str, image: str, link: str | None) -> tuple[dict, list]:
    hvp = copy.deepcopy(constants.HVC_DEFAULTS["kvm"])
    hvp.update({"kvm_path": QEMU, "kernel_path": os.path.join(kernel_dir, "vmlinuz"),
                "initrd_path": os.path.join(kernel_dir, "initrd.img"), "root_path": "/dev/vda",
                "kernel_args": "ro quiet panic=-1", "serial_console": True,
                "disk_cache": "none"})
    nics = []
    if link:
        nics.append({"mac": "52:54:00:12:34:56", "ip": None, "uuid": "nic-uuid-0",
                     "nicparams": {"mode": "bridged", "link": link, "vlan": ""}})
    disk = {"dev_type": "file", "logical_id": ["loop", image], "size": 64, "mode": "rw",
            "iv_name": "disk/0", "uuid": "disk-uuid-0", "params": {}}
    inst = {"name": "kvmtest1.example.com", "uuid": "6d3b2f3e-0000-4000-8000-000000000001",
            "hypervisor": "kvm", "hvparams": hvp,
            "beparams": {"maxmem": 256, "minmem": 256, "vcpus": 1},
            "nics": nics, "disks": [disk], "network_port": 0, "primary_node_name": "node1"}
    return inst, [(disk, image, None)]


class Serial:
    """Reader of the guest's serial socket (qemu drops output with no client)."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.settimeout(0.5)
        self.buf = b""

    def wait_for(self, marker: bytes, timeout: float = 90) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            if time.monotonic() > deadline:
                raise AssertionError("no %r on serial; got %r" % (marker, self.buf[-2000:]))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                break
            self.buf += data
        assert marker in self.buf, self.buf[-2000:]
        out, self.buf = self.buf, self.buf[self.buf.index(marker) + len(marker):]
        return out

    def close(self) -> None:
        self.sock.close()


def test_kvm_lifecycle(kvm, guest_kernel, root_image, bridge):
    inst, bdevs = make_instance(guest_kernel, root_image, bridge)
    name = inst["name"]
    kvm.start_instance(inst, bdevs, startup_paused=False)
    serial = Serial(kvm.serial_socket(name))
    try:
        out = serial.wait_for(b"GUEST-READY")
        assert b"pid1=init root=/dev/vda ext4" in out
        assert b"eth0" in out  # virtio-net NIC on the tap is visible
        tap = open(os.path.join(kvm.run_dir, "nic", name, "0")).read().strip()
        assert os.path.basename(os.readlink("/sys/class/net/%s/master" % tap)) == bridge

        info = kvm.get_instance_info(name)
        assert info is not None
        assert info["memory"] == 256 and info["vcpus"] == 1
        assert info["state"] == "running" and info["time"] >= 0
        assert kvm.list_instances() == [name]
        assert name in kvm.get_all_instances_info()
        runtime = kvm._load_runtime(name)
        assert runtime is not None and len(runtime) == 4

        kvm.reboot_instance(inst)
        serial.wait_for(INIT_MARK)

        # a new driver object = node daemon restart: still finds the guest
        fresh = hv_kvm.KvmHypervisor(run_dir=kvm.run_dir)
        assert fresh.list_instances() == [name]
        serial.wait_for(b"GUEST-READY")
        started = time.monotonic()
        fresh.stop_instance(inst, timeout=60)
        elapsed = time.monotonic() - started
        assert elapsed < 50, "ACPI shutdown did not work (took %.1fs)" % elapsed
        assert fresh.list_instances() == []
        assert fresh.get_instance_info(name) is None
        assert not os.path.exists("/sys/class/net/%s" % tap)
        assert not os.path.exists(os.path.join(kvm.run_dir, "conf", name + ".runtime"))
    finally:
        serial.close()
    # stopping again is fine
    kvm.stop_instance(inst)


def test_kvm_paused_console_and_kill9(kvm, guest_kernel, root_image):
    inst, bdevs = make_instance(guest_kernel, root_image, None)
    name = inst["name"]
    kvm.start_instance(inst, bdevs, startup_paused=True)
    assert kvm.get_instance_info(name)["state"] == "prelaunch"
    console = hv_kvm.KvmHypervisor.get_instance_console(
        inst, {"name": "node1", "ssh_port": 22}, {}, inst["hvparams"], inst["beparams"])
    assert console["kind"] == "ssh"
    # run the console command locally with the node's paths (the class
    # method uses the default run dir; this test's driver has its own)
    cmd = [hv_kvm.console_wrapper_path(), "socat", name, os.path.join(kvm.run_dir, "ctrl",
           name + ".qmp"), "STDIO", "UNIX-CONNECT:%s" % kvm.serial_socket(name)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        buf = b""
        os.set_blocking(proc.stdout.fileno(), False)
        while INIT_MARK not in buf and time.monotonic() < deadline:
            chunk = proc.stdout.read(65536)
            if chunk:
                buf += chunk
            else:
                time.sleep(0.1)
        assert INIT_MARK in buf, buf[-2000:]
        assert kvm.get_instance_info(name)["state"] == "running"
    finally:
        proc.kill()
        proc.wait()
    pid = int(open(os.path.join(kvm.run_dir, "pid", name)).read())
    os.kill(pid, signal.SIGKILL)
    assert kvm.wait_stopped(name, 10)
    assert kvm.list_instances() == []
    assert kvm.get_instance_info(name) is None
    kvm.cleanup_instance(name)
    assert not os.path.exists(os.path.join(kvm.run_dir, "pid", name))
