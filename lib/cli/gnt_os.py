"""gnt-os: list, diagnose, describe and configure OS definitions."""

from __future__ import annotations

import sys

from ganeti import constants
from ganeti.cli.base import Command, run
from ganeti.cli.options import SUBMIT_OPTS


def _diagnose(fields: list[str], opts) -> list:
    from ganeti.cli import jobs
    return jobs.submit_opcode({"OP_ID": "OP_OS_DIAGNOSE", "output_fields": fields,
                               "names": []}, opts)


def os_names(name: str, variants: list | None) -> list[str]:
    """The names an OS is known by: ``os+variant`` for each variant, else ``os``."""
    if variants:
        return ["%s+%s" % (name, v) for v in variants]
    return [name]


def list_os(opts, args) -> int:
    """Valid, visible OSes; the validity/visibility columns are asked for explicitly
    and filtered here, which gives the same list whether or not the master applies
    the legacy "hide invalid/hidden/blacklisted" rule for name+variants queries."""
    from ganeti.cli import table
    rows = _diagnose(["name", "variants", "valid", "hidden", "blacklisted"], opts)
    names: list[list[str]] = []
    for name, variants, valid, hidden, blacklisted in rows:
        if valid and not hidden and not blacklisted:
            names.extend([n] for n in os_names(name, variants))
    header = None if opts.no_headers else ["Name"]
    lines = table.render(header, names, [False], None)
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


def _os_status(status: bool, diagnose: str) -> str:
    return "valid" if status else "invalid - %s" % diagnose


def _node_message(entry: list, os_trusted: bool | None) -> tuple[bool, str]:
    """One node's first (active) OS entry as the diagnose status text."""
    path, status, diagnose, variants, params, api = entry[:6]
    trusted = entry[6] if len(entry) > 6 else os_trusted
    msg = "%s (path: %s)" % (_os_status(status, diagnose), path)
    if api:
        max_api = max(api)
        msg += " [API versions: %s]" % ", ".join(str(v) for v in api)
    else:
        max_api = 0
        msg += " [no API versions declared]"
    if max_api >= constants.OS_API_V15:
        msg += " [variants: %s]" % ", ".join(variants) if variants else " [no variants]"
    if max_api >= constants.OS_API_V20:
        msg += (" [parameters: %s]" % ", ".join(p[0] for p in params)) if params else \
            " [no parameters]"
    if trusted is not None:
        msg += " [trusted]" if trusted else " [untrusted]"
    return bool(status), msg


def diagnose_os(opts, args) -> int:
    """Per-OS, per-node validity; exit 1 if any OS is not valid everywhere."""
    from ganeti.utils.text import nice_sort
    rows = _diagnose(["name", "valid", "variants", "node_status", "hidden", "blacklisted",
                      "trusted"], opts)
    has_bad = False
    for os_name, _valid, variants, node_data, hidden, blacklisted, trusted in rows:
        nodes_valid: dict[str, str] = {}
        nodes_bad: dict[str, str] = {}
        nodes_hidden: dict[str, list[str]] = {}
        for node_name, node_info in (node_data or {}).items():
            nodes_hidden[node_name] = []
            if not node_info:
                nodes_bad[node_name] = "OS not found"
                continue
            ok, msg = _node_message(node_info[0], trusted)
            (nodes_valid if ok else nodes_bad)[node_name] = msg
            for other in node_info[1:]:
                nodes_hidden[node_name].append("    [hidden] path: %s, status: %s" %
                                               (other[0], _os_status(other[1], other[2])))
        if nodes_valid and not nodes_bad:
            status = "valid"
        elif nodes_bad and not nodes_valid:
            status = "invalid"
            has_bad = True
        else:
            status = "partial valid"
            has_bad = True
        line = "OS: %s [global status: %s]" % (os_name, status)
        if hidden:
            line += " [hidden]"
        if blacklisted:
            line += " [blacklisted]"
        print(line)
        if variants:
            print("  Variants: [%s]" % ", ".join(variants))
        for msg_map in (nodes_valid, nodes_bad):
            for node_name in nice_sort(msg_map):
                print("  Node: %s, status: %s" % (node_name, msg_map[node_name]))
                for msg in nodes_hidden[node_name]:
                    print(msg)
        print("")
    return int(has_bad)


def info_os(opts, args) -> int:
    """Details of all (or the named) OSes; unknown names are listed empty."""
    from ganeti.cli.base import print_generic_info
    rows = _diagnose(["name", "valid", "variants", "parameters", "api_versions",
                      "blacklisted", "hidden", "os_hvp", "osparams", "trusted"], opts)
    wanted = list(args)
    total_os_hvp: dict = {}
    total_osparams: dict = {}
    for (name, valid, variants, parameters, api_versions, blacklisted, hidden, os_hvp,
         osparams, trusted) in rows:
        total_os_hvp.update({name: os_hvp} if os_hvp else {})
        total_osparams.update({name: osparams} if osparams else {})
        if args:
            if name not in wanted:
                continue
            wanted.remove(name)
        print("%s:" % name)
        print("  - valid: %s" % valid)
        print("  - hidden: %s" % hidden)
        print("  - blacklisted: %s" % blacklisted)
        if valid:
            print("  - API versions:")
            for version in sorted(api_versions or []):
                print("    - %s" % version)
            print("  - variants:")
            for vname in variants or []:
                print("    - %s" % vname)
            print("  - parameters:")
            for pname, pdesc in parameters or []:
                print("    - %s: %s" % (pname, pdesc))
        print("  - trusted: %s" % trusted)
        print("")
    for name in wanted:
        if name in total_os_hvp or name in total_osparams:
            print_generic_info([(name, [
                ("OS-specific hypervisor parameters", total_os_hvp.get(name, {})),
                ("OS parameters", total_osparams.get(name, {}))])])
        else:
            print("%s: " % name)
        print("")
    return 0


def modify_os(opts, args) -> int:
    """Per-OS hypervisor/OS parameters and the hidden/blacklisted flags (cluster opcode)."""
    from ganeti.cli import jobs
    name = args[0]
    op: dict = {"OP_ID": "OP_CLUSTER_SET_PARAMS"}
    if opts.hvparams:
        op["os_hvp"] = {name: {hv: params for hv, params in opts.hvparams}}
    if opts.osparams:
        op["osparams"] = {name: opts.osparams}
    if opts.osparams_private:
        op["osparams_private_cluster"] = {name: opts.osparams_private}
    if opts.hidden is not None:
        op["hidden_os"] = [["add" if opts.hidden else "remove", name]]
    if opts.blacklisted is not None:
        op["blacklisted_os"] = [["add" if opts.blacklisted else "remove", name]]
    if len(op) == 1:
        sys.stderr.write("At least one of OS parameters or hypervisor parameters must be"
                         " passed\n")
        return constants.EXIT_FAILURE
    jobs.submit_or_send(op, opts)
    return 0


COMMANDS = {
    "list": Command(list_os, "", ["no_headers", "priority"],
                    "Lists all valid operating systems on the cluster", max_args=0),
    "diagnose": Command(diagnose_os, "", ["priority"], "Diagnose all operating systems",
                        max_args=0),
    "info": Command(info_os, "", ["priority"],
                    "Show detailed information about operating systems"),
    "modify": Command(modify_os, "", ["hvparams", "osparams", "osparams_private", "dry_run",
                                      "priority", "hidden", "blacklisted"] + SUBMIT_OPTS,
                      "Modify the OS parameters", min_args=1, max_args=1),
}
ALIASES = {"show": "info"}


def main(argv: list[str] | None = None) -> int:
    return run("gnt-os", COMMANDS, ALIASES, argv, env_override=frozenset())
