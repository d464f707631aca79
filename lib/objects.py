"""Configuration objects with lossless dict round trips.

Each class lists the keys it knows (``FIELDS``); keys found in a loaded
``config.data`` that the class does not know are kept in ``_extra`` and
written back untouched, so a newer or older Ganeti's additions survive.
"""

from __future__ import annotations

import copy
import time
import uuid as uuidmod
from typing import Any, ClassVar

from ganeti import constants


def new_uuid() -> str:
    return str(uuidmod.uuid4())


class ConfigObject:
    FIELDS: ClassVar[tuple[str, ...]] = ()
    CHILDREN: ClassVar[dict[str, Any]] = {}   # key -> (kind, class); kind "list" or "dict"

    def __init__(self, **kwargs: Any):
        self._extra: dict[str, Any] = {}
        for name in self.FIELDS:
            setattr(self, name, None)
        for key, value in kwargs.items():
            if key in self.FIELDS:
                setattr(self, key, value)
            else:
                self._extra[key] = value

    @classmethod
    def from_dict(cls, data: dict) -> "ConfigObject":
        obj = cls.__new__(cls)
        obj._extra = {}
        for name in cls.FIELDS:
            setattr(obj, name, None)
        for key, value in data.items():
            if key in cls.FIELDS:
                child = cls.CHILDREN.get(key)
                if child is not None and value is not None:
                    kind, ccls = child
                    if kind == "list":
                        value = [ccls.from_dict(v) for v in value]
                    else:
                        value = {k: ccls.from_dict(v) for k, v in value.items()}
                setattr(obj, key, value)
            else:
                obj._extra[key] = value
        obj.upgrade()
        return obj

    def to_dict(self) -> dict:
        out: dict[str, Any] = {}
        for name in self.FIELDS:
            value = getattr(self, name)
            if value is None and name not in self._always():
                continue
            child = self.CHILDREN.get(name)
            if child is not None and value is not None:
                kind, _ = child
                if kind == "list":
                    value = [v.to_dict() for v in value]
                else:
                    value = {k: v.to_dict() for k, v in value.items()}
            elif isinstance(value, ConfigObject):
                value = value.to_dict()
            out[name] = value
        out.update(self._extra)
        return out

    def _always(self) -> frozenset:
        return frozenset()

    def upgrade(self) -> None:
        """Fill keys that older configurations lack."""

    def copy(self) -> "ConfigObject":
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        name = getattr(self, "name", None) or getattr(self, "uuid", None)
        return "<%s %s>" % (type(self).__name__, name)


class TaggableObject(ConfigObject):
    def get_tags(self) -> set[str]:
        if self.tags is None:
            self.tags = []
        return set(self.tags)

    def add_tag(self, tag: str) -> None:
        tags = self.get_tags()
        tags.add(tag)
        self.tags = sorted(tags)

    def remove_tag(self, tag: str) -> None:
        tags = self.get_tags()
        tags.discard(tag)
        self.tags = sorted(tags)


_TS = ("ctime", "mtime", "uuid", "serial_no")


def stamp_new(obj: ConfigObject) -> None:
    """Set the bookkeeping keys of a freshly created object."""
    now = time.time()
    if not getattr(obj, "uuid", None):
        obj.uuid = new_uuid()
    obj.ctime = now
    obj.mtime = now
    obj.serial_no = 1
    if "tags" in obj.FIELDS and obj.tags is None:
        obj.tags = []


def touch(obj: ConfigObject) -> None:
    """Mark an object modified: bump its serial and mtime."""
    obj.serial_no = (obj.serial_no or 0) + 1
    obj.mtime = time.time()


class NIC(ConfigObject):
    FIELDS = ("mac", "ip", "network", "nicparams", "netinfo", "name", "uuid")


class Disk(ConfigObject):
    FIELDS = ("dev_type", "logical_id", "children", "nodes", "iv_name", "size", "mode",
              "params", "spindles", "name", "forthcoming") + _TS

    def upgrade(self) -> None:
        if self.children is None:
            self.children = []
        if self.params is None:
            self.params = {}


Disk.CHILDREN = {"children": ("list", Disk)}


class Instance(TaggableObject):
    FIELDS = ("name", "primary_node", "os", "hypervisor", "hvparams", "beparams", "osparams",
              "osparams_private", "admin_state", "admin_state_source", "nics", "disks",
              "disks_active", "network_port", "forthcoming", "tags") + _TS
    CHILDREN = {"nics": ("list", NIC)}

    def upgrade(self) -> None:
        for key in ("hvparams", "beparams", "osparams", "osparams_private"):
            if getattr(self, key) is None:
                setattr(self, key, {})
        if self.nics is None:
            self.nics = []
        if self.disks is None:
            self.disks = []
        if self.tags is None:
            self.tags = []
        if self.admin_state_source is None:
            self.admin_state_source = constants.ADMIN_SOURCE


class Node(TaggableObject):
    FIELDS = ("name", "primary_ip", "secondary_ip", "master_candidate", "offline", "drained",
              "group", "master_capable", "vm_capable", "ndparams", "powered",
              "hv_state_static", "disk_state_static", "tags") + _TS

    def upgrade(self) -> None:
        if self.ndparams is None:
            self.ndparams = {}
        if self.tags is None:
            self.tags = []
        for key, default in (("master_capable", True), ("vm_capable", True),
                             ("powered", True), ("offline", False), ("drained", False),
                             ("master_candidate", False)):
            if getattr(self, key) is None:
                setattr(self, key, default)


class NodeGroup(TaggableObject):
    FIELDS = ("name", "members", "ndparams", "alloc_policy", "ipolicy", "diskparams",
              "networks", "hv_state_static", "disk_state_static", "tags") + _TS

    def upgrade(self) -> None:
        for key in ("ndparams", "ipolicy", "diskparams", "networks"):
            if getattr(self, key) is None:
                setattr(self, key, {})
        if self.members is None:
            self.members = []
        if self.alloc_policy is None:
            self.alloc_policy = "preferred"
        if self.tags is None:
            self.tags = []


class Network(TaggableObject):
    FIELDS = ("name", "network", "gateway", "network6", "gateway6", "mac_prefix",
              "reservations", "ext_reservations", "tags") + _TS


class FilterRule(ConfigObject):
    FIELDS = ("watermark", "priority", "predicates", "action", "reason_trail", "uuid")


class Cluster(TaggableObject):
    FIELDS = (
        "rsahostkeypub", "dsahostkeypub", "highest_used_port", "tcpudp_port_pool",
        "mac_prefix", "volume_group_name", "reserved_lvs", "drbd_usermode_helper",
        "default_bridge", "default_hypervisor", "master_node", "master_ip", "master_netdev",
        "master_netmask", "use_external_mip_script", "cluster_name", "file_storage_dir",
        "shared_file_storage_dir", "gluster_storage_dir", "enabled_hypervisors", "hvparams",
        "ipolicy", "os_hvp", "beparams", "osparams", "osparams_private_cluster", "nicparams",
        "ndparams", "diskparams", "candidate_pool_size", "modify_etc_hosts",
        "modify_ssh_setup", "maintain_node_health", "uid_pool", "default_iallocator",
        "default_iallocator_params", "hidden_os", "blacklisted_os", "primary_ip_family",
        "prealloc_wipe_disks", "hv_state_static", "disk_state_static", "enabled_disk_templates",
        "candidate_certs", "max_running_jobs", "max_tracked_jobs", "install_image",
        "instance_communication_network", "zeroing_image", "compression_tools",
        "enabled_user_shutdown", "data_collectors", "ssh_key_type", "ssh_key_bits",
        "tags") + _TS

    def upgrade(self) -> None:
        defaults = {
            "hvparams": {}, "os_hvp": {}, "osparams": {}, "osparams_private_cluster": {},
            "beparams": {}, "nicparams": {}, "ndparams": {}, "diskparams": {}, "ipolicy": {},
            "tags": [], "uid_pool": [], "hidden_os": [], "blacklisted_os": [],
            "reserved_lvs": [], "candidate_certs": {}, "data_collectors": {},
            "tcpudp_port_pool": [], "enabled_disk_templates": [], "compression_tools": [],
            "hv_state_static": {}, "disk_state_static": {}, "default_iallocator_params": {},
            "max_running_jobs": constants.JOB_DEFAULT_MAX_RUNNING,
            "max_tracked_jobs": constants.JOB_DEFAULT_MAX_TRACKED,
            "candidate_pool_size": constants.DEFAULT_CANDIDATE_POOL_SIZE,
            "primary_ip_family": constants.IP4_FAMILY, "enabled_user_shutdown": False,
            "modify_etc_hosts": True, "modify_ssh_setup": True, "maintain_node_health": False,
            "prealloc_wipe_disks": False, "use_external_mip_script": False,
            "ssh_key_type": "rsa", "ssh_key_bits": 2048,
        }
        for key, value in defaults.items():
            if getattr(self, key) is None:
                setattr(self, key, copy.deepcopy(value))

    # Parameter inheritance (cluster level)
    def filled_hvparams(self, hv: str, os_name: str | None = None,
                        overrides: dict | None = None) -> dict:
        out = dict(constants.HVC_DEFAULTS.get(hv, {}))
        out.update(self.hvparams.get(hv, {}))
        if os_name:
            base = os_name.split("+", 1)[0]
            out.update(self.os_hvp.get(base, {}).get(hv, {}))
        if overrides:
            out.update(overrides)
        return out

    def filled_beparams(self, overrides: dict | None = None) -> dict:
        out = dict(constants.BEC_DEFAULTS)
        out.update(self.beparams.get("default", {}))
        if overrides:
            out.update(overrides)
        return out

    def filled_nicparams(self, overrides: dict | None = None) -> dict:
        out = dict(constants.NICC_DEFAULTS)
        out.update(self.nicparams.get("default", {}))
        if overrides:
            out.update(overrides)
        return out

    def filled_osparams(self, os_name: str, overrides: dict | None = None) -> dict:
        """Cluster OS parameters of ``os`` then ``os+variant``, then the instance's."""
        out: dict = {}
        base = os_name.split("+", 1)[0]
        out.update(self.osparams.get(base, {}))
        if base != os_name:
            out.update(self.osparams.get(os_name, {}))
        if overrides:
            out.update(overrides)
        return out

    def filled_ndparams(self, *layers: dict | None) -> dict:
        out = dict(constants.NDC_DEFAULTS)
        out.update(self.ndparams)
        for layer in layers:
            if layer:
                out.update(layer)
        return out

    def filled_diskparams(self, *layers: dict | None) -> dict:
        out = copy.deepcopy(constants.DISK_DT_DEFAULTS)
        for layer in (self.diskparams,) + layers:
            for template, params in (layer or {}).items():
                out.setdefault(template, {}).update(params)
        return out

    def filled_ipolicy(self, group_ipolicy: dict | None = None) -> dict:
        out = copy.deepcopy(constants.IPOLICY_DEFAULTS)
        out.update(copy.deepcopy(self.ipolicy))
        if group_ipolicy:
            out.update(copy.deepcopy(group_ipolicy))
        return out


class ConfigData(ConfigObject):
    FIELDS = ("version", "cluster", "nodes", "nodegroups", "instances", "networks", "disks",
              "filters", "ctime", "mtime", "serial_no")
    CHILDREN = {
        "cluster": None,  # set below (single object)
        "nodes": ("dict", Node),
        "nodegroups": ("dict", NodeGroup),
        "instances": ("dict", Instance),
        "networks": ("dict", Network),
        "disks": ("dict", Disk),
        "filters": ("dict", FilterRule),
    }

    @classmethod
    def from_dict(cls, data: dict) -> "ConfigData":
        cluster = data.get("cluster")
        rest = {k: v for k, v in data.items() if k != "cluster"}
        obj = super().from_dict(rest)
        obj.cluster = Cluster.from_dict(cluster) if cluster is not None else None
        for key in ("nodes", "nodegroups", "instances", "networks", "disks", "filters"):
            if getattr(obj, key) is None:
                setattr(obj, key, {})
        return obj  # type: ignore[return-value]

    def to_dict(self) -> dict:
        # never set attributes here: readers without the config lock see this object
        out = super().to_dict()
        out["cluster"] = self.cluster.to_dict() if self.cluster is not None else None
        order = ["version", "cluster", "nodes", "nodegroups", "instances", "networks",
                 "disks", "filters", "ctime", "mtime", "serial_no"]
        return {k: out[k] for k in order if k in out} | {k: v for k, v in out.items()
                                                         if k not in order}


ConfigData.CHILDREN = {k: v for k, v in ConfigData.CHILDREN.items() if v is not None}
