"""gnt-job: list, inspect, cancel, archive and follow jobs."""

from __future__ import annotations

import sys
import time

from ganeti import constants, errors
from ganeti.cli.base import Command, run
from ganeti.cli.options import LIST_OPTS

_STATUS_FILTERS = {
    "pending": [constants.JOB_STATUS_QUEUED, constants.JOB_STATUS_WAITING],
    "queued": [constants.JOB_STATUS_QUEUED],
    "waiting": [constants.JOB_STATUS_WAITING],
    "running": [constants.JOB_STATUS_RUNNING],
    "error": [constants.JOB_STATUS_ERROR],
    "finished": sorted(constants.JOBS_FINALIZED),
}


def _client():
    from ganeti.cli import jobs
    return jobs.get_client()


def _job_ids(args: list[str]) -> list[int]:
    out = []
    for arg in args:
        try:
            out.append(int(arg))
        except ValueError:
            raise errors.OpPrereqError("Invalid job ID passed: '%s'" % arg, errors.ECODE_INVAL)
    return out


def list_jobs(opts, args):
    from ganeti.cli import listing
    extra = None
    if opts.status_filter:
        statuses = _STATUS_FILTERS[opts.status_filter]
        extra = ["|"] + [["==", "status", s] for s in statuses]
    if opts.archived:
        arch = ["?", "archived"]
        extra = arch if extra is None else ["&", extra, arch]
    return listing.generic_list(opts, args, constants.QR_JOB, ["id", "status", "summary"],
                                namefield="id", isnumeric=True, extra_filter=extra)


def list_fields(opts, args):
    from ganeti.cli import listing
    return listing.generic_list_fields(opts, args, constants.QR_JOB)


def _fmt_ts(ts) -> str:
    if not isinstance(ts, (list, tuple)) or len(ts) != 2:
        return "N/A"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts[0])) + ".%06d" % ts[1]


def _ts_float(ts) -> float:
    return ts[0] + ts[1] / 1e6


def _dump(value, indent: int, out: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        for key in sorted(value):
            item = value[key]
            if isinstance(item, (dict, list)):
                out.append("%s%s: " % (pad, key))
                _dump(item, indent + 2, out)
            else:
                out.append("%s%s: %s" % (pad, key, item))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)):
                sub: list[str] = []
                _dump(item, indent + 2, sub)
                if sub:
                    first = sub[0][indent + 2:]
                    out.append("%s- %s" % (pad, first))
                    out.extend(sub[1:])
                else:
                    out.append("%s- " % pad)
            else:
                out.append("%s- %s" % (pad, item))


def show_job_info(opts, args):
    fields = ["id", "ops", "status", "received_ts", "start_ts", "end_ts", "opstatus",
              "oplog", "opstart", "opexec", "opend", "opresult"]
    rows = _client().query_jobs(_job_ids(args), fields)
    out: list[str] = []
    for job_id, row in zip(_job_ids(args), rows, strict=True):
        if row is None:
            out.append("Job ID %s not found" % job_id)
            continue
        (jid, ops, status, recv, start, end, opstatus, oplog, opstart, opexec, opend,
         opresult) = row
        out.append("- Job ID: %s" % jid)
        out.append("  Status: %s" % status)
        out.append("  Received:         %s" % _fmt_ts(recv))
        if start:
            out.append("  Processing start: %s (delta %.6fs)" % (
                _fmt_ts(start), _ts_float(start) - _ts_float(recv)))
        else:
            out.append("  Processing start: unknown (not started)")
        if end:
            delta = _ts_float(end) - _ts_float(start) if start else 0
            out.append("  Processing end:   %s (delta %.6fs)" % (_fmt_ts(end), delta))
            out.append("  Total processing time: %.6f seconds" % (
                _ts_float(end) - _ts_float(recv)))
        else:
            out.append("  Processing end:   unknown (not finished)")
            out.append("  Total processing time: N/A")
        out.append("  Opcodes: ")
        for op, st, log, o_start, o_exec, o_end, res in zip(
                ops, opstatus, oplog, opstart, opexec, opend, opresult, strict=True):
            out.append("    - Opcode: %s" % op.get("OP_ID"))
            out.append("      Status: %s" % st)
            out.append("      Processing start: %s" % _fmt_ts(o_start))
            out.append("      Execution start:  %s" % _fmt_ts(o_exec))
            out.append("      Processing end:   %s" % _fmt_ts(o_end))
            out.append("      Input fields: ")
            _dump(op, 8, out)
            if isinstance(res, (dict, list)):
                out.append("      Result: ")
                _dump(res, 8, out)
            else:
                out.append("      Result: %s" % res)
            out.append("      Execution log: ")
            for serial, ts, kind, msg in log:
                out.append("        - Time: %s" % _fmt_ts(ts))
                out.append("          Content: %s" % (msg,))
                out.append("          Type: %s" % kind)
                out.append("          Serial: %s" % serial)
    print("\n".join(out))
    return 0


def _selected(opts, args) -> list[int]:
    if opts.status_filter:
        statuses = _STATUS_FILTERS[opts.status_filter]
        rows = _client().query(constants.QR_JOB, ["id"],
                               ["|"] + [["==", "status", s] for s in statuses])["data"]
        return [r[0][1] for r in rows]
    if not args:
        raise errors.OpPrereqError("No job IDs given", errors.ECODE_INVAL)
    return _job_ids(args)


def _for_each_job(opts, args, action) -> int:
    """Apply ``action(client, job_id) -> [ok, message]`` to the selected jobs."""
    client = _client()
    code = 0
    for job_id in _selected(opts, args):
        ok, msg = action(client, job_id)
        print(msg)
        if not ok:
            code = constants.EXIT_FAILURE
    return code


def cancel_jobs(opts, args):
    if opts.kill and not opts.yes_do_it:
        raise errors.OpPrereqError("Killing running jobs needs --yes-do-it", errors.ECODE_INVAL)
    return _for_each_job(opts, args, lambda c, j: c.cancel_job(j, opts.kill))


def change_priority(opts, args):
    if opts.priority is None:
        raise errors.OpPrereqError("A new priority must be given", errors.ECODE_INVAL)
    return _for_each_job(opts, args, lambda c, j: c.change_job_priority(j, opts.priority))


def archive_jobs(opts, args):
    client = _client()
    code = 0
    for job_id in _job_ids(args):
        if not client.archive_job(job_id):
            sys.stderr.write("Failed to archive job %s\n" % job_id)
            code = constants.EXIT_FAILURE
    return code


def autoarchive(opts, args):
    from ganeti.cli.kvparse import parse_timespec
    age = -1 if args[0] == "all" else parse_timespec(args[0])
    archived, left = _client().auto_archive_jobs(age, 60)
    print("Archived %s jobs, %s unchecked left" % (archived, left))
    return 0


def watch_job(opts, args):
    from ganeti.cli import jobs
    job_id = _job_ids(args)[0]
    client = _client()
    rows = client.query_jobs([job_id], ["status"])
    if not rows or rows[0] is None:
        raise errors.OpPrereqError("Job %s not found" % job_id, errors.ECODE_NOENT)
    print("Output from job %s follows" % job_id)
    print("------------------------" + "-" * len(str(job_id)))
    jobs.poll_job(client, job_id)
    return 0


def wait_job(opts, args):
    from ganeti.cli import jobs
    job_id = _job_ids(args)[0]
    jobs.poll_job(_client(), job_id, feedback=lambda entry: None)
    return 0


COMMANDS = {
    "list": Command(list_jobs, "[<job-id>...]",
                    LIST_OPTS + ["pending", "running", "error", "finished", "archived"],
                    "Lists the jobs and their status"),
    "list-fields": Command(list_fields, "[<fields>...]", ["no_headers", "separator"],
                           "Lists all available fields for jobs"),
    "info": Command(show_job_info, "<job-id>...", [], "Show detailed information about the"
                    " specified jobs", min_args=1),
    "cancel": Command(cancel_jobs, "{[--force] [--kill --yes-do-it] {--pending | --queued |"
                      " --waiting | <job-id> [<job-id> ...]}}",
                      ["force", "kill", "yes_do_it", "pending", "queued", "waiting"],
                      "Cancel jobs"),
    "change-priority": Command(change_priority, "--priority <priority> {[--force] {--pending |"
                               " --queued | --waiting | <job-id> [<job-id> ...]}}",
                               ["priority", "force", "pending", "queued", "waiting"],
                               "Change the priority of jobs"),
    "archive": Command(archive_jobs, "<job-id> [<job-id> ...]", [],
                       "Archive specified jobs", min_args=1),
    "autoarchive": Command(autoarchive, "<age>", [], "Auto archive jobs older than the given"
                           " age", min_args=1, max_args=1),
    "watch": Command(watch_job, "<job-id>", [], "Follows a job and prints its output as it"
                     " arrives", min_args=1, max_args=1),
    "wait": Command(wait_job, "<job-id>", [], "Wait for a job to finish", min_args=1,
                    max_args=1),
}
ALIASES = {"show": "info"}


def main(argv=None) -> int:
    return run("gnt-job", COMMANDS, ALIASES, argv)
