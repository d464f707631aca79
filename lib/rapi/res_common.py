"""Helpers shared by the RAPI resource modules (``res_*.py``).

Most write resources are "take the body, add what the URL says, check it
against the opcode table, submit". That mapping is described as data
(:class:`OpBinding`) so each resource module only lists its bindings,
and the same data produces the OpenAPI body schema. The few resources
with legacy quirks (instance creation, reinstall, node role, ...) use the
lower-level helpers here (:func:`fill_opcode`, :func:`submit`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ganeti import constants, errors, opcodes
from ganeti.rapi.base import Context, Method, RapiError, RawJson
from ganeti.utils.text import nice_sort_key

#: Names in URLs (instances, nodes, groups, networks): host-name-like
#: words. Anything with a slash, a leading dot or control characters is
#: refused before it reaches the master, so ``../x`` can never become a
#: path anywhere down the line.
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+:@=-]{0,254}$")

#: Fields returned for one instance (GET /2/instances/I, bulk list), in
#: the order of the reference output (Ganeti 3.0).
INSTANCE_FIELDS = [
    "name", "admin_state", "os", "pnode", "snodes", "disk_template", "nic.ips", "nic.macs",
    "nic.modes", "nic.uuids", "nic.names", "nic.links", "nic.networks", "nic.networks.names",
    "nic.bridges", "network_port", "disk.sizes", "disk.spindles", "disk_usage", "disk.uuids",
    "disk.names", "beparams", "hvparams", "oper_state", "oper_ram", "oper_vcpus", "status",
    "custom_hvparams", "custom_beparams", "custom_nicparams", "ctime", "mtime", "uuid",
    "serial_no", "tags",
]

NODE_FIELDS = [
    "name", "offline", "master_candidate", "drained", "dtotal", "dfree", "sptotal", "spfree",
    "mtotal", "mnode", "mfree", "pinst_cnt", "sinst_cnt", "ctotal", "cnos", "cnodes",
    "csockets", "pip", "sip", "role", "pinst_list", "sinst_list", "master_capable",
    "vm_capable", "ndparams", "group.uuid", "ctime", "mtime", "uuid", "serial_no", "tags",
]

GROUP_FIELDS = [
    "alloc_policy", "name", "node_cnt", "node_list", "ipolicy", "custom_ipolicy", "diskparams",
    "custom_diskparams", "ndparams", "custom_ndparams", "ctime", "mtime", "uuid", "serial_no",
    "tags",
]

JOB_FIELDS = ["id", "ops", "status", "summary", "opstatus", "received_ts", "start_ts",
              "end_ts"]
JOB_DETAIL_FIELDS = JOB_FIELDS + ["oplog", "opresult"]

#: How long a handler that needs a job's result (``/2/os``) waits for it.
JOB_WAIT_TIMEOUT = 120.0


# -- URL parameters -------------------------------------------------------------------

def check_name(kind: str, value: Any) -> str:
    """A name from the URL, refused (400) unless it looks like a name."""
    if not isinstance(value, str) or not _NAME_RE.match(value) or ".." in value:
        raise RapiError(400, "Invalid %s name '%s'" % (kind, value))
    return value


def int_param(what: str, value: Any, minimum: int = 0) -> int:
    """An integer from the URL or a query argument (job ids, disk indices)."""
    try:
        number = int(str(value), 10)
    except ValueError:
        raise RapiError(400, "Invalid %s '%s' (expected an integer)" % (what, value))
    if number < minimum:
        raise RapiError(400, "Invalid %s '%s' (must be at least %d)" % (what, value, minimum))
    return number


#: capture name in a path template -> how its value is checked/converted
PATH_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "instance_name": lambda v: check_name("instance", v),
    "node_name": lambda v: check_name("node", v),
    "group_name": lambda v: check_name("group", v),
    "network_name": lambda v: check_name("network", v),
    "job_id": lambda v: int_param("job id", v),
    "disk_index": lambda v: int_param("disk index", v),
}


def path_value(ctx: Context, capture: str) -> Any:
    value = ctx.params.get(capture)
    if value is None:
        raise RapiError(400, "Missing URL parameter '%s'" % capture)
    return PATH_CONVERTERS.get(capture, lambda v: v)(value)


def require_query(ctx: Context, name: str) -> str:
    value = ctx.query_str(name)
    if value is None or value == "":
        raise RapiError(400, "Missing the required '%s' query argument" % name)
    return value


def check_no_lock(ctx: Context) -> None:
    """``lock=1``: queries are served from snapshots; as with luxid, refuse it."""
    if ctx.query_bool("lock"):
        raise RapiError(400, "Sync queries are not allowed")


# -- opcodes --------------------------------------------------------------------------

def require_opcode(op_id: str) -> None:
    if op_id not in opcodes.OPCODE_TABLE:
        raise RapiError(501, "Operation %s is not supported by this cluster"
                        % op_id)


def apply_renames(body: dict, renames: dict[str, str]) -> None:
    """Old body names (``os``) to opcode names (``os_type``); both given: 400."""
    for old, new in renames.items():
        if old in body:
            if new in body:
                raise RapiError(400, "Parameters '%s' and '%s' are the same; give only one"
                                % (old, new))
            body[new] = body.pop(old)


def fill_opcode(op_id: str, body: Any, static: dict | None = None,
                renames: dict[str, str] | None = None,
                transform: Callable[[dict], None] | None = None) -> dict:
    """Validated opcode dict from a request body plus URL-derived values.

    Static values come from the URL or query; the body may not override
    them (400). Unknown parameters and wrong types are 400s naming the
    parameter, so nothing bad ever reaches the job queue.
    """
    require_opcode(op_id)
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise RapiError(400, "Invalid body contents, expected a JSON object")
    params = dict(body)
    if "OP_ID" in params:
        raise RapiError(400, "The body may not contain 'OP_ID'")
    apply_renames(params, renames or {})
    if transform is not None:
        transform(params)
    static = static or {}
    clash = sorted(set(static) & set(params))
    if clash:
        raise RapiError(400, "Static parameters can not be overridden: %s" % ", ".join(clash))
    params.update(static)
    try:
        op = opcodes.OpCode(op_id, **params)
        op.validate(set_defaults=False)
    except errors.OpPrereqError as err:
        raise RapiError(400, str(err.args[0]))
    return op.to_dict()


@dataclass(frozen=True)
class OpBinding:
    """How one resource method turns a request into one opcode.

    ``path``: opcode parameter -> path capture; ``query_bools`` /
    ``query_strs``: query argument -> opcode parameter (taken when given);
    ``forced``: values always set; ``query_defaults``: values used when
    the query argument is absent (reboot ``type``); all of them are static
    (not allowed in the body). ``renames``: body name -> opcode name;
    ``transform`` edits the renamed body (legacy value formats).
    ``body=False`` ignores the body (upstream's startup ignores it too).
    """

    op_id: str
    path: dict[str, str] = field(default_factory=dict)
    renames: dict[str, str] = field(default_factory=dict)
    query_bools: dict[str, str] = field(default_factory=dict)
    query_strs: dict[str, str] = field(default_factory=dict)
    forced: dict[str, Any] = field(default_factory=dict)
    query_defaults: dict[str, Any] = field(default_factory=dict)
    transform: Callable[[dict], None] | None = None
    body: bool = True

    def static(self, ctx: Context) -> dict:
        values: dict[str, Any] = dict(self.query_defaults)
        for param, capture in self.path.items():
            values[param] = path_value(ctx, capture)
        for arg, param in self.query_bools.items():
            if arg in ctx.query:
                values[param] = ctx.query_bool(arg)
        for arg, param in self.query_strs.items():
            if arg in ctx.query:
                values[param] = ctx.query_str(arg)
        values.update(self.forced)
        return values

    def build(self, ctx: Context) -> dict:
        body = ctx.body if self.body else None
        return fill_opcode(self.op_id, body, self.static(ctx), self.renames, self.transform)

    def query_args(self) -> tuple[str, ...]:
        return ("dry-run", "reason") + tuple(self.query_bools) + tuple(self.query_strs)

    def body_schema(self) -> dict | None:
        if not self.body:
            return None
        hidden = set(self.path) | set(self.forced) | set(self.query_bools.values()) \
            | set(self.query_strs.values()) | set(self.query_defaults)
        return opcode_schema(self.op_id, hidden, self.renames)


def binding_handler(binding: OpBinding) -> Callable[[Context], int]:
    """The handler of a resource that is exactly one opcode."""
    def handler(ctx: Context) -> int:
        return ctx.submit([binding.build(ctx)])

    handler.__doc__ = "Submit %s built from the request." % binding.op_id
    return handler


# -- JSON schemas (OpenAPI) -----------------------------------------------------------

JOB_ID_SCHEMA = {"type": "integer", "description": "Job ID"}
NULL_SCHEMA = {"type": "null"}


def schema_for_check(check: Any) -> dict:
    """A JSON schema approximating an ``ht`` check, from its description."""
    desc = getattr(check, "desc", "any value")
    nullable = desc.startswith("None or ")
    core = desc[len("None or "):] if nullable else desc
    if core.startswith("one of "):
        values = [v.strip() for v in core[len("one of "):].split(",")]
        schema: dict = {"enum": values}
    elif core.startswith("list"):
        schema = {"type": "array"}
    elif core.startswith("dict"):
        schema = {"type": "object"}
    elif core in ("boolean",):
        schema = {"type": "boolean"}
    elif "integer" in core and " or " not in core:
        schema = {"type": "integer"}
    elif core.endswith("number"):
        schema = {"type": "number"}
    elif core.endswith("string"):
        schema = {"type": "string"}
    else:
        schema = {}
    if nullable and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    schema["description"] = desc
    return schema


def opcode_schema(op_id: str, hidden: set[str] | frozenset = frozenset(),
                  renames: dict[str, str] | None = None) -> dict:
    """Body schema of an opcode-backed resource (unknown keys are refused)."""
    if op_id not in opcodes.OPCODE_TABLE:
        return {"type": "object"}
    props: dict[str, dict] = {}
    required: list[str] = []
    for name, default, check, doc in opcodes.params_of(op_id):
        if name in hidden or name == "reason" or name == "dry_run":
            continue
        schema = schema_for_check(check)
        schema["description"] = doc
        props[name] = schema
        if default is opcodes.REQ:
            required.append(name)
    for old, new in (renames or {}).items():
        if new in props:
            props[old] = dict(props[new], description="Old name of '%s'" % new)
    out: dict = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    return out


def list_schema(key: str) -> dict:
    return {"type": "array", "items": {"type": "object", "properties": {
        key: {"type": "string"}, "uri": {"type": "string"}}}}


# -- queries and jobs -----------------------------------------------------------------

def name_filter(names: list[str] | None) -> list | None:
    if names is None:
        return None
    return ["|"] + [["==", "name", name] for name in names]


#: resources with a plain-rows LUXI call (QueryInstances & co.): half the
#: objects to decode of Query's [status, value] cells, which counts for bulk lists
_PLAIN_ROWS = {constants.QR_INSTANCE: "query_instances", constants.QR_NODE: "query_nodes",
               constants.QR_GROUP: "query_groups"}


def bulk_items(ctx: Context, what: str, fields: list[str], view: str | None = None) -> Any:
    """Every item of a resource as dicts: JSON text made by masterd when it can."""
    if what in _PLAIN_ROWS:
        try:
            return RawJson(ctx.luxi().query_items_json(what, [], fields, view))
        except errors.OpPrereqError as err:
            if (err.args[1] if len(err.args) > 1 else None) != errors.ECODE_INVAL:
                raise
    items = query_dicts(ctx, what, fields)
    if view is not None:
        from ganeti.cmdlib.query import ITEM_VIEWS
        items = [ITEM_VIEWS[view](item) for item in items]
    return items


def query_dicts(ctx: Context, what: str, fields: list[str],
                names: list[str] | None = None) -> list[dict]:
    """Items as dicts over LUXI; unknown/unavailable values become null."""
    if what in _PLAIN_ROWS:
        try:
            rows = getattr(ctx.luxi(), _PLAIN_ROWS[what])(list(names or []), fields, False)
        except errors.OpPrereqError as err:
            ecode = err.args[1] if len(err.args) > 1 else None
            if names and ecode == errors.ECODE_NOENT:
                return []
            if ecode != errors.ECODE_INVAL:     # unknown fields: Query tells them apart
                raise
        else:
            return [dict(zip(fields, row, strict=False)) for row in rows]
    result = ctx.luxi().query(what, fields, name_filter(names))
    rows = result.get("data", []) if isinstance(result, dict) else []
    out = []
    for row in rows:
        values = [cell[1] if isinstance(cell, list) and len(cell) == 2 and cell[0] == 0
                  else None for cell in row]
        out.append(dict(zip(fields, values, strict=False)))
    return out


def query_one(ctx: Context, what: str, fields: list[str], name: str) -> dict:
    """One item; 404 with the upstream body when it doesn't exist."""
    items = query_dicts(ctx, what, fields, [name])
    if not items:
        raise RapiError(404, "Not Found", "Nothing matches the given URI")
    return items[0]


def name_list(ctx: Context, what: str, key: str, prefix: str) -> list[dict]:
    """Non-bulk list answers: ``[{key: name, "uri": prefix + name}, ...]``, nice-sorted."""
    names = [item["name"] for item in query_dicts(ctx, what, ["name"])
             if isinstance(item.get("name"), str)]
    return [{key: name, "uri": prefix + name} for name in sorted(names, key=nice_sort_key)]


def wait_for_job(ctx: Context, job_id: int, timeout: float = JOB_WAIT_TIMEOUT) -> list:
    """Block until the job is finished; its ``[status, opresult]``."""
    client = ctx.luxi()
    deadline = time.monotonic() + timeout
    info = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RapiError(504, "Timeout while waiting for job %s" % job_id)
        answer = client.wait_for_job_change_once(job_id, ["status"], info, None,
                                                 min(remaining, 10.0))
        if answer is None:
            raise RapiError(502, "Job %s disappeared" % job_id)
        if answer != "nochange":
            info = answer[0]
            if info and info[0] in constants.JOBS_FINALIZED:
                break
    rows = client.query_jobs([job_id], ["status", "opresult"])
    if not rows or rows[0] is None:
        raise RapiError(502, "Job %s disappeared" % job_id)
    return rows[0]


# -- tags -----------------------------------------------------------------------------

TAGS_SCHEMA = {"type": "array", "items": {"type": "string"}}


def _tag_target(ctx: Context, capture: str | None) -> str | None:
    return None if capture is None else path_value(ctx, capture)


def _tags_from_query(ctx: Context, verb: str) -> list[str]:
    tags = ctx.query_list("tag")
    if not tags:
        raise RapiError(400, "Please specify tag(s) to %s using the 'tag' parameter" % verb)
    return tags


def tag_methods(kind: str, capture: str | None) -> dict[str, Method]:
    """GET/PUT/DELETE of the tags of one object (``capture``: its path parameter)."""

    def get_tags(ctx: Context) -> list:
        """Tags are read directly over LUXI: no job needed."""
        return ctx.luxi().query_tags(kind, _tag_target(ctx, capture))

    def add_tags(ctx: Context) -> int:
        """Tags come from repeated ``tag=`` query arguments, as upstream."""
        op = fill_opcode("OP_TAGS_SET", None, {"kind": kind, "name": _tag_target(ctx, capture),
                                                "tags": _tags_from_query(ctx, "add")})
        return ctx.submit([op])

    def del_tags(ctx: Context) -> int:
        """Same as adding: the tags are query arguments."""
        op = fill_opcode("OP_TAGS_DEL", None, {"kind": kind, "name": _tag_target(ctx, capture),
                                                "tags": _tags_from_query(ctx, "delete")})
        return ctx.submit([op])

    what = "the cluster" if capture is None else "a %s" % kind
    return {
        "GET": Method(get_tags, "Tags of %s" % what, returns=TAGS_SCHEMA),
        "PUT": Method(add_tags, "Add tags to %s" % what, query_args=("tag", "dry-run", "reason"),
                      returns=JOB_ID_SCHEMA, job=True),
        "DELETE": Method(del_tags, "Remove tags from %s" % what,
                         query_args=("tag", "dry-run", "reason"), returns=JOB_ID_SCHEMA, job=True),
    }


def binding_method(binding: OpBinding, summary: str, query_args: tuple[str, ...] = (),
                   returns: dict | None = None) -> Method:
    """A Method whose handler submits exactly ``binding``'s opcode."""
    return Method(binding_handler(binding), summary,
                  query_args=tuple(dict.fromkeys(binding.query_args() + query_args)),
                  body=binding.body_schema(), returns=returns or JOB_ID_SCHEMA, job=True)
