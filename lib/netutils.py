"""Host name resolution and small network checks.

Resolution reads the node's own hosts file first (``/etc/hosts`` under
``GANETI_ROOTDIR`` for a virtual-cluster node), then the system resolver.
That lets a virtual cluster have its own names without touching the
machine's /etc/hosts.
"""

from __future__ import annotations

import ipaddress
import socket

from ganeti import errors, pathutils


def _hosts_entries(hosts_file: str) -> list[list[str]]:
    """[address, name, alias...] for each entry of a hosts file."""
    try:
        with open(hosts_file, encoding="utf-8") as fh:
            lines = fh.readlines()
    except OSError:
        return []
    out = []
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2:
            out.append(fields)
    return out


def _hosts_resolve(name: str, hosts_file: str) -> tuple[str, str] | None:
    """(canonical name, address) for a name, alias or short name in a hosts file."""
    for fields in _hosts_entries(hosts_file):
        names = fields[1:]
        if name in names or any(n.split(".", 1)[0] == name for n in names):
            return fields[1], fields[0]
    return None


class HostInfo:
    """A resolved host: canonical name and IP address."""

    def __init__(self, name: str, ip: str):
        self.name = name
        self.ip = ip

    def __repr__(self) -> str:
        return "HostInfo(%r, %r)" % (self.name, self.ip)


def resolve_hostname(name: str, family: int = socket.AF_INET) -> HostInfo:
    """Resolve ``name`` to (canonical name, address) or raise ResolverError."""
    hosts = pathutils.ETC_HOSTS
    if pathutils.VIRT_CLUSTER:
        found = _hosts_resolve(name, hosts)
        if found:
            return HostInfo(*found)
    try:
        infos = socket.getaddrinfo(name, None, family, socket.SOCK_STREAM, 0,
                                   socket.AI_CANONNAME)
    except (socket.gaierror, UnicodeError) as err:
        raise errors.ResolverError(name, getattr(err, "errno", 0),
                                   "Failed to resolve %s: %s" % (name, err))
    canon = infos[0][3] or name
    return HostInfo(canon, infos[0][4][0])


def my_hostname() -> str:
    return pathutils.HOSTNAME_OVERRIDE or socket.getfqdn()


def is_valid_ip4(addr: str) -> bool:
    try:
        ipaddress.IPv4Address(addr)
        return True
    except ValueError:
        return False


def is_valid_ip(addr: str) -> bool:
    try:
        ipaddress.ip_address(addr)
        return True
    except ValueError:
        return False


def is_loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr).is_loopback
    except ValueError:
        return False


def tcp_ping(target: str, port: int, timeout: float = 1.0,
             live_port_needed: bool = False, source: str | None = None) -> bool:
    """True if something answers (or actively refuses) on target:port."""
    sock = socket.socket(socket.AF_INET6 if ":" in target else socket.AF_INET,
                         socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        if source:
            sock.bind((source, 0))
        sock.connect((target, port))
        return True
    except ConnectionRefusedError:
        return not live_port_needed
    except OSError:
        return False
    finally:
        sock.close()


def owns_ip(addr: str) -> bool:
    """Whether a local socket can bind to ``addr`` (the address is ours)."""
    sock = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET,
                         socket.SOCK_DGRAM)
    try:
        sock.bind((addr, 0))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def hostname_matches(short: str, full: str) -> bool:
    return full == short or full.startswith(short + ".")

