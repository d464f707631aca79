"""ConfigWriter: the one owner of config.data on the master.

Loads and verifies the file, answers lookups, and writes every change
durably (temp + fsync + rename + dir fsync) with ``serial_no`` bumped,
then replicates the file to master candidates and pushes changed ssconf
values to all online nodes. A write that cannot be replicated fails
loudly: the caller's opcode reports the error.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Iterable

from ganeti import constants, errors, objects, pathutils, serializer
from ganeti.utils import io
from ganeti.utils.text import nice_sort, nice_sort_key

# (procedure, [(name, address, offline)], args) -> {name: result with .fail_msg}
RpcCaller = Callable[[str, list, list], dict]

SSCONF_KEYS = (
    "cluster_name", "cluster_tags", "file_storage_dir", "shared_file_storage_dir",
    "gluster_storage_dir", "master_candidates", "master_candidates_ips",
    "master_candidates_certs", "master_ip", "master_netdev", "master_netmask",
    "master_node", "node_list", "node_primary_ips", "node_secondary_ips", "node_vm_capable",
    "offline_nodes", "online_nodes", "primary_ip_family", "instance_list",
    "release_version", "hypervisor_list", "maintain_node_health", "uid_pool", "nodegroups",
    "networks", "enabled_user_shutdown", "ssh_ports",
) + tuple("hvparams_" + hv for hv in sorted(constants.HYPER_TYPES))


def _fmt_bool(value: Any) -> str:
    return "True" if value else "False"


def load_config_file(path: str = pathutils.CLUSTER_CONF_FILE) -> objects.ConfigData:
    """Read and check config.data; errors name the file and the problem."""
    try:
        raw = io.read_file(path)
    except FileNotFoundError:
        raise errors.ConfigurationError("Cluster configuration file %s not found"
                                        " (not part of a cluster?)" % path)
    except OSError as err:
        raise errors.ConfigurationError("Cannot read %s: %s" % (path, err))
    try:
        data = serializer.loads(raw)
    except ValueError as err:
        raise errors.ConfigurationError("Cluster configuration %s is not valid JSON: %s"
                                        % (path, err))
    if not isinstance(data, dict) or not isinstance(data.get("cluster"), dict):
        raise errors.ConfigurationError("Cluster configuration %s has no cluster object" % path)
    version = data.get("version")
    if version != constants.CONFIG_VERSION:
        raise errors.ConfigVersionMismatch(constants.CONFIG_VERSION, version)
    return objects.ConfigData.from_dict(data)


class ConfigWriter:
    """Thread-safe access to the cluster configuration."""

    def __init__(self, path: str = pathutils.CLUSTER_CONF_FILE,
                 rpc: RpcCaller | None = None, my_name: str | None = None,
                 offline: bool = False):
        self._path = path
        self._rpc = rpc
        self._lock = threading.RLock()
        self._my_name = my_name
        self._last_ssconf: dict[str, str] | None = None
        self._data = load_config_file(path) if not offline else None
        self._reindex()

    # -- internal -----------------------------------------------------
    def _reindex(self) -> None:
        # new dicts, swapped in whole: lookups without the lock never see a half index
        data = self._data
        if data is None:
            self._node_by_name: dict[str, str] = {}
            self._inst_by_name: dict[str, str] = {}
            self._group_by_name: dict[str, str] = {}
            return
        self._node_by_name = {node.name: uuid for uuid, node in data.nodes.items()}
        self._inst_by_name = {inst.name: uuid for uuid, inst in data.instances.items()}
        self._group_by_name = {grp.name: uuid for uuid, grp in data.nodegroups.items()}

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    @property
    def data(self) -> objects.ConfigData:
        return self._data

    # -- verification -------------------------------------------------
    def verify_config(self) -> list[str]:
        """Consistency problems of the loaded configuration (empty = fine)."""
        problems = []
        data = self._data
        cluster = data.cluster
        if cluster.master_node not in data.nodes:
            problems.append("cluster has invalid master node %s" % cluster.master_node)
        for uuid, node in data.nodes.items():
            if node.uuid != uuid:
                problems.append("node %s is indexed by wrong UUID %s" % (node.name, uuid))
            if node.group not in data.nodegroups:
                problems.append("node '%s' has invalid group '%s'" % (node.name, node.group))
        for hv in cluster.enabled_hypervisors or []:
            if hv not in constants.HYPER_TYPES:
                problems.append("enabled hypervisor '%s' is unknown" % hv)
        if not cluster.enabled_hypervisors:
            problems.append("no hypervisors are enabled")
        for tmpl in cluster.enabled_disk_templates or []:
            if tmpl not in constants.DISK_TEMPLATES:
                problems.append("enabled disk template '%s' is unknown" % tmpl)
        for inst in data.instances.values():
            if inst.primary_node not in data.nodes:
                problems.append("instance '%s' has invalid primary node '%s'"
                                % (inst.name, inst.primary_node))
            for disk_uuid in inst.disks:
                if disk_uuid not in data.disks:
                    problems.append("instance '%s' has invalid disk '%s'" % (inst.name, disk_uuid))
        seen: dict[str, str] = {}
        for node in data.nodes.values():
            if node.name in seen:
                problems.append("duplicate node name '%s'" % node.name)
            seen[node.name] = node.uuid
        candidates = [n for n in data.nodes.values() if n.master_candidate]
        if not candidates:
            problems.append("no master candidates")
        return problems

    # -- lookups ------------------------------------------------------
    def get_cluster_info(self) -> objects.Cluster:
        return self._data.cluster

    def get_cluster_name(self) -> str:
        return self._data.cluster.cluster_name

    def get_master_node(self) -> str:
        return self._data.cluster.master_node

    def get_master_node_name(self) -> str:
        return self._data.nodes[self._data.cluster.master_node].name

    def get_master_node_info(self) -> objects.Node:
        return self._data.nodes[self._data.cluster.master_node]

    def get_node_info(self, uuid: str) -> objects.Node | None:
        return self._data.nodes.get(uuid)

    def get_node_info_by_name(self, name: str) -> objects.Node | None:
        uuid = self._node_by_name.get(name)
        return self._data.nodes.get(uuid) if uuid else None

    def get_all_nodes_info(self) -> dict[str, objects.Node]:
        return dict(self._data.nodes)

    def get_node_list(self) -> list[str]:
        return list(self._data.nodes)

    def get_online_node_list(self) -> list[str]:
        return [u for u, n in self._data.nodes.items() if not n.offline]

    def get_master_candidates(self) -> list[objects.Node]:
        return [n for n in self._data.nodes.values() if n.master_candidate]

    def get_nodegroup(self, uuid: str) -> objects.NodeGroup | None:
        return self._data.nodegroups.get(uuid)

    def get_all_nodegroups_info(self) -> dict[str, objects.NodeGroup]:
        return dict(self._data.nodegroups)

    def lookup_node_group(self, name_or_uuid: str | None) -> str:
        if name_or_uuid is None:
            return next(iter(self._data.nodegroups))
        if name_or_uuid in self._data.nodegroups:
            return name_or_uuid
        uuid = self._group_by_name.get(name_or_uuid)
        if uuid is None:
            raise errors.OpPrereqError("Group '%s' not found" % name_or_uuid,
                                       errors.ECODE_NOENT)
        return uuid

    def get_instance_info(self, uuid: str) -> objects.Instance | None:
        return self._data.instances.get(uuid)

    def get_all_instances_info(self) -> dict[str, objects.Instance]:
        return dict(self._data.instances)

    def get_instance_list(self) -> list[str]:
        return list(self._data.instances)

    def get_instance_disks(self, inst_uuid: str) -> list[objects.Disk]:
        """The instance's disks in index order (config 3.0 keeps them top-level)."""
        inst = self._data.instances[inst_uuid]
        return [self._data.disks[d] for d in inst.disks if d in self._data.disks]

    def get_disk_info(self, uuid: str) -> objects.Disk | None:
        return self._data.disks.get(uuid)

    def get_instance_by_name(self, name: str) -> objects.Instance | None:
        uuid = self._inst_by_name.get(name)
        return self._data.instances.get(uuid) if uuid else None

    def expand_node_name(self, short: str) -> tuple[str, str] | None:
        """(uuid, full name) for a node named exactly or by a unique prefix."""
        return self._expand(short, self._node_by_name, self._data.nodes)

    def expand_instance_name(self, short: str) -> tuple[str, str] | None:
        return self._expand(short, self._inst_by_name, self._data.instances)

    @staticmethod
    def _expand(short: str, by_name: dict, by_uuid: dict) -> tuple[str, str] | None:
        if short in by_name:
            return by_name[short], short
        if short in by_uuid:
            return short, by_uuid[short].name
        matches = [n for n in by_name if n.startswith(short + ".")]
        if len(matches) == 1:
            return by_name[matches[0]], matches[0]
        return None

    def node_target(self, uuid: str) -> tuple[str, str, bool]:
        node = self._data.nodes[uuid]
        return (node.name, node.primary_ip, bool(node.offline))

    def node_targets(self, uuids: Iterable[str]) -> list[tuple[str, str, bool]]:
        return [self.node_target(u) for u in uuids]

    def get_ssconf_values(self) -> dict[str, str]:
        data = self._data
        cluster = data.cluster
        nodes = sorted(data.nodes.values(), key=lambda n: nice_sort_key(n.name))
        mcs = [n for n in nodes if n.master_candidate]
        online = [n.name for n in nodes if not n.offline]
        offline = [n.name for n in nodes if n.offline]

        def lines(items: Iterable[str]) -> str:
            return "\n".join(items)

        hv_values = {}
        for hv in constants.HYPER_TYPES:
            params = cluster.filled_hvparams(hv)
            hv_values["hvparams_" + hv] = lines(
                "%s=%s" % (k, _fmt_bool(v) if isinstance(v, bool) else v)
                for k, v in sorted(params.items()))
        values = {
            "cluster_name": cluster.cluster_name,
            "cluster_tags": lines(sorted(cluster.tags)),
            "file_storage_dir": cluster.file_storage_dir or "",
            "shared_file_storage_dir": cluster.shared_file_storage_dir or "",
            "gluster_storage_dir": cluster.gluster_storage_dir or "",
            "master_candidates": lines(n.name for n in mcs),
            "master_candidates_ips": lines(n.primary_ip for n in mcs),
            "master_candidates_certs": lines("%s=%s" % (k, v) for k, v in
                                             sorted(cluster.candidate_certs.items())),
            "master_ip": cluster.master_ip or "",
            "master_netdev": cluster.master_netdev or "",
            "master_netmask": str(cluster.master_netmask),
            "master_node": data.nodes[cluster.master_node].name,
            "node_list": lines(n.name for n in nodes),
            "node_primary_ips": lines("%s %s" % (n.name, n.primary_ip) for n in nodes),
            "node_secondary_ips": lines("%s %s" % (n.name, n.secondary_ip) for n in nodes),
            "node_vm_capable": lines("%s=%s" % (n.name, _fmt_bool(n.vm_capable)) for n in nodes),
            "offline_nodes": lines(offline),
            "online_nodes": lines(online),
            "primary_ip_family": str(cluster.primary_ip_family),
            "instance_list": lines(nice_sort(i.name for i in data.instances.values())),
            "release_version": constants.RELEASE_VERSION,
            "hypervisor_list": lines(cluster.enabled_hypervisors),
            "maintain_node_health": _fmt_bool(cluster.maintain_node_health),
            "uid_pool": lines(("%d" % lo) if lo == hi else ("%d-%d" % (lo, hi))
                              for lo, hi in cluster.uid_pool),
            "nodegroups": lines("%s %s" % (g.uuid, g.name) for g in
                                data.nodegroups.values()),
            "networks": lines("%s %s" % (n.uuid, n.name) for n in data.networks.values()),
            "enabled_user_shutdown": _fmt_bool(cluster.enabled_user_shutdown),
            "ssh_ports": lines("%s=%s" % (n.name, cluster.filled_ndparams(
                data.nodegroups.get(n.group).ndparams if n.group in data.nodegroups else None,
                n.ndparams)["ssh_port"]) for n in nodes),
        }
        values.update(hv_values)
        return values

    # -- writing ------------------------------------------------------
    def write(self, feedback: Callable[[str], None] | None = None) -> None:
        """Persist the current in-memory configuration and distribute it.

        Callers mutate objects under :attr:`lock` and then call this; it
        bumps serial numbers, writes durably, replicates config.data to
        the other master candidates and pushes changed ssconf values.
        """
        with self._lock:
            data = self._data
            data.serial_no = (data.serial_no or 0) + 1
            data.mtime = time.time()
            self._reindex()
            blob = serializer.dump_json(data.to_dict())
            io.write_file_atomic(self._path, blob, mode=0o640)
            self._distribute(blob)

    def _other_nodes(self, candidates_only: bool) -> list[tuple[str, str, bool]]:
        master = self._data.cluster.master_node
        out = []
        for uuid, node in self._data.nodes.items():
            if uuid == master or node.offline:
                continue
            if candidates_only and not node.master_candidate:
                continue
            out.append((node.name, node.primary_ip, False))
        return out

    def _distribute(self, blob: bytes) -> None:
        failures = []
        if self._rpc is not None:
            mcs = self._other_nodes(candidates_only=True)
            if mcs:
                from ganeti.rpc import client as rpc_client
                args = [pathutils.strip_root(self._path), rpc_client.encode_file(blob),
                        0o640, None, None, time.time(), time.time()]
                results = self._rpc("upload_file", mcs, args)
                failures.extend("%s: %s" % (name, res.fail_msg)
                                for name, res in results.items() if res.fail_msg)
        values = self.get_ssconf_values()
        if values != self._last_ssconf:
            from ganeti import ssconf
            ssconf.write_ssconf_files(values)
            if self._rpc is not None:
                others = self._other_nodes(candidates_only=False)
                if others:
                    results = self._rpc("write_ssconf_files", others, [values])
                    failures.extend("%s: %s" % (name, res.fail_msg)
                                    for name, res in results.items() if res.fail_msg)
            self._last_ssconf = values
        if failures:
            msg = "Configuration distribution failed on %s" % "; ".join(failures)
            logging.error(msg)
            raise errors.OpExecError(msg)

    def distribute_all(self) -> None:
        """Force a full redistribution (redist-conf)."""
        with self._lock:
            self._last_ssconf = None
            blob = serializer.dump_json(self._data.to_dict())
            self._distribute(blob)

    def set_data(self, data: objects.ConfigData) -> None:
        with self._lock:
            self._data = data
            self._reindex()
