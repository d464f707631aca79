"""ssconf: the small per-node files that tell a node about its cluster.

Every node keeps ``ssconf_<key>`` files in its data directory, written by
the master (RPC ``write_ssconf_files``) and read locally by node-side
code, CLI tools and non-master nodes looking for the master. Reading
needs no daemon, which is the point: it works when masterd is down.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Iterator

from ganeti import constants, errors, pathutils
from ganeti.utils import io

# spec/config-ssconf.md §3
VALID_KEYS = frozenset([
    "cluster_name", "cluster_tags", "file_storage_dir", "shared_file_storage_dir",
    "gluster_storage_dir", "master_candidates", "master_candidates_ips",
    "master_candidates_certs", "master_ip", "master_netdev", "master_netmask",
    "master_node", "node_list", "node_primary_ips", "node_secondary_ips", "node_vm_capable",
    "offline_nodes", "online_nodes", "primary_ip_family", "instance_list", "release_version",
    "hypervisor_list", "maintain_node_health", "uid_pool", "nodegroups", "networks",
    "enabled_user_shutdown", "ssh_ports",
] + ["hvparams_" + hv for hv in sorted(constants.HYPER_TYPES)])


def my_hostname() -> str:
    """This node's name: GANETI_HOSTNAME in a virtual cluster, else the FQDN."""
    return pathutils.HOSTNAME_OVERRIDE or socket.getfqdn()


def _check_key(key: str) -> None:
    if key not in VALID_KEYS:
        raise errors.ProgrammerError("Invalid ssconf key '%s'" % key)


def format_value(value: str) -> str:
    """File content for a value: a trailing newline unless it is empty."""
    if value and not value.endswith("\n"):
        return value + "\n"
    return value


class SimpleStore:
    """Read access to this node's ssconf files (no caching: files change)."""

    def __init__(self, data_dir: str | None = None):
        self._dir = data_dir or pathutils.DATA_DIR

    def path(self, key: str) -> str:
        return pathutils.ssconf_file(key, self._dir)

    def read(self, key: str, default: str | None = None) -> str:
        """The value of ``key`` without its trailing newline.

        A missing file means this node is not (yet) in a cluster, which is
        reported as ConfigurationError unless ``default`` is given.
        """
        _check_key(key)
        path = self.path(key)
        try:
            with open(path, encoding="utf-8") as fh:
                data = fh.read(constants.SSCONF_MAX_SIZE + 1)
        except FileNotFoundError:
            if default is not None:
                return default
            raise errors.ConfigurationError("Can't read %s: node not in cluster?"
                                            " (ssconf file missing)" % path)
        except OSError as err:
            raise errors.ConfigurationError("Can't read ssconf file %s: %s" % (path, err))
        if len(data) > constants.SSCONF_MAX_SIZE:
            raise errors.ConfigurationError("ssconf file %s is larger than %d bytes"
                                            % (path, constants.SSCONF_MAX_SIZE))
        return data.rstrip("\n")

    def _lines(self, key: str) -> list[str]:
        return [line.strip() for line in self.read(key).splitlines() if line.strip()]

    def _pairs(self, key: str, sep: str | None) -> dict[str, str]:
        out = {}
        for line in self._lines(key):
            name, _, value = line.partition(sep) if sep else line.partition(" ")
            out[name.strip()] = value.strip()
        return out

    def get_cluster_name(self) -> str:
        return self.read("cluster_name")

    def get_cluster_tags(self) -> list[str]:
        return self._lines("cluster_tags")

    def get_master_node(self) -> str:
        return self.read("master_node")

    def get_master_ip(self) -> str:
        return self.read("master_ip")

    def get_master_netdev(self) -> str:
        return self.read("master_netdev")

    def get_master_netmask(self) -> int:
        return int(self.read("master_netmask"))

    def get_master_candidates(self) -> list[str]:
        return self._lines("master_candidates")

    def get_master_candidates_ips(self) -> list[str]:
        return self._lines("master_candidates_ips")

    def get_master_candidates_certs(self) -> dict[str, str]:
        return self._pairs("master_candidates_certs", "=")

    def get_node_list(self) -> list[str]:
        return self._lines("node_list")

    def get_online_nodes(self) -> list[str]:
        return self._lines("online_nodes")

    def get_offline_nodes(self) -> list[str]:
        return self._lines("offline_nodes")

    def get_node_primary_ips(self) -> dict[str, str]:
        return self._pairs("node_primary_ips", None)

    def get_node_secondary_ips(self) -> dict[str, str]:
        return self._pairs("node_secondary_ips", None)

    def get_node_vm_capable(self) -> dict[str, bool]:
        return {k: v == "True" for k, v in self._pairs("node_vm_capable", "=").items()}

    def get_instance_list(self) -> list[str]:
        return self._lines("instance_list")

    def get_nodegroups(self) -> dict[str, str]:
        return self._pairs("nodegroups", None)

    def get_networks(self) -> dict[str, str]:
        return self._pairs("networks", None)

    def get_file_storage_dir(self) -> str:
        return self.read("file_storage_dir")

    def get_shared_file_storage_dir(self) -> str:
        return self.read("shared_file_storage_dir")

    def get_hypervisor_list(self) -> list[str]:
        return self._lines("hypervisor_list")

    def get_hvparams(self, hv: str) -> dict[str, str]:
        key = "hvparams_" + hv
        if key not in VALID_KEYS:
            raise errors.ProgrammerError("Unknown hypervisor '%s'" % hv)
        return self._pairs(key, "=")

    def get_primary_ip_family(self) -> int:
        return int(self.read("primary_ip_family"))

    def get_maintain_node_health(self) -> bool:
        return self.read("maintain_node_health") == "True"

    def get_enabled_user_shutdown(self) -> bool:
        return self.read("enabled_user_shutdown") == "True"

    def get_ssh_ports(self) -> dict[str, int]:
        return {k: int(v) for k, v in self._pairs("ssh_ports", "=").items()}

    def get_master_and_my_name(self) -> tuple[str, str]:
        return self.get_master_node(), my_hostname()


@contextlib.contextmanager
def _ssconf_lock() -> Iterator[None]:
    os.makedirs(os.path.dirname(pathutils.SSCONF_LOCK_FILE), exist_ok=True)
    fd = os.open(pathutils.SSCONF_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def validate_values(values: object) -> dict[str, str]:
    """Check keys and values before anything is written (all or nothing)."""
    if not isinstance(values, dict):
        raise errors.ParameterError("ssconf values must be a dict of key -> string")
    bad = sorted(str(k) for k in values if k not in VALID_KEYS)
    if bad:
        raise errors.ParameterError("Invalid ssconf key(s): %s" % ", ".join(bad))
    for key, value in values.items():
        if not isinstance(value, str):
            raise errors.ParameterError("ssconf value for '%s' must be a string" % key)
        if len(format_value(value).encode("utf-8")) > constants.SSCONF_MAX_SIZE:
            raise errors.ParameterError("ssconf value for '%s' is larger than %d bytes"
                                        % (key, constants.SSCONF_MAX_SIZE))
    return values


def write_ssconf_files(values: dict[str, str], data_dir: str | None = None) -> None:
    """Write the given keys (only those) atomically, mode 0444, under the lock.

    Unchanged files are left alone, so their mtimes say when a value really
    changed and a full push costs nothing when nothing changed.
    """
    validate_values(values)
    data_dir = data_dir or pathutils.DATA_DIR
    os.makedirs(data_dir, exist_ok=True)
    with _ssconf_lock():
        for key, value in sorted(values.items()):
            text = format_value(value)
            path = pathutils.ssconf_file(key, data_dir)
            try:
                with open(path, encoding="utf-8") as fh:
                    if fh.read() == text and \
                            (os.stat(path).st_mode & 0o777) == constants.SSCONF_FILEMODE:
                        continue
            except (OSError, UnicodeDecodeError):
                pass
            # atomic but not fsync'd: ssconf is derived from config.data (which is
            # durable) and rewritten from it; an fsync per changed key slowed every
            # instance creation down
            io.write_file_atomic(path, text, mode=constants.SSCONF_FILEMODE, fsync=False)


def master_mismatch() -> str | None:
    """None if ssconf names this node as the master, else why it is not.

    The master daemons (masterd, rapi) refuse to start with this reason.
    """
    try:
        master, me = SimpleStore().get_master_and_my_name()
    except errors.ConfigurationError as err:
        return "Cluster configuration incomplete: %s" % err
    if master != me:
        return "Not master (master is %s, this node is %s), exiting" % (master, me)
    return None


def check_master(debug: bool = False) -> None:
    """Raise NotMasterError unless ssconf names this node as the master.

    ``debug`` adds both names to the message, for daemons' start-up logs.
    """
    try:
        master, me = SimpleStore().get_master_and_my_name()
    except errors.ConfigurationError as err:
        raise errors.NotMasterError("Cluster configuration incomplete: %s" % err)
    if master != me:
        msg = "This is not the master node"
        if debug:
            msg += " (master is %s, this node is %s)" % (master, me)
        raise errors.NotMasterError(msg)
