"""gnt-instance: create, list, inspect, start, stop and change instances.

Listing goes through LUXI ``Query`` (no job, so it works while the queue
is busy); every change is an opcode run as a job. The commands acting on
many instances at once (startup, shutdown, reboot, reinstall) first
expand a selection (instances, nodes, tags, the whole cluster), ask for
confirmation when more than one instance is affected, and then submit one
job per instance, as Ganeti does, so that one failing instance does not
stop the others.
"""

from __future__ import annotations

import sys

from ganeti import constants, errors
from ganeti.cli import tags
from ganeti.cli.base import Command, run
from ganeti.cli.gnt_instance_opts import EXPAND_CLUSTER, EXPAND_INSTANCES, \
    EXPAND_INSTANCES_BY_TAGS, EXPAND_NODES_BOTH, EXPAND_NODES_BOTH_BY_TAGS, \
    EXPAND_NODES_PRI, EXPAND_NODES_PRI_BY_TAGS, EXPAND_NODES_SEC, EXPAND_NODES_SEC_BY_TAGS, \
    SELECTION_OPTS, opts as O
from ganeti.cli.options import LIST_OPTS, SUBMIT_OPTS

LIST_DEFAULT_FIELDS = ["name", "hypervisor", "os", "pnode", "status", "oper_ram"]

#: list-valued fields shown comma-joined by ``gnt-instance list``
_JOINED_FIELDS = ["tags", "disk.sizes", "nic.macs", "nic.ips", "nic.modes", "nic.links",
                  "nic.bridges", "nic.networks", "snodes", "snodes.group",
                  "snodes.group.uuid"]

_NODE_MODES = {EXPAND_NODES_BOTH: ("pinst_list", "sinst_list"),
               EXPAND_NODES_PRI: ("pinst_list",), EXPAND_NODES_SEC: ("sinst_list",),
               EXPAND_NODES_BOTH_BY_TAGS: ("pinst_list", "sinst_list"),
               EXPAND_NODES_PRI_BY_TAGS: ("pinst_list",),
               EXPAND_NODES_SEC_BY_TAGS: ("sinst_list",)}
_BY_TAGS = frozenset([EXPAND_NODES_BOTH_BY_TAGS, EXPAND_NODES_PRI_BY_TAGS,
                      EXPAND_NODES_SEC_BY_TAGS, EXPAND_INSTANCES_BY_TAGS])


def _client():
    from ganeti.cli import jobs
    return jobs.get_client()


def _rows(client, what: str, fields: list[str], qfilter) -> list[list]:
    """Plain values of a Query answer (missing values as None)."""
    data = client.query(what, fields, qfilter)["data"]
    return [[value if status == constants.RS_NORMAL else None for status, value in row]
            for row in data]


def _any_of(field: str, values: list[str], op: str = "==") -> list | None:
    return ["|"] + [[op, field, value] for value in values] if values else None


def expand_names(mode: str, names: list[str], client=None) -> list[str]:
    """The instance names a selection mode and its arguments stand for."""
    from ganeti.utils.text import nice_sort
    client = client or _client()
    if mode == EXPAND_CLUSTER:
        if names:
            raise errors.OpPrereqError("Cluster filter mode takes no arguments",
                                       errors.ECODE_INVAL)
        return nice_sort(row[0] for row in _rows(client, constants.QR_INSTANCE, ["name"],
                                                 None))
    if mode in _NODE_MODES:
        fields = list(_NODE_MODES[mode])
        if mode in _BY_TAGS:
            qfilter = _any_of("tags", names, "=[]")
        else:
            qfilter = _any_of("name", names)
        rows = _rows(client, constants.QR_NODE, ["name"] + fields, qfilter)
        if mode not in _BY_TAGS:
            found = {row[0] for row in rows}
            for name in names:
                if not any(f == name or f.startswith(name + ".") for f in found):
                    raise errors.OpPrereqError("Node '%s' not known" % name,
                                               errors.ECODE_NOENT)
        out: list[str] = []
        for row in rows:
            for values in row[1:]:
                out.extend(v for v in values or [] if v not in out)
        return nice_sort(out)
    if mode == EXPAND_INSTANCES_BY_TAGS:
        return nice_sort(row[0] for row in _rows(client, constants.QR_INSTANCE, ["name"],
                                                 _any_of("tags", names, "=[]")))
    if mode == EXPAND_INSTANCES:
        if not names:
            raise errors.OpPrereqError("No instance names passed", errors.ECODE_INVAL)
        return ensure_instances(client, names)
    raise errors.OpPrereqError("Unknown mode '%s'" % mode, errors.ECODE_INVAL)


def ensure_instances(client, names: list[str]) -> list[str]:
    """Full names of the given instances, in the given order; unknown ones are an error."""
    rows = _rows(client, constants.QR_INSTANCE, ["name"], _any_of("name", names))
    known = [row[0] for row in rows]
    out = []
    for name in names:
        match = [k for k in known if k == name] or \
            [k for k in known if k.startswith(name + ".")]
        if len(match) != 1:
            raise errors.OpPrereqError("Instance '%s' not known" % name, errors.ECODE_NOENT)
        out.append(match[0])
    return out


def confirm_operation(names: list[str], list_type: str, text: str, extra: str = "") -> bool:
    """Ask before acting on several objects ("v" shows the list when it is long)."""
    from ganeti.cli.base import ask_user
    msg = ("The %s will operate on %d %s.\n%sDo you want to continue?" %
           (text, len(names), list_type, extra))
    affected = "\nAffected %s:\n" % list_type + "\n".join("  %s" % n for n in names)
    choices = [("y", True, "Yes, execute the %s" % text),
               ("n", False, "No, abort the %s" % text)]
    if len(names) > 20:
        choices.insert(1, ("v", "v", "View the list of affected %s" % list_type))
        question = msg
    else:
        question = msg + affected
    choice = ask_user(question, choices)
    if choice == "v":
        choices.pop(1)
        choice = ask_user(msg + affected, choices)
    return bool(choice)


def run_many(opts, names: list[str], build, multi_on: bool) -> int:
    """One job per instance; wait (unless --submit) and report each."""
    from ganeti.cli import jobs
    client = _client()
    submitted = []
    for name in names:
        try:
            submitted.append([True, jobs.send_job([build(name, opts)], opts, client)])
        except errors.GenericError as err:
            submitted.append([False, str(err)])
    if getattr(opts, "submit_only", False):
        for (ok, value), name in zip(submitted, names, strict=True):
            if ok:
                print("%s: %s" % (value, name))
            else:
                sys.stderr.write("Failure for %s: %s\n" % (name, value))
        return constants.EXIT_SUCCESS
    results = jobs.wait_for_jobs(client, submitted, names, verbose=multi_on)
    return constants.EXIT_SUCCESS if all(ok for ok, _ in results) else \
        constants.EXIT_FAILURE


def many_ops(operation: str, build):
    """A startup/shutdown/reboot command: selection, confirmation, one job each."""
    def command(opts, args) -> int:
        mode = opts.multi_mode or EXPAND_INSTANCES
        names = expand_names(mode, list(args))
        if not names:
            if mode == EXPAND_CLUSTER:
                print("Cluster is empty, no instances to %s" % operation)
                return constants.EXIT_SUCCESS
            raise errors.OpPrereqError("Selection filter does not match any instances",
                                       errors.ECODE_INVAL)
        multi_on = mode != EXPAND_INSTANCES or len(names) > 1
        if multi_on and not opts.force_multi and \
                not confirm_operation(names, "instances", operation):
            return constants.EXIT_FAILURE
        return run_many(opts, names, build, multi_on)
    return command


# --- opcodes of the many-instance commands -------------------------------------------------

def startup_op(name: str, opts) -> dict:
    from ganeti.cli.gnt_instance_add import coerce_beparams, coerce_hvparams
    op = {"OP_ID": "OP_INSTANCE_STARTUP", "instance_name": name, "force": opts.force,
          "ignore_offline_nodes": opts.ignore_offline, "no_remember": opts.no_remember,
          "startup_paused": opts.startup_paused}
    if opts.hvparams:
        op["hvparams"] = coerce_hvparams(opts.hvparams)
    if opts.beparams:
        op["beparams"] = coerce_beparams(opts.beparams)
    return op


def shutdown_op(name: str, opts) -> dict:
    return {"OP_ID": "OP_INSTANCE_SHUTDOWN", "instance_name": name, "force": opts.force,
            "timeout": opts.timeout, "ignore_offline_nodes": opts.ignore_offline,
            "no_remember": opts.no_remember}


def reboot_op(name: str, opts) -> dict:
    return {"OP_ID": "OP_INSTANCE_REBOOT", "instance_name": name,
            "reboot_type": opts.reboot_type, "ignore_secondaries": opts.ignore_secondaries,
            "shutdown_timeout": opts.shutdown_timeout}


# --- add / remove / rename ----------------------------------------------------------------

def add_instance(opts, args) -> int:
    from ganeti.cli import jobs
    from ganeti.cli.gnt_instance_add import build_create_opcode
    jobs.submit_or_send(build_create_opcode(opts, args[0]), opts)
    return constants.EXIT_SUCCESS


def remove_instance(opts, args) -> int:
    """Remove after a confirmation (the instance's data is destroyed) unless -f."""
    from ganeti.cli import jobs
    from ganeti.cli.base import ask_user
    name = args[0]
    if not opts.force:
        ensure_instances(_client(), [name])
        if not ask_user("This will remove the volumes of the instance %s (including"
                        " mirrors), thus removing all the data of the instance."
                        " Continue?" % name):
            return constants.EXIT_FAILURE
    jobs.submit_or_send({"OP_ID": "OP_INSTANCE_REMOVE", "instance_name": name,
                         "ignore_failures": opts.ignore_failures,
                         "shutdown_timeout": opts.shutdown_timeout}, opts)
    return constants.EXIT_SUCCESS


def rename_instance(opts, args) -> int:
    from ganeti.cli import jobs
    if not opts.name_check and opts.ip_check:
        raise errors.OpPrereqError("Cannot do IP address check without a name check",
                                   errors.ECODE_INVAL)
    result = jobs.submit_or_send({"OP_ID": "OP_INSTANCE_RENAME", "instance_name": args[0],
                                  "new_name": args[1], "ip_check": opts.ip_check,
                                  "name_check": opts.name_check}, opts)
    if result:
        print("Instance '%s' renamed to '%s'" % (args[0], result))
    return constants.EXIT_SUCCESS


# --- reinstall --------------------------------------------------------------------------------

def _select_os(opts) -> str | None:
    """Interactive OS choice for --select-os (None: the user gave up)."""
    from ganeti.cli import jobs
    from ganeti.cli.base import ask_user
    from ganeti.cli.gnt_os import os_names
    result = jobs.submit_opcode({"OP_ID": "OP_OS_DIAGNOSE", "output_fields":
                                 ["name", "variants"], "names": []}, opts)
    if not result:
        print("Can't get the OS list")
        return None
    print("Available OS templates:")
    choices = []
    number = 0
    for name, variants in result:
        for entry in os_names(name, variants):
            print("%3s: %s" % (number, entry))
            choices.append(("%s" % number, entry, entry))
            number += 1
    choices.append(("x", "exit", "Exit gnt-instance reinstall"))
    selected = ask_user("Enter OS template number (or x to abort):", choices)
    if selected == "exit":
        sys.stderr.write("User aborted reinstall, exiting\n")
        return None
    return selected


def reinstall_instance(opts, args) -> int:
    """Reinstall (all data lost): -f for one instance, --force-multiple for several."""
    from ganeti.cli.base import ask_user
    mode = opts.multi_mode or EXPAND_INSTANCES
    names = expand_names(mode, list(args))
    if not names:
        raise errors.OpPrereqError("Selection filter does not match any instances",
                                   errors.ECODE_INVAL)
    if opts.select_os:
        os_name = _select_os(opts)
        if os_name is None:
            return constants.EXIT_FAILURE
        os_msg = "change the OS to '%s'" % os_name
    else:
        os_name = opts.os
        os_msg = "change the OS to '%s'" % os_name if os_name is not None else \
            "keep the same OS"
    multi_on = mode != EXPAND_INSTANCES or len(names) > 1
    if multi_on:
        warn = ("Note: this will remove *all* data for the below instances! It will %s.\n"
                % os_msg)
        if not (opts.force_multi or confirm_operation(names, "instances", "reinstall",
                                                       extra=warn)):
            return constants.EXIT_FAILURE
    elif not (opts.force or opts.force_multi):
        if not ask_user("This will reinstall the instance '%s' (and %s) which removes all"
                        " data. Continue?" % (names[0], os_msg)):
            return constants.EXIT_FAILURE

    def build(name: str, opts_) -> dict:
        return {"OP_ID": "OP_INSTANCE_REINSTALL", "instance_name": name, "os_type": os_name,
                "force_variant": opts_.force_variant, "osparams": opts_.osparams or None,
                "osparams_private": opts_.osparams_private or None,
                "osparams_secret": opts_.osparams_secret or None}
    return run_many(opts, names, build, multi_on)


# --- modify ---------------------------------------------------------------------------------

def modify_instance(opts, args) -> int:
    from ganeti.cli import jobs
    from ganeti.cli.gnt_instance_add import build_modify_opcode
    op = build_modify_opcode(opts, args[0])
    if op is None:
        sys.stderr.write("Please give at least one of the parameters.\n")
        return constants.EXIT_FAILURE
    result = jobs.submit_or_send(op, opts)
    if result:
        print("Modified instance %s" % args[0])
        for param, data in result:
            print(" - %-5s -> %s" % (param, data))
        print("Please don't forget that most parameters take effect only at the next"
              " (re)start of the instance initiated by ganeti; restarting from within the"
              " instance will not be enough.")
        if opts.hvparams:
            print("Note that changing hypervisor parameters without performing a restart"
                  " might lead to a crash while performing a live migration. This will be"
                  " addressed in future Ganeti versions.")
    return constants.EXIT_SUCCESS


# --- disks --------------------------------------------------------------------------------------

def activate_disks(opts, args) -> int:
    from ganeti.cli import jobs
    info = jobs.submit_or_send({"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS",
                                "instance_name": args[0], "ignore_size": opts.ignore_size,
                                "wait_for_sync": opts.wait_for_sync}, opts)
    for host, iname, nname in info or []:
        print("%s:%s:%s" % (host, iname, nname))
    return constants.EXIT_SUCCESS


def deactivate_disks(opts, args) -> int:
    from ganeti.cli import jobs
    jobs.submit_or_send({"OP_ID": "OP_INSTANCE_DEACTIVATE_DISKS", "instance_name": args[0],
                         "force": opts.force}, opts)
    return constants.EXIT_SUCCESS


def build_grow_opcode(opts, args: list[str]) -> dict:
    from ganeti.utils.text import parse_unit
    try:
        disk = int(args[1])
    except (TypeError, ValueError) as err:
        raise errors.OpPrereqError("Invalid disk index: %s" % err, errors.ECODE_INVAL)
    try:
        amount = parse_unit(args[2])
    except (errors.UnitParseError, ValueError):
        raise errors.OpPrereqError("Can't parse the given amount '%s'" % args[2],
                                   errors.ECODE_INVAL)
    return {"OP_ID": "OP_INSTANCE_GROW_DISK", "instance_name": args[0], "disk": disk,
            "amount": amount, "wait_for_sync": opts.wait_for_sync,
            "absolute": opts.absolute, "ignore_ipolicy": opts.ignore_ipolicy}


def grow_disk(opts, args) -> int:
    from ganeti.cli import jobs
    jobs.submit_or_send(build_grow_opcode(opts, args), opts)
    return constants.EXIT_SUCCESS


def recreate_disks(opts, args) -> int:
    from ganeti.cli import jobs
    from ganeti.cli.gnt_instance_add import build_recreate_opcode
    jobs.submit_or_send(build_recreate_opcode(opts, args[0]), opts)
    return constants.EXIT_SUCCESS


# --- list / console ------------------------------------------------------------------------------

def list_instances(opts, args) -> int:
    from ganeti.cli import listing, table
    override = dict.fromkeys(_JOINED_FIELDS, (table.join_list, False))
    return listing.generic_list(opts, args, constants.QR_INSTANCE, LIST_DEFAULT_FIELDS,
                                format_override=override)


def list_fields(opts, args) -> int:
    from ganeti.cli import listing
    return listing.generic_list_fields(opts, args, constants.QR_INSTANCE)


def connect_console(opts, args) -> int:
    from ganeti.cli import jobs
    from ganeti.cli.gnt_instance_console import do_console
    console = jobs.submit_opcode({"OP_ID": "OP_INSTANCE_CONSOLE",
                                  "instance_name": args[0]}, opts)
    if not console:
        raise errors.OpExecError("Console information for instance %s is unavailable" %
                                 args[0])
    return do_console(console, opts.show_command)


def show_info(opts, args) -> int:
    from ganeti.cli.gnt_instance_info import show_info as show
    return show(opts, args)


# --- the command table -------------------------------------------------------------------------

_JOB = ("dry_run", "priority", "submit", "print_jobid")
_ADD_OPTS = O("pnode_snode", "disk_template", "disks", "os_size", "nics", "no_nics",
              "be_kv", "inst_hvparams", "os_kv", "os_private", "os_secret", "os_type",
              "force_variant", "no_start", "no_install", "no_name_check", "no_ip_check",
              "no_conflicts_check", "no_wait_for_sync", "file_storage_dir", "file_driver",
              "iallocator", "nodegroup", "inst_tags", "ignore_ipolicy",
              "opportunistic_locking", "communication", *_JOB)
_MODIFY_OPTS = O("be_kv", "hv_kv", "os_kv", "os_private", "disks", "nics", "disk_template",
                 "new_secondary", "iallocator", "ext_params", "file_driver",
                 "file_storage_dir", "no_wait_for_sync", "modify_os", "force_variant",
                 "new_primary", "offline_inst", "online_inst", "ignore_ipolicy",
                 "no_conflicts_check", "runtime_mem", "hotplug", "hotplug_if_possible",
                 "communication", "force", *_JOB)
_SEL = SELECTION_OPTS + ("force_multi",)

COMMANDS = {
    "add": Command(add_instance, "-t <disk_template> -o <os_type> -n <node[:secondary]>"
                   " [--disk N:size=...] <instance_name>", _ADD_OPTS,
                   "Creates and adds a new instance to the cluster", min_args=1, max_args=1),
    "remove": Command(remove_instance, "<instance_name>",
                      O("force", "ignore_failures", "shutdown_timeout", *_JOB),
                      "Shuts down the instance and removes it", min_args=1, max_args=1),
    "list": Command(list_instances, "[<instance-name>...]", LIST_OPTS,
                    "Lists the instances and their status. The available fields can be"
                    " shown using the \"list-fields\" command (see the man page for"
                    " details). The default field list is (in order): %s." %
                    ", ".join(LIST_DEFAULT_FIELDS)),
    "list-fields": Command(list_fields, "[fields...]", ["no_headers", "separator"],
                           "Lists all available fields for instances"),
    "info": Command(show_info, "[-s] {--all | <instance_name>...}",
                    O("static", "show_all", "roman", "priority"),
                    "Show information on the specified instance(s)"),
    "startup": Command(many_ops("startup", startup_op), "<instance_name>...",
                       O("force", *_SEL, "hv_kv", "be_kv", "ignore_offline", "no_remember",
                         "paused", *_JOB), "Starts an instance"),
    "shutdown": Command(many_ops("shutdown", shutdown_op), "<instance_name>...",
                        O("force", *_SEL, "timeout", "ignore_offline", "no_remember",
                          *_JOB), "Stops an instance"),
    "reboot": Command(many_ops("reboot", reboot_op), "<instance_name>...",
                      O("reboot_type", "ignore_secondaries", "shutdown_timeout", *_SEL,
                        *_JOB), "Reboots an instance"),
    "reinstall": Command(reinstall_instance, "[-f] <instance_name>...",
                         O("os_type", "select_os", "force_variant", "os_kv", "os_private",
                           "os_secret", "force", *_SEL, *_JOB),
                         "Reinstall a stopped instance"),
    "rename": Command(rename_instance, "<instance_name> <new_name>",
                      O("no_ip_check", "no_name_check", *_JOB), "Rename the instance",
                      min_args=2, max_args=2),
    "modify": Command(modify_instance, "<instance_name>", _MODIFY_OPTS,
                      "Change instance properties", min_args=1, max_args=1),
    "activate-disks": Command(activate_disks, "<instance_name>",
                              O("ignore_size", "wait_for_sync", "priority", "submit",
                                "print_jobid"),
                              "Activate an instance's disks", min_args=1, max_args=1),
    "deactivate-disks": Command(deactivate_disks, "<instance_name>", O("force", *_JOB),
                                "Deactivate an instance's disks", min_args=1, max_args=1),
    "grow-disk": Command(grow_disk, "<instance_name> <disk> <size>",
                         O("no_wait_for_sync", "absolute", "ignore_ipolicy", *_JOB),
                         "Grow an instance's disk", min_args=3, max_args=3),
    "recreate-disks": Command(recreate_disks, "<instance_name>",
                              O("recreate_disks", "pnode_snode", "iallocator", *_JOB),
                              "Recreate an instance's disks", min_args=1, max_args=1),
    "console": Command(connect_console, "<instance_name>", O("show_cmd", "priority"),
                       "Opens a console on the specified instance", min_args=1,
                       max_args=1),
}
COMMANDS.update(tags.tag_commands(constants.TAG_INSTANCE, "instance",
                                  ["tag_from", "priority"] + SUBMIT_OPTS))
ALIASES = {"start": "startup", "stop": "shutdown", "show": "info"}


def main(argv: list[str] | None = None) -> int:
    return run("gnt-instance", COMMANDS, ALIASES, argv)
