"""Opcodes declared as data.

Every opcode is one row of :data:`OPCODE_TABLE`: its ``OP_ID``, its
parameters ``(name, default, check, doc)`` and the parameter that names
its object in job summaries. :class:`OpCode` is the single generic
implementation: validation, defaults, JSON round trip in upstream's
``{"OP_ID": ..., params...}`` form. Adding an opcode is adding a row.
"""

from __future__ import annotations

import decimal
import math
import re
from typing import Any

from ganeti import constants, errors
from ganeti import ht
from ganeti.ht import (TAny, TBool, TDict, TElemOf, TInt, TList, TListOf,
                       TMaybe, TMaybeBool, TMaybeDict, TMaybeListOfStrings,
                       TMaybeString, TNonEmptyString, TNonNegInt, TNumber, TOr, TString)


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQ = _Required()     # parameter must be given
OPT = None            # optional, default None

_TPrio = ht.Check(lambda v: TInt(v) and constants.OP_PRIO_HIGHEST <= v <= constants.OP_PRIO_LOWEST,
                  "priority in [-20, 19]")
_TJobId = TOr(TInt, ht.Check(lambda v: isinstance(v, str) and v.lstrip("-").isdigit(), "job id string"))
_TDepStatuses = TListOf(TElemOf(constants.JOBS_FINALIZED))
_TDepends = TMaybe(TListOf(ht.TTupleOf(_TJobId, _TDepStatuses)))
_TReason = TListOf(ht.Check(lambda v: isinstance(v, list) and len(v) == 3, "[source, reason, timestamp]"))
_TTagKind = TElemOf(constants.VALID_TAG_TYPES)
_THvName = TElemOf(constants.HYPER_TYPES)
_TDiskTemplate = TElemOf(constants.DISK_TEMPLATES)
_TShutdownTimeout = TNonNegInt

COMMON_PARAMS = [
    ("dry_run", False, TMaybeBool, "Run checks only, don't execute"),
    ("debug_level", 0, TMaybe(TNonNegInt), "Debug level"),
    ("priority", constants.OP_PRIO_DEFAULT, _TPrio, "Opcode priority"),
    ("depends", None, _TDepends, "Job dependencies"),
    ("comment", None, TMaybe(TString), "Comment describing the purpose of the opcode"),
    ("reason", [], _TReason, "Reason trail"),
]

_VERIFY_PARAMS = [
    ("debug_simulate_errors", False, TBool, "Whether to simulate errors"),
    ("error_codes", False, TBool, "Error codes"),
    ("skip_checks", [], TListOf(TString), "Checks to skip"),
    ("ignore_errors", [], TListOf(TString), "List of error codes to ignore"),
    ("verbose", False, TBool, "Verbose mode"),
]

_P_FORCE = ("force", False, TBool, "Whether to force the operation")
_P_INSTANCE = ("instance_name", REQ, TNonEmptyString, "Instance name")
_P_INSTANCE_UUID = ("instance_uuid", OPT, TMaybeString, "Instance UUID")
_P_NODE = ("node_name", REQ, TNonEmptyString, "Node name")
_P_NODE_UUID = ("node_uuid", OPT, TMaybeString, "Node UUID")
_P_GROUP = ("group_name", REQ, TNonEmptyString, "Group name")
_P_SHUTDOWN_TIMEOUT = ("shutdown_timeout", constants.DEFAULT_SHUTDOWN_TIMEOUT,
                       _TShutdownTimeout, "How long to wait for instance to shut down")
_P_IGNORE_IPOLICY = ("ignore_ipolicy", False, TBool, "Whether to ignore ipolicy violations")
_P_IALLOCATOR = ("iallocator", OPT, TMaybeString, "Iallocator for deciding the target node")
_P_EARLY_RELEASE = ("early_release", False, TBool, "Release locks early")
_P_WAIT_FOR_SYNC = ("wait_for_sync", True, TBool, "Whether to wait for disk sync")
_P_TARGET_NODE = ("target_node", OPT, TMaybeString, "Target node")
_P_MIGR_MODE = ("mode", OPT, TMaybe(TElemOf(["live", "non-live"])), "Migration mode")
_P_LIVE = ("live", OPT, TMaybeBool, "Obsolete 'live' migration mode")
_P_HVPARAMS = ("hvparams", {}, TDict, "Hypervisor parameters")
_P_BEPARAMS = ("beparams", {}, TDict, "Backend parameters")
_P_NDPARAMS = ("ndparams", OPT, TMaybeDict, "Node parameters")
_P_DISKPARAMS = ("diskparams", OPT, TMaybeDict, "Disk parameters")
_P_IPOLICY = ("ipolicy", OPT, TMaybeDict, "Instance policy")
_P_HV_STATE = ("hv_state", OPT, TMaybeDict, "Hypervisor state")
_P_DISK_STATE = ("disk_state", OPT, TMaybeDict, "Disk state")
_P_OSPARAMS_PRIV = ("osparams_private", OPT, TMaybeDict, "Private OS parameters")
_P_OSPARAMS_SECRET = ("osparams_secret", OPT, TMaybeDict, "Secret OS parameters")
_P_NAME_CHECK = ("name_check", True, TBool, "Check that the name resolves")
_P_IP_CHECK = ("ip_check", True, TBool, "Check that the IP is not in use")
_P_COMPRESS = ("compress", "none", TString, "Compression mode for transfers")

# OP_ID -> (params, summary key param or None, doc)
OPCODE_TABLE: dict[str, tuple[list, str | None, str]] = {
    # Cluster
    "OP_CLUSTER_POST_INIT": ([], None, "Post cluster initialization"),
    "OP_CLUSTER_DESTROY": ([], None, "Destroy the cluster"),
    "OP_CLUSTER_QUERY": ([], None, "Query cluster information"),
    "OP_CLUSTER_VERIFY": (_VERIFY_PARAMS + [
        ("group_name", OPT, TMaybeString, "Group to verify"),
        ("verify_clutter", False, TBool, "Verify SSH clutter"),
    ], None, "Submit jobs verifying the cluster"),
    "OP_CLUSTER_VERIFY_CONFIG": (_VERIFY_PARAMS, None, "Verify the cluster configuration"),
    "OP_CLUSTER_VERIFY_GROUP": (_VERIFY_PARAMS + [
        _P_GROUP, ("verify_clutter", False, TBool, "Verify SSH clutter"),
    ], "group_name", "Verify one node group"),
    "OP_CLUSTER_VERIFY_DISKS": ([("group_name", OPT, TMaybeString, "Group"),
                                 ("is_strict", True, TBool, "Strict")], None,
                                "Verify the disks of all groups"),
    "OP_GROUP_VERIFY_DISKS": ([_P_GROUP, ("is_strict", True, TBool, "Strict")],
                              "group_name", "Verify disks of a group"),
    "OP_CLUSTER_REPAIR_DISK_SIZES": ([("instances", [], TListOf(TNonEmptyString), "Instances")],
                                     None, "Repair recorded disk sizes"),
    "OP_CLUSTER_CONFIG_QUERY": ([("output_fields", REQ, TListOf(TNonEmptyString), "Fields")],
                                None, "Query cluster config values"),
    "OP_CLUSTER_RENAME": ([("name", REQ, TNonEmptyString, "New cluster name")], "name",
                          "Rename the cluster"),
    "OP_CLUSTER_SET_PARAMS": ([
        _P_FORCE,
        ("vg_name", OPT, TMaybe(TString), "Volume group name"),
        ("enabled_hypervisors", OPT, TMaybe(TListOf(TElemOf(constants.HYPER_TYPES))), "Hypervisors"),
        ("hvparams", OPT, TMaybeDict, "Cluster-wide hypervisor parameters"),
        ("beparams", OPT, TMaybeDict, "Cluster-wide backend parameters"),
        ("os_hvp", OPT, TMaybeDict, "Per-OS hypervisor parameters"),
        ("osparams", OPT, TMaybeDict, "Cluster-wide OS parameters"),
        ("osparams_private_cluster", OPT, TMaybeDict, "Private OS parameters"),
        ("diskparams", OPT, TMaybeDict, "Disk parameters"),
        ("nicparams", OPT, TMaybeDict, "Cluster-wide NIC parameters"),
        ("ndparams", OPT, TMaybeDict, "Cluster-wide node parameters"),
        ("ipolicy", OPT, TMaybeDict, "Cluster-wide instance policy"),
        ("candidate_pool_size", OPT, TMaybe(TInt), "Master candidate pool size"),
        ("max_running_jobs", OPT, TMaybe(TInt), "Maximal number of running jobs"),
        ("max_tracked_jobs", OPT, TMaybe(TInt), "Maximal number of tracked jobs"),
        ("uid_pool", OPT, TMaybe(TList), "UID pool"),
        ("add_uids", OPT, TMaybe(TList), "UIDs to add"),
        ("remove_uids", OPT, TMaybe(TList), "UIDs to remove"),
        ("maintain_node_health", OPT, TMaybeBool, "Maintain node health"),
        ("prealloc_wipe_disks", OPT, TMaybeBool, "Wipe disks before allocation"),
        ("drbd_helper", OPT, TMaybe(TString), "DRBD usermode helper"),
        ("default_iallocator", OPT, TMaybe(TString), "Default iallocator"),
        ("default_iallocator_params", OPT, TMaybeDict, "Default iallocator parameters"),
        ("mac_prefix", OPT, TMaybeString, "MAC prefix"),
        ("master_netdev", OPT, TMaybe(TString), "Master network device"),
        ("master_netmask", OPT, TMaybe(TNonNegInt), "Master netmask"),
        ("reserved_lvs", OPT, TMaybe(TListOf(TString)), "Reserved LVs"),
        ("hidden_os", OPT, TMaybe(TList), "Hidden OS modifications"),
        ("blacklisted_os", OPT, TMaybe(TList), "Blacklisted OS modifications"),
        ("use_external_mip_script", OPT, TMaybeBool, "Use external master IP script"),
        ("enabled_disk_templates", OPT, TMaybe(TListOf(_TDiskTemplate)), "Disk templates"),
        ("modify_etc_hosts", OPT, TMaybeBool, "Modify /etc/hosts"),
        ("file_storage_dir", OPT, TMaybe(TString), "File storage directory"),
        ("shared_file_storage_dir", OPT, TMaybe(TString), "Shared file storage directory"),
        ("gluster_storage_dir", OPT, TMaybe(TString), "Gluster storage directory"),
        ("install_image", OPT, TMaybe(TString), "Install image"),
        ("instance_communication_network", OPT, TMaybe(TString), "Instance communication network"),
        ("zeroing_image", OPT, TMaybe(TString), "Zeroing image"),
        ("compression_tools", OPT, TMaybe(TListOf(TNonEmptyString)), "Compression tools"),
        ("enabled_user_shutdown", OPT, TMaybeBool, "User shutdown detection"),
        ("enabled_data_collectors", OPT, TMaybeDict, "Data collectors"),
        ("data_collector_interval", OPT, TMaybeDict, "Data collector intervals"),
        ("hv_state", OPT, TMaybeDict, "Hypervisor state"),
        ("disk_state", OPT, TMaybeDict, "Disk state"),
    ], None, "Change the parameters of the cluster"),
    "OP_CLUSTER_REDIST_CONF": ([], None, "Redistribute configuration files"),
    "OP_CLUSTER_ACTIVATE_MASTER_IP": ([], None, "Activate the master IP"),
    "OP_CLUSTER_DEACTIVATE_MASTER_IP": ([], None, "Deactivate the master IP"),
    "OP_CLUSTER_RENEW_CRYPTO": ([
        ("node_certificates", False, TBool, "Renew node certificates"),
        ("renew_ssh_keys", False, TBool, "Renew SSH keys"),
        ("ssh_key_type", OPT, TMaybeString, "SSH key type"),
        ("ssh_key_bits", OPT, TMaybe(TInt), "SSH key bits"),
        ("verbose", False, TBool, "Verbose"),
        ("debug", False, TBool, "Debug"),
        ("new_rapi_certificate", False, TBool, "Generate a new RAPI certificate"),
        ("rapi_certificate", OPT, TMaybeString, "RAPI certificate and key (PEM) to install"),
        ("new_cluster_domain_secret", False, TBool, "Generate a new cluster domain secret"),
        ("cluster_domain_secret", OPT, TMaybeString, "Cluster domain secret to install"),
        ("new_confd_hmac_key", False, TBool, "Generate a new confd HMAC key"),
    ], None, "Renew cluster cryptographic material"),
    # Query
    "OP_QUERY": ([
        ("what", REQ, TElemOf([constants.QR_CLUSTER, constants.QR_INSTANCE, constants.QR_NODE,
                               constants.QR_LOCK, constants.QR_GROUP, constants.QR_OS,
                               constants.QR_EXTSTORAGE, constants.QR_JOB, constants.QR_EXPORT,
                               constants.QR_NETWORK, constants.QR_FILTER]), "Resource"),
        ("fields", REQ, TListOf(TNonEmptyString), "Requested fields"),
        ("qfilter", OPT, TMaybe(TList), "Query filter"),
        ("use_locking", False, TBool, "Whether to use locking"),
    ], "what", "Query a resource"),
    "OP_QUERY_FIELDS": ([
        ("what", REQ, TNonEmptyString, "Resource"),
        ("fields", OPT, TMaybeListOfStrings, "Requested fields"),
    ], "what", "Query the fields of a resource"),
    "OP_OOB_COMMAND": ([
        ("node_names", [], TListOf(TNonEmptyString), "Nodes"),
        ("node_uuids", OPT, TMaybeListOfStrings, "Node UUIDs"),
        ("command", REQ, TElemOf(["power-on", "power-off", "power-cycle", "power-status", "health"]), "Command"),
        ("timeout", 60, TInt, "Timeout"),
        ("ignore_status", False, TBool, "Ignore status"),
        ("force_master", False, TBool, "Force master"),
        ("power_delay", 2.0, TNumber, "Power delay"),
    ], None, "Out-of-band command"),
    "OP_RESTRICTED_COMMAND": ([
        ("use_locking", False, TBool, "Locking"),
        ("nodes", REQ, TListOf(TNonEmptyString), "Nodes"),
        ("command", REQ, TNonEmptyString, "Command"),
    ], None, "Run a restricted command"),
    # Node
    "OP_NODE_ADD": ([
        _P_NODE, ("primary_ip", OPT, TMaybeString, "Primary IP"),
        ("secondary_ip", OPT, TMaybeString, "Secondary IP"),
        ("readd", False, TBool, "Re-add a node"),
        ("group", OPT, TMaybeString, "Node group"),
        ("master_capable", OPT, TMaybeBool, "Master capable"),
        ("vm_capable", OPT, TMaybeBool, "VM capable"),
        _P_NDPARAMS, ("node_setup", False, TBool, "Node setup"), _P_HV_STATE, _P_DISK_STATE,
        ("ssh_key_check", True, TBool, "Check the new node's SSH host key against the"
         " cluster's known_hosts (false: accept and record it)"),
    ], "node_name", "Add a node to the cluster"),
    "OP_NODE_REMOVE": ([_P_NODE, _P_NODE_UUID], "node_name", "Remove a node"),
    "OP_NODE_QUERYVOLS": ([("output_fields", REQ, TListOf(TNonEmptyString), "Fields"),
                           ("nodes", [], TListOf(TNonEmptyString), "Nodes")], None, "Query volumes"),
    "OP_NODE_QUERY_STORAGE": ([
        ("output_fields", REQ, TListOf(TNonEmptyString), "Fields"),
        ("storage_type", OPT, TMaybeString, "Storage type"),
        ("nodes", [], TListOf(TNonEmptyString), "Nodes"),
        ("name", OPT, TMaybeString, "Storage unit name"),
    ], None, "Query storage units"),
    "OP_NODE_MODIFY_STORAGE": ([_P_NODE, _P_NODE_UUID,
                                ("storage_type", REQ, TNonEmptyString, "Storage type"),
                                ("name", REQ, TNonEmptyString, "Storage name"),
                                ("changes", REQ, TDict, "Changes")], "node_name", "Modify storage"),
    "OP_REPAIR_NODE_STORAGE": ([_P_NODE, _P_NODE_UUID,
                                ("storage_type", REQ, TNonEmptyString, "Storage type"),
                                ("name", REQ, TNonEmptyString, "Storage name"),
                                ("ignore_consistency", False, TBool, "Ignore consistency")],
                               "node_name", "Repair storage"),
    "OP_NODE_SET_PARAMS": ([
        _P_NODE, _P_NODE_UUID, _P_FORCE,
        ("master_candidate", OPT, TMaybeBool, "Master candidate"),
        ("offline", OPT, TMaybeBool, "Offline"),
        ("drained", OPT, TMaybeBool, "Drained"),
        ("auto_promote", False, TBool, "Auto promote"),
        ("master_capable", OPT, TMaybeBool, "Master capable"),
        ("vm_capable", OPT, TMaybeBool, "VM capable"),
        ("secondary_ip", OPT, TMaybeString, "Secondary IP"),
        _P_NDPARAMS, ("powered", OPT, TMaybeBool, "Powered"), _P_HV_STATE, _P_DISK_STATE,
    ], "node_name", "Change node parameters"),
    "OP_NODE_POWERCYCLE": ([_P_NODE, _P_NODE_UUID, _P_FORCE], "node_name", "Power-cycle a node"),
    "OP_NODE_MIGRATE": ([_P_NODE, _P_NODE_UUID, _P_MIGR_MODE, _P_LIVE, _P_TARGET_NODE,
                         ("target_node_uuid", OPT, TMaybeString, "Target node UUID"),
                         _P_IALLOCATOR, ("allow_runtime_changes", True, TBool, "Runtime changes"),
                         _P_IGNORE_IPOLICY], "node_name", "Migrate all instances of a node"),
    "OP_NODE_EVACUATE": ([_P_NODE, _P_NODE_UUID, _P_EARLY_RELEASE,
                          ("remote_node", OPT, TMaybeString, "New secondary"),
                          ("remote_node_uuid", OPT, TMaybeString, "New secondary UUID"),
                          _P_IALLOCATOR,
                          ("mode", REQ, TElemOf(["primary-only", "secondary-only", "all"]), "Mode"),
                          ("ignore_soft_errors", OPT, TMaybeBool, "Ignore soft errors")],
                         "node_name", "Evacuate a node"),
    # Instance
    "OP_INSTANCE_CREATE": ([
        _P_INSTANCE, _P_FORCE_VARIANT := ("force_variant", False, TBool, "Force an unknown variant"),
        _P_WAIT_FOR_SYNC, _P_NAME_CHECK, _P_IGNORE_IPOLICY,
        ("opportunistic_locking", False, TBool, "Opportunistic locking"),
        ("beparams", {}, TDict, "Backend parameters"),
        ("conflicts_check", True, TBool, "Check for conflicting IPs"),
        ("disk_template", OPT, TMaybe(_TDiskTemplate), "Disk template"),
        ("disks", REQ, TListOf(TDict), "Disk descriptions"),
        ("file_driver", OPT, TMaybe(TElemOf(["loop", "blktap", "blktap2"])), "File driver"),
        ("file_storage_dir", OPT, TMaybeString, "File storage directory"),
        ("forthcoming", False, TBool, "Forthcoming instance"),
        ("commit", False, TBool, "Commit a forthcoming instance"),
        _P_HVPARAMS, ("hypervisor", OPT, TMaybe(_THvName), "Hypervisor"),
        _P_IALLOCATOR, ("identify_defaults", False, TBool, "Identify defaults"),
        _P_IP_CHECK, ("mode", REQ, TElemOf(["create", "import", "remote-import"]), "Creation mode"),
        ("nics", REQ, TListOf(TDict), "NIC descriptions"),
        ("no_install", OPT, TMaybeBool, "Do not install the OS"),
        ("osparams", {}, TDict, "OS parameters"), _P_OSPARAMS_PRIV, _P_OSPARAMS_SECRET,
        ("os_type", OPT, TMaybeString, "OS type"),
        ("pnode", OPT, TMaybeString, "Primary node"),
        ("pnode_uuid", OPT, TMaybeString, "Primary node UUID"),
        ("snode", OPT, TMaybeString, "Secondary node"),
        ("snode_uuid", OPT, TMaybeString, "Secondary node UUID"),
        ("source_handshake", OPT, TMaybe(TList), "Source handshake"),
        ("source_instance_name", OPT, TMaybeString, "Source instance name"),
        ("source_shutdown_timeout", constants.DEFAULT_SHUTDOWN_TIMEOUT, TNonNegInt, "Source shutdown timeout"),
        ("source_x509_ca", OPT, TMaybeString, "Source X509 CA"),
        ("src_node", OPT, TMaybeString, "Source node for import"),
        ("src_node_uuid", OPT, TMaybeString, "Source node UUID"),
        ("src_path", OPT, TMaybeString, "Source directory for import"),
        _P_COMPRESS, ("start", True, TBool, "Whether to start the instance"),
        ("tags", [], TListOf(TNonEmptyString), "Instance tags"),
        ("instance_communication", False, TBool, "Instance communication"),
        ("helper_startup_timeout", OPT, TMaybe(TInt), "Helper startup timeout"),
        ("helper_shutdown_timeout", OPT, TMaybe(TInt), "Helper shutdown timeout"),
        ("group_name", OPT, TMaybeString, "Node group"),
    ], "instance_name", "Create an instance"),
    "OP_INSTANCE_MULTI_ALLOC": ([_P_IALLOCATOR, ("instances", [], TListOf(TDict), "Instances"),
                                 ("opportunistic_locking", False, TBool, "Opportunistic locking")],
                                None, "Allocate multiple instances"),
    "OP_INSTANCE_REINSTALL": ([_P_INSTANCE, _P_INSTANCE_UUID, _P_FORCE_VARIANT,
                               ("os_type", OPT, TMaybeString, "OS type"),
                               ("osparams", OPT, TMaybeDict, "OS parameters"),
                               _P_OSPARAMS_PRIV, _P_OSPARAMS_SECRET], "instance_name",
                              "Reinstall an instance"),
    "OP_INSTANCE_REMOVE": ([_P_INSTANCE, _P_INSTANCE_UUID, _P_SHUTDOWN_TIMEOUT,
                            ("ignore_failures", False, TBool, "Ignore failures")],
                           "instance_name", "Remove an instance"),
    "OP_INSTANCE_RENAME": ([_P_INSTANCE, _P_INSTANCE_UUID,
                            ("new_name", REQ, TNonEmptyString, "New name"),
                            ("name_check", True, TBool, "Name check"),
                            ("ip_check", False, TBool, "IP check")], "instance_name",
                           "Rename an instance"),
    "OP_INSTANCE_STARTUP": ([_P_INSTANCE, _P_INSTANCE_UUID, _P_FORCE,
                             ("ignore_offline_nodes", False, TBool, "Ignore offline nodes"),
                             _P_HVPARAMS, _P_BEPARAMS,
                             ("no_remember", False, TBool, "Do not remember the state"),
                             ("startup_paused", False, TBool, "Start paused"),
                             _P_SHUTDOWN_TIMEOUT], "instance_name", "Start an instance"),
    "OP_INSTANCE_SHUTDOWN": ([_P_INSTANCE, _P_INSTANCE_UUID, _P_FORCE,
                              ("ignore_offline_nodes", False, TBool, "Ignore offline nodes"),
                              ("timeout", constants.DEFAULT_SHUTDOWN_TIMEOUT, TNonNegInt, "Timeout"),
                              ("no_remember", False, TBool, "Do not remember the state"),
                              ("admin_state_source", OPT, TMaybe(TElemOf(["admin", "user"])), "Who")],
                             "instance_name", "Shut down an instance"),
    "OP_INSTANCE_REBOOT": ([_P_INSTANCE, _P_INSTANCE_UUID, _P_SHUTDOWN_TIMEOUT,
                            ("ignore_secondaries", False, TBool, "Ignore secondaries"),
                            ("reboot_type", REQ, TElemOf(["soft", "hard", "full"]), "Reboot type")],
                           "instance_name", "Reboot an instance"),
    "OP_INSTANCE_REPLACE_DISKS": ([_P_INSTANCE, _P_INSTANCE_UUID, _P_EARLY_RELEASE, _P_IGNORE_IPOLICY,
                                   ("mode", REQ, TElemOf(["replace_on_primary", "replace_on_secondary",
                                                          "replace_new_secondary", "replace_auto"]), "Mode"),
                                   ("disks", [], TListOf(TNonNegInt), "Disk indices"),
                                   ("remote_node", OPT, TMaybeString, "New secondary"),
                                   ("remote_node_uuid", OPT, TMaybeString, "New secondary UUID"),
                                   _P_IALLOCATOR], "instance_name", "Replace disks"),
    "OP_INSTANCE_FAILOVER": ([_P_INSTANCE, _P_INSTANCE_UUID, _P_SHUTDOWN_TIMEOUT,
                              ("ignore_consistency", False, TBool, "Ignore consistency"),
                              _P_TARGET_NODE, ("target_node_uuid", OPT, TMaybeString, "Target UUID"),
                              _P_IALLOCATOR, _P_IGNORE_IPOLICY, ("cleanup", False, TBool, "Cleanup")],
                             "instance_name", "Fail over an instance"),
    "OP_INSTANCE_MIGRATE": ([_P_INSTANCE, _P_INSTANCE_UUID, _P_MIGR_MODE, _P_LIVE, _P_TARGET_NODE,
                             ("target_node_uuid", OPT, TMaybeString, "Target UUID"),
                             _P_IALLOCATOR, ("cleanup", False, TBool, "Cleanup"),
                             ("allow_failover", False, TBool, "Allow failover"),
                             ("allow_runtime_changes", True, TBool, "Runtime changes"),
                             _P_IGNORE_IPOLICY, ("ignore_hvversions", False, TBool, "Ignore hv versions")],
                            "instance_name", "Migrate an instance"),
    "OP_INSTANCE_MOVE": ([_P_INSTANCE, _P_INSTANCE_UUID, _P_SHUTDOWN_TIMEOUT, _P_IGNORE_IPOLICY,
                          ("target_node", REQ, TNonEmptyString, "Target node"),
                          ("target_node_uuid", OPT, TMaybeString, "Target UUID"),
                          ("ignore_consistency", False, TBool, "Ignore consistency"), _P_COMPRESS],
                         "instance_name", "Move an instance"),
    "OP_INSTANCE_CONSOLE": ([_P_INSTANCE, _P_INSTANCE_UUID], "instance_name", "Instance console"),
    "OP_INSTANCE_ACTIVATE_DISKS": ([_P_INSTANCE, _P_INSTANCE_UUID,
                                    ("ignore_size", False, TBool, "Ignore size"),
                                    ("wait_for_sync", False, TBool, "Wait for sync")],
                                   "instance_name", "Activate disks"),
    "OP_INSTANCE_DEACTIVATE_DISKS": ([_P_INSTANCE, _P_INSTANCE_UUID, _P_FORCE],
                                     "instance_name", "Deactivate disks"),
    "OP_INSTANCE_RECREATE_DISKS": ([_P_INSTANCE, _P_INSTANCE_UUID,
                                    ("disks", [], TList, "Disks"),
                                    ("nodes", [], TListOf(TNonEmptyString), "Nodes"),
                                    ("node_uuids", OPT, TMaybeListOfStrings, "Node UUIDs"),
                                    _P_IALLOCATOR], "instance_name", "Recreate disks"),
    "OP_INSTANCE_QUERY_DATA": ([("instances", [], TListOf(TNonEmptyString), "Instances"),
                                ("static", False, TBool, "Static data only"),
                                ("use_locking", False, TBool, "Locking")], None, "Query instance data"),
    "OP_INSTANCE_SET_PARAMS": ([
        _P_INSTANCE, _P_INSTANCE_UUID, _P_FORCE, _P_FORCE_VARIANT, _P_IGNORE_IPOLICY,
        ("nics", [], TList, "NIC modifications"), ("disks", [], TList, "Disk modifications"),
        ("beparams", {}, TDict, "Backend parameters"), ("hvparams", {}, TDict, "Hypervisor parameters"),
        ("runtime_mem", OPT, TMaybe(TInt), "Runtime memory"),
        ("disk_template", OPT, TMaybe(_TDiskTemplate), "Disk template"),
        ("remote_node", OPT, TMaybeString, "Secondary node"),
        ("remote_node_uuid", OPT, TMaybeString, "Secondary node UUID"),
        _P_IALLOCATOR, ("ext_params", {}, TDict, "ExtStorage params"),
        ("file_driver", OPT, TMaybeString, "File driver"),
        ("file_storage_dir", OPT, TMaybeString, "File storage dir"),
        ("pnode", OPT, TMaybeString, "New primary node"),
        ("pnode_uuid", OPT, TMaybeString, "New primary node UUID"),
        ("os_name", OPT, TMaybeString, "New OS"),
        ("osparams", {}, TDict, "OS parameters"), _P_OSPARAMS_PRIV,
        _P_WAIT_FOR_SYNC, ("offline", OPT, TMaybeBool, "Offline"),
        ("conflicts_check", True, TBool, "Conflicts check"),
        ("hotplug", False, TBool, "Hotplug"), ("hotplug_if_possible", False, TBool, "Hotplug if possible"),
        ("instance_communication", OPT, TMaybeBool, "Instance communication"),
    ], "instance_name", "Change instance parameters"),
    "OP_INSTANCE_GROW_DISK": ([_P_INSTANCE, _P_INSTANCE_UUID, _P_WAIT_FOR_SYNC, _P_IGNORE_IPOLICY,
                               ("disk", REQ, TNonNegInt, "Disk index"),
                               ("amount", REQ, TNonNegInt, "Amount in MiB"),
                               ("absolute", False, TBool, "Absolute size")], "instance_name", "Grow a disk"),
    "OP_INSTANCE_CHANGE_GROUP": ([_P_INSTANCE, _P_INSTANCE_UUID, _P_EARLY_RELEASE, _P_IALLOCATOR,
                                  ("target_groups", OPT, TMaybeListOfStrings, "Target groups")],
                                 "instance_name", "Change instance group"),
    # Groups
    "OP_GROUP_ADD": ([_P_GROUP, ("alloc_policy", OPT, TMaybe(TElemOf(["preferred", "last_resort", "unallocable"])), "Allocation policy"),
                      _P_NDPARAMS, _P_DISKPARAMS, _P_IPOLICY, _P_HV_STATE, _P_DISK_STATE],
                     "group_name", "Add a node group"),
    "OP_GROUP_ASSIGN_NODES": ([_P_GROUP, _P_FORCE, ("nodes", REQ, TListOf(TNonEmptyString), "Nodes"),
                               ("node_uuids", OPT, TMaybeListOfStrings, "Node UUIDs")],
                              "group_name", "Assign nodes to a group"),
    "OP_GROUP_SET_PARAMS": ([_P_GROUP, ("alloc_policy", OPT, TMaybe(TElemOf(["preferred", "last_resort", "unallocable"])), "Allocation policy"),
                             _P_NDPARAMS, _P_DISKPARAMS, _P_IPOLICY, _P_HV_STATE, _P_DISK_STATE],
                            "group_name", "Change group parameters"),
    "OP_GROUP_REMOVE": ([_P_GROUP], "group_name", "Remove a group"),
    "OP_GROUP_RENAME": ([_P_GROUP, ("new_name", REQ, TNonEmptyString, "New name")], "group_name",
                        "Rename a group"),
    "OP_GROUP_EVACUATE": ([_P_GROUP, _P_EARLY_RELEASE, _P_IALLOCATOR,
                           ("target_groups", OPT, TMaybeListOfStrings, "Target groups"),
                           ("sequential", False, TBool, "Sequential"),
                           ("force_failover", False, TBool, "Force failover")], "group_name",
                          "Evacuate a group"),
    # OS, storage, backup
    "OP_OS_DIAGNOSE": ([("output_fields", REQ, TListOf(TNonEmptyString), "Fields"),
                        ("names", [], TListOf(TNonEmptyString), "Names (must be empty)")],
                       None, "Diagnose OS definitions"),
    "OP_EXT_STORAGE_DIAGNOSE": ([("output_fields", REQ, TListOf(TNonEmptyString), "Fields"),
                                 ("names", [], TListOf(TNonEmptyString), "Names")],
                                None, "Diagnose ExtStorage providers"),
    "OP_BACKUP_PREPARE": ([_P_INSTANCE, _P_INSTANCE_UUID,
                           ("mode", REQ, TElemOf(["local", "remote"]), "Export mode")],
                          "instance_name", "Prepare an export"),
    "OP_BACKUP_EXPORT": ([_P_INSTANCE, _P_INSTANCE_UUID, _P_COMPRESS, _P_SHUTDOWN_TIMEOUT,
                          ("target_node", REQ, TAny, "Target node"),
                          ("target_node_uuid", OPT, TMaybeString, "Target UUID"),
                          ("shutdown", True, TBool, "Shutdown"),
                          ("remove_instance", False, TBool, "Remove instance"),
                          ("ignore_remove_failures", False, TBool, "Ignore remove failures"),
                          ("mode", "local", TElemOf(["local", "remote"]), "Mode"),
                          ("x509_key_name", OPT, TMaybe(TList), "X509 key"),
                          ("destination_x509_ca", OPT, TMaybeString, "Destination CA"),
                          ("zero_free_space", False, TBool, "Zero free space"),
                          ("zeroing_timeout_fixed", OPT, TMaybe(TInt), "Zeroing timeout"),
                          ("zeroing_timeout_per_mib", OPT, TMaybe(TNumber), "Zeroing timeout per MiB"),
                          ("long_sleep", False, TBool, "Long sleep")], "instance_name", "Export an instance"),
    "OP_BACKUP_REMOVE": ([_P_INSTANCE, _P_INSTANCE_UUID], "instance_name", "Remove an export"),
    # Tags
    "OP_TAGS_GET": ([("kind", REQ, _TTagKind, "Kind"), ("name", OPT, TMaybeString, "Name"),
                     ("use_locking", False, TBool, "Locking")], "kind", "Get tags"),
    "OP_TAGS_SEARCH": ([("pattern", REQ, TNonEmptyString, "Search pattern")], "pattern", "Search tags"),
    "OP_TAGS_SET": ([("kind", REQ, _TTagKind, "Kind"), ("name", OPT, TMaybeString, "Name"),
                     ("tags", REQ, TListOf(TString), "Tags")], "kind", "Add tags"),
    "OP_TAGS_DEL": ([("kind", REQ, _TTagKind, "Kind"), ("name", OPT, TMaybeString, "Name"),
                     ("tags", REQ, TListOf(TString), "Tags")], "kind", "Remove tags"),
    # Test
    "OP_TEST_DELAY": ([
        ("duration", REQ, TNumber, "Duration parameter for 'OpTestDelay'"),
        ("on_master", True, TBool, "on_master field for 'OpTestDelay'"),
        ("on_nodes", [], TListOf(TNonEmptyString), "on_nodes field for 'OpTestDelay'"),
        ("on_node_uuids", OPT, TMaybeListOfStrings, "on_node_uuids field for 'OpTestDelay'"),
        ("repeat", 0, TNonNegInt, "Repeat parameter for 'OpTestDelay'"),
        ("interruptible", False, TBool, "Allows socket-based interruption of a running OpTestDelay"),
        ("no_locks", True, TBool, "Don't take locks during the delay"),
    ], "duration", "Sleep for a fixed time on given node(s)"),
    "OP_TEST_ALLOCATOR": ([
        ("direction", REQ, TElemOf(["in", "out"]), "Direction"),
        ("mode", REQ, TElemOf(["allocate", "relocate", "change-group", "node-evacuate", "multi-allocate"]), "Mode"),
        ("name", REQ, TAny, "Name"), ("iallocator", OPT, TMaybeString, "Allocator"),
        ("nics", OPT, TMaybe(TList), "NICs"), ("disks", OPT, TMaybe(TList), "Disks"),
        ("memory", OPT, TMaybe(TInt), "Memory"), ("vcpus", OPT, TMaybe(TInt), "VCPUs"),
        ("os", OPT, TMaybeString, "OS"), ("disk_template", OPT, TMaybeString, "Disk template"),
        ("hypervisor", OPT, TMaybeString, "Hypervisor"), ("tags", [], TList, "Tags"),
        ("instances", OPT, TMaybe(TList), "Instances"), ("evac_mode", OPT, TMaybeString, "Evacuation mode"),
        ("target_groups", OPT, TMaybe(TList), "Target groups"), ("spindle_use", 1, TInt, "Spindle use"),
        ("count", 1, TInt, "Count"), ("group_name", OPT, TMaybeString, "Group"),
    ], "name", "Run the allocator"),
    "OP_TEST_JQUEUE": ([
        ("notify_waitlock", False, TBool, "Notify waitlock"),
        ("notify_exec", False, TBool, "Notify exec"),
        ("log_messages", [], TListOf(TString), "Log messages"),
        ("fail", False, TBool, "Fail"),
    ], None, "Test the job queue"),
    "OP_TEST_OS_PARAMS": ([("osparams_secret", OPT, TMaybeDict, "Secret OS parameters")], None,
                          "Test OS parameters"),
    "OP_TEST_DUMMY": ([("result", REQ, TAny, "Result"), ("messages", REQ, TAny, "Messages"),
                       ("fail", REQ, TAny, "Fail"), ("submit_jobs", REQ, TAny, "Jobs")],
                      None, "Dummy opcode for testing"),
    # Network
    "OP_NETWORK_ADD": ([("network_name", REQ, TNonEmptyString, "Network name"),
                        ("network", REQ, TNonEmptyString, "IPv4 subnet"),
                        ("gateway", OPT, TMaybeString, "Gateway"),
                        ("network6", OPT, TMaybeString, "IPv6 subnet"),
                        ("gateway6", OPT, TMaybeString, "IPv6 gateway"),
                        ("mac_prefix", OPT, TMaybeString, "MAC prefix"),
                        ("add_reserved_ips", OPT, TMaybeListOfStrings, "Reserved IPs"),
                        ("conflicts_check", True, TBool, "Conflicts check"),
                        ("tags", [], TListOf(TNonEmptyString), "Tags")], "network_name", "Add a network"),
    "OP_NETWORK_REMOVE": ([("network_name", REQ, TNonEmptyString, "Network"), _P_FORCE],
                          "network_name", "Remove a network"),
    "OP_NETWORK_SET_PARAMS": ([("network_name", REQ, TNonEmptyString, "Network"),
                               ("gateway", OPT, TMaybe(TString), "Gateway"),
                               ("network6", OPT, TMaybe(TString), "IPv6 subnet"),
                               ("gateway6", OPT, TMaybe(TString), "IPv6 gateway"),
                               ("mac_prefix", OPT, TMaybe(TString), "MAC prefix"),
                               ("add_reserved_ips", OPT, TMaybeListOfStrings, "Add reserved IPs"),
                               ("remove_reserved_ips", OPT, TMaybeListOfStrings, "Remove reserved IPs")],
                              "network_name", "Modify a network"),
    "OP_NETWORK_CONNECT": ([_P_GROUP, ("network_name", REQ, TNonEmptyString, "Network"),
                            ("network_mode", REQ, TElemOf(["bridged", "routed", "openvswitch"]), "Mode"),
                            ("network_link", REQ, TNonEmptyString, "Link"),
                            ("network_vlan", "", TString, "VLAN"),
                            ("conflicts_check", True, TBool, "Conflicts check")],
                           "network_name", "Connect a network to a group"),
    "OP_NETWORK_DISCONNECT": ([_P_GROUP, ("network_name", REQ, TNonEmptyString, "Network")],
                              "network_name", "Disconnect a network from a group"),
}

_OP_ID_RE = re.compile(r"^OP_[A-Z0-9_]+$")


def _param_index(op_id: str) -> dict[str, tuple]:
    params, _, _ = OPCODE_TABLE[op_id]
    out = {p[0]: p for p in COMMON_PARAMS}
    for p in params:
        out[p[0]] = p
    return out


_PARAMS: dict[str, dict[str, tuple]] = {op_id: _param_index(op_id) for op_id in OPCODE_TABLE}


def op_id_to_class_name(op_id: str) -> str:
    """OP_INSTANCE_CREATE -> OpInstanceCreate (for messages and docs)."""
    return "Op" + "".join(w.capitalize() for w in op_id[3:].split("_"))


def haskell_show_double(value: float) -> str:
    """A float as Haskell's ``show`` prints it (used in TEST_DELAY summaries).

    Shortest round-trip digits; plain decimal for 0.1 <= |x| < 10^7,
    otherwise ``d.ddde<exp>``: 0.01 -> "1.0e-2", 10 -> "10.0".
    """
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    sign = "-" if math.copysign(1.0, v) < 0 else ""
    if v == 0:
        return sign + "0.0"
    parsed = decimal.Decimal(repr(abs(v))).as_tuple()
    digits = "".join(str(d) for d in parsed.digits)
    exponent = int(parsed.exponent)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    point = len(digits) + exponent  # value = 0.<digits> * 10^point
    if 0.1 <= abs(v) < 1e7:
        if point <= 0:
            return "%s0.%s%s" % (sign, "0" * -point, digits)
        whole = digits[:point].ljust(point, "0")
        return "%s%s.%s" % (sign, whole, digits[point:] or "0")
    return "%s%s.%se%d" % (sign, digits[0], digits[1:] or "0", point - 1)


#: Parameters naming what an unknown opcode works on, in order of preference.


class OpCode:
    """One opcode: an OP_ID and its parameter values (a plain attribute bag)."""

    __slots__ = ("OP_ID", "_values")

    def __init__(self, op_id: str, **params: Any):
        if op_id not in OPCODE_TABLE:
            raise errors.OpPrereqError("Unknown opcode '%s'" % op_id, errors.ECODE_INVAL)
        object.__setattr__(self, "OP_ID", op_id)
        object.__setattr__(self, "_values", {})
        known = _PARAMS[op_id]
        for name, value in params.items():
            if name not in known:
                raise errors.OpPrereqError("Parameter '%s.%s' is not valid for this opcode"
                                           % (op_id, name), errors.ECODE_INVAL)
            self._values[name] = value

    # attribute-style access to parameters
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            known = _PARAMS[self.OP_ID]
            if name in known:
                default = known[name][1]
                if default is REQ:
                    return None
                return _copy_default(default)
            raise AttributeError("%s has no parameter '%s'" % (self.OP_ID, name))

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _PARAMS[self.OP_ID]:
            raise AttributeError("%s has no parameter '%s'" % (self.OP_ID, name))
        self._values[name] = value

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)

    def validate(self, set_defaults: bool = True) -> None:
        """Check every parameter; fill defaults so the job file shows them."""
        for name, default, check, _doc in _PARAMS[self.OP_ID].values():
            if name not in self._values or self._values[name] is None and default is REQ:
                if default is REQ:
                    raise errors.OpPrereqError("Parameter '%s.%s' is missing" % (self.OP_ID, name),
                                               errors.ECODE_INVAL)
                if set_defaults:
                    self._values[name] = _copy_default(default)
                continue
            value = self._values[name]
            if value is None and default is not REQ:
                continue
            if not check(value):
                raise errors.OpPrereqError("Parameter '%s.%s' fails validation: expected %s, got %s"
                                           % (self.OP_ID, name, check.desc, _short(value)),
                                           errors.ECODE_INVAL)

    def to_dict(self) -> dict:
        data = dict(self._values)
        data["OP_ID"] = self.OP_ID
        return data

    @classmethod
    def from_dict(cls, data: Any, set_defaults: bool = True) -> "OpCode":
        """Build and validate an opcode from its wire form."""
        if not isinstance(data, dict):
            raise errors.OpPrereqError("Invalid opcode data (not a dict): %s" % _short(data),
                                       errors.ECODE_INVAL)
        op_id = data.get("OP_ID")
        if not isinstance(op_id, str) or not _OP_ID_RE.match(op_id):
            raise errors.OpPrereqError("Invalid or missing OP_ID in opcode: %s" % _short(op_id),
                                       errors.ECODE_INVAL)
        params = {k: v for k, v in data.items() if k != "OP_ID"}
        op = cls(op_id, **params)
        op.validate(set_defaults)
        return op

    def summary(self) -> str:
        """'TEST_DELAY(1.0e-2)', 'INSTANCE_CREATE(inst1)' (job field ``summary``)."""
        text = self.OP_ID[3:]
        key = OPCODE_TABLE[self.OP_ID][1]
        value = self._values.get(key) if key else None
        if value is not None:
            if self.OP_ID == "OP_TEST_DELAY":
                value = haskell_show_double(value)
            text += "(%s)" % value
        return text

    def tiny_summary(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        return "<OpCode %s %r>" % (self.OP_ID, self._values)


def _copy_default(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return type(value)(value)
    return value


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def summary_of(data: dict) -> str:
    """Summary for a raw opcode dict, tolerating unparseable input."""
    op_id = data.get("OP_ID") if isinstance(data, dict) else None
    if not isinstance(op_id, str) or op_id not in OPCODE_TABLE:
        return str(op_id)[3:] if isinstance(op_id, str) else "None"
    op = object.__new__(OpCode)
    object.__setattr__(op, "OP_ID", op_id)
    object.__setattr__(op, "_values", {k: v for k, v in data.items() if k != "OP_ID"})
    return op.summary()


def params_of(op_id: str) -> list[tuple]:
    """All parameters (common ones first) of an opcode, for docs and RAPI."""
    return list(_PARAMS[op_id].values())


ALL_OP_IDS = frozenset(OPCODE_TABLE)
