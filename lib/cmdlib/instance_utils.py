"""Pure helpers for the instance logical units: hook environment, MACs,
instance policy, NIC and disk checks.

Nothing here talks to nodes: every function works on configuration objects
(or plain values for an instance that is not in the configuration yet), so
the create/modify/failover units can share one implementation of each rule
and the error texts match what Ganeti 3.0 prints.
"""

from __future__ import annotations

import os
import random
import re
import threading
from typing import Any, Callable, Iterable

from ganeti import constants, errors, netutils, objects

# Instance spec keys of an instance policy (memory in MiB, sizes in MiB).
ISPEC_MEM_SIZE = "memory-size"
ISPEC_CPU_COUNT = "cpu-count"
ISPEC_DISK_COUNT = "disk-count"
ISPEC_DISK_SIZE = "disk-size"
ISPEC_NIC_COUNT = "nic-count"
ISPEC_SPINDLE_USE = "spindle-use"
ISPECS_MINMAX = "minmax"
ISPECS_MIN = "min"
ISPECS_MAX = "max"
IPOLICY_DTS = "disk-templates"

NIC_MODE_BRIDGED = "bridged"
NIC_MODE_ROUTED = "routed"
NIC_MODE_OVS = "openvswitch"
NIC_VALID_MODES = (NIC_MODE_BRIDGED, NIC_MODE_ROUTED, NIC_MODE_OVS)
NIC_IP_POOL = "pool"
NIC_PARAM_KEYS = frozenset(["mac", "ip", "mode", "link", "vlan", "name", "network", "bridge"])

# Templates whose disks live in files below a storage directory.
FILE_TEMPLATES = (constants.DT_FILE, constants.DT_SHARED_FILE, constants.DT_GLUSTER)
DRBD_META_SIZE = 128

MAC_GENERATE_ATTEMPTS = 64
_MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
_VLAN_PART_RE = re.compile(r"^\d+$")


# -- names ------------------------------------------------------------------
def instance_exists_message(name: str) -> str:
    """The text Ganeti prints when an instance name is taken (kept in one place)."""
    return "Instance '%s' is already in the cluster" % name


def check_instance_name_free(cfg, name: str) -> None:
    """Refuse a name an instance already has (error code ``already_exists``)."""
    if cfg.get_instance_by_name(name) is not None:
        raise errors.OpPrereqError(instance_exists_message(name), errors.ECODE_EXISTS)


# -- disks ------------------------------------------------------------------
def instance_disks(cfg, instance: objects.Instance) -> list[objects.Disk]:
    """The instance's disk objects in index order (3.0 keeps them top-level)."""
    disks = cfg.data.disks
    return [disks[u] for u in instance.disks if u in disks]


def disk_template_of(cfg, instance: objects.Instance) -> str:
    """The template of an instance; 3.0 no longer stores it, so derive it.

    An instance without disks is ``diskless``; otherwise the first disk's
    ``dev_type`` (mixed templates are not created by these units).
    """
    disks = instance_disks(cfg, instance)
    if not disks:
        return constants.DT_DISKLESS
    return disks[0].dev_type


def secondary_nodes(cfg, instance: objects.Instance) -> list[str]:
    """UUIDs of the nodes other than the primary holding the instance's disks.

    Not stored in a 3.x configuration; the disks' ``nodes`` lists define them.
    """
    out: list[str] = []
    for disk in instance_disks(cfg, instance):
        for node in disk.nodes or []:
            if node != instance.primary_node and node not in out:
                out.append(node)
    return out


def all_nodes(cfg, instance: objects.Instance) -> list[str]:
    """Primary first, then the secondaries: the nodes an operation must lock."""
    return [instance.primary_node] + secondary_nodes(cfg, instance)


def file_storage_dir_for(cluster_dir: str, instance_name: str,
                         subdir: str | None = None,
                         template: str = constants.DT_FILE) -> str:
    """Directory holding an instance's file disks.

    ``<cluster dir>[/<subdir>]/<instance>``; gluster volumes are flat, so the
    instance name is not appended for them.
    """
    parts = [cluster_dir]
    if subdir:
        parts.append(subdir)
    if template != constants.DT_GLUSTER:
        parts.append(instance_name)
    return os.path.join(*parts)


def file_disk_path(cluster_file_dir: str, instance_name: str, disk_uuid: str, idx: int,
                   subdir: str | None = None, template: str = constants.DT_FILE) -> str:
    """Path of file disk ``idx``: ``<dir>/<instance>/<id>.<template>.disk<idx>``.

    Matches the layout Ganeti 3.0 writes into ``logical_id``. ``disk_uuid``
    only has to be unique: the reference configuration uses a fresh id
    there, not the disk object's uuid, and callers may do either.
    """
    directory = file_storage_dir_for(cluster_file_dir, instance_name, subdir, template)
    return os.path.join(directory, "%s.%s.disk%d" % (disk_uuid, template, idx))


def _disk_size(disk: Any) -> int:
    if isinstance(disk, objects.Disk):
        return int(disk.size or 0)
    return int(disk.get("size", 0) or 0)


def compute_disk_size_total(template: str, disks: Iterable[Any]) -> int:
    """Space (MiB) the disks need in the node's storage, per template.

    Diskless and externally managed block devices need none; DRBD adds its
    metadata volume per disk; the others need exactly the disk sizes. Disks
    may be objects or opcode dicts with ``size``.
    """
    sizes = [_disk_size(d) for d in disks]
    if template in (constants.DT_DISKLESS, constants.DT_BLOCK):
        return 0
    if template == constants.DT_DRBD8:
        return sum(s + DRBD_META_SIZE for s in sizes)
    return sum(sizes)


def check_disk_template_enabled(cluster: objects.Cluster, template: str) -> None:
    """Refuse a template the cluster has not enabled (texts as Ganeti 3.0)."""
    enabled = cluster.enabled_disk_templates or []
    if not enabled:
        raise errors.OpPrereqError("None of the disk templates are enabled. Enable at"
                                   " least one disk template with 'gnt-cluster modify"
                                   " --enabled-disk-templates'.", errors.ECODE_STATE)
    if template not in enabled:
        raise errors.OpPrereqError("Disk template '%s' is not enabled in cluster. Enabled"
                                   " disk templates are: %s" % (template, ",".join(enabled)),
                                   errors.ECODE_STATE)


# -- MAC addresses ----------------------------------------------------------
def check_mac(mac: str) -> str:
    """Normalise a MAC address to lower case, refusing anything else than six octets."""
    if not isinstance(mac, str) or not _MAC_RE.match(mac.lower()):
        raise errors.OpPrereqError("Invalid MAC address '%s'" % (mac,), errors.ECODE_INVAL)
    return mac.lower()


def macs_in_use(cfg) -> set[str]:
    """Every MAC address the configuration's NICs carry, lower case."""
    return {nic.mac.lower() for inst in list(cfg.data.instances.values())
            for nic in inst.nics if nic.mac}


def check_mac_free(cfg, mac: str, reserved: Iterable[str] | None = None) -> None:
    """Refuse a MAC another NIC (or a pending creation) already uses."""
    mac = mac.lower()
    if mac in macs_in_use(cfg) or mac in {m.lower() for m in (reserved or ())}:
        raise errors.OpPrereqError("MAC address %s already in use in cluster" % mac,
                                   errors.ECODE_NOTUNIQUE)


def generate_mac(cfg, prefix: str | None = None, reserved: Iterable[str] | None = None,
                 rng: random.Random | None = None) -> str:
    """A MAC from ``prefix`` (default: the cluster's ``mac_prefix``) plus three
    random octets, distinct from every NIC in the configuration and from
    ``reserved`` (addresses handed to creations that have not committed yet).

    Gives up after a bounded number of draws, so that a nearly full prefix
    fails with a clear error instead of looping.
    """
    if prefix is None:
        prefix = cfg.get_cluster_info().mac_prefix or constants.DEFAULT_MAC_PREFIX
    prefix = prefix.lower()
    taken = macs_in_use(cfg) | {m.lower() for m in (reserved or ())}
    draw = rng or random.SystemRandom()
    for _ in range(MAC_GENERATE_ATTEMPTS):
        mac = "%s:%02x:%02x:%02x" % (prefix, draw.randrange(256), draw.randrange(256),
                                     draw.randrange(256))
        if mac not in taken:
            return mac
    raise errors.OpPrereqError("Unable to generate a unique MAC address with prefix %s"
                               " after %d attempts" % (prefix, MAC_GENERATE_ATTEMPTS),
                               errors.ECODE_NORES)


class Reservations:
    """Values (MACs, IPs) promised to jobs that have not written them yet.

    Parallel creations check and generate in their prerequisite phase but
    add the instance later; without these promises two jobs could pick the
    same address. An owner (the job) releases everything it holds at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_owner: dict[str, set[str]] = {}

    def reserve(self, owner: str, value: str) -> bool:
        """Promise ``value`` to ``owner``; False if someone else holds it."""
        with self._lock:
            for other, values in self._by_owner.items():
                if value in values and other != owner:
                    return False
            self._by_owner.setdefault(owner, set()).add(value)
            return True

    def release(self, owner: str) -> None:
        with self._lock:
            self._by_owner.pop(owner, None)

    def all(self) -> set[str]:
        with self._lock:
            return {v for values in self._by_owner.values() for v in values}


MAC_RESERVATIONS = Reservations()


# -- NICs -------------------------------------------------------------------
def check_vlan(vlan: str | None) -> str | None:
    """Validate a VLAN spec and normalise a bare number to ``.N`` (untagged).

    Accepted: ``.N`` (access), ``:N[:M...]`` (trunk), ``.N:M...`` (both) and
    a plain ``N``.
    """
    if vlan is None or vlan == "":
        return vlan
    text = str(vlan)
    if _VLAN_PART_RE.match(text):
        return "." + text
    body = text
    if body.startswith("."):
        head, _, rest = body[1:].partition(":")
        ok = bool(_VLAN_PART_RE.match(head)) and (
            not rest or all(_VLAN_PART_RE.match(p) for p in rest.split(":")))
    elif body.startswith(":"):
        ok = all(_VLAN_PART_RE.match(p) for p in body[1:].split(":"))
    else:
        ok = False
    if not ok:
        raise errors.OpPrereqError("Specified VLAN parameter is invalid : %s" % text,
                                   errors.ECODE_INVAL)
    return text


def check_nic_syntax(filled: dict) -> None:
    """Checks on a NIC's filled parameters: a known mode and, where needed, a link."""
    mode = filled.get("mode")
    if mode not in NIC_VALID_MODES:
        raise errors.OpPrereqError("Invalid NIC mode '%s'" % mode, errors.ECODE_INVAL)
    if mode == NIC_MODE_BRIDGED and not filled.get("link"):
        raise errors.OpPrereqError("Missing bridged NIC link", errors.ECODE_INVAL)


def _is_none(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.lower() == constants.VALUE_NONE)


def lookup_network(networks: dict[str, objects.Network] | None, name: str) -> str:
    """UUID of the network called (or with uuid) ``name``."""
    for uuid, net in (networks or {}).items():
        if name in (uuid, net.name):
            return uuid
    raise errors.OpPrereqError("Network '%s' not found" % name, errors.ECODE_NOENT)


def check_nic_params(cluster: objects.Cluster, nic: dict, *,
                     networks: dict[str, objects.Network] | None = None,
                     name_check: bool = False, default_ip: str | None = None) -> dict:
    """Validate one NIC of an OP_INSTANCE_CREATE and describe the NIC to store.

    Returns ``{"mac", "ip", "network", "name", "nicparams"}`` where
    ``nicparams`` holds only what the user asked for (the instance follows
    later cluster default changes for the rest) and ``mac`` is ``auto``/
    ``generate`` or a normalised address; generating and reserving the MAC
    is left to the caller, which knows the job and the network's prefix.
    """
    unknown = sorted(k for k in nic if k not in NIC_PARAM_KEYS)
    if unknown:
        raise errors.OpPrereqError("Unknown NIC parameter(s): %s" % ", ".join(unknown),
                                   errors.ECODE_INVAL)
    mode_req = nic.get("mode")
    mode = mode_req
    if mode is None or mode == constants.VALUE_AUTO:
        mode = cluster.filled_nicparams()["mode"]
    link = nic.get("link")
    net = nic.get("network")
    net_uuid = None
    if _is_none(net):
        net = None
    else:
        if mode_req is not None or link is not None:
            raise errors.OpPrereqError("If network is given, no mode or link is allowed to"
                                       " be passed", errors.ECODE_INVAL)
        net_uuid = lookup_network(networks, net)

    ip = nic.get("ip")
    if _is_none(ip):
        nic_ip = None
    elif ip.lower() == constants.VALUE_AUTO:
        if not name_check:
            raise errors.OpPrereqError("IP address set to auto but name checks have been"
                                       " skipped", errors.ECODE_INVAL)
        nic_ip = default_ip
    elif ip.lower() == NIC_IP_POOL:
        if net is None:
            raise errors.OpPrereqError("if ip=pool, parameter network must be passed too",
                                       errors.ECODE_INVAL)
        nic_ip = NIC_IP_POOL
    elif not netutils.is_valid_ip(ip):
        raise errors.OpPrereqError("Invalid IP address '%s'" % ip, errors.ECODE_INVAL)
    else:
        nic_ip = ip

    if mode == NIC_MODE_ROUTED and not nic_ip and not net:
        raise errors.OpPrereqError("Routed nic mode requires an ip address if not attached"
                                   " to a network", errors.ECODE_INVAL)

    mac = nic.get("mac") or constants.VALUE_AUTO
    if mac not in (constants.VALUE_AUTO, constants.VALUE_GENERATE):
        mac = check_mac(mac)

    bridge = nic.get("bridge")
    if bridge and link:
        raise errors.OpPrereqError("Cannot pass 'bridge' and 'link' at the same time",
                                   errors.ECODE_INVAL)
    if bridge and mode == NIC_MODE_ROUTED:
        raise errors.OpPrereqError("Cannot pass 'bridge' on a routed nic", errors.ECODE_INVAL)
    if bridge:
        link = bridge

    vlan = nic.get("vlan")
    if vlan not in (None, "") and mode != NIC_MODE_OVS:
        raise errors.OpPrereqError("VLAN is given, but network mode is not openvswitch",
                                   errors.ECODE_INVAL)
    vlan = check_vlan(vlan)

    nicparams: dict[str, Any] = {}
    if mode_req:
        nicparams["mode"] = mode
    if link:
        nicparams["link"] = link
    if vlan:
        nicparams["vlan"] = vlan
    if net is None:
        check_nic_syntax(cluster.filled_nicparams(nicparams))
    name = nic.get("name")
    return {"mac": mac, "ip": nic_ip, "network": net_uuid,
            "name": None if _is_none(name) else name, "nicparams": nicparams}


# -- instance policy --------------------------------------------------------
def _minmax_violation(name: str, qualifier: str, minmax: dict, value: Any) -> str | None:
    """One spec value against one min/max pair (missing bounds accept anything)."""
    if value is None or value == constants.VALUE_AUTO:
        return None
    low = minmax.get(ISPECS_MIN, {}).get(name, value)
    high = minmax.get(ISPECS_MAX, {}).get(name, value)
    if low <= value <= high:
        return None
    label = "%s/%s" % (name, qualifier) if qualifier else name
    return "%s value %s is not in range [%s, %s]" % (label, value, low, high)


def compute_ipolicy_spec_violation(ipolicy: dict, mem_size: Any, cpu_count: Any,
                                   disk_count: int, nic_count: Any, disk_sizes: list,
                                   spindle_use: Any, disk_types: list[str]) -> list[str]:
    """Every way the given sizes break the policy (empty list = allowed).

    A policy may hold several min/max pairs; an instance fits if it fits
    one of them, so the pair with the fewest violations is reported. The
    disk count is not judged for diskless instances, only whether diskless
    is an allowed template.
    """
    settings: list[tuple[str, str, Any]] = [
        (ISPEC_MEM_SIZE, "", mem_size),
        (ISPEC_CPU_COUNT, "", cpu_count),
        (ISPEC_NIC_COUNT, "", nic_count),
        (ISPEC_SPINDLE_USE, "", spindle_use),
    ] + [(ISPEC_DISK_SIZE, str(idx), size) for idx, size in enumerate(disk_sizes)]
    allowed = list(ipolicy.get(IPOLICY_DTS) or [])
    out: list[str] = []
    if disk_count:
        settings.append((ISPEC_DISK_COUNT, "", disk_count))
    elif constants.DT_DISKLESS not in allowed:
        out.append("Disk template %s is not allowed (allowed templates %s)"
                   % (constants.DT_DISKLESS, ", ".join(allowed)))
    forbidden = sorted(set(disk_types) - set(allowed))
    if forbidden:
        out.append("Disk template %s is not allowed (allowed templates: %s)"
                   % (", ".join(forbidden), ", ".join(allowed)))
    best: list[str] | None = None
    for minmax in ipolicy.get(ISPECS_MINMAX) or [{}]:
        errs = [e for e in (_minmax_violation(n, q, minmax, v) for n, q, v in settings) if e]
        if best is None or len(errs) < len(best):
            best = errs
    return out + (best or [])


def compute_ipolicy_instance_spec_violation(ipolicy: dict, spec: dict,
                                            disk_template: str) -> list[str]:
    """Policy violations of a would-be instance described by an ispec dict.

    ``spec`` uses the policy's keys: ``memory-size``, ``cpu-count``,
    ``disk-count``, ``disk-size`` (a list, one per disk), ``nic-count``,
    ``spindle-use``.
    """
    sizes = list(spec.get(ISPEC_DISK_SIZE) or [])
    count = spec.get(ISPEC_DISK_COUNT, len(sizes)) or 0
    types = [disk_template] * count if disk_template != constants.DT_DISKLESS else []
    return compute_ipolicy_spec_violation(
        ipolicy, spec.get(ISPEC_MEM_SIZE), spec.get(ISPEC_CPU_COUNT), count,
        spec.get(ISPEC_NIC_COUNT), sizes, spec.get(ISPEC_SPINDLE_USE), types)


def instance_spec(bep: dict, disk_sizes: list[int], nic_count: int) -> dict:
    """The ispec of an instance from its filled backend parameters."""
    return {
        ISPEC_MEM_SIZE: bep.get("maxmem"),
        ISPEC_CPU_COUNT: bep.get("vcpus"),
        ISPEC_DISK_COUNT: len(disk_sizes),
        ISPEC_DISK_SIZE: list(disk_sizes),
        ISPEC_NIC_COUNT: nic_count,
        ISPEC_SPINDLE_USE: bep.get("spindle_use"),
    }


def compute_ipolicy_instance_violation(ipolicy: dict, cfg, instance: objects.Instance) -> list[str]:
    """Policy violations of an instance already in the configuration."""
    bep = cfg.get_cluster_info().filled_beparams(instance.beparams)
    disks = instance_disks(cfg, instance)
    spec = instance_spec(bep, [d.size for d in disks], len(instance.nics))
    return compute_ipolicy_instance_spec_violation(ipolicy, spec,
                                                   disk_template_of(cfg, instance))


def group_ipolicy(cfg, group_uuid: str) -> dict:
    """The group's policy filled from the cluster's (and built-in defaults)."""
    group = cfg.get_nodegroup(group_uuid)
    return cfg.get_cluster_info().filled_ipolicy(group.ipolicy if group else None)


def ipolicy_violation_message(group_uuid: str, group_name: str, violations: list[str]) -> str:
    return ("Instance allocation to group %s (%s) violates policy: %s"
            % (group_uuid, group_name, ", ".join(violations)))


def check_ipolicy(cfg, group_uuid: str, spec: dict, disk_template: str,
                  ignore_ipolicy: bool = False,
                  log_warning: Callable[[str], None] | None = None) -> list[str]:
    """Check a new instance against its target group's policy.

    Raises OpPrereqError (``wrong_input``) with Ganeti's text unless
    ``ignore_ipolicy``, in which case the text goes to ``log_warning`` and
    the violations are returned.
    """
    violations = compute_ipolicy_instance_spec_violation(group_ipolicy(cfg, group_uuid),
                                                         spec, disk_template)
    if not violations:
        return []
    group = cfg.get_nodegroup(group_uuid)
    msg = ipolicy_violation_message(group_uuid, group.name if group else group_uuid,
                                    violations)
    if not ignore_ipolicy:
        raise errors.OpPrereqError(msg, errors.ECODE_INVAL)
    if log_warning is not None:
        log_warning(msg)
    return violations


# -- hooks environment ------------------------------------------------------
def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def network_hook_env(prefix: str, net: dict | objects.Network) -> dict:
    """``<prefix>NETWORK_*`` variables of a network (only the set attributes)."""
    env: dict[str, Any] = {}
    name = _field(net, "name")
    if name:
        env[prefix + "NETWORK_NAME"] = name
    if _field(net, "uuid"):
        env[prefix + "NETWORK_UUID"] = _field(net, "uuid")
    for attr, key in (("network", "SUBNET"), ("gateway", "GATEWAY"),
                      ("network6", "SUBNET6"), ("gateway6", "GATEWAY6"),
                      ("mac_prefix", "MAC_PREFIX")):
        if _field(net, attr):
            env[prefix + "NETWORK_" + key] = _field(net, attr)
    if _field(net, "tags"):
        env[prefix + "NETWORK_TAGS"] = " ".join(_field(net, "tags"))
    return env


def nic_hook_values(cfg, nic: objects.NIC) -> dict:
    """The values a NIC contributes to the hook environment, params filled."""
    filled = cfg.get_cluster_info().filled_nicparams(nic.nicparams or {})
    netinfo = None
    if nic.network:
        net = cfg.data.networks.get(nic.network)
        if net is not None:
            netinfo = net.to_dict()
    return {"name": nic.name, "uuid": nic.uuid, "ip": nic.ip, "mac": nic.mac,
            "mode": filled.get("mode"), "link": filled.get("link"),
            "vlan": filled.get("vlan"), "network": nic.network, "netinfo": netinfo}


def nic_hook_env(idx: int, nic: dict) -> dict:
    """``INSTANCE_NIC<idx>_*`` from a NIC values dict (see :func:`nic_hook_values`)."""
    prefix = "INSTANCE_NIC%d_" % idx
    env: dict[str, Any] = {}
    if nic.get("name"):
        env[prefix + "NAME"] = nic["name"]
    env[prefix + "UUID"] = nic.get("uuid") or ""
    env[prefix + "IP"] = nic.get("ip") or ""
    env[prefix + "MAC"] = nic.get("mac") or ""
    env[prefix + "MODE"] = nic.get("mode") or ""
    env[prefix + "LINK"] = nic.get("link") or ""
    env[prefix + "VLAN"] = nic.get("vlan") or ""
    if nic.get("netinfo"):
        env.update(network_hook_env(prefix, nic["netinfo"]))
    elif nic.get("network"):
        # a dangling network reference: name what we know
        env[prefix + "NETWORK_NAME"] = nic["network"]
    if nic.get("mode") in (NIC_MODE_BRIDGED, NIC_MODE_OVS):
        env[prefix + "BRIDGE"] = nic.get("link") or ""
    return env


def disk_hook_env(idx: int, disk: dict | objects.Disk) -> dict:
    """``INSTANCE_DISK<idx>_*``: common values plus the template's logical id parts."""
    prefix = "INSTANCE_DISK%d_" % idx
    env: dict[str, Any] = {}
    dev_type = _field(disk, "dev_type")
    lid = list(_field(disk, "logical_id") or [])
    if dev_type == constants.DT_PLAIN and len(lid) >= 2:
        env[prefix + "VG"], env[prefix + "ID"] = lid[0], lid[1]
    elif dev_type in (constants.DT_FILE, constants.DT_SHARED_FILE, constants.DT_GLUSTER,
                      constants.DT_BLOCK, constants.DT_RBD) and len(lid) >= 2:
        env[prefix + "DRIVER"], env[prefix + "ID"] = lid[0], lid[1]
    elif dev_type == constants.DT_EXT and len(lid) >= 2:
        env[prefix + "PROVIDER"], env[prefix + "ID"] = lid[0], lid[1]
    elif dev_type == constants.DT_DRBD8 and len(lid) >= 5:
        env[prefix + "PNODE"], env[prefix + "SNODE"] = lid[0], lid[1]
        env[prefix + "PORT"] = lid[2]
        env[prefix + "PMINOR"], env[prefix + "SMINOR"] = lid[3], lid[4]
        children = list(_field(disk, "children") or [])
        if len(children) >= 2:
            data_id = list(_field(children[0], "logical_id") or ["", ""])
            meta_id = list(_field(children[1], "logical_id") or ["", ""])
            env[prefix + "DATA_VG"], env[prefix + "DATA_ID"] = data_id[0], data_id[1]
            env[prefix + "META_VG"], env[prefix + "META_ID"] = meta_id[0], meta_id[1]
    env[prefix + "DEV_TYPE"] = dev_type or ""
    if _field(disk, "name"):
        env[prefix + "NAME"] = _field(disk, "name")
    env[prefix + "UUID"] = _field(disk, "uuid") or ""
    env[prefix + "SIZE"] = _field(disk, "size")
    env[prefix + "MODE"] = _field(disk, "mode") or ""
    return env


def hook_env_from_values(name: str, primary_node_name: str,
                         secondary_node_names: list[str], os_type: str, status: Any,
                         minmem: Any, maxmem: Any, vcpus: Any, nics: list[dict],
                         disk_template: str, disks: list, bep: dict, hvp: dict,
                         hypervisor_name: str, tags: list[str] | None) -> dict:
    """The instance variables of spec os-hooks §2.2 from plain values.

    Keys lack the ``GANETI_`` prefix; the processor adds it and turns values
    into strings. ``OP_TARGET`` is included as in Ganeti, so post hooks also
    see ``GANETI_POST_OP_TARGET``.
    """
    env: dict[str, Any] = {
        "OP_TARGET": name,
        "INSTANCE_NAME": name,
        "INSTANCE_PRIMARY": primary_node_name,
        "INSTANCE_SECONDARIES": " ".join(secondary_node_names),
        "INSTANCE_OS_TYPE": os_type,
        "INSTANCE_STATUS": status,
        "INSTANCE_MINMEM": minmem,
        "INSTANCE_MAXMEM": maxmem,
        "INSTANCE_MEMORY": maxmem,
        "INSTANCE_VCPUS": vcpus,
        "INSTANCE_DISK_TEMPLATE": disk_template,
        "INSTANCE_HYPERVISOR": hypervisor_name,
    }
    for idx, nic in enumerate(nics or []):
        env.update(nic_hook_env(idx, nic))
    env["INSTANCE_NIC_COUNT"] = len(nics or [])
    for idx, disk in enumerate(disks or []):
        env.update(disk_hook_env(idx, disk))
    env["INSTANCE_DISK_COUNT"] = len(disks or [])
    env["INSTANCE_TAGS"] = " ".join(tags or [])
    for source, kind in ((bep, "BE"), (hvp, "HV")):
        for key, value in (source or {}).items():
            env["INSTANCE_%s_%s" % (kind, key)] = value
    return env


_OVERRIDE_ALIASES = {"primary_node": "primary_node_name", "os": "os_type",
                     "hypervisor": "hypervisor_name", "secondaries": "secondary_node_names"}


def build_instance_hook_env(cfg, instance: objects.Instance | None,
                            override: dict | None = None) -> dict:
    """Hook variables of an instance, with ``override`` taking precedence.

    For an instance in the configuration every value comes from it (params
    filled from cluster defaults). A create unit passes ``instance=None``
    and all values in ``override``: ``name``, ``primary_node_name`` (or
    ``primary_node``), ``secondary_node_names``, ``os_type`` (or ``os``),
    ``status``, ``minmem``/``maxmem`` (or ``memory`` for both), ``vcpus``,
    ``nics`` (value dicts with name, uuid, ip, mac, mode, link, vlan,
    network, netinfo; or NIC objects), ``disks`` (Disk objects or dicts),
    ``disk_template``, ``hypervisor_name`` (or ``hypervisor``), ``bep``,
    ``hvp``, ``tags``. Memory and vcpus default to the values in ``bep``.
    """
    values: dict[str, Any] = {}
    if instance is not None:
        cluster = cfg.get_cluster_info()
        nodes = cfg.data.nodes
        values = {
            "name": instance.name,
            "primary_node_name": nodes[instance.primary_node].name
            if instance.primary_node in nodes else instance.primary_node,
            "secondary_node_names": [nodes[u].name if u in nodes else u
                                     for u in secondary_nodes(cfg, instance)],
            "os_type": instance.os,
            "status": instance.admin_state,
            "nics": list(instance.nics),
            "disks": instance_disks(cfg, instance),
            "disk_template": disk_template_of(cfg, instance),
            "hypervisor_name": instance.hypervisor,
            "bep": cluster.filled_beparams(instance.beparams),
            "hvp": cluster.filled_hvparams(instance.hypervisor, instance.os,
                                           instance.hvparams),
            "tags": list(instance.tags or []),
        }
    for key, value in (override or {}).items():
        values[_OVERRIDE_ALIASES.get(key, key)] = value
    if "memory" in values:
        mem = values.pop("memory")
        values.setdefault("minmem", mem)
        values.setdefault("maxmem", mem)
    bep = values.get("bep") or {}
    for key in ("minmem", "maxmem", "vcpus"):
        values.setdefault(key, bep.get(key))
    nics = [nic_hook_values(cfg, n) if isinstance(n, objects.NIC) else n
            for n in values.get("nics") or []]
    disks = values.get("disks") or []
    return hook_env_from_values(
        name=values.get("name") or "",
        primary_node_name=values.get("primary_node_name") or "",
        secondary_node_names=list(values.get("secondary_node_names") or []),
        os_type=values.get("os_type") or "",
        status=values.get("status"),
        minmem=values.get("minmem"), maxmem=values.get("maxmem"), vcpus=values.get("vcpus"),
        nics=nics,
        disk_template=values.get("disk_template") or (
            constants.DT_DISKLESS if not disks else _field(disks[0], "dev_type")),
        disks=disks, bep=bep, hvp=values.get("hvp") or {},
        hypervisor_name=values.get("hypervisor_name") or "",
        tags=values.get("tags"))


def build_instance_hook_env_by_object(lu, instance: objects.Instance,
                                      override: dict | None = None) -> dict:
    """Convenience for units: the same environment from ``lu.cfg``."""
    return build_instance_hook_env(lu.cfg, instance, override)
