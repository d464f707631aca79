"""``node_verify``: the node-side half of ``gnt-cluster verify``.

The master sends a dict ``{check: argument}`` and gets ``{check: result}``
back for the checks this node knows; unknown checks are ignored so that a
newer master can talk to an older node. The master interprets results.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import hashlib
import os
import time
from typing import Any

from ganeti import constants, errors, netutils, pathutils

_TCP_CHECK_TIMEOUT = 5.0
_MAX_PARALLEL_PINGS = 32


def _file_sha1(path: str) -> str | None:
    try:
        digest = hashlib.sha1()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 16), b""):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


def check_filelist(paths: Any) -> dict[str, str]:
    """SHA-1 of each existing file (cluster-wide paths as keys)."""
    if not isinstance(paths, list):
        raise errors.ParameterError("filelist check needs a list of paths")
    out = {}
    for path in paths:
        if isinstance(path, str) and os.path.isabs(path):
            digest = _file_sha1(pathutils.add_root(path))
            if digest is not None:
                out[path] = digest
    return out


def check_nodelist(nodes: Any) -> dict[str, str]:
    """TCP-connect to every other node's noded port; {name: error} for failures."""
    if not isinstance(nodes, dict):
        raise errors.ParameterError("nodelist check needs a dict of node name -> address")
    me = netutils.my_hostname()
    port = constants.DEFAULT_NODED_PORT
    todo = {name: addr for name, addr in nodes.items() if name != me}
    if not todo:
        return {}

    def ping(addr: Any) -> bool:
        return isinstance(addr, str) and netutils.tcp_ping(
            addr, port, timeout=_TCP_CHECK_TIMEOUT, live_port_needed=True)

    workers = min(len(todo), _MAX_PARALLEL_PINGS)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        answers = dict(zip(todo, pool.map(ping, todo.values()), strict=True))
    return {name: "TCP connection to %s:%d failed" % (todo[name], port)
            for name, ok in answers.items() if not ok}


def check_hypervisor(hv: str) -> str | None:
    """None if the hypervisor can work on this node, else why not."""
    if hv not in constants.HYPER_TYPES:
        return "Unknown hypervisor '%s'" % hv
    if hv in (constants.HT_FAKE, constants.HT_CHROOT):
        return None
    if hv == constants.HT_KVM:
        binary = constants.HVC_DEFAULTS["kvm"]["kvm_path"]
        return None if os.access(binary, os.X_OK) else \
            "The KVM binary ('%s') does not exist" % binary
    if hv == constants.HT_LXC:
        return None if any(os.access(os.path.join(d, "lxc-start"), os.X_OK)
                           for d in ("/usr/bin", "/usr/sbin", "/bin")) else \
            "The 'lxc-start' program was not found"
    return None if os.path.exists("/proc/xen") else "Xen is not running on this node"


def check_nodesetup() -> list[str]:
    """Problems with the node's basic setup (procfs, sysfs)."""
    problems = []
    if not os.path.isdir("/proc/sys") or not os.path.exists("/proc/sysrq-trigger"):
        problems.append("The procfs filesystem doesn't seem to be mounted under /proc,"
                        " missing required directory /proc/sys and the file"
                        " /proc/sysrq-trigger")
    if not os.path.isdir("/sys/block"):
        problems.append("The sysfs filesystem doesn't seem to be mounted under /sys,"
                        " missing required directory /sys/block")
    return problems


def check_client_cert(path: Any) -> list:
    """``[0, digest]`` for a usable certificate, ``[1, error]`` otherwise."""
    from ganeti import crypto
    cert_path = pathutils.add_root(path if isinstance(path, str) and path
                                   else pathutils.strip_root(pathutils.NODED_CERT_FILE))
    try:
        cert = crypto.load_cert(cert_path)
    except FileNotFoundError:
        return [1, "The client certificate does not exist: %s" % pathutils.strip_root(cert_path)]
    except (OSError, ValueError) as err:
        return [1, "Error loading certificate %s: %s" % (pathutils.strip_root(cert_path), err)]
    now = datetime.datetime.now(datetime.timezone.utc)
    if cert.not_valid_after_utc < now:
        return [1, "The certificate %s expired on %s" % (pathutils.strip_root(cert_path),
                                                         cert.not_valid_after_utc)]
    if cert.not_valid_before_utc > now:
        return [1, "The certificate %s is not yet valid" % pathutils.strip_root(cert_path)]
    return [0, crypto.cert_digest(cert_path)]


def check_master_ip(arg: Any) -> bool:
    """Whether the master IP answers on the node daemon port."""
    if isinstance(arg, (list, tuple)) and len(arg) == 2:
        arg = arg[1]
    if not isinstance(arg, str) or not netutils.is_valid_ip(arg):
        raise errors.ParameterError("master-ip check needs the master IP address")
    return netutils.tcp_ping(arg, constants.DEFAULT_NODED_PORT, timeout=_TCP_CHECK_TIMEOUT)


def _time_check(_arg: Any) -> list[int]:
    now = time.time()
    return [int(now), int((now - int(now)) * 1000000)]


def _hypervisors(arg: Any) -> dict[str, str | None]:
    if not isinstance(arg, list):
        raise errors.ParameterError("hypervisor check needs a list of hypervisors")
    return {hv: check_hypervisor(hv) for hv in arg}


def _bridges(arg: Any) -> list[str]:
    from ganeti.backend import network
    if not isinstance(arg, list):
        raise errors.ParameterError("bridges check needs a list of bridge names")
    return network.missing_bridges([str(b) for b in arg])


def _oslist(_arg: Any) -> list:
    from ganeti.backend import os_defs
    return os_defs.os_diagnose()


def _instancelist(arg: Any) -> list[str] | str:
    """Names of the instances running here under the given hypervisors."""
    if not isinstance(arg, list) or not all(isinstance(h, str) for h in arg):
        return "Invalid instancelist argument"
    from ganeti.backend import instance
    try:
        return instance.instance_list(arg, None)
    except errors.GenericError as err:
        return "Error while listing instances: %s" % err


CHECKS = {
    "version": lambda _arg: [constants.PROTOCOL_VERSION, constants.RELEASE_VERSION],
    "time": _time_check,
    "filelist": check_filelist,
    "nodelist": check_nodelist,
    "hypervisor": _hypervisors,
    "nodesetup": lambda _arg: check_nodesetup(),
    "master-ip": check_master_ip,
    "oslist": _oslist,
    "client-cert": check_client_cert,
    "bridges": _bridges,
    "instancelist": _instancelist,
}


def node_verify(checks: dict, cluster_name: str, hvparams: dict) -> dict[str, Any]:
    """Run the requested checks that this node knows; results by check name."""
    if not isinstance(checks, dict):
        raise errors.ParameterError("node_verify checks must be a dict")
    if not isinstance(cluster_name, str) or not isinstance(hvparams, (dict, type(None))):
        raise errors.ParameterError("node_verify needs a cluster name and a dict of hvparams")
    result: dict[str, Any] = {}
    for name, arg in checks.items():
        check = CHECKS.get(name)
        if check is not None:
            result[name] = check(arg)
    return result
