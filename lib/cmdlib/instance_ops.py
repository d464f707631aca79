"""Instance lifecycle: remove, start, stop, reboot, reinstall, rename, console.

The admin state (what the administrator wants, in the configuration) is
changed first and the node is asked second, so a failing node leaves the
instance in an ``ERROR_*`` status the watcher and the admin can see,
never silently in the wrong admin state.
"""

from __future__ import annotations

import os

from ganeti import constants, errors, locking, netutils, objects
from ganeti.cmdlib import common
from ganeti.cmdlib.instance_common import (InstanceLU, disk_dir, instance_console,
                                           instance_rpc_dict)
from ganeti.cmdlib.instance_create import check_instance_name

C = constants


class LUInstanceRemove(InstanceLU):
    HPATH = "instance-remove"

    def extra_hooks_env(self) -> dict:
        return {"SHUTDOWN_TIMEOUT": self.op.shutdown_timeout}

    def build_hooks_nodes(self) -> tuple[list[str], list[str]]:
        nodes = super().build_hooks_nodes()[1]
        return [self.master_uuid()], nodes

    def exec(self, feedback_fn):
        inst = self.instance
        pnode = self.cfg.get_node_info(inst.primary_node)
        self.log_info("Shutting down instance %s on node %s" % (inst.name, pnode.name))
        if not self.stop_on_primary(inst, self.op.shutdown_timeout,
                                    fail=not self.op.ignore_failures):
            if not self.op.ignore_failures and not pnode.offline:
                raise errors.OpExecError("Could not shutdown instance %s on node %s" %
                                         (inst.name, pnode.name))
        disks = self.cfg.get_instance_disks(inst.uuid)
        if disks:
            self.log_info("Removing block devices for instance %s" % inst.name)
            self.shutdown_disks(inst)
            if not pnode.offline and not self.remove_disks(pnode.uuid, disks):
                if not self.op.ignore_failures:
                    raise errors.OpExecError("Could not remove block devices")
        self.log_info("Removing instance %s out of cluster config" % inst.name)
        with self.cfg.lock:
            for disk in disks:
                self.cfg.data.disks.pop(disk.uuid, None)
            self.cfg.data.instances.pop(inst.uuid, None)
            if inst.network_port:
                self.cfg.get_cluster_info().tcpudp_port_pool.append(inst.network_port)
            self.cfg.write()
        self.rpc.call_one("instance_cleanup", self.cfg.node_target(pnode.uuid),
                          [inst.name, inst.hypervisor])
        self.glm.remove(locking.LEVEL_INSTANCE, [inst.uuid])


class LUInstanceStartup(InstanceLU):
    HPATH = "instance-start"
    NODE_LOCKS_SHARED = True

    def extra_hooks_env(self) -> dict:
        return {"FORCE": self.op.force}

    def check_prereq(self) -> None:
        inst = self.instance
        cluster = self.cfg.get_cluster_info()
        if inst.admin_state == C.ADMINST_OFFLINE:
            raise errors.OpPrereqError("Instance '%s' is marked offline, can't start it" %
                                       inst.name, errors.ECODE_STATE)
        self.bep = common.upgrade_beparams(dict(self.op.beparams or {}))
        if self.bep:
            common.check_param_keys("backend parameters", self.bep, C.BEC_DEFAULTS)
        self.hvp = dict(self.op.hvparams or {})
        if self.hvp:
            common.check_hv_params(inst.hypervisor, self.hvp)
            filled = cluster.filled_hvparams(inst.hypervisor, inst.os,
                                             dict(inst.hvparams, **self.hvp))
            from ganeti import hypervisor
            try:
                hypervisor.get_hypervisor(inst.hypervisor).check_parameter_syntax(filled)
            except errors.HypervisorError as err:
                raise errors.OpPrereqError(str(err), errors.ECODE_INVAL)
        node = self.cfg.get_node_info(inst.primary_node)
        self.primary_offline = node.offline
        if node.offline:
            if not self.op.ignore_offline_nodes:
                raise errors.OpPrereqError("Cannot start instance %s: its primary node %s is"
                                           " offline" % (inst.name, node.name),
                                           errors.ECODE_STATE)
            if self.hvp or self.bep:
                raise errors.OpPrereqError("Cannot use parameter overrides with an offline"
                                           " primary node", errors.ECODE_INVAL)
            self.running = False
            return
        self.running = bool(self.live_info(inst))
        if not self.running and inst.hypervisor != C.HT_FAKE:
            self.check_free_memory(inst, inst.primary_node,
                                   dict(inst.beparams, **self.bep))

    def exec(self, feedback_fn):
        inst = self.instance
        if not self.op.no_remember:
            self.set_admin_state(inst, C.ADMINST_UP)
        if self.primary_offline:
            self.log_info("Primary node offline, marked instance as started")
            return None
        if self.running:
            self.log_info("Instance %s is already running" % inst.name)
            return None
        self.start_on_primary(inst, self.hvp, self.bep, self.op.startup_paused)
        return None


class LUInstanceShutdown(InstanceLU):
    HPATH = "instance-stop"
    NODE_LOCKS_SHARED = True

    def extra_hooks_env(self) -> dict:
        return {"TIMEOUT": self.op.timeout}

    def check_prereq(self) -> None:
        inst = self.instance
        node = self.cfg.get_node_info(inst.primary_node)
        if node.offline and not self.op.ignore_offline_nodes:
            raise errors.OpPrereqError("Cannot shut down instance %s: its primary node %s is"
                                       " offline" % (inst.name, node.name), errors.ECODE_STATE)
        if inst.admin_state == C.ADMINST_OFFLINE and not self.op.force:
            raise errors.OpPrereqError("Instance '%s' is marked offline" % inst.name,
                                       errors.ECODE_STATE)

    def exec(self, feedback_fn):
        inst = self.instance
        source = self.op.admin_state_source or C.ADMIN_SOURCE
        if not self.op.no_remember and inst.admin_state != C.ADMINST_OFFLINE:
            self.set_admin_state(inst, C.ADMINST_DOWN, source)
        node = self.cfg.get_node_info(inst.primary_node)
        if node.offline:
            self.log_info("Primary node offline, marked instance as stopped")
            return None
        self.stop_on_primary(inst, self.op.timeout)
        self.shutdown_disks(inst)
        return None


class LUInstanceReboot(InstanceLU):
    HPATH = "instance-reboot"
    NODE_LOCKS_SHARED = True

    def extra_hooks_env(self) -> dict:
        return {"IGNORE_SECONDARIES": self.op.ignore_secondaries,
                "REBOOT_TYPE": self.op.reboot_type,
                "SHUTDOWN_TIMEOUT": self.op.shutdown_timeout}

    def check_prereq(self) -> None:
        inst = self.instance
        if inst.admin_state == C.ADMINST_OFFLINE:
            raise errors.OpPrereqError("Instance '%s' is marked offline, can't reboot it" %
                                       inst.name, errors.ECODE_STATE)
        self.check_node_online(inst.primary_node, "Cannot reboot instance, primary node is"
                               " offline")
        self.running = bool(self.live_info(inst))

    def exec(self, feedback_fn):
        inst = self.instance
        target = self.cfg.node_target(inst.primary_node)
        if self.running and self.op.reboot_type in (C.INSTANCE_REBOOT_SOFT,
                                                    C.INSTANCE_REBOOT_HARD):
            self.rpc.call_one("instance_reboot", target,
                              [instance_rpc_dict(self.cfg, inst), self.op.reboot_type,
                               self.op.shutdown_timeout, self.reason()]).raise_for_error(
                "Could not reboot instance")
        else:
            if self.running:
                self.rpc.call_one("instance_shutdown", target,
                                  [instance_rpc_dict(self.cfg, inst), self.op.shutdown_timeout,
                                   self.reason()]).raise_for_error(
                    "Could not shutdown instance for full reboot")
                self.shutdown_disks(inst)
            else:
                self.log_info("Instance %s was already stopped, starting now" % inst.name)
            self.start_on_primary(inst)
        self.set_admin_state(inst, C.ADMINST_UP)
        return None


class LUInstanceReinstall(InstanceLU):
    HPATH = "instance-reinstall"

    def check_prereq(self) -> None:
        inst = self.instance
        self.check_node_online(inst.primary_node, "Instance primary node offline, cannot"
                               " reinstall")
        self.check_instance_down(inst, "cannot reinstall")
        self.os_name = self.op.os_type or inst.os
        if not self.os_name:
            raise errors.OpPrereqError("Instance %s has no OS and none was given" % inst.name,
                                       errors.ECODE_INVAL)
        cluster = self.cfg.get_cluster_info()
        params = cluster.filled_osparams(self.os_name, dict(inst.osparams,
                                                            **(self.op.osparams or {})))
        params.update(self.op.osparams_private or {})
        params.update(self.op.osparams_secret or {})
        res = self.rpc.call_one("os_validate", self.cfg.node_target(inst.primary_node),
                                [True, self.os_name, ["parameters"], params,
                                 self.op.force_variant])
        if res.fail_msg:
            raise errors.OpPrereqError("OS Parameters validation failed on node %s: %s" %
                                       (res.node, res.fail_msg), errors.ECODE_INVAL)

    def exec(self, feedback_fn):
        inst = self.instance
        with self.cfg.lock:
            inst.os = self.os_name
            if self.op.osparams is not None:
                inst.osparams = common.update_params(inst.osparams, self.op.osparams)
            if self.op.osparams_private is not None:
                inst.osparams_private = common.update_params(inst.osparams_private or {},
                                                             self.op.osparams_private)
            objects.touch(inst)
            self.cfg.write()
        self.assemble_disks(inst)
        try:
            self.log_info("Running the instance OS create scripts...")
            osp = dict(self.op.osparams_secret or {})
            res = self.rpc.call_one("instance_os_add", self.cfg.node_target(inst.primary_node),
                                    [dict(instance_rpc_dict(self.cfg, inst, osp=osp),
                                          force_variant=self.op.force_variant),
                                     True, self.op.debug_level or 0])
            res.raise_for_error("Could not install OS for instance %s on node %s" %
                                (inst.name, res.node))
        finally:
            self.shutdown_disks(inst)


class LUInstanceRename(InstanceLU):
    HPATH = "instance-rename"

    def extra_hooks_env(self) -> dict:
        return {"INSTANCE_NEW_NAME": self.op.new_name}

    def check_prereq(self) -> None:
        inst = self.instance
        self.check_node_online(inst.primary_node)
        self.check_instance_down(inst, "cannot rename")
        new = check_instance_name(self.op.new_name)
        if self.op.name_check:
            try:
                info = netutils.resolve_hostname(new)
            except errors.ResolverError as err:
                raise errors.OpPrereqError("Cannot resolve new name '%s': %s" % (new, err),
                                           errors.ECODE_RESOLVER)
            new = info.name
            if self.op.ip_check and netutils.tcp_ping(info.ip, C.DEFAULT_NODED_PORT):
                raise errors.OpPrereqError("IP %s of instance %s already in use" %
                                           (info.ip, new), errors.ECODE_NOTUNIQUE)
        if new != inst.name and self.cfg.get_instance_by_name(new) is not None:
            raise errors.OpPrereqError("Instance '%s' is already in the cluster" % new,
                                       errors.ECODE_EXISTS)
        self.new_name = new

    def exec(self, feedback_fn):
        inst = self.instance
        old_name = inst.name
        target = self.cfg.node_target(inst.primary_node)
        disks = self.cfg.get_instance_disks(inst.uuid)
        renames = []
        for disk in disks:
            if disk.dev_type in (C.DT_FILE, C.DT_SHARED_FILE):
                old_dir = disk_dir(disk)
                if os.path.basename(old_dir) == old_name:
                    new_dir = os.path.join(os.path.dirname(old_dir), self.new_name)
                    if (old_dir, new_dir) not in renames:
                        renames.append((old_dir, new_dir))
        for old_dir, new_dir in renames:
            self.rpc.call_one("file_storage_dir_rename", target,
                              [old_dir, new_dir]).raise_for_error(
                "Could not rename on node %s directory '%s' to '%s' (but the instance has"
                " been renamed in Ganeti)" % (target[0], old_dir, new_dir))
        with self.cfg.lock:
            for disk in disks:
                for old_dir, new_dir in renames:
                    if disk_dir(disk) == old_dir:
                        disk.logical_id = [disk.logical_id[0], os.path.join(
                            new_dir, os.path.basename(disk.logical_id[1]))]
                        objects.touch(disk)
            inst.name = self.new_name
            objects.touch(inst)
            self.cfg.write()
        self.rpc.call_one("instance_cleanup", target, [old_name, inst.hypervisor])
        if inst.os:
            self.assemble_disks(inst)
            try:
                res = self.rpc.call_one("instance_run_rename", target,
                                        [instance_rpc_dict(self.cfg, inst), old_name,
                                         self.op.debug_level or 0])
                if res.fail_msg:
                    self.log_warning("Could not run OS rename script for instance %s on node"
                                     " %s (but the instance has been renamed in Ganeti): %s" %
                                     (inst.name, target[0], res.fail_msg))
            finally:
                self.shutdown_disks(inst)
        return inst.name


class LUInstanceConsole(InstanceLU):
    NODE_LOCKS_SHARED = True

    def check_prereq(self) -> None:
        inst = self.instance
        self.check_node_online(inst.primary_node)

    def exec(self, feedback_fn):
        inst = self.instance
        info = self.live_info(inst)
        if not info:
            if inst.admin_state == C.ADMINST_UP:
                state = C.INSTST_ERRORDOWN
            elif inst.admin_state == C.ADMINST_DOWN:
                state = C.INSTST_ADMINDOWN
            else:
                state = C.INSTST_ADMINOFFLINE
            raise errors.OpExecError("Instance %s is not running (state %s)" %
                                     (inst.name, state))
        return instance_console(self.cfg, inst)
