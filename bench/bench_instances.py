#!/usr/bin/env python3
"""Instances on a one-node virtual cluster: creation, listing 10,000, KVM startup.

Prints, each next to a bound measured in the same run:
- 100 diskless `fake` instances created one after the other with
  `gnt-instance add` (s/instance), against `gnt-debug delay 0.001` (one
  command with a job), and 100 more submitted at once with `--submit`
  (instances/s), against the same 100 command starts (`gnt-cluster version`)
  in the same process pool;
- `gnt-instance list` with 10,000 fake instances on 20 nodes (a config
  written by tools/gen-config, 19 nodes offline), median of 5, and the
  master daemon's RSS, against the same list with the ~200 instances of
  the first part;
- `gnt-instance startup` of a busybox KVM guest until its serial console
  prints `ganeti-busybox: <name> up`, against qemu started by hand with the
  same kernel, initrd and disk (skipped, with the reason, if the guest
  kernel or the busybox OS is missing).
"""

from __future__ import annotations

import concurrent.futures
import glob
import os
import re
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(REPO, "test", "integration"))

from benchlib import median_wall  # noqa: E402
from cluster_env import cluster_env, run  # noqa: E402

VCLUSTER = os.path.join(REPO, "tools", "vcluster")
GEN_CONFIG = os.path.join(REPO, "tools", "gen-config")
DAEMON_UTIL = os.path.join(REPO, "daemons", "daemon-util")
GUEST_DIR = "/var/cache/ganeti/guest"
BUSYBOX_OS = os.path.join(REPO, "os", "busybox")
QEMU = shutil.which("qemu-system-x86_64")
CREATE_COUNT = 100
PARALLEL_PROCS = 20
LIST_INSTANCES = 10000
LIST_NODES = 20
SERIAL_TIMEOUT = 180.0
KVM_PROBE_TIMEOUT = 20
NOOP_SCRIPT = "#!/bin/sh\n# scratch OS for benchmarks: installs nothing\nexit 0\n"
UP_RE = re.compile(rb"ganeti-busybox: (\S+) up")



def install_noop_os(root: str) -> None:
    """An OS that does nothing, in the node's search path: diskless instances need no more."""
    path = os.path.join(root, "srv", "ganeti", "os", "noop")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "ganeti_api_version"), "w") as fh:
        fh.write("20\n")
    open(os.path.join(path, "parameters.list"), "w").close()
    for script in ("create", "import", "export", "rename", "verify"):
        with open(os.path.join(path, script), "w") as fh:
            fh.write(NOOP_SCRIPT)
        os.chmod(os.path.join(path, script), 0o755)


def kvm_skip_reason() -> str | None:
    """Why part (c) cannot run here, or None."""
    for name in ("vmlinuz", "initrd.img"):
        if not os.path.isfile(os.path.join(GUEST_DIR, name)):
            return ("%s/%s is missing (build it with tools/guest-kernel)" % (GUEST_DIR, name))
    if not os.path.isfile(os.path.join(BUSYBOX_OS, "create")):
        return "the busybox OS (%s) is missing" % BUSYBOX_OS
    if QEMU is None:
        return "qemu-system-x86_64 is not installed"
    if shutil.which("busybox") is None:
        return "busybox is not installed (busybox-static)"
    if os.geteuid() != 0:
        return "needs root (taps, mknod in the OS create script)"
    return None


def kvm_usable() -> bool:
    """True if qemu can use KVM here (else both sides of (c) use TCG)."""
    if QEMU is None or not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    proc = subprocess.Popen([QEMU, "-accel", "kvm", "-machine", "none", "-nodefaults",
                             "-display", "none", "-no-user-config"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=1.5)
        return False  # exited by itself: KVM could not be initialised
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return True


# --- (a) creation ----------------------------------------------------------------------------

def add_cmd(name: str, node: str, *extra: str) -> list[str]:
    return ["gnt-instance", "add", "-t", "diskless", "-o", "noop", "-H", "fake",
            "--no-name-check", "--no-ip-check", "-n", node, *extra, name]


def bench_create(env: dict, node: str, domain: str) -> None:
    delay = median_wall(["gnt-debug", "delay", "0.001"], env, n=9)
    start = time.perf_counter()
    for i in range(CREATE_COUNT):
        run(env, *add_cmd("bseq%03d.%s" % (i, domain), node))
    seq = (time.perf_counter() - start) / CREATE_COUNT
    print("gnt-instance add (diskless, fake, started), %d one after the other: %.3f s/instance"
          " (target < 0.1 s)" % (CREATE_COUNT, seq))
    print("  bound: gnt-debug delay 0.001 (one command + one job) %.1f ms; add is %.1f x that"
          % (delay * 1e3, seq / delay))

    def submit(i: int) -> int:
        res = run(env, *add_cmd("bpar%03d.%s" % (i, domain), node, "--submit"))
        found = re.findall(r"\d+", res.stdout)
        if not found:
            raise AssertionError("no job id in %r" % res.stdout)
        return int(found[-1])

    def version(_: int) -> None:
        run(env, "gnt-cluster", "version")

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(PARALLEL_PROCS) as pool:
        ids = list(pool.map(submit, range(CREATE_COUNT)))
    submitted = time.perf_counter() - start
    statuses = wait_jobs(ids)
    par = time.perf_counter() - start
    ok = sum(1 for s in statuses if s == "success")
    print("gnt-instance add --submit, %d at once (%d processes at a time), until all jobs"
          " ended: %.2f s, %.1f instances/s (target >= 30/s); %d succeeded, submitting took"
          " %.2f s" % (CREATE_COUNT, PARALLEL_PROCS, par, CREATE_COUNT / par, ok, submitted))
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(PARALLEL_PROCS) as pool:
        list(pool.map(version, range(CREATE_COUNT)))
    starts = time.perf_counter() - start
    print("  bound: %d x gnt-cluster version in the same pool %.2f s (%.0f commands/s);"
          " sequential add rate %.1f instances/s" % (CREATE_COUNT, starts,
                                                     CREATE_COUNT / starts, 1 / seq))
    if ok != CREATE_COUNT:
        raise AssertionError("%d of %d creation jobs failed" % (CREATE_COUNT - ok,
                                                                CREATE_COUNT))
    bench_create_bulk(node, domain)


def bench_create_bulk(node: str, domain: str) -> None:
    """The same creations submitted by one client at once (a script over LUXI or RAPI)."""
    from ganeti import luxi
    from ganeti.pathutils import MASTER_SOCKET
    jobs = [[{"OP_ID": "OP_INSTANCE_CREATE", "instance_name": "bblk%03d.%s" % (i, domain),
              "mode": "create", "disk_template": "diskless", "disks": [], "nics": [{}],
              "os_type": "noop", "hypervisor": "fake", "pnode": node, "name_check": False,
              "ip_check": False}] for i in range(CREATE_COUNT)]
    client = luxi.Client(MASTER_SOCKET)
    start = time.perf_counter()
    ids = [jid for ok, jid in client.submit_many_jobs(jobs) if ok]
    statuses = wait_jobs(ids)
    bulk = time.perf_counter() - start
    ok = sum(1 for s in statuses if s == "success")
    for jid, status in zip(ids, statuses, strict=True):
        if status != "success":
            print("  job %s: %s %s" % (jid, status, client.query_jobs([jid], ["opresult"])[0]))
    print("OP_INSTANCE_CREATE x %d submitted at once by one LUXI client, until all ended:"
          " %.2f s, %.1f instances/s; %d succeeded" % (CREATE_COUNT, bulk,
                                                      CREATE_COUNT / bulk, ok))


def wait_jobs(ids: list[int], timeout: float = 600) -> list[str]:
    from ganeti import luxi
    from ganeti.pathutils import MASTER_SOCKET
    client = luxi.Client(MASTER_SOCKET)
    deadline = time.time() + timeout
    while True:
        rows = client.query_jobs(ids, ["status"])
        statuses = [r[0] if r else "gone" for r in rows]
        if all(s in ("success", "error", "canceled", "gone") for s in statuses):
            return statuses
        if time.time() > deadline:
            raise AssertionError("jobs still pending after %d s" % timeout)
        time.sleep(0.05)


# --- (b) listing 10,000 instances ------------------------------------------------------------

def masterd_rss_kib() -> int:
    from ganeti import pathutils
    with open(pathutils.daemon_pidfile("ganeti-masterd")) as fh:
        pid = int(fh.read().split()[0])
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_master(env: dict, timeout: float = 120) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        res = run(env, "gnt-instance", "list", "--no-headers", "-o", "name", check=False)
        if res.returncode == 0:
            return time.perf_counter() - start
        time.sleep(0.1)
    raise AssertionError("master did not answer within %d s" % timeout)


def count_instances(env: dict) -> int:
    res = run(env, "gnt-instance", "list", "--no-headers", "-o", "name")
    return len(res.stdout.splitlines())


def bench_list(env: dict) -> None:
    from ganeti import pathutils
    small = count_instances(env)
    small_t = median_wall(["gnt-instance", "list"], env, n=5)
    small_rss = masterd_rss_kib()
    run(env, DAEMON_UTIL, "stop", "ganeti-masterd")
    conf = pathutils.CLUSTER_CONF_FILE
    res = run(env, sys.executable, GEN_CONFIG, "--from", conf, "--out", conf,
              "--nodes", str(LIST_NODES), "--instances", str(max(0, LIST_INSTANCES - small)))
    start = time.perf_counter()
    # 19 of the 20 nodes are offline and cannot vote: skip the master vote
    run(env, DAEMON_UTIL, "start", "ganeti-masterd", "--no-voting", "--yes-do-it")
    ready = time.perf_counter() - start
    ready += wait_master(env)
    big = count_instances(env)
    big_t = median_wall(["gnt-instance", "list"], env, n=5)
    big_rss = masterd_rss_kib()
    py = median_wall(["/usr/bin/python3", "-c", "pass"], env, n=9)
    print("(%s)" % res.stdout.strip())
    print("gnt-instance list with %d instances on %d nodes: %.1f ms median of 5"
          " (target < 200 ms); ganeti-masterd RSS %.1f MiB; master answered %.1f s after"
          " its start" % (big, LIST_NODES, big_t * 1e3, big_rss / 1024, ready))
    print("  bound: the same list with %d instances %.1f ms (%.3f ms per extra instance),"
          " RSS %.1f MiB (%.1f KiB per extra instance); python3 -c pass %.1f ms" % (
              small, small_t * 1e3, (big_t - small_t) * 1e3 / max(1, big - small),
              small_rss / 1024, (big_rss - small_rss) / max(1, big - small), py * 1e3))
    bench_rapi_bulk(env, big)


def _raw_get(address: str, password: str, path: str, n: int = 5) -> tuple[float, int]:
    """Median time of a keep-alive HTTPS GET until the last byte (pycurl, no decoding)."""
    import io

    import pycurl
    curl = pycurl.Curl()
    curl.setopt(pycurl.URL, "https://%s:5080%s" % (address, path))
    curl.setopt(pycurl.USERPWD, "vcluster:%s" % password)
    curl.setopt(pycurl.SSL_VERIFYPEER, 0)
    curl.setopt(pycurl.SSL_VERIFYHOST, 0)
    times, size = [], 0
    for _ in range(n + 1):
        buf = io.BytesIO()
        curl.setopt(pycurl.WRITEDATA, buf)
        start = time.perf_counter()
        curl.perform()
        times.append(time.perf_counter() - start)
        size = len(buf.getvalue())
    curl.close()
    return statistics.median(times[1:]), size


def bench_rapi_bulk(env: dict, count: int) -> None:
    """GET /2/instances?bulk=1 through our RAPI client (keep-alive, TLS)."""
    base = os.path.dirname(env["GANETI_ROOTDIR"])
    secret = os.path.join(base, "rapi.secret")
    if not os.path.exists(secret):
        print("RAPI bulk listing: skipped: no %s (RAPI not started)" % secret)
        return
    from ganeti.rapi import client as rapi_client
    with open(secret) as fh:
        password = fh.read().strip()
    with open(os.path.join(env["GANETI_ROOTDIR"], "etc", "hosts")) as fh:
        address = [ln.split()[0] for ln in fh if " node1" in ln][0]
    cli = rapi_client.GanetiRapiClient(address, username="vcluster", password=password)
    cli.GetVersion()                      # connection and TLS session set up
    times = []
    for _ in range(5):
        start = time.perf_counter()
        items = cli.GetInstances(bulk=True)
        times.append(time.perf_counter() - start)
    version = []
    for _ in range(20):
        start = time.perf_counter()
        cli.GetVersion()
        version.append(time.perf_counter() - start)
    raw, size = _raw_get(address, password, "/2/instances?bulk=1")
    print("RAPI GET /2/instances?bulk=1 with %d instances: %.0f ms median of 5 until the"
          " whole answer (%.1f MB) arrived (target < 500 ms); %.0f ms with our client,"
          " which also decodes it (%d items)" % (count, raw * 1e3, size / 1e6,
                                                 statistics.median(times) * 1e3, len(items)))
    print("  bound: GET /version on the same keep-alive connection %.2f ms"
          % (statistics.median(version) * 1e3))


# --- (c) KVM startup -------------------------------------------------------------------------

def read_serial_until(path: str, want: bytes, deadline: float, found: dict) -> None:
    """Connect to a serial socket as soon as it exists and wait for ``want``."""
    while time.time() < deadline:
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
            break
        except OSError:
            sock.close()
            time.sleep(0.005)
    else:
        return
    buf = b""
    sock.settimeout(0.5)
    try:
        while time.time() < deadline:
            try:
                chunk = sock.recv(4096)
            except socket.timeout:
                continue
            if not chunk:
                break
            buf += chunk
            if want in buf:
                found["at"] = time.perf_counter()
                return
    finally:
        sock.close()
        found["tail"] = buf[-400:]


def time_ganeti_start(env: dict, name: str, serial: str) -> float:
    found: dict = {}
    want = b"ganeti-busybox: %s up" % name.encode()
    if os.path.exists(serial):
        os.unlink(serial)  # a stale socket would be connected to before qemu binds it
    reader = threading.Thread(target=read_serial_until,
                              args=(serial, want, time.time() + SERIAL_TIMEOUT, found))
    reader.start()
    start = time.perf_counter()
    run(env, "gnt-instance", "startup", name, timeout=SERIAL_TIMEOUT)
    reader.join()
    run(env, "gnt-instance", "shutdown", "--timeout=0", name)
    if "at" not in found:
        raise AssertionError("no '%s' on the serial console; last output: %r"
                             % (want.decode(), found.get("tail")))
    return found["at"] - start


def time_bare_qemu(disk: str, accel: str, timeout: float = SERIAL_TIMEOUT) -> float | None:
    """Seconds from starting qemu by hand until the guest's init line; None on timeout."""
    cmd = [QEMU, "-accel", accel, "-nodefaults", "-no-user-config", "-display", "none",
           "-m", "128", "-smp", "1", "-kernel", os.path.join(GUEST_DIR, "vmlinuz"),
           "-initrd", os.path.join(GUEST_DIR, "initrd.img"),
           "-append", "root=/dev/vda ro console=ttyS0",
           "-drive", "file=%s,format=raw,if=virtio,cache=none,aio=threads" % disk,
           "-serial", "stdio", "-no-reboot"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    buf = b""
    try:
        while time.perf_counter() - start < timeout:
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if not ready:
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf = (buf + chunk)[-4000:]
            if UP_RE.search(buf):
                return time.perf_counter() - start
        return None
    finally:
        proc.kill()
        proc.wait()


def scratch_busybox_disk(directory: str) -> str:
    """A small disk with the busybox OS installed by its own create script."""
    disk = os.path.join(directory, "probe.disk")
    with open(disk, "wb") as fh:
        fh.truncate(64 * 1024 * 1024)
    env = {"PATH": "/sbin:/bin:/usr/sbin:/usr/bin", "OS_API_VERSION": "20",
           "INSTANCE_NAME": "probe.invalid", "DISK_COUNT": "1", "DISK_0_PATH": disk,
           "DISK_0_ACCESS": "rw", "NIC_COUNT": "0"}
    subprocess.run([os.path.join(BUSYBOX_OS, "create")], cwd=BUSYBOX_OS, env=env, check=True,
                   stdout=subprocess.DEVNULL, timeout=300)
    return disk


def choose_accel(directory: str) -> tuple[str, str]:
    """(accel, why): KVM only if a guest really boots with it (nested KVM may not)."""
    wanted = os.environ.get("BENCH_KVM_ACCEL")
    if wanted in ("kvm", "tcg"):
        return wanted, "BENCH_KVM_ACCEL"
    if not kvm_usable():
        return "tcg", "/dev/kvm unusable"
    disk = scratch_busybox_disk(directory)
    booted = time_bare_qemu(disk, "kvm", timeout=KVM_PROBE_TIMEOUT)
    os.unlink(disk)
    if booted is None:
        return "tcg", "a KVM guest did not boot within %d s" % KVM_PROBE_TIMEOUT
    return "kvm", "a KVM guest boots"


def bench_kvm(env: dict, node: str, domain: str, root: str) -> None:
    from ganeti import pathutils
    from ganeti.hypervisor import hv_kvm
    dest = os.path.join(root, "srv", "ganeti", "os", "busybox")
    if not os.path.exists(dest):
        shutil.copytree(BUSYBOX_OS, dest)
    # NICs: a tap attached to nothing is enough, so no bridge is created on the host
    vif = os.path.join(pathutils.CONF_DIR, "kvm-vif-bridge")
    with open(vif, "w") as fh:
        fh.write("#!/bin/sh\nip link set \"$INTERFACE\" up 2>/dev/null\nexit 0\n")
    os.chmod(vif, 0o755)
    name = "bkvm1.%s" % domain
    accel, why = choose_accel(os.path.dirname(root))
    hvp = ("kvm:kernel_path=%s,initrd_path=%s,root_path=/dev/vda,kernel_args=ro,"
           "serial_console=true,kvm_flag=%s" % (os.path.join(GUEST_DIR, "vmlinuz"),
                                                os.path.join(GUEST_DIR, "initrd.img"),
                                                "enabled" if accel == "kvm" else "disabled"))
    run(env, "gnt-instance", "add", "-t", "file", "--disk", "0:size=1G", "-o", "busybox",
        "-H", hvp, "-B", "memory=128M", "--no-name-check", "--no-ip-check", "--no-start",
        "-n", node, name, timeout=600)
    disks = glob.glob(os.path.join(root, "**", name, "*.file.disk0"), recursive=True)
    if not disks:
        raise AssertionError("cannot find the disk file of %s under %s" % (name, root))
    serial = hv_kvm.ctrl_paths(os.path.join(pathutils.RUN_DIR,
                                            hv_kvm.KvmHypervisor.RUN_SUBDIR), name).serial
    ganeti_t = statistics.median(time_ganeti_start(env, name, serial) for _ in range(3))
    bare = [time_bare_qemu(disks[0], accel) for _ in range(3)]
    if None in bare:
        raise AssertionError("bare qemu (%s): no 'ganeti-busybox: ... up' within %d s"
                             % (accel, SERIAL_TIMEOUT))
    bare_t = statistics.median(bare)
    print("gnt-instance startup of a busybox KVM guest (%s: %s) until its console prints"
          " 'ganeti-busybox: %s up': %.2f s median of 3" % (accel, why, name, ganeti_t))
    print("  bound: bare qemu with the same kernel, initrd and disk %.2f s; Ganeti adds"
          " %.2f s" % (bare_t, ganeti_t - bare_t))
    run(env, "gnt-instance", "remove", "-f", name, check=False)


# --- main ------------------------------------------------------------------------------------

def main() -> int:
    if not os.path.exists(os.path.join(REPO, "scripts", "gnt-instance")):
        print("cannot run: scripts/gnt-instance does not exist yet")
        return 1
    skip_kvm = kvm_skip_reason()
    base = tempfile.mkdtemp(prefix="bi", dir="/tmp")
    hypervisors = "fake" if skip_kvm else "fake,kvm"
    try:
        subprocess.run([VCLUSTER, "up", base, "--nodes", "1", "--hypervisors", hypervisors],
                       check=True, stdout=subprocess.DEVNULL, timeout=300)
        env = cluster_env(base)
        os.environ.update({k: env[k] for k in ("GANETI_ROOTDIR", "GANETI_HOSTNAME")})
        root = env["GANETI_ROOTDIR"]
        node = env["GANETI_HOSTNAME"]
        domain = node.split(".", 1)[1]
        install_noop_os(root)
        bench_create(env, node, domain)
        if skip_kvm:
            print("KVM startup: skipped: %s" % skip_kvm)
        else:
            bench_kvm(env, node, domain, root)
        bench_list(env)
    finally:
        subprocess.run([VCLUSTER, "down", base], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
