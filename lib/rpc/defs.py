"""The node RPC procedure table (data, not code).

Each row says how long the master waits for an answer (timeout class),
which positional arguments the body carries (their number is enforced by
noded), what the call is for, and whether offline nodes are contacted
anyway. Adding a procedure is adding a row here and the node-side
function in ``ganeti.server.noded.BACKEND``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ganeti import constants as C

URGENT = C.RPC_TMO_URGENT
FAST = C.RPC_TMO_FAST
NORMAL = C.RPC_TMO_NORMAL
SLOW = C.RPC_TMO_SLOW
TMO_4HRS = C.RPC_TMO_4HRS
TMO_1DAY = C.RPC_TMO_1DAY

Timeout = int | Callable[[list], float]


class Procedure(NamedTuple):
    """One row of the table."""

    timeout: Timeout
    """Read timeout in seconds, or a function of the call's arguments."""
    args: tuple[str, ...]
    """Names of the positional arguments, in wire order."""
    doc: str
    accept_offline: bool = False
    """Contact nodes even when they are marked offline (e.g. ``version``)."""


def _delay_timeout(args: list) -> float:
    """test_delay waits as long as it was asked to, plus a margin."""
    try:
        return max(float(args[0]), 0.0) + 5.0
    except (IndexError, TypeError, ValueError):
        return float(URGENT)


P = Procedure
PROCEDURES: dict[str, Procedure] = {
    # node / cluster
    "version": P(URGENT, (), "Protocol version of the node daemon", accept_offline=True),
    "node_info": P(URGENT, ("storage_units", "hv_specs"),
                   "Boot id, storage and hypervisor facts of the node"),
    "node_verify": P(NORMAL, ("checks", "cluster_name", "hvparams"),
                     "Run the requested verification checks"),
    "node_verify_light": P(NORMAL, ("checks", "cluster_name", "hvparams"),
                           "Subset of node_verify used when adding a node"),
    "node_has_ip_address": P(FAST, ("address",), "Whether the node owns an IP address"),
    "node_ensure_daemon": P(URGENT, ("daemon", "run"), "Start or stop a Ganeti daemon"),
    "node_start_master_daemons": P(FAST, ("no_voting",), "Start the master daemons"),
    "node_stop_master": P(FAST, (), "Stop the master daemons"),
    "node_activate_master_ip": P(FAST, ("master_params", "use_external_script"),
                                 "Bring up the master IP address"),
    "node_deactivate_master_ip": P(FAST, ("master_params", "use_external_script"),
                                   "Take down the master IP address"),
    "node_leave_cluster": P(NORMAL, ("modify_ssh_setup",),
                            "Remove the cluster files and stop the node daemon"),
    "master_node_name": P(URGENT, (), "Master name from this node's ssconf (voting)",
                          accept_offline=True),
    "etc_hosts_modify": P(NORMAL, ("mode", "name", "ip"), "Add or remove an /etc/hosts entry"),
    "bridges_exist": P(URGENT, ("bridges",), "Fail unless all bridges exist"),
    "get_watcher_pause": P(URGENT, (), "Read the watcher pause file"),
    "set_watcher_pause": P(URGENT, ("until",), "Write or remove the watcher pause file"),
    "get_file_info": P(FAST, ("path",), "Size, mode and mtime of a file"),
    "test_delay": P(_delay_timeout, ("duration",), "Sleep on the node (testing)"),
    # files, ssconf, job queue
    "upload_file": P(NORMAL, ("file_name", "content", "mode", "uid", "gid", "atime", "mtime"),
                     "Write a whitelisted cluster file"),
    "upload_file_single": P(NORMAL,
                            ("file_name", "content", "mode", "uid", "gid", "atime", "mtime"),
                            "Write a whitelisted cluster file (single-node variant)"),
    "write_ssconf_files": P(NORMAL, ("values",), "Write ssconf files"),
    "jobqueue_update": P(URGENT, ("file_name", "content"), "Write a job queue file durably"),
    "jobqueue_rename": P(URGENT, ("renames",), "Rename job queue files (archiving)"),
    "jobqueue_purge": P(NORMAL, (), "Remove the job queue contents (demotion)"),
    "jobqueue_set_drain_flag": P(URGENT, ("flag",), "Set or clear the queue drain flag"),
    # instances and hypervisors
    "instance_start": P(NORMAL, ("instance", "startup_paused", "reason"),
                        "Start an instance on this node"),
    "instance_shutdown": P(NORMAL, ("instance", "timeout", "reason"),
                           "Stop an instance (soft, then hard after the timeout)"),
    "instance_reboot": P(NORMAL, ("instance", "reboot_type", "shutdown_timeout", "reason"),
                         "Reboot an instance"),
    "instance_info": P(URGENT, ("instance_name", "hv_name", "hvparams"),
                       "Live facts of one instance ({} when not running)"),
    "all_instances_info": P(URGENT, ("hv_list", "all_hvparams"),
                            "Live facts of every running instance"),
    "instance_list": P(URGENT, ("hv_list", "all_hvparams"), "Names of the running instances"),
    "instance_os_add": P(TMO_1DAY, ("instance", "reinstall", "debug"),
                         "Run the OS create script"),
    "instance_run_rename": P(SLOW, ("instance", "old_name", "debug"),
                             "Run the OS rename script"),
    "hypervisor_validate_params": P(NORMAL, ("hv_name", "hvparams"),
                                    "Check hypervisor parameters on the node"),
    "instance_cleanup": P(NORMAL, ("instance_name", "hv_name"),
                          "Remove the runtime files of a stopped instance"),
    # block devices and file storage
    "blockdev_create": P(NORMAL, ("disk", "size", "owner", "on_primary", "info", "excl_stor"),
                         "Create a disk"),
    "blockdev_remove": P(NORMAL, ("disk",), "Remove a disk"),
    "blockdev_assemble": P(NORMAL, ("disk", "instance", "on_primary", "idx"),
                           "Activate a disk: [path, link, uri]"),
    "blockdev_shutdown": P(NORMAL, ("disk",), "Deactivate a disk"),
    "blockdev_find": P(NORMAL, ("disk",), "Status of a disk (null if missing)"),
    "blockdev_getmirrorstatus": P(NORMAL, ("disks",), "Sync status of disks"),
    "blockdev_getdimensions": P(NORMAL, ("disks",), "Sizes of disks"),
    "blockdev_grow": P(NORMAL, ("disk", "amount", "dryrun", "backingstore", "es_flag"),
                       "Grow a disk"),
    "blockdev_wipe": P(SLOW, ("disk", "offset", "size"), "Write zeros over part of a disk"),
    "blockdev_setinfo": P(NORMAL, ("disk", "info"), "Store metadata with a disk"),
    "file_storage_dir_create": P(FAST, ("file_storage_dir",), "Create a file storage dir"),
    "file_storage_dir_remove": P(FAST, ("file_storage_dir",),
                                 "Remove an empty file storage dir"),
    "file_storage_dir_rename": P(FAST, ("old_file_storage_dir", "new_file_storage_dir"),
                                 "Rename a file storage dir"),
    "os_validate": P(FAST, ("required", "name", "checks", "params", "force_variant"),
                     "Validate an OS and its parameters"),
    # OS definitions and hooks
    "os_diagnose": P(FAST, (), "List the OS definitions found on the node"),
    "hooks_runner": P(NORMAL, ("hpath", "phase", "env"), "Run the hook scripts of a phase"),
    "iallocator_runner": P(NORMAL, ("name", "idata", "default_iallocator_params"),
                           "Run an instance allocator plugin (on the master)"),
}
del P


def get(procedure: str) -> Procedure:
    """The table row, or KeyError for an unknown procedure."""
    return PROCEDURES[procedure]


def timeout_of(procedure: str, args: list[Any] | None = None) -> float:
    """Read timeout (s) of a call with these arguments."""
    tmo = PROCEDURES[procedure].timeout
    if callable(tmo):
        return tmo(list(args or []))
    return float(tmo)


def accepts_offline(procedure: str) -> bool:
    return PROCEDURES[procedure].accept_offline


def arg_count(procedure: str) -> int:
    return len(PROCEDURES[procedure].args)
