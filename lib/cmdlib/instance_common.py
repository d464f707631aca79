"""What the instance logical units share: lookups, the RPC view of an instance, disks.

The master never sends an ``objects.Instance`` as stored: nodes get the
*filled* parameters and the full disk objects (``doc/design/instances.md``),
so that node code never needs the cluster configuration.
"""

from __future__ import annotations

import copy
from typing import Any

from ganeti import constants, errors, locking, objects
from ganeti.cmdlib.base import LogicalUnit

C = constants

#: hypervisors whose instances get a network port (VNC/SPICE display)
HTS_REQ_PORT = frozenset([C.HT_KVM, C.HT_XEN_HVM])
FIRST_PORT = 11000
LAST_PORT = 14999


def instance_rpc_dict(cfg, inst: objects.Instance, hvp: dict | None = None,
                      bep: dict | None = None, osp: dict | None = None) -> dict:
    """The instance as nodes see it: filled parameters, full disks."""
    cluster = cfg.get_cluster_info()
    out = inst.to_dict()
    out["hvparams"] = cluster.filled_hvparams(inst.hypervisor, inst.os,
                                              dict(inst.hvparams, **(hvp or {})))
    out["beparams"] = cluster.filled_beparams(dict(inst.beparams, **(bep or {})))
    osparams = cluster.filled_osparams(inst.os or "", inst.osparams)
    osparams.update(osp or {})
    out["osparams"] = osparams
    out["osparams_private"] = dict(inst.osparams_private or {})
    nics = []
    for nic in inst.nics:
        nd = nic.to_dict()
        nd["nicparams"] = cluster.filled_nicparams(nic.nicparams)
        nics.append(nd)
    out["nics"] = nics
    out["disks"] = [d.to_dict() for d in cfg.get_instance_disks(inst.uuid)]
    node = cfg.get_node_info(inst.primary_node)
    out["primary_node_name"] = node.name if node else None
    return out


class ConfigView:
    """The few ConfigWriter lookups instance_rpc_dict needs, over a ConfigData.

    Queries evaluate their fields on the configuration data itself (under
    the configuration lock), not through a ConfigWriter.
    """

    def __init__(self, data: objects.ConfigData):
        self.data = data

    def get_cluster_info(self) -> objects.Cluster:
        return self.data.cluster

    def get_node_info(self, uuid: str) -> objects.Node | None:
        return self.data.nodes.get(uuid)

    def get_nodegroup(self, uuid: str) -> objects.NodeGroup | None:
        return self.data.nodegroups.get(uuid)

    def get_instance_disks(self, inst_uuid: str) -> list[objects.Disk]:
        inst = self.data.instances[inst_uuid]
        return [self.data.disks[d] for d in inst.disks if d in self.data.disks]


def instance_console(cfg, inst: objects.Instance) -> dict:
    """The console dict of a (running) instance, as its hypervisor describes it."""
    cluster = cfg.get_cluster_info()
    node = cfg.get_node_info(inst.primary_node)
    group = cfg.get_nodegroup(node.group)
    node_dict = node.to_dict()
    node_dict["ssh_port"] = cluster.filled_ndparams(group.ndparams if group else None,
                                                    node.ndparams)["ssh_port"]
    from ganeti import hypervisor
    hv_class = type(hypervisor.get_hypervisor(inst.hypervisor))
    return hv_class.get_instance_console(
        instance_rpc_dict(cfg, inst), node_dict, group.to_dict() if group else {},
        cluster.filled_hvparams(inst.hypervisor, inst.os, inst.hvparams),
        cluster.filled_beparams(inst.beparams))


def disk_template(cfg, inst: objects.Instance) -> str:
    disks = cfg.get_instance_disks(inst.uuid)
    return disks[0].dev_type if disks else C.DT_DISKLESS


def format_size(mib: float) -> str:
    """1024 -> '1.0G' (the CLI's human units, used in LU messages)."""
    for unit, div in (("T", 1024 * 1024), ("G", 1024)):
        if mib >= div:
            return "%.1f%s" % (mib / div, unit)
    return "%dM" % mib


def allocate_port(cfg) -> int:
    """A free network port for a new instance (pool first, then above the highest)."""
    cluster = cfg.get_cluster_info()
    used = {i.network_port for i in list(cfg.data.instances.values()) if i.network_port}
    pool = [p for p in cluster.tcpudp_port_pool if p not in used]
    if pool:
        port = pool[0]
        cluster.tcpudp_port_pool.remove(port)
        return port
    port = max(cluster.highest_used_port or 0, FIRST_PORT - 1) + 1
    while port in used:
        port += 1
    if port > LAST_PORT:
        raise errors.ConfigurationError("The available port range is exhausted (last used"
                                        " port %s)" % LAST_PORT)
    cluster.highest_used_port = port
    return port


class InstanceLU(LogicalUnit):
    """An LU working on one existing instance named by ``op.instance_name``."""

    HTYPE = "INSTANCE"
    #: the instance's nodes are locked at LEVEL_NODE (and NODE_RES when exclusive)
    NODE_LOCKS_SHARED = False

    def expand_names(self) -> None:
        self.inst_uuid, self.inst_name = self.expand_instance(self.op.instance_name)
        self.op.instance_name = self.inst_name
        self.needed_locks = {locking.LEVEL_INSTANCE: [self.inst_uuid],
                             locking.LEVEL_NODE: [], locking.LEVEL_NODE_RES: []}
        if self.NODE_LOCKS_SHARED:
            self.share_locks = {locking.LEVEL_NODE: 1, locking.LEVEL_NODE_RES: 1}

    def declare_locks(self, level: int) -> None:
        if level in (locking.LEVEL_NODE, locking.LEVEL_NODE_RES):
            inst = self.cfg.get_instance_info(self.inst_uuid)
            if inst is not None:
                self.needed_locks[level] = self.instance_nodes(inst) + self.extra_nodes()

    def extra_nodes(self) -> list[str]:
        return []

    def expand_instance(self, name: str) -> tuple[str, str]:
        found = self.cfg.expand_instance_name(name)
        if found is None:
            raise errors.OpPrereqError("Instance '%s' not known" % name, errors.ECODE_NOENT)
        return found

    @property
    def instance(self) -> objects.Instance:
        inst = self.cfg.get_instance_info(self.inst_uuid)
        if inst is None:
            raise errors.OpPrereqError("Instance '%s' not known" % self.inst_name,
                                       errors.ECODE_NOENT)
        return inst

    def instance_nodes(self, inst: objects.Instance) -> list[str]:
        nodes = [inst.primary_node]
        for disk in self.cfg.get_instance_disks(inst.uuid):
            nodes.extend(n for n in disk.nodes or [] if n not in nodes)
        return nodes

    # hooks -------------------------------------------------------------
    def hooks_target(self) -> str | None:
        return self.inst_name

    def build_hooks_env(self) -> dict:
        from ganeti.cmdlib import instance_utils
        env = instance_utils.build_instance_hook_env(self.cfg, self.instance)
        env.update(self.extra_hooks_env())
        return env

    def extra_hooks_env(self) -> dict:
        return {}

    def build_hooks_nodes(self) -> tuple[list[str], list[str]]:
        nodes = [self.master_uuid()] + [n for n in self.instance_nodes(self.instance)
                                        if n != self.master_uuid()]
        return nodes, nodes

    # messages ----------------------------------------------------------
    def info(self, msg: str, *args: Any) -> None:
        self.ctx.feedback(C.ELOG_MESSAGE, " - INFO: " + (msg % args if args else msg))

    def warn(self, msg: str, *args: Any) -> None:
        self.ctx.feedback(C.ELOG_MESSAGE, " - WARNING: " + (msg % args if args else msg))

    # state checks ------------------------------------------------------
    def check_node_online(self, node_uuid: str, msg: str | None = None) -> None:
        node = self.cfg.get_node_info(node_uuid)
        if node is None:
            raise errors.OpPrereqError("Node %s not known" % node_uuid, errors.ECODE_NOENT)
        if node.offline:
            raise errors.OpPrereqError("%s: %s" % (msg or "Can't use offline node", node.name),
                                       errors.ECODE_STATE)

    def live_info(self, inst: objects.Instance) -> dict | None:
        """Live facts from the primary node; None when it does not run the instance."""
        cluster = self.cfg.get_cluster_info()
        res = self.rpc.call_one("instance_info", self.cfg.node_target(inst.primary_node),
                                [inst.name, inst.hypervisor,
                                 cluster.filled_hvparams(inst.hypervisor, inst.os,
                                                         inst.hvparams)])
        res.raise_for_error("Error checking node %s" % self.cfg.get_node_info(
            inst.primary_node).name, prereq=True)
        return res.payload or None

    def check_instance_down(self, inst: objects.Instance, what: str) -> None:
        if inst.admin_state == C.ADMINST_UP:
            raise errors.OpPrereqError("Instance %s is marked to be up, %s" % (inst.name, what),
                                       errors.ECODE_STATE)
        node = self.cfg.get_node_info(inst.primary_node)
        if node.offline:
            return
        if self.live_info(inst):
            raise errors.OpPrereqError("Instance %s is running on the node %s, %s" %
                                       (inst.name, node.name, what), errors.ECODE_STATE)

    # disks -------------------------------------------------------------
    def assemble_disks(self, inst: objects.Instance, ignore_size: bool = False) -> list:
        """Activate the disks on the primary; [(node name, iv_name, device path)]."""
        disks = self.cfg.get_instance_disks(inst.uuid)
        out = []
        pnode = self.cfg.get_node_info(inst.primary_node)
        inst_dict = {"name": inst.name, "uuid": inst.uuid}
        for idx, disk in enumerate(disks):
            res = self.rpc.call_one("blockdev_assemble", self.cfg.node_target(pnode.uuid),
                                    [disk.to_dict(), inst_dict, True, idx])
            if res.fail_msg:
                raise errors.OpExecError("Cannot activate block device %s of instance %s on"
                                         " node %s: %s" % (disk.iv_name, inst.name, pnode.name,
                                                           res.fail_msg))
            out.append((pnode.name, disk.iv_name, res.payload[0]))
        if disks and not inst.disks_active:
            with self.cfg.lock:
                inst.disks_active = True
                self.cfg.write()
        return out

    def shutdown_disks(self, inst: objects.Instance, ignore_primary: bool = True) -> None:
        disks = self.cfg.get_instance_disks(inst.uuid)
        for disk in disks:
            for node_uuid in disk.nodes or [inst.primary_node]:
                node = self.cfg.get_node_info(node_uuid)
                if node is None or node.offline:
                    continue
                res = self.rpc.call_one("blockdev_shutdown", self.cfg.node_target(node_uuid),
                                        [disk.to_dict()])
                if res.fail_msg:
                    self.warn("Could not shutdown block device %s on node %s: %s",
                              disk.iv_name, node.name, res.fail_msg)
                    if not ignore_primary:
                        raise errors.OpExecError("Could not shutdown block device %s"
                                                 % disk.iv_name)
        if disks and inst.disks_active:
            with self.cfg.lock:
                inst.disks_active = False
                self.cfg.write()

    def create_disks(self, inst_name: str, node_uuid: str, disks: list[objects.Disk]) -> None:
        """Create disks on a node; on failure remove the ones made and raise."""
        target = self.cfg.node_target(node_uuid)
        made: list[objects.Disk] = []
        dirs = {disk_dir(d) for d in disks if d.dev_type in (C.DT_FILE, C.DT_SHARED_FILE)}
        for path in sorted(dirs):
            self.rpc.call_one("file_storage_dir_create", target, [path]).raise_for_error(
                "Failed to create file storage directory %s" % path)
        for disk in disks:
            res = self.rpc.call_one("blockdev_create", target,
                                    [disk.to_dict(), disk.size, inst_name, True,
                                     "originstname+%s" % inst_name, False])
            if res.fail_msg:
                self.remove_disks(node_uuid, made, dirs)
                raise errors.OpExecError("Can't create block device %s on node %s for instance"
                                         " %s: %s" % (disk.iv_name, target[0], inst_name,
                                                      res.fail_msg))
            made.append(disk)

    def remove_disks(self, node_uuid: str, disks: list[objects.Disk],
                     dirs: set[str] | None = None) -> bool:
        target = self.cfg.node_target(node_uuid)
        ok = True
        for disk in disks:
            res = self.rpc.call_one("blockdev_remove", target, [disk.to_dict()])
            if res.fail_msg:
                self.warn("Could not remove disk %s on node %s: %s", disk.iv_name, target[0],
                          res.fail_msg)
                ok = False
        if dirs is None:
            dirs = {disk_dir(d) for d in disks if d.dev_type in (C.DT_FILE, C.DT_SHARED_FILE)}
        for path in sorted(dirs):
            res = self.rpc.call_one("file_storage_dir_remove", target, [path])
            if res.fail_msg:
                self.warn("Could not remove directory '%s': %s", path, res.fail_msg)
        return ok

    # starting ----------------------------------------------------------
    def check_free_memory(self, inst: objects.Instance, node_uuid: str, bep: dict) -> None:
        cluster = self.cfg.get_cluster_info()
        hvp = cluster.filled_hvparams(inst.hypervisor, inst.os, inst.hvparams)
        res = self.rpc.call_one("node_info", self.cfg.node_target(node_uuid),
                                [[], [[inst.hypervisor, hvp]]])
        node = self.cfg.get_node_info(node_uuid)
        res.raise_for_error("Can't get data from node %s" % node.name, prereq=True,
                            ecode=errors.ECODE_ENVIRON)
        try:
            free = res.payload[2][0]["memory_free"]
        except (IndexError, KeyError, TypeError):
            raise errors.OpPrereqError("Can't compute free memory on node %s, result was"
                                       " '%s'" % (node.name, res.payload), errors.ECODE_ENVIRON)
        needed = cluster.filled_beparams(bep)["maxmem"]
        if free is not None and needed > free:
            raise errors.OpPrereqError("Not enough memory on node %s for starting instance %s:"
                                       " needed %s MiB, available %s MiB" %
                                       (node.name, inst.name, needed, free),
                                       errors.ECODE_NORES)

    def start_on_primary(self, inst: objects.Instance, hvp: dict | None = None,
                         bep: dict | None = None, paused: bool = False) -> None:
        self.assemble_disks(inst)
        res = self.rpc.call_one("instance_start", self.cfg.node_target(inst.primary_node),
                                [instance_rpc_dict(self.cfg, inst, hvp, bep), paused,
                                 self.reason()])
        if res.fail_msg:
            self.shutdown_disks(inst)
            raise errors.OpExecError("Could not start instance: %s" % res.fail_msg)

    def stop_on_primary(self, inst: objects.Instance, timeout: int,
                        fail: bool = False) -> bool:
        node = self.cfg.get_node_info(inst.primary_node)
        if node.offline:
            self.warn("Primary node %s is offline, not shutting down the instance", node.name)
            return False
        res = self.rpc.call_one("instance_shutdown", self.cfg.node_target(node.uuid),
                                [instance_rpc_dict(self.cfg, inst), timeout, self.reason()])
        if res.fail_msg:
            if fail:
                raise errors.OpExecError("Could not shutdown instance %s on node %s: %s" %
                                         (inst.name, node.name, res.fail_msg))
            self.warn("Could not shutdown instance: %s", res.fail_msg)
            return False
        return True

    def reason(self) -> list:
        return list(getattr(self.op, "reason", None) or [])

    def set_admin_state(self, inst: objects.Instance, state: str,
                        source: str = C.ADMIN_SOURCE) -> None:
        with self.cfg.lock:
            if inst.admin_state != state or inst.admin_state_source != source:
                inst.admin_state = state
                inst.admin_state_source = source
                objects.touch(inst)
                self.cfg.write()


def disk_dir(disk: objects.Disk) -> str:
    import os
    return os.path.dirname(disk.logical_id[1])


def copy_params(params: dict | None) -> dict:
    return copy.deepcopy(params or {})
