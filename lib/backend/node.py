"""Node facts and checks: version, node_info, node_verify, small helpers."""

from __future__ import annotations

import hashlib
import os
import socket
import time

from ganeti import constants, errors, netutils, pathutils


def version() -> int:
    return constants.PROTOCOL_VERSION


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _meminfo() -> dict[str, int]:
    out = {}
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0]) // 1024
    except (OSError, ValueError):
        pass
    return out


def _hv_info(hv: str) -> dict:
    mem = _meminfo()
    total = mem.get("MemTotal", 0)
    free = mem.get("MemAvailable", mem.get("MemFree", 0))
    cpus = os.cpu_count() or 1
    return {"memory_total": total, "memory_free": free, "memory_dom0": total - free,
            "cpu_total": cpus, "cpu_nodes": 1, "cpu_sockets": 1, "cpu_dom0": 0,
            "hv_version": None, "type": hv}


def _storage_info(unit: list) -> dict:
    stype, key = unit[0], unit[1]
    info = {"type": stype, "name": key, "storage_size": 0, "storage_free": 0}
    if stype in (constants.DT_FILE, constants.DT_SHARED_FILE) and key:
        path = pathutils.add_root(key)
        try:
            st = os.statvfs(path)
            info["storage_size"] = st.f_blocks * st.f_frsize // (1024 * 1024)
            info["storage_free"] = st.f_bavail * st.f_frsize // (1024 * 1024)
        except OSError as err:
            raise errors.StorageError("Can't get storage info for %s: %s" % (key, err))
    return info


def node_info(storage_units: list, hv_specs: list) -> list:
    return [_boot_id(), [_storage_info(u) for u in storage_units or []],
            [_hv_info(spec[0]) for spec in hv_specs or []]]


def _file_sha1(path: str) -> str | None:
    try:
        h = hashlib.sha1()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(65536), b""):
                h.update(chunk)
        return h.hexdigest()
    except OSError:
        return None


def _nodesetup_problems() -> list[str]:
    problems = []
    if not os.path.isdir("/proc/sys") or not os.path.exists("/proc/sysrq-trigger"):
        problems.append("The procfs filesystem doesn't seem to be mounted under /proc,"
                        " missing required directory /proc/sys and the file"
                        " /proc/sysrq-trigger")
    if not os.path.isdir("/sys/block"):
        problems.append("The sysfs filesystem doesn't seem to be mounted under /sys,"
                        " missing required directory /sys/block")
    return problems


def node_verify(checks: dict, cluster_name: str, hvparams: dict) -> dict:
    """Run the requested checks (keys of ``checks``) and answer per check."""
    if not isinstance(checks, dict):
        raise errors.ParameterError("node_verify checks must be a dict")
    result: dict = {}
    if "version" in checks:
        result["version"] = [constants.PROTOCOL_VERSION, constants.RELEASE_VERSION]
    if "time" in checks:
        now = time.time()
        result["time"] = [int(now), int((now - int(now)) * 1e6)]
    if "filelist" in checks:
        sums = {}
        for path in checks["filelist"] or []:
            digest = _file_sha1(pathutils.add_root(path))
            if digest is not None:
                sums[path] = digest
        result["filelist"] = sums
    if "nodelist" in checks:
        failed = {}
        me = netutils.my_hostname()
        for name, addr in (checks["nodelist"] or {}).items():
            if name == me:
                continue
            if not netutils.tcp_ping(addr, constants.DEFAULT_NODED_PORT, timeout=5,
                                     live_port_needed=True):
                failed[name] = "TCP connection to %s:%d failed" % (
                    addr, constants.DEFAULT_NODED_PORT)
        result["nodelist"] = failed
    if "hypervisor" in checks:
        result["hypervisor"] = {hv: _hv_verify(hv) for hv in checks["hypervisor"] or []}
    if "nodesetup" in checks:
        result["nodesetup"] = _nodesetup_problems()
    if "client-cert" in checks:
        path = pathutils.add_root(checks["client-cert"] or pathutils.NODED_CERT_FILE)
        try:
            from ganeti import crypto
            result["client-cert"] = [0, crypto.cert_digest(path)]
        except (OSError, ValueError) as err:
            result["client-cert"] = [1, "Error loading certificate %s: %s" % (path, err)]
    if "instancelist" in checks:
        result["instancelist"] = []
    if "master-ip" in checks:
        result["master-ip"] = True
    if "bridges" in checks:
        result["bridges"] = [b for b in checks["bridges"] or []
                             if not os.path.isdir("/sys/class/net/%s/bridge" % b)]
    if "oslist" in checks:
        from ganeti.backend import os_defs
        result["oslist"] = os_defs.os_diagnose()
    return result


def _hv_verify(hv: str) -> str | None:
    if hv == constants.HT_FAKE:
        return None
    if hv == constants.HT_KVM:
        return None if os.path.exists("/usr/bin/qemu-system-x86_64") else \
            "qemu binary /usr/bin/qemu-system-x86_64 not found"
    if hv == constants.HT_LXC:
        return None if os.path.exists("/usr/bin/lxc-start") else "lxc-start not found"
    if hv in (constants.HT_XEN_PVM, constants.HT_XEN_HVM):
        return None if os.path.exists("/proc/xen") else "Xen is not running on this node"
    return None


def node_has_ip_address(ip: str) -> bool:
    return netutils.owns_ip(ip)


def test_delay(duration: float) -> None:
    if not isinstance(duration, (int, float)) or duration < 0:
        raise errors.ParameterError("Invalid delay duration %r" % (duration,))
    time.sleep(duration)


def master_node_name() -> str:
    from ganeti import ssconf
    return ssconf.SimpleStore().get_master_node()


def get_watcher_pause() -> int | None:
    try:
        with open(pathutils.WATCHER_PAUSEFILE) as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def set_watcher_pause(until: int | None) -> None:
    from ganeti.utils import io
    if until is None:
        io.remove_file(pathutils.WATCHER_PAUSEFILE)
    else:
        if not isinstance(until, (int, float)):
            raise errors.ParameterError("Watcher pause must be a number")
        io.write_file_atomic(pathutils.WATCHER_PAUSEFILE, "%d\n" % int(until), mode=0o644)


def get_file_info(path: str) -> dict | None:
    try:
        st = os.stat(pathutils.add_root(path))
    except OSError:
        return None
    return {"size": st.st_size, "mode": st.st_mode & 0o7777, "mtime": st.st_mtime}


def hostname() -> str:
    return socket.getfqdn()
