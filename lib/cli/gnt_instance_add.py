"""Opcodes of gnt-instance add, modify and recreate-disks from their options.

These commands describe disks and NICs with repeated ``--disk N:k=v`` /
``--net N:k=v`` options; turning them into the opcode's lists (sizes in
MiB, holes filled, the legacy ``add``/``remove`` forms of modify) is pure
data work, kept here apart from the I/O so it can be tested exhaustively.
The opcodes are built the way Ganeti 3.0's client builds them (values it
leaves to the master, e.g. ``memory`` in ``-B``, are sent as given).
"""

from __future__ import annotations


from ganeti import constants, errors
from ganeti.cli.options import coerce_params
from ganeti.utils.text import parse_unit

TYPE_CHECKING = False   # typing costs ~10 ms of every command's start-up
if TYPE_CHECKING:
    from typing import Any

C = constants

DDM_ADD = "add"
DDM_REMOVE = "remove"
DDM_MODIFY = "modify"
DDM_ATTACH = "attach"
DDM_DETACH = "detach"
_DDM_WORDS = (DDM_ADD, DDM_REMOVE, DDM_MODIFY, DDM_ATTACH, DDM_DETACH)

#: backend parameters plus the pre-2.6 ``memory`` alias; sizes are parsed
_BE_DEFAULTS = dict(C.BEC_DEFAULTS, memory=0)
_BE_UNITS = frozenset(["maxmem", "minmem", "memory"])

_MIRRORED = frozenset([C.DT_DRBD8])


def _hv_defaults() -> dict:
    """Every hypervisor parameter with a default of its type (to coerce -H values)."""
    out: dict = {}
    for defaults in C.HVC_DEFAULTS.values():
        for key, value in defaults.items():
            out.setdefault(key, value)
    return out


def coerce_beparams(params: dict | None) -> dict:
    """-B values typed as the master wants them (``memory=128M`` -> 128)."""
    return coerce_params(params, _BE_DEFAULTS, _BE_UNITS, "backend parameter")


def coerce_hvparams(params: dict | None) -> dict:
    return coerce_params(params, _hv_defaults(), what="hypervisor parameter")


def split_node_option(value: str | None) -> tuple[str | None, str | None]:
    """``-n pnode[:snode]`` -> (pnode, snode)."""
    if value is None:
        return None, None
    if ":" in value:
        pnode, snode = value.split(":", 1)
        return pnode, snode
    return value, None


def _index(ident: str, what: str) -> int:
    try:
        index = int(ident)
    except (TypeError, ValueError) as err:
        raise errors.OpPrereqError("Invalid %s index passed: %s" % (what, err),
                                   errors.ECODE_INVAL)
    if index < 0:
        raise errors.OpPrereqError("Invalid %s index passed: %s" % (what, ident),
                                   errors.ECODE_INVAL)
    return index


def _size(value: Any, didx: int) -> int:
    try:
        return parse_unit(str(value))
    except (errors.UnitParseError, ValueError) as err:
        raise errors.OpPrereqError("Invalid disk size for disk %d: %s" % (didx, err),
                                   errors.ECODE_INVAL)


def _indexed(given: list, what: str, label: str, quote: str = "") -> list[tuple[int, dict]]:
    """``N:k=v,...`` items as (index, params copy); the list they fill is max(N)+1 long."""
    out = []
    for ident, params in given:
        idx = _index(ident, what)
        if not isinstance(params, dict):
            raise errors.OpPrereqError("Invalid %s/%d value: expected dict, got %s%s%s" %
                                       (label, idx, quote, params, quote), errors.ECODE_INVAL)
        out.append((idx, dict(params)))
    return out


def _spindles(params: dict) -> None:
    if "spindles" in params and params["spindles"] is not None:
        try:
            params["spindles"] = int(params["spindles"])
        except (TypeError, ValueError):
            raise errors.OpPrereqError("Invalid spindles value: %s" % params["spindles"],
                                       errors.ECODE_INVAL)


def build_disks(opts) -> list[dict]:
    """The ``disks`` list of OP_INSTANCE_CREATE from ``--disk``/``-s``."""
    given = list(opts.disks or [])
    if opts.disk_template == C.DT_DISKLESS:
        if given or opts.sd_size is not None:
            raise errors.OpPrereqError("Diskless instance but disk information passed",
                                       errors.ECODE_INVAL)
        return []
    if given and opts.sd_size is not None:
        raise errors.OpPrereqError("Please use either the '--disk' or '-s' option",
                                   errors.ECODE_INVAL)
    if opts.sd_size is not None:
        given = [("0", {"size": opts.sd_size})]
    if not given:
        raise errors.OpPrereqError("No disk information specified", errors.ECODE_INVAL)
    items = _indexed(given, "disk", "disk")
    disks: list[dict] = [{}] * (max(idx for idx, _ in items) + 1)
    for didx, params in items:
        if "size" in params:
            if "adopt" in params:
                raise errors.OpPrereqError("Only one of 'size' and 'adopt' allowed (disk %d)"
                                           % didx, errors.ECODE_INVAL)
            params["size"] = _size(params["size"], didx)
        elif "adopt" in params:
            if "spindles" in params:
                raise errors.OpPrereqError("spindles is not a valid option when adopting a"
                                           " disk", errors.ECODE_INVAL)
            params["size"] = 0
        else:
            raise errors.OpPrereqError("Missing size or adoption source for disk %d" % didx,
                                       errors.ECODE_INVAL)
        _spindles(params)
        disks[didx] = params
    return disks


def build_nics(opts) -> list[dict]:
    """The ``nics`` list: from ``--net``, none with ``--no-nics``, else one default NIC."""
    given = list(opts.nics or [])
    if given:
        if opts.no_nics:
            raise errors.OpPrereqError("Cannot specify both --net and --no-nics",
                                       errors.ECODE_INVAL)
        items = _indexed(given, "NIC", "nic", quote="'")
        nics: list[dict] = [{}] * (max(idx for idx, _ in items) + 1)
        for nidx, params in items:
            nics[nidx] = params
        return nics
    if opts.no_nics:
        return []
    return [{}]


def build_create_opcode(opts, name: str) -> dict:
    """OP_INSTANCE_CREATE for ``gnt-instance add NAME``."""
    pnode, snode = split_node_option(opts.node)
    hypervisor, hvparams = None, {}
    if opts.hypervisor:
        hypervisor, hv_given = opts.hypervisor
        if not isinstance(hv_given, dict):
            raise errors.OpPrereqError("Cannot remove hypervisor parameters when creating"
                                       " an instance", errors.ECODE_INVAL)
        hvparams = coerce_hvparams(hv_given)
    op = {
        "OP_ID": "OP_INSTANCE_CREATE", "instance_name": name, "mode": "create",
        "disks": build_disks(opts), "disk_template": opts.disk_template,
        "nics": build_nics(opts), "pnode": pnode, "snode": snode,
        "group_name": opts.nodegroup, "iallocator": opts.iallocator,
        "conflicts_check": opts.conflicts_check, "ip_check": opts.ip_check,
        "name_check": opts.name_check, "wait_for_sync": opts.wait_for_sync,
        "file_storage_dir": opts.file_storage_dir, "file_driver": opts.file_driver,
        "hypervisor": hypervisor, "hvparams": hvparams,
        "beparams": coerce_beparams(opts.beparams),
        "osparams": dict(opts.osparams or {}),
        "osparams_private": dict(opts.osparams_private or {}),
        "osparams_secret": dict(opts.osparams_secret or {}),
        "os_type": opts.os, "force_variant": opts.force_variant, "start": opts.start,
        "no_install": opts.no_install, "identify_defaults": False,
        "opportunistic_locking": opts.opportunistic_locking,
        "ignore_ipolicy": opts.ignore_ipolicy,
        "tags": opts.tags.split(",") if opts.tags else [],
        "instance_communication": bool(opts.instance_communication),
    }
    if not opts.name_check and opts.ip_check:
        raise errors.OpPrereqError("Cannot do IP address check without a name check",
                                   errors.ECODE_INVAL)
    return op


# --- modify ---------------------------------------------------------------------------

def convert_mods(mods: list) -> list[list]:
    """``--disk``/``--net`` of modify as ``[action, identifier, params]`` triples.

    ``add``/``remove`` alone mean "at the end" (identifier -1, the legacy
    interface); ``N:add,...``, ``N:remove`` and ``N:modify,...`` (or just
    ``N:k=v``) act on item N (an index, name or UUID).
    """
    result = []
    for ident, params in mods:
        params = dict(params) if isinstance(params, dict) else {}
        if ident in _DDM_WORDS and ident != DDM_MODIFY:
            action, ident = ident, -1
        else:
            found = [word for word in _DDM_WORDS if word in params]
            for word in found:
                params.pop(word)
            if len(found) > 1:
                if DDM_MODIFY in found:
                    raise errors.OpPrereqError("Cannot modify and add/remove at the same"
                                               " time", errors.ECODE_INVAL)
                raise errors.OpPrereqError("Cannot add and remove at the same time",
                                           errors.ECODE_INVAL)
            action = found[0] if found else DDM_MODIFY
        if action in (DDM_REMOVE, DDM_DETACH) and params:
            raise errors.OpPrereqError("Not accepting parameters on removal/detach",
                                       errors.ECODE_INVAL)
        result.append([action, ident, params])
    return result


def parse_disk_sizes(mods: list[list]) -> list[list]:
    """Disk modifications with sizes in MiB; adding a disk needs a size."""
    for action, _ident, params in mods:
        _spindles(params)
        if "size" in params:
            params["size"] = _size(params["size"], -1 if not isinstance(_ident, int)
                                   else _ident)
        elif action == DDM_ADD:
            raise errors.OpPrereqError("Missing required parameter 'size'",
                                       errors.ECODE_INVAL)
    return mods


def _with_defaults(params: dict) -> dict:
    return {k: (C.VALUE_DEFAULT if isinstance(v, str) and v.lower() == C.VALUE_DEFAULT
                else v) for k, v in (params or {}).items()}


def build_modify_opcode(opts, name: str) -> dict | None:
    """OP_INSTANCE_SET_PARAMS for ``gnt-instance modify``; None when nothing was asked."""
    if not (opts.nics or opts.disks or opts.disk_template or opts.hvparams or
            opts.beparams or opts.os or opts.osparams or opts.osparams_private or
            opts.offline_inst or opts.online_inst or opts.runtime_mem or
            opts.new_primary_node or opts.instance_communication is not None):
        return None
    if opts.disk_template in _MIRRORED and not opts.node:
        raise errors.OpPrereqError("Changing the disk template to a mirrored one requires"
                                   " specifying a secondary node", errors.ECODE_INVAL)
    offline = True if opts.offline_inst else (False if opts.online_inst else None)
    op = {
        "OP_ID": "OP_INSTANCE_SET_PARAMS", "instance_name": name,
        "nics": convert_mods(opts.nics or []),
        "disks": parse_disk_sizes(convert_mods(opts.disks or [])),
        "hotplug": opts.hotplug, "hotplug_if_possible": opts.hotplug_if_possible,
        "disk_template": opts.disk_template, "ext_params": dict(opts.ext_params or {}),
        "file_driver": opts.file_driver, "file_storage_dir": opts.file_storage_dir,
        "remote_node": opts.node, "iallocator": opts.iallocator,
        "pnode": opts.new_primary_node,
        "hvparams": coerce_hvparams(_with_defaults(opts.hvparams)),
        "beparams": coerce_beparams(_with_defaults(opts.beparams)),
        "runtime_mem": opts.runtime_mem, "os_name": opts.os,
        "osparams": dict(opts.osparams or {}),
        "osparams_private": dict(opts.osparams_private or {}) or None,
        "force_variant": opts.force_variant, "force": opts.force,
        "wait_for_sync": opts.wait_for_sync, "offline": offline,
        "conflicts_check": opts.conflicts_check, "ignore_ipolicy": opts.ignore_ipolicy,
        "instance_communication": opts.instance_communication,
    }
    return op


# --- recreate-disks ---------------------------------------------------------------------

def build_recreate_opcode(opts, name: str) -> dict:
    """OP_INSTANCE_RECREATE_DISKS: ``--disk N[:size=..]`` pairs and ``-n`` nodes."""
    disks = []
    for ident, params in opts.disks or []:
        didx = _index(ident, "disk")
        if not isinstance(params, dict):
            raise errors.OpPrereqError("Invalid disk/%d value: expected dict, got %s" %
                                       (didx, params), errors.ECODE_INVAL)
        params = dict(params)
        if "size" in params:
            params["size"] = _size(params["size"], didx)
        _spindles(params)
        disks.append([didx, params])
    nodes: list[str] = []
    if opts.node:
        if opts.iallocator:
            raise errors.OpPrereqError("At most one of either --nodes or --iallocator can"
                                       " be passed", errors.ECODE_INVAL)
        pnode, snode = split_node_option(opts.node)
        nodes = [pnode] + ([snode] if snode else [])
    return {"OP_ID": "OP_INSTANCE_RECREATE_DISKS", "instance_name": name, "disks": disks,
            "nodes": nodes, "iallocator": opts.iallocator}
