"""The ``group`` query resource: field table and item builder.

Group fields are configuration-only: members, primary instances, and the
three parameter sets that groups refine (node parameters, instance policy,
disk parameters), each available merged (cluster -> group, what actually
applies) and custom (what the group itself overrides). ``gnt-group
list``/``info`` and LUXI ``Query``/``QueryGroups`` read this table.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from ganeti import constants, query
from ganeti.cmdlib.query_node import instance_map, ndp_fields, ordered_ndparams, \
    timestamp_fields
from ganeti.utils.text import nice_sort

C = constants

# instance policy keys and spec keys in the order Ganeti 3.0 reports them
_IPOLICY_ORDER = ("minmax", "std", "spindle-ratio", "vcpu-ratio", "disk-templates")
_ISPEC_ORDER = ("memory-size", "disk-size", "disk-count", "cpu-count", "nic-count",
                "spindle-use")


def _ordered(params: dict, order: tuple) -> dict:
    out = {key: params[key] for key in order if key in params}
    out.update((key, value) for key, value in params.items() if key not in out)
    return out


def ordered_ipolicy(ipolicy: dict) -> dict:
    """An instance policy with upstream's key order (min before max, specs ordered)."""
    out = _ordered(ipolicy, _IPOLICY_ORDER)
    if isinstance(out.get("minmax"), list):
        out["minmax"] = [_ordered({k: _ordered(v, _ISPEC_ORDER) if isinstance(v, dict) else v
                                   for k, v in mm.items()}, ("min", "max"))
                         if isinstance(mm, dict) else mm for mm in out["minmax"]]
    if isinstance(out.get("std"), dict):
        out["std"] = _ordered(out["std"], _ISPEC_ORDER)
    return out


class GroupItem:
    """What a group row needs, copied out of the configuration."""

    __slots__ = ("name", "uuid", "alloc_policy", "nodes", "pinst", "ndparams",
                 "custom_ndparams", "ipolicy", "custom_ipolicy", "diskparams",
                 "custom_diskparams", "ctime", "mtime", "serial_no", "tags")

    def __init__(self, **values: Any):
        for key in self.__slots__:
            setattr(self, key, values.get(key))


def _attr(name: str) -> Callable[[Any, GroupItem], Any]:
    return lambda ctx, item: getattr(item, name)


def _build_group_fields() -> dict[str, query.Field]:
    mk = query.make_field
    fields = [
        mk("name", "Group", C.QFT_TEXT, "Group name", _attr("name")),
        mk("alloc_policy", "AllocPolicy", C.QFT_TEXT, "Allocation policy for group",
           _attr("alloc_policy")),
        mk("node_cnt", "Nodes", C.QFT_NUMBER, "Number of nodes",
           lambda ctx, it: len(it.nodes)),
        mk("node_list", "NodeList", C.QFT_OTHER, "List of nodes",
           lambda ctx, it: list(it.nodes)),
        mk("pinst_cnt", "Instances", C.QFT_NUMBER, "Number of primary instances",
           lambda ctx, it: len(it.pinst)),
        mk("pinst_list", "InstanceList", C.QFT_OTHER, "List of primary instances",
           lambda ctx, it: list(it.pinst)),
        mk("ndparams", "NDParams", C.QFT_OTHER, "Node parameters", _attr("ndparams")),
        mk("custom_ndparams", "CustomNDParams", C.QFT_OTHER, "Custom node parameters",
           _attr("custom_ndparams")),
        mk("ipolicy", "InstancePolicy", C.QFT_OTHER, "Instance policy limitations (merged)",
           _attr("ipolicy")),
        mk("custom_ipolicy", "CustomInstancePolicy", C.QFT_OTHER,
           "Custom instance policy limitations", _attr("custom_ipolicy")),
        mk("diskparams", "DiskParameters", C.QFT_OTHER, "Disk parameters (merged)",
           _attr("diskparams")),
        mk("custom_diskparams", "CustomDiskParameters", C.QFT_OTHER, "Custom disk parameters",
           _attr("custom_diskparams")),
    ]
    fields += ndp_fields(lambda item: item.ndparams)
    fields += timestamp_fields("group")
    return query.build_table(fields)


GROUP_FIELDS = _build_group_fields()


def group_items(cfg, rpc: Any = None, live: bool = False,
                names: list | None = None) -> list[GroupItem]:
    """Snapshot every group (the arguments after ``cfg`` are unused: no live data)."""
    with cfg.lock:
        data = cfg.data
        cluster = data.cluster
        primary, _ = instance_map(data)
        members: dict[str, list[str]] = {}
        pinst: dict[str, list[str]] = {}
        for uuid, node in data.nodes.items():
            members.setdefault(node.group, []).append(node.name)
            pinst.setdefault(node.group, []).extend(primary.get(uuid, []))
        items = []
        for uuid, group in data.nodegroups.items():
            items.append(GroupItem(
                name=group.name, uuid=uuid, alloc_policy=group.alloc_policy,
                nodes=nice_sort(members.get(uuid, [])), pinst=nice_sort(pinst.get(uuid, [])),
                ndparams=ordered_ndparams(cluster.filled_ndparams(group.ndparams)),
                custom_ndparams=copy.deepcopy(group.ndparams or {}),
                ipolicy=ordered_ipolicy(cluster.filled_ipolicy(group.ipolicy)),
                custom_ipolicy=copy.deepcopy(group.ipolicy or {}),
                diskparams=cluster.filled_diskparams(group.diskparams),
                custom_diskparams=copy.deepcopy(group.diskparams or {}),
                ctime=group.ctime, mtime=group.mtime, serial_no=group.serial_no,
                tags=list(group.tags or [])))
    return items
