"""Network facts and edits on a node: owned addresses, bridges, /etc/hosts."""

from __future__ import annotations

import ipaddress
import os
import re
import threading

from ganeti import errors, netutils, pathutils
from ganeti.utils import io

ETC_HOSTS_ADD = "add"
ETC_HOSTS_REMOVE = "remove"

_HOSTNAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$")
_BRIDGE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")
_hosts_lock = threading.Lock()


def _check_ip(ip: object) -> str:
    if not isinstance(ip, str):
        raise errors.ParameterError("Invalid IP address %r" % (ip,))
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        raise errors.ParameterError("Invalid IP address '%s'" % ip)


def node_has_ip_address(address: str) -> bool:
    """Whether this node owns ``address`` (a local socket can bind to it)."""
    return netutils.owns_ip(_check_ip(address))


def bridges_exist(bridges: list) -> None:
    """Fail, naming them, if any of the bridges is missing on this node."""
    if not isinstance(bridges, list) or not all(isinstance(b, str) for b in bridges):
        raise errors.ParameterError("bridges_exist expects a list of bridge names")
    missing = missing_bridges(bridges)
    if missing:
        raise errors.OpExecError("Missing bridges %s" % ", ".join(missing))


def missing_bridges(bridges: list[str]) -> list[str]:
    """The bridges of the list that do not exist (for node_verify)."""
    return [b for b in bridges
            if not _BRIDGE_RE.match(b) or not os.path.isdir("/sys/class/net/%s/bridge" % b)]


def _strip_names(lines: list[str], names: set[str]) -> list[str]:
    """Remove ``names`` from every hosts line; drop lines left without names."""
    out = []
    for line in lines:
        body, hash_, comment = line.partition("#")
        fields = body.split()
        if len(fields) < 2 or not names.intersection(fields[1:]):
            out.append(line)
            continue
        kept = [f for f in fields[1:] if f not in names]
        if kept:
            new = "%s\t%s" % (fields[0], " ".join(kept))
            out.append(new + (" #" + comment if hash_ else ""))
    return out


def etc_hosts_modify(mode: str, name: str, ip: str | None) -> None:
    """Add (``ip name short``) or remove a host's entries in /etc/hosts.

    Adding first removes every other mention of the name, so a host never
    resolves to two addresses; the file is replaced atomically.
    """
    if not isinstance(name, str) or not _HOSTNAME_RE.match(name):
        raise errors.ParameterError("Invalid host name %r" % (name,))
    short = name.split(".", 1)[0]
    names = {name, short}
    if mode == ETC_HOSTS_ADD:
        address = _check_ip(ip)
    elif mode == ETC_HOSTS_REMOVE:
        if ip is not None:
            raise errors.ParameterError("No IP address may be given when removing a host")
        address = None
    else:
        raise errors.ParameterError("Mode must be '%s' or '%s', not %r"
                                    % (ETC_HOSTS_ADD, ETC_HOSTS_REMOVE, mode))
    path = pathutils.ETC_HOSTS
    with _hosts_lock:
        try:
            with open(path, encoding="utf-8") as fh:
                lines = fh.read().splitlines()
            mode_bits = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            lines, mode_bits = [], 0o644
        new = _strip_names(lines, names)
        if address is not None:
            new.append("%s\t%s" % (address, " ".join([name] if short == name
                                                       else [name, short])))
        if new != lines:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            io.write_file_atomic(path, "".join(line + "\n" for line in new), mode=mode_bits)
