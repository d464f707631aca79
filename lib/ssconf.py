"""ssconf: small per-node files that tell a node about its cluster."""

from __future__ import annotations

import fcntl
import os

from ganeti import constants, errors, pathutils
from ganeti.utils import io

VALID_KEYS = frozenset([
    "cluster_name", "cluster_tags", "file_storage_dir", "shared_file_storage_dir",
    "gluster_storage_dir", "master_candidates", "master_candidates_ips",
    "master_candidates_certs", "master_ip", "master_netdev", "master_netmask",
    "master_node", "node_list", "node_primary_ips", "node_secondary_ips", "node_vm_capable",
    "offline_nodes", "online_nodes", "primary_ip_family", "instance_list", "release_version",
    "hypervisor_list", "maintain_node_health", "uid_pool", "nodegroups", "networks",
    "enabled_user_shutdown", "ssh_ports",
] + ["hvparams_" + hv for hv in constants.HYPER_TYPES])


def my_hostname() -> str:
    from ganeti import netutils
    return netutils.my_hostname()


class SimpleStore:
    """Read access to this node's ssconf files."""

    def __init__(self, data_dir: str | None = None):
        self._dir = data_dir or pathutils.DATA_DIR

    def read(self, key: str) -> str:
        if key not in VALID_KEYS:
            raise errors.ProgrammerError("Invalid ssconf key %s" % key)
        path = pathutils.ssconf_file(key, self._dir)
        try:
            with open(path, encoding="utf-8") as fh:
                return fh.read(constants.SSCONF_MAX_SIZE).rstrip("\n")
        except FileNotFoundError:
            raise errors.ConfigurationError("Can't read ssconf file %s: not part of a cluster?"
                                            % path)
        except OSError as err:
            raise errors.ConfigurationError("Can't read ssconf file %s: %s" % (path, err))

    def _lines(self, key: str) -> list[str]:
        return [line for line in self.read(key).splitlines() if line]

    def get_master_node(self) -> str:
        return self.read("master_node")

    def get_cluster_name(self) -> str:
        return self.read("cluster_name")

    def get_master_ip(self) -> str:
        return self.read("master_ip")

    def get_master_candidates(self) -> list[str]:
        return self._lines("master_candidates")

    def get_node_list(self) -> list[str]:
        return self._lines("node_list")

    def get_online_nodes(self) -> list[str]:
        return self._lines("online_nodes")

    def get_node_primary_ips(self) -> dict[str, str]:
        return dict(line.split(" ", 1) for line in self._lines("node_primary_ips"))

    def get_file_storage_dir(self) -> str:
        return self.read("file_storage_dir")

    def get_hvparams(self, hv: str) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self._lines("hvparams_" + hv))

    def get_master_and_my_name(self) -> tuple[str, str]:
        return self.get_master_node(), my_hostname()


def write_ssconf_files(values: dict[str, str], data_dir: str | None = None) -> None:
    """Write the given ssconf keys atomically (mode 0444) under the ssconf lock."""
    bad = [k for k in values if k not in VALID_KEYS]
    if bad:
        raise errors.ParameterError("Invalid ssconf key(s): %s" % ", ".join(sorted(bad)))
    for key, value in values.items():
        if not isinstance(value, str):
            raise errors.ParameterError("ssconf value for %s must be a string" % key)
        if len(value) > constants.SSCONF_MAX_SIZE:
            raise errors.ParameterError("ssconf value for %s is too large" % key)
    data_dir = data_dir or pathutils.DATA_DIR
    os.makedirs(os.path.dirname(pathutils.SSCONF_LOCK_FILE), exist_ok=True)
    fd = os.open(pathutils.SSCONF_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        for key, value in values.items():
            text = value + "\n" if value else ""
            path = pathutils.ssconf_file(key, data_dir)
            try:
                with open(path, encoding="utf-8") as fh:
                    if fh.read() == text:
                        continue
            except OSError:
                pass
            io.write_file_atomic(path, text, mode=constants.SSCONF_FILEMODE, fsync=False)
        io.fsync_dir(data_dir)
    finally:
        os.close(fd)


def check_master() -> None:
    store = SimpleStore()
    master, me = store.get_master_and_my_name()
    if master != me:
        raise errors.NotMasterError("This is not the master node (master is %s)" % master)
