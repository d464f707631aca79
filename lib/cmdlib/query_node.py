"""The ``node`` query resource: field table and item builder.

``gnt-node list``, LUXI ``Query``/``QueryNodes``, OP_QUERY and the RAPI
node listings all read the same table. Most fields come from the
configuration and cost nothing; the *live* fields (memory, CPUs, storage,
boot id) need the nodes themselves and are fetched with one parallel
``node_info`` RPC to every node concerned, and only when a requested field
or the filter needs them, so ``gnt-node list -o name,role`` never waits
for a slow node.

Items are snapshots taken under the configuration lock; the RPC runs
after the lock is released, so a node that does not answer delays only
the listing that asked for its live data, not configuration writers.
"""

from __future__ import annotations

from typing import Any, Callable

from ganeti import constants, query
from ganeti.query import NODATA, OFFLINE, UNAVAIL, Special
from ganeti.utils.text import nice_sort

C = constants

#: data kind of the fields that need the node_info RPC (see Query.requested_data)
NQ_LIVE = "live"

#: node parameters in the order Ganeti 3.0 reports them (its record order), so
#: the dict fields and ``gnt-group list``'s NDParams column read the same
ND_ORDER = ("oob_program", "spindle_count", "exclusive_storage", "ovs", "ovs_name",
            "ovs_link", "ssh_port", "cpu_speed")

# ndp/PARAM: title and kind; a parameter without a title of its own shows its
# field name, as upstream does for cpu_speed and ssh_port
_NDP_INFO = {
    "cpu_speed": ("ndp/cpu_speed", C.QFT_NUMBER_FLOAT),
    "exclusive_storage": ("ExclusiveStorage", C.QFT_BOOL),
    "oob_program": ("OutOfBandProgram", C.QFT_OTHER),
    "ovs": ("OpenvSwitch", C.QFT_BOOL),
    "ovs_link": ("OpenvSwitchLink", C.QFT_OTHER),
    "ovs_name": ("OpenvSwitchName", C.QFT_OTHER),
    "spindle_count": ("SpindleCount", C.QFT_NUMBER),
    "ssh_port": ("ndp/ssh_port", C.QFT_NUMBER),
}


def ordered_ndparams(params: dict) -> dict:
    """Node parameters in upstream's order (unknown keys kept, at the end)."""
    out = {key: params[key] for key in ND_ORDER if key in params}
    out.update((key, value) for key, value in params.items() if key not in out)
    return out


def ndp_fields(ndparams_of: Callable[[Any], dict]) -> list[query.Field]:
    """One ``ndp/PARAM`` field per node parameter (nodes and groups share them)."""
    fields = []
    for param in sorted(C.NDC_DEFAULTS):
        title, kind = _NDP_INFO.get(param, ("ndp/" + param, C.QFT_OTHER))

        def getter(ctx: Any, item: Any, _param: str = param) -> Any:
            return ndparams_of(item).get(_param, UNAVAIL)

        fields.append(query.make_field("ndp/" + param, title, kind,
                                       'The "%s" node parameter' % param, getter))
    return fields


def timestamp_fields(what: str) -> list[query.Field]:
    """ctime, mtime, uuid, serial_no and tags, read from item attributes."""
    return [
        query.make_field("ctime", "CTime", C.QFT_TIMESTAMP, "Creation timestamp",
                         lambda ctx, it: it.ctime if it.ctime is not None else UNAVAIL),
        query.make_field("mtime", "MTime", C.QFT_TIMESTAMP, "Modification timestamp",
                         lambda ctx, it: it.mtime if it.mtime is not None else UNAVAIL),
        query.make_field("uuid", "UUID", C.QFT_TEXT, "%s UUID" % what.capitalize(),
                         lambda ctx, it: it.uuid),
        query.make_field("serial_no", "SerialNo", C.QFT_NUMBER,
                         "%s object serial number, incremented on each modification"
                         % what.capitalize(), lambda ctx, it: it.serial_no),
        query.make_field("tags", "Tags", C.QFT_OTHER, "Tags", lambda ctx, it: it.tags),
    ]


class NodeItem:
    """What a node row needs, copied out of the configuration.

    ``live`` is the node_info answer (``[bootid, [storage...], [hv...]]``),
    a :class:`~ganeti.query.Special` when it could not be had, or None
    when live data was not asked for.
    """

    __slots__ = ("name", "uuid", "pip", "sip", "master", "master_candidate",
                 "master_capable", "vm_capable", "drained", "offline", "group_name",
                 "group_uuid", "powered", "ndparams", "custom_ndparams", "pinst", "sinst",
                 "ctime", "mtime", "serial_no", "tags", "live")

    def __init__(self, **values: Any):
        for key in self.__slots__:
            setattr(self, key, values.get(key))


def _role(item: NodeItem) -> str:
    if item.master:
        return C.NR_MASTER
    if item.master_candidate:
        return C.NR_MCANDIDATE
    if item.drained:
        return C.NR_DRAINED
    if item.offline:
        return C.NR_OFFLINE
    return C.NR_REGULAR


def _powered(item: NodeItem) -> Any:
    # the power state is only tracked for nodes with an out-of-band helper
    if not item.ndparams.get("oob_program"):
        return UNAVAIL
    return bool(item.powered)


# --- live fields ----------------------------------------------------------------

def _hv(key: str) -> Callable[[list], Any]:
    return lambda payload: payload[2][0][key]


def _storage(key: str) -> Callable[[list], Any]:
    return lambda payload: payload[1][0][key]


def _spindles(key: str) -> Callable[[list], Any]:
    """Spindles come from an ``lvm-pv`` unit, reported with exclusive storage only."""
    def extract(payload: list) -> Any:
        for unit in payload[1]:
            if unit.get("type") == "lvm-pv":
                return unit[key]
        return None
    return extract


def _live(extract: Callable[[list], Any]) -> Callable[[Any, NodeItem], Any]:
    """Getter of a live field: offline ``*``, not vm_capable ``-``, no answer ``?``."""
    def getter(ctx: Any, item: NodeItem) -> Any:
        if item.offline:
            return OFFLINE
        if not item.vm_capable:
            return UNAVAIL
        live = item.live
        if isinstance(live, Special):
            return live
        if live is None:
            return NODATA
        try:
            value = extract(live)
        except (LookupError, TypeError, AttributeError):
            return NODATA  # the node answered, but not this part (e.g. no storage unit)
        return NODATA if value is None else value
    return getter


_LIVE_FIELDS = [
    ("bootid", "BootID", C.QFT_TEXT, "Random UUID renewed for each system reboot, can be"
     " used for detecting reboots by tracking changes", lambda p: p[0]),
    ("cnodes", "CNodes", C.QFT_NUMBER, "Number of NUMA domains on node (if exported by"
     " hypervisor)", _hv("cpu_nodes")),
    ("cnos", "CNOs", C.QFT_NUMBER, "Number of logical processors used by the node OS (dom0"
     " for Xen)", _hv("cpu_dom0")),
    ("csockets", "CSockets", C.QFT_NUMBER, "Number of physical CPU sockets (if exported by"
     " hypervisor)", _hv("cpu_sockets")),
    ("ctotal", "CTotal", C.QFT_NUMBER, "Number of logical processors", _hv("cpu_total")),
    ("dfree", "DFree", C.QFT_UNIT, "Available storage space on storage unit",
     _storage("storage_free")),
    ("dtotal", "DTotal", C.QFT_UNIT, "Total storage space on storage unit for instance disk"
     " allocation", _storage("storage_size")),
    ("mfree", "MFree", C.QFT_UNIT, "Memory available for instance allocations",
     _hv("memory_free")),
    ("mnode", "MNode", C.QFT_UNIT, "Amount of memory used by node (dom0 for Xen)",
     _hv("memory_dom0")),
    ("mtotal", "MTotal", C.QFT_UNIT, "Total amount of memory of physical machine",
     _hv("memory_total")),
    ("spfree", "SpFree", C.QFT_NUMBER, "Available spindles in volume group (exclusive"
     " storage only)", _spindles("storage_free")),
    ("sptotal", "SpTotal", C.QFT_NUMBER, "Total spindles in volume group (exclusive storage"
     " only)", _spindles("storage_size")),
]
LIVE_FIELD_NAMES = frozenset(row[0] for row in _LIVE_FIELDS)


def _attr(name: str) -> Callable[[Any, NodeItem], Any]:
    return lambda ctx, item: getattr(item, name)


def _build_node_fields() -> dict[str, query.Field]:
    mk = query.make_field
    fields = [
        mk("name", "Node", C.QFT_TEXT, "Node name", _attr("name"), query.QFF_HOSTNAME),
        mk("pip", "PrimaryIP", C.QFT_TEXT, "Primary IP address", _attr("pip")),
        mk("sip", "SecondaryIP", C.QFT_TEXT, "Secondary IP address", _attr("sip")),
        mk("master", "IsMaster", C.QFT_BOOL, "Whether node is master", _attr("master")),
        mk("master_candidate", "MasterC", C.QFT_BOOL, "Whether node is a master candidate",
           _attr("master_candidate")),
        mk("master_capable", "MasterCapable", C.QFT_BOOL,
           "Whether node can become a master candidate", _attr("master_capable")),
        mk("vm_capable", "VMCapable", C.QFT_BOOL, "Whether node can host instances",
           _attr("vm_capable")),
        mk("drained", "Drained", C.QFT_BOOL, "Whether node is drained", _attr("drained")),
        mk("offline", "Offline", C.QFT_BOOL, "Whether node is marked offline",
           _attr("offline")),
        mk("role", "Role", C.QFT_TEXT, 'Node role; "M" for master, "C" for master candidate,'
           ' "R" for regular, "D" for drained, "O" for offline', lambda ctx, it: _role(it)),
        mk("group", "Group", C.QFT_TEXT, "Node group", _attr("group_name")),
        mk("group.uuid", "GroupUUID", C.QFT_TEXT, "UUID of node group", _attr("group_uuid")),
        mk("powered", "Powered", C.QFT_BOOL, "Whether node is thought to be powered on",
           lambda ctx, it: _powered(it)),
        mk("ndparams", "NodeParameters", C.QFT_OTHER, "Merged node parameters",
           _attr("ndparams")),
        mk("custom_ndparams", "CustomNodeParameters", C.QFT_OTHER, "Custom node parameters",
           _attr("custom_ndparams")),
        mk("pinst_cnt", "Pinst", C.QFT_NUMBER, "Number of instances with this node as primary",
           lambda ctx, it: len(it.pinst)),
        mk("sinst_cnt", "Sinst", C.QFT_NUMBER,
           "Number of instances with this node as secondary", lambda ctx, it: len(it.sinst)),
        mk("pinst_list", "PriInstances", C.QFT_OTHER,
           "List of instances with this node as primary", lambda ctx, it: list(it.pinst)),
        mk("sinst_list", "SecInstances", C.QFT_OTHER,
           "List of instances with this node as secondary", lambda ctx, it: list(it.sinst)),
        # static hypervisor/disk state is not functional in Ganeti 3.0 either
        mk("hv_state", "HypervisorState", C.QFT_OTHER, "Hypervisor state",
           lambda ctx, it: UNAVAIL),
        mk("disk_state", "DiskState", C.QFT_OTHER, "Disk state", lambda ctx, it: UNAVAIL),
    ]
    fields += [mk(name, title, kind, doc, _live(extract), data_kind=NQ_LIVE)
               for name, title, kind, doc, extract in _LIVE_FIELDS]
    fields += ndp_fields(lambda item: item.ndparams)
    fields += timestamp_fields("node")
    return query.build_table(fields)


NODE_FIELDS = _build_node_fields()


# --- items ----------------------------------------------------------------------------

def instance_map(data) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Primary and secondary instance names by node UUID, in one pass.

    A secondary node is any node of an instance's disks that is not its
    primary (DRBD peers, and the nodes of shared storage).
    """
    primary: dict[str, list[str]] = {}
    secondary: dict[str, list[str]] = {}
    disks = data.disks
    for inst in data.instances.values():
        primary.setdefault(inst.primary_node, []).append(inst.name)
        seen = {inst.primary_node}
        for disk_uuid in inst.disks or []:
            disk = disks.get(disk_uuid)
            for node_uuid in (disk.nodes or []) if disk is not None else []:
                if node_uuid not in seen:
                    seen.add(node_uuid)
                    secondary.setdefault(node_uuid, []).append(inst.name)
    return primary, secondary


def default_storage_units(cluster) -> list[list]:
    """The storage unit dtotal/dfree report: that of the default disk template.

    Templates without space accounting (diskless, blockdev, ext) send no
    unit, so their nodes show the no-data value, as Ganeti 3.0 does.
    """
    templates = cluster.enabled_disk_templates or []
    if not templates:
        return []
    tmpl = templates[0]
    key = None
    stype = tmpl
    if tmpl == C.DT_FILE:
        key = cluster.file_storage_dir
    elif tmpl == C.DT_SHARED_FILE:
        key = cluster.shared_file_storage_dir
    elif tmpl == C.DT_GLUSTER:
        key = cluster.gluster_storage_dir
    elif tmpl in (C.DT_PLAIN, C.DT_DRBD8):
        stype, key = "lvm-vg", cluster.volume_group_name
    elif tmpl == C.DT_RBD:
        stype = "rados"
        key = cluster.filled_diskparams().get(C.DT_RBD, {}).get("pool")
    if not key:
        return []
    if stype in (C.DT_FILE, C.DT_SHARED_FILE, C.DT_GLUSTER):
        # cluster-wide path, as every RPC carries paths: each node roots it itself
        from ganeti import pathutils
        key = pathutils.strip_root(key)
    return [[stype, key, []]]


def hv_specs(cluster) -> list[list]:
    """``[[hypervisor, filled hvparams]]`` for the default hypervisor."""
    hvs = cluster.enabled_hypervisors or []
    if not hvs:
        return []
    return [[hvs[0], cluster.filled_hvparams(hvs[0])]]


def _matches(name: str, wanted: list) -> bool:
    return any(isinstance(w, str) and (name == w or name.startswith(w + "."))
               for w in wanted)


def node_items(cfg, rpc: Any, live: bool, names: list | None = None) -> list[NodeItem]:
    """Snapshot every node, then (``live``) ask the nodes concerned for their facts.

    ``names`` (from a filter made of name equalities) limits the RPC to the
    nodes it can select; the filter itself is applied by the caller.
    """
    with cfg.lock:
        data = cfg.data
        cluster = data.cluster
        primary, secondary = instance_map(data)
        items = []
        for uuid, node in data.nodes.items():
            group = data.nodegroups.get(node.group)
            items.append(NodeItem(
                name=node.name, uuid=uuid, pip=node.primary_ip, sip=node.secondary_ip,
                master=uuid == cluster.master_node,
                master_candidate=bool(node.master_candidate),
                master_capable=bool(node.master_capable), vm_capable=bool(node.vm_capable),
                drained=bool(node.drained), offline=bool(node.offline),
                group_name=group.name if group is not None else UNAVAIL,
                group_uuid=node.group, powered=node.powered,
                ndparams=ordered_ndparams(cluster.filled_ndparams(
                    group.ndparams if group is not None else None, node.ndparams)),
                custom_ndparams=dict(node.ndparams or {}),
                pinst=nice_sort(primary.get(uuid, [])),
                sinst=nice_sort(secondary.get(uuid, [])),
                ctime=node.ctime, mtime=node.mtime, serial_no=node.serial_no,
                tags=list(node.tags or [])))
        storage = default_storage_units(cluster)
        hvs = hv_specs(cluster)
    if live:
        fetch_live(items, rpc, storage, hvs, names)
    return items


def fetch_live(items: list[NodeItem], rpc: Any, storage: list, hvs: list,
               names: list | None = None) -> None:
    """One parallel node_info call; each item gets its answer or NODATA.

    Offline and non-vm_capable nodes are not contacted: their live fields
    are ``*`` and ``-`` whatever they would answer.
    """
    todo = [it for it in items if not it.offline and it.vm_capable and
            (names is None or _matches(it.name, names))]
    for item in items:
        item.live = NODATA
    if not todo or rpc is None:
        return
    from ganeti import errors
    try:
        results = rpc.call("node_info", [(it.name, it.pip, False) for it in todo],
                           [storage, hvs])
    except errors.GenericError:
        return  # a broken RPC layer makes every live value "no data", not the listing fail
    for item in todo:
        res = results.get(item.name)
        if res is not None and not res.fail_msg and isinstance(res.payload, list):
            item.live = res.payload
