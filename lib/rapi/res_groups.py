"""Node group resources: list, add, details, remove, modify, rename, assign nodes, tags."""

from __future__ import annotations

from typing import Any

from ganeti import constants
from ganeti.rapi.base import Context, Method, Resource
from ganeti.rapi.res_common import (bulk_items, GROUP_FIELDS, OpBinding, binding_method, check_no_lock,
                                    list_schema, name_list, path_value, query_one,
                                    tag_methods)

_GROUP = {"group_name": "group_name"}

_ADD = OpBinding("OP_GROUP_ADD", renames={"name": "group_name"})
_REMOVE = OpBinding("OP_GROUP_REMOVE", path=_GROUP, body=False)
#: the GET answer shows ``custom_*`` names; accept them back in modify
_MODIFY = OpBinding("OP_GROUP_SET_PARAMS", path=_GROUP,
                    renames={"custom_ndparams": "ndparams", "custom_ipolicy": "ipolicy",
                             "custom_diskparams": "diskparams"})
_RENAME = OpBinding("OP_GROUP_RENAME", path=_GROUP)
_ASSIGN = OpBinding("OP_GROUP_ASSIGN_NODES", path=_GROUP, query_bools={"force": "force"})

_GROUP_SCHEMA = {"type": "object", "properties": {f: {} for f in GROUP_FIELDS}}


def list_groups(ctx: Context) -> Any:
    """Groups; ``bulk=1`` gives the fields of the reference output."""
    if ctx.query_bool("bulk"):
        return bulk_items(ctx, constants.QR_GROUP, GROUP_FIELDS)
    return name_list(ctx, constants.QR_GROUP, "name", "/2/groups/")


def get_group(ctx: Context) -> dict:
    check_no_lock(ctx)
    return query_one(ctx, constants.QR_GROUP, GROUP_FIELDS, path_value(ctx, "group_name"))


RESOURCES = [
    Resource("/2/groups", "groups", {
        "GET": Method(list_groups, "List node groups", query_args=("bulk",),
                      returns={"oneOf": [list_schema("name"),
                                         {"type": "array", "items": _GROUP_SCHEMA}]}),
        "POST": binding_method(_ADD, "Add a node group"),
    }),
    Resource("/2/groups/{group_name}", "groups_name", {
        "GET": Method(get_group, "Node group details", query_args=("lock",),
                      returns=_GROUP_SCHEMA),
        "DELETE": binding_method(_REMOVE, "Remove a node group"),
    }),
    Resource("/2/groups/{group_name}/modify", "groups_name_modify", {
        "PUT": binding_method(_MODIFY, "Change node group parameters")}),
    Resource("/2/groups/{group_name}/rename", "groups_name_rename", {
        "PUT": binding_method(_RENAME, "Rename a node group")}),
    Resource("/2/groups/{group_name}/assign-nodes", "groups_name_assign_nodes", {
        "PUT": binding_method(_ASSIGN, "Assign nodes to a node group")}),
    Resource("/2/groups/{group_name}/tags", "groups_name_tags",
             tag_methods(constants.TAG_NODEGROUP, "group_name")),
]
