"""In-memory jobs and their on-disk JSON form.

A job lives in memory as :class:`QueuedJob` (mutable, changed by workers
under the queue lock) and is published as an immutable *view*: a plain dict
in exactly the on-disk format (``{"id", "ops", "start_timestamp", ...}``).
Views are what gets written to ``job-<id>`` and what queries and
``WaitForJobChange`` read, so that nobody sees a state that is not on disk.

The opcode input dicts never change after submission, so their JSON text is
computed once and spliced into every later serialisation of the job.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ganeti import constants, opcodes

C = constants

#: key order of a job file and of an opcode inside it (as Ganeti 3.0 writes them)
JOB_KEYS = ("id", "ops", "start_timestamp", "end_timestamp", "received_timestamp")
OP_KEYS = ("input", "status", "result", "log", "start_timestamp", "exec_timestamp",
           "end_timestamp", "priority")

MSG_CANCELED = "Job canceled by request"
MSG_PRECEDING_FAILED = "Preceding opcode failed"
MSG_UNCLEAN_SHUTDOWN = "Unclean master daemon shutdown"

_dumps = json.JSONEncoder().encode   # upstream's separators: ", " and ": "


def timestamp(now: float | None = None) -> list[int]:
    """``[seconds, microseconds]`` as stored in job files."""
    if now is None:
        now = time.time()
    usec = int(round(now * 1000000))
    return [usec // 1000000, usec % 1000000]


def exec_error(msg: str) -> list:
    """An encoded ``OpExecError`` (the result of an opcode that failed)."""
    return ["OpExecError", [msg]]


def order_input(data: dict) -> dict:
    """Opcode input in upstream's key order: own params, common params, OP_ID.

    Only cosmetic, but it makes our job files diff cleanly against Ganeti's.
    """
    op_id = data["OP_ID"]
    out: dict = {}
    for name in [p[0] for p in opcodes.OPCODE_TABLE[op_id][0]] + \
            [p[0] for p in opcodes.COMMON_PARAMS]:
        if name in data:
            out[name] = data[name]
    for key, value in data.items():
        if key not in out and key != "OP_ID":
            out[key] = value
    out["OP_ID"] = op_id
    return out


def job_status_of(statuses: list[str]) -> str:
    """Job status from opcode statuses (spec/jobs-opcodes.md §1)."""
    if statuses and all(s == C.OP_STATUS_SUCCESS for s in statuses):
        return C.JOB_STATUS_SUCCESS
    status = C.JOB_STATUS_QUEUED
    for s in statuses:
        if s in (C.OP_STATUS_CANCELING, C.OP_STATUS_ERROR, C.OP_STATUS_CANCELED):
            return s
        if s in (C.OP_STATUS_WAITING, C.OP_STATUS_RUNNING):
            status = s
    return status


class QueuedOpCode:
    """One opcode of a job with its execution state."""

    __slots__ = ("input", "input_json", "status", "result", "log", "priority",
                 "start_timestamp", "exec_timestamp", "end_timestamp")

    def __init__(self, data: dict, status: str = C.OP_STATUS_QUEUED):
        self.input = data
        self.input_json: str | None = None
        self.status = status
        self.result: Any = None
        self.log: list = []
        prio = data.get("priority") if isinstance(data, dict) else None
        self.priority = prio if isinstance(prio, int) else C.OP_PRIO_DEFAULT
        self.start_timestamp: list | None = None
        self.exec_timestamp: list | None = None
        self.end_timestamp: list | None = None

    def view(self) -> dict:
        return {"input": self.input, "status": self.status, "result": self.result,
                "log": list(self.log), "start_timestamp": self.start_timestamp,
                "exec_timestamp": self.exec_timestamp, "end_timestamp": self.end_timestamp,
                "priority": self.priority}

    def finalize(self, status: str, result: Any, now: list[int]) -> None:
        self.status = status
        self.result = result
        self.end_timestamp = now

    @classmethod
    def from_dict(cls, data: dict) -> "QueuedOpCode":
        op = cls(data["input"], data["status"])
        if op.status not in C.JOB_STATUS_ALL:
            raise ValueError("invalid opcode status %r" % (op.status,))
        op.result = data.get("result")
        op.log = [list(e) for e in data.get("log") or []]
        prio = data.get("priority", op.priority)
        op.priority = prio if isinstance(prio, int) else C.OP_PRIO_DEFAULT
        op.start_timestamp = data.get("start_timestamp")
        op.exec_timestamp = data.get("exec_timestamp")
        op.end_timestamp = data.get("end_timestamp")
        return op


class QueuedJob:
    """A job in memory: mutable state plus the last durable view.

    Scheduling flags (``running``, ``in_heap``, ``cancel_requested`` ...) are
    never written to disk; after a restart they are derived from the
    statuses again (the restart rule).
    """

    __slots__ = ("id", "ops", "received_timestamp", "start_timestamp", "end_timestamp",
                 "extra", "log_serial", "running", "in_heap", "cancel_requested",
                 "kill_requested", "archiving", "new", "view", "durable_status", "cond",
                 "waiters")

    def __init__(self, job_id: int, ops: list[QueuedOpCode],
                 received: list[int] | None = None):
        self.id = job_id
        self.ops = ops
        self.received_timestamp = received if received is not None else timestamp()
        self.start_timestamp: list | None = None
        self.end_timestamp: list | None = None
        self.extra: dict = {}          # unknown keys of a loaded file, kept on rewrite
        self.log_serial = 0
        self.running = False           # a worker owns the job right now
        self.in_heap = False           # has a valid entry in the scheduling heap
        self.cancel_requested = False
        self.kill_requested = False
        self.archiving = False         # archive move requested: no more writes
        self.new = True                # not yet acknowledged (first write pending)
        self.view: dict | None = None  # last durable view (None: not yet on disk)
        self.durable_status: str | None = None
        self.cond = None               # per-job Condition, created by the first waiter
        self.waiters = 0

    # -- state --------------------------------------------------------
    def status(self) -> str:
        return job_status_of([op.status for op in self.ops])

    def finalized(self) -> bool:
        return all(op.status in C.OPS_FINALIZED for op in self.ops)

    def priority(self) -> int:
        """Minimum priority of the unfinished opcodes (the job's priority)."""
        pending = [op.priority for op in self.ops if op.status not in C.OPS_FINALIZED]
        if pending:
            return min(pending)
        return self.ops[-1].priority if self.ops else C.OP_PRIO_DEFAULT

    def first_unfinished(self) -> int | None:
        for index, op in enumerate(self.ops):
            if op.status not in C.OPS_FINALIZED:
                return index
        return None

    def add_log(self, op: QueuedOpCode, msg_type: str, msg: Any) -> list:
        self.log_serial += 1
        entry = [self.log_serial, timestamp(), msg_type, msg]
        op.log.append(entry)
        return entry

    def finish_from(self, start: int, status: str, result: Any) -> None:
        """Finalize every unfinished opcode from ``start`` on; end the job."""
        now = timestamp()
        for op in self.ops[start:]:
            if op.status not in C.OPS_FINALIZED:
                op.finalize(status, result, now)
        if self.finalized():
            self.end_timestamp = now

    def mark_unclean(self) -> None:
        """Restart rule: unfinished opcodes of an interrupted job become errors."""
        self.finish_from(0, C.OP_STATUS_ERROR, exec_error(MSG_UNCLEAN_SHUTDOWN))

    # -- views and serialisation ------------------------------------------
    def make_view(self) -> dict:
        """Snapshot in the on-disk format; the caller holds the queue lock."""
        view = {"id": self.id, "ops": [op.view() for op in self.ops],
                "start_timestamp": self.start_timestamp,
                "end_timestamp": self.end_timestamp,
                "received_timestamp": self.received_timestamp}
        if self.extra:
            view.update(self.extra)
        return view

    def encode_view(self, view: dict) -> bytes:
        """JSON text of a view, reusing the cached JSON of the opcode inputs."""
        parts = []
        for op, opview in zip(self.ops, view["ops"], strict=True):
            if op.input_json is None:
                op.input_json = _dumps(op.input)
            rest = _dumps({k: v for k, v in opview.items() if k != "input"})
            parts.append('{"input": ' + op.input_json + ", " + rest[1:])
        tail = _dumps({k: v for k, v in view.items() if k not in ("id", "ops")})
        text = '{"id": %d, "ops": [%s], %s\n' % (view["id"], ", ".join(parts), tail[1:])
        return text.encode("utf-8")

    @classmethod
    def from_dict(cls, data: dict) -> "QueuedJob":
        """Load a job file's content (ours or Ganeti 3.0's)."""
        if not isinstance(data, dict) or not isinstance(data.get("ops"), list) \
                or not data["ops"]:
            raise ValueError("not a job: missing or empty 'ops'")
        job = cls(int(data["id"]), [QueuedOpCode.from_dict(op) for op in data["ops"]],
                  data.get("received_timestamp"))
        job.start_timestamp = data.get("start_timestamp")
        job.end_timestamp = data.get("end_timestamp")
        job.extra = {k: v for k, v in data.items() if k not in JOB_KEYS}
        job.log_serial = max([e[0] for op in job.ops for e in op.log
                              if e and isinstance(e[0], int)] or [0])
        job.new = False
        return job
