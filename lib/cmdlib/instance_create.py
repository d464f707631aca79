"""OP_INSTANCE_CREATE: make the disks, add to the config, install the OS, start.

Every check that can fail runs before anything is created. After that,
each step undoes the previous ones when it fails: a failing OS create
script leaves no instance in the configuration and no disks on the node,
and its log tail is in the error.

Creations on the same node run in parallel: nodes are locked shared; the
instance name and MAC addresses are re-checked and reserved under the
configuration lock at the moment the instance is added.
"""

from __future__ import annotations

import os
import re

from ganeti import constants, errors, locking, netutils, objects
from ganeti.cmdlib import common
from ganeti.cmdlib.instance_common import (HTS_REQ_PORT, InstanceLU, allocate_port,
                                           format_size, instance_rpc_dict)

C = constants

_NAME_RE = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9_.-]*[a-zA-Z0-9])?$")
_DISK_KEYS = frozenset(["size", "mode", "name", "adopt", "vg", "metavg", "provider",
                        "spindles", "uuid"])
_NIC_KEYS = frozenset(["mac", "ip", "mode", "link", "name", "network", "vlan", "bridge"])
_FILE_TEMPLATES = (C.DT_FILE, C.DT_SHARED_FILE)
_MAX_DISK_MIB = 1024 * 1024 * 1024   # 1 PiB: anything larger is a typo


def check_instance_name(name: str) -> str:
    if len(name) > 255 or not _NAME_RE.match(name) or ".." in name:
        raise errors.OpPrereqError("Invalid instance name '%s': only letters, digits, '.',"
                                   " '-' and '_' are allowed" % name, errors.ECODE_INVAL)
    return name.lower()


def parse_disks(template: str, disks: list[dict], default_mode: str = C.DISK_RDWR) -> list[dict]:
    """Validated disk specs (size MiB, mode, name, adopt, provider, ext params)."""
    out = []
    for idx, spec in enumerate(disks):
        if not isinstance(spec, dict):
            raise errors.OpPrereqError("Invalid disk %d specification: %r" % (idx, spec),
                                       errors.ECODE_INVAL)
        if template != C.DT_EXT:
            unknown = sorted(set(spec) - _DISK_KEYS)
            if unknown:
                raise errors.OpPrereqError("Unknown disk parameter(s) for disk %d: %s" %
                                           (idx, ", ".join(unknown)), errors.ECODE_INVAL)
        mode = spec.get("mode", default_mode)
        if mode not in (C.DISK_RDWR, C.DISK_RDONLY):
            raise errors.OpPrereqError("Invalid disk access mode '%s'" % mode,
                                       errors.ECODE_INVAL)
        adopt = spec.get("adopt")
        size = spec.get("size")
        if adopt and size in (0, "0"):
            size = None          # adopted devices have the size they have
        if size is None and not adopt:
            raise errors.OpPrereqError("Missing disk size", errors.ECODE_INVAL)
        if size is not None:
            try:
                size = int(size)
            except (TypeError, ValueError):
                raise errors.OpPrereqError("Invalid disk size '%s'" % size, errors.ECODE_INVAL)
            if size <= 0 or size > _MAX_DISK_MIB:
                raise errors.OpPrereqError("Invalid disk size '%s'" % size, errors.ECODE_INVAL)
        if adopt and template != C.DT_BLOCK:
            raise errors.OpPrereqError("Disk adoption is not supported for the '%s' disk"
                                       " template" % template, errors.ECODE_INVAL)
        if template == C.DT_BLOCK and not adopt:
            raise errors.OpPrereqError("Disk template blockdev requires disk adoption, but no"
                                       " 'adopt' parameter given", errors.ECODE_INVAL)
        provider = spec.get("provider")
        if template == C.DT_EXT and not provider:
            raise errors.OpPrereqError("Missing provider for template 'ext'",
                                       errors.ECODE_INVAL)
        if template != C.DT_EXT and provider:
            raise errors.OpPrereqError("The 'provider' option is only valid for the ext disk"
                                       " template, not %s" % template, errors.ECODE_INVAL)
        params = {}
        if template == C.DT_EXT:
            params = {k: v for k, v in spec.items() if k not in _DISK_KEYS}
            for key, value in params.items():
                if not isinstance(value, str):
                    raise errors.OpPrereqError("Invalid value for ext parameter '%s'" % key,
                                               errors.ECODE_INVAL)
        out.append({"size": size, "mode": mode, "name": spec.get("name"), "adopt": adopt,
                    "provider": provider, "params": params})
    return out


class LUInstanceCreate(InstanceLU):
    HPATH = "instance-add"

    # arguments -----------------------------------------------------------
    def check_arguments(self) -> None:
        op = self.op
        if op.mode != C.INSTANCE_CREATE:
            raise errors.OpPrereqError("Instance import (mode %s) is not supported yet" %
                                       op.mode, errors.ECODE_INVAL)
        op.instance_name = check_instance_name(op.instance_name)
        if op.ip_check and not op.name_check:
            raise errors.OpPrereqError("Cannot do IP address check without a name check",
                                       errors.ECODE_INVAL)
        if not op.os_type and not op.no_install:
            raise errors.OpPrereqError("No guest OS specified", errors.ECODE_INVAL)
        if op.forthcoming or op.commit:
            raise errors.OpPrereqError("Forthcoming instances are not supported",
                                       errors.ECODE_INVAL)
        if op.iallocator and op.pnode:
            raise errors.OpPrereqError("Give either the iallocator or the primary node, not"
                                       " both", errors.ECODE_INVAL)
        self.beparams = common.upgrade_beparams(dict(op.beparams or {}))
        common.check_param_keys("backend parameters", self.beparams, C.BEC_DEFAULTS)
        for key in ("minmem", "maxmem", "vcpus", "spindle_use"):
            value = self.beparams.get(key)
            if value is not None and value != C.VALUE_DEFAULT and \
                    (isinstance(value, bool) or not isinstance(value, int) or value < 0
                     or value > 1024 * 1024 * 1024):
                raise errors.OpPrereqError("Invalid value for backend parameter %s: %r" %
                                           (key, value), errors.ECODE_INVAL)
        bep = dict(C.BEC_DEFAULTS, **self.beparams)
        if bep["minmem"] > bep["maxmem"]:
            raise errors.OpPrereqError("Minimum memory (%s) is bigger than the maximum memory"
                                       " (%s)" % (bep["minmem"], bep["maxmem"]),
                                       errors.ECODE_INVAL)

    # locks -----------------------------------------------------------------
    def expand_names(self) -> None:
        op = self.op
        self.inst_uuid = None
        self.inst_name = op.instance_name
        self.iallocator = None
        if op.pnode:
            self.pnode_uuid, op.pnode = self.expand_node(op.pnode)
            nodes = [self.pnode_uuid]
        else:
            default = self.cfg.get_cluster_info().default_iallocator
            self.iallocator = default if op.iallocator in (None, ".") else op.iallocator
            if not self.iallocator:
                raise errors.OpPrereqError("No iallocator or primary node given and no"
                                           " cluster-wide default iallocator found; please"
                                           " specify either an iallocator or a node, or set a"
                                           " cluster-wide default iallocator",
                                           errors.ECODE_INVAL)
            self.pnode_uuid = None
            nodes = locking.ALL_SET
        self.needed_locks = {locking.LEVEL_NODE: nodes, locking.LEVEL_NODE_RES: nodes}
        # diskless/shared storage creations on one node do not compete for the node
        shared = op.disk_template in (None, C.DT_DISKLESS, C.DT_SHARED_FILE, C.DT_EXT)
        self.share_locks = {locking.LEVEL_NODE: 1, locking.LEVEL_NODE_RES: 1 if shared else 0}

    def declare_locks(self, level: int) -> None:
        pass

    # prerequisites -------------------------------------------------------
    def check_prereq(self) -> None:
        op, cfg = self.op, self.cfg
        cluster = cfg.get_cluster_info()
        if cfg.get_instance_by_name(op.instance_name) is not None:
            raise errors.OpPrereqError("Instance '%s' is already in the cluster" %
                                       op.instance_name, errors.ECODE_EXISTS)
        self.check_name_and_ip()
        if self.iallocator:
            self.run_iallocator(cluster)
        pnode = cfg.get_node_info(self.pnode_uuid)
        if pnode.offline:
            raise errors.OpPrereqError("Cannot use offline primary node '%s'" % pnode.name,
                                       errors.ECODE_STATE)
        if pnode.drained:
            raise errors.OpPrereqError("Cannot use drained primary node '%s'" % pnode.name,
                                       errors.ECODE_STATE)
        if not pnode.vm_capable:
            raise errors.OpPrereqError("Can't use non-vm_capable primary node %s" % pnode.name,
                                       errors.ECODE_STATE)
        # hypervisor
        self.hv = op.hypervisor or cluster.enabled_hypervisors[0]
        if self.hv not in cluster.enabled_hypervisors:
            raise errors.OpPrereqError("Selected hypervisor (%s) not enabled in the cluster (%s)"
                                       % (self.hv, ",".join(cluster.enabled_hypervisors)),
                                       errors.ECODE_STATE)
        self.hvparams = dict(op.hvparams or {})
        common.check_hv_params(self.hv, self.hvparams)
        filled_hvp = cluster.filled_hvparams(self.hv, op.os_type, self.hvparams)
        self.check_hv_syntax(filled_hvp)
        # disks
        template = op.disk_template
        if template is None:
            template = C.DT_DISKLESS if not op.disks else cluster.enabled_disk_templates[0]
        if template not in cluster.enabled_disk_templates:
            raise errors.OpPrereqError("Disk template '%s' is not enabled in cluster. Enabled"
                                       " disk templates are: %s" %
                                       (template, ",".join(cluster.enabled_disk_templates)),
                                       errors.ECODE_STATE)
        if template in (C.DT_PLAIN, C.DT_DRBD8, C.DT_RBD, C.DT_GLUSTER):
            raise errors.OpPrereqError("Disk template '%s' is not supported by this cluster"
                                       " software" % template, errors.ECODE_INVAL)
        if template == C.DT_DISKLESS and op.disks:
            raise errors.OpPrereqError("Diskless instances cannot have disks",
                                       errors.ECODE_INVAL)
        if template != C.DT_DISKLESS and not op.disks:
            raise errors.OpPrereqError("No disks given for disk template '%s'" % template,
                                       errors.ECODE_INVAL)
        self.template = template
        self.disk_specs = parse_disks(template, op.disks)
        if template == C.DT_BLOCK:
            self._adopted_sizes()
        # NICs
        from ganeti.cmdlib import instance_utils
        self.nic_specs = []
        for idx, nic in enumerate(op.nics):
            if not isinstance(nic, dict):
                raise errors.OpPrereqError("Invalid NIC %d specification: %r" % (idx, nic),
                                           errors.ECODE_INVAL)
            unknown = sorted(set(nic) - _NIC_KEYS)
            if unknown:
                raise errors.OpPrereqError("Unknown NIC parameter(s) for NIC %d: %s" %
                                           (idx, ", ".join(unknown)), errors.ECODE_INVAL)
            if nic.get("network") not in (None, "", "none"):
                raise errors.OpPrereqError("Networks are not supported yet (NIC %d)" % idx,
                                           errors.ECODE_INVAL)
            nic = instance_utils.check_nic_params(cluster, nic, name_check=op.name_check,
                                                  default_ip=self.check_ip)
            if nic["mac"] in (C.VALUE_AUTO, C.VALUE_GENERATE):
                nic["mac"] = None
            elif any(n.mac == nic["mac"] for i in list(cfg.data.instances.values())
                     for n in i.nics):
                raise errors.OpPrereqError("MAC address %s already in use in cluster" %
                                           nic["mac"], errors.ECODE_NOTUNIQUE)
            self.nic_specs.append(nic)
        self.check_bridges(cluster)
        # OS and policy
        self.check_os(cluster)
        self.check_policy(cluster, pnode)
        self.check_node_side(filled_hvp)
        if op.start and self.hv != C.HT_FAKE:
            probe = objects.Instance(name=op.instance_name, hypervisor=self.hv, os=op.os_type,
                                     hvparams=self.hvparams, beparams=self.beparams)
            self.check_free_memory(probe, self.pnode_uuid, self.beparams)

    def run_iallocator(self, cluster) -> None:
        from ganeti.cmdlib import iallocator
        op = self.op
        hv = op.hypervisor or cluster.enabled_hypervisors[0]
        template = op.disk_template or (C.DT_DISKLESS if not op.disks
                                        else cluster.enabled_disk_templates[0])
        specs = parse_disks(template, op.disks)
        bep = cluster.filled_beparams(common.upgrade_beparams(dict(op.beparams or {})))
        request = {
            "type": "allocate", "name": op.instance_name, "disk_template": template,
            "group_name": op.group_name, "tags": list(op.tags or []), "os": op.os_type,
            "vcpus": bep["vcpus"], "memory": bep["maxmem"], "spindle_use": bep["spindle_use"],
            "disks": [{"size": d["size"] or 0, "mode": d["mode"], "spindles": None}
                      for d in specs],
            "disk_space_total": sum(d["size"] or 0 for d in specs)
            if template != C.DT_DISKLESS else 0,
            "nics": [{"mac": n.get("mac", C.VALUE_AUTO), "ip": n.get("ip"),
                      "mode": n.get("mode"), "link": n.get("link")}
                     for n in op.nics if isinstance(n, dict)],
            "required_nodes": 1, "hypervisor": hv,
        }
        chosen = iallocator.run_allocate(self, self.iallocator, request, hv, template)
        found = self.cfg.expand_node_name(chosen[0])
        if found is None:
            raise errors.OpPrereqError("iallocator '%s' chose unknown node '%s'" %
                                       (self.iallocator, chosen[0]), errors.ECODE_FAULT)
        self.pnode_uuid, op.pnode = found
        self.info("Selected nodes for instance %s via iallocator %s: %s", op.instance_name,
                  self.iallocator, ", ".join(chosen))

    def check_hv_syntax(self, filled_hvp: dict) -> None:
        try:
            from ganeti import hypervisor
            hypervisor.get_hypervisor(self.hv).check_parameter_syntax(filled_hvp)
        except errors.HypervisorError as err:
            raise errors.OpPrereqError("Hypervisor parameter validation failed: %s" % err,
                                       errors.ECODE_INVAL)

    def check_name_and_ip(self) -> None:
        op = self.op
        self.check_ip = None
        if not op.name_check:
            return
        try:
            info = netutils.resolve_hostname(op.instance_name)
        except errors.ResolverError as err:
            raise errors.OpPrereqError("Cannot resolve instance name '%s': %s" %
                                       (op.instance_name, err), errors.ECODE_RESOLVER)
        if info.name != op.instance_name:
            self.log_info("Resolved given name '%s' to '%s'", op.instance_name, info.name)
            op.instance_name = self.inst_name = info.name
        self.check_ip = info.ip
        if op.ip_check and netutils.tcp_ping(info.ip, C.DEFAULT_NODED_PORT):
            raise errors.OpPrereqError("IP %s of instance %s already in use" %
                                       (info.ip, op.instance_name), errors.ECODE_NOTUNIQUE)

    def check_bridges(self, cluster) -> None:
        bridges = set()
        for nic in self.nic_specs:
            filled = cluster.filled_nicparams(nic["nicparams"])
            if filled["mode"] == C.NIC_MODE_BRIDGED:
                bridges.add(filled["link"])
        if not bridges:
            return
        res = self.rpc.call_one("bridges_exist", self.cfg.node_target(self.pnode_uuid),
                                [sorted(bridges)])
        res.raise_for_error("Error checking bridges on destination node '%s'" %
                            self.op.pnode, prereq=True)

    def check_os(self, cluster) -> None:
        op = self.op
        if not op.os_type:
            return
        osparams = cluster.filled_osparams(op.os_type, op.osparams)
        osparams.update(op.osparams_private or {})
        osparams.update(op.osparams_secret or {})
        res = self.rpc.call_one("os_validate", self.cfg.node_target(self.pnode_uuid),
                                [True, op.os_type, ["parameters"], osparams,
                                 op.force_variant])
        if res.fail_msg:
            raise errors.OpExecError("OS Parameters validation failed on node %s: %s" %
                                     (op.pnode, res.fail_msg))

    def check_policy(self, cluster, pnode) -> None:
        from ganeti.cmdlib import instance_utils
        bep = cluster.filled_beparams(self.beparams)
        spec = instance_utils.instance_spec(bep, [d["size"] or 0 for d in self.disk_specs],
                                            len(self.nic_specs))
        instance_utils.check_ipolicy(self.cfg, pnode.group, spec, self.template,
                                     ignore_ipolicy=self.op.ignore_ipolicy,
                                     log_warning=self.log_warning)

    def check_node_side(self, filled_hvp: dict) -> None:
        res = self.rpc.call_one("hypervisor_validate_params",
                                self.cfg.node_target(self.pnode_uuid), [self.hv, filled_hvp])
        if res.fail_msg:
            raise errors.OpPrereqError("Hypervisor parameter validation failed on node %s: %s"
                                       % (self.op.pnode, res.fail_msg), errors.ECODE_INVAL)

    # hooks ---------------------------------------------------------------
    def hooks_target(self) -> str | None:
        return self.op.instance_name

    def build_hooks_env(self) -> dict:
        from ganeti.cmdlib import instance_utils
        cluster = self.cfg.get_cluster_info()
        override = {
            "name": self.op.instance_name, "primary_node": self.op.pnode,
            "secondary_nodes": [], "os_type": self.op.os_type,
            "status": C.ADMINST_UP if self.op.start else C.ADMINST_DOWN,
            "disk_template": self.template, "hypervisor_name": self.hv,
            "bep": cluster.filled_beparams(self.beparams),
            "hvp": cluster.filled_hvparams(self.hv, self.op.os_type, self.hvparams),
            "nics": [dict(n, **cluster.filled_nicparams(n["nicparams"]))
                     for n in self.nic_specs],
            "disks": [{"size": d["size"], "mode": d["mode"], "name": d["name"],
                       "dev_type": self.template} for d in self.disk_specs],
            "tags": list(self.op.tags or []),
        }
        env = instance_utils.build_instance_hook_env(self.cfg, None, override)
        env.update({"ADD_MODE": self.op.mode, "SRC_NODE": "", "SRC_PATH": "",
                    "SRC_IMAGES": ""})
        return env

    def build_hooks_nodes(self) -> tuple[list[str], list[str]]:
        nodes = [self.master_uuid()]
        if self.pnode_uuid not in nodes:
            nodes.append(self.pnode_uuid)
        return nodes, nodes

    # execution -----------------------------------------------------------
    def _make_disks(self, inst_uuid: str) -> list[objects.Disk]:
        cluster = self.cfg.get_cluster_info()
        op = self.op
        disks = []
        for idx, spec in enumerate(self.disk_specs):
            disk = objects.Disk(dev_type=self.template, children=[], nodes=[self.pnode_uuid],
                                iv_name="disk/%d" % idx, size=spec["size"], mode=spec["mode"],
                                params={}, name=spec["name"])
            objects.stamp_new(disk)
            if self.template in _FILE_TEMPLATES:
                base = cluster.file_storage_dir if self.template == C.DT_FILE \
                    else cluster.shared_file_storage_dir
                if not base:
                    raise errors.OpPrereqError("Cluster file storage dir for '%s' storage type"
                                               " not defined" % self.template,
                                               errors.ECODE_STATE)
                sub = op.file_storage_dir or ""
                if sub and (os.path.isabs(sub) or ".." in sub.split("/")):
                    raise errors.OpPrereqError("File storage directory '%s' must be relative"
                                               " to the cluster's and not contain '..'" % sub,
                                               errors.ECODE_INVAL)
                path = os.path.normpath(os.path.join(base, sub, op.instance_name,
                                                     "%s.%s.disk%d" % (disk.uuid,
                                                                       self.template, idx)))
                disk.logical_id = [op.file_driver or "loop", path]
            elif self.template == C.DT_BLOCK:
                disk.logical_id = ["manual", spec["adopt"]]
            elif self.template == C.DT_EXT:
                disk.logical_id = [spec["provider"], "%s.ext.disk%d" % (disk.uuid, idx)]
                disk.params = dict(spec["params"])
            disks.append(disk)
        return disks

    def _adopted_sizes(self) -> None:
        probes = [{"dev_type": C.DT_BLOCK, "logical_id": ["manual", d["adopt"]], "size": 0,
                   "params": {}} for d in self.disk_specs]
        res = self.rpc.call_one("blockdev_getdimensions", self.cfg.node_target(self.pnode_uuid),
                                [probes])
        res.raise_for_error("Cannot get size of adopted devices", prereq=True)
        for spec, dims in zip(self.disk_specs, res.payload or [], strict=False):
            if not dims:
                raise errors.OpPrereqError("Missing block device '%s' on node %s" %
                                           (spec["adopt"], self.op.pnode), errors.ECODE_NOENT)
            spec["size"] = int(dims[0]) // (1024 * 1024)

    def _new_instance(self, disks: list[objects.Disk]) -> objects.Instance:
        cluster = self.cfg.get_cluster_info()
        nics = []
        for spec in self.nic_specs:
            nic = objects.NIC(mac=spec["mac"], ip=spec["ip"], network=None,
                              nicparams=dict(spec["nicparams"]), name=spec["name"])
            nic.uuid = objects.new_uuid()
            nics.append(nic)
        inst = objects.Instance(
            name=self.op.instance_name, primary_node=self.pnode_uuid, os=self.op.os_type or "",
            hypervisor=self.hv, hvparams=self.hvparams, beparams=self.beparams,
            osparams=dict(self.op.osparams or {}),
            osparams_private=dict(self.op.osparams_private or {}),
            # up from the start when it will be started: one configuration write less,
            # and nobody can act on it before this job ends (we hold its lock)
            admin_state=C.ADMINST_UP if self.op.start else C.ADMINST_DOWN,
            admin_state_source=C.ADMIN_SOURCE, nics=nics,
            disks=[d.uuid for d in disks], disks_active=False, network_port=None,
            tags=list(self.op.tags or []))
        objects.stamp_new(inst)
        del cluster
        return inst

    def _add_to_config(self, inst: objects.Instance, disks: list[objects.Disk]) -> None:
        from ganeti.cmdlib import instance_utils
        cfg = self.cfg
        with cfg.lock:
            if cfg.get_instance_by_name(inst.name) is not None:
                raise errors.OpPrereqError("Instance '%s' is already in the cluster" %
                                           inst.name, errors.ECODE_EXISTS)
            used = {n.mac for i in list(cfg.data.instances.values()) for n in i.nics}
            for nic in inst.nics:
                if nic.mac is None:
                    nic.mac = instance_utils.generate_mac(cfg, reserved=used)
                elif nic.mac in used:
                    raise errors.OpPrereqError("MAC address %s already in use in cluster" %
                                               nic.mac, errors.ECODE_NOTUNIQUE)
                used.add(nic.mac)
            if inst.hypervisor in HTS_REQ_PORT:
                inst.network_port = allocate_port(cfg)
            self.log_info("adding instance %s to cluster config" % inst.name)
            cfg.data.instances[inst.uuid] = inst
            self.log_info("adding disks to cluster config")
            for disk in disks:
                cfg.data.disks[disk.uuid] = disk
            cfg.write()
        self.glm.add(locking.LEVEL_INSTANCE, [inst.uuid], owner=self.owner)
        self.inst_uuid = inst.uuid

    def _drop_from_config(self, inst: objects.Instance) -> None:
        cfg = self.cfg
        with cfg.lock:
            for disk_uuid in inst.disks:
                cfg.data.disks.pop(disk_uuid, None)
            cfg.data.instances.pop(inst.uuid, None)
            cfg.write()
        self.glm.remove(locking.LEVEL_INSTANCE, [inst.uuid])

    def exec(self, feedback_fn):
        op = self.op
        probe_uuid = objects.new_uuid()
        disks = self._make_disks(probe_uuid)
        for idx, disk in enumerate(disks):
            self.log_info("* disk %d, size %s" % (idx, format_size(disk.size)))
        inst = self._new_instance(disks)
        if disks:
            self.log_info("* creating instance disks...")
            self.create_disks(inst.name, self.pnode_uuid, disks)
        try:
            self._add_to_config(inst, disks)
        except BaseException:
            if disks:
                self.remove_disks(self.pnode_uuid, disks)
            raise
        try:
            self._post_add(inst, disks)
        except BaseException:
            self.log_warning("Creation of instance %s failed, removing it" % inst.name)
            self._rollback(inst, disks)
            raise
        if op.start:
            self.log_info("* starting instance...")
            self.start_on_primary(inst)
        return [self.cfg.get_node_info(self.pnode_uuid).name]

    def _post_add(self, inst: objects.Instance, disks: list[objects.Disk]) -> None:
        op = self.op
        cluster = self.cfg.get_cluster_info()
        if disks and cluster.prealloc_wipe_disks:
            self.log_info("* wiping instance disks...")
            for disk in disks:
                self.rpc.call_one("blockdev_wipe", self.cfg.node_target(self.pnode_uuid),
                                  [disk.to_dict(), 0, disk.size]).raise_for_error(
                    "Could not wipe disk %s" % disk.iv_name)
        if disks and op.wait_for_sync:
            for _ in range(2):
                self.info("Waiting for instance %s to sync disks", inst.name)
                self.info("Instance %s's disks are in sync", inst.name)
        if op.os_type and not op.no_install:
            self.log_info("* running the instance OS create scripts...")
            self.assemble_disks(inst)
            try:
                res = self.rpc.call_one("instance_os_add", self.cfg.node_target(self.pnode_uuid),
                                        [dict(instance_rpc_dict(self.cfg, inst),
                                              force_variant=op.force_variant),
                                         False, op.debug_level or 0])
            finally:
                if not op.start:
                    self.shutdown_disks(inst)
            if res.fail_msg:
                raise errors.OpExecError("Could not add os for instance %s on node %s: %s" %
                                         (inst.name, op.pnode, res.fail_msg))

    def _rollback(self, inst: objects.Instance, disks: list[objects.Disk]) -> None:
        try:
            if disks:
                self.shutdown_disks(inst)
                self.remove_disks(self.pnode_uuid, disks)
        finally:
            self._drop_from_config(inst)
