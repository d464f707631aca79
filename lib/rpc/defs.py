"""The RPC procedure table: name -> (timeout class, accepts offline nodes, doc).

Adding a procedure is adding a row here and a function in the node-side
table (``server/noded.py``).
"""

from __future__ import annotations

from ganeti import constants as C

URGENT, FAST, NORMAL, SLOW = C.RPC_TMO_URGENT, C.RPC_TMO_FAST, C.RPC_TMO_NORMAL, C.RPC_TMO_SLOW

PROCEDURES: dict[str, tuple[int, bool, str]] = {
    "version": (URGENT, True, "Protocol version of the node daemon"),
    "node_info": (URGENT, False, "Boot id, storage and hypervisor facts"),
    "node_verify": (NORMAL, False, "Run verification checks on the node"),
    "node_verify_light": (NORMAL, False, "Subset of node_verify used by node add"),
    "upload_file": (NORMAL, False, "Write a whitelisted cluster file"),
    "write_ssconf_files": (NORMAL, False, "Write ssconf files"),
    "jobqueue_update": (URGENT, False, "Write a job queue file"),
    "jobqueue_rename": (URGENT, False, "Rename job queue files (archive)"),
    "jobqueue_purge": (NORMAL, False, "Remove the job queue"),
    "jobqueue_set_drain_flag": (URGENT, False, "Set or clear the queue drain flag"),
    "os_diagnose": (FAST, False, "List OS definitions"),
    "hooks_runner": (NORMAL, False, "Run hook scripts"),
    "test_delay": (NORMAL, False, "Sleep (testing)"),
    "master_node_name": (URGENT, True, "Master name from this node's ssconf (voting)"),
    "get_watcher_pause": (URGENT, False, "Read the watcher pause file"),
    "set_watcher_pause": (URGENT, False, "Write or remove the watcher pause file"),
    "node_has_ip_address": (FAST, False, "Whether the node owns an address"),
    "get_file_info": (FAST, False, "Size and mtime of a file"),
}


def timeout_of(procedure: str) -> int:
    return PROCEDURES[procedure][0]


def accepts_offline(procedure: str) -> bool:
    return PROCEDURES[procedure][1]
