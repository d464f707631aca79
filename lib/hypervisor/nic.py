"""Host side of an instance NIC: tap devices and their attachment.

KVM gets its taps as open file descriptors: the node daemon creates the tap
(so it can name it and attach it before the guest sees a link) and hands
the fd to qemu. A tap opened this way is not persistent: it disappears when
the last fd (qemu's) closes, so a crashed guest cannot leak interfaces.
"""

from __future__ import annotations

import fcntl
import os
import struct

from ganeti import errors, pathutils
from ganeti.hypervisor.base import run_cmd

TUNSETIFF = 0x400454CA
TUNGETIFF = 0x800454D2
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
IFNAMSIZ = 16

#: kernel picks the number; keeps names unique and within IFNAMSIZ
TAP_NAME_PATTERN = "gnt%d"

NIC_MODE_BRIDGED = "bridged"
NIC_MODE_ROUTED = "routed"
NIC_MODE_OVS = "openvswitch"


def vif_script_path() -> str:
    """The administrator's override for NIC setup (upstream compatible name)."""
    return os.path.join(pathutils.CONF_DIR, "kvm-vif-bridge")


def open_tap(vnet_hdr: bool = True, name: str = TAP_NAME_PATTERN) -> tuple[int, str]:
    """Create a tap device; returns (fd, interface name).

    The fd is close-on-exec: callers pass it to the child explicitly
    (``pass_fds``) so no other child inherits it by accident.
    """
    flags = IFF_TAP | IFF_NO_PI | (IFF_VNET_HDR if vnet_hdr else 0)
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
    except OSError as err:
        raise errors.HypervisorError("Cannot open /dev/net/tun: %s" % err)
    try:
        ifr = struct.pack("16sH", name.encode("ascii"), flags)
        res = fcntl.ioctl(fd, TUNSETIFF, ifr)
    except OSError as err:
        os.close(fd)
        raise errors.HypervisorError("Cannot create tap device: %s" % err)
    ifname = res[:IFNAMSIZ].rstrip(b"\0").decode("ascii")
    return fd, ifname


def nic_env(instance_name: str, nic: dict, tap: str) -> dict[str, str]:
    """Environment of the NIC setup script (upstream's variable names)."""
    params = nic.get("nicparams") or {}
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "INTERFACE": tap,
           "MODE": str(params.get("mode", "")), "LINK": str(params.get("link", "")),
           "VLAN": str(params.get("vlan", "") or ""),
           "MAC": str(nic.get("mac", "") or ""), "INSTANCE": instance_name}
    if nic.get("ip"):
        env["IP"] = str(nic["ip"])
    if nic.get("name"):
        env["INTERFACE_NAME"] = str(nic["name"])
    if nic.get("uuid"):
        env["INTERFACE_UUID"] = str(nic["uuid"])
    return env


def configure_tap(instance_name: str, nic: dict, tap: str) -> None:
    """Attach a freshly created tap according to the NIC's mode.

    An executable ``CONF_DIR/kvm-vif-bridge`` replaces the built-in logic
    entirely, as in upstream, so sites with odd networks can do their own.
    """
    script = vif_script_path()
    if os.path.isfile(script) and os.access(script, os.X_OK):
        run_cmd([script], env=nic_env(instance_name, nic, tap))
        return
    params = nic.get("nicparams") or {}
    mode = params.get("mode", NIC_MODE_BRIDGED)
    link = params.get("link", "")
    if mode == NIC_MODE_BRIDGED:
        if not link:
            raise errors.HypervisorError("NIC of %s in bridged mode has no link" % instance_name)
        if not os.path.isdir("/sys/class/net/%s/bridge" % link):
            raise errors.HypervisorError("Bridge '%s' does not exist on this node" % link)
        run_cmd(["ip", "link", "set", tap, "master", link, "up"])
    elif mode == NIC_MODE_ROUTED:
        run_cmd(["ip", "link", "set", tap, "up"])
        if nic.get("ip"):
            argv = ["ip", "route", "replace", str(nic["ip"]), "dev", tap]
            if link:
                argv += ["table", link]
            run_cmd(argv)
    elif mode == NIC_MODE_OVS:
        run_cmd(["ovs-vsctl", "add-port", link, tap])
        run_cmd(["ip", "link", "set", tap, "up"])
    else:
        raise errors.HypervisorError("Unsupported NIC mode '%s'" % mode)


def remove_tap(tap: str) -> None:
    """Delete a tap if it still exists (it normally dies with qemu)."""
    if tap and os.path.exists("/sys/class/net/%s" % tap):
        run_cmd(["ip", "link", "del", tap], check=False)


def link_exists(name: str) -> bool:
    return os.path.exists("/sys/class/net/%s" % name)
