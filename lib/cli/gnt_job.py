"""gnt-job: list, inspect, follow, cancel, reprioritise and archive jobs."""

from __future__ import annotations

import sys

from ganeti import constants, errors
from ganeti.cli.base import Command, run

TYPE_CHECKING = False   # typing costs ~10 ms of every command's start-up
if TYPE_CHECKING:
    from typing import Any

_LIST_DEF_FIELDS = ["id", "status", "summary"]
_STATUS_OPTS = ["pending", "queued", "waiting"]


def _client():
    from ganeti.cli import jobs
    return jobs.get_client()


def _parse_job_ids(args: list[str]) -> list[int]:
    try:
        return [int(arg) for arg in args]
    except ValueError as err:
        raise errors.OpPrereqError("Invalid job ID passed: %s" % err, errors.ECODE_INVAL)


def _format_summary(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return str(value)


def _format_ts_list(value: Any) -> str:
    from ganeti.cli.base import format_timestamp
    if isinstance(value, (list, tuple)):
        return str([format_timestamp(ts) for ts in value])
    return str(value)


_JOB_LIST_FORMAT = {
    "summary": (_format_summary, False),
    "opstart": (_format_ts_list, False),
    "opexec": (_format_ts_list, False),
    "opend": (_format_ts_list, False),
}


def list_jobs(opts, args) -> int:
    """List jobs; --pending etc. filter on status, --archived includes the archive."""
    from ganeti.cli import listing
    fields = listing.parse_fields(opts.output, _LIST_DEF_FIELDS)
    if opts.archived and "archived" not in fields:
        # asking for the "archived" field is what makes the master read the archive
        fields.append("archived")
    return listing.generic_list(opts, args, constants.QR_JOB, _LIST_DEF_FIELDS,
                                namefield="id", isnumeric=True,
                                extra_filter=listing.make_simple_filter(
                                    "status", opts.status_filter),
                                format_override=_JOB_LIST_FORMAT, fields=fields)


def list_fields(opts, args) -> int:
    from ganeti.cli import listing
    return listing.generic_list_fields(opts, args, constants.QR_JOB)


def _delta(from_ts: list, to_ts: list) -> float:
    return to_ts[0] - from_ts[0] + (to_ts[1] - from_ts[1]) / 1000000.0


def _job_ts(name: str, ts: Any, container: list, prior: Any = None) -> None:
    from ganeti.cli.base import format_timestamp
    if ts is not None:
        delta = ""
        if prior is not None:
            delta = " (delta %.6fs)" % _delta(prior, ts)
        container.append((name, "%s%s" % (format_timestamp(ts), delta), "job_timestamp"))
    else:
        container.append((name, "unknown (%s)" % (ts,), "job_timestamp"))


def _op_ts(name: str, ts: Any, container: list) -> None:
    from ganeti.cli.base import format_timestamp
    text = format_timestamp(ts) if isinstance(ts, (list, tuple)) else "N/A"
    container.append((name, text, "opcode_timestamp"))


def job_info_data(rows: list) -> list:
    """Query rows (fields of ``INFO_FIELDS``) as generic-info data (one entry per job)."""
    from ganeti.cli.base import format_timestamp
    from ganeti.cli.jobs import format_log_message
    out: list = []
    for row in rows:
        values = [value for _, value in row]
        (job_id, status, ops, opresult, opstatus, oplog, opstart, opexec, opend, recv_ts,
         start_ts, end_ts) = values
        if row[1][0] != constants.RS_NORMAL:
            out.append("Job ID %s not found" % job_id)
            continue
        info: list = [("Job ID", job_id), ("Status", status)]
        _job_ts("Received", recv_ts, info)
        _job_ts("Processing start", start_ts, info, prior=recv_ts)
        _job_ts("Processing end", end_ts, info, prior=start_ts)
        if end_ts is not None and recv_ts is not None:
            info.append(("Total processing time", "%.6f seconds" % _delta(recv_ts, end_ts)))
        else:
            info.append(("Total processing time", "N/A"))
        opcodes = []
        for opcode, result, op_status, log, s_ts, x_ts, e_ts in zip(
                ops or [], opresult or [], opstatus or [], oplog or [], opstart or [],
                opexec or [], opend or [], strict=False):
            op_info: list = [("Opcode", opcode.get("OP_ID") if isinstance(opcode, dict)
                              else opcode), ("Status", op_status)]
            _op_ts("Processing start", s_ts, op_info)
            _op_ts("Execution start", x_ts, op_info)
            _op_ts("Processing end", e_ts, op_info)
            op_info.append(("Input fields", opcode))
            op_info.append(("Result", result))
            exec_log = []
            for serial, log_ts, log_type, log_msg in log or []:
                exec_log.append([("Time", format_timestamp(log_ts)),
                                 ("Content", (serial, log_type,
                                              format_log_message(log_type, log_msg)))])
            op_info.append(("Execution log", exec_log))
            opcodes.append(op_info)
        info.append(("Opcodes", opcodes))
        out.append(info)
    return out


INFO_FIELDS = ["id", "status", "ops", "opresult", "opstatus", "oplog", "opstart", "opexec",
               "opend", "received_ts", "start_ts", "end_ts"]


def show_job_info(opts, args) -> int:
    """Everything about the given jobs, in the generic info format."""
    from ganeti.cli import listing
    from ganeti.cli.base import print_generic_info
    qfilter = listing.make_simple_filter("id", _parse_job_ids(args))
    rows = _client().query(constants.QR_JOB, INFO_FIELDS, qfilter)["data"]
    print_generic_info(job_info_data(rows))
    return 0


def _multi_job_action(opts, args, question: str, action) -> int:
    """Apply ``action(client, job_id) -> [ok, message]`` to IDs or a status selection.

    With a status option the matching jobs are listed and must be confirmed
    (unless -f); a declined confirmation exits 13 like upstream.
    """
    from ganeti.cli import listing, table
    from ganeti.cli.base import ask_user
    client = _client()
    status_filter = getattr(opts, "status_filter", None)
    if bool(args) == (status_filter is not None):
        raise errors.OpPrereqError("Either a status filter or job ID(s) must be specified"
                                   " and never both", errors.ECODE_INVAL)
    if status_filter is not None:
        response = client.query(constants.QR_JOB, _LIST_DEF_FIELDS,
                                listing.make_simple_filter("status", status_filter))
        job_ids = [row[0][1] for row in response["data"]]
        if not job_ids:
            raise errors.OpPrereqError("No jobs with the requested status have been found",
                                       errors.ECODE_STATE)
        if not opts.force:
            fdefs, rows = listing.apply_format_override(response["fields"], response["data"],
                                                        _JOB_LIST_FORMAT)
            _, lines = table.format_query_result(fdefs, rows)
            sys.stdout.write("".join(line + "\n" for line in lines))
            if not ask_user(question):
                return constants.EXIT_CONFIRMATION
    else:
        job_ids = _parse_job_ids(args)
    code = constants.EXIT_SUCCESS
    for job_id in job_ids:
        ok, msg = action(client, job_id)
        if not ok:
            code = constants.EXIT_FAILURE
        print(msg)
    return code


def cancel_jobs(opts, args) -> int:
    if opts.kill:
        if not opts.yes_do_it:
            raise errors.OpPrereqError("The --kill option must be confirmed with --yes-do-it",
                                       errors.ECODE_INVAL)
        name = "KILL"
    else:
        name = "Cancel"
    return _multi_job_action(opts, args, "%s job(s) listed above?" % name,
                             lambda cl, job_id: cl.cancel_job(job_id, opts.kill))


def change_priority(opts, args) -> int:
    if opts.priority is None:
        sys.stderr.write("--priority option must be given.\n")
        return constants.EXIT_FAILURE
    return _multi_job_action(opts, args, "Change priority of job(s) listed above?",
                             lambda cl, job_id: cl.change_job_priority(job_id, opts.priority))


def archive_jobs(opts, args) -> int:
    client = _client()
    code = constants.EXIT_SUCCESS
    for job_id in _parse_job_ids(args):
        if not client.archive_job(job_id):
            sys.stderr.write("Failed to archive job with ID '%s'\n" % job_id)
            code = constants.EXIT_FAILURE
    return code


def autoarchive(opts, args) -> int:
    from ganeti.cli.kvparse import parse_timespec
    age = -1 if args[0] == "all" else parse_timespec(args[0])
    archived, left = _client().auto_archive_jobs(age, constants.LUXI_WFJC_TIMEOUT)
    print("Archived %s jobs, %s unchecked left" % (archived, left))
    return 0


def _follow(job_id: int, feedback=None) -> int:
    from ganeti.cli import jobs
    from ganeti.cli.errors import format_error
    try:
        jobs.poll_job(_client(), job_id, feedback=feedback)
    except errors.GenericError as err:
        if isinstance(err, errors.NoMasterError):
            raise
        code, text = format_error(err)
        sys.stderr.write("Job %s failed: %s\n" % (job_id, text))
        return code
    return constants.EXIT_SUCCESS


def watch_job(opts, args) -> int:
    """Print a job's log as it arrives until the job ends; its failure is the exit code."""
    job_id = _parse_job_ids(args)[0]
    msg = "Output from job %s follows" % job_id
    print(msg)
    print("-" * len(msg), flush=True)
    return _follow(job_id)


def wait_job(opts, args) -> int:
    """Block silently until the job ends; exit 0 only if it succeeded."""
    return _follow(_parse_job_ids(args)[0], feedback=lambda entry: None)


COMMANDS = {
    "list": Command(list_jobs, "[<job-id>...]",
                    ["no_headers", "separator", "output", "verbose", "filter", "pending",
                     "running", "error", "finished", "archived"],
                    "Lists the jobs and their status. The available fields can be shown"
                    " using the \"list-fields\" command (see the man page for details)."
                    " The default field list is (in order): %s." %
                    ", ".join(_LIST_DEF_FIELDS)),
    "list-fields": Command(list_fields, "[fields...]", ["no_headers", "separator"],
                           "Lists all available fields for jobs"),
    "archive": Command(archive_jobs, "<job-id> [<job-id> ...]", [],
                       "Archive specified jobs", min_args=1),
    "autoarchive": Command(autoarchive, "<age>", [],
                           "Auto archive jobs older than the given age", min_args=1,
                           max_args=1),
    "cancel": Command(cancel_jobs, "{[--force] [--kill --yes-do-it] {--pending | --queued |"
                      " --waiting | <job-id> [<job-id> ...]}}",
                      ["force", "kill", "yes_do_it"] + _STATUS_OPTS, "Cancel jobs"),
    "info": Command(show_job_info, "<job-id> [<job-id> ...]", [],
                    "Show detailed information about the specified jobs", min_args=1),
    "wait": Command(wait_job, "<job-id>", [], "Wait for a job to finish", min_args=1,
                    max_args=1),
    "watch": Command(watch_job, "<job-id>", [],
                     "Follows a job and prints its output as it arrives", min_args=1,
                     max_args=1),
    "change-priority": Command(change_priority, "--priority <priority> {[--force] {--pending"
                               " | --queued | --waiting | <job-id> [<job-id> ...]}}",
                               ["force", "priority"] + _STATUS_OPTS,
                               "Change the priority of jobs"),
}
ALIASES = {"show": "info"}


def main(argv: list[str] | None = None) -> int:
    return run("gnt-job", COMMANDS, ALIASES, argv, env_override=frozenset())
