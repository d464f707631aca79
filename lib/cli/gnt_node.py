"""gnt-node: add, remove, inspect and change the nodes of the cluster.

Listing goes through LUXI ``Query``/``QueryNodes`` (no job, so it works
while the queue is busy); every change is an opcode run as a job. The
join itself (SSH to the new node, certificates, daemons) is done by the
OP_NODE_ADD logical unit on the master, so this program only has to
describe what the user asked for.
"""

from __future__ import annotations

import sys

from ganeti import constants, errors
from ganeti.cli import tags
from ganeti.cli.base import Command, run
from ganeti.cli.options import LIST_OPTS, SUBMIT_OPTS

LIST_DEFAULT_FIELDS = ["name", "dtotal", "dfree", "mtotal", "mnode", "mfree", "pinst_cnt",
                       "sinst_cnt"]

#: fields gnt-node info asks QueryNodes for (order matters: unpacked below)
INFO_FIELDS = ["name", "pip", "sip", "pinst_list", "sinst_list", "master_candidate",
               "drained", "offline", "master_capable", "vm_capable", "powered", "ndparams",
               "custom_ndparams"]

STORAGE_FIELDS = ["node", "type", "name", "size", "used", "free", "allocatable"]
STORAGE_TITLES = {"node": "Node", "type": "Type", "name": "Name", "size": "Size",
                  "used": "Used", "free": "Free", "allocatable": "Allocatable"}
_STORAGE_SIZES = ["size", "used", "free"]
_STORAGE_TYPES = ("lvm-pv", "lvm-vg", "file", "sharedfile", "gluster", "rados", "ext",
                  "diskless")
DEFAULT_STORAGE_TYPE = constants.DT_FILE

_MODIFY_FLAGS = ("master_candidate", "drained", "offline", "master_capable", "vm_capable",
                 "secondary_ip", "ndparams", "node_powered")


def _client():
    from ganeti.cli import jobs
    return jobs.get_client()


def _ndparams(opts) -> dict | None:
    from ganeti.cli.options import coerce_params
    if not opts.ndparams:
        return None
    return coerce_params(opts.ndparams, constants.NDC_DEFAULTS, what="node parameter")


def _states(opts, op: dict) -> None:
    """--hypervisor-state / --disk-state as the opcode's dicts (when given)."""
    if getattr(opts, "hv_state", None):
        op["hv_state"] = dict(opts.hv_state)
    if getattr(opts, "disk_state", None):
        op["disk_state"] = dict(opts.disk_state)


# --- add / remove -------------------------------------------------------------------

def _known_node(client, name: str) -> list | None:
    """``[name, sip, master]`` of a node already in the cluster, else None."""
    try:
        rows = client.query_nodes([name], ["name", "sip", "master"], False)
    except errors.OpPrereqError:
        return None
    return rows[0] if rows else None


def build_add_opcode(opts, name: str, existing: list | None) -> dict:
    """The OP_NODE_ADD for ``gnt-node add`` (``existing``: the node's row, for --readd)."""
    secondary_ip = opts.secondary_ip
    if opts.readd and secondary_ip is None and existing is not None:
        secondary_ip = existing[1]  # re-adding keeps the replication address
    op = {"OP_ID": "OP_NODE_ADD", "node_name": name, "primary_ip": None,
          "secondary_ip": secondary_ip, "readd": bool(opts.readd), "group": opts.nodegroup,
          "master_capable": opts.master_capable, "vm_capable": opts.vm_capable,
          "ndparams": _ndparams(opts)}
    if not opts.ssh_key_check:
        op["ssh_key_check"] = False
    _states(opts, op)
    return op


def add_node(opts, args) -> int:
    """Join a node (the master's OP_NODE_ADD does the SSH work); --readd re-joins one."""
    from ganeti.cli import jobs
    name = args[0]
    client = _client()
    existing = _known_node(client, name)
    if opts.readd:
        if existing is None:
            sys.stderr.write("Node %s not in the cluster - please retry without '--readd'\n"
                             % name)
            return constants.EXIT_FAILURE
        if existing[2]:
            sys.stderr.write("Node %s is the master, cannot readd\n" % name)
            return constants.EXIT_FAILURE
    elif existing is not None:
        sys.stderr.write("Node %s already in the cluster (as %s) - please retry with"
                         " '--readd'\n" % (name, existing[0]))
        return constants.EXIT_FAILURE
    jobs.submit_opcode(build_add_opcode(opts, name, existing), opts, client)
    return constants.EXIT_SUCCESS


def remove_node(opts, args) -> int:
    from ganeti.cli import jobs
    jobs.submit_opcode({"OP_ID": "OP_NODE_REMOVE", "node_name": args[0]}, opts)
    return constants.EXIT_SUCCESS


# --- list / info -----------------------------------------------------------------------

def list_nodes(opts, args) -> int:
    from ganeti.cli import listing, table
    override = dict.fromkeys(["pinst_list", "sinst_list", "tags"], (table.join_list, False))
    return listing.generic_list(opts, args, constants.QR_NODE, LIST_DEFAULT_FIELDS,
                                format_override=override)


def list_fields(opts, args) -> int:
    from ganeti.cli import listing
    return listing.generic_list_fields(opts, args, constants.QR_NODE)


def node_info_data(rows: list) -> list:
    """QueryNodes rows (INFO_FIELDS) as the data ``gnt-node info`` prints.

    The power state appears only when it is tracked (an out-of-band helper
    is configured); instance lists only for nodes that can host instances.
    """
    from ganeti.cli.base import params_info
    from ganeti.utils.text import nice_sort
    out = []
    for (name, pip, sip, pinst, sinst, is_mc, drained, offline, master_capable, vm_capable,
         powered, ndparams, custom_ndparams) in rows:
        node: list = [("Node name", name), ("primary ip", pip), ("secondary ip", sip),
                      ("master candidate", is_mc), ("drained", drained),
                      ("offline", offline)]
        if powered is not None:
            node.append(("powered", powered))
        node += [("master_capable", master_capable), ("vm_capable", vm_capable)]
        if vm_capable:
            node += [("primary for instances", nice_sort(pinst or [])),
                     ("secondary for instances", nice_sort(sinst or []))]
        node.append(("node parameters", params_info(custom_ndparams or {}, ndparams or {},
                                                    False)))
        out.append(node)
    return out


def show_node_info(opts, args) -> int:
    from ganeti.cli.base import print_generic_info
    rows = _client().query_nodes(list(args), INFO_FIELDS, False)
    print_generic_info(node_info_data(rows))
    return constants.EXIT_SUCCESS


# --- modify / powercycle ---------------------------------------------------------------

def build_modify_opcode(opts, name: str) -> dict | None:
    """OP_NODE_SET_PARAMS with what was given; None when nothing was."""
    given = [getattr(opts, flag, None) for flag in _MODIFY_FLAGS]
    if all(value is None for value in given) and not (opts.hv_state or opts.disk_state):
        return None
    op = {"OP_ID": "OP_NODE_SET_PARAMS", "node_name": name, "force": opts.force,
          "auto_promote": opts.auto_promote}
    for flag in ("master_candidate", "drained", "offline", "master_capable", "vm_capable",
                 "secondary_ip"):
        value = getattr(opts, flag)
        if value is not None:
            op[flag] = value
    ndparams = _ndparams(opts)
    if ndparams is not None:
        op["ndparams"] = ndparams
    if opts.node_powered is not None:
        op["powered"] = opts.node_powered
    _states(opts, op)
    return op


def format_changes(what: str, name: str, changes: list | None) -> list[str]:
    """Lines for a modify result ``[[param, new value], ...]`` (nothing if no change)."""
    if not changes:
        return []
    lines = ["Modified %s %s" % (what, name)]
    lines += [" - %-5s -> %s" % (param, value) for param, value in changes]
    return lines


def modify_node(opts, args) -> int:
    from ganeti.cli import jobs
    op = build_modify_opcode(opts, args[0])
    if op is None:
        sys.stderr.write("Please give at least one of the parameters.\n")
        return constants.EXIT_FAILURE
    result = jobs.submit_or_send(op, opts)
    for line in format_changes("node", args[0], result):
        print(line)
    return constants.EXIT_SUCCESS


def powercycle_node(opts, args) -> int:
    """Hard power-cycle (asks first unless --yes); -f is needed for the master."""
    from ganeti.cli import jobs
    from ganeti.cli.base import ask_user
    name = args[0]
    if not opts.confirm and \
            not ask_user("Are you sure you want to hard powercycle node %s?" % name):
        return constants.EXIT_CONFIRMATION
    result = jobs.submit_or_send({"OP_ID": "OP_NODE_POWERCYCLE", "node_name": name,
                                  "force": opts.force}, opts)
    if result:
        sys.stderr.write("%s\n" % result)
    return constants.EXIT_SUCCESS


# --- storage -----------------------------------------------------------------------------

def storage_type(opts) -> str:
    stype = opts.user_storage_type or DEFAULT_STORAGE_TYPE
    if stype not in _STORAGE_TYPES:
        raise errors.OpPrereqError("Unknown storage type: %s" % stype, errors.ECODE_INVAL)
    return stype


def format_storage(opts, fields: list[str], rows: list) -> list[str]:
    """OP_NODE_QUERY_STORAGE rows as a table (sizes as units, allocatable Y/N)."""
    from ganeti.cli import table
    cells = []
    for row in rows:
        line = []
        for field, value in zip(fields, row, strict=True):
            if field == "allocatable":
                value = "Y" if value else "N"
            line.append(str(value))
        cells.append(line)
    headers = None if opts.no_headers else STORAGE_TITLES
    return table.generate_table(headers, fields, opts.separator, cells,
                                numfields=_STORAGE_SIZES, unitfields=_STORAGE_SIZES,
                                units=opts.units)


def list_storage(opts, args) -> int:
    from ganeti.cli import jobs, listing
    fields = listing.parse_fields(opts.output, STORAGE_FIELDS)
    op = {"OP_ID": "OP_NODE_QUERY_STORAGE", "nodes": list(args),
          "storage_type": storage_type(opts), "output_fields": fields}
    rows = jobs.submit_opcode(op, opts)
    sys.stdout.write("".join(line + "\n" for line in format_storage(opts, fields, rows)))
    return constants.EXIT_SUCCESS


_ADD_OPTS = ["secondary_ip", "readd", "no_ssh_key_check", "force_join", "no_node_setup",
             "verbose", "nodegroup", "master_capable", "vm_capable", "ndparams", "hv_state",
             "disk_state", "priority"]
_MODIFY_OPTS = ["force", "submit", "print_jobid", "master_candidate", "node_drained",
                "node_offline", "master_capable", "vm_capable", "secondary_ip",
                "auto_promote", "ndparams", "node_powered", "hv_state", "disk_state",
                "dry_run", "priority"]
_TAG_OPTS = ["tag_from", "priority"] + SUBMIT_OPTS

COMMANDS = {
    "add": Command(add_node, "[-s <secondary_ip>] [--readd] [--no-ssh-key-check]"
                   " [-g <group>] <node_name>", _ADD_OPTS,
                   "Add a node to the cluster", min_args=1, max_args=1),
    "remove": Command(remove_node, "<node_name>", ["dry_run", "priority"],
                      "Removes a node from the cluster", min_args=1, max_args=1),
    "list": Command(list_nodes, "[nodes...]", LIST_OPTS,
                    "Lists the nodes in the cluster. The available fields can be shown"
                    " using the \"list-fields\" command (see the man page for details)."
                    " The default field list is (in order): %s." %
                    ", ".join(LIST_DEFAULT_FIELDS)),
    "list-fields": Command(list_fields, "[fields...]", ["no_headers", "separator"],
                           "Lists all available fields for nodes"),
    "info": Command(show_node_info, "[<node_name>...]", [],
                    "Show information about the node(s)"),
    "modify": Command(modify_node, "<node_name>", _MODIFY_OPTS,
                      "Alters the parameters of a node", min_args=1, max_args=1),
    "powercycle": Command(powercycle_node, "<node_name>",
                          ["confirm_yes", "force", "dry_run", "priority"] + SUBMIT_OPTS,
                          "Tries to forcefully powercycle a node", min_args=1, max_args=1),
    "list-storage": Command(list_storage, "[<node_name>...]",
                            ["no_headers", "separator", "output", "units", "storage_type",
                             "priority"],
                            "Lists the storage units present on the node(s)"),
}
COMMANDS.update(tags.tag_commands(constants.TAG_NODE, "node", _TAG_OPTS))
ALIASES = {"show": "info"}


def main(argv: list[str] | None = None) -> int:
    return run("gnt-node", COMMANDS, ALIASES, argv)
