"""gnt-debug: delay, submit-job, locks."""

from __future__ import annotations

import json
import sys
import time

from ganeti import constants, errors
from ganeti.cli.base import Command, run
from ganeti.cli.options import JOB_OPTS, LIST_OPTS


def delay(opts, args):
    from ganeti.cli import jobs
    try:
        duration = float(args[0])
    except ValueError:
        raise errors.OpPrereqError("Invalid duration '%s'" % args[0], errors.ECODE_INVAL)
    op = {"OP_ID": "OP_TEST_DELAY", "duration": duration, "on_master": opts.on_master,
          "on_nodes": opts.nodes or [], "repeat": opts.repeat,
          "interruptible": opts.interruptible, "no_locks": opts.no_locks}
    jobs.submit_opcode(op, opts)
    return 0


def submit_job(opts, args):
    from ganeti.cli import jobs
    client = jobs.get_client()
    job_defs = []
    for path in args:
        try:
            with open(path) as fh:
                ops = json.load(fh)
        except (OSError, ValueError) as err:
            raise errors.OpPrereqError("Cannot read job file %s: %s" % (path, err),
                                       errors.ECODE_INVAL)
        if not isinstance(ops, list):
            raise errors.OpPrereqError("Job file %s must contain a list of opcodes" % path,
                                       errors.ECODE_INVAL)
        ops = [jobs.set_generic_opts(op, opts) for op in ops] * max(1, opts.rep_op)
        job_defs.extend([ops] * max(1, opts.rep_job))
    start = time.time()
    if opts.each:
        results = [[True, client.submit_job(ops)] for ops in job_defs]
    else:
        results = client.submit_many_jobs(job_defs)
    submitted = time.time()
    ids = []
    for ok, value in results:
        if ok:
            ids.append(value)
            if opts.verbose:
                print("Job ID: %s" % value)
        else:
            sys.stderr.write("Failed to submit job: %s\n" % value)
    code = 0 if all(ok for ok, _ in results) else constants.EXIT_FAILURE
    for job_id in ids:
        try:
            jobs.poll_job(client, job_id, feedback=lambda e: None)
        except errors.GenericError as err:
            from ganeti.cli.errors import format_error
            sys.stderr.write("Job %s: %s\n" % (job_id, format_error(err)[1]))
            code = constants.EXIT_FAILURE
    done = time.time()
    if opts.timing_stats:
        print("Submitted %d jobs in %.3f s, finished after %.3f s (%.1f jobs/s)" % (
            len(ids), submitted - start, done - start, len(ids) / max(done - start, 1e-9)))
    return code


def list_locks(opts, args):
    from ganeti.cli import listing
    while True:
        code = listing.generic_list(opts, args, constants.QR_LOCK,
                                    ["name", "mode", "owner", "pending"])
        if not opts.interval:
            return code
        time.sleep(opts.interval)
        print()


COMMANDS = {
    "delay": Command(delay, "<duration>", JOB_OPTS + ["no_master", "node", "repeat",
                                                     "interruptible", "no_locks"],
                     "Executes a TestDelay OpCode", min_args=1, max_args=1),
    "submit-job": Command(submit_job, "<op_list_file...>",
                          ["dry_run", "priority", "verbose", "op_repeat", "job_repeat",
                           "timing_stats", "each"],
                          "Submits a job built from a json-file with a list of serialized"
                          " opcodes", min_args=1),
    "locks": Command(list_locks, "[<lock-name>...]", LIST_OPTS + ["interval"],
                     "Show a list of locks in the master daemon"),
}


def main(argv=None) -> int:
    return run("gnt-debug", COMMANDS, {}, argv)
