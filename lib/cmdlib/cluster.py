"""Cluster-wide logical units: info, post-init, destroy, modify, redist."""

from __future__ import annotations

import functools
import os
import platform
import time

from ganeti import constants, errors, locking, pathutils
from ganeti.cmdlib.base import LogicalUnit, NoHooksLU


@functools.cache
def _architecture() -> list[str]:
    """Cached: platform.architecture() runs file(1) on the interpreter (~7 ms)."""
    return [platform.architecture()[0].replace("bit", "bits"), platform.machine()]


def cluster_info(cfg) -> dict:
    """The QueryClusterInfo / RAPI /2/info dictionary."""
    cluster = cfg.get_cluster_info()
    hvparams = {hv: cluster.filled_hvparams(hv) for hv in constants.HYPER_TYPES}
    for hv, params in cluster.hvparams.items():
        hvparams.setdefault(hv, {}).update(params)
    collectors = cluster.data_collectors or {}
    return {
        "software_version": constants.RELEASE_VERSION,
        "protocol_version": constants.PROTOCOL_VERSION,
        "config_version": constants.CONFIG_VERSION,
        "os_api_version": max(constants.OS_API_VERSIONS),
        "export_version": constants.EXPORT_VERSION,
        "vcs_version": constants.VCS_VERSION,
        "architecture": list(_architecture()),
        "name": cluster.cluster_name,
        "master": cfg.get_master_node_name(),
        "default_hypervisor": cluster.enabled_hypervisors[0],
        "enabled_hypervisors": cluster.enabled_hypervisors,
        "hvparams": cluster.hvparams,
        "os_hvp": cluster.os_hvp,
        "beparams": cluster.beparams,
        "osparams": cluster.osparams,
        "ipolicy": cluster.ipolicy,
        "nicparams": cluster.nicparams,
        "ndparams": cluster.ndparams,
        "diskparams": cluster.diskparams,
        "candidate_pool_size": cluster.candidate_pool_size,
        "max_running_jobs": cluster.max_running_jobs,
        "max_tracked_jobs": cluster.max_tracked_jobs,
        "mac_prefix": cluster.mac_prefix,
        "master_netdev": cluster.master_netdev,
        "master_netmask": cluster.master_netmask,
        "use_external_mip_script": cluster.use_external_mip_script,
        "volume_group_name": cluster.volume_group_name,
        "drbd_usermode_helper": cluster.drbd_usermode_helper,
        "file_storage_dir": cluster.file_storage_dir,
        "shared_file_storage_dir": cluster.shared_file_storage_dir,
        "gluster_storage_dir": cluster.gluster_storage_dir,
        "maintain_node_health": cluster.maintain_node_health,
        "ctime": cluster.ctime,
        "mtime": cluster.mtime,
        "uuid": cluster.uuid,
        "tags": sorted(cluster.tags),
        "uid_pool": cluster.uid_pool,
        "default_iallocator": cluster.default_iallocator,
        "default_iallocator_params": cluster.default_iallocator_params,
        "reserved_lvs": cluster.reserved_lvs,
        "primary_ip_version": 6 if cluster.primary_ip_family == constants.IP6_FAMILY else 4,
        "prealloc_wipe_disks": cluster.prealloc_wipe_disks,
        "hidden_os": cluster.hidden_os,
        "blacklisted_os": cluster.blacklisted_os,
        "enabled_disk_templates": cluster.enabled_disk_templates,
        "install_image": cluster.install_image,
        "instance_communication_network": cluster.instance_communication_network,
        "zeroing_image": cluster.zeroing_image,
        "compression_tools": cluster.compression_tools,
        "enabled_user_shutdown": cluster.enabled_user_shutdown,
        "enabled_data_collectors": {k: v.get("active") for k, v in collectors.items()},
        "data_collector_interval": {k: v.get("interval") for k, v in collectors.items()},
        "modify_ssh_setup": cluster.modify_ssh_setup,
        "ssh_key_type": cluster.ssh_key_type,
        "ssh_key_bits": cluster.ssh_key_bits,
        "vg_name": cluster.volume_group_name,
        "drbd_helper": cluster.drbd_usermode_helper,
    }


def config_values(cfg, fields: list[str]) -> list:
    """QueryConfigValues: small facts clients ask often."""
    cluster = cfg.get_cluster_info()
    out = []
    for field in fields:
        if field == "cluster_name":
            out.append(cluster.cluster_name)
        elif field == "master_node":
            out.append(cfg.get_master_node_name())
        elif field == "drain_flag":
            out.append(os.path.exists(pathutils.JOB_QUEUE_DRAIN_FILE))
        elif field == "watcher_pause":
            out.append(read_watcher_pause())
        elif field == "volume_group_name":
            out.append(cluster.volume_group_name)
        elif field == "modify_ssh_setup":
            out.append(cluster.modify_ssh_setup)
        elif field == "ssh_key_type":
            out.append(cluster.ssh_key_type)
        elif field == "ssh_key_bits":
            out.append(cluster.ssh_key_bits)
        else:
            raise errors.ParameterError(field)
    return out


def read_watcher_pause(now: float | None = None) -> float | None:
    try:
        with open(pathutils.WATCHER_PAUSEFILE, encoding="ascii") as fh:
            value = int(fh.read().strip())
    except (OSError, ValueError):
        return None
    if value < (now or time.time()):
        return None
    return value


class LUClusterQuery(NoHooksLU):
    def expand_names(self) -> None:
        self.needed_locks = {}

    def exec(self, feedback_fn):
        return cluster_info(self.cfg)


class LUClusterConfigQuery(NoHooksLU):
    def expand_names(self) -> None:
        self.needed_locks = {}

    def exec(self, feedback_fn):
        return config_values(self.cfg, self.op.output_fields)


class LUClusterPostInit(LogicalUnit):
    HPATH = "cluster-init"
    HTYPE = "CLUSTER"

    def build_hooks_nodes(self):
        return [], [self.master_uuid()]

    def hooks_target(self):
        return self.cfg.get_cluster_name()

    def exec(self, feedback_fn):
        return True


class LUClusterDestroy(LogicalUnit):
    HPATH = "cluster-destroy"
    HTYPE = "CLUSTER"
    REQ_BGL = True

    def hooks_target(self):
        return self.cfg.get_cluster_name()

    def check_prereq(self) -> None:
        nodes = self.cfg.get_node_list()
        if len(nodes) != 1 or nodes[0] != self.master_uuid():
            raise errors.OpPrereqError("There are still %d node(s) in this cluster." %
                                       (len(nodes) - 1), errors.ECODE_INVAL)
        instances = self.cfg.get_instance_list()
        if instances:
            raise errors.OpPrereqError("There are still %d instance(s) in this cluster." %
                                       len(instances), errors.ECODE_INVAL)

    def exec(self, feedback_fn):
        master = self.master_uuid()
        self.proc.run_hooks(self, constants.HOOKS_PHASE_POST)
        return master


class LUClusterRedistConf(NoHooksLU):
    def expand_names(self) -> None:
        self.needed_locks = {locking.LEVEL_NODE: locking.ALL_SET}
        self.share_all()

    def exec(self, feedback_fn):
        from ganeti.cmdlib import common
        self.cfg.distribute_all()
        common.redist_ancillary_files(self)
        return None


_SIMPLE_SET_PARAMS = (
    "candidate_pool_size", "max_running_jobs", "max_tracked_jobs", "maintain_node_health",
    "prealloc_wipe_disks", "default_iallocator", "default_iallocator_params", "mac_prefix",
    "master_netdev", "master_netmask", "reserved_lvs", "use_external_mip_script",
    "modify_etc_hosts", "file_storage_dir", "shared_file_storage_dir", "gluster_storage_dir",
    "install_image", "instance_communication_network", "zeroing_image", "compression_tools",
    "enabled_user_shutdown", "osparams_private_cluster",
)


class LUClusterSetParams(LogicalUnit):
    HPATH = "cluster-modify"
    HTYPE = "CLUSTER"

    def expand_names(self) -> None:
        self.needed_locks = {locking.LEVEL_NODE: locking.ALL_SET,
                             locking.LEVEL_NODEGROUP: locking.ALL_SET}
        self.share_all()

    def hooks_target(self):
        return self.cfg.get_cluster_name()

    def build_hooks_env(self):
        return {"NEW_VG_NAME": self.op.vg_name if self.op.vg_name is not None else
                (self.cfg.get_cluster_info().volume_group_name or "")}

    def build_hooks_nodes(self):
        master = self.master_uuid()
        return [master], [master]

    def check_prereq(self) -> None:
        from ganeti.cmdlib import common
        op = self.op
        cluster = self.cfg.get_cluster_info()
        if op.candidate_pool_size is not None and op.candidate_pool_size < 1:
            raise errors.OpPrereqError("At least one master candidate needed", errors.ECODE_INVAL)
        if op.max_running_jobs is not None and op.max_running_jobs < 1:
            raise errors.OpPrereqError("max_running_jobs must be positive", errors.ECODE_INVAL)
        if op.max_tracked_jobs is not None and op.max_tracked_jobs < 1:
            raise errors.OpPrereqError("max_tracked_jobs must be positive", errors.ECODE_INVAL)
        if op.mac_prefix is not None:
            common.check_mac_prefix(op.mac_prefix)
        if op.enabled_hypervisors is not None and not op.enabled_hypervisors:
            raise errors.OpPrereqError("Enabled hypervisors list must contain at least one"
                                       " member", errors.ECODE_INVAL)
        if op.enabled_disk_templates is not None:
            if not op.enabled_disk_templates:
                raise errors.OpPrereqError("Enabled disk templates list must contain at least"
                                           " one member", errors.ECODE_INVAL)
            in_use = common.disk_templates_in_use(self.cfg)
            missing = in_use - set(op.enabled_disk_templates)
            if missing:
                raise errors.OpPrereqError("Cannot disable disk template(s) %s: instances use"
                                           " them" % ", ".join(sorted(missing)),
                                           errors.ECODE_STATE)
        if op.hvparams:
            for hv, params in op.hvparams.items():
                common.check_hv_params(hv, params)
        for name, table in (("beparams", constants.BEC_DEFAULTS),
                            ("nicparams", constants.NICC_DEFAULTS),
                            ("ndparams", constants.NDC_DEFAULTS)):
            value = getattr(op, name)
            if value:
                common.check_param_keys(name, value, table)
        if op.diskparams:
            for tmpl, params in op.diskparams.items():
                if tmpl not in constants.DISK_TEMPLATES:
                    raise errors.OpPrereqError("Unknown disk template '%s'" % tmpl,
                                               errors.ECODE_INVAL)
                common.check_param_keys("diskparams/" + tmpl, params,
                                        constants.DISK_DT_DEFAULTS.get(tmpl, {}))
        if op.ipolicy:
            common.check_ipolicy(op.ipolicy)
        self._new_cluster = cluster  # validated above

    def exec(self, feedback_fn):
        from ganeti.cmdlib import common
        op = self.op
        cfg = self.cfg
        changes = []
        with cfg.lock:
            cluster = cfg.get_cluster_info()
            for name in _SIMPLE_SET_PARAMS:
                value = getattr(op, name)
                if value is not None:
                    setattr(cluster, name, value)
                    changes.append(name)
            if op.default_iallocator == "":
                cluster.default_iallocator = ""
            if op.vg_name is not None:
                cluster.volume_group_name = op.vg_name or None
            if op.drbd_helper is not None:
                cluster.drbd_usermode_helper = op.drbd_helper or None
            if op.enabled_hypervisors is not None:
                cluster.enabled_hypervisors = list(op.enabled_hypervisors)
            if op.enabled_disk_templates is not None:
                cluster.enabled_disk_templates = list(op.enabled_disk_templates)
            if op.hvparams:
                for hv, params in op.hvparams.items():
                    cluster.hvparams[hv] = common.update_params(
                        cluster.hvparams.get(hv, {}), params)
            if op.os_hvp:
                for os_name, hvs in op.os_hvp.items():
                    entry = cluster.os_hvp.setdefault(os_name, {})
                    for hv, params in hvs.items():
                        entry[hv] = common.update_params(entry.get(hv, {}), params)
            if op.osparams:
                for os_name, params in op.osparams.items():
                    cluster.osparams[os_name] = common.update_params(
                        cluster.osparams.get(os_name, {}), params)
            if op.beparams:
                cluster.beparams["default"] = common.update_params(
                    cluster.beparams.get("default", {}), common.upgrade_beparams(op.beparams))
            if op.nicparams:
                cluster.nicparams["default"] = common.update_params(
                    cluster.nicparams.get("default", {}), op.nicparams)
            if op.ndparams:
                cluster.ndparams = common.update_params(cluster.ndparams, op.ndparams)
            if op.diskparams:
                for tmpl, params in op.diskparams.items():
                    cluster.diskparams[tmpl] = common.update_params(
                        cluster.diskparams.get(tmpl, {}), params)
            if op.ipolicy:
                cluster.ipolicy = common.update_ipolicy(cluster.ipolicy, op.ipolicy)
            if op.uid_pool is not None:
                cluster.uid_pool = [list(r) for r in op.uid_pool]
            if op.add_uids:
                cluster.uid_pool = cluster.uid_pool + [list(r) for r in op.add_uids]
            if op.remove_uids:
                drop = [list(r) for r in op.remove_uids]
                cluster.uid_pool = [r for r in cluster.uid_pool if list(r) not in drop]
            for attr, mods in (("hidden_os", op.hidden_os), ("blacklisted_os", op.blacklisted_os)):
                if mods:
                    current = list(getattr(cluster, attr))
                    for action, os_name in mods:
                        if action == "add" and os_name not in current:
                            current.append(os_name)
                        elif action == "remove":
                            if os_name not in current:
                                feedback_fn("OS %s not found in %s, ignoring" % (os_name, attr))
                            else:
                                current.remove(os_name)
                    setattr(cluster, attr, current)
            if op.enabled_data_collectors:
                for name, active in op.enabled_data_collectors.items():
                    cluster.data_collectors.setdefault(name, {})["active"] = bool(active)
            if op.data_collector_interval:
                for name, interval in op.data_collector_interval.items():
                    cluster.data_collectors.setdefault(name, {})["interval"] = int(interval)
            if op.hv_state:
                cluster.hv_state_static = common.update_params(cluster.hv_state_static, op.hv_state)
            if op.disk_state:
                cluster.disk_state_static = common.update_params(cluster.disk_state_static,
                                                                 op.disk_state)
            from ganeti.objects import touch
            touch(cluster)
            cfg.write()
        if op.max_running_jobs is not None and self.context.jqueue is not None:
            self.context.jqueue.set_max_workers(op.max_running_jobs)
        if op.candidate_pool_size is not None:
            common.adjust_candidate_pool(self)
        return None


class LUClusterRename(LogicalUnit):
    """Rename the cluster: new name and master IP in config and ssconf everywhere."""

    HPATH = "cluster-rename"
    HTYPE = "CLUSTER"
    REQ_BGL = True

    def hooks_target(self):
        return self.cfg.get_cluster_name()

    def build_hooks_env(self):
        return {"NEW_NAME": self.op.name}

    def build_hooks_nodes(self):
        master = [self.master_uuid()]
        return master, master

    def check_prereq(self) -> None:
        from ganeti import netutils
        try:
            host = netutils.resolve_hostname(self.op.name)
        except errors.ResolverError as err:
            raise errors.OpPrereqError("Cannot resolve new cluster name %s: %s" % (
                self.op.name, err.args[-1]), errors.ECODE_RESOLVER)
        cluster = self.cfg.get_cluster_info()
        if host.name == cluster.cluster_name and host.ip == cluster.master_ip:
            raise errors.OpPrereqError("Neither the name nor the IP address of the cluster"
                                       " has changed", errors.ECODE_INVAL)
        if host.ip != cluster.master_ip and netutils.tcp_ping(
                host.ip, constants.DEFAULT_NODED_PORT, timeout=1.0,
                live_port_needed=netutils.is_loopback(host.ip)):
            raise errors.OpPrereqError("The given cluster IP address (%s) is reachable and"
                                       " is not the current master IP" % host.ip,
                                       errors.ECODE_NOTUNIQUE)
        self.new_name, self.new_ip = host.name, host.ip

    def exec(self, feedback_fn):
        from ganeti.objects import touch
        with self.cfg.lock:
            cluster = self.cfg.get_cluster_info()
            cluster.cluster_name = self.new_name
            cluster.master_ip = self.new_ip
            touch(cluster)
            self.cfg.write()
        return self.new_name
