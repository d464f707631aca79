"""Exception classes shared by every layer.

Errors cross process boundaries (LUXI, RPC, job files) encoded as
``[ClassName, [args...]]``; :func:`encode_exception` and
:func:`maybe_raise` are the two halves of that contract.
"""

from __future__ import annotations

TYPE_CHECKING = False   # typing costs ~10 ms of every command's start-up
if TYPE_CHECKING:
    from typing import Any


# Error codes carried as the second argument of OpPrereqError and friends.
ECODE_RESOLVER = "resolver_error"
ECODE_NORES = "insufficient_resources"
ECODE_TEMP_NORES = "temp_insufficient_resources"
ECODE_INVAL = "wrong_input"
ECODE_STATE = "wrong_state"
ECODE_NOENT = "unknown_entity"
ECODE_EXISTS = "already_exists"
ECODE_NOTUNIQUE = "resource_not_unique"
ECODE_FAULT = "internal_error"
ECODE_ENVIRON = "environment_error"
ECODE_ALL = frozenset([ECODE_RESOLVER, ECODE_NORES, ECODE_TEMP_NORES,
                       ECODE_INVAL, ECODE_STATE, ECODE_NOENT, ECODE_EXISTS,
                       ECODE_NOTUNIQUE, ECODE_FAULT, ECODE_ENVIRON])


class GenericError(Exception):
    """Base of every project error."""


class LockError(GenericError):
    """Lock manager misuse or failure."""


class LockTimeout(LockError):
    """A lock could not be acquired within the timeout."""


class PidFileLockError(LockError):
    """Another daemon instance holds the pid file."""


class HypervisorError(GenericError):
    pass


class HotplugError(HypervisorError):
    pass


class ProgrammerError(GenericError):
    """A bug: the caller broke an internal contract."""


class BlockDeviceError(GenericError):
    pass


class StorageError(GenericError):
    pass


class ConfigurationError(GenericError):
    """The cluster configuration is inconsistent or unreadable."""


class ConfigVersionMismatch(ConfigurationError):
    pass


class ConfigVerifyError(ConfigurationError):
    pass


class ReservationError(GenericError):
    pass


class RemoteError(GenericError):
    """An error reported by a remote node."""


class SignatureError(GenericError):
    pass


class ParameterError(GenericError):
    pass


class ResultValidationError(GenericError):
    pass


class OpPrereqError(GenericError):
    """Prerequisites for an operation are not met.

    args: (message, error_code)
    """


class OpExecError(GenericError):
    """Execution of an operation failed."""


class OpResultError(GenericError):
    pass


class DeviceCreationError(GenericError):
    pass


class OpCodeUnknown(GenericError):
    pass


class JobLost(GenericError):
    pass


class JobFileCorrupted(GenericError):
    pass


class ResolverError(GenericError):
    """Host name resolution failed: (name, errno, message)."""


class HooksFailure(GenericError):
    pass


class HooksAbort(HooksFailure):
    """A pre hook failed; args[0] is a list of (node, script, output)."""


class UnitParseError(GenericError):
    pass


class ParseError(GenericError):
    pass


class TypeEnforcementError(GenericError):
    pass


class X509CertError(GenericError):
    pass


class TagError(GenericError):
    pass


class CommandError(GenericError):
    pass


class InotifyError(GenericError):
    pass


class QuitGanetiException(Exception):
    """Tells a daemon to answer and then shut down: (should_quit, payload)."""


class JobQueueError(GenericError):
    pass


class JobQueueDrainError(JobQueueError):
    pass


class JobQueueFull(JobQueueError):
    pass


class ConfdMagicError(GenericError):
    pass


class ConfdClientError(GenericError):
    pass


class UdpDataSizeError(GenericError):
    pass


class NoCtypesError(GenericError):
    pass


class IPAddressError(GenericError):
    pass


class LuxiError(GenericError):
    """Base of client-side LUXI transport errors."""


class QueryFilterParseError(ParseError):
    """A query filter could not be parsed: args (message, details...)."""

    def GetDetails(self) -> list[str]:
        return [str(a) for a in self.args[1:]]


class RapiTestResult(GenericError):
    pass


class FileStoragePathError(GenericError):
    pass


class OpRetryError(GenericError):
    pass


class InvalidDiskTemplate(GenericError):
    pass


class ProtocolError(LuxiError):
    """The peer spoke something other than our protocol."""


class ConnectionClosedError(ProtocolError):
    pass


class TimeoutError(ProtocolError):  # noqa: A001 - upstream name
    pass


class RequestError(ProtocolError):
    pass


class NoMasterError(ProtocolError):
    """The master daemon socket is not there or nobody answers."""


class PermissionError(ProtocolError):  # noqa: A001 - upstream name
    pass


class NotMasterError(GenericError):
    """This node is not the master."""


def _all_error_classes() -> dict[str, type]:
    out: dict[str, type] = {}
    for name, obj in globals().items():
        if isinstance(obj, type) and issubclass(obj, Exception):
            out[name] = obj
    return out


_ERROR_CLASSES = _all_error_classes()


def get_error_class(name: str) -> type | None:
    return _ERROR_CLASSES.get(name)


def encode_exception(err: BaseException) -> list[Any]:
    """Encode an exception as ``[ClassName, [args...]]`` for the wire."""
    name = type(err).__name__
    if name not in _ERROR_CLASSES:
        return ["OpExecError", [str(err) or name]]
    args = []
    for a in err.args:
        if isinstance(a, (str, int, float, bool, type(None), list, dict)):
            args.append(a)
        elif isinstance(a, tuple):
            args.append(list(a))
        else:
            args.append(str(a))
    return [name, args]


def decode_exception(data: Any) -> GenericError | None:
    """Rebuild an exception from its wire form, or None if it is not one."""
    if (isinstance(data, (list, tuple)) and len(data) == 2
            and isinstance(data[0], str) and isinstance(data[1], (list, tuple))):
        cls = _ERROR_CLASSES.get(data[0])
        if cls is None:
            return None
        return cls(*data[1])
    return None


def maybe_raise(data: Any) -> None:
    """Raise the exception encoded in ``data`` if it is one."""
    err = decode_exception(data)
    if err is not None:
        raise err


def get_encoded_error(result: Any) -> tuple[type, list] | None:
    if (isinstance(result, (list, tuple)) and len(result) == 2
            and isinstance(result[0], str) and result[0] in _ERROR_CLASSES):
        return _ERROR_CLASSES[result[0]], list(result[1])
    return None
