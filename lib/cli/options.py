"""The one table of command-line options used by every gnt-* program."""

from __future__ import annotations

import optparse

from ganeti import constants


def _cb_kv(option, opt, value, parser):
    from ganeti.cli.kvparse import parse_kv
    setattr(parser.values, option.dest, parse_kv(value, opt))


def _cb_ident_kv_list(option, opt, value, parser):
    from ganeti.cli.kvparse import parse_ident_kv
    current = getattr(parser.values, option.dest) or []
    current.append(parse_ident_kv(value, opt))
    setattr(parser.values, option.dest, current)


def _cb_yes_no(option, opt, value, parser):
    from ganeti.cli.kvparse import parse_bool_yes_no
    setattr(parser.values, option.dest, parse_bool_yes_no(value, opt))


def _cb_priority(option, opt, value, parser):
    if value not in constants.PRIORITY_NAMES:
        raise optparse.OptionValueError("option %s: invalid choice: '%s' (choose from %s)" %
                                        (opt, value, ", ".join(sorted(constants.PRIORITY_NAMES))))
    setattr(parser.values, option.dest, constants.PRIORITY_NAMES[value])


def _cb_list(option, opt, value, parser):
    setattr(parser.values, option.dest, [v for v in value.split(",") if v] if value else [])


_KV = dict(action="callback", callback=_cb_kv, type="string", default=None)
_YESNO = dict(action="callback", callback=_cb_yes_no, type="string", default=None,
              metavar="yes|no")
_LIST = dict(action="callback", callback=_cb_list, type="string", default=None)

# name -> (flags, optparse keyword arguments)
OPTIONS: dict[str, tuple[tuple[str, ...], dict]] = {
    # common to all commands
    "debug": (("-d", "--debug"), dict(action="count", default=0, dest="debug",
                                      help="Turn debugging on")),
    "reason": (("--reason",), dict(default=None, dest="reason", help="Reason for executing")),
    # job options
    "dry_run": (("--dry-run",), dict(action="store_true", default=False, dest="dry_run",
                                     help="Do not execute the operation, just run the checks")),
    "priority": (("--priority",), dict(action="callback", callback=_cb_priority, type="string",
                                       default=None, dest="priority", metavar="|".join(
                                           sorted(constants.PRIORITY_NAMES)),
                                       help="Priority for opcode processing")),
    "submit": (("--submit",), dict(action="store_true", default=False, dest="submit_only",
                                   help="Submit the job and return the job ID, but don't wait")),
    "print_jobid": (("--print-jobid",), dict(action="store_true", default=False,
                                             dest="print_jobid",
                                             help="Additionally print the job as first line")),
    # listing options
    "no_headers": (("--no-headers",), dict(action="store_true", default=False,
                                           dest="no_headers", help="Don't display column headers")),
    "separator": (("--separator",), dict(default=None, dest="separator",
                                         help="Separator between output fields")),
    "output": (("-o", "--output"), dict(default=None, dest="output", metavar="FIELDS",
                                        help="Comma separated list of output fields")),
    "units": (("--units",), dict(default=None, dest="units", choices=["h", "m", "g", "t"],
                                 help="Specify units for output (one of h/m/g/t)")),
    "verbose": (("-v", "--verbose"), dict(action="count", default=0, dest="verbose",
                                          help="Increase the verbosity of the operation")),
    "filter": (("-F", "--filter"), dict(action="store_true", default=False,
                                        dest="force_filter",
                                        help="Whether to force the argument to be a filter")),
    "force": (("-f", "--force"), dict(action="store_true", default=False, dest="force",
                                      help="Force the operation")),
    "yes_do_it": (("--yes-do-it", "--ya-rly"), dict(action="store_true", default=False,
                                                    dest="yes_do_it",
                                                    help="Really do it (dangerous)")),
    "interval": (("--interval",), dict(type="int", default=None, dest="interval",
                                       help="Repeat the listing every N seconds")),
    "roman": (("--roman",), dict(action="store_true", default=False, dest="roman",
                                 help="Use roman numbers for positive integers")),
    "node": (("-n", "--node"), dict(action="append", default=None, dest="nodes",
                                    help="Node to run on (repeatable)")),
    "nodegroup": (("-g", "--node-group"), dict(default=None, dest="nodegroup",
                                               help="Node group")),
    "tag_from": (("--from",), dict(default=None, dest="tags_source",
                                   help="File with tags, one per line ('-' = stdin)")),
    # gnt-cluster init / modify
    "secondary_ip": (("-s", "--secondary-ip"), dict(default=None, dest="secondary_ip")),
    "vg_name": (("--vg-name",), dict(default=None, dest="vg_name")),
    "master_netdev": (("--master-netdev",), dict(default=None, dest="master_netdev")),
    "master_netmask": (("--master-netmask",), dict(type="int", default=None,
                                                   dest="master_netmask")),
    "use_external_mip": (("--use-external-mip-script",), dict(_YESNO,
                                                              dest="use_external_mip_script")),
    "mac_prefix": (("-m", "--mac-prefix"), dict(default=None, dest="mac_prefix")),
    "no_etc_hosts": (("--no-etc-hosts",), dict(action="store_false", default=True,
                                               dest="modify_etc_hosts")),
    "no_ssh_init": (("--no-ssh-init",), dict(action="store_false", default=True,
                                             dest="modify_ssh_setup")),
    "file_storage_dir": (("--file-storage-dir",), dict(default=None, dest="file_storage_dir")),
    "shared_file_storage_dir": (("--shared-file-storage-dir",),
                                dict(default=None, dest="shared_file_storage_dir")),
    "gluster_storage_dir": (("--gluster-storage-dir",), dict(default=None,
                                                             dest="gluster_storage_dir")),
    "enabled_hypervisors": (("--enabled-hypervisors",), dict(_LIST, dest="enabled_hypervisors")),
    "hvparams": (("-H", "--hypervisor-parameters"), dict(action="callback",
                                                        callback=_cb_ident_kv_list,
                                                        type="string", default=None,
                                                        dest="hvparams")),
    "beparams": (("-B", "--backend-parameters"), dict(_KV, dest="beparams")),
    "nicparams": (("-N", "--nic-parameters"), dict(_KV, dest="nicparams")),
    "diskparams": (("-D", "--disk-parameters"), dict(action="callback",
                                                     callback=_cb_ident_kv_list, type="string",
                                                     default=None, dest="diskparams")),
    "ndparams": (("--node-parameters",), dict(_KV, dest="ndparams")),
    "maintain_node_health": (("--maintain-node-health",), dict(_YESNO,
                                                               dest="maintain_node_health")),
    "uid_pool": (("--uid-pool",), dict(default=None, dest="uid_pool")),
    "add_uids": (("--add-uids",), dict(default=None, dest="add_uids")),
    "remove_uids": (("--remove-uids",), dict(default=None, dest="remove_uids")),
    "default_iallocator": (("-I", "--default-iallocator"), dict(default=None,
                                                                dest="default_iallocator")),
    "default_iallocator_params": (("--default-iallocator-params",),
                                  dict(_KV, dest="default_iallocator_params")),
    "primary_ip_version": (("--primary-ip-version",), dict(type="int", default=None,
                                                           dest="primary_ip_version")),
    "prealloc_wipe_disks": (("--prealloc-wipe-disks",), dict(_YESNO, dest="prealloc_wipe_disks")),
    "candidate_pool_size": (("-C", "--candidate-pool-size"), dict(type="int", default=None,
                                                                  dest="candidate_pool_size")),
    "enabled_disk_templates": (("--enabled-disk-templates",),
                               dict(_LIST, dest="enabled_disk_templates")),
    "drbd_helper": (("--drbd-usermode-helper",), dict(default=None, dest="drbd_helper")),
    "ipolicy_std_specs": (("--ipolicy-std-specs",), dict(_KV, dest="ipolicy_std_specs")),
    "ipolicy_disk_templates": (("--ipolicy-disk-templates",),
                               dict(_LIST, dest="ipolicy_disk_templates")),
    "ipolicy_vcpu_ratio": (("--ipolicy-vcpu-ratio",), dict(type="float", default=None,
                                                           dest="ipolicy_vcpu_ratio")),
    "ipolicy_spindle_ratio": (("--ipolicy-spindle-ratio",),
                              dict(type="float", default=None, dest="ipolicy_spindle_ratio")),
    "install_image": (("--install-image",), dict(default=None, dest="install_image")),
    "zeroing_image": (("--zeroing-image",), dict(default=None, dest="zeroing_image")),
    "compression_tools": (("--compression-tools",), dict(_LIST, dest="compression_tools")),
    "user_shutdown": (("--user-shutdown",), dict(_YESNO, dest="enabled_user_shutdown")),
    "ssh_key_type": (("--ssh-key-type",), dict(default=None, dest="ssh_key_type",
                                               choices=["rsa", "dsa", "ecdsa"])),
    "ssh_key_bits": (("--ssh-key-bits",), dict(type="int", default=None, dest="ssh_key_bits")),
    "reserved_lvs": (("--reserved-lvs",), dict(_LIST, dest="reserved_lvs")),
    "modify_etc_hosts": (("--modify-etc-hosts",), dict(_YESNO, dest="modify_etc_hosts_mod")),
    "max_running_jobs": (("--max-running-jobs",), dict(type="int", default=None,
                                                       dest="max_running_jobs")),
    "max_tracked_jobs": (("--max-tracked-jobs",), dict(type="int", default=None,
                                                       dest="max_tracked_jobs")),
    "instance_communication_network": (("--instance-communication-network",),
                                       dict(default=None, dest="instance_communication_network")),
    # gnt-cluster verify
    "error_codes": (("--error-codes",), dict(action="store_true", default=False,
                                             dest="error_codes")),
    "simulate_errors": (("--debug-simulate-errors",), dict(action="store_true", default=False,
                                                           dest="simulate_errors")),
    "ignore_errors": (("-I", "--ignore-errors"), dict(action="append", default=None,
                                                      dest="ignore_errors")),
    "no_nplus1_mem": (("--no-nplus1-mem",), dict(action="store_true", default=False,
                                                 dest="skip_nplusone_mem")),
    "verify_clutter": (("--verify-ssh-clutter",), dict(action="store_true", default=False,
                                                       dest="verify_clutter")),
    "show_machine_names": (("-M", "--show-machine-names"), dict(action="store_true",
                                                                default=False,
                                                                dest="show_machine_names")),
    "failure_only": (("--failure-only",), dict(action="store_true", default=False,
                                               dest="failure_only")),
    "use_replication_network": (("--use-replication-network",), dict(action="store_true",
                                                                     default=False,
                                                                     dest="use_replication_network")),
    # gnt-job
    "pending": (("--pending",), dict(action="store_const", const="pending", dest="status_filter",
                                     default=None)),
    "running": (("--running",), dict(action="store_const", const="running",
                                     dest="status_filter")),
    "error": (("--error",), dict(action="store_const", const="error", dest="status_filter")),
    "finished": (("--finished",), dict(action="store_const", const="finished",
                                       dest="status_filter")),
    "archived": (("--archived",), dict(action="store_true", default=False, dest="archived")),
    "queued": (("--queued",), dict(action="store_const", const="queued", dest="status_filter")),
    "waiting": (("--waiting",), dict(action="store_const", const="waiting",
                                     dest="status_filter")),
    "kill": (("--kill",), dict(action="store_true", default=False, dest="kill")),
    # gnt-debug
    "no_master": (("--no-master",), dict(action="store_false", default=True, dest="on_master")),
    "repeat": (("-r", "--repeat"), dict(type="int", default=0, dest="repeat")),
    "interruptible": (("-i", "--interruptible"), dict(action="store_true", default=False,
                                                      dest="interruptible")),
    "no_locks": (("-l", "--no-locks"), dict(action="store_true", default=False,
                                            dest="no_locks")),
    "op_repeat": (("--op-repeat",), dict(type="int", default=1, dest="rep_op")),
    "job_repeat": (("--job-repeat",), dict(type="int", default=1, dest="rep_job")),
    "timing_stats": (("--timing-stats",), dict(action="store_true", default=False,
                                               dest="timing_stats")),
    "each": (("--each",), dict(action="store_true", default=False, dest="each")),
}

COMMON = ["debug", "reason"]
JOB_OPTS = ["dry_run", "priority", "submit", "print_jobid"]
SUBMIT_OPTS = ["priority", "submit", "print_jobid"]
LIST_OPTS = ["no_headers", "separator", "output", "units", "verbose", "filter"]


def make(name: str) -> optparse.Option:
    flags, kwargs = OPTIONS[name]
    return optparse.Option(*flags, **kwargs)
