"""Instances on a one-node virtual cluster: fake and real KVM guests, faults, bad input."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import time

import pytest
from cluster_env import read_pid, run, wait_exited
from instance_env import NODE, _add, _root, _status, _wait_status, _write_os



@pytest.fixture(scope="module")
def scratch_os(env):
    _write_os(env, "scratch", 'echo "create $INSTANCE_NAME disks=$DISK_COUNT"; exit 0')
    _write_os(env, "failing", 'echo "cannot install $INSTANCE_NAME: disk says no" >&2; exit 3')
    return "scratch"


def test_fake_lifecycle(env, scratch_os):
    name = "fake1.vcluster.test"
    _add(env, name, "-t", "diskless", "-H", "fake", "-o", scratch_os, "-n", NODE)
    assert _status(env, name) == "running"
    res = run(env, "gnt-instance", "list", "--no-headers", "-o", "name,hypervisor,os,pnode",
              name)
    assert res.stdout.split() == [name, "fake", scratch_os, NODE]
    run(env, "gnt-instance", "shutdown", name)
    assert _status(env, name) == "ADMIN_down"
    run(env, "gnt-instance", "startup", name)
    assert _status(env, name) == "running"
    run(env, "gnt-instance", "reboot", "--type", "hard", name)
    assert _status(env, name) == "running"
    info = run(env, "gnt-instance", "info", name).stdout
    assert "Instance name: %s" % name in info and "Hypervisor: fake" in info
    run(env, "gnt-instance", "shutdown", name)
    run(env, "gnt-instance", "rename", "--no-name-check", "--no-ip-check", name,
        "fake2.vcluster.test")
    assert _status(env, "fake2.vcluster.test") == "ADMIN_down"
    run(env, "gnt-instance", "remove", "-f", "fake2.vcluster.test")
    res = run(env, "gnt-instance", "list", "--no-headers", "-o", "name")
    assert "fake2" not in res.stdout and "fake1" not in res.stdout


def test_modify_params_and_nics(env, scratch_os):
    name = "fake3.vcluster.test"
    _add(env, name, "-t", "diskless", "-H", "fake", "-o", scratch_os, "-n", NODE, "--no-start",
         "-B", "memory=256M")
    res = run(env, "gnt-instance", "list", "--no-headers", "--units", "m", "-o",
              "be/maxmem,nic.count", name)
    assert res.stdout.split() == ["256", "1"]
    run(env, "gnt-instance", "modify", "-B", "maxmem=512,minmem=512", "--net", "add", name)
    res = run(env, "gnt-instance", "list", "--no-headers", "--units", "m", "-o",
              "be/maxmem,nic.count", name)
    assert res.stdout.split() == ["512", "2"]
    macs = run(env, "gnt-instance", "list", "--no-headers", "-o", "nic.macs", name).stdout
    assert len(set(macs.strip().split(","))) == 2
    run(env, "gnt-instance", "modify", "--offline", name)
    assert _status(env, name) == "ADMIN_offline"
    res = run(env, "gnt-instance", "startup", name, check=False)
    assert res.returncode != 0 and "offline" in (res.stdout + res.stderr)
    run(env, "gnt-instance", "modify", "--online", name)
    run(env, "gnt-instance", "remove", "-f", name)


def test_os_create_failure_leaves_nothing(env, scratch_os):
    name = "broken.vcluster.test"
    res = _add(env, name, "-t", "file", "--disk", "0:size=16M", "-H", "fake", "-o", "failing",
               "-n", NODE, check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "disk says no" in out and "Traceback" not in out
    listed = run(env, "gnt-instance", "list", "--no-headers", "-o", "name").stdout
    assert name not in listed
    assert not os.path.exists(_root(env, "/srv/ganeti/file-storage/" + name))


def test_disk_too_big_is_refused(env, scratch_os):
    name = "huge.vcluster.test"
    res = _add(env, name, "-t", "file", "--disk", "0:size=100T", "-H", "fake", "-o", scratch_os,
               "-n", NODE, "--ignore-ipolicy", check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "Traceback" not in out
    assert "space" in out.lower() or "size" in out.lower()
    assert name not in run(env, "gnt-instance", "list", "--no-headers", "-o", "name").stdout
    assert not os.path.exists(_root(env, "/srv/ganeti/file-storage/" + name))


@pytest.mark.parametrize("args", [
    ["-t", "diskless", "-H", "fake", "-o", "scratch", "-n", NODE, "bad;name"],
    ["-t", "diskless", "-H", "fake", "-o", "scratch", "-n", NODE, "$(touch /tmp/pwned)"],
    ["-t", "diskless", "-H", "fake:nosuchparam=1", "-o", "scratch", "-n", NODE, "p1"],
    ["-t", "diskless", "-H", "kvm:kernel_args=" + "x" * 100000, "-o", "scratch", "-n", NODE,
     "p2"],
    ["-t", "diskless", "-H", "fake", "-o", "nosuchos", "-n", NODE, "p3"],
    ["-t", "diskless", "-H", "fake", "-o", "scratch", "-n", NODE, "--net",
     "0:mode=routed", "p4"],
])
def test_bad_input_rejected(env, scratch_os, args):
    before = run(env, "gnt-instance", "list", "--no-headers", "-o", "name").stdout
    res = run(env, "gnt-instance", "add", "--no-name-check", "--no-ip-check", *args,
              check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "Traceback" not in out and out.strip()
    assert run(env, "gnt-instance", "list", "--no-headers", "-o", "name").stdout == before
    assert not os.path.exists("/tmp/pwned")


def test_failing_pre_hook_aborts_with_output(env, scratch_os):
    hookdir = _root(env, "/etc/ganeti/hooks/instance-add-pre.d")
    os.makedirs(hookdir, exist_ok=True)
    hook = os.path.join(hookdir, "10-deny")
    with open(hook, "w") as fh:
        fh.write("#!/bin/sh\necho \"denied $GANETI_INSTANCE_NAME by policy\"\nexit 1\n")
    os.chmod(hook, 0o755)
    try:
        res = _add(env, "hooked.vcluster.test", "-t", "diskless", "-H", "fake", "-o", scratch_os,
                   "-n", NODE, check=False)
    finally:
        os.unlink(hook)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "denied hooked.vcluster.test by policy" in out
    assert "hooked" not in run(env, "gnt-instance", "list", "--no-headers", "-o", "name").stdout


def _serial_until(path: str, marker: bytes, timeout: float = 60) -> bytes:
    deadline = time.time() + timeout
    buf = b""
    while time.time() < deadline:
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.connect(path)
                sock.settimeout(1)
                while time.time() < deadline:
                    try:
                        chunk = sock.recv(4096)
                    except socket.timeout:
                        sock.sendall(b"\n")
                        continue
                    if not chunk:
                        break
                    buf += chunk
                    if marker in buf:
                        return buf
        except OSError:
            time.sleep(0.2)
    raise AssertionError("no %r on the serial console; got %r" % (marker, buf[-2000:]))


def _console_session(env: dict, name: str, command: str) -> str:
    """Type a command into ``gnt-instance console`` (real ssh + socat), then Ctrl-]."""
    proc = subprocess.Popen(["script", "-q", "-c", "gnt-instance console %s" % name,
                             "/dev/null"], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        time.sleep(3)
        proc.stdin.write(("%s\n" % command).encode())
        proc.stdin.flush()
        time.sleep(2)
        proc.stdin.write(b"\x1d")
        proc.stdin.close()
        proc.wait(timeout=30)
        out = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    return out.decode(errors="replace")


def _qemu_pid(env: dict, name: str) -> int:
    with open(_root(env, "/var/run/ganeti/kvm-hypervisor/pid/" + name)) as fh:
        return int(fh.read().split()[0])


@pytest.mark.skipif(not os.path.exists("/var/cache/ganeti/guest/vmlinuz") and os.geteuid() != 0,
                    reason="no guest kernel and not root to build one")
def test_kvm_busybox_guest(env):
    name = "vm1.vcluster.test"
    # the command line: nothing else needed
    _add(env, name, "-o", "busybox", "-t", "file", "--disk", "0:size=64M")
    assert _status(env, name) == "running"
    serial = _root(env, "/var/run/ganeti/kvm-hypervisor/ctrl/%s.serial" % name)
    assert stat.S_ISSOCK(os.stat(serial).st_mode)
    out = _serial_until(serial, b"ganeti-busybox: " + name.encode())
    assert b"ganeti-busybox" in out
    show = run(env, "gnt-instance", "console", "--show-cmd", name).stdout
    assert "ssh" in show and "socat" in show and name in show
    listed = run(env, "gnt-instance", "list", "--no-headers", "-o", "console", name).stdout
    assert "'kind': 'ssh'" in listed and "UNIX-CONNECT:" in listed
    assert "echo-from-console 42" in _console_session(env, name, "echo echo-from-console $((6*7))")
    # node daemon restart: the guest keeps running and stays controllable
    pid = _qemu_pid(env, name)
    noded = read_pid(env, "ganeti-noded")
    run(env, "daemon-util", "stop", "ganeti-noded")
    wait_exited(noded)
    run(env, "daemon-util", "start", "ganeti-noded")
    assert _qemu_pid(env, name) == pid
    _wait_status(env, name, "running")
    # qemu killed behind Ganeti's back: ERROR_down, and the watcher restarts it
    os.kill(pid, signal.SIGKILL)
    wait_exited(pid)
    _wait_status(env, name, "ERROR_down")
    verify = run(env, "gnt-cluster", "verify", "--error-codes", check=False).stdout
    assert "ERROR:EINSTANCEDOWN:instance:%s:instance not running on its primary node" % name \
        in verify
    run(env, "ganeti-watcher", timeout=300)
    assert _status(env, name) == "running"
    assert _qemu_pid(env, name) != pid
    run(env, "gnt-instance", "shutdown", "--timeout", "30", name)
    assert _status(env, name) == "ADMIN_down"
    run(env, "gnt-instance", "remove", "-f", name)
    assert not os.path.exists(_root(env, "/srv/ganeti/file-storage/" + name))
