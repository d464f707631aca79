"""Table-driven queries (query2): field definitions, filtering, rows.

A resource is a dict ``name -> Field``; a field knows its definition
(name, title, kind, doc), how to get its value from an item, and flags
(e.g. hostname matching for filters). :class:`Query` turns a field list
and a filter into ``{"fields": [...], "data": [[[status, value], ...]]}``.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from ganeti import constants, errors
from ganeti.utils.text import nice_sort_key

RS_NORMAL = constants.RS_NORMAL
RS_UNKNOWN = constants.RS_UNKNOWN
RS_NODATA = constants.RS_NODATA
RS_UNAVAIL = constants.RS_UNAVAIL
RS_OFFLINE = constants.RS_OFFLINE

QFF_HOSTNAME = 0x01   # filter "==" matches short names against FQDNs
QFF_JOB_ID = 0x02
QFF_SPLIT_TIMESTAMP = 0x04


class FieldDef(NamedTuple):
    name: str
    title: str
    kind: str
    doc: str

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "kind": self.kind, "doc": self.doc}


class Special:
    """A non-normal result status (no data, unavailable, offline)."""

    __slots__ = ("status",)

    def __init__(self, status: int):
        self.status = status


NODATA = Special(RS_NODATA)
UNAVAIL = Special(RS_UNAVAIL)
OFFLINE = Special(RS_OFFLINE)


class Field(NamedTuple):
    fdef: FieldDef
    getter: Callable[[Any, Any], Any]
    flags: int = 0


def make_field(name: str, title: str, kind: str, doc: str,
               getter: Callable[[Any, Any], Any], flags: int = 0) -> Field:
    return Field(FieldDef(name, title, kind, doc), getter, flags)


def make_simple_table(rows: list[tuple]) -> dict[str, Field]:
    """Fields whose value is ``item[key]`` (items are dicts)."""
    table = {}
    for name, title, kind, doc, key in rows:
        table[name] = make_field(name, title, kind, doc,
                                 lambda ctx, item, _k=key: item.get(_k))
    return table


def _unknown_def(name: str) -> FieldDef:
    return FieldDef(name, name, constants.QFT_UNKNOWN, "Unknown field '%s'" % name)


def query_fields(table: dict[str, Field], names: list[str] | None) -> dict:
    if names is None:
        defs = [table[n].fdef for n in sorted(table)]
    else:
        defs = [table[n].fdef if n in table else _unknown_def(n) for n in names]
    return {"fields": [d.to_dict() for d in defs]}


class Query:
    """One query: field list + optional filter over one resource table."""

    def __init__(self, table: dict[str, Field], fields: list[str], qfilter: Any = None,
                 namefield: str | None = "name", sort_key: Callable[[Any], Any] | None = None):
        self._table = table
        self._fields = list(fields)
        self._namefield = namefield
        self._sort_key = sort_key
        self._filter = None
        if qfilter is not None:
            from ganeti import qlang
            self._filter = qlang.compile_filter(table, qfilter)
        self._qfilter = qfilter

    def requested_names(self) -> list | None:
        if self._qfilter is None or self._namefield is None:
            return None
        from ganeti import qlang
        return qlang.filter_names(self._qfilter, self._namefield)

    def get_fields(self) -> list[FieldDef]:
        return [self._table[n].fdef if n in self._table else _unknown_def(n)
                for n in self._fields]

    def unknown_fields(self) -> list[str]:
        return [n for n in self._fields if n not in self._table]

    def _selected(self, ctx: Any, items: list) -> list:
        items = list(items)
        if self._filter is not None:
            items = [it for it in items if self._filter(ctx, it)]
        if self._sort_key is not None:
            items.sort(key=self._sort_key)
        elif self._namefield in self._table:
            getter = self._table[self._namefield].getter
            items.sort(key=lambda it: nice_sort_key(str(getter(ctx, it))))
        return items

    def query(self, ctx: Any, items: list) -> list[list[list]]:
        getters = [self._table[n].getter if n in self._table else None for n in self._fields]
        out = []
        for item in self._selected(ctx, items):
            row = []
            for getter in getters:
                if getter is None:
                    row.append([RS_UNKNOWN, None])
                    continue
                value = getter(ctx, item)
                if isinstance(value, Special):
                    row.append([value.status, None])
                else:
                    row.append([RS_NORMAL, value])
            out.append(row)
        return out

    def old_style_query(self, ctx: Any, items: list) -> list[list]:
        unknown = self.unknown_fields()
        if unknown:
            raise errors.OpPrereqError("Unknown output fields selected: %s" %
                                       ", ".join(unknown), errors.ECODE_INVAL)
        return [[value for _, value in row] for row in self.query(ctx, items)]


# -- jobs ---------------------------------------------------------------

def job_status(job: dict) -> str:
    """Job status from its opcode statuses (spec/jobs-opcodes.md §1)."""
    statuses = [op.get("status") for op in job.get("ops", [])]
    if statuses and all(s == constants.JOB_STATUS_SUCCESS for s in statuses):
        return constants.JOB_STATUS_SUCCESS
    status = constants.JOB_STATUS_QUEUED
    for s in statuses:
        if s in (constants.JOB_STATUS_CANCELING, constants.JOB_STATUS_ERROR,
                 constants.JOB_STATUS_CANCELED):
            return s
        if s in (constants.JOB_STATUS_WAITING, constants.JOB_STATUS_RUNNING):
            status = s
    return status


def job_priority(job: dict) -> int:
    ops = job.get("ops", [])
    pending = [op.get("priority", 0) for op in ops
               if op.get("status") not in constants.OPS_FINALIZED]
    if pending:
        return min(pending)
    return ops[-1].get("priority", 0) if ops else constants.OP_PRIO_DEFAULT


def _op_summary(op: dict) -> str:
    from ganeti import opcodes
    return opcodes.summary_of(op.get("input", {}))


def _ops_list(key: str) -> Callable[[Any, dict], Any]:
    return lambda ctx, job: [op.get(key) for op in job.get("ops", [])]


_JOB_ROWS = [
    ("archived", "Archived", constants.QFT_BOOL, "Whether job is archived",
     lambda ctx, j: bool(j.get("archived", False))),
    ("end_ts", "End", constants.QFT_OTHER, "Timestamp of job end (tuple containing seconds"
     " and microseconds)", lambda ctx, j: j.get("end_timestamp")),
    ("id", "ID", constants.QFT_NUMBER, "Job ID", lambda ctx, j: j["id"]),
    ("opend", "OpCode_end", constants.QFT_OTHER, "List of opcode execution end timestamps",
     _ops_list("end_timestamp")),
    ("opexec", "OpCode_exec", constants.QFT_OTHER, "List of opcode execution start timestamps"
     " (after acquiring locks)", _ops_list("exec_timestamp")),
    ("oplog", "OpCode_log", constants.QFT_OTHER, "List of opcode output logs",
     _ops_list("log")),
    ("oppriority", "OpCode_prio", constants.QFT_OTHER, "List of opcode priorities",
     _ops_list("priority")),
    ("opresult", "OpCode_result", constants.QFT_OTHER, "List of opcodes results",
     _ops_list("result")),
    ("ops", "OpCodes", constants.QFT_OTHER, "List of all opcodes", _ops_list("input")),
    ("opstart", "OpCode_start", constants.QFT_OTHER, "List of opcode start timestamps (before"
     " acquiring locks)", _ops_list("start_timestamp")),
    ("opstatus", "OpCode_status", constants.QFT_OTHER, "List of opcodes status",
     _ops_list("status")),
    ("priority", "Priority", constants.QFT_NUMBER, "Current job priority (19 to -20)",
     lambda ctx, j: job_priority(j)),
    ("received_ts", "Received", constants.QFT_OTHER, "Timestamp of when job was received"
     " (tuple containing seconds and microseconds)", lambda ctx, j: j.get("received_timestamp")),
    ("start_ts", "Start", constants.QFT_OTHER, "Timestamp of job start (tuple containing"
     " seconds and microseconds)", lambda ctx, j: j.get("start_timestamp")),
    ("status", "Status", constants.QFT_TEXT, "Job status", lambda ctx, j: job_status(j)),
    ("summary", "Summary", constants.QFT_OTHER, "List of per-opcode summaries",
     lambda ctx, j: [_op_summary(op) for op in j.get("ops", [])]),
]
JOB_FIELDS: dict[str, Field] = {
    name: make_field(name, title, kind, doc, getter,
                     QFF_JOB_ID if name == "id" else
                     QFF_SPLIT_TIMESTAMP if name.endswith("_ts") else 0)
    for name, title, kind, doc, getter in _JOB_ROWS}
JOB_DEFAULT_FIELDS = ["id", "status", "summary"]

LOCK_FIELDS: dict[str, Field] = {
    "name": make_field("name", "Name", constants.QFT_TEXT, "Lock name", lambda c, r: r[0]),
    "mode": make_field("mode", "Mode", constants.QFT_OTHER, "Mode in which the lock is"
                       " currently acquired (exclusive or shared)",
                       lambda c, r: r[1] if r[1] else UNAVAIL),
    "owner": make_field("owner", "Owner", constants.QFT_OTHER, "Current lock owner(s)",
                        lambda c, r: r[2] or UNAVAIL),
    "pending": make_field("pending", "Pending", constants.QFT_OTHER, "Jobs waiting for the"
                          " lock", lambda c, r: [[m, o] for m, o in r[3]] or UNAVAIL),
}
