"""Instance operations: power, reinstall, disks, export, migration, rename, modify.

Most are one opcode each and declared as :class:`OpBinding` data; the
resource table in :mod:`ganeti.rapi.res_instances` turns them into
methods. Reinstall and replace-disks keep upstream's legacy
query-argument forms and therefore have their own handlers.
"""

from __future__ import annotations

from typing import Any

from ganeti.rapi.base import Context, RapiError
from ganeti.rapi.res_common import OpBinding, apply_renames, fill_opcode, path_value

INST = {"instance_name": "instance_name"}


def convert_usb_devices(params: dict) -> None:
    """Old clients separate ``usb_devices`` by spaces; the hypervisor wants commas."""
    hvparams = params.get("hvparams")
    if isinstance(hvparams, dict) and isinstance(hvparams.get("usb_devices"), str):
        params["hvparams"] = dict(hvparams, usb_devices=hvparams["usb_devices"].replace(" ", ","))


#: body renames of instance creation (also each instance of multi-alloc)
CREATE_RENAMES = {"name": "instance_name", "os": "os_type"}
#: GET shows ``custom_*`` (own values only); accept them back in modify
MODIFY_RENAMES = {"custom_beparams": "beparams", "custom_hvparams": "hvparams"}

STARTUP = OpBinding("OP_INSTANCE_STARTUP", path=INST, body=False,
                    query_bools={"force": "force", "no_remember": "no_remember"})
SHUTDOWN = OpBinding("OP_INSTANCE_SHUTDOWN", path=INST, query_bools={"no_remember": "no_remember"})
REBOOT = OpBinding("OP_INSTANCE_REBOOT", path=INST, query_strs={"type": "reboot_type"},
                   query_bools={"ignore_secondaries": "ignore_secondaries"},
                   query_defaults={"reboot_type": "hard"})
ACTIVATE_DISKS = OpBinding("OP_INSTANCE_ACTIVATE_DISKS", path=INST, body=False,
                           query_bools={"ignore_size": "ignore_size"})
DEACTIVATE_DISKS = OpBinding("OP_INSTANCE_DEACTIVATE_DISKS", path=INST, body=False,
                             query_bools={"force": "force"})
RECREATE_DISKS = OpBinding("OP_INSTANCE_RECREATE_DISKS", path=INST)
GROW_DISK = OpBinding("OP_INSTANCE_GROW_DISK",
                      path={"instance_name": "instance_name", "disk": "disk_index"})
PREPARE_EXPORT = OpBinding("OP_BACKUP_PREPARE", path=INST, body=False,
                           query_strs={"mode": "mode"})
EXPORT = OpBinding("OP_BACKUP_EXPORT", path=INST, renames={"destination": "target_node"})
REMOVE_EXPORT = OpBinding("OP_BACKUP_REMOVE", path=INST, body=False)
MIGRATE = OpBinding("OP_INSTANCE_MIGRATE", path=INST)
FAILOVER = OpBinding("OP_INSTANCE_FAILOVER", path=INST)
RENAME = OpBinding("OP_INSTANCE_RENAME", path=INST)
MODIFY = OpBinding("OP_INSTANCE_SET_PARAMS", path=INST, renames=MODIFY_RENAMES,
                   transform=convert_usb_devices)

# -- reinstall ---------------------------------------------------------------------------

REINSTALL_BODY = {
    "type": "object", "additionalProperties": False,
    "properties": {"os": {"type": "string", "description": "OS to install (default: current)"},
                   "start": {"type": "boolean", "description": "Start afterwards (default true)"},
                   "osparams": {"type": "object", "description": "OS parameters"}},
}


def _reinstall_args(ctx: Context) -> tuple[Any, bool, Any]:
    """(os, start, osparams) from the body, or from the pre-2.5 query arguments."""
    body = ctx.body_dict()
    legacy = [arg for arg in ("os", "nostartup") if arg in ctx.query]
    if legacy:
        if body:
            raise RapiError(400, "Can't combine query arguments (%s) and body parameters"
                            % ", ".join(legacy))
        return ctx.query_str("os"), not ctx.query_bool("nostartup"), None
    unknown = sorted(set(body) - set(REINSTALL_BODY["properties"]))
    if unknown:
        raise RapiError(400, "Unknown body parameter(s) for reinstall: %s" % ", ".join(unknown))
    os_name, start, osparams = body.get("os"), body.get("start", True), body.get("osparams")
    if os_name is not None and (not isinstance(os_name, str) or not os_name):
        raise RapiError(400, "Parameter 'os' must be a non-empty string")
    if not isinstance(start, bool):
        raise RapiError(400, "Parameter 'start' must be a boolean")
    if osparams is not None and not isinstance(osparams, dict):
        raise RapiError(400, "Parameter 'osparams' must be an object")
    return os_name, start, osparams


def reinstall(ctx: Context) -> int:
    """One job: shutdown, reinstall and (unless ``start`` is false) startup."""
    name = path_value(ctx, "instance_name")
    os_name, start, osparams = _reinstall_args(ctx)
    reinstall_params = {"instance_name": name}
    if os_name is not None:
        reinstall_params["os_type"] = os_name
    if osparams is not None:
        reinstall_params["osparams"] = osparams
    ops = [fill_opcode("OP_INSTANCE_SHUTDOWN", None, {"instance_name": name}),
           fill_opcode("OP_INSTANCE_REINSTALL", None, reinstall_params)]
    if start:
        ops.append(fill_opcode("OP_INSTANCE_STARTUP", None,
                               {"instance_name": name, "force": False}))
    return ctx.submit(ops)


# -- replace-disks -----------------------------------------------------------------------

_REPLACE_LEGACY_ARGS = ("mode", "remote_node", "disks", "iallocator")


def parse_disk_indices(value: str) -> list[int]:
    """``"0,2"`` (the legacy form of ``disks``) -> ``[0, 2]``."""
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise RapiError(400, "Invalid disk index passed: '%s'" % value)


def _replace_disks_body(params: dict) -> None:
    disks = params.get("disks")
    if isinstance(disks, str):
        params["disks"] = parse_disk_indices(disks)


def replace_disks(ctx: Context) -> int:
    """OP_INSTANCE_REPLACE_DISKS from the body, or from the legacy query arguments."""
    body = ctx.body_dict()
    legacy = {arg: ctx.query_str(arg) for arg in _REPLACE_LEGACY_ARGS if arg in ctx.query}
    if legacy and body:
        raise RapiError(400, "Can't combine query arguments (%s) and body parameters"
                        % ", ".join(sorted(legacy)))
    params = body or legacy
    op = fill_opcode("OP_INSTANCE_REPLACE_DISKS", params,
                     {"instance_name": path_value(ctx, "instance_name")},
                     transform=_replace_disks_body)
    return ctx.submit([op])


REPLACE_DISKS_BINDING = OpBinding("OP_INSTANCE_REPLACE_DISKS", path=INST)


# -- create (shared with multi-alloc) ----------------------------------------------------

def create_opcode(body: dict) -> dict:
    """OP_INSTANCE_CREATE from a version-1 request body (renames, usb format)."""
    params = dict(body)
    apply_renames(params, CREATE_RENAMES)
    return fill_opcode("OP_INSTANCE_CREATE", params, transform=convert_usb_devices)
