"""The instance allocator protocol (version 2): build the request, run the plugin.

The input is built from the configuration plus one ``node_info`` call to
the candidate nodes; the plugin (``hail`` from htools, or any script
speaking the protocol) runs on the master through the node daemon's
``iallocator_runner`` procedure, as upstream does.
"""

from __future__ import annotations

from typing import Any

from ganeti import constants, errors, serializer

C = constants
IALLOCATOR_VERSION = 2


def _node_entry(cfg, node, live: dict | None, instances: list) -> dict:
    entry: dict[str, Any] = {
        "tags": list(node.tags or []), "primary_ip": node.primary_ip,
        "secondary_ip": node.secondary_ip or node.primary_ip, "offline": bool(node.offline),
        "drained": bool(node.drained), "master_candidate": bool(node.master_candidate),
        "group": node.group, "master_capable": node.master_capable is not False,
        "vm_capable": node.vm_capable is not False,
        "ndparams": cfg.get_cluster_info().filled_ndparams(
            cfg.get_nodegroup(node.group).ndparams if cfg.get_nodegroup(node.group) else None,
            node.ndparams),
    }
    if live is None or node.offline or node.drained or node.vm_capable is False:
        return entry
    cluster = cfg.get_cluster_info()
    pri = [i for i in instances if i.primary_node == node.uuid]
    pri_mem = sum(cluster.filled_beparams(i.beparams)["maxmem"] for i in pri)
    pri_up = sum(cluster.filled_beparams(i.beparams)["maxmem"] for i in pri
                 if i.admin_state == C.ADMINST_UP)
    hv = live.get("hv", {})
    storage = live.get("storage", {})
    entry.update({
        "total_memory": hv.get("memory_total", 0), "reserved_memory": hv.get("memory_dom0", 0),
        "free_memory": hv.get("memory_free", 0),
        "total_disk": storage.get("storage_size", 0), "free_disk": storage.get("storage_free", 0),
        "total_spindles": 0, "free_spindles": 0,
        "total_cpus": hv.get("cpu_total", 1), "reserved_cpus": hv.get("cpu_dom0", 0),
        "i_pri_memory": pri_mem, "i_pri_up_memory": pri_up,
    })
    return entry


def _live_node_data(lu, node_uuids: list[str], hv: str, template: str) -> dict[str, dict]:
    cfg = lu.cfg
    cluster = cfg.get_cluster_info()
    units = []
    if template in (C.DT_FILE, C.DT_SHARED_FILE):
        key = cluster.file_storage_dir if template == C.DT_FILE else \
            cluster.shared_file_storage_dir
        units = [[template, key, []]]
    targets = [cfg.node_target(u) for u in node_uuids
               if not cfg.get_node_info(u).offline]
    results = lu.rpc.call("node_info", targets, [units, [[hv, cluster.filled_hvparams(hv)]]])
    out = {}
    for uuid in node_uuids:
        node = cfg.get_node_info(uuid)
        res = results.get(node.name)
        if res is None or res.fail_msg:
            continue
        try:
            storage = (res.payload[1] or [{}])[0] if units else {}
            out[node.name] = {"hv": res.payload[2][0], "storage": storage or {}}
        except (IndexError, TypeError):
            continue
    return out


def build_input(lu, request: dict, hv: str, template: str) -> dict:
    cfg = lu.cfg
    cluster = cfg.get_cluster_info()
    nodes = cfg.get_all_nodes_info()
    instances = list(cfg.get_all_instances_info().values())
    live = _live_node_data(lu, list(nodes), hv, template)
    inst_entries = {}
    for inst in instances:
        bep = cluster.filled_beparams(inst.beparams)
        disks = cfg.get_instance_disks(inst.uuid)
        inst_entries[inst.name] = {
            "tags": list(inst.tags or []), "admin_state": inst.admin_state,
            "vcpus": bep["vcpus"], "memory": bep["maxmem"], "spindle_use": bep["spindle_use"],
            "os": inst.os, "nodes": [cfg.get_node_info(inst.primary_node).name],
            "nics": [{"mac": n.mac, "ip": n.ip,
                      "mode": cluster.filled_nicparams(n.nicparams)["mode"],
                      "link": cluster.filled_nicparams(n.nicparams)["link"]}
                     for n in inst.nics],
            "disks": [{"dev_type": d.dev_type, "size": d.size, "mode": d.mode,
                       "spindles": d.spindles} for d in disks],
            "disk_template": disks[0].dev_type if disks else C.DT_DISKLESS,
            "disks_active": bool(inst.disks_active), "hypervisor": inst.hypervisor,
            "disk_space_total": sum(d.size for d in disks),
        }
    groups = {}
    for uuid, group in cfg.get_all_nodegroups_info().items():
        groups[uuid] = {"name": group.name, "alloc_policy": group.alloc_policy or "preferred",
                        "networks": list((group.networks or {}).keys()),
                        "ipolicy": cluster.filled_ipolicy(group.ipolicy),
                        "tags": list(group.tags or [])}
    return {
        "version": IALLOCATOR_VERSION, "cluster_name": cluster.cluster_name,
        "cluster_tags": list(cluster.tags or []),
        "enabled_hypervisors": list(cluster.enabled_hypervisors),
        "ipolicy": cluster.filled_ipolicy(), "request": request, "nodegroups": groups,
        "nodes": {n.name: _node_entry(cfg, n, live.get(n.name), instances)
                  for n in nodes.values()},
        "instances": inst_entries,
    }


def run_allocate(lu, name: str, request: dict, hv: str, template: str) -> list[str]:
    """Node names chosen by the plugin for an ``allocate`` request."""
    cfg = lu.cfg
    cluster = cfg.get_cluster_info()
    data = build_input(lu, request, hv, template)
    res = lu.rpc.call_one("iallocator_runner", cfg.node_target(cfg.get_master_node()),
                          [name, serializer.dumps(data), cluster.default_iallocator_params])
    if res.fail_msg:
        raise errors.OpPrereqError("Can't compute nodes using iallocator '%s': %s" %
                                   (name, res.fail_msg), errors.ECODE_NORES)
    try:
        answer = serializer.loads(res.payload)
        success, info = answer["success"], answer.get("info", "")
        result = answer["result"] if "result" in answer else answer["nodes"]
    except (ValueError, TypeError, KeyError) as err:
        raise errors.OpPrereqError("Invalid answer from iallocator '%s': %s" % (name, err),
                                   errors.ECODE_FAULT)
    if not success:
        raise errors.OpPrereqError("Can't compute nodes using iallocator '%s': %s" %
                                   (name, info), errors.ECODE_NORES)
    if not isinstance(result, list) or len(result) != request["required_nodes"] or \
            not all(isinstance(n, str) for n in result):
        raise errors.OpPrereqError("iallocator '%s' returned an invalid number of nodes (%s),"
                                   " required %s" % (name, result, request["required_nodes"]),
                                   errors.ECODE_FAULT)
    return result
