"""gnt-cluster: create, inspect, verify and administer the cluster."""

from __future__ import annotations

import sys

from ganeti import constants, errors
from ganeti.cli.remote import copy_file, run_command
from ganeti.cli import tags
from ganeti.cli.base import Command, run
from ganeti.cli.options import SUBMIT_OPTS

_LVM_TEMPLATES = frozenset([constants.DT_PLAIN, constants.DT_DRBD8])
_BE_UNITS = frozenset(["maxmem", "minmem", "memory"])

_INIT_OPTS = [
    "beparams", "candidate_pool_size", "enabled_hypervisors", "file_storage_dir", "hvparams",
    "mac_prefix", "master_netdev", "master_netmask", "nicparams", "no_etc_hosts",
    "no_ssh_init", "secondary_ip", "vg_name", "maintain_node_health", "uid_pool",
    "drbd_helper", "default_iallocator", "default_iallocator_params", "primary_ip_version",
    "prealloc_wipe_disks", "ndparams", "shared_file_storage_dir", "use_external_mip",
    "diskparams", "hv_state", "disk_state", "enabled_disk_templates", "ipolicy_std_specs",
    "gluster_storage_dir", "install_image", "zeroing_image", "compression_tools",
    "user_shutdown", "ssh_key_bits", "ssh_key_type", "ipolicy_bounds_specs",
    "ipolicy_disk_templates", "ipolicy_vcpu_ratio", "ipolicy_spindle_ratio",
    "specs_cpu_count", "specs_disk_count", "specs_disk_size", "specs_mem_size",
    "specs_nic_count",
]
_MODIFY_OPTS = [
    "force", "beparams", "candidate_pool_size", "max_running_jobs", "max_tracked_jobs",
    "install_image", "instance_communication_network", "enabled_hypervisors", "hvparams",
    "mac_prefix", "master_netdev", "master_netmask", "nicparams", "vg_name",
    "maintain_node_health", "uid_pool", "add_uids", "remove_uids", "drbd_helper",
    "default_iallocator", "default_iallocator_params", "reserved_lvs", "dry_run", "priority",
    "prealloc_wipe_disks", "ndparams", "use_external_mip", "diskparams", "hv_state",
    "disk_state"] + SUBMIT_OPTS + [
    "enabled_disk_templates", "ipolicy_std_specs", "modify_etc_hosts", "user_shutdown",
    "ipolicy_bounds_specs", "ipolicy_disk_templates", "ipolicy_vcpu_ratio",
    "ipolicy_spindle_ratio", "file_storage_dir", "shared_file_storage_dir", "zeroing_image",
    "compression_tools", "enabled_data_collectors", "data_collector_interval",
]


def _client():
    from ganeti.cli import jobs
    return jobs.get_client()


# --- parameter helpers -----------------------------------------------------------

def parse_uid_pool(spec: str) -> list[list[int]]:
    """'1000-1009,2000 3000' -> [[1000, 1009], [2000, 2000], [3000, 3000]] (sorted)."""
    ranges = []
    for part in spec.replace(",", " ").split():
        bounds = part.split("-")
        if len(bounds) > 2:
            raise errors.OpPrereqError("Invalid user-id range definition. Only one hyphen"
                                       " allowed: %s" % part, errors.ECODE_INVAL)
        try:
            lower = int(bounds[0])
            higher = int(bounds[-1])
        except ValueError:
            raise errors.OpPrereqError("Invalid user-id value in range '%s'" % part,
                                       errors.ECODE_INVAL)
        if higher < lower:
            raise errors.OpPrereqError("Invalid user-id range: %s" % part, errors.ECODE_INVAL)
        ranges.append([lower, higher])
    return sorted(ranges)


def format_uid_pool(pool: list) -> str:
    return ", ".join(str(lo) if lo == hi else "%s-%s" % (lo, hi) for lo, hi in pool or [])


def _beparams(opts) -> dict | None:
    from ganeti.cli.options import coerce_params
    if not opts.beparams:
        return None
    be = coerce_params(opts.beparams, constants.BEC_DEFAULTS, _BE_UNITS, "backend parameter")
    if "memory" in be:
        memory = be.pop("memory")
        be.setdefault("maxmem", memory)
        be.setdefault("minmem", memory)
    return be


def _ident_params(values: list | None, defaults: dict, what: str) -> dict | None:
    """Repeated ``ident:k=v`` options (-H, -D) as {ident: typed params}."""
    from ganeti.cli.options import coerce_params
    if not values:
        return None
    out: dict = {}
    for ident, params in values:
        if isinstance(params, dict):
            out[ident] = coerce_params(params, defaults.get(ident, {}),
                                       what="%s parameter of %s" % (what, ident))
        else:
            out[ident] = params
    return out


def _common_params(opts) -> dict:
    """Parameters init and modify share, under their opcode/config names."""
    from ganeti.cli.options import coerce_params
    params: dict = {}
    hvp = _ident_params(opts.hvparams, constants.HVC_DEFAULTS, "hypervisor")
    if hvp is not None:
        params["hvparams"] = hvp
    dsk = _ident_params(opts.diskparams, constants.DISK_DT_DEFAULTS, "disk")
    if dsk is not None:
        params["diskparams"] = dsk
    be = _beparams(opts)
    if be is not None:
        params["beparams"] = be
    if opts.nicparams:
        params["nicparams"] = coerce_params(opts.nicparams, constants.NICC_DEFAULTS,
                                            what="NIC parameter")
    if opts.ndparams:
        params["ndparams"] = coerce_params(opts.ndparams, constants.NDC_DEFAULTS,
                                           what="node parameter")
    for name in ("enabled_hypervisors", "enabled_disk_templates", "candidate_pool_size",
                 "mac_prefix", "master_netdev", "master_netmask", "file_storage_dir",
                 "shared_file_storage_dir", "maintain_node_health", "prealloc_wipe_disks",
                 "use_external_mip_script", "install_image", "zeroing_image",
                 "enabled_user_shutdown", "default_iallocator"):
        value = getattr(opts, name, None)
        if value is not None:
            params[name] = value
    if opts.default_iallocator_params is not None:
        params["default_iallocator_params"] = dict(opts.default_iallocator_params)
    if opts.uid_pool is not None:
        params["uid_pool"] = parse_uid_pool(opts.uid_pool)
    if opts.compression_tools is not None:
        from ganeti.cli.options import split_list
        params["compression_tools"] = split_list(opts.compression_tools) or \
            list(constants.DEFAULT_COMPRESSION_TOOLS)
    if opts.hv_state:
        params["hv_state"] = dict(opts.hv_state)
    if opts.disk_state:
        params["disk_state"] = dict(opts.disk_state)
    return params


# --- init / destroy ----------------------------------------------------------------

def init_cluster(opts, args) -> int:
    """Create a one-node cluster with this node as master (bootstrap does the work)."""
    from ganeti import bootstrap
    from ganeti.cli.options import build_ipolicy
    templates = opts.enabled_disk_templates or list(constants.DEFAULT_ENABLED_DISK_TEMPLATES)
    lvm = bool(_LVM_TEMPLATES.intersection(templates))
    if opts.vg_name is not None:
        if opts.vg_name and not lvm:
            print("You specified a volume group with --vg-name, but you did not enable any"
                  " disk template that uses lvm.")
        elif not opts.vg_name and lvm:
            sys.stderr.write("LVM disk templates are enabled, but vg name not set.\n")
            return constants.EXIT_FAILURE
    drbd = constants.DT_DRBD8 in templates
    if not drbd and opts.drbd_helper is not None:
        print("Note: You specified a DRBD usermode helper, while DRBD storage is not"
              " enabled.")
    if drbd and opts.drbd_helper == "":
        sys.stderr.write("Unsetting the drbd usermode helper while enabling DRBD is not"
                         " allowed.\n")
        return constants.EXIT_FAILURE
    unknown = sorted(ident for ident, _ in opts.diskparams or []
                     if ident not in constants.DISK_TEMPLATES)
    if unknown:
        sys.stderr.write("Disk templates unknown: %s\n" % ", ".join(unknown))
        return constants.EXIT_FAILURE
    if opts.primary_ip_version is not None and opts.primary_ip_version not in (4, 6):
        sys.stderr.write("Invalid primary ip version value: %s\n" % opts.primary_ip_version)
        return constants.EXIT_FAILURE
    params = _common_params(opts)
    for key in ("hvparams", "diskparams"):
        if key in params:
            # "no_x"/"-x" (remove a group) means nothing for a new cluster
            params[key] = {k: v for k, v in params[key].items() if isinstance(v, dict)}
    ipolicy = build_ipolicy(opts, fill_all=True)
    if ipolicy:
        params["ipolicy"] = ipolicy
    for opt_name, key in (("vg_name", "volume_group_name"),
                          ("drbd_helper", "drbd_usermode_helper"),
                          ("secondary_ip", "secondary_ip"),
                          ("primary_ip_version", "primary_ip_version"),
                          ("gluster_storage_dir", "gluster_storage_dir"),
                          ("ssh_key_type", "ssh_key_type"), ("ssh_key_bits", "ssh_key_bits")):
        value = getattr(opts, opt_name)
        if value is not None:
            params[key] = value
    if not opts.modify_etc_hosts:
        params["no_etc_hosts"] = True
        params["modify_etc_hosts"] = False
    if not opts.modify_ssh_setup:
        params["no_ssh_init"] = True
        params["modify_ssh_setup"] = False
    bootstrap.init_cluster(args[0], params, feedback=print)
    return 0


def destroy_cluster(opts, args) -> int:
    """Run OP_CLUSTER_DESTROY, then stop the daemons and remove the files here."""
    if not opts.yes_do_it:
        sys.stderr.write("Destroying a cluster is irreversible. If you really want destroy"
                         " this cluster, supply the --yes-do-it option.\n")
        return constants.EXIT_FAILURE
    from ganeti import bootstrap
    from ganeti.cli import jobs
    jobs.submit_opcode({"OP_ID": "OP_CLUSTER_DESTROY"}, opts)
    bootstrap.finalize_cluster_destroy(feedback=print)
    return 0


# --- info / version / master ---------------------------------------------------------

def cluster_info_data(info: dict, roman: bool = False) -> list:
    """QueryClusterInfo's dict as the ordered data "gnt-cluster info" prints."""
    from ganeti import pathutils
    from ganeti.cli.base import format_time, grouped_params, policy_info, to_roman
    from ganeti.utils.text import nice_sort
    tags = ", ".join(nice_sort(info.get("tags") or [])) or "(none)"
    enabled = info.get("enabled_hypervisors") or []
    hvparams = {hv: p for hv, p in (info.get("hvparams") or {}).items() if hv in enabled}
    enabled_dc = info.get("enabled_data_collectors") or {}
    intervals = info.get("data_collector_interval") or {}
    collectors = {name: {"active": enabled_dc[name],
                         "interval": "%.3fs" % ((intervals.get(name) or 0) / 1e6)}
                  for name in enabled_dc}
    r = roman
    cluster_params = [
        ("candidate pool size", to_roman(info.get("candidate_pool_size"), r)),
        ("maximal number of jobs running simultaneously",
         to_roman(info.get("max_running_jobs"), r)),
        ("maximal number of jobs simultaneously tracked by the scheduler",
         to_roman(info.get("max_tracked_jobs"), r)),
        ("mac prefix", info.get("mac_prefix")),
        ("master netdev", info.get("master_netdev")),
        ("master netmask", to_roman(info.get("master_netmask"), r)),
        ("use external master IP address setup script", info.get("use_external_mip_script")),
        ("lvm volume group", info.get("volume_group_name")),
        ("lvm reserved volumes", ", ".join(info.get("reserved_lvs") or []) or "(none)"),
        ("drbd usermode helper", info.get("drbd_usermode_helper")),
        ("file storage path", info.get("file_storage_dir")),
        ("shared file storage path", info.get("shared_file_storage_dir")),
        ("gluster storage path", info.get("gluster_storage_dir")),
        ("maintenance of node health", info.get("maintain_node_health")),
        ("uid pool", format_uid_pool(info.get("uid_pool"))),
        ("default instance allocator", info.get("default_iallocator")),
        ("default instance allocator parameters", info.get("default_iallocator_params") or {}),
        ("primary ip version", to_roman(info.get("primary_ip_version"), r)),
        ("preallocation wipe disks", info.get("prealloc_wipe_disks")),
        ("OS search path", ", ".join(pathutils.strip_root(p)
                                     for p in pathutils.OS_SEARCH_PATH)),
        ("ExtStorage Providers search path", ", ".join(pathutils.strip_root(p)
                                                       for p in pathutils.ES_SEARCH_PATH)),
        ("enabled disk templates", ", ".join(info.get("enabled_disk_templates") or [])),
        ("install image", info.get("install_image")),
        ("instance communication network", info.get("instance_communication_network")),
        ("zeroing image", info.get("zeroing_image")),
        ("compression tools", info.get("compression_tools") or []),
        ("enabled user shutdown", info.get("enabled_user_shutdown")),
        ("modify ssh setup", info.get("modify_ssh_setup")),
        ("ssh_key_type", info.get("ssh_key_type")),
        ("ssh_key_bits", info.get("ssh_key_bits")),
    ]
    arch = info.get("architecture") or ["?", "?"]
    return [
        ("Cluster name", info.get("name")),
        ("Cluster UUID", info.get("uuid")),
        ("Creation time", format_time(info.get("ctime"))),
        ("Modification time", format_time(info.get("mtime"))),
        ("Master node", info.get("master")),
        ("Architecture (this node)", "%s (%s)" % (arch[0], arch[1])),
        ("Tags", tags),
        ("Default hypervisor", info.get("default_hypervisor")),
        ("Enabled hypervisors", ", ".join(enabled)),
        ("Hypervisor parameters", grouped_params(hvparams, r)),
        ("OS-specific hypervisor parameters", grouped_params(info.get("os_hvp") or {}, r)),
        ("OS parameters", grouped_params(info.get("osparams") or {}, r)),
        ("Hidden OSes", ", ".join(info.get("hidden_os") or [])),
        ("Blacklisted OSes", ", ".join(info.get("blacklisted_os") or [])),
        ("Cluster parameters", cluster_params),
        ("Default node parameters", grouped_params(info.get("ndparams") or {}, r)),
        ("Default instance parameters", grouped_params(info.get("beparams") or {}, r)),
        ("Default nic parameters", grouped_params(info.get("nicparams") or {}, r)),
        ("Default disk parameters", grouped_params(info.get("diskparams") or {}, r)),
        ("Instance policy - limits for instances", policy_info(info.get("ipolicy") or {}, r)),
        ("Data collectors", collectors),
    ]


def show_info(opts, args) -> int:
    from ganeti.cli.base import print_generic_info
    print_generic_info(cluster_info_data(_client().query_cluster_info(),
                                         roman=opts.roman_integers))
    return 0


def show_version(opts, args) -> int:
    info = _client().query_cluster_info()
    sys.stdout.write("Software version: %s\nInternode protocol: %s\nConfiguration format: %s\n"
                     "OS api version: %s\nExport interface: %s\nVCS version: %s\n" % (
                         info["software_version"], info["protocol_version"],
                         info["config_version"], info["os_api_version"],
                         info["export_version"], info["vcs_version"]))
    return 0


def show_master(opts, args) -> int:
    """The master's name from this node's ssconf (works without the master daemon)."""
    from ganeti import ssconf
    print(ssconf.SimpleStore().get_master_node())
    return 0


def master_ping(opts, args) -> int:
    """Exit 0 if the master daemon answers, 1 otherwise (silently)."""
    try:
        _client().query_cluster_info()
    except Exception:  # noqa: BLE001 - any failure means "not alive"
        return constants.EXIT_FAILURE
    return constants.EXIT_SUCCESS


# --- verify / modify / redist ------------------------------------------------------

def verify_cluster(opts, args) -> int:
    """OP_CLUSTER_VERIFY, then follow the verification jobs it submits."""
    from ganeti.cli import jobs
    op = {"OP_ID": "OP_CLUSTER_VERIFY", "verbose": bool(opts.verbose),
          "error_codes": opts.error_codes, "debug_simulate_errors": opts.simulate_errors,
          "skip_checks": ["nplusone_mem"] if opts.skip_nplusone_mem else [],
          "ignore_errors": opts.ignore_errors or [], "group_name": opts.nodegroup,
          "verify_clutter": opts.verify_clutter}
    client = _client()
    result = jobs.submit_opcode(op, opts, client)
    results = jobs.wait_for_jobs(client, result["jobs"])
    bad_jobs = sum(1 for ok, _ in results if not ok)
    bad_results = sum(1 for ok, res in results if ok and not (res and res[0]))
    if bad_jobs:
        print("%s job(s) failed while verifying the cluster." % bad_jobs)
    return constants.EXIT_SUCCESS if not bad_jobs and not bad_results else \
        constants.EXIT_FAILURE


def verify_disks(opts, args) -> int:
    """OP_CLUSTER_VERIFY_DISKS; activate disks of instances that need it."""
    from ganeti.cli import jobs
    from ganeti.cli.errors import format_error
    client = _client()
    result = jobs.submit_opcode({"OP_ID": "OP_CLUSTER_VERIFY_DISKS",
                                 "group_name": opts.nodegroup}, opts, client)
    code = constants.EXIT_SUCCESS
    for ok, res in jobs.wait_for_jobs(client, result["jobs"], verbose=False):
        if not ok:
            print("Job failed: %s" % res)
            continue
        bad_nodes, instances, missing = res[0]
        for node, text in bad_nodes.items():
            print("Error gathering data on node %s: %s" % (node, text[-400:]))
            code = constants.EXIT_FAILURE
            print("You need to fix these nodes first before fixing instances")
        for iname in instances:
            if iname in missing:
                continue
            print("Activating disks for instance '%s'" % iname)
            try:
                jobs.submit_opcode({"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS",
                                    "instance_name": iname}, opts, client)
            except errors.GenericError as err:
                nret, msg = format_error(err)
                code |= nret
                sys.stderr.write("Error activating disks for instance %s: %s\n" % (iname, msg))
        if missing:
            for iname, ival in missing.items():
                if all(x[0] in bad_nodes for x in ival):
                    print("Instance %s cannot be verified as it lives on broken nodes" % iname)
                    continue
                print("Instance %s has missing logical volumes:" % iname)
                for node, vol in sorted(ival):
                    print("\t%s%s /dev/%s" % ("broken node " if node in bad_nodes else "",
                                              node, vol))
            print("You need to replace or recreate disks for all the above instances if this"
                  " message persists after fixing broken nodes.")
            code = constants.EXIT_FAILURE
        elif not instances:
            print("No disks need to be activated.")
    return code


def modify_cluster(opts, args) -> int:
    """OP_CLUSTER_SET_PARAMS with exactly the parameters given on the command line."""
    from ganeti.cli import jobs
    from ganeti.cli.options import build_ipolicy, split_list
    op: dict = {"OP_ID": "OP_CLUSTER_SET_PARAMS", "force": opts.force}
    op.update(_common_params(opts))
    ipolicy = build_ipolicy(opts)
    if ipolicy:
        op["ipolicy"] = ipolicy
    for name in ("vg_name", "drbd_helper", "max_running_jobs", "max_tracked_jobs",
                 "modify_etc_hosts", "instance_communication_network",
                 "gluster_storage_dir"):
        value = getattr(opts, name, None)
        if value is not None:
            op[name] = value
    if opts.add_uids is not None:
        op["add_uids"] = parse_uid_pool(opts.add_uids)
    if opts.remove_uids is not None:
        op["remove_uids"] = parse_uid_pool(opts.remove_uids)
    if opts.reserved_lvs is not None:
        op["reserved_lvs"] = split_list(opts.reserved_lvs)
    if opts.enabled_data_collectors:
        collectors = {k: str(v).lower().startswith("t")
                      for k, v in opts.enabled_data_collectors.items()}
        unknown = [k for k in collectors if k not in constants.DATA_COLLECTOR_DEFAULTS]
        if unknown:
            sys.stderr.write("Data collector names not recognized: %s\n" % ", ".join(unknown))
        op["enabled_data_collectors"] = collectors
    if opts.data_collector_interval:
        try:
            intervals = {k: int(1e6 * float(v))
                         for k, v in opts.data_collector_interval.items()}
        except (TypeError, ValueError):
            sys.stderr.write("Can't transform all values to integers: %s\n" %
                             opts.data_collector_interval)
            return constants.EXIT_FAILURE
        if any(v <= 0 for v in intervals.values()):
            sys.stderr.write("Some interval times where not above zero.\n")
            return constants.EXIT_FAILURE
        op["data_collector_interval"] = intervals
    if len(op) == 2:
        sys.stderr.write("Please give at least one of the parameters.\n")
        return constants.EXIT_FAILURE
    result = jobs.submit_or_send(op, opts)
    if isinstance(result, dict) and result.get("jobs"):
        results = jobs.wait_for_jobs(_client(), result["jobs"])
        if not all(ok for ok, _ in results):
            return constants.EXIT_FAILURE
    return 0


def redist_conf(opts, args) -> int:
    """Push config and ssconf to the nodes; --yes-do-it works even if the queue is drained."""
    from ganeti.cli import jobs
    op = {"OP_ID": "OP_CLUSTER_REDIST_CONF"}
    if opts.yes_do_it:
        client = _client()
        job_id = client.submit_job_to_drained_queue([jobs.set_generic_opts(op, opts)])
        jobs.poll_job(client, job_id)
    else:
        jobs.submit_or_send(op, opts)
    return 0


# --- queue / watcher -----------------------------------------------------------------

def queue_ops(opts, args) -> int:
    command = args[0]
    client = _client()
    if command in ("drain", "undrain"):
        client.set_drain_flag(command == "drain")
    elif command == "info":
        drained = client.query_config_values(["drain_flag"])[0]
        print("The drain flag is %s" % ("set" if drained else "unset"))
    else:
        raise errors.OpPrereqError("Command '%s' is not valid." % command, errors.ECODE_INVAL)
    return 0


def _show_watcher_pause(until: float | None) -> None:
    import time
    if until is None or until < time.time():
        print("The watcher is not paused.")
    else:
        print("The watcher is paused until %s." % time.ctime(until))


def watcher_ops(opts, args) -> int:
    import time
    command = args[0]
    client = _client()
    if command == "continue":
        client.set_watcher_pause(None)
        print("The watcher is no longer paused.")
    elif command == "pause":
        if len(args) < 2:
            raise errors.OpPrereqError("Missing pause duration", errors.ECODE_INVAL)
        from ganeti.cli.kvparse import parse_timespec
        _show_watcher_pause(client.set_watcher_pause(time.time() + parse_timespec(args[1])))
    elif command == "info":
        _show_watcher_pause(client.query_config_values(["watcher_pause"])[0])
    else:
        raise errors.OpPrereqError("Command '%s' is not valid." % command, errors.ECODE_INVAL)
    return 0


def rename_cluster(opts, args) -> int:
    """Rename the cluster (new name must resolve; asks unless -f)."""
    from ganeti.cli import jobs
    from ganeti.cli.base import ask_user
    new_name = args[0]
    if not opts.force:
        old = _client().query_config_values(["cluster_name"])[0]
        if not ask_user("This will rename the cluster from '%s' to '%s'. If you are connected"
                        " over the network to the cluster name, the operation is very"
                        " dangerous as the IP address will be removed from the node and the"
                        " change may not go through. Continue?" % (old, new_name)):
            return constants.EXIT_CONFIRMATION
    result = jobs.submit_opcode({"OP_ID": "OP_CLUSTER_RENAME", "name": new_name}, opts)
    if result is not None:
        print("Cluster renamed to %s" % result)
    return 0


def renew_crypto(opts, args) -> int:
    """Replace certificates and secrets on every node (OP_CLUSTER_RENEW_CRYPTO)."""
    from ganeti.cli import jobs
    from ganeti.cli.base import ask_user

    def read(path: str | None) -> str | None:
        if path is None:
            return None
        try:
            with open(path, encoding="ascii") as fh:
                return fh.read()
        except (OSError, UnicodeDecodeError) as err:
            raise errors.OpPrereqError("Can't read %s: %s" % (path, err), errors.ECODE_INVAL)

    if opts.rapi_cert and opts.new_rapi_cert:
        raise errors.OpPrereqError("Only one of the --new-rapi-certificate and"
                                   " --rapi-certificate options can be given",
                                   errors.ECODE_INVAL)
    if opts.cds and opts.new_cds:
        raise errors.OpPrereqError("Only one of the --new-cluster-domain-secret and"
                                   " --cluster-domain-secret options can be given",
                                   errors.ECODE_INVAL)
    op = {"OP_ID": "OP_CLUSTER_RENEW_CRYPTO",
          "node_certificates": bool(opts.new_cluster_cert or opts.new_node_certs),
          "new_rapi_certificate": opts.new_rapi_cert, "rapi_certificate": read(opts.rapi_cert),
          "new_cluster_domain_secret": opts.new_cds, "cluster_domain_secret": read(opts.cds),
          "new_confd_hmac_key": opts.new_hmac}
    if not opts.force and not ask_user("Updating certificates now. Running commands on"
                                       " the cluster while this happens may fail. Continue?"):
        return constants.EXIT_CONFIRMATION
    jobs.submit_opcode(op, opts)
    return 0


def master_failover(opts, args) -> int:
    """Run on a master candidate: take over the master role (voting unless told)."""
    from ganeti import bootstrap
    if opts.no_voting and not opts.yes_do_it:
        sys.stderr.write("This will perform the failover even if most other nodes are down,"
                         " or if this node is outdated. This is dangerous as it can lead to"
                         " a non-consistent cluster. Check the gnt-cluster(8) man page before"
                         " proceeding. Use --yes-do-it to confirm.\n")
        return constants.EXIT_CONFIRMATION
    bootstrap.master_failover(no_voting=opts.no_voting, feedback=print)
    return 0


# --- tags ------------------------------------------------------------------------------

def search_tags(opts, args) -> int:
    """Print "PATH TAG" for every tag matching the regex; exit 1 when none does."""
    from ganeti.cli import jobs
    result = jobs.submit_opcode({"OP_ID": "OP_TAGS_SEARCH", "pattern": args[0]}, opts)
    if not result:
        return constants.EXIT_FAILURE
    for path, tag in sorted(tuple(r) for r in result):
        print("%s %s" % (path, tag))
    return 0



COMMANDS = {
    "init": Command(init_cluster, "[<opts>...] <cluster-name>", _INIT_OPTS,
                    "Initialises a new cluster configuration", min_args=1, max_args=1),
    "destroy": Command(destroy_cluster, "", ["yes_do_it"], "Destroy cluster", max_args=0),
    "redist-conf": Command(redist_conf, "", SUBMIT_OPTS + ["dry_run", "priority",
                                                           "yes_do_it"],
                           "Forces a push of the configuration file and ssconf files to the"
                           " nodes in the cluster", max_args=0),
    "verify": Command(verify_cluster, "", ["verbose", "simulate_errors", "error_codes",
                                           "no_nplus1_mem", "dry_run", "priority",
                                           "nodegroup", "ignore_errors", "verify_clutter"],
                      "Does a check on the cluster configuration", max_args=0),
    "verify-disks": Command(verify_disks, "", ["priority", "nodegroup"],
                            "Does a check on the cluster disk status", max_args=0),
    "master-ping": Command(master_ping, "", [], "Checks if the master is alive",
                           max_args=0),
    "rename": Command(rename_cluster, "<new_name>", ["force", "dry_run", "priority"],
                      "Renames the cluster", min_args=1, max_args=1),
    "renew-crypto": Command(renew_crypto, "", ["force", "new_cluster_cert", "new_node_certs",
                                                "new_rapi_cert", "rapi_cert", "new_cds", "cds",
                                                "new_hmac", "priority"],
                            "Generates new certificates and secrets and distributes them",
                            max_args=0),
    "master-failover": Command(master_failover, "[--no-voting [--yes-do-it]]",
                               ["no_voting", "yes_do_it"],
                               "Makes the current node the master", max_args=0),
    "version": Command(show_version, "", [], "Shows the cluster version", max_args=0),
    "getmaster": Command(show_master, "", [], "Shows the cluster master", max_args=0),
    "copyfile": Command(copy_file, "[-n <node-name>...] <filename>",
                        ["node", "use_replication_network", "nodegroup"],
                        "Copies a file to all (or only some) nodes", min_args=1, max_args=1),
    "command": Command(run_command, "[-n <node-name>...] <command>",
                       ["node", "nodegroup", "show_machine_names", "failure_only"],
                       "Runs a command on all (or only some) nodes", min_args=1),
    "info": Command(show_info, "[--roman]", ["roman"], "Show cluster configuration",
                    max_args=0),
    "search-tags": Command(search_tags, "", ["priority"], "Searches the tags on all objects"
                           " on the cluster for a given pattern (regex)", min_args=1,
                           max_args=1),
    "queue": Command(queue_ops, "drain|undrain|info", [], "Change queue properties",
                     min_args=1, max_args=1),
    "watcher": Command(watcher_ops, "{pause <timespec>|continue|info}", [],
                       "Change watcher properties", min_args=1, max_args=2),
    "modify": Command(modify_cluster, "[<opts>...]", _MODIFY_OPTS,
                      "Alters the parameters of the cluster", max_args=0),
}
COMMANDS.update(tags.tag_commands(constants.TAG_CLUSTER, None,
                                  ["tag_from", "priority"] + SUBMIT_OPTS))
ALIASES = {"show": "info", "masterfailover": "master-failover"}


def main(argv: list[str] | None = None) -> int:
    return run("gnt-cluster", COMMANDS, ALIASES, argv, env_override=frozenset())
