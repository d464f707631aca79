"""Node group logical units: add, modify, rename, remove, assign nodes."""

from __future__ import annotations

from ganeti import errors, locking, objects
from ganeti.cmdlib import common
from ganeti.cmdlib.base import LogicalUnit

_ALLOC_POLICIES = ("preferred", "last_resort", "unallocable")


def _check_group_params(op) -> None:
    from ganeti import constants
    if op.ndparams:
        common.check_param_keys("node parameters", op.ndparams, constants.NDC_DEFAULTS)
    if op.diskparams:
        for tmpl, params in op.diskparams.items():
            if tmpl not in constants.DISK_TEMPLATES:
                raise errors.OpPrereqError("Unknown disk template '%s'" % tmpl,
                                           errors.ECODE_INVAL)
            common.check_param_keys("disk parameters of %s" % tmpl, params,
                                    constants.DISK_DT_DEFAULTS.get(tmpl, {}))
    if op.ipolicy:
        common.check_ipolicy(op.ipolicy)


class _GroupLU(LogicalUnit):
    HTYPE = "GROUP"

    def hooks_target(self):
        return self.op.group_name

    def build_hooks_env(self):
        return {"GROUP_NAME": self.op.group_name}

    def build_hooks_nodes(self):
        master = [self.master_uuid()]
        return master, master

    def _group_nodes(self, group_uuid: str) -> list[str]:
        return [u for u, n in self.cfg.get_all_nodes_info().items() if n.group == group_uuid]


class LUGroupAdd(_GroupLU):
    HPATH = "group-add"

    def expand_names(self) -> None:
        self.needed_locks = {}

    def check_prereq(self) -> None:
        if any(g.name == self.op.group_name for g in self.cfg.get_all_nodegroups_info().values()):
            raise errors.OpPrereqError("Desired group name '%s' already exists as a node group"
                                       % self.op.group_name, errors.ECODE_EXISTS)
        _check_group_params(self.op)

    def exec(self, feedback_fn):
        cfg = self.cfg
        group = objects.NodeGroup(name=self.op.group_name, members=[],
                                  ndparams=dict(self.op.ndparams or {}),
                                  alloc_policy=self.op.alloc_policy or "preferred",
                                  ipolicy=dict(self.op.ipolicy or {}),
                                  diskparams=dict(self.op.diskparams or {}), networks={},
                                  hv_state_static=self.op.hv_state or {},
                                  disk_state_static=self.op.disk_state or {})
        objects.stamp_new(group)
        with cfg.lock:
            cfg.data.nodegroups[group.uuid] = group
            cfg.write()
        self.glm.add(locking.LEVEL_NODEGROUP, [group.uuid], owner=self.owner)
        return None


class LUGroupSetParams(_GroupLU):
    HPATH = "group-modify"

    def expand_names(self) -> None:
        self.group_uuid = self.cfg.lookup_node_group(self.op.group_name)
        self.needed_locks = {locking.LEVEL_NODEGROUP: [self.group_uuid]}

    def build_hooks_env(self):
        return {"GROUP_NAME": self.op.group_name,
                "NEW_ALLOC_POLICY": self.op.alloc_policy or ""}

    def check_prereq(self) -> None:
        op = self.op
        if all(getattr(op, k) is None for k in ("alloc_policy", "ndparams", "diskparams",
                                                 "ipolicy", "hv_state", "disk_state")):
            raise errors.OpPrereqError("Please pass at least one modification",
                                       errors.ECODE_INVAL)
        _check_group_params(op)

    def exec(self, feedback_fn):
        op = self.op
        cfg = self.cfg
        result = []
        with cfg.lock:
            group = cfg.get_nodegroup(self.group_uuid)
            if op.alloc_policy is not None:
                group.alloc_policy = op.alloc_policy
                result.append(["alloc_policy", op.alloc_policy])
            if op.ndparams is not None:
                group.ndparams = common.update_params(group.ndparams, op.ndparams)
                result.append(["ndparams", str(group.ndparams)])
            if op.diskparams is not None:
                for tmpl, params in op.diskparams.items():
                    group.diskparams[tmpl] = common.update_params(
                        group.diskparams.get(tmpl, {}), params)
                result.append(["diskparams", str(group.diskparams)])
            if op.ipolicy is not None:
                group.ipolicy = common.update_ipolicy(group.ipolicy, op.ipolicy)
                result.append(["ipolicy", str(group.ipolicy)])
            if op.hv_state is not None:
                group.hv_state_static = common.update_params(group.hv_state_static or {},
                                                             op.hv_state)
            if op.disk_state is not None:
                group.disk_state_static = common.update_params(group.disk_state_static or {},
                                                               op.disk_state)
            objects.touch(group)
            cfg.write()
        return result


class LUGroupRemove(_GroupLU):
    HPATH = "group-remove"

    def expand_names(self) -> None:
        self.group_uuid = self.cfg.lookup_node_group(self.op.group_name)
        self.needed_locks = {locking.LEVEL_NODEGROUP: [self.group_uuid]}

    def check_prereq(self) -> None:
        nodes = self._group_nodes(self.group_uuid)
        if nodes:
            raise errors.OpPrereqError("Group '%s' not empty, has the following nodes: %s" % (
                self.op.group_name, ", ".join(self.cfg.get_node_info(u).name for u in nodes)),
                errors.ECODE_STATE)
        if len(self.cfg.get_all_nodegroups_info()) == 1:
            raise errors.OpPrereqError("Group '%s' is the only group, cannot be removed" %
                                       self.op.group_name, errors.ECODE_STATE)

    def exec(self, feedback_fn):
        with self.cfg.lock:
            del self.cfg.data.nodegroups[self.group_uuid]
            self.cfg.write()
        self.glm.remove(locking.LEVEL_NODEGROUP, [self.group_uuid])
        return None


class LUGroupRename(_GroupLU):
    HPATH = "group-rename"

    def expand_names(self) -> None:
        self.group_uuid = self.cfg.lookup_node_group(self.op.group_name)
        self.needed_locks = {locking.LEVEL_NODEGROUP: [self.group_uuid]}

    def build_hooks_env(self):
        return {"OLD_NAME": self.op.group_name, "NEW_NAME": self.op.new_name}

    def build_hooks_nodes(self):
        nodes = [self.master_uuid()] + self._group_nodes(self.group_uuid)
        return nodes, nodes

    def check_prereq(self) -> None:
        if any(g.name == self.op.new_name for g in self.cfg.get_all_nodegroups_info().values()):
            raise errors.OpPrereqError("Desired new name '%s' clashes with existing node group"
                                       % self.op.new_name, errors.ECODE_EXISTS)

    def exec(self, feedback_fn):
        with self.cfg.lock:
            group = self.cfg.get_nodegroup(self.group_uuid)
            group.name = self.op.new_name
            objects.touch(group)
            self.cfg.write()
        return self.op.new_name


class LUGroupAssignNodes(_GroupLU):
    HPATH = None

    def expand_names(self) -> None:
        self.group_uuid = self.cfg.lookup_node_group(self.op.group_name)
        self.node_uuids = [self.expand_node(n)[0] for n in self.op.nodes]
        self.op.node_uuids = self.node_uuids
        self.needed_locks = {locking.LEVEL_NODEGROUP: locking.ALL_SET,
                             locking.LEVEL_NODE: list(self.node_uuids)}

    def exec(self, feedback_fn):
        cfg = self.cfg
        with cfg.lock:
            for uuid in self.node_uuids:
                node = cfg.get_node_info(uuid)
                if node.group != self.group_uuid:
                    node.group = self.group_uuid
                    objects.touch(node)
            cfg.write()
        return None
