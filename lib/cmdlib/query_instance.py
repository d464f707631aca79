"""The ``instance`` query resource: field table and item builder.

``gnt-instance list``, LUXI ``Query``/``QueryInstances``, OP_QUERY and the
RAPI instance listings all read this one table (spec/fields.md §3). Most
fields come from the configuration; the *live* ones (``status``,
``oper_*``, ``console``) need the hypervisors and are fetched with one
parallel ``all_instances_info`` RPC to the primary nodes concerned, only
when a requested field or the filter needs them, so ``gnt-instance list
-o name,os`` never waits for a slow node.

Items are snapshots taken under the configuration lock; the RPC runs
after the lock is released (as for nodes, see query_node).
"""

from __future__ import annotations

from typing import Any, Callable

from ganeti import constants, errors, query
from ganeti.cmdlib.query_node import timestamp_fields
from ganeti.query import NODATA, OFFLINE, UNAVAIL, Special

C = constants

#: data kind of the fields that need the all_instances_info RPC
IQ_LIVE = "live"

#: how many indexed disk/NIC fields there are (disk.size/0..15, nic.mac/0..7)
MAX_DISKS = 16
MAX_NICS = 8

#: backend parameters in the order Ganeti 3.0 reports them (its record order)
BE_ORDER = ("minmem", "maxmem", "vcpus", "auto_balance", "always_failover", "spindle_use")

# instance status values (spec/fields.md §3)
ST_RUNNING = "running"
ST_ADMIN_DOWN = "ADMIN_down"
ST_ADMIN_OFFLINE = "ADMIN_offline"
ST_ERROR_UP = "ERROR_up"
ST_ERROR_DOWN = "ERROR_down"
ST_NODE_DOWN = "ERROR_nodedown"
ST_NODE_OFFLINE = "ERROR_nodeoffline"
ST_WRONG_NODE = "ERROR_wrongnode"
ST_USER_DOWN = "USER_down"

#: hypervisor state strings meaning "the guest shut itself down" (user shutdown)
SHUTDOWN_STATES = frozenset(["shutdown", "user_down", 1])

#: hypervisor parameters without a field: cluster-global ones and xen_cmd
_HV_NO_FIELD = frozenset(C.HVC_GLOBALS) | frozenset(["xen_cmd"])

_HV_TITLES = {
    "acpi": "ACPI", "boot_order": "Boot_order", "cdrom_image_path": "CDROM_image_path",
    "cpu_type": "cpu_type", "disk_type": "Disk_type", "initrd_path": "Initrd_path",
    "kernel_path": "Kernel_path", "nic_type": "NIC_type", "pae": "PAE",
    "pci_pass": "pci_pass", "vnc_bind_address": "VNC_bind_address",
}

# be/PARAM: (title, kind); those without a title of their own show the field name
_BE_INFO = {
    "always_failover": ("be/always_failover", C.QFT_BOOL),
    "auto_balance": ("Auto_balance", C.QFT_BOOL),
    "maxmem": ("ConfigMaxMem", C.QFT_UNIT),
    "minmem": ("ConfigMinMem", C.QFT_UNIT),
    "spindle_use": ("be/spindle_use", C.QFT_NUMBER),
    "vcpus": ("ConfigVCPUs", C.QFT_NUMBER),
}

_STATUS_DOC = (
    'Instance status; "running" if instance is set to be running and actually is,'
    ' "ADMIN_down" if instance is stopped and is not running, "ERROR_wrongnode" if instance'
    ' running, but not on its designated primary node, "ERROR_up" if instance should be'
    ' stopped, but is actually running, "ERROR_down" if instance should run, but doesn\'t,'
    ' "ERROR_nodedown" if instance\'s primary node is down, "ERROR_nodeoffline" if'
    ' instance\'s primary node is marked offline, "ADMIN_offline" if instance is offline'
    ' and does not use dynamic resources')


def ordinal(number: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th": the docs of indexed fields count from one."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return "%d%s" % (number, suffix)


def ordered_beparams(params: dict) -> dict:
    """Backend parameters in upstream's order (unknown keys kept, at the end)."""
    out = {key: params[key] for key in BE_ORDER if key in params}
    out.update((key, value) for key, value in params.items() if key not in out)
    return out


def disk_template_of(disks: list) -> str:
    """Ganeti 3.0 semantics: the template is the disks' type ("diskless" if none)."""
    types = {disk.dev_type for disk in disks}
    if not types:
        return C.DT_DISKLESS
    return types.pop() if len(types) == 1 else "mixed"


def disk_usage(disks: list) -> int:
    """Space used on the nodes: DRBD adds 128 MiB of metadata per disk, diskless
    and blockdev (not allocated by Ganeti) use none."""
    total = 0
    for disk in disks:
        if disk.dev_type == C.DT_BLOCK:
            continue
        total += (disk.size or 0) + (128 if disk.dev_type == C.DT_DRBD8 else 0)
    return total


_ITEM_KEYS = frozenset(("name", "uuid", "os", "hypervisor", "pnode", "pnode_uuid", "pnode_offline",
                      "pnode_group", "pnode_group_uuid", "snodes", "snodes_group",
                      "snodes_group_uuid", "admin_state", "admin_state_source", "disks_active",
                      "disks", "nics", "hvparams", "custom_hvparams", "beparams",
                      "custom_beparams", "osparams", "custom_osparams", "network_port",
                      "forthcoming", "user_shutdown", "ctime", "mtime", "serial_no", "tags",
                      "live", "elsewhere", "console"))


class InstanceItem:
    """What an instance row needs, copied out of the configuration.

    ``live`` is the primary node's ``all_instances_info`` entry for the
    instance (``{}`` when not running there), a
    :class:`~ganeti.query.Special` when the node could not be asked, or
    None when live data was not asked for; ``elsewhere`` is True when
    another node reported it running.
    """

    def __init__(self, **values: Any):
        self.__dict__.update(values)

    def __getattr__(self, key: str) -> Any:
        if key not in _ITEM_KEYS:
            raise AttributeError(key)
        source = self.__dict__.pop("_source", None)
        if source is not None:
            # a lazy item: the rest of its snapshot is taken on first need
            self.__dict__.update(vars(snapshot_instance(*source)))
            if key in self.__dict__:
                return self.__dict__[key]
        return None               # not set by the snapshot: no value


def lazy_item(data, inst, cache: dict, nodes: dict) -> InstanceItem:
    """An item with only what listings mostly need; the rest comes on first access.

    Only for callers that read the item's attributes under the configuration
    lock (query_config_resource evaluates queries under it).
    """
    pnode = nodes.get(inst.primary_node)
    item = InstanceItem.__new__(InstanceItem)
    item.__dict__ = {
        "name": inst.name, "uuid": inst.uuid, "os": inst.os, "hypervisor": inst.hypervisor,
        "pnode": pnode[0] if pnode else inst.primary_node, "pnode_uuid": inst.primary_node,
        "pnode_offline": pnode[2] if pnode else False, "admin_state": inst.admin_state,
        "admin_state_source": inst.admin_state_source, "_source": (data, inst, cache),
        "_ref": (data, inst)}
    if not data.cluster.enabled_user_shutdown:
        item.user_shutdown = False
    return item


# --- live state ----------------------------------------------------------------

def _is_running(info: Any) -> bool:
    return isinstance(info, dict) and bool(info) and \
        info.get("state") not in SHUTDOWN_STATES


def compute_status(item: InstanceItem) -> str:
    """The ``status`` value from the configuration and the live answer.

    Order as spec/fields.md §3: primary offline, no answer, running on
    the wrong node, running (as wanted or not), stopped (by the user from
    inside the guest when user shutdown is enabled, or as configured).
    """
    if item.pnode_offline:
        return ST_NODE_OFFLINE
    live = item.live
    if isinstance(live, Special) or live is None:
        return ST_NODE_DOWN
    admin_up = item.admin_state == C.ADMINST_UP
    if not live:
        if item.elsewhere:
            return ST_WRONG_NODE
        if admin_up:
            return ST_ERROR_DOWN
        if item.admin_state == C.ADMINST_OFFLINE:
            return ST_ADMIN_OFFLINE
        if item.user_shutdown and item.admin_state_source == C.USER_SOURCE:
            return ST_USER_DOWN
        return ST_ADMIN_DOWN
    if not _is_running(live):
        if admin_up:
            return ST_USER_DOWN if item.user_shutdown else ST_ERROR_DOWN
        return ST_ADMIN_DOWN
    return ST_RUNNING if admin_up else ST_ERROR_UP


def _live(extract: Callable[[dict], Any], when_down: Any = UNAVAIL
          ) -> Callable[[Any, InstanceItem], Any]:
    """Getter of a live field: primary offline ``*``, no answer ``?``, not running
    ``when_down``."""
    def getter(ctx: Any, item: InstanceItem) -> Any:
        if item.pnode_offline:
            return OFFLINE
        live = item.live
        if isinstance(live, Special):
            return live
        if live is None:
            return NODATA
        if not _is_running(live):
            return when_down
        value = extract(live)
        return NODATA if value is None else value
    return getter


def _console(ctx: Any, item: InstanceItem) -> Any:
    if item.pnode_offline:
        return OFFLINE
    if isinstance(item.live, Special):
        return item.live
    if not _is_running(item.live):
        return UNAVAIL
    if item.console is None:
        ref = item.__dict__.get("_ref")
        if ref is None:
            return UNAVAIL
        # evaluated under the configuration lock, like every field of a lazy item
        from ganeti.cmdlib import instance_common
        data, inst = ref
        try:
            item.console = instance_common.instance_console(instance_common.ConfigView(data),
                                                            inst)
        except errors.GenericError:
            return UNAVAIL
    return item.console


# --- field table -----------------------------------------------------------------

def _attr(name: str) -> Callable[[Any, InstanceItem], Any]:
    return lambda ctx, item: getattr(item, name)


def _or_unavail(value: Any) -> Any:
    return UNAVAIL if value is None else value


def _indexed(seq: str, index: int, extract: Callable[[Any], Any]
             ) -> Callable[[Any, InstanceItem], Any]:
    """Getter of item N of the disks/NICs; missing index or value -> unavailable."""
    def getter(ctx: Any, item: InstanceItem) -> Any:
        entries = getattr(item, seq)
        if index >= len(entries):
            return UNAVAIL
        return _or_unavail(extract(entries[index]))
    return getter


def _listed(seq: str, extract: Callable[[Any], Any]) -> Callable[[Any, InstanceItem], Any]:
    return lambda ctx, item: [extract(entry) for entry in getattr(item, seq)]


def _nic_bridge(nic: dict) -> Any:
    return nic["link"] if nic["mode"] == C.NIC_MODE_BRIDGED else None


def _nic_vlan(nic: dict) -> Any:
    return nic["vlan"] if nic["mode"] == C.NIC_MODE_OVS else None


# (suffix, list field, list title, list doc, indexed title, indexed doc, kind, extract)
_DISK_ROWS = [
    ("size", "disk.sizes", "Disk_sizes", "List of disk sizes", "Disk", "Disk size of %s disk",
     C.QFT_UNIT, lambda d: d.size),
    ("spindles", "disk.spindles", "Disk_spindles", "List of disk spindles", "DiskSpindles",
     "Spindles of %s disk", C.QFT_NUMBER, lambda d: d.spindles),
    ("name", "disk.names", "Disk_names", "List of disk names", "DiskName",
     "Name of %s disk", C.QFT_TEXT, lambda d: d.name),
    ("uuid", "disk.uuids", "Disk_UUIDs", "List of disk UUIDs", "DiskUUID",
     "UUID of %s disk", C.QFT_TEXT, lambda d: d.uuid),
]
_NIC_ROWS = [
    ("mac", "nic.macs", "NIC_MACs", "List containing each network interface's MAC address",
     "NicMAC", "MAC address of %s network interface", lambda n: n["mac"]),
    ("ip", "nic.ips", "NIC_IPs", "List containing each network interface's IP address",
     "NicIP", "IP address of %s network interface", lambda n: n["ip"]),
    ("name", "nic.names", "NIC_Names", "List containing each network interface's name",
     "NicName", "Name address of %s network interface", lambda n: n["name"]),
    ("uuid", "nic.uuids", "NIC_UUIDs", "List containing each network interface's UUID",
     "NicUUID", "UUID address of %s network interface", lambda n: n["uuid"]),
    ("mode", "nic.modes", "NIC_modes", "List containing each network interface's mode",
     "NicMode", "Mode of %s network interface", lambda n: n["mode"]),
    ("link", "nic.links", "NIC_links", "List containing each network interface's link",
     "NicLink", "Link of %s network interface", lambda n: n["link"]),
    ("vlan", "nic.vlans", "NIC_VLANs", "List containing each network interface's VLAN",
     "NicVLAN", "VLAN of %s network interface", _nic_vlan),
    ("bridge", "nic.bridges", "NIC_bridges", "List containing each network interface's"
     " bridge", "NicBridge", "Bridge of %s network interface", _nic_bridge),
    ("network", "nic.networks", "NIC_networks", "List containing each interface's network",
     "NicNetwork", "Network of %s network interface", lambda n: n["network"]),
    ("network.name", "nic.networks.names", "NIC_networks_names",
     "List containing the name of each interface's network", "NicNetworkName",
     "Network name of %s network interface", lambda n: n["network_name"]),
]

_ALIASES = [("vcpus", "be/vcpus"), ("be/memory", "be/maxmem"), ("sda_size", "disk.size/0"),
            ("sdb_size", "disk.size/1"), ("ip", "nic.ip/0"), ("mac", "nic.mac/0"),
            ("bridge", "nic.bridge/0"), ("nic_mode", "nic.mode/0"),
            ("nic_link", "nic.link/0"), ("nic_network", "nic.network/0")]


def hv_field_params() -> list[str]:
    """Every hypervisor parameter that has an ``hv/PARAM`` field."""
    params: set[str] = set()
    for defaults in C.HVC_DEFAULTS.values():
        params.update(defaults)
    return sorted(params - _HV_NO_FIELD)


def _param_kind(default: Any) -> str:
    if isinstance(default, bool):
        return C.QFT_BOOL
    if isinstance(default, int):
        return C.QFT_NUMBER
    return C.QFT_OTHER


def _hv_default(param: str) -> Any:
    for defaults in C.HVC_DEFAULTS.values():
        if param in defaults:
            return defaults[param]
    return None


def _param_fields() -> list[query.Field]:
    mk = query.make_field
    fields = []
    for param in sorted(C.BEC_DEFAULTS):
        title, kind = _BE_INFO.get(param, ("be/" + param, _param_kind(C.BEC_DEFAULTS[param])))
        fields.append(mk("be/" + param, title, kind, 'The "%s" backend parameter' % param,
                         lambda ctx, it, _p=param: it.beparams.get(_p, UNAVAIL)))
    for param in hv_field_params():
        fields.append(mk("hv/" + param, _HV_TITLES.get(param, "hv/" + param),
                         _param_kind(_hv_default(param)),
                         'The "%s" hypervisor parameter' % param,
                         lambda ctx, it, _p=param: it.hvparams.get(_p, UNAVAIL)))
    return fields


def _indexed_fields() -> list[query.Field]:
    mk = query.make_field
    fields = [
        mk("disk.count", "Disks", C.QFT_NUMBER, "Number of disks",
           lambda ctx, it: len(it.disks)),
        mk("nic.count", "NICs", C.QFT_NUMBER, "Number of network interfaces",
           lambda ctx, it: len(it.nics)),
    ]
    for suffix, lname, ltitle, ldoc, ititle, idoc, kind, extract in _DISK_ROWS:
        fields.append(mk(lname, ltitle, C.QFT_OTHER, ldoc, _listed("disks", extract)))
        for idx in range(MAX_DISKS):
            fields.append(mk("disk.%s/%d" % (suffix, idx), "%s/%d" % (ititle, idx), kind,
                             idoc % ordinal(idx + 1), _indexed("disks", idx, extract)))
    for suffix, lname, ltitle, ldoc, ititle, idoc, extract in _NIC_ROWS:
        fields.append(mk(lname, ltitle, C.QFT_OTHER, ldoc, _listed("nics", extract)))
        for idx in range(MAX_NICS):
            fields.append(mk("nic.%s/%d" % (suffix, idx), "%s/%d" % (ititle, idx),
                             C.QFT_TEXT, idoc % ordinal(idx + 1),
                             _indexed("nics", idx, extract)))
    return fields


def _build_instance_fields() -> dict[str, query.Field]:
    mk = query.make_field
    fields = [
        mk("name", "Instance", C.QFT_TEXT, "Instance name", _attr("name"), query.QFF_HOSTNAME),
        mk("os", "OS", C.QFT_TEXT, "Operating system", _attr("os")),
        mk("hypervisor", "Hypervisor", C.QFT_TEXT, "Hypervisor name", _attr("hypervisor")),
        mk("pnode", "Primary_node", C.QFT_TEXT, "Primary node", _attr("pnode"),
           query.QFF_HOSTNAME),
        mk("pnode.group", "PrimaryNodeGroup", C.QFT_TEXT, "Primary node's group",
           lambda ctx, it: _or_unavail(it.pnode_group)),
        mk("pnode.group.uuid", "PrimaryNodeGroupUUID", C.QFT_TEXT,
           "Primary node's group UUID", lambda ctx, it: _or_unavail(it.pnode_group_uuid)),
        mk("snodes", "Secondary_Nodes", C.QFT_OTHER,
           "Secondary nodes; usually this will just be one node",
           lambda ctx, it: list(it.snodes)),
        mk("snodes.group", "SecondaryNodesGroups", C.QFT_OTHER,
           "Node groups of secondary nodes", lambda ctx, it: list(it.snodes_group)),
        mk("snodes.group.uuid", "SecondaryNodesGroupsUUID", C.QFT_OTHER,
           "Node group UUIDs of secondary nodes", lambda ctx, it: list(it.snodes_group_uuid)),
        mk("admin_state", "InstanceState", C.QFT_TEXT, "Desired state of instance",
           _attr("admin_state")),
        mk("admin_state_source", "InstanceStateSource", C.QFT_TEXT,
           "Who last changed the desired state of the instance",
           _attr("admin_state_source")),
        mk("admin_up", "Autostart", C.QFT_BOOL, "Desired state of instance",
           lambda ctx, it: it.admin_state == C.ADMINST_UP),
        mk("disks_active", "DisksActive", C.QFT_BOOL, "Desired state of instance disks",
           lambda ctx, it: bool(it.disks_active)),
        mk("forthcoming", "Forthcoming", C.QFT_BOOL, "whether the Instance is forthcoming",
           lambda ctx, it: bool(it.forthcoming)),
        mk("network_port", "Network_port", C.QFT_OTHER,
           "Instance network port if available (e.g. for VNC console)",
           lambda ctx, it: _or_unavail(it.network_port)),
        mk("disk_template", "Disk_template", C.QFT_TEXT, "Instance disk template",
           lambda ctx, it: disk_template_of(it.disks)),
        mk("disk_usage", "DiskUsage", C.QFT_UNIT, "Total disk space used by instance on each"
           " of its nodes; this is not the disk size visible to the instance, but the usage"
           " on the node", lambda ctx, it: disk_usage(it.disks)),
        mk("hvparams", "HypervisorParameters", C.QFT_OTHER, "Hypervisor parameters (merged)",
           _attr("hvparams")),
        mk("custom_hvparams", "CustomHypervisorParameters", C.QFT_OTHER,
           "Custom hypervisor parameters", _attr("custom_hvparams")),
        mk("beparams", "BackendParameters", C.QFT_OTHER, "Backend parameters (merged)",
           _attr("beparams")),
        mk("custom_beparams", "CustomBackendParameters", C.QFT_OTHER,
           "Custom backend parameters", _attr("custom_beparams")),
        mk("osparams", "OpSysParameters", C.QFT_OTHER, "Operating system parameters (merged)",
           _attr("osparams")),
        mk("custom_osparams", "CustomOpSysParameters", C.QFT_OTHER,
           "Custom operating system parameters", _attr("custom_osparams")),
        mk("custom_nicparams", "CustomNicParameters", C.QFT_OTHER,
           "Custom network interface parameters",
           lambda ctx, it: [dict(nic["nicparams"]) for nic in it.nics]),
        # live
        mk("status", "Status", C.QFT_TEXT, _STATUS_DOC,
           lambda ctx, it: compute_status(it), data_kind=IQ_LIVE),
        mk("oper_state", "Running", C.QFT_BOOL, "Actual state of instance",
           _live(lambda info: True, when_down=False), data_kind=IQ_LIVE),
        mk("oper_ram", "Memory", C.QFT_UNIT, "Actual memory usage as seen by hypervisor",
           _live(lambda info: info.get("memory")), data_kind=IQ_LIVE),
        mk("oper_vcpus", "VCPUs", C.QFT_NUMBER, "Actual number of VCPUs as seen by"
           " hypervisor", _live(lambda info: info.get("vcpus")), data_kind=IQ_LIVE),
        mk("console", "Console", C.QFT_OTHER, "Instance console information", _console,
           data_kind=IQ_LIVE),
    ]
    fields += _param_fields()
    fields += _indexed_fields()
    fields += timestamp_fields("instance")
    return query.build_table(fields, _ALIASES)


INSTANCE_FIELDS = _build_instance_fields()
DEFAULT_FIELDS = ["name", "hypervisor", "os", "pnode", "status", "oper_ram"]


# --- items -------------------------------------------------------------------------

def _nic_row(cluster, networks: dict, nic, cache: dict | None = None) -> dict:
    """A NIC with its filled parameters and network name, as the fields read it."""
    params = _cached(cache, ("nic", _cache_key(nic.nicparams)),
                     lambda: cluster.filled_nicparams(nic.nicparams))
    net = networks.get(nic.network) if nic.network else None
    return {"mac": nic.mac, "ip": nic.ip, "name": nic.name, "uuid": nic.uuid,
            "mode": params.get("mode"), "link": params.get("link"),
            "vlan": params.get("vlan"), "network": nic.network,
            "network_name": net.name if net is not None else None,
            "nicparams": dict(nic.nicparams or {})}


def filled_hvparams(cluster, inst) -> dict:
    """The instance's merged hypervisor parameters without the cluster-global ones."""
    params = cluster.filled_hvparams(inst.hypervisor, inst.os, inst.hvparams)
    return {k: v for k, v in sorted(params.items()) if k not in C.HVC_GLOBALS}


def user_shutdown_allowed(cluster, inst, hvparams: dict) -> bool:
    """USER_down is reported only with user shutdown enabled (and, for KVM, its hv flag)."""
    if not cluster.enabled_user_shutdown:
        return False
    return inst.hypervisor != C.HT_KVM or bool(hvparams.get("user_shutdown"))


def _cache_key(params: dict | None) -> Any:
    try:
        return tuple(sorted((params or {}).items()))
    except TypeError:            # unorderable/unhashable values: no caching
        return None


def _cached(cache: dict | None, key: Any, compute: Callable[[], Any]) -> Any:
    """Filled parameter dicts are shared between items with equal inputs (read only)."""
    if cache is None or key[-1] is None:
        return compute()
    try:
        return cache[key]
    except KeyError:
        value = cache[key] = compute()
        return value
    except TypeError:
        return compute()


def snapshot_instance(data, inst, cache: dict | None = None) -> InstanceItem:
    """One instance's item (caller holds the configuration lock).

    ``cache`` (one per query) shares the filled parameter dicts of instances
    whose own parameters are equal, which is most of them.
    """
    cluster = data.cluster
    pnode = data.nodes.get(inst.primary_node)
    pgroup = data.nodegroups.get(pnode.group) if pnode is not None else None
    disks = [data.disks[d].copy() for d in inst.disks or [] if d in data.disks]
    snodes: list[str] = []
    for disk in disks:
        for node_uuid in disk.nodes or []:
            if node_uuid != inst.primary_node and node_uuid not in snodes:
                snodes.append(node_uuid)
    snode_objs = [data.nodes.get(u) for u in snodes]
    sgroups = [data.nodegroups.get(n.group) if n is not None else None for n in snode_objs]
    hvparams = _cached(cache, ("hv", inst.hypervisor, inst.os, _cache_key(inst.hvparams)),
                       lambda: filled_hvparams(cluster, inst))
    osparams = _cached(cache, ("os", inst.os, _cache_key(inst.osparams)),
                       lambda: cluster.filled_osparams(inst.os or "", inst.osparams))
    beparams = _cached(cache, ("be", _cache_key(inst.beparams)),
                       lambda: ordered_beparams(cluster.filled_beparams(inst.beparams)))
    return InstanceItem(
        name=inst.name, uuid=inst.uuid, os=inst.os, hypervisor=inst.hypervisor,
        pnode=pnode.name if pnode is not None else inst.primary_node,
        pnode_uuid=inst.primary_node,
        pnode_offline=bool(pnode.offline) if pnode is not None else False,
        pnode_group=pgroup.name if pgroup is not None else None,
        pnode_group_uuid=pnode.group if pnode is not None else None,
        snodes=[n.name if n is not None else u for n, u in zip(snode_objs, snodes,
                                                                 strict=True)],
        snodes_group=[g.name if g is not None else None for g in sgroups],
        snodes_group_uuid=[n.group if n is not None else None for n in snode_objs],
        admin_state=inst.admin_state, admin_state_source=inst.admin_state_source,
        disks_active=inst.disks_active, disks=disks,
        nics=[_nic_row(cluster, data.networks or {}, nic, cache) for nic in inst.nics or []],
        hvparams=hvparams, custom_hvparams=dict(inst.hvparams or {}),
        beparams=beparams,
        custom_beparams=dict(inst.beparams or {}),
        osparams=osparams, custom_osparams=dict(inst.osparams or {}),
        network_port=inst.network_port, forthcoming=inst.forthcoming,
        user_shutdown=user_shutdown_allowed(cluster, inst, hvparams)
        if cluster.enabled_user_shutdown else False,
        ctime=inst.ctime, mtime=inst.mtime, serial_no=inst.serial_no,
        tags=list(inst.tags or []))


def _matches(name: str, wanted: list) -> bool:
    return any(isinstance(w, str) and (name == w or name.startswith(w + "."))
               for w in wanted)


def instance_items(cfg, rpc: Any, live: bool, names: list | None = None
                   ) -> list[InstanceItem]:
    """Items of every instance, then (``live``) ask the primaries what runs.

    Items are lazy (see :func:`lazy_item`): the caller evaluates its query
    holding the configuration lock, so a listing of names and states does
    not pay for building every instance's parameters.

    ``names`` (from a filter made of name equalities) limits the RPC to the
    nodes of the instances it can select; the filter is applied by the caller.
    """
    with cfg.lock:
        data = cfg.data
        cluster = data.cluster
        cache: dict = {}
        nodes = {uuid: (node.name, node.primary_ip, bool(node.offline))
                 for uuid, node in data.nodes.items()}
        items = [lazy_item(data, inst, cache, nodes) for inst in data.instances.values()]
        hvs = sorted({it.hypervisor for it in items if it.hypervisor})
        hv_params = {hv: cluster.filled_hvparams(hv) for hv in hvs}
    if live:
        wanted = [it for it in items if names is None or _matches(it.name, names)]
        fetch_live(wanted, rpc, nodes, hvs, hv_params)
    return items


def fetch_live(items: list[InstanceItem], rpc: Any, nodes: dict, hvs: list,
               hv_params: dict) -> None:
    """One parallel all_instances_info call to the (online) primary nodes.

    Each item gets its primary's entry for it (``{}``: not running there),
    NODATA when the node did not answer, and ``elsewhere`` when another
    asked node reported it.
    """
    for item in items:
        item.live = NODATA
        item.elsewhere = False
    targets = []
    for uuid in sorted({it.pnode_uuid for it in items if not it.pnode_offline}):
        if uuid in nodes and not nodes[uuid][2]:
            targets.append(nodes[uuid])
    if not targets or rpc is None:
        return
    try:
        results = rpc.call("all_instances_info", targets, [hvs, hv_params])
    except errors.GenericError:
        return
    answers: dict[str, dict] = {}
    for name, _ip, _off in targets:
        res = results.get(name)
        if res is not None and not res.fail_msg and isinstance(res.payload, dict):
            answers[name] = res.payload
    for item in items:
        answer = answers.get(item.pnode)
        if answer is None:
            continue
        info = answer.get(item.name)
        item.live = dict(info) if isinstance(info, dict) else {}
        item.elsewhere = not item.live and any(
            item.name in other for node, other in answers.items() if node != item.pnode)

