"""User-facing error messages and exit codes for the gnt-* commands."""

from __future__ import annotations

from ganeti import constants, errors


def format_error(err: BaseException) -> tuple[int, str]:
    """(exit code, message) for an exception reaching a command's top level."""
    code = constants.EXIT_FAILURE
    if isinstance(err, errors.OpPrereqError):
        if len(err.args) == 2 and err.args[1] in errors.ECODE_ALL:
            text = ("Failure: prerequisites not met for this operation:\nerror type: %s,"
                    " error details:\n%s" % (err.args[1], err.args[0]))
        else:
            text = "Failure: prerequisites not met for this operation:\n%s" % _first(err)
    elif isinstance(err, errors.OpExecError):
        text = "Failure: command execution error:\n%s" % _first(err)
    elif isinstance(err, errors.JobQueueDrainError):
        text = "Failure: the job queue is marked for drain and doesn't accept new requests"
    elif isinstance(err, errors.JobQueueFull):
        text = "Failure: the job queue is full and doesn't accept new job submissions until" \
               " old jobs are archived"
    elif isinstance(err, errors.NoMasterError):
        text = ("Cannot communicate with the master daemon.\nIs it running and listening for"
                " connections?")
    elif isinstance(err, errors.TimeoutError):
        text = "Timeout while talking to the master daemon. Jobs might have been submitted" \
               " and will continue to run even if the call timed out. Useful commands in" \
               " this situation are \"gnt-job list\", \"gnt-job cancel\" and \"gnt-job" \
               " watch\". Error:\n%s" % _first(err)
    elif isinstance(err, errors.PermissionError):
        text = "It seems you don't have permissions to connect to the master daemon.\n" \
               "Please retry as a different user."
    elif isinstance(err, errors.ProtocolError):
        text = "Unhandled protocol error while talking to the master daemon:\n%s" % _first(err)
    elif isinstance(err, errors.NotMasterError):
        code = constants.EXIT_NOTMASTER
        text = "Failure: %s" % _first(err)
    elif isinstance(err, errors.ConfigurationError):
        code = constants.EXIT_NOTCLUSTER
        text = "Cluster configuration incomplete: %s" % _first(err)
    elif isinstance(err, errors.HooksAbort):
        text = "Failure: hooks failed:\n%s" % _first(err)
    elif isinstance(err, errors.HooksFailure):
        text = "Failure: hooks general failure: %s" % _first(err)
    elif isinstance(err, errors.ResolverError):
        text = "Failure: can't resolve hostname '%s'" % err.args[0]
    elif isinstance(err, (errors.ParameterError, errors.UnitParseError, errors.TagError,
                          errors.ParseError, errors.TypeEnforcementError)):
        text = "Failure: %s" % _first(err)
    elif isinstance(err, errors.JobLost):
        text = "Error checking job status: %s" % _first(err)
    elif isinstance(err, errors.OpCodeUnknown):
        text = "Unsupported operation: %s" % _first(err)
    elif isinstance(err, errors.GenericError):
        text = "Unhandled Ganeti error: %s" % _first(err)
    else:
        text = "Unhandled exception: %s: %s" % (type(err).__name__, err)
    return code, text


def _first(err: BaseException) -> str:
    if err.args:
        return str(err.args[0])
    return str(err)
