"""Submitting opcodes and following jobs from the command line.

A command builds opcode dicts and hands them here; this module adds the
generic options (--dry-run, --priority, --reason, -d), submits over LUXI,
and either prints the job id (--submit) or follows the job with
WaitForJobChange, printing its log as timestamped lines, until it ends.
A failed job is turned back into the exception it carries, so the
command's top level prints it like any local error.
"""

from __future__ import annotations

import sys
import time

from ganeti import constants, errors
from ganeti.cli.base import JobSubmitted

TYPE_CHECKING = False   # typing costs ~10 ms of every command's start-up
if TYPE_CHECKING:
    from typing import Any, Callable


def get_client():
    """A LUXI client for the master (FORCE_LUXI_SOCKET honoured by luxi)."""
    from ganeti import luxi
    return luxi.Client()


def set_generic_opts(op: dict, opts: Any) -> dict:
    """Copy of ``op`` with -d, --dry-run, --priority and the reason trail applied.

    The reason trail starts with the user's --reason (if any), then
    ``gnt:client:<program>`` with the subcommand as typed, like upstream.
    """
    op = dict(op)
    if opts is None:
        return op
    op["debug_level"] = int(getattr(opts, "debug", 0) or 0)
    if hasattr(opts, "dry_run"):
        op["dry_run"] = bool(opts.dry_run)
    priority = getattr(opts, "priority", None)
    if priority is not None:
        op["priority"] = priority
    now = time.time_ns()
    trail = []
    reason = getattr(opts, "reason", None)
    if reason:
        trail.append(["gnt:user", reason, now])
    binary = getattr(opts, "binary", None)
    if binary:
        trail.append(["gnt:client:%s" % binary,
                      getattr(opts, "command_typed", None) or getattr(opts, "command", ""),
                      now])
    op["reason"] = trail
    return op


def safe_encode(text: str) -> str:
    """Make a message safe for a terminal: control and non-ASCII characters escaped."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\t":
            out.append("\\t")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif code < 32 or code == 127:
            out.append("\\x%02x" % code)
        elif code > 127:
            out.append(ch.encode("ascii", "backslashreplace").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def format_log_message(log_type: str, message: Any) -> str:
    """A job log message as text (non-"message" types are shown as their str())."""
    if log_type != constants.ELOG_MESSAGE or not isinstance(message, str):
        message = str(message)
    return safe_encode(message)


def format_log_entry(entry: list) -> str:
    """One log entry as printed while following a job: ctime, then the message."""
    _serial, ts, log_type, message = entry
    when = ts[0] + ts[1] / 1e6 if isinstance(ts, (list, tuple)) else float(ts)
    return "%s %s" % (time.ctime(when), format_log_message(log_type, message))


class StdioReporter:
    """Prints job log lines on stdout and "waiting" notes on stderr (upstream's manner)."""

    def __init__(self):
        self._noted_queued = False
        self._noted_waiting = False

    def log(self, job_id: int, entry: list) -> None:
        print(format_log_entry(entry), flush=True)

    def not_changed(self, job_id: int, status: str | None) -> None:
        if status == constants.JOB_STATUS_QUEUED and not self._noted_queued:
            sys.stderr.write("Job %s is waiting in queue\n" % job_id)
            self._noted_queued = True
        elif status == constants.JOB_STATUS_WAITING and not self._noted_waiting:
            sys.stderr.write("Job %s is trying to acquire all necessary locks\n" % job_id)
            self._noted_waiting = True


class FeedbackReporter:
    """Hands each log entry to a function (``lambda e: None`` makes a silent wait)."""

    def __init__(self, fn: Callable[[list], None]):
        self._fn = fn

    def log(self, job_id: int, entry: list) -> None:
        self._fn(entry)

    def not_changed(self, job_id: int, status: str | None) -> None:
        pass


def poll_job(client, job_id: int, feedback: Callable[[list], None] | None = None,
             reporter: Any = None) -> list:
    """Follow a job until it ends; return the opcode results or raise its error.

    Upstream semantics: a canceled job raises, a failed opcode's encoded
    exception is re-raised (an OpExecError mentions partial failure when
    earlier opcodes succeeded).
    """
    if reporter is None:
        reporter = FeedbackReporter(feedback) if feedback is not None else StdioReporter()
    prev_info = None
    prev_serial = None
    status = None
    while True:
        ans = client.wait_for_job_change_once(job_id, ["status"], prev_info, prev_serial)
        if not ans:
            raise errors.JobLost("Job with id %s lost" % job_id)
        if ans == "nochange":
            reporter.not_changed(job_id, status)
            continue
        info, logs = ans
        status = info[0]
        if logs:
            for entry in logs:
                reporter.log(job_id, entry)
                prev_serial = entry[0] if prev_serial is None else max(prev_serial, entry[0])
        elif status in constants.JOBS_FINALIZED or status == constants.JOB_STATUS_CANCELING:
            break
        prev_info = info
    sys.stdout.flush()
    rows = client.query_jobs([job_id], ["status", "opstatus", "opresult"])
    if not rows or rows[0] is None:
        raise errors.JobLost("Job with id %s lost" % job_id)
    status, opstatus, opresult = rows[0]
    if status == constants.JOB_STATUS_SUCCESS:
        return opresult
    if status in (constants.JOB_STATUS_CANCELING, constants.JOB_STATUS_CANCELED):
        raise errors.OpExecError("Job was canceled")
    has_ok = False
    for index, (st, res) in enumerate(zip(opstatus or [], opresult or [], strict=False)):
        if st == constants.OP_STATUS_SUCCESS:
            has_ok = True
        elif st == constants.OP_STATUS_ERROR:
            errors.maybe_raise(res)
            if has_ok:
                raise errors.OpExecError("partial failure (opcode %d): %s" % (index, res))
            raise errors.OpExecError(str(res))
    raise errors.OpExecError(str(opresult))


def send_job(ops: list[dict], opts: Any, client=None) -> int:
    """Submit without waiting; --print-jobid prints the id first."""
    client = client or get_client()
    job_id = client.submit_job([set_generic_opts(op, opts) for op in ops])
    if getattr(opts, "print_jobid", False):
        print("%d" % job_id, flush=True)
    return job_id


def submit_opcodes(ops: list[dict], opts: Any, client=None, reporter: Any = None,
                   feedback: Callable[[list], None] | None = None) -> list:
    """Submit one job and wait for it; return all opcode results.

    With --submit (``opts.submit_only``) the command stops after sending,
    showing "JobID: N" (see base.JobSubmitted), whichever helper it used.
    """
    client = client or get_client()
    job_id = send_job(ops, opts, client)
    if getattr(opts, "submit_only", False):
        raise JobSubmitted(job_id)
    return poll_job(client, job_id, feedback=feedback, reporter=reporter)


def submit_opcode(op: dict, opts: Any, client=None, reporter: Any = None,
                  feedback: Callable[[list], None] | None = None) -> Any:
    """Submit a one-opcode job, wait, and return that opcode's result."""
    return submit_opcodes([op], opts, client, reporter, feedback)[0]


def submit_or_send(op: dict, opts: Any, client=None,
                   feedback: Callable[[list], None] | None = None) -> Any:
    """--submit: send and stop the command with "JobID: N"; else submit and wait."""
    return submit_opcode(op, opts, client, feedback=feedback)


def wait_for_jobs(client, jobs: list, names: list[str | None] | None = None,
                  verbose: bool = True, reporter_factory: Callable[[], Any] | None = None
                  ) -> list[tuple[bool, Any]]:
    """Follow several submitted jobs: ``jobs`` are ``[ok, id-or-error]`` pairs.

    Prints "Submitted jobs 9, 10" (when verbose) and "Waiting for job N ..."
    before each, as upstream's job executor does; returns ``(success,
    result-or-error-text)`` per job in submission order.
    """
    from ganeti.cli.errors import format_error
    names = names or [None] * len(jobs)

    def _for(name):
        return " for %s" % name if name else ""

    results: list[tuple[bool, Any]] = [(False, None)] * len(jobs)
    if verbose:
        ok_ids = [str(value) for ok, value in jobs if ok]
        if ok_ids:
            print("Submitted jobs %s" % ", ".join(ok_ids), flush=True)
    for index, ((ok, value), name) in enumerate(zip(jobs, names, strict=True)):
        if not ok:
            sys.stderr.write("Failed to submit job%s: %s\n" % (_for(name), value))
            results[index] = (False, value)
    for index, ((ok, job_id), name) in enumerate(zip(jobs, names, strict=True)):
        if not ok:
            continue
        print("Waiting for job %s%s ..." % (job_id, _for(name)), flush=True)
        reporter = reporter_factory() if reporter_factory else None
        try:
            results[index] = (True, poll_job(client, job_id, reporter=reporter))
        except errors.JobLost as err:
            sys.stderr.write("Job %s%s has been archived, cannot check its result\n" %
                             (job_id, _for(name)))
            results[index] = (False, format_error(err)[1])
        except errors.GenericError as err:
            text = format_error(err)[1]
            sys.stderr.write("Job %s%s has failed: %s\n" % (job_id, _for(name), text))
            results[index] = (False, text)
    return results


def wait_for_jobs_result(client, job_results: list) -> bool:
    """Follow LU-submitted jobs ("Submitted jobs 9, 10"); True if all succeeded."""
    results = wait_for_jobs(client, job_results)
    return all(ok and not any(r is False for r in res) for ok, res in results)
