"""gnt-os: list, diagnose and describe OS definitions."""

from __future__ import annotations

from ganeti.cli.base import Command, run
from ganeti.utils.text import nice_sort


def _diagnose(fields: list[str], opts) -> list:
    from ganeti.cli import jobs
    return jobs.submit_opcode({"OP_ID": "OP_OS_DIAGNOSE", "output_fields": fields,
                               "names": []}, opts)


def list_os(opts, args):
    from ganeti.cli import table
    rows = _diagnose(["name", "variants", "valid", "hidden", "blacklisted"], opts)
    names = []
    for name, variants, valid, hidden, blacklisted in rows:
        if not valid or hidden or blacklisted:
            continue
        if variants:
            names.extend("%s+%s" % (name, v) for v in variants)
        else:
            names.append(name)
    header = None if opts.no_headers else ["Name"]
    for line in table.render(header, [[n] for n in nice_sort(names)], [False], None):
        print(line)
    return 0


def diagnose_os(opts, args):
    rows = _diagnose(["name", "valid", "variants", "node_status", "hidden", "blacklisted"],
                     opts)
    code = 0
    for name, valid, variants, node_status, hidden, blacklisted in rows:
        status = "valid" if valid else "invalid"
        flags = []
        if hidden:
            flags.append("hidden")
        if blacklisted:
            flags.append("blacklisted")
        extra = " [%s]" % ", ".join(flags) if flags else ""
        print("OS: %s [global status: %s]%s" % (name, status, extra))
        if variants:
            print("  Variants: [%s]" % ", ".join(variants))
        for node in nice_sort(node_status):
            for path, st, diag, _variants, _params, api in node_status[node]:
                if st:
                    detail = "valid (path: %s) [API versions: %s]" % (
                        path, ", ".join(str(v) for v in sorted(api)))
                else:
                    detail = "invalid - %s (path: %s)" % (diag, path)
                    code = 1
                print("  Node: %s, status: %s" % (node, detail))
        print()
    return code


def info_os(opts, args):
    rows = _diagnose(["name", "valid", "hidden", "blacklisted", "api_versions", "variants",
                      "parameters", "trusted", "os_hvp", "osparams"], opts)
    found = False
    for (name, valid, hidden, blacklisted, api, variants, params, trusted, os_hvp,
         osparams) in rows:
        if args and name not in args:
            continue
        found = True
        print("%s:" % name)
        print("  - valid: %s" % valid)
        print("  - hidden: %s" % hidden)
        print("  - blacklisted: %s" % blacklisted)
        if valid:
            print("  - API versions:")
            for v in sorted(api):
                print("    - %s" % v)
            print("  - variants:")
            for v in variants:
                print("    - %s" % v)
            print("  - parameters:")
            for pname, pdoc in params:
                print("    - %s: %s" % (pname, pdoc))
            print("  - trusted: %s" % trusted)
        if os_hvp:
            print("  - hypervisor parameters:")
            for hv in sorted(os_hvp):
                print("    - %s:" % hv)
                for key in sorted(os_hvp[hv]):
                    print("      %s: %s" % (key, os_hvp[hv][key]))
        if osparams:
            print("  - parameter values:")
            for key in sorted(osparams):
                print("    %s: %s" % (key, osparams[key]))
        print()
    if args and not found:
        print("No valid OS found")
        return 1
    return 0


COMMANDS = {
    "list": Command(list_os, "", ["no_headers", "priority"], "Lists all valid operating"
                    " systems on the cluster", max_args=0),
    "diagnose": Command(diagnose_os, "", ["priority"], "Diagnose all operating systems",
                        max_args=0),
    "info": Command(info_os, "[<os-name>...]", ["priority"], "Show detailed information about"
                    " operating systems"),
}
ALIASES = {"show": "info"}


def main(argv=None) -> int:
    return run("gnt-os", COMMANDS, ALIASES, argv)
