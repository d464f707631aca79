"""gnt-group: create, inspect, change and remove node groups.

A group refines the cluster's node parameters, instance policy and disk
parameters for its nodes; ``info`` shows which values are the group's own
and which are inherited ("default (X)"), ``list`` the merged ones.
"""

from __future__ import annotations

import sys
from typing import Any

from ganeti import constants, errors
from ganeti.cli import tags
from ganeti.cli.base import Command, run
from ganeti.cli.options import LIST_OPTS, SUBMIT_OPTS

LIST_DEFAULT_FIELDS = ["name", "node_cnt", "pinst_cnt", "alloc_policy", "ndparams"]
INFO_FIELDS = ["name", "ndparams", "custom_ndparams", "diskparams", "custom_diskparams",
               "ipolicy", "custom_ipolicy"]

_GROUP_OPTS = ["alloc_policy", "ndparams", "diskparams", "hv_state", "disk_state",
               "ipolicy_bounds_specs", "ipolicy_disk_templates", "group_ipolicy_vcpu_ratio",
               "group_ipolicy_spindle_ratio", "dry_run", "priority"] + SUBMIT_OPTS
_TAG_OPTS = ["tag_from", "priority"] + SUBMIT_OPTS


def _client():
    from ganeti.cli import jobs
    return jobs.get_client()


# --- parameters from options ---------------------------------------------------------

def _ratio(value: Any, what: str) -> Any:
    if value is None or value == constants.VALUE_DEFAULT:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        raise errors.OpPrereqError("Invalid value '%s' for %s: expected a number or"
                                   " 'default'" % (value, what), errors.ECODE_INVAL)


def group_ipolicy(opts) -> dict:
    """The group's instance policy changes; "default" drops the group's own value."""
    import copy

    from ganeti.cli.options import build_ipolicy
    bounds = opts.ipolicy_bounds_specs
    reset_bounds = bounds == [{constants.VALUE_DEFAULT: {}}]
    plain = copy.copy(opts)
    if reset_bounds:
        plain.ipolicy_bounds_specs = None
    plain.ipolicy_vcpu_ratio = _ratio(opts.ipolicy_vcpu_ratio, "--ipolicy-vcpu-ratio")
    plain.ipolicy_spindle_ratio = _ratio(opts.ipolicy_spindle_ratio,
                                         "--ipolicy-spindle-ratio")
    ipolicy = build_ipolicy(plain)
    if reset_bounds:
        ipolicy["minmax"] = constants.VALUE_DEFAULT
    if ipolicy.get("disk-templates") == [constants.VALUE_DEFAULT]:
        ipolicy["disk-templates"] = constants.VALUE_DEFAULT
    return ipolicy


def _diskparams(opts) -> dict | None:
    """-D template:key=val,... as {template: typed params} (remove forms left out)."""
    from ganeti.cli.options import coerce_params
    if not opts.diskparams:
        return None
    out: dict = {}
    for ident, params in opts.diskparams:
        if isinstance(params, dict):
            out[ident] = coerce_params(params, constants.DISK_DT_DEFAULTS.get(ident, {}),
                                       what="disk parameter of %s" % ident)
    return out


def build_group_opcode(op_id: str, opts, name: str) -> dict:
    """OP_GROUP_ADD / OP_GROUP_SET_PARAMS with exactly the parameters given."""
    from ganeti.cli.options import coerce_params
    op: dict = {"OP_ID": op_id, "group_name": name}
    if opts.alloc_policy is not None:
        op["alloc_policy"] = opts.alloc_policy
    if opts.ndparams:
        op["ndparams"] = coerce_params(opts.ndparams, constants.NDC_DEFAULTS,
                                       what="node parameter")
    diskparams = _diskparams(opts)
    if diskparams is not None:
        op["diskparams"] = diskparams
    ipolicy = group_ipolicy(opts)
    if ipolicy:
        op["ipolicy"] = ipolicy
    if opts.hv_state:
        op["hv_state"] = dict(opts.hv_state)
    if opts.disk_state:
        op["disk_state"] = dict(opts.disk_state)
    return op


# --- commands ----------------------------------------------------------------------------

def add_group(opts, args) -> int:
    from ganeti.cli import jobs
    jobs.submit_or_send(build_group_opcode("OP_GROUP_ADD", opts, args[0]), opts)
    return constants.EXIT_SUCCESS


def modify_group(opts, args) -> int:
    from ganeti.cli import jobs
    from ganeti.cli.gnt_node import format_changes
    op = build_group_opcode("OP_GROUP_SET_PARAMS", opts, args[0])
    if len(op) == 2:
        sys.stderr.write("Please give at least one of the parameters.\n")
        return constants.EXIT_FAILURE
    result = jobs.submit_or_send(op, opts)
    for line in format_changes("node group", args[0], result):
        print(line)
    return constants.EXIT_SUCCESS


def remove_group(opts, args) -> int:
    from ganeti.cli import jobs
    jobs.submit_or_send({"OP_ID": "OP_GROUP_REMOVE", "group_name": args[0]}, opts)
    return constants.EXIT_SUCCESS


def rename_group(opts, args) -> int:
    from ganeti.cli import jobs
    jobs.submit_or_send({"OP_ID": "OP_GROUP_RENAME", "group_name": args[0],
                         "new_name": args[1]}, opts)
    return constants.EXIT_SUCCESS


def assign_nodes(opts, args) -> int:
    from ganeti.cli import jobs
    jobs.submit_or_send({"OP_ID": "OP_GROUP_ASSIGN_NODES", "group_name": args[0],
                         "nodes": list(args[1:]), "force": opts.force}, opts)
    return constants.EXIT_SUCCESS


def list_groups(opts, args) -> int:
    from ganeti.cli import listing, table
    override = {"node_list": (table.join_list, False), "pinst_list": (table.join_list, False),
                "tags": (table.join_list, False), "ndparams": (table.format_dict, False)}
    return listing.generic_list(opts, args, constants.QR_GROUP, LIST_DEFAULT_FIELDS,
                                format_override=override)


def list_fields(opts, args) -> int:
    from ganeti.cli import listing
    return listing.generic_list_fields(opts, args, constants.QR_GROUP)


def group_policy_info(custom: dict, effective: dict) -> list:
    """A group's instance policy for ``info``: own values plain, inherited "default (X)".

    Groups have no standard specs of their own, so unlike the cluster's
    policy there is no "std" entry; bounds are all-or-nothing.
    """
    from ganeti.cli.base import params_info
    own_bounds = "minmax" in custom
    minmax = custom.get("minmax") if own_bounds else effective.get("minmax")
    bounds = []
    for index, pair in enumerate(minmax or []):
        bounds.append([("%s/%s" % (key, index),
                        params_info(pair.get(key, {}) if own_bounds else {},
                                    pair.get(key, {}), False))
                       for key in ("max", "min")])
    out: list = [("bounds specs", bounds)]
    if "disk-templates" in custom:
        out.append(("allowed disk templates", ", ".join(custom["disk-templates"])))
    else:
        out.append(("allowed disk templates", "default (%s)" %
                    ", ".join(effective.get("disk-templates") or [])))
    for key in ("vcpu-ratio", "spindle-ratio"):
        if key in custom:
            out.append((key, str(custom[key])))
        else:
            out.append((key, "default (%s)" % effective.get(key)))
    return out


def group_info_data(rows: list) -> list:
    """QueryGroups rows (INFO_FIELDS) as the data ``gnt-group info`` prints."""
    from ganeti.cli.base import params_info
    out = []
    for name, ndparams, custom_nd, diskparams, custom_disk, ipolicy, custom_ipolicy in rows:
        out.append([("Node group", name),
                    ("Node parameters", params_info(custom_nd or {}, ndparams or {}, False)),
                    ("Disk parameters", params_info(custom_disk or {}, diskparams or {},
                                                    False)),
                    ("Instance policy", group_policy_info(custom_ipolicy or {},
                                                          ipolicy or {}))])
    return out


def show_group_info(opts, args) -> int:
    from ganeti.cli.base import print_generic_info
    rows = _client().query_groups(list(args), INFO_FIELDS, False)
    print_generic_info(group_info_data(rows))
    return constants.EXIT_SUCCESS


COMMANDS = {
    "add": Command(add_group, "<group_name>", _GROUP_OPTS, "Add a new node group to the"
                   " cluster", min_args=1, max_args=1),
    "assign-nodes": Command(assign_nodes, "<group_name> <node>...",
                            ["force", "dry_run", "priority"] + SUBMIT_OPTS,
                            "Assign nodes to a group", min_args=2),
    "list": Command(list_groups, "[<group_name>...]", LIST_OPTS,
                    "Lists the node groups in the cluster. The available fields can be shown"
                    " using the \"list-fields\" command (see the man page for details). The"
                    " default list is (in order): %s." % ", ".join(LIST_DEFAULT_FIELDS)),
    "list-fields": Command(list_fields, "[fields...]", ["no_headers", "separator"],
                           "Lists all available fields for node groups"),
    "modify": Command(modify_group, "<group_name>", _GROUP_OPTS,
                      "Alters the parameters of a node group", min_args=1, max_args=1),
    "remove": Command(remove_group, "<group_name>", ["dry_run", "priority"] + SUBMIT_OPTS,
                      "Remove an (empty) node group from the cluster", min_args=1,
                      max_args=1),
    "rename": Command(rename_group, "<group_name> <new_name>",
                      ["dry_run", "priority"] + SUBMIT_OPTS, "Rename a node group",
                      min_args=2, max_args=2),
    "info": Command(show_group_info, "[<group_name>...]", [],
                    "Show group information"),
}
COMMANDS.update(tags.tag_commands(constants.TAG_NODEGROUP, "group", _TAG_OPTS))


def main(argv: list[str] | None = None) -> int:
    return run("gnt-group", COMMANDS, {}, argv)
