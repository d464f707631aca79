"""gnt-cluster: create, inspect, verify and administer the cluster."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ganeti import constants, errors
from ganeti.cli.base import Command, ask_user, run
from ganeti.cli.options import JOB_OPTS, SUBMIT_OPTS
from ganeti.utils.text import nice_sort

_INIT_OPTS = [
    "secondary_ip", "vg_name", "master_netdev", "master_netmask", "use_external_mip",
    "mac_prefix", "no_etc_hosts", "no_ssh_init", "file_storage_dir", "shared_file_storage_dir",
    "gluster_storage_dir", "enabled_hypervisors", "hvparams", "beparams", "nicparams",
    "diskparams", "ndparams", "maintain_node_health", "uid_pool", "default_iallocator",
    "default_iallocator_params", "primary_ip_version", "prealloc_wipe_disks",
    "candidate_pool_size", "enabled_disk_templates", "drbd_helper", "ipolicy_std_specs",
    "ipolicy_disk_templates", "ipolicy_vcpu_ratio", "ipolicy_spindle_ratio", "install_image",
    "zeroing_image", "compression_tools", "user_shutdown", "ssh_key_type", "ssh_key_bits",
]
_MODIFY_OPTS = [o for o in _INIT_OPTS if o not in (
    "secondary_ip", "no_etc_hosts", "no_ssh_init", "primary_ip_version", "ssh_key_type",
    "ssh_key_bits")] + ["force", "add_uids", "remove_uids", "reserved_lvs", "modify_etc_hosts",
                        "max_running_jobs", "max_tracked_jobs",
                        "instance_communication_network"]


def _client():
    from ganeti.cli import jobs
    return jobs.get_client()


def _uid_pool(spec: str) -> list:
    ranges = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            ranges.append([int(lo), int(hi or lo)])
        except ValueError:
            raise errors.OpPrereqError("Invalid user-id range '%s'" % part, errors.ECODE_INVAL)
    return ranges


def _common_params(opts) -> dict:
    """Options shared by init and modify, as cluster parameter names."""
    from ganeti.cli.kvparse import convert_values
    params: dict = {}
    if opts.hvparams:
        hvp = {}
        for hv, values in opts.hvparams:
            if not isinstance(values, dict):
                raise errors.OpPrereqError("Invalid hypervisor parameters for %s" % hv,
                                           errors.ECODE_INVAL)
            hvp[hv] = convert_values(values)
        params["hvparams"] = hvp
    if opts.beparams:
        from ganeti.cli.kvparse import parse_size
        be = convert_values(opts.beparams)
        for key in ("memory", "minmem", "maxmem"):
            if isinstance(be.get(key), str):
                be[key] = parse_size(be[key])
        params["beparams"] = be
    if opts.nicparams:
        params["nicparams"] = dict(opts.nicparams)
    if opts.ndparams:
        params["ndparams"] = convert_values(opts.ndparams)
    if opts.diskparams:
        params["diskparams"] = {tmpl: convert_values(v) for tmpl, v in opts.diskparams
                                if isinstance(v, dict)}
    ipolicy = {}
    if opts.ipolicy_std_specs:
        ipolicy["std"] = convert_values(opts.ipolicy_std_specs)
    if opts.ipolicy_disk_templates is not None:
        ipolicy["disk-templates"] = opts.ipolicy_disk_templates
    if opts.ipolicy_vcpu_ratio is not None:
        ipolicy["vcpu-ratio"] = opts.ipolicy_vcpu_ratio
    if opts.ipolicy_spindle_ratio is not None:
        ipolicy["spindle-ratio"] = opts.ipolicy_spindle_ratio
    if ipolicy:
        params["ipolicy"] = ipolicy
    for name in ("master_netdev", "master_netmask", "mac_prefix", "file_storage_dir",
                 "shared_file_storage_dir", "gluster_storage_dir", "enabled_hypervisors",
                 "maintain_node_health", "prealloc_wipe_disks", "candidate_pool_size",
                 "enabled_disk_templates", "install_image", "zeroing_image",
                 "compression_tools", "enabled_user_shutdown", "default_iallocator_params",
                 "use_external_mip_script"):
        value = getattr(opts, name, None)
        if value is not None:
            params[name] = value
    if opts.uid_pool is not None:
        params["uid_pool"] = _uid_pool(opts.uid_pool)
    if opts.default_iallocator is not None:
        params["default_iallocator"] = opts.default_iallocator
    return params


def init_cluster(opts, args):
    from ganeti import bootstrap
    params = _common_params(opts)
    if opts.secondary_ip:
        params["secondary_ip"] = opts.secondary_ip
    if opts.vg_name is not None:
        params["volume_group_name"] = opts.vg_name
    if opts.drbd_helper is not None:
        params["drbd_usermode_helper"] = opts.drbd_helper
    if opts.primary_ip_version is not None:
        if opts.primary_ip_version not in (4, 6):
            raise errors.OpPrereqError("Invalid primary ip version %s" % opts.primary_ip_version,
                                       errors.ECODE_INVAL)
        params["primary_ip_version"] = opts.primary_ip_version
    for name in ("ssh_key_type", "ssh_key_bits"):
        if getattr(opts, name) is not None:
            params[name] = getattr(opts, name)
    if not opts.modify_etc_hosts:
        params["no_etc_hosts"] = True
    if not opts.modify_ssh_setup:
        params["no_ssh_init"] = True
    bootstrap.init_cluster(args[0], params, feedback=print)
    return 0


def destroy_cluster(opts, args):
    if not opts.yes_do_it:
        sys.stderr.write("Destroying a cluster is irreversible. If you really want destroy"
                         " this cluster, supply the --yes-do-it option.\n")
        return constants.EXIT_FAILURE
    from ganeti import bootstrap
    from ganeti.cli import jobs
    jobs.submit_opcode({"OP_ID": "OP_CLUSTER_DESTROY"}, opts)
    bootstrap.finalize_cluster_destroy(feedback=print)
    return 0


def _yn(value) -> str:
    return str(value)


def _tree(data, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(data, dict):
        for key in sorted(data):
            value = data[key]
            if isinstance(value, dict):
                out.append("%s%s: " % (pad, key))
                _tree(value, indent + 2, out)
            elif isinstance(value, list) and value and not all(
                    isinstance(v, (str, int, float)) for v in value):
                out.append("%s%s: " % (pad, key))
                _tree(value, indent + 2, out)
            elif isinstance(value, list):
                out.append("%s%s: %s" % (pad, key, ", ".join(str(v) for v in value)))
            else:
                out.append("%s%s: %s" % (pad, key, "" if value is None else value))
    elif isinstance(data, list):
        for item in data:
            out.append("%s- %s" % (pad, item))


def _ts(value: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(value))


def show_info(opts, args):
    from ganeti import pathutils
    info = _client().query_cluster_info()
    out = [
        "Cluster name: %s" % info["name"],
        "Cluster UUID: %s" % info["uuid"],
        "Creation time: %s" % _ts(info["ctime"]),
        "Modification time: %s" % _ts(info["mtime"]),
        "Master node: %s" % info["master"],
        "Architecture (this node): %s (%s)" % tuple(info["architecture"]),
        "Tags: %s" % (", ".join(info["tags"]) if info["tags"] else "(none)"),
        "Default hypervisor: %s" % info["default_hypervisor"],
        "Enabled hypervisors: %s" % ", ".join(info["enabled_hypervisors"]),
        "Hypervisor parameters: ",
    ]
    _tree({hv: info["hvparams"].get(hv, {}) for hv in info["enabled_hypervisors"]}, 2, out)
    out.append("OS-specific hypervisor parameters: ")
    _tree(info["os_hvp"], 2, out)
    out.append("OS parameters: ")
    _tree(info["osparams"], 2, out)
    out.append("Hidden OSes: %s" % ", ".join(info["hidden_os"]))
    out.append("Blacklisted OSes: %s" % ", ".join(info["blacklisted_os"]))
    out.append("Cluster parameters: ")
    uid_pool = ", ".join(str(lo) if lo == hi else "%s-%s" % (lo, hi)
                         for lo, hi in info["uid_pool"])
    params = [
        ("candidate pool size", info["candidate_pool_size"]),
        ("maximal number of jobs running simultaneously", info["max_running_jobs"]),
        ("maximal number of jobs simultaneously tracked by the scheduler",
         info["max_tracked_jobs"]),
        ("mac prefix", info["mac_prefix"]),
        ("master netdev", info["master_netdev"]),
        ("master netmask", info["master_netmask"]),
        ("use external master IP address setup script", info["use_external_mip_script"]),
        ("lvm volume group", info["volume_group_name"]),
        ("lvm reserved volumes", ", ".join(info["reserved_lvs"]) or "(none)"),
        ("drbd usermode helper", info["drbd_usermode_helper"]),
        ("file storage path", info["file_storage_dir"]),
        ("shared file storage path", info["shared_file_storage_dir"]),
        ("gluster storage path", info["gluster_storage_dir"]),
        ("maintenance of node health", info["maintain_node_health"]),
        ("uid pool", uid_pool),
        ("default instance allocator", info["default_iallocator"]),
        ("default instance allocator parameters", ", ".join(
            "%s=%s" % kv for kv in sorted(info["default_iallocator_params"].items()))),
        ("primary ip version", info["primary_ip_version"]),
        ("preallocation wipe disks", info["prealloc_wipe_disks"]),
        ("OS search path", ", ".join(pathutils.OS_SEARCH_PATH)),
        ("ExtStorage Providers search path", ", ".join(pathutils.ES_SEARCH_PATH)),
        ("enabled disk templates", ", ".join(info["enabled_disk_templates"])),
        ("install image", info["install_image"]),
        ("instance communication network", info["instance_communication_network"]),
        ("zeroing image", info["zeroing_image"]),
    ]
    for key, value in params:
        out.append("  %s: %s" % (key, value))
    out.append("  compression tools: ")
    _tree(info["compression_tools"], 4, out)
    out.append("  enabled user shutdown: %s" % info["enabled_user_shutdown"])
    out.append("  modify ssh setup: %s" % info["modify_ssh_setup"])
    out.append("  ssh_key_type: %s" % info["ssh_key_type"])
    out.append("  ssh_key_bits: %s" % info["ssh_key_bits"])
    out.append("Default node parameters: ")
    _tree(info["ndparams"], 2, out)
    out.append("Default instance parameters: ")
    _tree(info["beparams"], 2, out)
    out.append("Default nic parameters: ")
    _tree(info["nicparams"], 2, out)
    out.append("Default disk parameters: ")
    _tree(info["diskparams"], 2, out)
    out.append("Instance policy - limits for instances: ")
    ipolicy = info["ipolicy"]
    out.append("  bounds specs: ")
    for index, minmax in enumerate(ipolicy.get("minmax", [])):
        first = True
        for key in ("max", "min"):
            prefix = "    - " if first else "      "
            first = False
            out.append("%s%s/%d: " % (prefix, key, index))
            _tree(minmax.get(key, {}), 8, out)
    out.append("  std: ")
    _tree(ipolicy.get("std", {}), 4, out)
    out.append("  allowed disk templates: %s" % ", ".join(ipolicy.get("disk-templates", [])))
    for key in ("vcpu-ratio", "spindle-ratio"):
        value = ipolicy.get(key)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        out.append("  %s: %s" % (key, value))
    out.append("Data collectors: ")
    for name in sorted(info["enabled_data_collectors"]):
        out.append("  %s: " % name)
        out.append("    active: %s" % info["enabled_data_collectors"][name])
        interval = info["data_collector_interval"].get(name)
        out.append("    interval: %.3fs" % ((interval or 0) / 1e6))
    print("\n".join(out))
    return 0


def show_version(opts, args):
    info = _client().query_cluster_info()
    print("Software version: %s" % info["software_version"])
    print("Internode protocol: %s" % info["protocol_version"])
    print("Configuration format: %s" % info["config_version"])
    print("OS api version: %s" % info["os_api_version"])
    print("Export interface: %s" % info["export_version"])
    print("VCS version: %s" % info["vcs_version"])
    return 0


def show_master(opts, args):
    from ganeti import ssconf
    print(ssconf.SimpleStore().get_master_node())
    return 0


def master_ping(opts, args):
    try:
        _client().query_config_values(["master_node"])
    except errors.GenericError:
        return constants.EXIT_FAILURE
    return 0


def verify_cluster(opts, args):
    from ganeti.cli import jobs
    skip = ["nplusone_mem"] if opts.skip_nplusone_mem else []
    op = {"OP_ID": "OP_CLUSTER_VERIFY", "verbose": bool(opts.verbose),
          "error_codes": opts.error_codes, "debug_simulate_errors": opts.simulate_errors,
          "skip_checks": skip, "ignore_errors": opts.ignore_errors or [],
          "group_name": opts.nodegroup, "verify_clutter": opts.verify_clutter}
    client = _client()
    result = jobs.submit_opcode(op, opts, client)
    if result is None:
        return 0
    ok = jobs.wait_for_jobs_result(client, result["jobs"])
    return 0 if ok else constants.EXIT_FAILURE


def modify_cluster(opts, args):
    from ganeti.cli import jobs
    params = _common_params(opts)
    op = {"OP_ID": "OP_CLUSTER_SET_PARAMS", "force": opts.force}
    op.update(params)
    if opts.vg_name is not None:
        op["vg_name"] = opts.vg_name
    if opts.drbd_helper is not None:
        op["drbd_helper"] = opts.drbd_helper
    if opts.add_uids is not None:
        op["add_uids"] = _uid_pool(opts.add_uids)
    if opts.remove_uids is not None:
        op["remove_uids"] = _uid_pool(opts.remove_uids)
    if opts.reserved_lvs is not None:
        op["reserved_lvs"] = opts.reserved_lvs
    if opts.modify_etc_hosts_mod is not None:
        op["modify_etc_hosts"] = opts.modify_etc_hosts_mod
    for name in ("max_running_jobs", "max_tracked_jobs", "instance_communication_network"):
        if getattr(opts, name) is not None:
            op[name] = getattr(opts, name)
    if len(op) == 2:
        sys.stderr.write("Please give at least one of the parameters.\n")
        return constants.EXIT_FAILURE
    jobs.submit_opcode(op, opts)
    return 0


def redist_conf(opts, args):
    from ganeti.cli import jobs
    jobs.submit_opcode({"OP_ID": "OP_CLUSTER_REDIST_CONF"}, opts)
    return 0


def queue_ops(opts, args):
    client = _client()
    command = args[0]
    if command == "drain":
        client.set_drain_flag(True)
    elif command == "undrain":
        client.set_drain_flag(False)
    elif command == "info":
        drained = client.query_config_values(["drain_flag"])[0]
        print("The drain flag is %s" % ("set" if drained else "unset"))
    else:
        raise errors.OpPrereqError("Command '%s' is not valid (use drain, undrain or info)"
                                   % command, errors.ECODE_INVAL)
    return 0


def watcher_ops(opts, args):
    client = _client()
    command = args[0]
    if command == "continue":
        client.set_watcher_pause(None)
        print("The watcher is no longer paused.")
    elif command == "pause":
        if len(args) < 2:
            raise errors.OpPrereqError("Missing pause duration", errors.ECODE_INVAL)
        from ganeti.cli.kvparse import parse_timespec
        until = client.set_watcher_pause(time.time() + parse_timespec(args[1]))
        print("The watcher is paused until %s." % time.ctime(until))
    elif command == "info":
        until = client.query_config_values(["watcher_pause"])[0]
        if until is None or until < time.time():
            print("The watcher is not paused.")
        else:
            print("The watcher is paused until %s." % time.ctime(until))
    else:
        raise errors.OpPrereqError("Command '%s' is not valid (use pause, continue or info)"
                                   % command, errors.ECODE_INVAL)
    return 0


def _target_nodes(opts) -> list[tuple[str, str]]:
    """(name, address) of the nodes to act on: master last, natural order."""
    from ganeti import ssconf
    store = ssconf.SimpleStore()
    ips = store.get_node_primary_ips()
    master = store.get_master_node()
    if opts.nodes:
        names = []
        for name in opts.nodes:
            full = name if name in ips else next((n for n in ips if n.startswith(name + ".")),
                                                 None)
            if full is None:
                raise errors.OpPrereqError("Node '%s' not known" % name, errors.ECODE_NOENT)
            names.append(full)
    elif opts.nodegroup:
        rows = _client().query(constants.QR_NODE, ["name", "group"],
                               ["==", "group", opts.nodegroup])["data"]
        names = [r[0][1] for r in rows]
    else:
        names = store.get_online_nodes()
    names = nice_sort(set(names))
    if master in names:
        names.remove(master)
        names.append(master)
    return [(n, ips.get(n, n)) for n in names]


def _run_on(node: str, address: str, command: list[str]) -> tuple[int, str]:
    from ganeti import netutils, pathutils
    if node == netutils.my_hostname():
        proc = subprocess.run(" ".join(command), shell=True, capture_output=True, text=True,
                              check=False)
    else:
        proc = subprocess.run(["ssh", "-oBatchMode=yes", "-oStrictHostKeyChecking=yes",
                               "-oUserKnownHostsFile=%s" % pathutils.SSH_KNOWN_HOSTS_FILE,
                               "root@%s" % address, " ".join(command)],
                              capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def run_command(opts, args):
    code = 0
    for node, address in _target_nodes(opts):
        rc, output = _run_on(node, address, args)
        if rc != 0:
            code = constants.EXIT_FAILURE
        if opts.failure_only and rc == 0:
            continue
        print("------------------------------------------------")
        print("node: %s" % node)
        print(output, end="" if output.endswith("\n") or not output else "\n")
        print()
        print("return code = %s" % rc)
    return code


def copy_file(opts, args):
    from ganeti import netutils, pathutils
    path = os.path.abspath(args[0])
    if not os.path.isfile(path):
        raise errors.OpPrereqError("File '%s' does not exist or is not a regular file" % path,
                                   errors.ECODE_INVAL)
    code = 0
    for node, address in _target_nodes(opts):
        if node == netutils.my_hostname():
            continue
        proc = subprocess.run(["scp", "-p", "-oBatchMode=yes", "-oStrictHostKeyChecking=yes",
                               "-oUserKnownHostsFile=%s" % pathutils.SSH_KNOWN_HOSTS_FILE,
                               path, "root@%s:%s" % (address, path)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.stderr.write("Copy of file %s to node %s failed: %s\n" % (
                path, node, proc.stderr.strip()))
            code = constants.EXIT_FAILURE
    return code


def _tags_from(opts, args) -> list[str]:
    tags = list(args)
    if opts.tags_source:
        if opts.tags_source == "-":
            data = sys.stdin.read()
        else:
            with open(opts.tags_source) as fh:
                data = fh.read()
        tags.extend(line.strip() for line in data.splitlines() if line.strip())
    if not tags:
        raise errors.OpPrereqError("No tags to add or remove", errors.ECODE_INVAL)
    return tags


def list_tags(opts, args):
    for tag in _client().query_tags(constants.TAG_CLUSTER, None):
        print(tag)
    return 0


def add_tags(opts, args):
    from ganeti.cli import jobs
    jobs.submit_opcode({"OP_ID": "OP_TAGS_SET", "kind": constants.TAG_CLUSTER,
                        "tags": _tags_from(opts, args)}, opts)
    return 0


def remove_tags(opts, args):
    from ganeti.cli import jobs
    jobs.submit_opcode({"OP_ID": "OP_TAGS_DEL", "kind": constants.TAG_CLUSTER,
                        "tags": _tags_from(opts, args)}, opts)
    return 0


def search_tags(opts, args):
    from ganeti.cli import jobs
    result = jobs.submit_opcode({"OP_ID": "OP_TAGS_SEARCH", "pattern": args[0]}, opts)
    if not result:
        return constants.EXIT_FAILURE
    for path, tag in sorted(result):
        print("%s %s" % (path, tag))
    return 0


COMMANDS = {
    "init": Command(init_cluster, "[opts...] <cluster_name>", _INIT_OPTS,
                    "Initialises a new cluster configuration", min_args=1, max_args=1),
    "destroy": Command(destroy_cluster, "", ["yes_do_it"], "Destroy cluster", max_args=0),
    "info": Command(show_info, "[--roman]", ["roman"], "Show cluster configuration",
                    max_args=0),
    "version": Command(show_version, "", [], "Shows the cluster version", max_args=0),
    "getmaster": Command(show_master, "", [], "Shows the cluster master", max_args=0),
    "master-ping": Command(master_ping, "", [], "Checks if the master is alive", max_args=0),
    "verify": Command(verify_cluster, "", ["dry_run", "priority", "verbose", "error_codes",
                                           "simulate_errors", "ignore_errors", "nodegroup",
                                           "no_nplus1_mem", "verify_clutter"],
                      "Does a check on the cluster configuration", max_args=0),
    "modify": Command(modify_cluster, "[opts...]", JOB_OPTS + _MODIFY_OPTS,
                      "Alters the parameters of the cluster", max_args=0),
    "redist-conf": Command(redist_conf, "[--submit]", SUBMIT_OPTS,
                           "Forces a push of the configuration file and ssconf files to the"
                           " nodes in the cluster", max_args=0),
    "queue": Command(queue_ops, "drain|undrain|info", [], "Change queue properties",
                     min_args=1, max_args=1),
    "watcher": Command(watcher_ops, "{pause <timespec>|continue|info}", [],
                       "Change watcher properties", min_args=1, max_args=2),
    "command": Command(run_command, "[-n node...] <command>", ["node", "nodegroup",
                                                              "show_machine_names",
                                                              "failure_only"],
                       "Runs a command on all (or only some) nodes", min_args=1),
    "copyfile": Command(copy_file, "[-n node...] <filename>", ["node", "nodegroup",
                                                               "use_replication_network"],
                        "Copies a file to all (or only some) nodes", min_args=1, max_args=1),
    "list-tags": Command(list_tags, "", [], "List the tags of the cluster", max_args=0),
    "add-tags": Command(add_tags, "tag...", SUBMIT_OPTS + ["tag_from"],
                        "Add tags to the cluster"),
    "remove-tags": Command(remove_tags, "tag...", SUBMIT_OPTS + ["tag_from"],
                           "Remove tags from the cluster"),
    "search-tags": Command(search_tags, "<pattern>", ["priority"],
                           "Searches the tags on all objects on the cluster for a given"
                           " pattern (regex)", min_args=1, max_args=1),
}
ALIASES = {"show": "info", "masterfailover": "master-failover"}


def main(argv=None) -> int:
    return run("gnt-cluster", COMMANDS, ALIASES, argv)


__all__ = ["main", "COMMANDS", "ask_user"]
