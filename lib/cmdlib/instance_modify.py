"""OP_INSTANCE_SET_PARAMS: parameters, NICs, disks, primary node, offline state.

All checks run in check_prereq against copies; exec applies them and
returns the list of ``[name, new value]`` pairs the CLI prints. Most
changes take effect at the next start of the instance (as upstream's
message says); disks added are created right away.
"""

from __future__ import annotations

import copy
import os

from ganeti import constants, errors, objects
from ganeti.cmdlib import common
from ganeti.cmdlib.instance_common import InstanceLU, disk_template
from ganeti.cmdlib.instance_create import parse_disks

C = constants
_ADD, _REMOVE, _MODIFY = "add", "remove", "modify"
_NIC_MOD_KEYS = frozenset(["mac", "ip", "mode", "link", "name", "vlan", "network"])


def normalize_mods(mods: list, what: str) -> list[tuple[str, int, dict]]:
    """Accept upstream's 3-tuples and the legacy 2-tuples; return (op, index, params)."""
    out = []
    for item in mods or []:
        if not isinstance(item, (list, tuple)) or len(item) not in (2, 3):
            raise errors.OpPrereqError("Invalid %s modification %r" % (what, item),
                                       errors.ECODE_INVAL)
        if len(item) == 3:
            op, idx, params = item
        else:
            key, params = item
            if key in (_ADD, _REMOVE):
                op, idx = key, -1
            else:
                op, idx = _MODIFY, key
        if op not in (_ADD, _REMOVE, _MODIFY):
            raise errors.OpPrereqError("Invalid %s modification operation '%s'" % (what, op),
                                       errors.ECODE_INVAL)
        try:
            idx = int(idx)
        except (TypeError, ValueError):
            raise errors.OpPrereqError("Invalid %s index '%s'" % (what, idx), errors.ECODE_INVAL)
        if not isinstance(params, dict):
            raise errors.OpPrereqError("Invalid %s parameters %r" % (what, params),
                                       errors.ECODE_INVAL)
        out.append((op, idx, dict(params)))
    return out


def _index(idx: int, count: int, what: str, adding: bool = False) -> int:
    limit = count + 1 if adding else count
    if idx == -1:
        return count if adding else count - 1
    if idx < 0 or idx >= limit:
        raise errors.OpPrereqError("Invalid %s index %d (instance has %d)" % (what, idx, count),
                                   errors.ECODE_INVAL)
    return idx


class LUInstanceSetParams(InstanceLU):
    HPATH = "instance-modify"

    def check_arguments(self) -> None:
        op = self.op
        self.nic_mods = normalize_mods(op.nics, "NIC")
        self.disk_mods = normalize_mods(op.disks, "disk")
        if not (self.nic_mods or self.disk_mods or op.beparams or op.hvparams or op.osparams
                or op.osparams_private or op.os_name or op.offline is not None or op.pnode
                or op.disk_template or op.runtime_mem):
            raise errors.OpPrereqError("No changes submitted", errors.ECODE_INVAL)
        if op.runtime_mem:
            raise errors.OpPrereqError("Changing the runtime memory is not supported by this"
                                       " cluster's hypervisors", errors.ECODE_INVAL)

    def extra_nodes(self) -> list[str]:
        return [self.expand_node(self.op.pnode)[0]] if self.op.pnode else []

    def extra_hooks_env(self) -> dict:
        env = {}
        if self.op.disk_template:
            env["NEW_DISK_TEMPLATE"] = self.op.disk_template
        return env

    # prerequisites ----------------------------------------------------------
    def check_prereq(self) -> None:
        op, cfg = self.op, self.cfg
        inst = self.instance
        cluster = cfg.get_cluster_info()
        self.changes: list[list] = []
        template = disk_template(cfg, inst)
        if op.disk_template and op.disk_template != template:
            raise errors.OpPrereqError("Conversion from the '%s' disk template to '%s' is not"
                                       " supported" % (template, op.disk_template),
                                       errors.ECODE_INVAL)
        self.running = None
        # backend parameters
        self.new_bep = None
        if op.beparams:
            bep = common.upgrade_beparams(op.beparams)
            common.check_param_keys("backend parameters", bep, C.BEC_DEFAULTS)
            self.new_bep = common.update_params(inst.beparams, bep)
            filled = cluster.filled_beparams(self.new_bep)
            if filled["minmem"] > filled["maxmem"]:
                raise errors.OpPrereqError("Minimum memory (%s) is bigger than the maximum"
                                           " memory (%s)" % (filled["minmem"], filled["maxmem"]),
                                           errors.ECODE_INVAL)
            for key in sorted(bep):
                self.changes.append(["be/%s" % key, bep[key]])
        # hypervisor parameters
        self.new_hvp = None
        if op.hvparams:
            common.check_hv_params(inst.hypervisor, op.hvparams)
            self.new_hvp = common.update_params(inst.hvparams, op.hvparams)
            filled = cluster.filled_hvparams(inst.hypervisor, op.os_name or inst.os,
                                             self.new_hvp)
            from ganeti import hypervisor
            try:
                hypervisor.get_hypervisor(inst.hypervisor).check_parameter_syntax(filled)
            except errors.HypervisorError as err:
                raise errors.OpPrereqError(str(err), errors.ECODE_INVAL)
            if not cfg.get_node_info(inst.primary_node).offline:
                self.rpc.call_one("hypervisor_validate_params",
                                  cfg.node_target(inst.primary_node),
                                  [inst.hypervisor, filled]).raise_for_error(
                    "Hypervisor parameter validation failed", prereq=True,
                    ecode=errors.ECODE_INVAL)
            for key in sorted(op.hvparams):
                self.changes.append(["hv/%s" % key, op.hvparams[key]])
        # OS
        self.new_osp = None
        if op.osparams:
            self.new_osp = common.update_params(inst.osparams, op.osparams)
            for key in sorted(op.osparams):
                self.changes.append(["os/%s" % key, op.osparams[key]])
        self.new_osp_private = None
        if op.osparams_private:
            self.new_osp_private = common.update_params(inst.osparams_private or {},
                                                        op.osparams_private)
        if op.os_name or op.osparams or op.osparams_private:
            os_name = op.os_name or inst.os
            params = cluster.filled_osparams(os_name, self.new_osp or inst.osparams)
            params.update(self.new_osp_private or inst.osparams_private or {})
            if not cfg.get_node_info(inst.primary_node).offline:
                res = self.rpc.call_one("os_validate", cfg.node_target(inst.primary_node),
                                        [True, os_name, ["parameters"], params,
                                         op.force_variant])
                if res.fail_msg:
                    raise errors.OpPrereqError("OS Parameters validation failed on node %s: %s"
                                               % (res.node, res.fail_msg), errors.ECODE_INVAL)
            if op.os_name:
                self.changes.append(["os", op.os_name])
        # offline / online
        if op.offline is not None:
            if op.offline and inst.admin_state == C.ADMINST_UP:
                raise errors.OpPrereqError("Instance %s is marked to be up, cannot mark it"
                                           " offline" % inst.name, errors.ECODE_STATE)
            if op.offline is False and inst.admin_state != C.ADMINST_OFFLINE:
                raise errors.OpPrereqError("Instance %s is not offline" % inst.name,
                                           errors.ECODE_STATE)
        # primary node
        self.new_pnode = None
        if op.pnode:
            node_uuid, name = self.expand_node(op.pnode)
            if node_uuid != inst.primary_node:
                if template not in (C.DT_DISKLESS, C.DT_FILE, C.DT_SHARED_FILE, C.DT_BLOCK,
                                    C.DT_EXT):
                    raise errors.OpPrereqError("Changing the primary node is not possible for"
                                               " the '%s' disk template" % template,
                                               errors.ECODE_INVAL)
                self.check_node_online(node_uuid)
                self.check_instance_down(inst, "cannot change primary node")
                self.new_pnode = node_uuid
                self.changes.append(["pnode", name])
        self._check_nic_mods(cluster, inst)
        self._check_disk_mods(template, inst)

    def _check_nic_mods(self, cluster, inst) -> None:
        from ganeti.cmdlib import instance_utils
        count = len(inst.nics)
        used = {n.mac for i in list(self.cfg.data.instances.values()) for n in i.nics}
        self.nic_plan = []
        for op, idx, params in self.nic_mods:
            bad = sorted(set(params) - _NIC_MOD_KEYS)
            if bad:
                raise errors.OpPrereqError("Invalid NIC parameter(s): %s" % ", ".join(bad),
                                           errors.ECODE_INVAL)
            if params.get("network"):
                raise errors.OpPrereqError("Networks are not supported yet", errors.ECODE_INVAL)
            if op == _ADD:
                idx = _index(idx, count, "NIC", adding=True)
                count += 1
            else:
                idx = _index(idx, count, "NIC")
                if op == _REMOVE:
                    count -= 1
            if op in (_ADD, _MODIFY):
                probe = dict(params)
                if op == _MODIFY:
                    nic = inst.nics[idx] if idx < len(inst.nics) else None
                    if nic is not None:
                        merged = dict(nic.nicparams, **{k: v for k, v in params.items()
                                                        if k in ("mode", "link", "vlan")})
                        probe = dict(merged, ip=params.get("ip", nic.ip))
                if str(probe.get("ip", "")).lower() == "none":
                    probe["ip"] = None
                instance_utils.check_nic_params(cluster, probe)
                mac = params.get("mac")
                if mac and mac not in (C.VALUE_AUTO, C.VALUE_GENERATE):
                    params["mac"] = instance_utils.check_mac(mac)
                    if params["mac"] in used:
                        raise errors.OpPrereqError("MAC address %s already in use in cluster"
                                                   % params["mac"], errors.ECODE_NOTUNIQUE)
            self.nic_plan.append((op, idx, params))

    def _check_disk_mods(self, template: str, inst) -> None:
        count = len(inst.disks)
        self.disk_plan = []
        for op, idx, params in self.disk_mods:
            if op == _ADD:
                if template == C.DT_DISKLESS:
                    raise errors.OpPrereqError("Cannot add disks to a diskless instance",
                                               errors.ECODE_INVAL)
                idx = _index(idx, count, "disk", adding=True)
                if idx != count:
                    raise errors.OpPrereqError("New disks can only be added at the end",
                                               errors.ECODE_INVAL)
                spec = parse_disks(template, [params])[0]
                count += 1
                self.disk_plan.append((op, idx, spec))
                continue
            idx = _index(idx, count, "disk")
            if op == _REMOVE:
                if count == 1:
                    raise errors.OpPrereqError("Cannot remove the last disk of an instance",
                                               errors.ECODE_INVAL)
                if self.running is None:
                    self.running = bool(self.live_info(inst))
                if self.running:
                    raise errors.OpPrereqError("Cannot remove disks of a running instance"
                                               " without hotplug", errors.ECODE_STATE)
                count -= 1
            else:
                bad = sorted(set(params) - {"name", "mode"})
                if bad:
                    raise errors.OpPrereqError("Disk modification doesn't support"
                                               " parameter(s) %s" % ", ".join(bad),
                                               errors.ECODE_INVAL)
                if params.get("mode", C.DISK_RDWR) not in (C.DISK_RDWR, C.DISK_RDONLY):
                    raise errors.OpPrereqError("Invalid disk access mode '%s'" % params["mode"],
                                               errors.ECODE_INVAL)
            self.disk_plan.append((op, idx, params))

    # execution ----------------------------------------------------------------
    def exec(self, feedback_fn):
        op, cfg = self.op, self.cfg
        inst = self.instance
        self._apply_disks(inst)
        with cfg.lock:
            if self.new_bep is not None:
                inst.beparams = self.new_bep
            if self.new_hvp is not None:
                inst.hvparams = self.new_hvp
            if self.new_osp is not None:
                inst.osparams = self.new_osp
            if self.new_osp_private is not None:
                inst.osparams_private = self.new_osp_private
            if op.os_name:
                inst.os = op.os_name
            if op.offline is True:
                inst.admin_state = C.ADMINST_OFFLINE
                self.changes.append(["admin_state", C.ADMINST_OFFLINE])
            elif op.offline is False:
                inst.admin_state = C.ADMINST_DOWN
                self.changes.append(["admin_state", C.ADMINST_DOWN])
            if self.new_pnode:
                inst.primary_node = self.new_pnode
                for disk in cfg.get_instance_disks(inst.uuid):
                    disk.nodes = [self.new_pnode]
                    objects.touch(disk)
            self._apply_nics(inst)
            objects.touch(inst)
            cfg.write()
        return self.changes

    def _apply_nics(self, inst) -> None:
        from ganeti.cmdlib import instance_utils
        used = {n.mac for i in list(self.cfg.data.instances.values()) for n in i.nics}
        for op, idx, params in self.nic_plan:
            if op == _REMOVE:
                inst.nics.pop(idx)
                self.changes.append(["nic.%d" % idx, "remove"])
                continue
            if op == _ADD:
                mac = params.get("mac")
                if not mac or mac in (C.VALUE_AUTO, C.VALUE_GENERATE):
                    mac = instance_utils.generate_mac(self.cfg, reserved=used)
                used.add(mac)
                nic = objects.NIC(mac=mac, ip=params.get("ip"), network=None,
                                  nicparams={k: params[k] for k in ("mode", "link", "vlan")
                                             if params.get(k)},
                                  name=params.get("name"), uuid=objects.new_uuid())
                inst.nics.insert(idx, nic)
                self.changes.append(["nic.%d" % idx, "add:mac=%s,ip=%s,mode=%s,link=%s" % (
                    nic.mac, nic.ip, self.cfg.get_cluster_info().filled_nicparams(
                        nic.nicparams)["mode"], self.cfg.get_cluster_info().filled_nicparams(
                        nic.nicparams)["link"])])
                continue
            nic = inst.nics[idx]
            for key, value in params.items():
                if key in ("mode", "link", "vlan"):
                    nic.nicparams = common.update_params(nic.nicparams, {key: value})
                elif key == "mac":
                    nic.mac = instance_utils.generate_mac(self.cfg, reserved=used) \
                        if value in (C.VALUE_AUTO, C.VALUE_GENERATE) else value
                elif key == "ip":
                    nic.ip = None if str(value).lower() == "none" else value
                else:
                    setattr(nic, key, value)
                self.changes.append(["nic.%s/%d" % (key, idx), getattr(nic, key, value)
                                     if key not in ("mode", "link", "vlan") else value])

    def _apply_disks(self, inst) -> None:
        cfg = self.cfg
        for op, idx, params in self.disk_plan:
            disks = cfg.get_instance_disks(inst.uuid)
            if op == _ADD:
                template = disk_template(cfg, inst)
                disk = objects.Disk(dev_type=template, children=[], nodes=[inst.primary_node],
                                    iv_name="disk/%d" % idx, size=params["size"],
                                    mode=params["mode"], params=dict(params["params"]),
                                    name=params["name"])
                objects.stamp_new(disk)
                ref = disks[0]
                if template in (C.DT_FILE, C.DT_SHARED_FILE):
                    disk.logical_id = [ref.logical_id[0], os.path.join(
                        os.path.dirname(ref.logical_id[1]),
                        "%s.%s.disk%d" % (disk.uuid, template, idx))]
                elif template == C.DT_BLOCK:
                    disk.logical_id = ["manual", params["adopt"]]
                elif template == C.DT_EXT:
                    disk.logical_id = [params["provider"], "%s.ext.disk%d" % (disk.uuid, idx)]
                self.create_disks(inst.name, inst.primary_node, [disk])
                with cfg.lock:
                    cfg.data.disks[disk.uuid] = disk
                    inst.disks.append(disk.uuid)
                    objects.touch(inst)
                    cfg.write()
                if inst.disks_active:
                    self.assemble_disks(inst)
                self.changes.append(["disk/%d" % idx, "add:size=%s,mode=%s" %
                                     (disk.size, disk.mode)])
            elif op == _REMOVE:
                disk = disks[idx]
                res = self.rpc.call_one("blockdev_shutdown", cfg.node_target(inst.primary_node),
                                        [disk.to_dict()])
                if res.fail_msg:
                    self.warn("Could not shutdown disk %s: %s", disk.iv_name, res.fail_msg)
                self.remove_disks(inst.primary_node, [disk], dirs=set())
                with cfg.lock:
                    inst.disks.remove(disk.uuid)
                    cfg.data.disks.pop(disk.uuid, None)
                    for n, other in enumerate(cfg.get_instance_disks(inst.uuid)):
                        other.iv_name = "disk/%d" % n
                    objects.touch(inst)
                    cfg.write()
                self.changes.append(["disk/%d" % idx, "remove"])
            else:
                disk = disks[idx]
                with cfg.lock:
                    for key, value in params.items():
                        setattr(disk, key, copy.deepcopy(value))
                        self.changes.append(["disk.%s/%d" % (key, idx), value])
                    objects.touch(disk)
                    cfg.write()
