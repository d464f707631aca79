"""The one table of command-line options used by every gnt-* program.

Commands name the options they accept; the definitions (flags, type,
default, help) live here once, so ``-B`` means the same thing in every
program and the manual pages (tools/mkman) can be generated from this
table. Values of the structured types (``key=val,...``, ``ident:key=val``,
sizes, yes/no) are parsed by the option types below.
"""

from __future__ import annotations

import copy
import optparse

from ganeti import constants, errors


# --- option value types -------------------------------------------------------

def _check_keyval(option, opt, value):
    from ganeti.cli.kvparse import parse_kv
    return parse_kv(value, "option %s" % opt)


def _check_identkeyval(option, opt, value):
    from ganeti.cli.kvparse import parse_ident_kv
    return parse_ident_kv(value, "option %s" % opt)


def _check_multilistidentkeyval(option, opt, value):
    """'min:a=1/max:a=2//min:...' -> [{"min": {...}, "max": {...}}, ...]."""
    from ganeti.cli.kvparse import parse_kv
    out = []
    for line in value.split("//"):
        group: dict = {}
        for elem in line.split("/"):
            ident, _, rest = elem.partition(":")
            if ident in group:
                raise errors.ParameterError("Duplicate key '%s' in option %s" % (ident, opt))
            group[ident] = parse_kv(rest, "option %s" % opt)
        out.append(group)
    return out


def _check_unit(option, opt, value):
    from ganeti.utils.text import parse_unit
    try:
        return parse_unit(value)
    except errors.UnitParseError as err:
        raise optparse.OptionValueError("option %s: %s" % (opt, err))


def _check_bool(option, opt, value):
    return parse_bool(value)


def _check_list(option, opt, value):
    return split_list(value)


class CliOption(optparse.Option):
    """optparse.Option knowing Ganeti's value types."""
    TYPES = optparse.Option.TYPES + ("keyval", "identkeyval", "multilistidentkeyval",
                                     "unit", "bool", "list")
    TYPE_CHECKER = copy.copy(optparse.Option.TYPE_CHECKER)
    TYPE_CHECKER.update({
        "keyval": _check_keyval,
        "identkeyval": _check_identkeyval,
        "multilistidentkeyval": _check_multilistidentkeyval,
        "unit": _check_unit,
        "bool": _check_bool,
        "list": _check_list,
    })


def parse_bool(value: str) -> bool:
    """yes/no (also true/false) as upstream's "bool" option type accepts them."""
    low = value.strip().lower()
    if low in (constants.VALUE_TRUE, "yes"):
        return True
    if low in (constants.VALUE_FALSE, "no"):
        return False
    raise errors.ParameterError("Invalid boolean value '%s'" % value)


def split_list(value: str) -> list[str]:
    """'a,b\\,c' -> ['a', 'b,c']; '' -> []."""
    if not value:
        return []
    out = [""]
    escaped = False
    for ch in value:
        if escaped:
            out[-1] += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            out.append("")
        else:
            out[-1] += ch
    return out


def coerce_params(params: dict | None, defaults: dict, units: frozenset = frozenset(),
                  what: str = "parameters") -> dict:
    """Give CLI strings the types of the parameters' defaults (bool/int/float).

    The master checks types strictly, so "-B vcpus=2" must arrive as an int;
    "default" and None (reset/unset) pass through unchanged, unknown keys stay
    strings so the master can name them in its error.
    """
    from ganeti.utils.text import parse_unit
    out: dict = {}
    for key, value in (params or {}).items():
        if value is None or value == constants.VALUE_DEFAULT or not isinstance(value, str):
            out[key] = value
            continue
        default = defaults.get(key)
        try:
            if key in units:
                out[key] = parse_unit(value)
            elif isinstance(default, bool):
                out[key] = parse_bool(value)
            elif isinstance(default, int):
                out[key] = int(value)
            elif isinstance(default, float):
                out[key] = float(value)
            else:
                out[key] = value
        except (ValueError, errors.UnitParseError, errors.ParameterError) as err:
            raise errors.OpPrereqError("Invalid value '%s' for %s '%s': %s" %
                                       (value, what, key, err), errors.ECODE_INVAL)
    return out


# --- the table ------------------------------------------------------------------

def _kv(dest: str, help_text: str, default=None) -> dict:
    return dict(type="keyval", dest=dest, default=default, metavar="KEY=VAL,...",
                help=help_text)


def _yesno(dest: str, help_text: str) -> dict:
    return dict(type="bool", dest=dest, default=None, metavar="yes|no", help=help_text)


def _append_ident(dest: str, help_text: str) -> dict:
    return dict(type="identkeyval", action="append", dest=dest, default=None,
                metavar="IDENT:KEY=VAL,...", help=help_text)


def _status(dest_const: list[str], help_text: str) -> dict:
    return dict(action="store_const", const=dest_const, dest="status_filter", default=None,
                help=help_text)


_PRIO_CHOICES = ["low", "normal", "high"]


def _cb_priority(option, opt, value, parser):
    """--priority low|normal|high, stored as the opcode priority number."""
    if value not in constants.PRIORITY_NAMES:
        raise optparse.OptionValueError("option %s: invalid choice: '%s' (choose from %s)" %
                                        (opt, value, ", ".join("'%s'" % c
                                                               for c in _PRIO_CHOICES)))
    setattr(parser.values, option.dest, constants.PRIORITY_NAMES[value])

# name -> (flags, optparse keyword arguments)
OPTIONS: dict[str, tuple[tuple[str, ...], dict]] = {
    # common to all commands
    "debug": (("-d", "--debug"), dict(action="count", default=0, dest="debug",
                                      help="Turn debugging on")),
    "reason": (("--reason",), dict(default=None, dest="reason", metavar="REASON",
                                   help="The reason for executing the command")),
    # job options
    "dry_run": (("--dry-run",), dict(action="store_true", default=False, dest="dry_run",
                                     help="Do not execute the operation, just run the check"
                                          " steps and verify if it could be executed")),
    "priority": (("--priority",), dict(action="callback", callback=_cb_priority,
                                       type="string", default=None, dest="priority",
                                       metavar="|".join(_PRIO_CHOICES),
                                       help="Priority for opcode processing")),
    "submit": (("--submit",), dict(action="store_true", default=False, dest="submit_only",
                                   help="Submit the job and return the job ID, but don't"
                                        " wait for the job to finish")),
    "print_jobid": (("--print-jobid",), dict(action="store_true", default=False,
                                             dest="print_jobid",
                                             help="Additionally print the job as first line"
                                                  " on stdout (for scripting).")),
    # listing options
    "no_headers": (("--no-headers",), dict(action="store_true", default=False,
                                           dest="no_headers",
                                           help="Don't display column headers")),
    "separator": (("--separator",), dict(default=None, dest="separator", metavar="SEPARATOR",
                                         help="Separator between output fields (defaults to"
                                              " one space)")),
    "output": (("-o", "--output"), dict(default=None, dest="output", metavar="FIELDS",
                                        help="Comma separated list of output fields; a"
                                             " leading '+' appends to the default list")),
    "units": (("--units",), dict(default=None, dest="units", choices=["h", "m", "g", "t"],
                                 help="Specify units for output (one of h/m/g/t)")),
    "verbose": (("-v", "--verbose"), dict(action="count", default=0, dest="verbose",
                                          help="Increase the verbosity of the operation")),
    "filter": (("-F", "--filter"), dict(action="store_true", default=False,
                                        dest="force_filter",
                                        help="Whether command argument should be treated as"
                                             " filter")),
    "force": (("-f", "--force"), dict(action="store_true", default=False, dest="force",
                                      help="Force the operation")),
    "new_cluster_cert": (("--new-cluster-certificate",), dict(action="store_true", default=False,
                                                              dest="new_cluster_cert",
                                                              help="Generate a new cluster"
                                                              " certificate")),
    "new_node_certs": (("--new-node-certificates",), dict(action="store_true", default=False,
                                                          dest="new_node_certs",
                                                          help="Generate new node"
                                                          " certificates")),
    "new_rapi_cert": (("--new-rapi-certificate",), dict(action="store_true", default=False,
                                                        dest="new_rapi_cert",
                                                        help="Generate a new RAPI certificate")),
    "rapi_cert": (("--rapi-certificate",), dict(default=None, dest="rapi_cert",
                                                metavar="FILE",
                                                help="RAPI certificate (with key) to use")),
    "new_cds": (("--new-cluster-domain-secret",), dict(action="store_true", default=False,
                                                       dest="new_cds",
                                                       help="Create a new cluster domain"
                                                       " secret")),
    "cds": (("--cluster-domain-secret",), dict(default=None, dest="cds", metavar="FILE",
                                               help="Load a new cluster domain secret from"
                                               " file")),
    "new_hmac": (("--new-confd-hmac-key",), dict(action="store_true", default=False,
                                                 dest="new_hmac",
                                                 help="Create a new HMAC key for confd")),
    "no_voting": (("--no-voting",), dict(action="store_true", default=False,
                                         dest="no_voting",
                                         help="Skip the master voting (dangerous)")),
    "yes_do_it": (("--yes-do-it", "--ya-rly"), dict(action="store_true", default=False,
                                                    dest="yes_do_it",
                                                    help="Really do it (dangerous"
                                                         " operations)")),
    "interval": (("--interval",), dict(type="int", default=None, dest="interval",
                                       help="Repeat the listing every N seconds")),
    "roman": (("--roman",), dict(action="store_true", default=False, dest="roman_integers",
                                 help="Use roman numbers for positive integers")),
    "node": (("-n", "--node"), dict(action="append", default=None, dest="nodes",
                                    metavar="<node>", help="Node to run on (can be given"
                                                           " several times)")),
    "nodegroup": (("-g", "--node-group"), dict(default=None, dest="nodegroup",
                                               metavar="<nodegroup>",
                                               help="Node group (name or uuid)")),
    "tag_from": (("--from",), dict(default=None, dest="tags_source", metavar="FILE",
                                   help="File with tag names, one per line ('-' reads"
                                        " standard input)")),
    # gnt-cluster init / modify
    "secondary_ip": (("-s", "--secondary-ip"), dict(default=None, dest="secondary_ip",
                                                    metavar="ADDRESS",
                                                    help="Specify the secondary ip for this"
                                                         " node")),
    "vg_name": (("--vg-name",), dict(default=None, dest="vg_name", metavar="VG",
                                     help="Specify the volume group name")),
    "master_netdev": (("--master-netdev",), dict(default=None, dest="master_netdev",
                                                 metavar="NETDEV",
                                                 help="Specify the node interface (cluster-"
                                                      "wide) on which the master IP address"
                                                      " will be added")),
    "master_netmask": (("--master-netmask",), dict(type="int", default=None,
                                                   dest="master_netmask", metavar="NETMASK",
                                                   help="Specify the netmask of the master"
                                                        " IP (CIDR prefix length)")),
    "use_external_mip": (("--use-external-mip-script",),
                         _yesno("use_external_mip_script", "Whether to use a user-provided"
                                " script to set up the master IP address")),
    "mac_prefix": (("-m", "--mac-prefix"), dict(default=None, dest="mac_prefix",
                                                metavar="PREFIX",
                                                help="Specify the mac prefix for the"
                                                     " instance IP addresses, in the format"
                                                     " XX:XX:XX")),
    "no_etc_hosts": (("--no-etc-hosts",), dict(action="store_false", default=True,
                                               dest="modify_etc_hosts",
                                               help="Don't modify /etc/hosts")),
    "no_ssh_init": (("--no-ssh-init",), dict(action="store_false", default=True,
                                             dest="modify_ssh_setup",
                                             help="Don't initialize SSH keys")),
    "file_storage_dir": (("--file-storage-dir",), dict(default=None, dest="file_storage_dir",
                                                       metavar="DIR",
                                                       help="Specify the default directory"
                                                            " (cluster-wide) for storing the"
                                                            " file-based disks")),
    "shared_file_storage_dir": (("--shared-file-storage-dir",),
                                dict(default=None, dest="shared_file_storage_dir",
                                     metavar="SHAREDDIR",
                                     help="Specify the default directory (cluster-wide) for"
                                          " storing the shared file-based disks")),
    "gluster_storage_dir": (("--gluster-storage-dir",),
                            dict(default=None, dest="gluster_storage_dir", metavar="GLUSTERDIR",
                                 help="Specify the default directory (cluster-wide) for"
                                      " mounting Gluster file systems")),
    "enabled_hypervisors": (("--enabled-hypervisors",),
                            dict(type="list", default=None, dest="enabled_hypervisors",
                                 metavar="HYPERVISORS",
                                 help="Comma-separated list of hypervisors; the first is"
                                      " the default")),
    "hvparams": (("-H", "--hypervisor-parameters"),
                 _append_ident("hvparams", "Hypervisor parameters: hypervisor:key=val,...")),
    "beparams": (("-B", "--backend-parameters"), _kv("beparams", "Backend parameters")),
    "nicparams": (("-N", "--nic-parameters"), _kv("nicparams", "NIC parameters")),
    "diskparams": (("-D", "--disk-parameters"),
                   _append_ident("diskparams", "Disk template parameters:"
                                 " template:key=val,...")),
    "ndparams": (("--node-parameters",), _kv("ndparams", "Node parameters")),
    "hv_state": (("--hypervisor-state",), _append_ident("hv_state", "Specify hypervisor"
                                                                    " state information")),
    "disk_state": (("--disk-state",), _append_ident("disk_state", "Specify disk state"
                                                                  " information")),
    "maintain_node_health": (("--maintain-node-health",),
                             _yesno("maintain_node_health", "Configure the cluster to"
                                    " automatically maintain node health, by shutting down"
                                    " unknown instances, shutting down unknown DRBD devices,"
                                    " etc.")),
    "uid_pool": (("--uid-pool",), dict(default=None, dest="uid_pool", metavar="LIST",
                                       help="A list of user-ids or user-id ranges separated"
                                            " by commas")),
    "add_uids": (("--add-uids",), dict(default=None, dest="add_uids", metavar="LIST",
                                       help="A list of user-ids or user-id ranges to add to"
                                            " the user-id pool")),
    "remove_uids": (("--remove-uids",), dict(default=None, dest="remove_uids",
                                             metavar="LIST",
                                             help="A list of user-ids or user-id ranges to"
                                                  " remove from the user-id pool")),
    "default_iallocator": (("-I", "--default-iallocator"),
                           dict(default=None, dest="default_iallocator", metavar="NAME",
                                help="Set the default instance allocator plugin ('' clears"
                                     " it)")),
    "default_iallocator_params": (("--default-iallocator-params",),
                                  _kv("default_iallocator_params", "Set the default"
                                      " instance allocator plugin parameters")),
    "primary_ip_version": (("--primary-ip-version",),
                           dict(type="int", default=None, dest="primary_ip_version",
                                metavar="4|6", help="Cluster-wide IP version for primary"
                                                    " IP")),
    "prealloc_wipe_disks": (("--prealloc-wipe-disks",),
                            _yesno("prealloc_wipe_disks", "Wipe disks prior to instance"
                                   " creation")),
    "candidate_pool_size": (("-C", "--candidate-pool-size"),
                            dict(type="int", default=None, dest="candidate_pool_size",
                                 help="Set the candidate pool size")),
    "enabled_disk_templates": (("--enabled-disk-templates",),
                               dict(type="list", default=None, dest="enabled_disk_templates",
                                    metavar="TEMPLATES",
                                    help="Comma-separated list of disk templates; the first"
                                         " is the default")),
    "drbd_helper": (("--drbd-usermode-helper",), dict(default=None, dest="drbd_helper",
                                                      metavar="HELPER",
                                                      help="Specify the DRBD usermode"
                                                           " helper")),
    "ipolicy_std_specs": (("--ipolicy-std-specs",),
                          _kv("ipolicy_std_specs", "Complete standard instance specs"
                              " limits")),
    "ipolicy_bounds_specs": (("--ipolicy-bounds-specs",),
                             dict(type="multilistidentkeyval", default=None,
                                  dest="ipolicy_bounds_specs",
                                  metavar="min:KEY=VAL,.../max:KEY=VAL,...",
                                  help="Complete instance specs limits")),
    "ipolicy_disk_templates": (("--ipolicy-disk-templates",),
                               dict(type="list", default=None, dest="ipolicy_disk_templates",
                                    metavar="TEMPLATES", help="Comma-separated list of"
                                                              " enabled disk templates")),
    "ipolicy_vcpu_ratio": (("--ipolicy-vcpu-ratio",),
                           dict(type="float", default=None, dest="ipolicy_vcpu_ratio",
                                metavar="RATIO", help="The maximum allowed vcpu-to-cpu"
                                                      " ratio")),
    "ipolicy_spindle_ratio": (("--ipolicy-spindle-ratio",),
                              dict(type="float", default=None, dest="ipolicy_spindle_ratio",
                                   metavar="RATIO",
                                   help="The maximum allowed instances to spindle ratio")),
    "specs_cpu_count": (("--specs-cpu-count",), _kv("ispecs_cpu_count", "CPU count specs:"
                                                    " list of key=value (min, max, std)")),
    "specs_disk_count": (("--specs-disk-count",), _kv("ispecs_disk_count", "Disk count specs:"
                                                      " list of key=value (min, max, std)")),
    "specs_disk_size": (("--specs-disk-size",), _kv("ispecs_disk_size", "Disk size specs:"
                                                    " list of key=value (min, max, std)")),
    "specs_mem_size": (("--specs-mem-size",), _kv("ispecs_mem_size", "Memory size specs:"
                                                  " list of key=value (min, max, std)")),
    "specs_nic_count": (("--specs-nic-count",), _kv("ispecs_nic_count", "NIC count specs:"
                                                    " list of key=value (min, max, std)")),
    "install_image": (("--install-image",), dict(default=None, dest="install_image",
                                                 metavar="IMAGE",
                                                 help="The OS image to use for running the"
                                                      " OS scripts safely")),
    "zeroing_image": (("--zeroing-image",), dict(default=None, dest="zeroing_image",
                                                 metavar="IMAGE",
                                                 help="The OS image to use to zero instance"
                                                      " disks")),
    "compression_tools": (("--compression-tools",),
                          dict(default=None, dest="compression_tools", metavar="TOOLS",
                               help="The collection of compression tools which can be used"
                                    " to compress data sent between nodes")),
    "user_shutdown": (("--user-shutdown",),
                      _yesno("enabled_user_shutdown", "Whether user shutdown is enabled")),
    "ssh_key_type": (("--ssh-key-type",), dict(default=None, dest="ssh_key_type",
                                               choices=["rsa", "dsa", "ecdsa"],
                                               help="Type of SSH key deployed by Ganeti for"
                                                    " cluster actions")),
    "ssh_key_bits": (("--ssh-key-bits",), dict(type="int", default=None, dest="ssh_key_bits",
                                               help="Length of SSH keys generated by"
                                                    " Ganeti, in bits")),
    "reserved_lvs": (("--reserved-lvs",), dict(default=None, dest="reserved_lvs",
                                               metavar="RESERVEDLVS",
                                               help="A comma-separated list of reserved"
                                                    " logical volumes names, that will be"
                                                    " ignored by cluster verify")),
    "modify_etc_hosts": (("--modify-etc-hosts",),
                         _yesno("modify_etc_hosts", "Defines whether the cluster should"
                                " autonomously modify and keep in sync the /etc/hosts file"
                                " of the nodes")),
    "max_running_jobs": (("--max-running-jobs",),
                         dict(type="int", default=None, dest="max_running_jobs",
                              help="The maximal number of jobs running in parallel")),
    "max_tracked_jobs": (("--max-tracked-jobs",),
                         dict(type="int", default=None, dest="max_tracked_jobs",
                              help="The maximal number of jobs tracked by the scheduler")),
    "instance_communication_network": (("--instance-communication-network",),
                                       dict(default=None,
                                            dest="instance_communication_network",
                                            metavar="NETWORK",
                                            help="Set the network name for instance"
                                                 " communication")),
    "enabled_data_collectors": (("--enabled-data-collectors",),
                                _kv("enabled_data_collectors", "Deactivate or reactivate"
                                    " the data collectors: name=true|false,...")),
    "data_collector_interval": (("--data-collector-interval",),
                                _kv("data_collector_interval", "Set collection intervals in"
                                    " seconds of data collectors: name=seconds,...")),
    # gnt-cluster verify
    "error_codes": (("--error-codes",), dict(action="store_true", default=False,
                                             dest="error_codes",
                                             help="Enable parseable error messages")),
    "simulate_errors": (("--debug-simulate-errors",),
                        dict(action="store_true", default=False, dest="simulate_errors",
                             help="Debugging option that makes the operation treat most"
                                  " runtime checks as failed")),
    "ignore_errors": (("-I", "--ignore-errors"), dict(action="append", default=None,
                                                      dest="ignore_errors",
                                                      metavar="ERROR_CODES",
                                                      help="Error code to be ignored")),
    "no_nplus1_mem": (("--no-nplus1-mem",), dict(action="store_true", default=False,
                                                 dest="skip_nplusone_mem",
                                                 help="Skip N+1 memory redundancy tests")),
    "verify_clutter": (("--verify-ssh-clutter",),
                       dict(action="store_true", default=False, dest="verify_clutter",
                            help="Verify that Ganeti did not clutter up the"
                                 " 'authorized_keys' file")),
    # gnt-cluster command / copyfile
    "show_machine_names": (("-M", "--show-machine-names"),
                           dict(action="store_true", default=False, dest="show_machine_names",
                                help="Show machine name for every line in output")),
    "failure_only": (("--failure-only",), dict(action="store_true", default=False,
                                               dest="failure_only",
                                               help="Display only failed command output")),
    "use_replication_network": (("--use-replication-network",),
                                dict(action="store_true", default=False,
                                     dest="use_replication_network",
                                     help="Whether to use the replication network for"
                                          " talking to the nodes")),
    # gnt-job
    "pending": (("--pending",), _status([constants.JOB_STATUS_QUEUED,
                                         constants.JOB_STATUS_WAITING,
                                         constants.JOB_STATUS_CANCELING],
                                        "Select jobs pending execution or being"
                                        " cancelled")),
    "running": (("--running",), _status([constants.JOB_STATUS_RUNNING],
                                         "Show jobs currently running only")),
    "error": (("--error",), _status([constants.JOB_STATUS_ERROR], "Show failed jobs only")),
    "finished": (("--finished",), _status([constants.JOB_STATUS_CANCELED,
                                           constants.JOB_STATUS_SUCCESS,
                                           constants.JOB_STATUS_ERROR],
                                          "Show finished jobs only")),
    "queued": (("--queued",), _status([constants.JOB_STATUS_QUEUED],
                                      "Select queued jobs only")),
    "waiting": (("--waiting",), _status([constants.JOB_STATUS_WAITING],
                                        "Select waiting jobs only")),
    "archived": (("--archived",), dict(action="store_true", default=False, dest="archived",
                                       help="Include archived jobs in list (slow and"
                                            " expensive)")),
    "kill": (("--kill",), dict(action="store_true", default=False, dest="kill",
                               help="Kill running jobs with SIGKILL")),
    # gnt-debug
    "no_master": (("--no-master",), dict(action="store_false", default=True, dest="on_master",
                                         help="Do not sleep in the master code")),
    "repeat": (("-r", "--repeat"), dict(type="int", default=0, dest="repeat",
                                        help="Number of times to repeat the sleep")),
    "interruptible": (("-i", "--interruptible"),
                      dict(action="store_true", default=False, dest="interruptible",
                           help="Allows the opcode to be interrupted by using a domain"
                                " socket")),
    "no_locks": (("-l", "--no-locks"), dict(action="store_true", default=False,
                                            dest="no_locks",
                                            help="Don't take locks while performing the"
                                                 " delay")),
    "op_repeat": (("--op-repeat",), dict(type="int", default=1, dest="rep_op",
                                         help="Repeat the opcode sequence this number of"
                                              " times")),
    "job_repeat": (("--job-repeat",), dict(type="int", default=1, dest="rep_job",
                                           help="Repeat the job this number of times")),
    "timing_stats": (("--timing-stats",), dict(action="store_true", default=False,
                                               dest="timing_stats",
                                               help="Show timing statistics")),
    "each": (("--each",), dict(action="store_true", default=False, dest="each",
                               help="Submit each job separately")),
    # gnt-os modify
    "osparams": (("-O", "--os-parameters"), _kv("osparams", "OS parameters")),
    "osparams_private": (("--os-parameters-private",),
                         _kv("osparams_private", "Private OS parameters (won't be logged)")),
    "hidden": (("--hidden",), _yesno("hidden", "Sets the hidden flag on the OS")),
    "blacklisted": (("--blacklisted",), _yesno("blacklisted", "Sets the blacklisted flag on"
                                                             " the OS")),
    # gnt-node
    "readd": (("--readd",), dict(action="store_true", default=False, dest="readd",
                                 help="Readd old node after replacing it")),
    "no_ssh_key_check": (("--no-ssh-key-check",),
                         dict(action="store_false", default=True, dest="ssh_key_check",
                              help="Disable SSH key fingerprint checking")),
    "force_join": (("--force-join",), dict(action="store_true", default=False,
                                           dest="force_join",
                                           help="Force the joining of a node")),
    "no_node_setup": (("--no-node-setup",), dict(action="store_false", default=True,
                                                 dest="node_setup",
                                                 help="Do not make initial SSH setup on"
                                                      " remote node (needs to be done"
                                                      " manually)")),
    "master_capable": (("--master-capable",),
                       _yesno("master_capable", "Set the master_capable flag on the node")),
    "vm_capable": (("--vm-capable",),
                   _yesno("vm_capable", "Set the vm_capable flag on the node")),
    "master_candidate": (("-C", "--master-candidate"),
                         _yesno("master_candidate", "Set the master_candidate flag on the"
                                " node")),
    "node_offline": (("-O", "--offline"),
                     _yesno("offline", "Set the offline flag on the node (cluster does not"
                            " communicate with offline nodes)")),
    "node_drained": (("-D", "--drained"),
                     _yesno("drained", "Set the drained flag on the node (excluded from"
                            " allocation operations)")),
    "auto_promote": (("--auto-promote",),
                     dict(action="store_true", default=False, dest="auto_promote",
                          help="Automatically promote master candidates when needed"
                               " (e.g. when demoting or removing a candidate)")),
    "node_powered": (("--node-powered",),
                     _yesno("node_powered", "Specify if the SoR for node is powered")),
    "confirm_yes": (("--yes",), dict(action="store_true", default=False, dest="confirm",
                                     help="Do not ask for confirmation")),
    "storage_type": (("-t", "--storage-type"),
                     dict(default=None, dest="user_storage_type", metavar="STORAGE_TYPE",
                          help="Storage type (lvm-pv, lvm-vg, file, sharedfile, gluster;"
                               " default file)")),
    # gnt-group
    "alloc_policy": (("--alloc-policy",),
                     dict(default=None, dest="alloc_policy", metavar="POLICY",
                          choices=["preferred", "last_resort", "unallocable"],
                          help="Allocation policy for the node group (preferred,"
                               " last_resort or unallocable)")),
    # the group forms take "default" (drop the group's own value) besides a number
    "group_ipolicy_vcpu_ratio": (("--ipolicy-vcpu-ratio",),
                                 dict(default=None, dest="ipolicy_vcpu_ratio",
                                      metavar="RATIO", help="The maximum allowed vcpu-to-cpu"
                                                            " ratio ('default' removes the"
                                                            " group's value)")),
    "group_ipolicy_spindle_ratio": (("--ipolicy-spindle-ratio",),
                                    dict(default=None, dest="ipolicy_spindle_ratio",
                                         metavar="RATIO",
                                         help="The maximum allowed instances to spindle"
                                              " ratio ('default' removes the group's"
                                              " value)")),
}

COMMON = ["debug", "reason"]
JOB_OPTS = ["dry_run", "priority", "submit", "print_jobid"]
SUBMIT_OPTS = ["submit", "print_jobid"]
LIST_OPTS = ["no_headers", "separator", "output", "units", "verbose", "filter"]


def make(name: str) -> optparse.Option:
    """A fresh optparse option for the named table entry."""
    flags, kwargs = OPTIONS[name]
    return CliOption(*flags, **kwargs)


# --- instance policy from options (shared by gnt-cluster and gnt-group) ----------

ISPECS_PARAMETERS = ("cpu-count", "disk-count", "disk-size", "memory-size", "nic-count",
                     "spindle-use")
_ISPEC_UNITS = frozenset(["disk-size", "memory-size"])
_SPLIT_SPECS = (("ispecs_mem_size", "memory-size"), ("ispecs_cpu_count", "cpu-count"),
                ("ispecs_disk_count", "disk-count"), ("ispecs_disk_size", "disk-size"),
                ("ispecs_nic_count", "nic-count"))


def _parse_ispec(spec: dict, keyname: str, required: bool) -> dict:
    """One min/max/std spec: sizes parsed, numbers as ints, all keys when required."""
    out = {}
    for key, value in spec.items():
        if key not in ISPECS_PARAMETERS:
            raise errors.OpPrereqError("Invalid parameter %s in %s instance specs" %
                                       (key, keyname), errors.ECODE_INVAL)
        out[key] = value
    out = coerce_params(out, dict.fromkeys(ISPECS_PARAMETERS, 0), _ISPEC_UNITS,
                        "%s instance spec" % keyname)
    missing = sorted(set(ISPECS_PARAMETERS) - set(out))
    if required and missing:
        raise errors.OpPrereqError("Missing parameters in ipolicy spec %s: %s" %
                                   (keyname, ", ".join(missing)), errors.ECODE_INVAL)
    return out


def build_ipolicy(opts, fill_all: bool = False) -> dict:
    """The instance policy the options describe (empty dict: none given).

    ``fill_all`` (cluster init) completes the specs with the defaults, since
    a cluster policy must be complete; modify sends only what was given.
    """
    ipolicy: dict = {}
    split = {key: getattr(opts, dest, None) for dest, key in _SPLIT_SPECS
             if getattr(opts, dest, None)}
    bounds = getattr(opts, "ipolicy_bounds_specs", None)
    std = getattr(opts, "ipolicy_std_specs", None)
    if split and (bounds is not None or std is not None):
        raise errors.OpPrereqError("A --specs-xxx option cannot be specified together with"
                                   " any --ipolicy-xxx-specs option", errors.ECODE_INVAL)
    if split:
        specs: dict = {"min": {}, "max": {}, "std": {}}
        for key, values in split.items():
            for which, value in values.items():
                if which not in specs:
                    raise errors.OpPrereqError("Invalid key '%s' in --specs option (use"
                                               " min, max, std)" % which, errors.ECODE_INVAL)
                specs[which][key] = value
        parsed = {which: _parse_ispec(spec, which, False) for which, spec in specs.items()}
        defaults = constants.IPOLICY_DEFAULTS
        ipolicy["minmax"] = [{which: dict(defaults["minmax"][0][which], **parsed[which])
                              if fill_all else parsed[which] for which in ("min", "max")}]
        ipolicy["std"] = dict(defaults["std"], **parsed["std"]) if fill_all else parsed["std"]
    if bounds is not None:
        minmax = []
        for pair in bounds:
            out = {}
            for which, spec in pair.items():
                if which not in ("min", "max"):
                    raise errors.OpPrereqError("Invalid key in bounds instance"
                                               " specifications: %s" % which,
                                               errors.ECODE_INVAL)
                out[which] = _parse_ispec(spec, which, True)
            minmax.append(out)
        ipolicy["minmax"] = minmax
    if std is not None:
        parsed_std = _parse_ispec(std, "std", False)
        ipolicy["std"] = dict(constants.IPOLICY_DEFAULTS["std"], **parsed_std) \
            if fill_all else parsed_std
    templates = getattr(opts, "ipolicy_disk_templates", None)
    if templates is not None:
        ipolicy["disk-templates"] = list(templates)
    for dest, key in (("ipolicy_vcpu_ratio", "vcpu-ratio"),
                      ("ipolicy_spindle_ratio", "spindle-ratio")):
        value = getattr(opts, dest, None)
        if value is not None:
            ipolicy[key] = value
    return ipolicy
