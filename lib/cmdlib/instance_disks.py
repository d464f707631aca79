"""Instance disks: activate, deactivate, grow, recreate."""

from __future__ import annotations

from ganeti import constants, errors, objects
from ganeti.cmdlib.instance_common import InstanceLU, disk_template, format_size

C = constants

#: templates whose disks can grow (blockdev devices are not ours to grow)
_GROWABLE = frozenset([C.DT_FILE, C.DT_SHARED_FILE, C.DT_EXT, C.DT_PLAIN, C.DT_DRBD8,
                       C.DT_RBD, C.DT_GLUSTER])


class LUInstanceActivateDisks(InstanceLU):
    def check_prereq(self) -> None:
        self.check_node_online(self.instance.primary_node)

    def exec(self, feedback_fn):
        return [list(t) for t in self.assemble_disks(self.instance, self.op.ignore_size)]


class LUInstanceDeactivateDisks(InstanceLU):
    def check_prereq(self) -> None:
        inst = self.instance
        if not self.op.force:
            self.check_node_online(inst.primary_node)
            if self.live_info(inst):
                raise errors.OpPrereqError("Cannot deactivate disks of instance %s: the"
                                           " instance is running" % inst.name,
                                           errors.ECODE_STATE)

    def exec(self, feedback_fn):
        self.shutdown_disks(self.instance)


class LUInstanceGrowDisk(InstanceLU):
    HPATH = "disk-grow"

    def extra_hooks_env(self) -> dict:
        return {"DISK": self.op.disk, "AMOUNT": self.op.amount,
                "ABSOLUTE": self.op.absolute}

    def check_prereq(self) -> None:
        inst = self.instance
        self.check_node_online(inst.primary_node)
        template = disk_template(self.cfg, inst)
        if template not in _GROWABLE:
            raise errors.OpPrereqError("Instance's disk layout '%s' does not support growing"
                                       % template, errors.ECODE_INVAL)
        disks = self.cfg.get_instance_disks(inst.uuid)
        if self.op.disk >= len(disks):
            raise errors.OpPrereqError("Invalid disk index %d, instance has %d disks" %
                                       (self.op.disk, len(disks)), errors.ECODE_INVAL)
        self.disk = disks[self.op.disk]
        if self.op.absolute:
            self.target = self.op.amount
            self.delta = self.target - self.disk.size
            if self.delta < 0:
                raise errors.OpPrereqError("Requested size (%s) is smaller than current disk"
                                           " size (%s)" % (self.target, self.disk.size),
                                           errors.ECODE_STATE)
        else:
            self.delta = self.op.amount
            self.target = self.disk.size + self.delta
        if self.target > 1024 * 1024 * 1024:
            raise errors.OpPrereqError("Requested size %s MiB is too big" % self.target,
                                       errors.ECODE_INVAL)

    def exec(self, feedback_fn):
        inst = self.instance
        if self.delta == 0:
            self.log_info("Disk %d of instance %s already has size %s" %
                          (self.op.disk, inst.name, format_size(self.target)))
            return None
        self.log_info("Growing disk %d of instance '%s' by %s to %s" %
                      (self.op.disk, inst.name, format_size(self.delta),
                       format_size(self.target)))
        target = self.cfg.node_target(inst.primary_node)
        for dryrun in (True, False):
            self.rpc.call_one("blockdev_grow", target,
                              [self.disk.to_dict(), self.delta, dryrun, True,
                               False]).raise_for_error(
                "Grow request failed to node %s" % target[0])
        with self.cfg.lock:
            self.disk.size = self.target
            objects.touch(self.disk)
            self.cfg.write()
        if self.op.wait_for_sync:
            self.info("Waiting for instance %s to sync disks", inst.name)
            self.info("Instance %s's disks are in sync", inst.name)
        return None


class LUInstanceRecreateDisks(InstanceLU):
    HPATH = "instance-recreate-disks"

    def check_prereq(self) -> None:
        inst = self.instance
        disks = self.cfg.get_instance_disks(inst.uuid)
        self.new_nodes = None
        if self.op.nodes:
            if len(self.op.nodes) != 1:
                raise errors.OpPrereqError("Instance has 1 node(s), but %d were given" %
                                           len(self.op.nodes), errors.ECODE_INVAL)
            self.new_nodes = [self.expand_node(n)[0] for n in self.op.nodes]
        node_uuid = self.new_nodes[0] if self.new_nodes else inst.primary_node
        self.check_node_online(node_uuid)
        self.check_instance_down(inst, "cannot recreate disks")
        self.todo: list[tuple[objects.Disk, dict]] = []
        wanted = {}
        for item in self.op.disks or []:
            if isinstance(item, int):
                idx, params = item, {}
            elif isinstance(item, (list, tuple)) and len(item) == 2 and \
                    isinstance(item[0], int) and isinstance(item[1], dict):
                idx, params = item[0], item[1]
            else:
                raise errors.OpPrereqError("Invalid disk specification %r" % (item,),
                                           errors.ECODE_INVAL)
            bad = sorted(set(params) - {"size", "mode", "spindles"})
            if bad:
                raise errors.OpPrereqError("Invalid disk parameters: %s" % ", ".join(bad),
                                           errors.ECODE_INVAL)
            if idx < 0 or idx >= len(disks):
                raise errors.OpPrereqError("Invalid disk index '%s'" % idx, errors.ECODE_INVAL)
            wanted[idx] = params
        for idx, disk in enumerate(disks):
            if not wanted or idx in wanted:
                self.todo.append((disk, wanted.get(idx, {})))
        if disk_template(self.cfg, inst) == C.DT_BLOCK:
            raise errors.OpPrereqError("Cannot recreate disks of a blockdev instance",
                                       errors.ECODE_INVAL)

    def extra_nodes(self) -> list[str]:
        return [self.expand_node(n)[0] for n in self.op.nodes or []]

    def exec(self, feedback_fn):
        inst = self.instance
        node_uuid = self.new_nodes[0] if self.new_nodes else inst.primary_node
        with self.cfg.lock:
            for disk, params in self.todo:
                if "size" in params:
                    disk.size = int(params["size"])
                if "mode" in params:
                    disk.mode = params["mode"]
        if node_uuid == inst.primary_node:
            self.remove_disks(node_uuid, [d for d, _ in self.todo], dirs=set())
        self.create_disks(inst.name, node_uuid, [d for d, _ in self.todo])
        with self.cfg.lock:
            if self.new_nodes:
                inst.primary_node = node_uuid
                for disk in self.cfg.get_instance_disks(inst.uuid):
                    disk.nodes = [node_uuid]
            for disk, _ in self.todo:
                objects.touch(disk)
            objects.touch(inst)
            self.cfg.write()
