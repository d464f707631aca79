"""Common ground of all hypervisor drivers.

The node daemon only ever talks to a :class:`BaseHypervisor`; the master
only ever calls its pure class methods (parameter syntax, console). Keeping
the validation as a *data table* (``PARAMETERS``) lets each driver declare
its parameters once, and lets the master check a parameter dict without
touching the node's filesystem.
"""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import time
from collections.abc import Callable
from typing import Any

from ganeti import errors, pathutils

# A parameter check is (predicate, error message); predicates get the value.
Check = tuple[Callable[[Any], bool], str]


def is_bool(value: Any) -> bool:
    """Booleans may arrive as real bools or as the strings the CLI uses."""
    return isinstance(value, bool) or value in ("true", "false", "True", "False")


def to_bool(value: Any) -> bool:
    """Interpret a boolean parameter the way :func:`is_bool` accepts it."""
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def is_int(value: Any) -> bool:
    """Integers from JSON are ints; from the CLI they may still be strings."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None


def is_nonneg_int(value: Any) -> bool:
    return is_int(value) and int(value) >= 0


def is_string(value: Any) -> bool:
    return isinstance(value, str)


def is_abs_path(value: Any) -> bool:
    return isinstance(value, str) and os.path.isabs(value) and "\0" not in value


def is_abs_path_or_empty(value: Any) -> bool:
    return value == "" or is_abs_path(value)


def is_ip_or_empty(value: Any) -> bool:
    if value == "":
        return True
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def in_set(values: set[str] | frozenset[str] | tuple[str, ...]) -> Callable[[Any], bool]:
    """Predicate for enumerated parameters (nic_type, disk_cache, ...)."""
    allowed = frozenset(values)
    return lambda value: value in allowed


def any_value(_value: Any) -> bool:
    return True


# Ready-made (required, syntax check, message, node check, node message)
# tuples: the order mirrors the contract in doc/design/instances.md.
def opt_str() -> tuple:
    return (False, is_string, "must be a string", None, None)


def opt_bool() -> tuple:
    return (False, is_bool, "must be a boolean", None, None)


def opt_int() -> tuple:
    return (False, is_int, "must be an integer", None, None)


def opt_nonneg_int() -> tuple:
    return (False, is_nonneg_int, "must be a non-negative integer", None, None)


def opt_enum(values: tuple[str, ...]) -> tuple:
    return (False, in_set(values), "must be one of %s" % ", ".join(values), None, None)


def opt_file() -> tuple:
    """An optional absolute path that must exist on the node when set."""
    return (False, is_abs_path_or_empty, "must be an absolute path",
            lambda v: v == "" or os.path.isfile(v), "file does not exist")


def req_file() -> tuple:
    return (True, is_abs_path, "must be an absolute path",
            os.path.isfile, "file does not exist")


def req_executable() -> tuple:
    return (True, is_abs_path, "must be an absolute path",
            lambda v: os.path.isfile(v) and os.access(v, os.X_OK),
            "is not an executable file")


def _proc_start_seconds(pid: int) -> float | None:
    """Seconds since process start, from /proc (works for any process)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        start_ticks = int(fields[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
    except (OSError, IndexError, ValueError):
        return None
    return max(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 0.0)


def process_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie.

    Daemonized children (qemu -daemonize) get re-parented to PID 1, which on
    these machines reaps late; ``kill(pid, 0)`` succeeds on a zombie, so the
    process state letter is what counts.
    """
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def process_uptime(pid: int) -> float:
    return _proc_start_seconds(pid) or 0.0


def run_cmd(argv: list[str], env: dict[str, str] | None = None, timeout: float = 60,
            check: bool = True, input_text: str | None = None) -> subprocess.CompletedProcess:
    """Run a helper program, turning failures into HypervisorError.

    Every driver shells out (ip, mount, lxc-*, xl); one place gives all of
    them the same error text: the command and its stderr.
    """
    try:
        res = subprocess.run(argv, capture_output=True, text=True, env=env,
                             timeout=timeout, check=False, input=input_text)
    except (OSError, subprocess.SubprocessError) as err:
        raise errors.HypervisorError("Cannot run '%s': %s" % (" ".join(argv), err))
    if check and res.returncode != 0:
        raise errors.HypervisorError(
            "Command '%s' failed (exit code %d): %s" %
            (" ".join(argv), res.returncode, (res.stderr or res.stdout).strip()))
    return res


def host_meminfo() -> dict[str, int]:
    """/proc/meminfo values in MiB."""
    result: dict[str, int] = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                key, _, rest = line.partition(":")
                parts = rest.split()
                if parts and parts[0].isdigit():
                    result[key] = int(parts[0]) // 1024
    except OSError:
        pass
    return result


def host_cpu_facts() -> tuple[int, int, int]:
    """(cpus, NUMA nodes, sockets) of this host."""
    cpus = os.cpu_count() or 1
    sockets: set[str] = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("physical id"):
                    sockets.add(line.split(":", 1)[1].strip())
    except OSError:
        pass
    try:
        nodes = sum(1 for n in os.listdir("/sys/devices/system/node")
                    if n.startswith("node") and n[4:].isdigit())
    except OSError:
        nodes = 1
    return cpus, max(nodes, 1), max(len(sockets), 1)


class BaseHypervisor:
    """Interface every driver implements; see doc/design/instances.md."""

    NAME = "base"
    #: name of the directory under RUN_DIR holding this driver's state
    RUN_SUBDIR = "base-hv"
    #: param -> (required, check fn, error message, node check fn, node message)
    PARAMETERS: dict[str, tuple] = {}

    def __init__(self, run_dir: str | None = None) -> None:
        # A separate run_dir lets tests (and vcluster nodes, through
        # pathutils) keep their guests apart from the real node's.
        self.run_dir = os.path.abspath(run_dir or os.path.join(pathutils.RUN_DIR,
                                                               self.RUN_SUBDIR))

    # ------------------------------------------------------------------ params
    @classmethod
    def check_parameter_syntax(cls, hvparams: dict) -> None:
        """Master-side check: names known, values well-formed, required present.

        Pure (no filesystem access), so the master can run it for any node.
        """
        for name in hvparams:
            if name not in cls.PARAMETERS:
                raise errors.HypervisorError(
                    "Unknown hypervisor parameter '%s' for hypervisor %s" % (name, cls.NAME))
        for name, spec in cls.PARAMETERS.items():
            required, check, msg = spec[0], spec[1], spec[2]
            # absent = inherited from a higher level (partial dicts are
            # checked too); present but empty is an explicit, bad value
            if name not in hvparams or hvparams[name] is None:
                continue
            value = hvparams[name]
            if value == "" and required:
                raise errors.HypervisorError(
                    "Invalid hypervisor parameter '%s': a value is required" % name)
            if check is not None and not check(value):
                raise errors.HypervisorError(
                    "Invalid hypervisor parameter '%s': %s (got %r)" % (name, msg, value))
        cls._check_parameter_combinations(hvparams)

    @classmethod
    def _check_parameter_combinations(cls, hvparams: dict) -> None:
        """Cross-parameter rules; drivers override."""

    def validate_parameters(self, hvparams: dict) -> None:
        """Node-side check: the table's node predicates (files exist, ...)."""
        self.check_parameter_syntax(hvparams)
        for name, spec in self.PARAMETERS.items():
            if len(spec) < 5 or spec[3] is None or name not in hvparams:
                continue
            value = hvparams[name]
            if value in (None, "") and not spec[0]:
                continue
            if not spec[3](value):
                raise errors.HypervisorError(
                    "Invalid hypervisor parameter '%s' on this node: '%s' %s"
                    % (name, value, spec[4]))

    # --------------------------------------------------------------- lifecycle
    def start_instance(self, instance: dict, block_devices: list[tuple[dict, str, str | None]],
                       startup_paused: bool) -> None:
        raise NotImplementedError

    def stop_instance(self, instance: dict, force: bool = False, timeout: int = 120) -> None:
        raise NotImplementedError

    def reboot_instance(self, instance: dict) -> None:
        raise NotImplementedError

    def cleanup_instance(self, instance_name: str) -> None:
        """Nothing to clean by default."""

    # -------------------------------------------------------------------- info
    def get_instance_info(self, instance_name: str, hvparams: dict | None = None) -> dict | None:
        raise NotImplementedError

    def get_all_instances_info(self, hvparams: dict | None = None) -> dict[str, dict]:
        """Default: ask per instance; drivers with a cheaper bulk query override."""
        result = {}
        for name in self.list_instances(hvparams):
            info = self.get_instance_info(name, hvparams)
            if info is not None:
                result[name] = info
        return result

    def list_instances(self, hvparams: dict | None = None) -> list[str]:
        raise NotImplementedError

    def get_node_info(self, hvparams: dict | None = None) -> dict:
        """Host memory/CPU facts; Xen overrides with the hypervisor's view."""
        mem = host_meminfo()
        total = mem.get("MemTotal", 0)
        free = mem.get("MemFree", 0) + mem.get("Buffers", 0) + mem.get("Cached", 0)
        free = min(free, total)
        cpus, nodes, sockets = host_cpu_facts()
        return {"memory_total": total, "memory_free": free,
                "memory_dom0": max(total - free, 0), "cpu_total": cpus,
                "cpu_nodes": nodes, "cpu_sockets": sockets, "cpu_dom0": cpus,
                "hv_version": self.get_version()}

    @classmethod
    def get_instance_console(cls, instance: dict, primary_node: dict, node_group: dict,
                             hvparams: dict, beparams: dict) -> dict:
        return cls._console_msg(instance, "No console available for hypervisor %s" % cls.NAME)

    @staticmethod
    def _console_msg(instance: dict, message: str) -> dict:
        return {"instance": instance["name"], "kind": "msg", "message": message,
                "host": None, "port": None, "user": None, "command": None, "display": None}

    @staticmethod
    def _console_ssh(instance: dict, primary_node: dict, command: list[str]) -> dict:
        return {"instance": instance["name"], "kind": "ssh", "message": None,
                "host": primary_node["name"], "port": primary_node.get("ssh_port", 22),
                "user": "root", "command": command, "display": None}

    def verify(self, hvparams: dict | None = None) -> str | None:
        return None

    def get_version(self) -> str:
        return "unknown"

    # ------------------------------------------------------------------ helpers
    def _ensure_dir(self, *parts: str, mode: int = 0o750) -> str:
        path = os.path.join(self.run_dir, *parts)
        os.makedirs(path, mode=mode, exist_ok=True)
        return path

    @staticmethod
    def _wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
        """Poll ``predicate`` until true or ``timeout``; returns its last value."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)


def instance_memory(instance: dict) -> int:
    """Memory the instance is started with (MiB): beparams maxmem."""
    be = instance.get("beparams") or {}
    return int(be.get("maxmem") or be.get("memory") or 128)


def instance_vcpus(instance: dict) -> int:
    return int((instance.get("beparams") or {}).get("vcpus") or 1)
