"""Instance resources: list, create, details, remove, info, console, tags, operations.

The operations themselves (:mod:`ganeti.rapi.res_instances_ops`) are
mostly opcode bindings; this module owns the read side and the table.
"""

from __future__ import annotations

from typing import Any

from ganeti import constants
from ganeti.rapi.base import READ_WRITE, Context, Method, RapiError, Resource
from ganeti.rapi.res_common import (bulk_items, INSTANCE_FIELDS, JOB_ID_SCHEMA, OpBinding, binding_method,
                                    check_no_lock, fill_opcode, list_schema, name_list,
                                    opcode_schema, path_value, query_one,
                                    tag_methods, wait_for_job)
from ganeti.rapi import res_instances_ops as ops
from ganeti.cmdlib.query import ITEM_VIEWS

#: the only creation request format still accepted (version 0 died in 2.5)
CREATE_VERSION = 1
#: the console opcode only asks the hypervisor; don't hold a worker long
CONSOLE_TIMEOUT = 30.0

_REMOVE = OpBinding("OP_INSTANCE_REMOVE", path=ops.INST, forced={"ignore_failures": False})

_INSTANCE_SCHEMA = {"type": "object", "properties": {f: {} for f in INSTANCE_FIELDS}}
_CREATE_BODY = opcode_schema("OP_INSTANCE_CREATE", renames=ops.CREATE_RENAMES)
_CREATE_BODY["properties"] = dict(_CREATE_BODY["properties"],
                                  __version__={"type": "integer", "enum": [CREATE_VERSION]})
_CREATE_BODY["required"] = ["__version__"] + _CREATE_BODY.get("required", [])
_MULTI_BODY = opcode_schema("OP_INSTANCE_MULTI_ALLOC")
_CONSOLE_SCHEMA = {"type": "object", "properties": {
    k: {} for k in ("instance", "kind", "message", "host", "port", "user", "command",
                    "display")}}


INSTANCE_VIEW = "rapi-instance"


def _with_memory(item: dict) -> dict:
    """Pre-2.6 clients read ``beparams.memory`` (= maxmem): the shared item view."""
    return ITEM_VIEWS[INSTANCE_VIEW](item)


def list_instances(ctx: Context) -> Any:
    """Instances; ``bulk=1`` gives the fields of the reference output."""
    if ctx.query_bool("bulk"):
        return bulk_items(ctx, constants.QR_INSTANCE, INSTANCE_FIELDS, INSTANCE_VIEW)
    return name_list(ctx, constants.QR_INSTANCE, "id", "/2/instances/")


def create_instance(ctx: Context) -> int:
    """OP_INSTANCE_CREATE from a ``"__version__": 1`` body (version 0 is refused)."""
    body = ctx.body_dict()
    version = body.pop("__version__", 0)
    if version == 0 and not isinstance(version, bool):
        raise RapiError(400, "Instance creation request version 0 is not supported;"
                        " send \"__version__\": %d" % CREATE_VERSION)
    if version != CREATE_VERSION or isinstance(version, bool):
        raise RapiError(400, "Unsupported instance creation request version %r" % (version,))
    return ctx.submit([ops.create_opcode(body)])


def multi_alloc(ctx: Context) -> int:
    """OP_INSTANCE_MULTI_ALLOC; each instance is checked like a creation request."""
    body = ctx.body_dict()
    instances = body.get("instances")
    if not isinstance(instances, list) or not instances:
        raise RapiError(400, "Request is missing the required 'instances' list in the body")
    built = []
    for pos, inst in enumerate(instances):
        if not isinstance(inst, dict):
            raise RapiError(400, "Instance %d of 'instances' is not a JSON object" % pos)
        inst = dict(inst)
        if inst.get("__version__", CREATE_VERSION) != CREATE_VERSION:
            raise RapiError(400, "Unsupported instance creation request version in"
                            " instance %d" % pos)
        inst.pop("__version__", None)
        try:
            built.append(ops.create_opcode(inst))
        except RapiError as err:
            raise RapiError(400, "Instance %d: %s" % (pos, err.message))
    body["instances"] = built
    return ctx.submit([fill_opcode("OP_INSTANCE_MULTI_ALLOC", body)])


def get_instance(ctx: Context) -> dict:
    """One instance; 404 (upstream's body) when unknown."""
    check_no_lock(ctx)
    name = path_value(ctx, "instance_name")
    return _with_memory(query_one(ctx, constants.QR_INSTANCE, INSTANCE_FIELDS, name))


def instance_info(ctx: Context) -> int:
    """OP_INSTANCE_QUERY_DATA as a job: the details need node RPCs (``static=0``)."""
    static = {"instances": [path_value(ctx, "instance_name")],
              "static": ctx.query_bool("static")}
    return ctx.submit([fill_opcode("OP_INSTANCE_QUERY_DATA", None, static)])


def get_console(ctx: Context) -> dict:
    """Console connection data; 503 unless the instance runs (the answer is not a job).

    The ``console`` query field is used when the master fills it; else the
    hypervisor is asked through OP_INSTANCE_CONSOLE, waited for here.
    """
    name = path_value(ctx, "instance_name")
    item = query_one(ctx, constants.QR_INSTANCE, ["console", "oper_state"], name)
    if not item.get("oper_state"):
        raise RapiError(503, "Instance console unavailable")
    if isinstance(item.get("console"), dict):
        return item["console"]
    op = fill_opcode("OP_INSTANCE_CONSOLE", None, {"instance_name": name})
    job_id = int(ctx.luxi().submit_job([dict(op, reason=ctx.reason_trail())]))
    status, opresult = wait_for_job(ctx, job_id, CONSOLE_TIMEOUT)
    result = opresult[0] if isinstance(opresult, list) and opresult else None
    if status == constants.JOB_STATUS_SUCCESS and isinstance(result, dict):
        return result
    raise RapiError(503, "Instance console unavailable: %s" % (result,))


_JOB = {"returns": JOB_ID_SCHEMA, "job": True}
_OPS_ARGS = ("dry-run", "reason")


def _inst(suffix: str) -> str:
    return "/2/instances/{instance_name}" + suffix


RESOURCES = [
    Resource("/2/instances", "instances", {
        "GET": Method(list_instances, "List instances", query_args=("bulk",),
                      returns={"oneOf": [list_schema("id"),
                                         {"type": "array", "items": _INSTANCE_SCHEMA}]}),
        "POST": Method(create_instance, "Create an instance (request version 1)",
                       query_args=_OPS_ARGS, body=_CREATE_BODY, **_JOB),
    }),
    Resource("/2/instances-multi-alloc", "instances_multi_alloc", {
        "POST": Method(multi_alloc, "Allocate several instances at once",
                       query_args=_OPS_ARGS, body=_MULTI_BODY, **_JOB)}),
    Resource(_inst(""), "instances_name", {
        "GET": Method(get_instance, "Instance details", query_args=("lock",),
                      returns=_INSTANCE_SCHEMA),
        "DELETE": binding_method(_REMOVE, "Remove an instance"),
    }),
    Resource(_inst("/info"), "instances_name_info", {
        "GET": Method(instance_info, "Detailed instance information (answers a job id)",
                      query_args=("static", "reason"), **_JOB)}),
    Resource(_inst("/startup"), "instances_name_startup", {
        "PUT": binding_method(ops.STARTUP, "Start an instance")}),
    Resource(_inst("/shutdown"), "instances_name_shutdown", {
        "PUT": binding_method(ops.SHUTDOWN, "Shut an instance down")}),
    Resource(_inst("/reboot"), "instances_name_reboot", {
        "POST": binding_method(ops.REBOOT, "Reboot an instance")}),
    Resource(_inst("/reinstall"), "instances_name_reinstall", {
        "POST": Method(ops.reinstall, "Reinstall an instance (shutdown, reinstall, startup)",
                       query_args=("os", "nostartup") + _OPS_ARGS, body=ops.REINSTALL_BODY,
                       **_JOB)}),
    Resource(_inst("/replace-disks"), "instances_name_replace_disks", {
        "POST": Method(ops.replace_disks, "Replace the disks of an instance",
                       query_args=("mode", "remote_node", "disks", "iallocator") + _OPS_ARGS,
                       body=ops.REPLACE_DISKS_BINDING.body_schema(), **_JOB)}),
    Resource(_inst("/activate-disks"), "instances_name_activate_disks", {
        "PUT": binding_method(ops.ACTIVATE_DISKS, "Activate the disks of an instance")}),
    Resource(_inst("/deactivate-disks"), "instances_name_deactivate_disks", {
        "PUT": binding_method(ops.DEACTIVATE_DISKS, "Deactivate the disks of an instance")}),
    Resource(_inst("/recreate-disks"), "instances_name_recreate_disks", {
        "POST": binding_method(ops.RECREATE_DISKS, "Recreate the disks of an instance")}),
    Resource(_inst("/disk/{disk_index}/grow"), "instances_name_disk_grow", {
        "POST": binding_method(ops.GROW_DISK, "Grow one disk of an instance")}),
    Resource(_inst("/prepare-export"), "instances_name_prepare_export", {
        "PUT": binding_method(ops.PREPARE_EXPORT, "Prepare an instance export")}),
    Resource(_inst("/export"), "instances_name_export", {
        "PUT": binding_method(ops.EXPORT, "Export an instance"),
        "DELETE": binding_method(ops.REMOVE_EXPORT, "Remove the exports of an instance"),
    }),
    Resource(_inst("/migrate"), "instances_name_migrate", {
        "PUT": binding_method(ops.MIGRATE, "Migrate an instance")}),
    Resource(_inst("/failover"), "instances_name_failover", {
        "PUT": binding_method(ops.FAILOVER, "Fail an instance over")}),
    Resource(_inst("/rename"), "instances_name_rename", {
        "PUT": binding_method(ops.RENAME, "Rename an instance")}),
    Resource(_inst("/modify"), "instances_name_modify", {
        "PUT": binding_method(ops.MODIFY, "Change instance parameters")}),
    Resource(_inst("/console"), "instances_name_console", {
        "GET": Method(get_console, "Console connection data", access=READ_WRITE,
                      returns=_CONSOLE_SCHEMA)}),
    Resource(_inst("/tags"), "instances_name_tags",
             tag_methods(constants.TAG_INSTANCE, "instance_name")),
]
