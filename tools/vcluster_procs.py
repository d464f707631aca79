"""Process inspection through /proc for tools/vcluster (which processes are a cluster's)."""

from __future__ import annotations

import os


def all_pids() -> list[int]:
    return [int(n) for n in os.listdir("/proc") if n.isdigit()]


def alive(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid) as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


def environ_of(pid: int) -> dict:
    try:
        with open("/proc/%d/environ" % pid, "rb") as fh:
            raw = fh.read()
    except OSError:
        return {}
    env = {}
    for item in raw.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            env[key.decode(errors="replace")] = value.decode(errors="replace")
    return env


def cmdline_of(pid: int) -> str:
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def is_daemon(pid: int, daemon_names: tuple = ()) -> bool:
    """Is the program (or the script an interpreter runs) a Ganeti daemon?"""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            argv = fh.read().split(b"\0")[:2]
    except OSError:
        return False
    return any(os.path.basename(a.decode(errors="replace")) in daemon_names for a in argv)


def is_sshd(pid: int, sshd: str = "/usr/sbin/sshd") -> bool:
    """An sshd listener (its title keeps the original command line)?"""
    cmdline = cmdline_of(pid)
    return cmdline.startswith(("sshd:", sshd)) and " -f " in cmdline


def ancestors(pid: int) -> set[int]:
    out = set()
    while pid > 1 and pid not in out:
        out.add(pid)
        try:
            with open("/proc/%d/stat" % pid) as fh:
                pid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            break
    return out
