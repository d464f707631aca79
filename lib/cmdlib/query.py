"""OP_QUERY / OP_QUERY_FIELDS and the master-side LUXI queries.

Jobs are answered by the job queue, locks by the lock manager, the
``cluster`` and ``os`` resources by field tables defined here (OP_QUERY
only), and the resources in :data:`LUXI_RESOURCES` (nodes, groups) by
their own modules, the same way for LUXI ``Query``, the legacy
``QueryNodes``/``QueryGroups`` calls and OP_QUERY (doc/design/queries.md).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from ganeti import constants, errors, query
from ganeti.cmdlib import query_group, query_instance, query_node
from ganeti.cmdlib.base import NoHooksLU


class Resource(NamedTuple):
    """A resource answered from the configuration (plus live data) without an opcode.

    ``items(cfg, rpc, live, names)`` returns the items to filter and show:
    it takes the configuration lock itself for its snapshot and must make
    any node RPC (only when ``live``) after releasing it; ``names`` are
    the names a filter of plain name equalities selects (None: any), so
    that live data is fetched only from nodes that can be shown.
    ``kind`` names the object in errors of the legacy Query* calls.
    """

    table: dict[str, query.Field]
    items: Callable[[Any, Any, bool, list | None], list]
    live_kind: Any = None
    kind: str = "Item"
    lookup: Callable[[Any, str], str | None] | None = None


def _lookup_node(cfg, name: str) -> str | None:
    found = cfg.expand_node_name(name)
    return found[1] if found else None


def _lookup_instance(cfg, name: str) -> str | None:
    found = cfg.expand_instance_name(name)
    return found[1] if found else None


def _lookup_group(cfg, name: str) -> str | None:
    groups = cfg.data.nodegroups
    if name in groups:
        return groups[name].name
    return name if any(g.name == name for g in groups.values()) else None


LUXI_RESOURCES: dict[str, Resource] = {
    constants.QR_NODE: Resource(query_node.NODE_FIELDS, query_node.node_items,
                                query_node.NQ_LIVE, "Node", _lookup_node),
    constants.QR_GROUP: Resource(query_group.GROUP_FIELDS, query_group.group_items,
                                 None, "Group", _lookup_group),
    constants.QR_INSTANCE: Resource(query_instance.INSTANCE_FIELDS,
                                    query_instance.instance_items, query_instance.IQ_LIVE,
                                    "Instance", _lookup_instance),
}


def _os_table() -> dict:
    Q = constants
    rows = [
        ("name", "Name", Q.QFT_TEXT, "Operating system name", "name"),
        ("valid", "Valid", Q.QFT_BOOL, "Whether operating system definition is valid", "valid"),
        ("hidden", "Hidden", Q.QFT_BOOL, "Whether operating system is hidden", "hidden"),
        ("blacklisted", "Blacklisted", Q.QFT_BOOL, "Whether operating system is blacklisted",
         "blacklisted"),
        ("variants", "Variants", Q.QFT_OTHER, "Operating system variants", "variants"),
        ("api_versions", "ApiVersions", Q.QFT_OTHER, "Operating system API versions",
         "api_versions"),
        ("parameters", "Parameters", Q.QFT_OTHER, "Operating system parameters", "parameters"),
        ("node_status", "NodeStatus", Q.QFT_OTHER, "Status from node", "node_status"),
        ("os_hvp", "OsHypervisorParams", Q.QFT_OTHER, "Operating system specific hypervisor"
         " parameters", "os_hvp"),
        ("osparams", "OsParameters", Q.QFT_OTHER, "Operating system specific parameters",
         "osparams"),
        ("trusted", "Trusted", Q.QFT_BOOL, "Whether this OS is trusted", "trusted"),
    ]
    return query.make_simple_table(rows)


def _cluster_table() -> dict:
    Q = constants
    rows = [
        ("cluster_name", "Name", Q.QFT_TEXT, "Cluster name", "cluster_name"),
        ("master_node", "Master", Q.QFT_TEXT, "Master node name", "master_node"),
        ("volume_group_name", "VgName", Q.QFT_TEXT, "LVM volume group name",
         "volume_group_name"),
        ("tags", "Tags", Q.QFT_OTHER, "Tags", "tags"),
        ("architecture", "ArchInfo", Q.QFT_OTHER, "Architecture information", "architecture"),
        ("drain_flag", "QueueDrained", Q.QFT_BOOL, "Whether job queue is drained",
         "drain_flag"),
        ("watcher_pause", "WatcherPause", Q.QFT_TIMESTAMP, "Until when watcher is paused",
         "watcher_pause"),
        ("software_version", "SoftwareVersion", Q.QFT_TEXT, "Software version",
         "software_version"),
        ("protocol_version", "ProtocolVersion", Q.QFT_NUMBER, "RPC protocol version",
         "protocol_version"),
        ("config_version", "ConfigVersion", Q.QFT_NUMBER, "Configuration format version",
         "config_version"),
        ("os_api_version", "OsApiVersion", Q.QFT_NUMBER, "API version for OS template scripts",
         "os_api_version"),
        ("export_version", "ExportVersion", Q.QFT_NUMBER, "Import/export file format version",
         "export_version"),
        ("vcs_version", "VCSVersion", Q.QFT_TEXT, "VCS version", "vcs_version"),
        ("ctime", "CTime", Q.QFT_TIMESTAMP, "Creation timestamp", "ctime"),
        ("mtime", "MTime", Q.QFT_TIMESTAMP, "Modification timestamp", "mtime"),
        ("uuid", "UUID", Q.QFT_TEXT, "Cluster UUID", "uuid"),
        ("serial_no", "SerialNo", Q.QFT_NUMBER, "Serial number", "serial_no"),
    ]
    return query.make_simple_table(rows)


OS_FIELDS = _os_table()
CLUSTER_FIELDS = _cluster_table()
TABLES = {
    constants.QR_OS: OS_FIELDS,
    constants.QR_CLUSTER: CLUSTER_FIELDS,
    constants.QR_JOB: query.JOB_FIELDS,
    constants.QR_LOCK: query.LOCK_FIELDS,
}


def query_fields(what: str, fields: list | None) -> dict:
    table = TABLES.get(what) or (LUXI_RESOURCES.get(what) or (None,))[0]
    if table is None:
        raise errors.OpPrereqError("Resource type '%s' unknown" % what, errors.ECODE_INVAL)
    return query.query_fields(table, fields)


def query_locks(glm, fields: list, qfilter) -> dict:
    # rows come in level order from the lock manager; keep it
    q = query.Query(query.LOCK_FIELDS, fields, qfilter, namefield="name", sort_key=lambda r: 0)
    return {"fields": [f.to_dict() for f in q.get_fields()],
            "data": q.query(None, glm.query())}


def _wants_live(res: Resource, q: query.Query) -> bool:
    return res.live_kind is not None and res.live_kind in q.requested_data()


def query_config_resource(cfg, what: str, fields: list, qfilter, rpc: Any = None) -> dict:
    """Query/OP_QUERY answer for a registered resource; rows nice-sorted by name."""
    res = LUXI_RESOURCES[what]
    q = query.Query(res.table, fields, qfilter, namefield="name")
    items = res.items(cfg, rpc, _wants_live(res, q), q.requested_names())
    with cfg.lock:       # items may read the configuration lazily
        data = q.query(None, items)
    return {"fields": [f.to_dict() for f in q.get_fields()], "data": data}


def query_legacy(cfg, what: str, names: list | None, fields: list, rpc: Any = None) -> list:
    """QueryNodes/QueryGroups: plain value rows (missing values are None).

    Unlike a filter, a name that matches nothing is an error here (as in
    Ganeti: "gnt-node info nosuch" fails); rows come in the order the
    names were given, all items in name order when none were.
    """
    res = LUXI_RESOURCES[what]
    if names is not None and not isinstance(names, list):
        raise errors.OpPrereqError("Expected a list of names, got %r" % (names,),
                                   errors.ECODE_INVAL)
    full: list[str] = []
    if names:
        with cfg.lock:
            for name in names:
                found = res.lookup(cfg, name) if isinstance(name, str) and res.lookup else None
                if found is None:
                    raise errors.OpPrereqError("%s '%s' not known" % (res.kind, name),
                                               errors.ECODE_NOENT)
                if found not in full:
                    full.append(found)
    order = {name: pos for pos, name in enumerate(full)}
    q = query.Query(res.table, fields, None, namefield="name",
                    sort_key=(lambda item: order[item.name]) if full else None)
    unknown = q.unknown_fields()
    if unknown:
        raise errors.OpPrereqError("Unknown output fields selected: %s" % ", ".join(unknown),
                                   errors.ECODE_INVAL)
    items = res.items(cfg, rpc, _wants_live(res, q), full or None)
    if full:
        items = [item for item in items if item.name in order]
    with cfg.lock:       # items may read the configuration lazily
        return q.old_style_query(None, items)


def _beparams_memory(item: dict) -> dict:
    """Pre-2.6 RAPI clients read ``beparams.memory``; it is ``maxmem``."""
    beparams = item.get("beparams")
    if isinstance(beparams, dict) and "maxmem" in beparams:
        item["beparams"] = dict(beparams, memory=beparams["maxmem"])
    return item


#: named post-processing of items for query_items_json (callers pick by name)
ITEM_VIEWS: dict[str, Callable[[dict], dict]] = {"rapi-instance": _beparams_memory}


def query_items_json(cfg, what: str, names: list | None, fields: list, view: str | None = None,
                     rpc: Any = None) -> str:
    """Plain-row query results as the JSON text of a list of dicts (see luxi)."""
    from ganeti import serializer
    if view is not None and view not in ITEM_VIEWS:
        raise errors.OpPrereqError("Unknown item view '%s'" % view, errors.ECODE_INVAL)
    fields = list(fields)
    rows = query_legacy(cfg, what, names, fields, rpc=rpc)
    items = [dict(zip(fields, row, strict=True)) for row in rows]
    if view is not None:
        items = [ITEM_VIEWS[view](item) for item in items]
    return serializer.dumps_fast(items).decode("utf-8")


def cluster_item(cfg) -> dict:
    from ganeti.cmdlib import cluster
    info = cluster.cluster_info(cfg)
    item = dict(info)
    item["cluster_name"] = info["name"]
    item["master_node"] = info["master"]
    item["drain_flag"] = cluster.config_values(cfg, ["drain_flag"])[0]
    item["watcher_pause"] = cluster.read_watcher_pause()
    item["serial_no"] = cfg.get_cluster_info().serial_no
    return item


class LUQuery(NoHooksLU):
    def check_arguments(self) -> None:
        if self.op.what not in (constants.QR_CLUSTER, constants.QR_OS, constants.QR_JOB,
                                constants.QR_LOCK) and self.op.what not in LUXI_RESOURCES:
            raise errors.OpPrereqError("Resource type '%s' cannot be queried with OP_QUERY"
                                       % self.op.what, errors.ECODE_INVAL)

    def expand_names(self) -> None:
        self.needed_locks = {}

    def exec(self, feedback_fn):
        what = self.op.what
        fields = self.op.fields
        if what == constants.QR_JOB:
            return self.context.jqueue.query(fields, self.op.qfilter)
        if what == constants.QR_LOCK:
            return query_locks(self.glm, fields, self.op.qfilter)
        if what in LUXI_RESOURCES:
            return query_config_resource(self.cfg, what, fields, self.op.qfilter, self.rpc)
        if what == constants.QR_CLUSTER:
            items = [cluster_item(self.cfg)]
            namefield = "cluster_name"
        else:
            from ganeti.cmdlib import os as os_lu
            items = list(os_lu.gather_os_info(self).values())
            namefield = "name"
        q = query.Query(TABLES[what], fields, self.op.qfilter, namefield=namefield)
        return {"fields": [f.to_dict() for f in q.get_fields()], "data": q.query(None, items)}


class LUQueryFields(NoHooksLU):
    def expand_names(self) -> None:
        self.needed_locks = {}

    def exec(self, feedback_fn):
        return query_fields(self.op.what, self.op.fields)
