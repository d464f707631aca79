"""Table-driven queries (query2): field definitions, filtering, rows.

Every queryable resource is one *field table*: a dict ``name -> Field``
where a :class:`Field` bundles the public definition (name, title, kind,
doc), the kind of data its value needs (so callers gather only what was
asked for, e.g. no node RPC for config-only fields), filter flags, and a
getter ``getter(ctx, item)``. :class:`Query` is the same for all of them,
so adding a resource means writing a table, nothing else.

A getter returns the value, or one of the sentinels :data:`NODATA`,
:data:`UNAVAIL`, :data:`OFFLINE` when there is no value to show; rows
carry ``[status, value]`` pairs (spec/fields.md §1).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, NamedTuple

from ganeti import constants, errors, opcodes, qlang
from ganeti.qlang import QFF_HOSTNAME, QFF_JOB_ID, QFF_SPLIT_TIMESTAMP  # noqa: F401
from ganeti.utils.text import nice_sort_key

RS_NORMAL = constants.RS_NORMAL
RS_UNKNOWN = constants.RS_UNKNOWN
RS_NODATA = constants.RS_NODATA
RS_UNAVAIL = constants.RS_UNAVAIL
RS_OFFLINE = constants.RS_OFFLINE

ALL_KINDS = frozenset([constants.QFT_TEXT, constants.QFT_BOOL, constants.QFT_NUMBER,
                       constants.QFT_NUMBER_FLOAT, constants.QFT_UNIT,
                       constants.QFT_TIMESTAMP, constants.QFT_OTHER])

_FIELD_NAME_RE = re.compile(r"^[a-z0-9/._]+$")
_TITLE_RE = re.compile(r"^\S+$")


class FieldDef(NamedTuple):
    """Public description of a field, as sent in query and list-fields answers."""

    name: str
    title: str
    kind: str
    doc: str

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "kind": self.kind, "doc": self.doc}


class Special:
    """A value that is not there: the row gets ``[status, None]``.

    Getters return the shared instances below instead of raising, so one
    offline node does not spoil a whole listing.
    """

    __slots__ = ("status",)

    def __init__(self, status: int):
        self.status = status

    def __repr__(self) -> str:
        return "<Special status=%d>" % self.status


NODATA = Special(RS_NODATA)      # could not be fetched (e.g. RPC failure)
UNAVAIL = Special(RS_UNAVAIL)    # not applicable to this item
OFFLINE = Special(RS_OFFLINE)    # the item's node is marked offline


class Field(NamedTuple):
    """One table entry: ``(fielddef, data_kind, flags, getter)``."""

    fdef: FieldDef
    data_kind: Any
    flags: int
    getter: Callable[[Any, Any], Any]


def make_field(name: str, title: str, kind: str, doc: str,
               getter: Callable[[Any, Any], Any], flags: int = 0,
               data_kind: Any = None) -> Field:
    """A table entry from its parts (``data_kind`` None: always available)."""
    return Field(FieldDef(name, title, kind, doc), data_kind, flags, getter)


def build_table(fields: Iterable[Field],
                aliases: Iterable[tuple[str, str]] = ()) -> dict[str, Field]:
    """Check a table's entries and index them by name.

    ``aliases`` are ``(alias, target)`` pairs: the alias answers exactly
    like the target (title and doc included) under its own name. Mistakes
    are programming errors and fail at import time.
    """
    table: dict[str, Field] = {}
    for field in fields:
        fdef = field.fdef
        if not _FIELD_NAME_RE.match(fdef.name):
            raise errors.ProgrammerError("Invalid field name %r" % (fdef.name,))
        if not _TITLE_RE.match(fdef.title):
            raise errors.ProgrammerError("Invalid title %r for field %s" %
                                         (fdef.title, fdef.name))
        if fdef.kind not in ALL_KINDS:
            raise errors.ProgrammerError("Invalid kind %r for field %s" %
                                         (fdef.kind, fdef.name))
        if not isinstance(fdef.doc, str) or fdef.doc != fdef.doc.strip():
            raise errors.ProgrammerError("Badly formatted doc for field %s" % fdef.name)
        if not callable(field.getter):
            raise errors.ProgrammerError("Getter of field %s is not callable" % fdef.name)
        if fdef.name in table:
            raise errors.ProgrammerError("Duplicate field name %s" % fdef.name)
        table[fdef.name] = field
    for alias, target in aliases:
        if alias in table or target not in table:
            raise errors.ProgrammerError("Bad alias %s -> %s" % (alias, target))
        entry = table[target]
        table[alias] = entry._replace(fdef=entry.fdef._replace(name=alias))
    return table


def make_simple_table(rows: Iterable[tuple]) -> dict[str, Field]:
    """Table of fields whose value is ``item[key]`` (items are dicts).

    Rows are ``(name, title, kind, doc, key)``; a missing key is shown
    as unavailable.
    """
    def getter(key: str) -> Callable[[Any, dict], Any]:
        return lambda ctx, item: item.get(key, UNAVAIL)
    return build_table(make_field(name, title, kind, doc, getter(key))
                       for name, title, kind, doc, key in rows)


def unknown_field_def(name: str) -> FieldDef:
    """What a query answers for a field name it does not know."""
    return FieldDef(name, name, constants.QFT_UNKNOWN, "Unknown field '%s'" % name)


def query_fields(fieldtable: dict[str, Field], names: list[str] | None) -> dict:
    """QueryFields answer: all fields in natural name order, or those named."""
    if names is None:
        defs = [fieldtable[n].fdef for n in sorted(fieldtable, key=nice_sort_key)]
    else:
        defs = [fieldtable[n].fdef if n in fieldtable else unknown_field_def(n)
                for n in names]
    return {"fields": [d.to_dict() for d in defs]}


_NAME_KEYS: dict[str, tuple] = {}
_NAME_KEYS_MAX = 200000


def _natural_key(value: Any) -> tuple:
    """Sort numbers numerically, strings naturally, anything else last."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, [])
    if isinstance(value, str):
        # names repeat from one listing to the next: keep their keys
        key = _NAME_KEYS.get(value)
        if key is None:
            if len(_NAME_KEYS) > _NAME_KEYS_MAX:
                _NAME_KEYS.clear()
            key = _NAME_KEYS[value] = (1, 0, nice_sort_key(value))
        return key
    return (2, 0, nice_sort_key(str(value)))


class Query:
    """One query: requested fields plus an optional filter over one table.

    The filter is checked when the query is built, so a bad filter is
    rejected before any data is gathered.
    """

    def __init__(self, fieldtable: dict[str, Field], fields: list[str], qfilter: Any = None,
                 namefield: str | None = "name",
                 sort_key: Callable[[Any], Any] | None = None):
        self._table = fieldtable
        self._fields = list(fields)
        self._namefield = namefield
        self._sort_key = sort_key
        self._qfilter = qfilter
        self._filter = qlang.compile_filter(fieldtable, qfilter)

    def requested_names(self) -> list | None:
        """Names the filter restricts the query to, or None for "all"."""
        if self._qfilter is None or self._namefield is None:
            return None
        return qlang.filter_names(self._qfilter, self._namefield)

    def requested_data(self) -> set:
        """Data kinds needed by the requested fields and by the filter."""
        names = set(self._fields) | qlang.filter_fields(self._qfilter)
        if self._namefield:
            names.add(self._namefield)
        return {self._table[n].data_kind for n in names
                if n in self._table and self._table[n].data_kind is not None}

    def get_fields(self) -> list[FieldDef]:
        return [self._table[n].fdef if n in self._table else unknown_field_def(n)
                for n in self._fields]

    def unknown_fields(self) -> list[str]:
        return [n for n in self._fields if n not in self._table]

    def _selected(self, ctx: Any, items: Iterable[Any]) -> list:
        chosen = [item for item in items if self._filter(ctx, item)]
        if self._sort_key is not None:
            chosen.sort(key=self._sort_key)
        elif self._namefield in self._table:
            getter = self._table[self._namefield].getter
            chosen.sort(key=lambda item: _natural_key(getter(ctx, item)))
        return chosen

    def query(self, ctx: Any, items: Iterable[Any]) -> list[list[list]]:
        """Rows of ``[status, value]`` for the items matching the filter."""
        getters = [self._table[n].getter if n in self._table else None
                   for n in self._fields]
        unknown = [RS_UNKNOWN, None]
        getters = [getter or (lambda _ctx, _item: unknown) for getter in getters]
        rows = []
        append = rows.append
        for item in self._selected(ctx, items):
            row = []
            for getter in getters:
                value = getter(ctx, item)
                if value is unknown:
                    row.append([RS_UNKNOWN, None])
                elif value.__class__ is Special:
                    row.append([value.status, None])
                else:
                    row.append([RS_NORMAL, value])
            append(row)
        return rows

    def result(self, ctx: Any, items: Iterable[Any]) -> dict:
        """The full query answer: ``{"fields": [...], "data": [...]}``."""
        return {"fields": [f.to_dict() for f in self.get_fields()],
                "data": self.query(ctx, items)}

    def old_style_query(self, ctx: Any, items: Iterable[Any]) -> list[list]:
        """Plain value rows for the legacy Query* calls (missing -> None)."""
        unknown = self.unknown_fields()
        if unknown:
            raise errors.OpPrereqError("Unknown output fields selected: %s" %
                                       ", ".join(unknown), errors.ECODE_INVAL)
        return [[value if status == RS_NORMAL else None for status, value in row]
                for row in self.query(ctx, items)]


# --- jobs ------------------------------------------------------------------------

def job_status(job: dict) -> str:
    """Job status derived from its opcodes' statuses (spec/jobs-opcodes.md §1).

    All success (vacuously so for no opcodes) -> success; otherwise the
    first canceling/error/canceled opcode decides, else the last
    waiting/running one, else the job is still queued.
    """
    status = constants.JOB_STATUS_QUEUED
    all_success = True
    for op in job.get("ops", []):
        op_status = op.get("status")
        if op_status == constants.OP_STATUS_SUCCESS:
            continue
        all_success = False
        if op_status in (constants.OP_STATUS_CANCELING, constants.OP_STATUS_ERROR,
                         constants.OP_STATUS_CANCELED):
            return op_status
        if op_status in (constants.OP_STATUS_WAITING, constants.OP_STATUS_RUNNING):
            status = op_status
    return constants.JOB_STATUS_SUCCESS if all_success else status


def job_priority(job: dict) -> int:
    """Current priority: the most urgent (lowest) of the unfinished opcodes.

    Once every opcode is finished the job reports the default priority,
    as Ganeti does.
    """
    pending = [op.get("priority", constants.OP_PRIO_DEFAULT) for op in job.get("ops", [])
               if op.get("status") not in constants.OPS_FINALIZED]
    return min(pending) if pending else constants.OP_PRIO_DEFAULT


haskell_show_double = opcodes.haskell_show_double


_SUMMARY_KEYS = ("instance_name", "node_name", "group_name", "network_name", "os_name",
                 "name")


def op_summary(op_input: Any) -> str:
    """``INSTANCE_STARTUP(inst1.example.com)``: OP_ID without ``OP_`` plus key param.

    The key parameter comes from the opcode table when the opcode is
    known, so it stays right for opcodes with several name parameters;
    unknown opcodes (e.g. from a newer job file) fall back to the usual
    name parameters. Input that is not an opcode at all is INVALID_OP.
    """
    if not isinstance(op_input, dict) or not isinstance(op_input.get("OP_ID"), str):
        return "INVALID_OP"
    op_id = op_input["OP_ID"]
    text = op_id[3:] if op_id.startswith("OP_") else op_id
    from ganeti import opcodes
    known = opcodes.OPCODE_TABLE.get(op_id)
    if known is not None:
        keys: tuple = (known[1],) if known[1] else ()
    else:
        keys = _SUMMARY_KEYS
    for key in keys:
        value = op_input.get(key)
        if value is None:
            continue
        if op_id == "OP_TEST_DELAY" and isinstance(value, (int, float)):
            value = haskell_show_double(value)
        return "%s(%s)" % (text, value)
    return text


# Parameters shown even when unset, as Ganeti 3.0's job queries do
_KEEP_NULL_PARAMS = frozenset(["comment", "depends"])


def _public_input(data: Any) -> Any:
    """An opcode as job queries show it: unset optional parameters left out."""
    if not isinstance(data, dict):
        return data
    return {k: v for k, v in data.items() if v is not None or k in _KEEP_NULL_PARAMS}


def _ops(key: str) -> Callable[[Any, dict], list]:
    return lambda ctx, job: [op.get(key) for op in job.get("ops", [])]


def _job(key: str) -> Callable[[Any, dict], Any]:
    return lambda ctx, job: job.get(key)


_TS_DOC = " (tuple containing seconds and microseconds)"
JOB_FIELDS: dict[str, Field] = build_table([
    make_field("archived", "Archived", constants.QFT_BOOL, "Whether job is archived",
               lambda ctx, job: bool(job.get("archived", False))),
    make_field("end_ts", "End", constants.QFT_OTHER, "Timestamp of job end" + _TS_DOC,
               _job("end_timestamp"), QFF_SPLIT_TIMESTAMP),
    make_field("id", "ID", constants.QFT_NUMBER, "Job ID", lambda ctx, job: int(job["id"]),
               QFF_JOB_ID),
    make_field("opend", "OpCode_end", constants.QFT_OTHER,
               "List of opcode execution end timestamps", _ops("end_timestamp")),
    make_field("opexec", "OpCode_exec", constants.QFT_OTHER,
               "List of opcode execution start timestamps (after acquiring locks)",
               _ops("exec_timestamp")),
    make_field("oplog", "OpCode_log", constants.QFT_OTHER, "List of opcode output logs",
               lambda ctx, job: [op.get("log") or [] for op in job.get("ops", [])]),
    make_field("oppriority", "OpCode_prio", constants.QFT_OTHER,
               "List of opcode priorities", _ops("priority")),
    make_field("opresult", "OpCode_result", constants.QFT_OTHER, "List of opcodes results",
               _ops("result")),
    make_field("ops", "OpCodes", constants.QFT_OTHER, "List of all opcodes",
               lambda ctx, job: [_public_input(op.get("input")) for op in job.get("ops", [])]),
    make_field("opstart", "OpCode_start", constants.QFT_OTHER,
               "List of opcode start timestamps (before acquiring locks)",
               _ops("start_timestamp")),
    make_field("opstatus", "OpCode_status", constants.QFT_OTHER, "List of opcodes status",
               _ops("status")),
    make_field("priority", "Priority", constants.QFT_NUMBER,
               "Current job priority (19 to -20)", lambda ctx, job: job_priority(job)),
    make_field("received_ts", "Received", constants.QFT_OTHER,
               "Timestamp of when job was received" + _TS_DOC, _job("received_timestamp"),
               QFF_SPLIT_TIMESTAMP),
    make_field("start_ts", "Start", constants.QFT_OTHER, "Timestamp of job start" + _TS_DOC,
               _job("start_timestamp"), QFF_SPLIT_TIMESTAMP),
    make_field("status", "Status", constants.QFT_TEXT, "Job status",
               lambda ctx, job: job_status(job)),
    make_field("summary", "Summary", constants.QFT_OTHER, "List of per-opcode summaries",
               lambda ctx, job: [op_summary(op.get("input")) for op in job.get("ops", [])]),
])
JOB_DEFAULT_FIELDS = ["id", "status", "summary"]


def job_sort_key(job: dict) -> int:
    """Jobs list in numeric id order."""
    return int(job["id"])


# --- locks -----------------------------------------------------------------------

LOCK_FIELDS: dict[str, Field] = build_table([
    make_field("name", "Name", constants.QFT_TEXT, "Lock name", lambda ctx, row: row[0]),
    make_field("mode", "Mode", constants.QFT_OTHER,
               "Mode in which the lock is currently acquired (exclusive or shared)",
               lambda ctx, row: row[1] if row[1] else UNAVAIL),
    make_field("owner", "Owner", constants.QFT_OTHER, "Current lock owner(s)",
               lambda ctx, row: list(row[2] or [])),
    make_field("pending", "Pending", constants.QFT_OTHER, "Jobs waiting for the lock",
               lambda ctx, row: [[mode, list(owners)] for mode, owners in row[3] or []]),
])
LOCK_DEFAULT_FIELDS = ["name", "mode", "owner", "pending"]
