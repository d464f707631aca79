"""gnt-debug: test opcodes (delay), raw job submission, and the master's locks."""

from __future__ import annotations

import sys
import time

from ganeti import constants, errors
from ganeti.cli.base import Command, run
from ganeti.cli.options import JOB_OPTS

_LIST_LOCKS_DEF_FIELDS = ["name", "mode", "owner", "pending"]


def delay(opts, args) -> int:
    """OP_TEST_DELAY: sleep on the master and/or nodes (tests the whole job path)."""
    from ganeti.cli import jobs
    try:
        duration = float(args[0])
    except ValueError:
        raise errors.OpPrereqError("Invalid duration '%s'" % args[0], errors.ECODE_INVAL)
    op = {"OP_ID": "OP_TEST_DELAY", "duration": duration, "on_master": opts.on_master,
          "on_nodes": opts.nodes or [], "repeat": opts.repeat,
          "interruptible": opts.interruptible, "no_locks": opts.no_locks}
    jobs.submit_or_send(op, opts)
    return 0


def _load_ops(path: str) -> list[dict]:
    import json
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as err:
        raise errors.OpPrereqError("Cannot read job file %s: %s" % (path, err.strerror),
                                   errors.ECODE_ENVIRON)
    except ValueError as err:
        raise errors.OpPrereqError("Job file %s is not valid JSON: %s" % (path, err),
                                   errors.ECODE_INVAL)
    if not isinstance(data, list) or not all(isinstance(op, dict) and "OP_ID" in op
                                              for op in data):
        raise errors.OpPrereqError("Job file %s must contain a list of opcodes (objects"
                                   " with an OP_ID)" % path, errors.ECODE_INVAL)
    return data


def submit_job(opts, args) -> int:
    """Submit jobs made of the opcodes in JSON files and wait for them."""
    from ganeti.cli import jobs
    client = jobs.get_client()
    queue: list[tuple[str, list[dict]]] = []
    op_count = 0
    if opts.timing_stats:
        print("Loading...")
    loaded = {path: _load_ops(path) for path in args}
    for job_idx in range(opts.rep_job):
        for path in args:
            ops = [jobs.set_generic_opts(op, opts) for op in loaded[path]] * opts.rep_op
            queue.append(("file %s/%d" % (path, job_idx), ops))
            op_count += len(ops)
    t1 = time.time()
    if opts.timing_stats:
        print("Submitting...", flush=True)
    if opts.each:
        results = [[True, client.submit_job(ops)] for _, ops in queue]
    else:
        results = client.submit_many_jobs([ops for _, ops in queue])
    t2 = time.time()
    if opts.timing_stats:
        print("Executing...", flush=True)
    jobs.wait_for_jobs(client, results, names=[name for name, _ in queue],
                       verbose=bool(opts.verbose),
                       reporter_factory=lambda: jobs.FeedbackReporter(lambda entry: None))
    t3 = time.time()
    if opts.timing_stats:
        print("C:op     %4d" % op_count)
        print("C:job    %4d" % len(queue))
        print("T:submit %4.4f" % (t2 - t1))
        print("T:exec   %4.4f" % (t3 - t2))
        print("T:total  %4.4f" % (t3 - t1))
    return 0


def _format_pending(value) -> str:
    if not value:
        return "-"
    return ", ".join("%s:%s" % (mode, ",".join(str(o) for o in owners))
                     for mode, owners in value)


def _format_owner(value) -> str:
    if not value:
        return "-"
    return ",".join(str(o) for o in value)


_LOCKS_FORMAT = {
    "mode": (lambda value: str(value), False),
    "owner": (_format_owner, False),
    "pending": (_format_pending, False),
}


def list_locks(opts, args) -> int:
    """The master's locks and who holds or waits for them; --interval repeats."""
    from ganeti.cli import listing
    while True:
        code = listing.generic_list(opts, [], constants.QR_LOCK, _LIST_LOCKS_DEF_FIELDS,
                                    format_override=_LOCKS_FORMAT)
        if code != constants.EXIT_SUCCESS or not opts.interval:
            return code
        print("", flush=True)
        sys.stdout.flush()
        time.sleep(opts.interval)


COMMANDS = {
    "delay": Command(delay, "[opts...] <duration>",
                     ["no_master", "node", "repeat", "interruptible", "no_locks"] + JOB_OPTS,
                     "Executes a TestDelay OpCode", min_args=1, max_args=1),
    "submit-job": Command(submit_job, "<op_list_file...>",
                          ["verbose", "timing_stats", "job_repeat", "op_repeat", "each",
                           "dry_run", "priority"],
                          "Submits jobs built from json files containing a list of"
                          " serialized opcodes", min_args=1),
    "locks": Command(list_locks, "[--interval N]",
                     ["no_headers", "separator", "output", "interval", "verbose"],
                     "Show a list of locks in the master daemon", max_args=0),
}
ALIASES: dict[str, str] = {}


def main(argv: list[str] | None = None) -> int:
    return run("gnt-debug", COMMANDS, ALIASES, argv, env_override=frozenset())
