"""User-facing error messages and exit codes of the gnt-* commands.

One function maps any exception reaching a command's top level to
``(exit code, text)``, with Ganeti's wording, so that every program
reports the same error the same way and scripts can rely on exit codes.
"""

from __future__ import annotations

from ganeti import constants, errors


def format_error(err: BaseException) -> tuple[int, str]:
    """(exit code, message without trailing newline) for an exception."""
    code = constants.EXIT_FAILURE
    msg = _first(err)
    if isinstance(err, errors.OpPrereqError):
        if len(err.args) == 2 and err.args[1] in errors.ECODE_ALL:
            text = ("Failure: prerequisites not met for this operation:\nerror type: %s,"
                    " error details:\n%s" % (err.args[1], err.args[0]))
        else:
            text = "Failure: prerequisites not met for this operation:\n%s" % msg
    elif isinstance(err, errors.OpExecError):
        text = "Failure: command execution error:\n%s" % msg
    elif isinstance(err, errors.JobQueueDrainError):
        text = "Failure: the job queue is marked for drain and doesn't accept new requests"
    elif isinstance(err, errors.JobQueueFull):
        text = ("Failure: the job queue is full and doesn't accept new job submissions until"
                " old jobs are archived")
    elif isinstance(err, errors.NoMasterError):
        text = ("Cannot communicate with the master daemon.\nIs it running and listening for"
                " connections?")
    elif isinstance(err, errors.TimeoutError):
        text = ("Timeout while talking to the master daemon. Jobs might have been submitted"
                " and will continue to run even if the call timed out. Useful commands in"
                " this situation are \"gnt-job list\", \"gnt-job cancel\" and \"gnt-job"
                " watch\". Error:\n%s" % msg)
    elif isinstance(err, errors.PermissionError):
        text = ("It seems you don't have permissions to connect to the master daemon.\n"
                "Please retry as a different user.")
    elif isinstance(err, errors.ProtocolError):
        text = "Unhandled protocol error while talking to the master daemon:\n%s" % msg
    elif isinstance(err, errors.NotMasterError):
        code = constants.EXIT_NOTMASTER
        text = "Failure: %s" % msg
    elif isinstance(err, errors.ConfigurationError):
        code = constants.EXIT_NOTCLUSTER
        text = "Cluster configuration incomplete: %s" % msg
    elif isinstance(err, errors.HooksAbort):
        text = _hooks_abort(err)
    elif isinstance(err, errors.HooksFailure):
        text = "Failure: hooks general failure: %s" % msg
    elif isinstance(err, errors.ResolverError):
        text = "Failure: can't resolve hostname '%s'" % (err.args[0] if err.args else "")
    elif isinstance(err, errors.TagError):
        text = "Failure: invalid tag(s) given:\n%s" % msg
    elif isinstance(err, errors.TypeEnforcementError):
        text = "Parameter Error: %s" % msg
    elif isinstance(err, errors.QueryFilterParseError):
        details = err.GetDetails() if hasattr(err, "GetDetails") else []
        text = "\n".join(["Error while parsing query filter: %s" % msg] + details)
    elif isinstance(err, (errors.ParameterError, errors.UnitParseError, errors.ParseError)):
        text = "Failure: %s" % msg
    elif isinstance(err, errors.JobLost):
        text = "Error checking job status: %s" % msg
    elif isinstance(err, errors.OpCodeUnknown):
        text = "Unsupported operation: %s" % msg
    elif isinstance(err, errors.GenericError):
        text = "Unhandled Ganeti error: %s" % msg
    elif isinstance(err, OSError):
        text = "Failure: %s" % err
    else:
        text = "Unhandled exception: %s: %s" % (type(err).__name__, err)
    return code, text.rstrip("\n")


def _hooks_abort(err: errors.HooksAbort) -> str:
    lines = ["Failure: hooks execution failed:"]
    entries = err.args[0] if err.args and isinstance(err.args[0], (list, tuple)) else []
    for entry in entries:
        try:
            node, script, out = entry
        except (TypeError, ValueError):
            lines.append("  %s" % (entry,))
            continue
        if out:
            lines.append("  node: %s, script: %s, output: %s" % (node, script, out))
        else:
            lines.append("  node: %s, script: %s (no output)" % (node, script))
    return "\n".join(lines)


def _first(err: BaseException) -> str:
    """The human part of an error: its first argument (Ganeti errors carry codes after it)."""
    if err.args:
        return str(err.args[0])
    return str(err)
