#!/usr/bin/env python3
"""Cost of joining nodes over SSH.

Prints, each next to a bound measured in the same run:
- ganeti.ssh.SshRunner.run("true") (connect, strict host key check, key
  login, exec) against a bare paramiko SSHClient connect+exec of "true"
  (no host key check) and OpenSSH's `ssh ... true`, all against one private
  sshd on 127.0.1.20x;
- `vcluster up --nodes 3` and `--nodes 20`, and `gnt-node add --readd` of a
  node of the 3-node cluster, against the bare connect+exec (only when
  gnt-node add exists; otherwise says it is skipped).
Figures only, no assertions.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(REPO, "test", "integration"))

import sshd_env  # noqa: E402

VCLUSTER = os.path.join(REPO, "tools", "vcluster")
RUNS = 10


def median_ms(fn, n: int = RUNS) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def repo_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.join(REPO, "scripts"), os.path.join(REPO, "daemons"),
                                   os.path.join(REPO, ".venv", "bin"), env.get("PATH", "")])
    env.update(extra or {})
    return env


def pick_address() -> str | None:
    for n in range(200, 210):
        address = "127.0.1.%d" % n
        if sshd_env.port_free(address, 22):
            return address
    return None


def bench_ssh(work: str) -> float:
    """Print the SSH figures; returns the bare paramiko connect+exec median (ms)."""
    import paramiko

    from ganeti import ssh
    address = pick_address() or "127.0.1.200"
    port = 22 if sshd_env.port_free(address, 22) else sshd_env.free_port(address)
    key_file = os.path.join(work, "ssh", "id_ed25519")
    known = os.path.join(work, "known_hosts")
    line = ssh.ensure_cluster_key(key_file)
    with sshd_env.running_sshd(os.path.join(work, "sshd"), address, [port]) as server:
        server.authorize(line)
        ssh.add_known_host(address, *server.host_pub(), known_hosts_file=known, port=port)

        def bare() -> None:
            client = paramiko.SSHClient()
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            client.connect(address, port=port, username="root", key_filename=key_file,
                           look_for_keys=False, allow_agent=False, timeout=10)
            _, stdout, _ = client.exec_command("true")
            stdout.channel.recv_exit_status()
            client.close()

        runner = ssh.SshRunner(known_hosts_file=known, key_file=key_file, port=port)

        def ours() -> None:
            assert runner.run(address, "true")[0] == 0

        def openssh() -> None:
            subprocess.run(["ssh", "-i", key_file, "-p", str(port), "-o", "BatchMode=yes",
                            "-o", "StrictHostKeyChecking=yes", "-o",
                            "UserKnownHostsFile=" + known, "root@" + address, "true"],
                           check=True, capture_output=True)

        bare()  # warm up imports and the server
        bare_ms = median_ms(bare)
        ours_ms = median_ms(ours)
        ssh_ms = median_ms(openssh)
    print("bare paramiko connect+exec 'true' (no host key check), median of %d: %6.1f ms"
          % (RUNS, bare_ms))
    print("SshRunner.run('true') (strict host key check),       median of %d: %6.1f ms"
          " (%.2fx bare)" % (RUNS, ours_ms, ours_ms / bare_ms))
    print("OpenSSH 'ssh ... true',                               median of %d: %6.1f ms"
          % (RUNS, ssh_ms))
    return bare_ms


def node_add_available() -> bool:
    try:
        res = subprocess.run(["gnt-node", "add", "--help"], capture_output=True, check=False,
                             env=repo_env({"GANETI_ROOTDIR": "/nonexistent"}), timeout=30)
    except OSError:
        return False
    return res.returncode == 0


def bench_vcluster(nodes: int, bare_ms: float, readd: bool) -> None:
    top = tempfile.mkdtemp(prefix="vcb", dir="/tmp")  # short: unix socket paths
    base = os.path.join(top, "vc")
    try:
        start = time.perf_counter()
        res = subprocess.run([VCLUSTER, "up", base, "--nodes", str(nodes)],
                             capture_output=True, text=True, check=False)
        took = time.perf_counter() - start
        if res.returncode != 0:
            print("vcluster up --nodes %d FAILED: %s" % (nodes, res.stderr.strip()))
            return
        print("vcluster up --nodes %-2d: %6.2f s (%.2f s per node)" % (nodes, took,
                                                                  took / nodes))
        if readd:
            env = repo_env({"GANETI_ROOTDIR": os.path.join(base, "node1"),
                            "GANETI_HOSTNAME": "node1.vcluster.test"})

            def add() -> None:
                subprocess.run(["gnt-node", "add", "--readd", "node%d.vcluster.test" % nodes],
                               env=env, check=True, capture_output=True)
            add_ms = median_ms(add, 3)
            print("gnt-node add --readd on %d nodes, median of 3: %6.1f ms (%.1fx a bare"
                  " paramiko connect+exec)" % (nodes, add_ms, add_ms / bare_ms))
    finally:
        subprocess.run([VCLUSTER, "down", base], capture_output=True, check=False)
        shutil.rmtree(top, ignore_errors=True)


def main() -> int:
    reason = sshd_env.cannot_run_sshd()
    if reason:
        print("skipped: %s" % reason)
        return 0
    work = tempfile.mkdtemp(prefix="bj", dir="/tmp")
    try:
        bare_ms = bench_ssh(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not node_add_available():
        print("vcluster up / gnt-node add: skipped (gnt-node add is not available yet)")
        return 0
    bench_vcluster(3, bare_ms, readd=True)
    bench_vcluster(20, bare_ms, readd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
