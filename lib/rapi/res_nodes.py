"""Node resources: list, details, role, modify, evacuate, migrate, storage, tags."""

from __future__ import annotations

from typing import Any

from ganeti import constants
from ganeti.rapi.base import WRITE, Context, Method, RapiError, Resource
from ganeti.rapi.res_common import (bulk_items, JOB_ID_SCHEMA, NODE_FIELDS, OpBinding, binding_method,
                                    check_no_lock, fill_opcode, list_schema, name_list,
                                    path_value, query_one, require_query,
                                    tag_methods)

_NODE = {"node_name": "node_name"}

#: one-letter ``role`` field -> RAPI role name
ROLE_NAMES = {"M": "master", "C": "master-candidate", "R": "regular", "D": "drained",
              "O": "offline"}

#: RAPI role -> OP_NODE_SET_PARAMS flags; "master" can't be set this way
#: (a master failover is done on the new master node itself).
ROLE_FLAGS: dict[str, dict[str, bool | None]] = {
    "regular": {"master_candidate": False, "offline": False, "drained": False},
    "master-candidate": {"master_candidate": True, "offline": None, "drained": None},
    "drained": {"master_candidate": None, "offline": None, "drained": True},
    "offline": {"master_candidate": None, "offline": True, "drained": None},
}

_MODIFY = OpBinding("OP_NODE_SET_PARAMS", path=_NODE)
_EVACUATE = OpBinding("OP_NODE_EVACUATE", path=_NODE)
_MIGRATE = OpBinding("OP_NODE_MIGRATE", path=_NODE)
_POWERCYCLE = OpBinding("OP_NODE_POWERCYCLE", path=_NODE, query_bools={"force": "force"},
                        body=False)


def list_nodes(ctx: Context) -> Any:
    """Node list; ``bulk=1`` gives the fields of the reference output."""
    if ctx.query_bool("bulk"):
        return bulk_items(ctx, constants.QR_NODE, NODE_FIELDS)
    return name_list(ctx, constants.QR_NODE, "id", "/2/nodes/")


def get_node(ctx: Context) -> dict:
    check_no_lock(ctx)
    return query_one(ctx, constants.QR_NODE, NODE_FIELDS, path_value(ctx, "node_name"))


def get_role(ctx: Context) -> str:
    """The node's role as a word (the query field is one letter)."""
    item = query_one(ctx, constants.QR_NODE, ["role"], path_value(ctx, "node_name"))
    role = ROLE_NAMES.get(item["role"])
    if role is None:
        raise RapiError(502, "Unknown node role '%s'" % (item["role"],))
    return role


def set_role(ctx: Context) -> int:
    """Body is a JSON string naming the role; the flags come from :data:`ROLE_FLAGS`."""
    role = ctx.body
    if not isinstance(role, str):
        raise RapiError(400, "The body must be a JSON string naming the role (one of %s)"
                        % ", ".join(ROLE_FLAGS))
    flags = ROLE_FLAGS.get(role)
    if flags is None:
        raise RapiError(400, "Can't set '%s' role (valid: %s)" % (role, ", ".join(ROLE_FLAGS)))
    static = {"node_name": path_value(ctx, "node_name"), "force": ctx.query_bool("force"),
              "auto_promote": ctx.query_bool("auto-promote")}
    static.update({k: v for k, v in flags.items() if v is not None})
    return ctx.submit([fill_opcode("OP_NODE_SET_PARAMS", None, static)])


def migrate_node(ctx: Context) -> int:
    """Body parameters, or (before 2.5 clients) ``live=0/1`` or ``mode=`` query args."""
    legacy = [arg for arg in ("live", "mode") if arg in ctx.query]
    if not legacy:
        return ctx.submit([_MIGRATE.build(ctx)])
    if len(legacy) == 2:
        raise RapiError(400, "Only one of 'live' and 'mode' should be used")
    if ctx.body_dict():
        raise RapiError(400, "Query arguments 'live'/'mode' can't be combined with a body")
    if legacy[0] == "live":
        mode = "live" if ctx.query_bool("live") else "non-live"
    else:
        mode = ctx.query_str("mode")
    return ctx.submit([fill_opcode("OP_NODE_MIGRATE", None,
                                   {"node_name": path_value(ctx, "node_name"), "mode": mode})])


def query_storage(ctx: Context) -> int:
    """OP_NODE_QUERY_STORAGE as a job (upstream answers the job id here too)."""
    fields = [f for f in require_query(ctx, "output_fields").split(",") if f]
    static = {"nodes": [path_value(ctx, "node_name")], "output_fields": fields}
    if ctx.query_str("storage_type") is not None:
        static["storage_type"] = ctx.query_str("storage_type")
    return ctx.submit([fill_opcode("OP_NODE_QUERY_STORAGE", None, static)])


def _storage_static(ctx: Context) -> dict:
    return {"node_name": path_value(ctx, "node_name"),
            "storage_type": require_query(ctx, "storage_type"),
            "name": require_query(ctx, "name")}


def modify_storage(ctx: Context) -> int:
    """Only ``allocatable`` can be changed (as in upstream)."""
    changes = {}
    if "allocatable" in ctx.query:
        changes["allocatable"] = ctx.query_bool("allocatable")
    static = _storage_static(ctx)
    static["changes"] = changes
    return ctx.submit([fill_opcode("OP_NODE_MODIFY_STORAGE", None, static)])


def repair_storage(ctx: Context) -> int:
    return ctx.submit([fill_opcode("OP_REPAIR_NODE_STORAGE", None, _storage_static(ctx))])


_ROLE_SCHEMA = {"type": "string", "enum": list(ROLE_NAMES.values())}
_NODE_SCHEMA = {"type": "object", "properties": {f: {} for f in NODE_FIELDS}}

RESOURCES = [
    Resource("/2/nodes", "nodes", {
        "GET": Method(list_nodes, "List nodes", query_args=("bulk",),
                      returns={"oneOf": [list_schema("id"), {"type": "array",
                                                             "items": _NODE_SCHEMA}]})}),
    Resource("/2/nodes/{node_name}", "nodes_name", {
        "GET": Method(get_node, "Node details", query_args=("lock",), returns=_NODE_SCHEMA)}),
    Resource("/2/nodes/{node_name}/role", "nodes_name_role", {
        "GET": Method(get_role, "Role of a node", returns=_ROLE_SCHEMA),
        "PUT": Method(set_role, "Change the role of a node",
                      query_args=("force", "auto-promote", "dry-run", "reason"),
                      body={"type": "string", "enum": list(ROLE_FLAGS)},
                      returns=JOB_ID_SCHEMA, job=True),
    }),
    Resource("/2/nodes/{node_name}/modify", "nodes_name_modify", {
        "POST": binding_method(_MODIFY, "Change node parameters")}),
    Resource("/2/nodes/{node_name}/evacuate", "nodes_name_evacuate", {
        "POST": binding_method(_EVACUATE, "Evacuate all instances off a node")}),
    Resource("/2/nodes/{node_name}/migrate", "nodes_name_migrate", {
        "POST": Method(migrate_node, "Migrate all primary instances of a node",
                       query_args=("live", "mode", "dry-run", "reason"),
                       body=_MIGRATE.body_schema(), returns=JOB_ID_SCHEMA, job=True)}),
    Resource("/2/nodes/{node_name}/powercycle", "nodes_name_powercycle", {
        "POST": binding_method(_POWERCYCLE, "Power-cycle a node")}),
    Resource("/2/nodes/{node_name}/storage", "nodes_name_storage", {
        "GET": Method(query_storage, "Query storage units (answers a job id)", access=WRITE,
                      query_args=("storage_type", "output_fields", "reason"),
                      returns=JOB_ID_SCHEMA, job=True)}),
    Resource("/2/nodes/{node_name}/storage/modify", "nodes_name_storage_modify", {
        "PUT": Method(modify_storage, "Modify a storage unit",
                      query_args=("storage_type", "name", "allocatable", "dry-run", "reason"),
                      returns=JOB_ID_SCHEMA, job=True)}),
    Resource("/2/nodes/{node_name}/storage/repair", "nodes_name_storage_repair", {
        "PUT": Method(repair_storage, "Repair a storage unit",
                      query_args=("storage_type", "name", "dry-run", "reason"),
                      returns=JOB_ID_SCHEMA, job=True)}),
    Resource("/2/nodes/{node_name}/tags", "nodes_name_tags",
             tag_methods(constants.TAG_NODE, "node_name")),
]
