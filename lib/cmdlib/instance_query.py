"""OP_INSTANCE_QUERY_DATA: everything ``gnt-instance info`` shows.

Unlike the ``instance`` query resource (one flat row per instance), this
answers a nested dict per instance: configuration, both the instance's own
and the effective parameters (so the CLI can print "default (X)" for
inherited values), and, unless ``static``, the live run state and the
status of every disk on its nodes, as Ganeti 3.0 does. Unknown names are
an error (upstream: "Instance 'x' not known"), so a typo does not print
nothing silently.
"""

from __future__ import annotations

from typing import Any

from ganeti import constants, errors, locking
from ganeti.cmdlib.base import NoHooksLU
from ganeti.utils.text import nice_sort
from ganeti.cmdlib.query_instance import disk_template_of, filled_hvparams, \
    ordered_beparams

C = constants

#: order of the fields of a blockdev_find answer, as the CLI unpacks them
BDEV_STATUS_KEYS = ("dev_path", "major", "minor", "sync_percent", "estimated_time",
                    "is_degraded", "ldisk_status")


def status_tuple(status: Any) -> list | None:
    """A blockdev_find answer as the positional list upstream's CLI reads."""
    if not isinstance(status, dict):
        return None
    return [status.get(key) for key in BDEV_STATUS_KEYS]


def _rpc_disk(disk) -> dict:
    """A disk dict as node RPCs take it (children expanded too)."""
    data = disk.to_dict()
    data["children"] = [_rpc_disk(child) if hasattr(child, "to_dict") else child
                        for child in disk.children or []]
    return data


class LUInstanceQueryData(NoHooksLU):
    """Static and (unless ``static``) live data of instances, keyed by name."""

    REQ_BGL = False

    def expand_names(self) -> None:
        self.wanted: list[str] = []
        if self.op.instances:
            for name in self.op.instances:
                found = self.cfg.expand_instance_name(name)
                if found is None:
                    raise errors.OpPrereqError("Instance '%s' not known" % name,
                                               errors.ECODE_NOENT)
                if found[0] not in self.wanted:
                    self.wanted.append(found[0])
        else:
            by_name = {self.cfg.get_instance_info(u).name: u
                       for u in self.cfg.get_instance_list()}
            self.wanted = [by_name[n] for n in nice_sort(by_name)]
        if self.op.use_locking:
            self.needed_locks = {locking.LEVEL_INSTANCE: list(self.wanted)}
            self.share_all()
        else:
            self.needed_locks = {}

    def exec(self, feedback_fn) -> dict:
        cfg = self.cfg
        with cfg.lock:
            snap = [self._static(uuid) for uuid in self.wanted
                    if cfg.get_instance_info(uuid) is not None]
        if not self.op.static:
            self._live(snap)
        for entry in snap:
            self._strip(entry)
        return {entry["name"]: entry for entry in snap}

    # --- configuration ---------------------------------------------------------

    def _node_name(self, uuid: str | None) -> str | None:
        node = self.cfg.get_node_info(uuid) if uuid else None
        return node.name if node is not None else uuid

    def _group_of(self, node_uuid: str | None) -> tuple[str | None, str | None]:
        node = self.cfg.get_node_info(node_uuid) if node_uuid else None
        if node is None:
            return None, None
        group = self.cfg.get_nodegroup(node.group)
        return node.group, group.name if group is not None else None

    def _disk(self, disk, pnode: str) -> dict:
        """One disk's static dict; the live statuses are filled in later."""
        children = [self._disk(child, pnode) for child in disk.children or []
                    if hasattr(child, "dev_type")]
        return {
            "dev_type": disk.dev_type, "logical_id": disk.logical_id,
            "pstatus": None, "sstatus": None, "children": children,
            "iv_name": disk.iv_name, "size": disk.size, "mode": disk.mode,
            "name": disk.name, "uuid": disk.uuid, "spindles": disk.spindles,
            "_nodes": list(disk.nodes or []), "_obj": disk,
        }

    def _static(self, uuid: str) -> dict:
        cfg = self.cfg
        data = cfg.data
        cluster = data.cluster
        inst = cfg.get_instance_info(uuid)
        disks = cfg.get_instance_disks(uuid)
        snodes: list[str] = []
        for disk in disks:
            for node_uuid in disk.nodes or []:
                if node_uuid != inst.primary_node and node_uuid not in snodes:
                    snodes.append(node_uuid)
        pgroup_uuid, pgroup_name = self._group_of(inst.primary_node)
        sgroups = [self._group_of(u) for u in snodes]
        nics = []
        for nic in inst.nics or []:
            params = cluster.filled_nicparams(nic.nicparams)
            net = (data.networks or {}).get(nic.network) if nic.network else None
            nics.append([nic.name, nic.uuid, nic.ip, nic.mac, params.get("mode"),
                         params.get("link"), params.get("vlan"), nic.network,
                         net.to_dict() if net is not None else None])
        os_name = inst.os or ""
        be_actual = ordered_beparams(cluster.filled_beparams(inst.beparams))
        return {
            "name": inst.name, "config_state": inst.admin_state, "run_state": None,
            "pnode": self._node_name(inst.primary_node),
            "pnode_group_uuid": pgroup_uuid, "pnode_group_name": pgroup_name,
            "snodes": [self._node_name(u) for u in snodes],
            "snodes_group_uuids": [g[0] for g in sgroups],
            "snodes_group_names": [g[1] for g in sgroups],
            "os": inst.os, "network_port": inst.network_port,
            "disk_template": disk_template_of(disks), "nics": nics,
            "disks": [self._disk(d, inst.primary_node) for d in disks],
            "hypervisor": inst.hypervisor,
            "hv_instance": dict(inst.hvparams or {}),
            "hv_actual": filled_hvparams(cluster, inst),
            "be_instance": dict(inst.beparams or {}), "be_actual": be_actual,
            "os_instance": dict(inst.osparams or {}),
            "os_actual": cluster.filled_osparams(os_name, inst.osparams),
            "uuid": inst.uuid, "serial_no": inst.serial_no, "ctime": inst.ctime,
            "mtime": inst.mtime, "tags": list(inst.tags or []),
            "_pnode_uuid": inst.primary_node, "_snode_uuids": snodes,
            "_hvparams": cluster.filled_hvparams(inst.hypervisor, inst.os, inst.hvparams),
        }

    # --- live data ---------------------------------------------------------------

    def _target(self, node_uuid: str) -> tuple | None:
        node = self.cfg.get_node_info(node_uuid)
        if node is None or node.offline:
            return None
        return self.cfg.node_target(node_uuid)

    def _live(self, snap: list[dict]) -> None:
        """Run state from the primary, disk statuses from every node holding them."""
        for entry in snap:
            target = self._target(entry["_pnode_uuid"])
            if target is None:
                entry["run_state"] = "down"
            else:
                entry["run_state"] = self._run_state(entry, target)
            for disk in entry["disks"]:
                self._disk_status(disk, entry)

    def _run_state(self, entry: dict, target: tuple) -> str:
        try:
            res = self.rpc.call("instance_info", [target],
                                [entry["name"], entry["hypervisor"], entry["_hvparams"]])
        except errors.GenericError as err:
            self.log_warning("Cannot get state of instance %s: %s", entry["name"], err)
            return "down"
        answer = res.get(target[0])
        if answer is None or answer.fail_msg:
            self.log_warning("Error checking node %s: %s", target[0],
                             answer.fail_msg if answer else "no answer")
            return "down"
        info = answer.payload
        if isinstance(info, dict) and "state" in info:
            if info["state"] in ("shutdown", "user_down", 1):
                return "user down" if entry.get("config_state") == C.ADMINST_UP else "down"
            return "up"
        return "down"

    def _find(self, disk: dict, node_uuid: str) -> list | None:
        target = self._target(node_uuid)
        if target is None:
            return None
        try:
            res = self.rpc.call("blockdev_find", [target], [_rpc_disk(disk["_obj"])])
        except errors.GenericError:
            return None
        answer = res.get(target[0])
        if answer is None or answer.fail_msg:
            return None
        return status_tuple(answer.payload)

    def _disk_status(self, disk: dict, entry: dict) -> None:
        pnode = entry["_pnode_uuid"]
        disk["pstatus"] = self._find(disk, pnode)
        others = [n for n in disk["_nodes"] if n != pnode]
        if others:
            disk["sstatus"] = self._find(disk, others[0])
        for child in disk["children"]:
            self._disk_status(child, entry)

    @classmethod
    def _strip(cls, entry: dict) -> None:
        """Drop the private helper keys before the result leaves the LU."""
        for key in [k for k in entry if k.startswith("_")]:
            del entry[key]
        for disk in entry.get("disks", []):
            cls._strip(disk)
        for child in entry.get("children", []):
            cls._strip(child)
