"""Submitting opcodes and following jobs from the command line."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable

from ganeti import constants, errors


def get_client():
    from ganeti import luxi
    return luxi.Client()


def _reason(opts) -> list:
    now = time.time_ns()
    trail = [["gnt:client:%s" % opts.binary, opts.command, now]]
    if getattr(opts, "reason", None):
        trail.append(["gnt:user", opts.reason, now])
    return trail


def set_generic_opts(op: dict, opts) -> dict:
    """Apply --dry-run, --priority, --reason to an opcode dict."""
    op = dict(op)
    if getattr(opts, "dry_run", False):
        op["dry_run"] = True
    if getattr(opts, "priority", None) is not None:
        op["priority"] = opts.priority
    if getattr(opts, "debug", 0):
        op["debug_level"] = opts.debug
    op.setdefault("reason", _reason(opts))
    return op


def format_log_message(entry: list) -> str:
    _serial, ts, _kind, msg = entry
    if isinstance(msg, (list, tuple)):
        msg = " ".join(str(m) for m in msg)
    return "%s %s" % (time.ctime(ts[0]), msg)


def poll_job(client, job_id: int, feedback: Callable[[list], None] | None = None) -> list:
    """Wait for a job, printing its log; return the opcode results or raise."""
    prev_info = None
    prev_serial = None
    while True:
        ans = client.wait_for_job_change_once(job_id, ["status"], prev_info, prev_serial)
        if ans is None:
            raise errors.JobLost("Job with id %s lost" % job_id)
        if ans == "nochange":
            continue
        info, logs = ans
        for entry in logs:
            if feedback is not None:
                feedback(entry)
            else:
                print(format_log_message(entry))
            prev_serial = max(prev_serial or 0, entry[0])
        prev_info = info
        if info[0] in constants.JOBS_FINALIZED:
            break
    sys.stdout.flush()
    rows = client.query_jobs([job_id], ["status", "opstatus", "opresult"])
    if not rows or rows[0] is None:
        raise errors.JobLost("Job with id %s lost" % job_id)
    status, opstatus, opresult = rows[0]
    if status == constants.JOB_STATUS_SUCCESS:
        return opresult
    if status in (constants.JOB_STATUS_CANCELING, constants.JOB_STATUS_CANCELED):
        raise errors.OpExecError("Job was canceled")
    for index, (st, res) in enumerate(zip(opstatus, opresult, strict=True)):
        if st == constants.OP_STATUS_SUCCESS:
            continue
        if st == constants.OP_STATUS_CANCELED:
            raise errors.OpExecError("Opcode %d was canceled" % index)
        errors.maybe_raise(res)
        raise errors.OpExecError(str(res))
    raise errors.OpExecError("Job %s failed: %s" % (job_id, opresult))


def submit_opcodes(ops: list[dict], opts, client=None) -> Any:
    """Submit one job; with --submit print its id and return None."""
    client = client or get_client()
    ops = [set_generic_opts(op, opts) for op in ops]
    job_id = client.submit_job(ops)
    if getattr(opts, "submit_only", False):
        print("JobID: %s" % job_id)
        return None
    if getattr(opts, "print_jobid", False):
        print("%d" % job_id)
    return poll_job(client, job_id)


def submit_opcode(op: dict, opts, client=None) -> Any:
    result = submit_opcodes([op], opts, client)
    return None if result is None else result[0]


def wait_for_jobs_result(client, job_results: list) -> bool:
    """Follow jobs submitted by an LU ('Submitted jobs 9, 10'); True if all succeeded."""
    ids = [jid for ok, jid in job_results if ok]
    for ok, msg in job_results:
        if not ok:
            sys.stderr.write("Job submission failed: %s\n" % msg)
    print("Submitted jobs %s" % ", ".join(str(i) for i in ids))
    good = all(ok for ok, _ in job_results)
    for job_id in ids:
        print("Waiting for job %s ..." % job_id)
        try:
            results = poll_job(client, job_id)
            if any(r is False for r in results):
                good = False
        except errors.GenericError as err:
            from ganeti.cli.errors import format_error
            sys.stderr.write(format_error(err)[1] + "\n")
            good = False
    return good
