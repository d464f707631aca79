"""The master IP address: brought up on the master node, down elsewhere.

In virtual-cluster mode the cluster address is a loopback address, which
is already local on every node; nothing is configured then (no address is
ever added to the machine's own interfaces in that mode).
"""

from __future__ import annotations

import ipaddress
import subprocess

from ganeti import errors, pathutils

_REQUIRED = ("ip", "netmask", "netdev")


def _params(master_params: dict) -> tuple[str, int, str, int]:
    if not isinstance(master_params, dict) or any(k not in master_params for k in _REQUIRED):
        raise errors.ParameterError("master_params must be a dict with %s" %
                                    ", ".join(_REQUIRED))
    ip = str(master_params["ip"])
    try:
        addr = ipaddress.ip_address(ip)
        netmask = int(master_params["netmask"])
    except ValueError as err:
        raise errors.ParameterError("Invalid master IP parameters: %s" % err)
    netdev = str(master_params["netdev"])
    if not netdev or "/" in netdev or netdev.startswith("-"):
        raise errors.ParameterError("Invalid master network device %r" % netdev)
    return ip, netmask, netdev, 6 if addr.version == 6 else 4


def _skip(ip: str) -> bool:
    return pathutils.VIRT_CLUSTER and ipaddress.ip_address(ip).is_loopback


def _run(argv: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False)


def _external(action: str, ip: str, netmask: int, netdev: str, version: int) -> None:
    env = {"PATH": "/sbin:/bin:/usr/sbin:/usr/bin", "MASTER_IP": ip,
           "MASTER_NETMASK": str(netmask), "MASTER_NETDEV": netdev,
           "CLUSTER_IP_VERSION": str(version)}
    res = _run([pathutils.EXTERNAL_MASTER_SETUP_SCRIPT, action], env=env)
    if res.returncode != 0:
        raise errors.OpExecError("Master IP setup script failed (%s): %s" % (
            action, (res.stderr or res.stdout).strip()))


def node_activate_master_ip(master_params: dict, use_external_script: bool) -> None:
    ip, netmask, netdev, version = _params(master_params)
    if _skip(ip):
        return
    if use_external_script:
        _external("start", ip, netmask, netdev, version)
        return
    res = _run(["ip", "address", "add", "%s/%d" % (ip, netmask), "dev", netdev,
                "label", "%s:0" % netdev])
    if res.returncode != 0 and "File exists" not in res.stderr:
        raise errors.OpExecError("Can't activate master IP %s on %s: %s" % (
            ip, netdev, res.stderr.strip()))


def node_deactivate_master_ip(master_params: dict, use_external_script: bool) -> None:
    ip, netmask, netdev, version = _params(master_params)
    if _skip(ip):
        return
    if use_external_script:
        _external("stop", ip, netmask, netdev, version)
        return
    res = _run(["ip", "address", "del", "%s/%d" % (ip, netmask), "dev", netdev])
    if res.returncode != 0 and "Cannot assign" not in res.stderr:
        raise errors.OpExecError("Can't deactivate master IP %s on %s: %s" % (
            ip, netdev, res.stderr.strip()))
