"""``gnt-instance info``: OP_INSTANCE_QUERY_DATA answers as Ganeti's info text.

The layout (key order, "default (X)" for inherited parameters, disk and
NIC blocks, the "(major:minor)" device lines) is what scripts and people
compare against Ganeti 3.0's output, so it is built here as ordered data
for the generic info printer (``ganeti.cli.base``) and nowhere else.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

from ganeti import constants
from ganeti.cli.base import format_time, params_info, print_generic_info, to_roman
from ganeti.utils.text import format_unit

C = constants

VNC_BASE_PORT = 5900
IP4_ADDRESS_ANY = "0.0.0.0"


def _is_ipv4(text: str) -> bool:
    import ipaddress
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def vnc_console_info(instance: dict) -> str | None:
    """"vnc to HOST:PORT (display N)" when the hypervisor has a VNC bind address."""
    bind = instance.get("hv_actual", {}).get("vnc_bind_address")
    if not bind:
        return None
    port = instance.get("network_port")
    try:
        display = int(port) - VNC_BASE_PORT
    except (TypeError, ValueError):
        display = 0
    if display > 0 and bind == IP4_ADDRESS_ANY:
        where = "%s:%s (display %s)" % (instance["pnode"], port, display)
    elif display > 0 and _is_ipv4(bind):
        where = "%s:%s (node %s) (display %s)" % (bind, port, instance["pnode"], display)
    else:
        where = "%s:%s" % (instance["pnode"], bind)  # bound to a socket file
    return "vnc to %s" % where


def _nodes_info(instance: dict) -> list:
    pgroup = "%s (UUID %s)" % (instance.get("pnode_group_name"),
                               instance.get("pnode_group_uuid"))
    secs = ", ".join("%s (group %s, group UUID %s)" % row for row in
                     zip(instance.get("snodes") or [], instance.get("snodes_group_names") or [],
                         instance.get("snodes_group_uuids") or [], strict=False))
    return [[("primary", instance["pnode"]), ("group", pgroup)], [("secondaries", secs)]]


def _nic_info(idx: int, nic: list, roman: bool) -> list:
    name, uuid, ip, mac, mode, link, vlan, _network, netinfo = nic
    network_name = netinfo.get("name") if isinstance(netinfo, dict) else None
    return [("nic/%d" % idx, ""), ("MAC", str(mac)), ("IP", str(ip)), ("mode", str(mode)),
            ("link", str(link)), ("vlan", str(to_roman(vlan, roman))),
            ("network", str(network_name)), ("UUID", str(uuid)), ("name", str(name))]


def _dev_status(dev_type: str, status: Any, roman: bool) -> str:
    """One node's view of a device: path (major:minor), plus sync state for DRBD."""
    if not status:
        return "not active"
    path, major, minor, syncp, estt, degraded, ldisk = (list(status) + [None] * 7)[:7]
    major_s = "N/A" if major is None else str(to_roman(major, roman))
    minor_s = "N/A" if minor is None else str(to_roman(minor, roman))
    txt = "%s (%s:%s)" % (path, major_s, minor_s)
    if dev_type == C.DT_DRBD8:
        if syncp is not None:
            sync = "*RECOVERING* %5.2f%%," % syncp
            sync += " ETA %ss" % to_roman(estt, roman) if estt else " ETA unknown"
        else:
            sync = "in sync"
        ldisk_txt = {C.LDS_FAULTY: " *MISSING DISK*",
                     C.LDS_UNKNOWN: " *UNCERTAIN STATE*"}.get(ldisk, "")
        txt += " %s, status %s%s" % (sync, "*DEGRADED*" if degraded else "ok", ldisk_txt)
    elif dev_type == C.DT_PLAIN and ldisk == C.LDS_FAULTY:
        txt += " *FAILED* (failed drive?)"
    return txt


def _logical_id(dev: dict, roman: bool) -> list:
    """How the device is identified: vg/lv for LVM, DRBD peers, else the raw id."""
    dev_type, lid = dev["dev_type"], dev["logical_id"]
    drbd = dev.get("drbd_info")
    if dev_type == C.DT_DRBD8 and isinstance(drbd, dict):
        return [("nodeA", "%s, minor=%s" % (drbd["primary_node"],
                                            to_roman(drbd["primary_minor"], roman))),
                ("nodeB", "%s, minor=%s" % (drbd["secondary_node"],
                                            to_roman(drbd["secondary_minor"], roman))),
                ("port", str(to_roman(drbd["port"], roman))),
                ("auth key", str(drbd["secret"]))]
    if dev_type == C.DT_PLAIN and isinstance(lid, (list, tuple)) and len(lid) == 2:
        return ["%s/%s" % tuple(lid)]
    return [str(lid)]


def disk_info(idx: int, top_level: bool, dev: dict, roman: bool) -> list:
    """A disk (or child device) block of the info output."""
    if top_level:
        header = dev["iv_name"] if dev.get("iv_name") is not None else \
            "disk %s" % to_roman(idx, roman)
    else:
        header = "child %s" % to_roman(idx, roman)
    size = dev.get("size")
    nice_size = format_unit(size, "h", roman) if isinstance(size, int) else str(size)
    data: list = [(header, "%s, size %s" % (dev["dev_type"], nice_size))]
    if top_level:
        if dev.get("spindles") is not None:
            data.append(("spindles", dev["spindles"]))
        data.append(("access mode", dev.get("mode")))
    if dev.get("logical_id") is not None:
        lid = _logical_id(dev, roman)
        if len(lid) == 1:
            data.append(("logical_id", lid[0]))
        else:
            data.extend(lid)
    if dev.get("pstatus"):
        data.append(("on primary", _dev_status(dev["dev_type"], dev["pstatus"], roman)))
    if dev.get("sstatus"):
        data.append(("on secondary", _dev_status(dev["dev_type"], dev["sstatus"], roman)))
    data.append(("name", dev.get("name")))
    data.append(("UUID", dev.get("uuid")))
    if dev.get("children"):
        data.append(("child devices", [disk_info(c_idx, False, child, roman)
                                       for c_idx, child in enumerate(dev["children"])]))
    return data


def instance_info(instance: dict, roman: bool = False) -> list:
    """One instance's block, in Ganeti 3.0's order."""
    state = "configured to be %s" % instance["config_state"]
    if instance.get("run_state"):
        state += ", actual state is %s" % instance["run_state"]
    info: list = [
        ("Instance name", instance["name"]),
        ("UUID", instance["uuid"]),
        ("Serial number", str(to_roman(instance["serial_no"], roman))),
        ("Creation time", format_time(instance["ctime"])),
        ("Modification time", format_time(instance["mtime"])),
        ("State", state),
        ("Nodes", _nodes_info(instance)),
        ("Operating system", instance["os"]),
        ("Operating system parameters",
         params_info(instance.get("os_instance") or {}, instance.get("os_actual") or {},
                     roman)),
    ]
    if "network_port" in instance:
        info.append(("Allocated network port",
                     str(to_roman(instance["network_port"], roman))))
    info.append(("Hypervisor", instance["hypervisor"]))
    console = vnc_console_info(instance)
    if console:
        info.append(("console connection", console))
    # the pre-2.6 "memory" value is still shown, as upstream does
    be_actual = copy.deepcopy(instance.get("be_actual") or {})
    if "maxmem" in be_actual:
        be_actual["memory"] = be_actual["maxmem"]
    info += [
        ("Hypervisor parameters",
         params_info(instance.get("hv_instance") or {}, instance.get("hv_actual") or {},
                     roman)),
        ("Back-end parameters", params_info(instance.get("be_instance") or {}, be_actual,
                                            roman)),
        ("NICs", [_nic_info(idx, nic, roman) for idx, nic in enumerate(instance["nics"])]),
        ("Disk template", instance["disk_template"]),
        ("Disks", [disk_info(idx, True, dev, roman)
                   for idx, dev in enumerate(instance["disks"])]),
    ]
    return info


def show_info(opts, args) -> int:
    """Print the info blocks (``--all`` for every instance, ``-s`` without live data)."""
    from ganeti.cli import jobs
    if not args and not opts.show_all:
        sys.stderr.write("No instance selected. Please pass in --all if you want to query"
                         " all instances.\nNote that this can take a long time on a big"
                         " cluster.\n")
        return constants.EXIT_FAILURE
    if args and opts.show_all:
        sys.stderr.write("Cannot use --all if you specify instance names.\n")
        return constants.EXIT_FAILURE
    op = {"OP_ID": "OP_INSTANCE_QUERY_DATA", "instances": list(args),
          "static": bool(opts.static), "use_locking": not opts.static}
    result = jobs.submit_opcode(op, opts)
    if not result:
        print("No instances.")
        return constants.EXIT_FAILURE
    print_generic_info([instance_info(inst, opts.roman_integers)
                        for inst in result.values()])
    return constants.EXIT_SUCCESS
