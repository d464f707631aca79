"""Node logical units: add (SSH join), remove, modify, powercycle, storage."""

from __future__ import annotations

import json
import os
import time

from ganeti import constants, errors, locking, netutils, objects, pathutils
from ganeti.cmdlib import common
from ganeti.cmdlib.base import LogicalUnit, NoHooksLU

JOIN_RPC_WAIT = 30.0


def _node_instances(cfg, node_uuid: str) -> tuple[list[str], list[str]]:
    """(primary, secondary) instance names of a node."""
    data = cfg.data
    primary, secondary = [], []
    for inst in list(data.instances.values()):
        if inst.primary_node == node_uuid:
            primary.append(inst.name)
            continue
        for disk_uuid in inst.disks:
            disk = data.disks.get(disk_uuid)
            if disk is not None and node_uuid in (disk.nodes or []):
                secondary.append(inst.name)
                break
    return primary, secondary


def _join_payload(cfg, readd: bool, node_name: str, candidate: bool) -> bytes:
    """What tools/node-daemon-setup needs on the new node (stdin, JSON).

    A future master candidate also gets the cluster's SSH key pair, so that
    after a master failover it can join further nodes itself.
    """
    from ganeti import ssh
    with open(pathutils.NODED_CERT_FILE, encoding="ascii") as fh:
        cert = fh.read()
    files = {}
    paths = [pathutils.RAPI_CERT_FILE, pathutils.CONFD_HMAC_KEY,
             pathutils.CLUSTER_DOMAIN_SECRET_FILE, pathutils.SSH_KNOWN_HOSTS_FILE,
             pathutils.RAPI_USERS_FILE, pathutils.FILE_STORAGE_PATHS_FILE]
    if candidate:
        paths += [ssh.CLUSTER_KEY_FILE, ssh.CLUSTER_PUB_KEY_FILE]
    for path in paths:
        if os.path.exists(path):
            with open(path, encoding="utf-8", errors="surrogateescape") as fh:
                files[pathutils.strip_root(path)] = [os.stat(path).st_mode & 0o777, fh.read()]
    return json.dumps({"cluster_cert": cert, "ssconf": cfg.get_ssconf_values(),
                       "files": files, "start_daemons": True, "readd": readd,
                       "node_name": node_name}).encode()


class LUNodeAdd(LogicalUnit):
    HPATH = "node-add"
    HTYPE = "NODE"
    REQ_BGL = True

    def check_arguments(self) -> None:
        try:
            host = netutils.resolve_hostname(self.op.node_name)
        except errors.ResolverError as err:
            raise errors.OpPrereqError("Cannot resolve node name %s: %s" % (
                self.op.node_name, err.args[-1]), errors.ECODE_RESOLVER)
        self.node_name = host.name
        self.op.node_name = host.name
        self.primary_ip = self.op.primary_ip or host.ip
        self.secondary_ip = self.op.secondary_ip or self.primary_ip
        for ip in (self.primary_ip, self.secondary_ip):
            if not netutils.is_valid_ip(ip):
                raise errors.OpPrereqError("Invalid IP address '%s'" % ip, errors.ECODE_INVAL)
            if netutils.is_loopback(ip) and not pathutils.VIRT_CLUSTER:
                raise errors.OpPrereqError("Node %s resolves to the loopback address %s;"
                                           " loopback node addresses are only accepted in"
                                           " virtual-cluster mode" % (self.node_name, ip),
                                           errors.ECODE_ENVIRON)

    def hooks_target(self):
        return self.node_name

    def build_hooks_env(self):
        return {"NODE_NAME": self.node_name, "NODE_PIP": self.primary_ip,
                "NODE_SIP": self.secondary_ip,
                "MASTER_CAPABLE": self.op.master_capable is not False,
                "VM_CAPABLE": self.op.vm_capable is not False}

    def build_hooks_nodes(self):
        existing = [u for u in self.cfg.get_node_list() if u != getattr(self, "new_uuid", None)]
        post = list(existing)
        if getattr(self, "new_uuid", None):
            post.append(self.new_uuid)
        return existing, post

    def check_prereq(self) -> None:
        cfg = self.cfg
        existing = cfg.get_node_info_by_name(self.node_name)
        if self.op.readd and existing is None:
            raise errors.OpPrereqError("Node %s is not in the configuration" % self.node_name,
                                       errors.ECODE_NOENT)
        if not self.op.readd and existing is not None:
            raise errors.OpPrereqError("Node %s is already in the configuration" %
                                       self.node_name, errors.ECODE_EXISTS)
        for node in cfg.get_all_nodes_info().values():
            if existing is not None and node.uuid == existing.uuid:
                continue
            if self.primary_ip in (node.primary_ip, node.secondary_ip) or \
                    self.secondary_ip in (node.primary_ip, node.secondary_ip):
                raise errors.OpPrereqError("New node ip address(es) conflict with existing"
                                           " node %s" % node.name, errors.ECODE_NOTUNIQUE)
        self.group_uuid = cfg.lookup_node_group(self.op.group)
        if self.op.ndparams:
            common.check_param_keys("node parameters", self.op.ndparams,
                                    constants.NDC_DEFAULTS)
        self.existing = existing

    def _will_be_candidate(self) -> bool:
        if self.op.master_capable is False:
            return False
        cfg = self.cfg
        others = [n for n in cfg.get_all_nodes_info().values()
                  if n.master_candidate and (self.existing is None or n.uuid != self.existing.uuid)]
        return len(others) < cfg.get_cluster_info().candidate_pool_size

    def _join(self, feedback_fn) -> None:
        from ganeti import ssh
        cfg = self.cfg
        group = cfg.get_nodegroup(self.group_uuid)
        port = cfg.get_cluster_info().filled_ndparams(
            group.ndparams if group else None, self.op.ndparams)["ssh_port"]
        runner = ssh.SshRunner(port=int(port))
        ip = self.primary_ip
        if not self.op.ssh_key_check:
            keytype, key = runner.host_key(ip)
            runner.add_known_host("%s,%s" % (self.node_name, ip), keytype, key)
        self.log_info("Joining node %s (%s) over SSH", self.node_name, ip)
        code, out, err = runner.run(ip, [pathutils.NODE_DAEMON_SETUP],
                                    stdin=_join_payload(cfg, bool(self.op.readd),
                                                        self.node_name,
                                                        self._will_be_candidate()),
                                    node_name=self.node_name)
        if code != 0:
            detail = (err or out or "").strip().splitlines()
            raise errors.OpExecError("Node setup on %s failed (exit code %s): %s" % (
                self.node_name, code, detail[-1] if detail else "no output"))
        deadline = time.time() + JOIN_RPC_WAIT
        target = [(self.node_name, ip, False)]
        while True:
            res = self.rpc.call("version", target, [])[self.node_name]
            if not res.fail_msg:
                break
            if time.time() > deadline:
                raise errors.OpExecError("Node daemon on %s did not answer after the join: %s"
                                         % (self.node_name, res.fail_msg))
            time.sleep(0.1)
        if res.payload != constants.PROTOCOL_VERSION:
            raise errors.OpExecError("Version mismatch: master %s, node %s %s" % (
                constants.PROTOCOL_VERSION, self.node_name, res.payload))

    def exec(self, feedback_fn):
        cfg = self.cfg
        self._join(feedback_fn)
        with cfg.lock:
            cluster = cfg.get_cluster_info()
            if self.existing is not None:
                node = self.existing
                node.offline = False
                node.drained = False
                node.primary_ip = self.primary_ip
                node.secondary_ip = self.secondary_ip
                objects.touch(node)
            else:
                node = objects.Node(name=self.node_name, primary_ip=self.primary_ip,
                                    secondary_ip=self.secondary_ip, master_candidate=False,
                                    offline=False, drained=False, group=self.group_uuid,
                                    master_capable=self.op.master_capable is not False,
                                    vm_capable=self.op.vm_capable is not False,
                                    ndparams=dict(self.op.ndparams or {}), powered=True)
                objects.stamp_new(node)
                cfg.data.nodes[node.uuid] = node
            self.new_uuid = node.uuid
            mcs = [n for n in cfg.data.nodes.values() if n.master_candidate and n is not node]
            node.master_candidate = bool(node.master_capable and
                                         len(mcs) < cluster.candidate_pool_size)
            from ganeti import crypto
            cluster.candidate_certs[node.uuid] = crypto.cert_digest(pathutils.NODED_CERT_FILE)
            objects.touch(cluster)
            cfg.write()
        if self.existing is None:
            self.glm.add(locking.LEVEL_NODE, [node.uuid], owner=self.owner)
        if node.master_candidate:
            common.copy_queue_to_node(self, node.uuid)
            self.log_info("Node %s is now a master candidate", node.name)
        return None


class LUNodeRemove(LogicalUnit):
    HPATH = "node-remove"
    HTYPE = "NODE"
    REQ_BGL = True

    def expand_names(self) -> None:
        self.node_uuid, self.op.node_name = self.expand_node(self.op.node_name)
        self.needed_locks = {}

    def hooks_target(self):
        return self.op.node_name

    def build_hooks_env(self):
        return {"NODE_NAME": self.op.node_name}

    def build_hooks_nodes(self):
        others = [u for u in self.cfg.get_node_list() if u != self.node_uuid]
        return others, others

    def check_prereq(self) -> None:
        if self.node_uuid == self.master_uuid():
            raise errors.OpPrereqError("Node is the master node, failover to another node"
                                       " is required", errors.ECODE_INVAL)
        primary, secondary = _node_instances(self.cfg, self.node_uuid)
        if primary or secondary:
            raise errors.OpPrereqError("Instance %s is still running on the node, please"
                                       " remove first" % (primary + secondary)[0],
                                       errors.ECODE_INVAL)

    def exec(self, feedback_fn):
        cfg = self.cfg
        node = cfg.get_node_info(self.node_uuid)
        target = cfg.node_target(self.node_uuid)
        with cfg.lock:
            del cfg.data.nodes[self.node_uuid]
            cfg.data.cluster.candidate_certs.pop(self.node_uuid, None)
            objects.touch(cfg.data.cluster)
            cfg.write()
        common.adjust_candidate_pool(self)
        if not node.offline:
            res = self.rpc.call("node_leave_cluster", [target],
                                [cfg.get_cluster_info().modify_ssh_setup])[node.name]
            if res.fail_msg:
                self.log_warning("Errors encountered on the remote node while leaving the"
                                 " cluster: %s", res.fail_msg)
        self.glm.remove(locking.LEVEL_NODE, [self.node_uuid])
        from ganeti import ssh
        ssh.remove_known_host("%s,%s" % (node.name, node.primary_ip))
        return None


class LUNodeSetParams(LogicalUnit):
    HPATH = "node-modify"
    HTYPE = "NODE"

    _FLAGS = ("master_candidate", "offline", "drained")

    def check_arguments(self) -> None:
        op = self.op
        changes = [op.master_candidate, op.offline, op.drained, op.master_capable,
                   op.vm_capable, op.secondary_ip, op.ndparams, op.powered, op.hv_state,
                   op.disk_state]
        if all(c is None for c in changes):
            raise errors.OpPrereqError("Please pass at least one modification",
                                       errors.ECODE_INVAL)
        if sum(1 for f in self._FLAGS if getattr(op, f) is True) > 1:
            raise errors.OpPrereqError("Can't set the node into more than one state at the"
                                       " same time", errors.ECODE_INVAL)

    def expand_names(self) -> None:
        self.node_uuid, self.op.node_name = self.expand_node(self.op.node_name)
        pool_change = any(getattr(self.op, f) is not None for f in self._FLAGS) or \
            self.op.master_capable is not None
        # flag changes may promote other nodes: lock them all then
        self.needed_locks = {locking.LEVEL_NODE: locking.ALL_SET if pool_change
                             else [self.node_uuid]}

    def hooks_target(self):
        return self.op.node_name

    def build_hooks_env(self):
        op = self.op
        return {"OP_TARGET": op.node_name, "MASTER_CANDIDATE": str(op.master_candidate),
                "OFFLINE": str(op.offline), "DRAINED": str(op.drained),
                "MASTER_CAPABLE": str(op.master_capable), "VM_CAPABLE": str(op.vm_capable)}

    def build_hooks_nodes(self):
        nodes = [self.master_uuid(), self.node_uuid]
        return nodes, nodes

    def check_prereq(self) -> None:
        op = self.op
        cfg = self.cfg
        node = cfg.get_node_info(self.node_uuid)
        cluster = cfg.get_cluster_info()
        is_master = self.node_uuid == self.master_uuid()
        if is_master and (op.offline or op.drained or op.master_candidate is False or
                          op.master_capable is False):
            raise errors.OpPrereqError("The master role can be changed only via master"
                                       " failover", errors.ECODE_INVAL)
        if op.master_candidate and not node.master_capable and op.master_capable is not True:
            raise errors.OpPrereqError("Node %s is not master capable, cannot promote it to"
                                       " master candidate" % node.name, errors.ECODE_STATE)
        if op.master_candidate and (node.offline and op.offline is not False or
                                    node.drained and op.drained is not False):
            raise errors.OpPrereqError("Node %s is offline or drained, cannot become master"
                                       " candidate" % node.name, errors.ECODE_STATE)
        demote = node.master_candidate and (op.master_candidate is False or op.offline or
                                            op.drained or op.master_capable is False)
        if demote and not op.auto_promote:
            possible = [n for n in cfg.get_all_nodes_info().values()
                        if n.uuid != node.uuid and n.master_capable and not n.offline and
                        not n.drained and not n.master_candidate]
            current = len(cfg.get_master_candidates()) - 1
            if possible and current < cluster.candidate_pool_size and not op.force:
                raise errors.OpPrereqError(
                    "Not enough master candidates (desired %d, new value will be %d), use"
                    " --auto-promote to promote another node" % (
                        cluster.candidate_pool_size, current), errors.ECODE_STATE)
        if op.vm_capable is False:
            primary, _ = _node_instances(cfg, node.uuid)
            if primary:
                raise errors.OpPrereqError("Node %s hosts instances (%s), cannot be made"
                                           " non-vm-capable" % (node.name, ", ".join(primary)),
                                           errors.ECODE_STATE)
        if op.secondary_ip is not None and not netutils.is_valid_ip(op.secondary_ip):
            raise errors.OpPrereqError("Invalid secondary IP '%s'" % op.secondary_ip,
                                       errors.ECODE_INVAL)
        if op.ndparams:
            common.check_param_keys("node parameters", op.ndparams, constants.NDC_DEFAULTS)
        self.demote = demote

    def exec(self, feedback_fn):
        op = self.op
        cfg = self.cfg
        result = []
        promoted_now = False
        with cfg.lock:
            node = cfg.get_node_info(self.node_uuid)
            if op.offline is not None and op.offline != node.offline:
                node.offline = op.offline
                result.append(["offline", str(op.offline)])
                if op.offline:
                    for flag in ("master_candidate", "drained"):
                        if getattr(node, flag):
                            setattr(node, flag, False)
                            result.append([flag, "auto-demotion due to offline"])
            if op.drained is not None and op.drained != node.drained:
                node.drained = op.drained
                result.append(["drained", str(op.drained)])
                if op.drained and node.master_candidate:
                    node.master_candidate = False
                    result.append(["master_candidate", "auto-demotion due to drain"])
            if op.master_capable is not None and op.master_capable != node.master_capable:
                node.master_capable = op.master_capable
                result.append(["master_capable", str(op.master_capable)])
                if not op.master_capable and node.master_candidate:
                    node.master_candidate = False
                    result.append(["master_candidate", "auto-demotion due to master_capable"])
            if op.master_candidate is not None and op.master_candidate != node.master_candidate:
                node.master_candidate = op.master_candidate
                result.append(["master_candidate", str(op.master_candidate)])
                promoted_now = op.master_candidate
            if op.vm_capable is not None and op.vm_capable != node.vm_capable:
                node.vm_capable = op.vm_capable
                result.append(["vm_capable", str(op.vm_capable)])
            if op.secondary_ip is not None and op.secondary_ip != node.secondary_ip:
                node.secondary_ip = op.secondary_ip
                result.append(["secondary_ip", op.secondary_ip])
            if op.ndparams:
                node.ndparams = common.update_params(node.ndparams, op.ndparams)
                result.append(["ndparams", str(node.ndparams)])
            if op.powered is not None and op.powered != node.powered:
                node.powered = op.powered
                result.append(["powered", str(op.powered)])
            if op.hv_state:
                node.hv_state_static = common.update_params(node.hv_state_static or {},
                                                            op.hv_state)
            if op.disk_state:
                node.disk_state_static = common.update_params(node.disk_state_static or {},
                                                              op.disk_state)
            objects.touch(node)
            cfg.write()
        if self.demote and op.auto_promote or self.demote:
            common.adjust_candidate_pool(self)
        if promoted_now:
            common.copy_queue_to_node(self, self.node_uuid)
        return result


class LUNodePowercycle(NoHooksLU):
    REQ_BGL = False

    def expand_names(self) -> None:
        self.node_uuid, self.op.node_name = self.expand_node(self.op.node_name)
        if self.node_uuid == self.master_uuid() and not self.op.force:
            raise errors.OpPrereqError("The node is the master and the force parameter was"
                                       " not set", errors.ECODE_INVAL)
        self.needed_locks = {}

    def exec(self, feedback_fn):
        hv = self.cfg.get_cluster_info().enabled_hypervisors[0]
        if hv != constants.HT_FAKE:
            # a real powercycle reboots the host through sysrq; not offered here yet
            raise errors.OpPrereqError("Hypervisor %s does not support node powercycle on"
                                       " this cluster" % hv, errors.ECODE_ENVIRON)
        return "Node %s powercycled (fake hypervisor: nothing to reset)" % self.op.node_name


class LUNodeQueryStorage(NoHooksLU):
    FIELDS = ("node", "type", "name", "size", "used", "free", "allocatable")

    def check_arguments(self) -> None:
        stype = self.op.storage_type or constants.DT_FILE
        if stype not in (constants.DT_FILE, constants.DT_SHARED_FILE):
            raise errors.OpPrereqError("Storage type %s is not supported on this cluster"
                                       " (no LVM/Gluster here)" % stype, errors.ECODE_INVAL)
        unknown = [f for f in self.op.output_fields if f not in self.FIELDS]
        if unknown:
            raise errors.OpPrereqError("Unknown output fields selected: %s" % ", ".join(unknown),
                                       errors.ECODE_INVAL)
        self.stype = stype

    def expand_names(self) -> None:
        if self.op.nodes:
            self.node_uuids = [self.expand_node(n)[0] for n in self.op.nodes]
        else:
            self.node_uuids = self.cfg.get_node_list()
        self.needed_locks = {}

    def exec(self, feedback_fn):
        cfg = self.cfg
        cluster = cfg.get_cluster_info()
        path = cluster.file_storage_dir if self.stype == constants.DT_FILE else \
            cluster.shared_file_storage_dir
        nodes = [u for u in self.node_uuids if not cfg.get_node_info(u).offline]
        results = self.rpc.call("node_info", cfg.node_targets(nodes),
                                [[[self.stype, pathutils.strip_root(path), []]], []])
        rows = []
        for uuid in nodes:
            node = cfg.get_node_info(uuid)
            res = results.get(node.name)
            if res is None or res.fail_msg:
                self.log_warning("Can't get storage data from node %s: %s", node.name,
                                 res.fail_msg if res else "no answer")
                continue
            info = res.payload[1][0]
            if info.get("error"):
                self.log_warning("Can't get storage data from node %s: %s", node.name,
                                 info["error"])
                continue
            size, free = info.get("storage_size", 0), info.get("storage_free", 0)
            values = {"node": node.name, "type": self.stype, "name": path, "size": size,
                      "used": size - free, "free": free, "allocatable": True}
            rows.append([values[f] for f in self.op.output_fields])
        return rows
