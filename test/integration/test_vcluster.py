"""tools/vcluster and daemons/daemon-util.

The first half brings a one-node virtual cluster up with the real daemons and
drives it through the command line; the second half checks daemon-util's
actions against small fake daemons in a scratch tree, so it needs no cluster.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
VCLUSTER = os.path.join(REPO, "tools", "vcluster")
DAEMON_UTIL = os.path.join(REPO, "daemons", "daemon-util")
TIMEOUT = 120


# --- helpers ----------------------------------------------------------------------

def _free_subnet() -> str:
    """A 127.0.X subnet nobody listens on, away from 127.0.1, 127.0.2, ...
    that `--subnet auto` hands out."""
    candidates = list(range(100, 250))
    random.shuffle(candidates)
    for third in candidates:
        subnet = "127.0.%d" % third
        for host in (1, 254):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("%s.%d" % (subnet, host), 1811))
            except OSError:
                break
            finally:
                sock.close()
        else:
            return subnet
    raise RuntimeError("no free loopback subnet")


def _run(args: list[str], env: dict | None = None, timeout: float = TIMEOUT):
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


def vcluster(*args: str) -> subprocess.CompletedProcess:
    return _run([VCLUSTER, *args])


def in_cluster(base: str, *cmd: str) -> subprocess.CompletedProcess:
    """Run a command the way a user does: after sourcing DIR/env."""
    return _run(["bash", "-c", '. "$0/env" && exec "$@"', base, *cmd])


def _under(path: str, base: str) -> bool:
    path = path.rstrip("/")
    return path == base or path.startswith(base + "/")


def _processes_of(base: str) -> list[int]:
    """Live processes whose environment roots them in the cluster directory."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as fh:
                environ = fh.read().split(b"\0")
            with open("/proc/%s/stat" % name) as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state == "Z":
            continue
        for item in environ:
            if item.startswith(b"GANETI_ROOTDIR=") and \
                    _under(item[len(b"GANETI_ROOTDIR="):].decode(errors="replace"), base):
                found.append(int(name))
                break
    return found


def _all_pids() -> list[int]:
    return [int(n) for n in os.listdir("/proc") if n.isdigit() and int(n) != os.getpid()]


def _cmdline(pid: int) -> str:
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _kill_leftovers(base: str) -> list[int]:
    pids = _processes_of(base)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return pids


def _wait_gone(base: str, timeout: float = 10) -> list[int]:
    deadline = time.time() + timeout
    while True:
        left = _processes_of(base)
        if not left or time.time() > deadline:
            return left
        time.sleep(0.05)


def _log_tail(base: str) -> str:
    try:
        with open(os.path.join(base, "vcluster.log")) as fh:
            return fh.read()[-3000:]
    except OSError:
        return "(no vcluster.log)"


class Cluster:
    """A virtual cluster; subnet None means the tool's default (auto)."""

    def __init__(self, base: str, subnet: str | None):
        self.base = base
        self.subnet = subnet

    def up(self) -> None:
        args = ["up", self.base, "--nodes", "1"]
        if self.subnet:
            args += ["--subnet", self.subnet]
        res = vcluster(*args)
        assert res.returncode == 0, "vcluster up failed:\n%s\n%s\n%s" % (
            res.stdout, res.stderr, _log_tail(self.base))
        with open(os.path.join(self.base, "vcluster.json")) as fh:
            got = json.load(fh)["subnet"]
        assert self.subnet in (None, got)
        self.subnet = got

    def down(self) -> subprocess.CompletedProcess:
        return vcluster("down", self.base)


def _cluster_fixture(base: str, subnet: str | None):
    cluster = Cluster(base, subnet)
    try:
        cluster.up()
        yield cluster
    finally:
        try:
            cluster.down()
        finally:
            leftovers = _kill_leftovers(base)
            assert not leftovers, "processes survived vcluster down: %s" % leftovers


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    yield from _cluster_fixture(str(tmp_path_factory.mktemp("vcluster")), None)


@pytest.fixture
def fresh_cluster(tmp_path):
    yield from _cluster_fixture(str(tmp_path / "vc"), _free_subnet())


# --- the virtual cluster ------------------------------------------------------------

def test_layout_and_env(cluster):
    base, subnet = cluster.base, cluster.subnet
    with open(os.path.join(base, "node1", "etc", "hosts")) as fh:
        hosts = [line.split() for line in fh if line.strip() and not line.startswith("#")]
    assert [subnet + ".1", "node1.vcluster.test", "node1"] in hosts
    assert [subnet + ".254", "cluster.vcluster.test", "cluster"] in hosts
    with open(os.path.join(base, "node1", "etc", "default", "ganeti")) as fh:
        assert 'NODED_ARGS="-b %s.1"\n' % subnet in fh.read()
    with open(os.path.join(base, "env")) as fh:
        env_text = fh.read()
    assert "export GANETI_ROOTDIR=%s/node1\n" % base in env_text
    assert "export GANETI_HOSTNAME=node1.vcluster.test\n" in env_text
    assert 'export PATH="%s/scripts:%s/daemons:%s/.venv/bin:$PATH"\n' % (REPO, REPO, REPO) \
        in env_text
    res = vcluster("env", base)
    assert res.returncode == 0 and res.stdout == env_text
    assert os.path.getsize(os.path.join(base, "vcluster.log")) > 0


def test_daemons_run_with_pid_files(cluster):
    rundir = os.path.join(cluster.base, "node1", "var", "run", "ganeti")
    for daemon in ("ganeti-noded", "ganeti-masterd"):
        res = in_cluster(cluster.base, "daemon-util", "check", daemon)
        assert res.returncode == 0, res.stderr
        with open(os.path.join(rundir, daemon + ".pid")) as fh:
            pid = int(fh.read().split()[0])
        os.kill(pid, 0)
        res = in_cluster(cluster.base, "daemon-util", "daemon-pidfile", daemon)
        assert res.stdout == os.path.join(rundir, daemon + ".pid") + "\n"


def test_cluster_version(cluster):
    res = in_cluster(cluster.base, "gnt-cluster", "version")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("Software version: ")
    assert "Internode protocol: " in res.stdout


def test_getmaster(cluster):
    res = in_cluster(cluster.base, "gnt-cluster", "getmaster")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "node1.vcluster.test\n"


def test_delay_and_job_list(cluster):
    res = in_cluster(cluster.base, "gnt-debug", "delay", "0.01")
    assert res.returncode == 0, res.stderr
    res = in_cluster(cluster.base, "gnt-job", "list")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["ID", "Status", "Summary"]
    rows = [line.split(None, 2) for line in lines[1:]]
    assert all(re.fullmatch(r"\d+", row[0]) for row in rows)
    assert any(row[1] == "success" and row[2].startswith("TEST_DELAY") for row in rows), lines


def test_up_again_reuses_running_cluster(cluster):
    res = vcluster("up", cluster.base, "--nodes", "1")
    assert res.returncode == 0, res.stderr
    assert "reusing" in res.stdout
    assert in_cluster(cluster.base, "gnt-cluster", "getmaster").returncode == 0


def test_taken_subnet_is_refused(cluster, tmp_path):
    base = str(tmp_path / "second")
    res = vcluster("up", base, "--subnet", cluster.subnet)
    assert res.returncode == 1
    assert "already in use" in res.stderr
    assert _processes_of(base) == []
    assert vcluster("down", base).returncode == 0


def test_down_twice_stops_everything(fresh_cluster):
    base = fresh_cluster.base
    assert _processes_of(base)
    res = fresh_cluster.down()
    assert res.returncode == 0, res.stderr
    assert _wait_gone(base) == []
    assert not os.path.exists(os.path.join(base, "node1"))
    assert not os.path.exists(os.path.join(base, "env"))
    res = fresh_cluster.down()
    assert res.returncode == 0, res.stderr
    # and it can come back in the same directory
    fresh_cluster.up()
    assert in_cluster(base, "gnt-cluster", "getmaster").returncode == 0


def test_down_kills_daemon_without_pid_file(fresh_cluster):
    base = fresh_cluster.base
    pidfile = os.path.join(base, "node1", "var", "run", "ganeti", "ganeti-masterd.pid")
    with open(pidfile) as fh:
        pid = int(fh.read().split()[0])
    os.unlink(pidfile)
    assert fresh_cluster.down().returncode == 0
    assert _wait_gone(base) == []
    assert pid not in _processes_of(base)


def test_down_of_missing_dir_is_fine(tmp_path):
    res = vcluster("down", str(tmp_path / "nothing-here"))
    assert res.returncode == 0


def test_down_leaves_foreign_directories_alone(tmp_path):
    base = tmp_path / "not-a-cluster"
    (base / "node1").mkdir(parents=True)
    res = vcluster("down", str(base))
    assert res.returncode == 0
    assert "nothing to take down" in res.stdout
    assert (base / "node1").is_dir()


def test_too_long_directory_is_refused(tmp_path):
    base = str(tmp_path / ("x" * 80))
    res = vcluster("up", base)
    assert res.returncode == 1
    assert "too long a directory" in res.stderr
    assert _processes_of(base) == []


def test_failed_up_stops_what_it_started():
    # pytest's tmp_path is too long for the daemons' unix sockets
    top = tempfile.mkdtemp(prefix="vcf", dir="/tmp")
    base = os.path.join(top, "bad")
    try:
        res = vcluster("up", base, "--hypervisors", "no-such-hv", "--subnet", _free_subnet())
        assert res.returncode == 1
        assert "Invalid hypervisor" in res.stderr
        assert "everything started was stopped again" in res.stderr
        assert _wait_gone(base) == []
        assert not any(base + "/" in _cmdline(pid) for pid in _all_pids())  # no sshd left
        assert vcluster("down", base).returncode == 0
    finally:
        vcluster("down", base)
        _kill_leftovers(base)
        shutil.rmtree(top, ignore_errors=True)


# --- daemon-util against fake daemons -------------------------------------------------

FAKE_DAEMON = r"""#!/bin/bash
# A stand-in daemon: pid file, SIGTERM/SIGHUP handling, exit codes on request.
name=$(basename "$0")
rundir="$GANETI_ROOTDIR/var/run/ganeti"
echo "$name $*" >> "$GANETI_ROOTDIR/calls"
[[ -e "$GANETI_ROOTDIR/exit-$name" ]] && exit "$(cat "$GANETI_ROOTDIR/exit-$name")"
fg=0
for a in "$@"; do [[ $a == -f ]] && fg=1; done
body() {
  mkdir -p "$rundir"
  echo $BASHPID > "$rundir/$name.pid"
  trap 'echo hup >> "$GANETI_ROOTDIR/hup-$name"' HUP
  if [[ -e "$GANETI_ROOTDIR/stubborn" ]]; then trap '' TERM
  else trap 'rm -f "$rundir/$name.pid"; exit 0' TERM; fi
  while :; do sleep 0.05; done
}
if [[ $fg == 1 ]]; then body; exit; fi
body </dev/null >/dev/null 2>&1 &
for _ in $(seq 100); do [[ -s "$rundir/$name.pid" ]] && exit 0; sleep 0.02; done
exit 1
"""


class FakeNode:
    def __init__(self, tmp: str):
        self.tree = os.path.join(tmp, "tree")
        self.root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(self.tree, "daemons"))
        os.makedirs(os.path.join(self.tree, "scripts"))
        os.makedirs(os.path.join(self.tree, "lib"))
        os.makedirs(os.path.join(self.root, "etc", "default"))
        self.util = os.path.join(self.tree, "daemons", "daemon-util")
        shutil.copy(DAEMON_UTIL, self.util)
        fake = os.path.join(self.tree, "scripts", "fake-daemon")
        with open(fake, "w") as fh:
            fh.write(FAKE_DAEMON)
        os.chmod(fake, 0o755)
        for name in ("ganeti-noded", "ganeti-masterd"):  # no ganeti-rapi: not installed
            os.symlink("fake-daemon", os.path.join(self.tree, "scripts", name))
        with open(os.path.join(self.root, "etc", "default", "ganeti"), "w") as fh:
            fh.write('NODED_ARGS="-b 127.0.1.7"\nMASTERD_ARGS="--no-voting --yes-do-it"\n')

    def du(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, GANETI_ROOTDIR=self.root, **extra_env)
        return _run([self.util, *args], env=env, timeout=60)

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def touch(self, name: str, content: str = "") -> None:
        with open(self.path(name), "w") as fh:
            fh.write(content)

    def calls(self) -> list[str]:
        try:
            with open(self.path("calls")) as fh:
                return fh.read().splitlines()
        except OSError:
            return []

    def pid(self, name: str) -> int:
        with open(self.path("var", "run", "ganeti", name + ".pid")) as fh:
            return int(fh.read().split()[0])


@pytest.fixture
def fake(tmp_path):
    node = FakeNode(str(tmp_path))
    try:
        yield node
    finally:
        node.du("stop-all", DAEMON_UTIL_STOP_TIMEOUT="1")
        _kill_leftovers(node.root)


def test_du_lists_and_names(fake):
    assert fake.du("list-start-daemons").stdout.split() == \
        ["ganeti-noded", "ganeti-masterd", "ganeti-rapi"]
    assert fake.du("list-stop-daemons").stdout.split() == \
        ["ganeti-rapi", "ganeti-masterd", "ganeti-noded"]
    assert fake.du("is-daemon-name", "ganeti-masterd").returncode == 0
    res = fake.du("is-daemon-name", "ganeti-confd")
    assert res.returncode == 1 and "unknown daemon name" in res.stderr
    assert fake.du("daemon-pidfile", "ganeti-noded").stdout == \
        fake.path("var", "run", "ganeti", "ganeti-noded.pid") + "\n"
    assert fake.du("daemon-executable", "ganeti-noded").stdout == \
        os.path.join(fake.tree, "scripts", "ganeti-noded") + "\n"
    assert fake.du("daemon-executable", "ganeti-rapi").returncode == 1
    assert fake.du().returncode == 1
    assert fake.du("frobnicate").returncode == 1
    assert fake.du("start").returncode == 1


def test_du_check_exitcode(fake):
    assert fake.du("check-exitcode", "0").returncode == 0
    assert fake.du("check-exitcode", "11").returncode == 0
    assert fake.du("check-exitcode", "1").returncode == 1
    assert fake.du("check-exitcode", "x").returncode == 1


def test_du_start_all_and_stop_all(fake):
    assert fake.du("check", "ganeti-noded").returncode == 1
    res = fake.du("start-all")
    assert res.returncode == 0, res.stderr
    assert "ganeti-rapi is not installed" in res.stderr
    assert fake.calls() == ["ganeti-noded -b 127.0.1.7", "ganeti-masterd --no-voting --yes-do-it"]
    pids = [fake.pid("ganeti-noded"), fake.pid("ganeti-masterd")]
    for name in ("ganeti-noded", "ganeti-masterd"):
        assert fake.du("check", name).returncode == 0
    # starting a running daemon is a no-op
    assert fake.du("start", "ganeti-noded").returncode == 0
    assert fake.du("check-and-start", "ganeti-noded").returncode == 0
    assert len(fake.calls()) == 2
    res = fake.du("stop-all")
    assert res.returncode == 0, res.stderr
    for name in ("ganeti-noded", "ganeti-masterd"):
        assert fake.du("check", name).returncode == 1
        assert not os.path.exists(fake.path("var", "run", "ganeti", name + ".pid"))
    for pid in pids:
        assert not os.path.exists("/proc/%d" % pid) or \
            open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0] == "Z"
    assert fake.du("stop-all").returncode == 0
    assert fake.du("stop", "ganeti-noded").returncode == 0


def test_du_start_passes_exit_code_and_extra_args(fake):
    fake.touch("exit-ganeti-noded", "3")
    assert fake.du("start", "ganeti-noded", "-d").returncode == 3
    assert fake.calls() == ["ganeti-noded -b 127.0.1.7 -d"]
    res = fake.du("start-all")
    assert res.returncode == 1
    assert "ganeti-noded" in res.stderr
    assert fake.calls()[-1].startswith("ganeti-noded")  # masterd never tried


def test_du_not_master_is_fine_for_start_all(fake):
    fake.touch("exit-ganeti-masterd", "11")
    res = fake.du("start-all")
    assert res.returncode == 0, res.stderr
    assert fake.du("check", "ganeti-noded").returncode == 0
    assert fake.du("check", "ganeti-masterd").returncode == 1
    assert fake.du("start-master").returncode == 0
    assert fake.du("start", "ganeti-masterd").returncode == 11


def test_du_start_missing_daemon_fails(fake):
    res = fake.du("start", "ganeti-rapi")
    assert res.returncode == 1
    assert "not installed" in res.stderr


def test_du_stale_and_foreign_pid_files(fake):
    rundir = fake.path("var", "run", "ganeti")
    os.makedirs(rundir)
    other = subprocess.Popen(["sleep", "60"])
    try:
        with open(os.path.join(rundir, "ganeti-noded.pid"), "w") as fh:
            fh.write("%d\n" % other.pid)
        assert fake.du("check", "ganeti-noded").returncode == 1
        assert fake.du("stop", "ganeti-noded").returncode == 0
        assert other.poll() is None  # not ours: left alone
    finally:
        other.kill()
        other.wait()
    with open(os.path.join(rundir, "ganeti-masterd.pid"), "w") as fh:
        fh.write("garbage\n")
    assert fake.du("check", "ganeti-masterd").returncode == 1
    assert fake.du("start", "ganeti-masterd").returncode == 0
    assert fake.du("check", "ganeti-masterd").returncode == 0


def test_du_stop_kills_stubborn_daemon(fake):
    fake.touch("stubborn")
    assert fake.du("start", "ganeti-noded").returncode == 0
    pid = fake.pid("ganeti-noded")
    started = time.time()
    res = fake.du("stop", "ganeti-noded", DAEMON_UTIL_STOP_TIMEOUT="1")
    assert res.returncode == 0, res.stderr
    assert 0.9 < time.time() - started < 8
    assert "killing" in res.stderr
    assert fake.du("check", "ganeti-noded").returncode == 1
    assert not os.path.exists("/proc/%d" % pid) or \
        open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0] == "Z"


def _wait_hups(fake: FakeNode, count: int) -> list[str]:
    path = fake.path("hup-ganeti-noded")
    deadline = time.time() + 5
    while True:
        try:
            with open(path) as fh:
                seen = fh.read().split()
        except OSError:
            seen = []
        if len(seen) >= count or time.time() > deadline:
            return seen
        time.sleep(0.05)


def test_du_rotate_logs(fake):
    assert fake.du("rotate-logs", "ganeti-noded").returncode == 0  # not running: nothing to do
    assert fake.du("start", "ganeti-noded").returncode == 0
    assert fake.du("rotate-logs", "ganeti-noded").returncode == 0
    assert _wait_hups(fake, 1) == ["hup"]
    assert fake.du("rotate-all-logs").returncode == 0
    assert _wait_hups(fake, 2) == ["hup", "hup"]
    assert fake.du("check", "ganeti-noded").returncode == 0


def test_du_check_config(fake):
    res = fake.du("check-config")
    assert res.returncode == 1 and "does not exist" in res.stderr
    datadir = fake.path("var", "lib", "ganeti")
    os.makedirs(datadir)
    res = fake.du("check-config")
    assert res.returncode == 1 and "server.pem" in res.stderr
    fake.touch(os.path.join(datadir, "server.pem"))
    assert fake.du("check-config").returncode == 0
    fake.touch(os.path.join(datadir, "config.data"), "{not json")
    res = fake.du("check-config")
    assert res.returncode == 1 and "config.data" in res.stderr
    fake.touch(os.path.join(datadir, "config.data"), "{}")
    assert fake.du("check-config").returncode == 0
