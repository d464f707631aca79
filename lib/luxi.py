"""LUXI: the local protocol between clients (gnt-*, RAPI, watcher) and masterd.

A message is one UTF-8 JSON document followed by the byte 0x03 (ETX).
Requests are ``{"method", "args", "version"}``; answers are
``{"success", "result"}`` where a failed result is an encoded exception.
"""

from __future__ import annotations

import json
import os
import socket

from ganeti import constants, errors, pathutils, serializer

TYPE_CHECKING = False   # typing costs ~10 ms of every command's start-up
if TYPE_CHECKING:
    from typing import Any

ETX = b"\x03"
KEY_METHOD = "method"
KEY_ARGS = "args"
KEY_VERSION = "version"
KEY_SUCCESS = "success"
KEY_RESULT = "result"

# method name -> number of positional arguments accepted (min, max)
METHODS: dict[str, tuple[int, int]] = {
    "SubmitJob": (1, 1),
    "SubmitJobToDrainedQueue": (1, 1),
    "SubmitManyJobs": (1, 1),
    "WaitForJobChange": (5, 5),
    "CancelJob": (1, 2),
    "ArchiveJob": (1, 1),
    "AutoArchiveJobs": (2, 2),
    "ChangeJobPriority": (2, 2),
    "QueryJobs": (2, 2),
    "Query": (2, 3),
    "QueryFields": (1, 2),
    "QueryInstances": (3, 3),
    "QueryItemsJson": (3, 4),     # this project's: items as JSON text (RAPI bulk lists)
    "QueryNodes": (3, 3),
    "QueryGroups": (3, 3),
    "QueryNetworks": (3, 3),
    "QueryExports": (2, 2),
    "QueryClusterInfo": (0, 0),
    "QueryConfigValues": (1, 1),
    "QueryTags": (2, 2),
    "SetDrainFlag": (1, 1),
    "SetWatcherPause": (1, 1),
    "QueryFilters": (2, 2),
    "ReplaceFilter": (5, 5),
    "DeleteFilter": (1, 1),
}


def default_address() -> str:
    """Socket path, honouring FORCE_LUXI_SOCKET (``master``, ``query`` or a path)."""
    force = os.environ.get("FORCE_LUXI_SOCKET")
    if force == "query":
        return pathutils.QUERY_SOCKET
    if force and force != "master":
        return force
    return pathutils.MASTER_SOCKET


def format_request(method: str, args: list, version: int = constants.LUXI_VERSION) -> bytes:
    return json.dumps({KEY_METHOD: method, KEY_ARGS: args,
                       KEY_VERSION: version}).encode("utf-8") + ETX


def parse_request(msg: bytes) -> tuple[str, list, int | None]:
    """Check a request's shape; raise ProtocolError naming what is wrong."""
    try:
        data = json.loads(msg.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise errors.ProtocolError("Invalid LUXI request (not JSON): %s" % err)
    if not isinstance(data, dict):
        raise errors.ProtocolError("Invalid LUXI request (not a dict)")
    method = data.get(KEY_METHOD)
    args = data.get(KEY_ARGS)
    version = data.get(KEY_VERSION)
    if not isinstance(method, str) or args is None:
        raise errors.ProtocolError("Invalid LUXI request (no method or arguments)")
    if not isinstance(args, list):
        raise errors.ProtocolError("Invalid LUXI request (arguments must be a list)")
    if version is not None and not isinstance(version, int):
        raise errors.ProtocolError("Invalid LUXI request (version must be an integer)")
    return method, args, version


def format_response(success: bool, result: Any) -> bytes:
    return serializer.dumps_fast({KEY_SUCCESS: success, KEY_RESULT: result,
                                  KEY_VERSION: constants.LUXI_VERSION}) + ETX


def parse_response(msg: bytes) -> Any:
    try:
        data = json.loads(msg.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise errors.ProtocolError("Invalid LUXI response: %s" % err)
    if not isinstance(data, dict) or KEY_SUCCESS not in data or KEY_RESULT not in data:
        raise errors.ProtocolError("Invalid LUXI response (missing keys)")
    version = data.get(KEY_VERSION)
    if version is not None and version != constants.LUXI_VERSION:
        raise errors.LuxiError("LUXI version mismatch, server %s, client %s" %
                               (version, constants.LUXI_VERSION))
    result = data[KEY_RESULT]
    if data[KEY_SUCCESS]:
        return result
    errors.maybe_raise(result)
    raise errors.RequestError(result)


class Transport:
    """A connected Unix socket speaking ETX-framed messages."""

    def __init__(self, address: str, timeouts: tuple[float, float] | None = None):
        ctmo, self._rwto = timeouts or (constants.LUXI_DEF_CTMO, constants.LUXI_DEF_RWTO)
        self._buf = b""
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(ctmo)
        try:
            self._sock.connect(address)
        except (FileNotFoundError, ConnectionRefusedError) as err:
            self._sock.close()
            raise errors.NoMasterError(address, str(err))
        except PermissionError as err:
            self._sock.close()
            raise errors.PermissionError(address, str(err))
        except socket.timeout:
            self._sock.close()
            raise errors.TimeoutError("Connect timed out: %s" % address)
        except OSError as err:
            self._sock.close()
            raise errors.NoMasterError(address, str(err))
        self._sock.settimeout(self._rwto)

    def send(self, msg: bytes) -> None:
        try:
            self._sock.sendall(msg)
        except socket.timeout:
            raise errors.TimeoutError("Sending timeout")
        except OSError as err:
            raise errors.ConnectionClosedError("Connection closed while sending: %s" % err)

    def recv(self) -> bytes:
        # a growing bytearray and a search of the new bytes only: an answer of
        # many megabytes arrives in linear time
        buf = bytearray(self._buf)
        start = 0
        while True:
            idx = buf.find(ETX, start)
            if idx >= 0:
                self._buf = bytes(buf[idx + 1:])
                return bytes(buf[:idx])
            start = len(buf)
            try:
                chunk = self._sock.recv(1 << 20)
            except socket.timeout:
                raise errors.TimeoutError("Receive timeout")
            except OSError as err:
                raise errors.ConnectionClosedError("Connection closed: %s" % err)
            if not chunk:
                raise errors.ConnectionClosedError("Connection closed while reading")
            buf += chunk
            if len(buf) > constants.LUXI_MAX_MESSAGE:
                raise errors.ProtocolError("Response too large")

    def close(self) -> None:
        self._sock.close()


class Client:
    """LUXI client; one connection, reopened once if the master closed it."""

    def __init__(self, address: str | None = None, timeouts=None):
        self.address = address or default_address()
        self._timeouts = timeouts
        self._transport: Transport | None = None

    def _connect(self) -> Transport:
        if self._transport is None:
            self._transport = Transport(self.address, self._timeouts)
        return self._transport

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def call(self, method: str, *args: Any) -> Any:
        request = format_request(method, list(args))
        for attempt in (0, 1):
            transport = self._connect()
            try:
                transport.send(request)
                answer = transport.recv()
                break
            except errors.ConnectionClosedError:
                self.close()
                if attempt:
                    raise
            except Exception:
                self.close()
                raise
        return parse_response(answer)

    # Convenience wrappers (argument order as in spec/jobs-opcodes.md §4)
    def submit_job(self, ops: list) -> int:
        return self.call("SubmitJob", ops)

    def submit_job_to_drained_queue(self, ops: list) -> int:
        return self.call("SubmitJobToDrainedQueue", ops)

    def submit_many_jobs(self, jobs: list) -> list:
        return self.call("SubmitManyJobs", jobs)

    def wait_for_job_change_once(self, job_id: int, fields: list, prev_job_info,
                                 prev_log_serial, timeout: float = constants.LUXI_WFJC_TIMEOUT):
        return self.call("WaitForJobChange", job_id, fields, prev_job_info,
                         prev_log_serial, timeout)

    def cancel_job(self, job_id: int, kill: bool = False) -> list:
        if kill:
            return self.call("CancelJob", job_id, True)
        return self.call("CancelJob", job_id)

    def archive_job(self, job_id: int) -> bool:
        return self.call("ArchiveJob", job_id)

    def auto_archive_jobs(self, age: int, timeout: float) -> list:
        return self.call("AutoArchiveJobs", age, timeout)

    def change_job_priority(self, job_id: int, priority: int) -> list:
        return self.call("ChangeJobPriority", job_id, priority)

    def query_jobs(self, job_ids: list | None, fields: list) -> list:
        return self.call("QueryJobs", job_ids, fields)

    def query(self, what: str, fields: list, qfilter=None) -> dict:
        return self.call("Query", what, fields, qfilter)

    def query_fields(self, what: str, fields: list | None = None) -> dict:
        return self.call("QueryFields", what, fields)

    def query_instances(self, names: list, fields: list, use_locking: bool = False) -> list:
        return self.call("QueryInstances", names, fields, use_locking)

    def query_items_json(self, what: str, names: list, fields: list,
                         view: str | None = None) -> str:
        """Items as the JSON text of ``[{field: value}, ...]`` (masterd encodes it).

        For big listings that are only passed on (RAPI bulk answers): the text
        is one string here, not a million objects to decode and encode again.
        """
        return self.call("QueryItemsJson", what, names, fields, view)

    def query_nodes(self, names: list, fields: list, use_locking: bool = False) -> list:
        return self.call("QueryNodes", names, fields, use_locking)

    def query_groups(self, names: list, fields: list, use_locking: bool = False) -> list:
        return self.call("QueryGroups", names, fields, use_locking)

    def query_cluster_info(self) -> dict:
        return self.call("QueryClusterInfo")

    def query_config_values(self, fields: list) -> list:
        return self.call("QueryConfigValues", fields)

    def query_tags(self, kind: str, name: str | None) -> list:
        return self.call("QueryTags", kind, name)

    def set_drain_flag(self, flag: bool) -> bool:
        return self.call("SetDrainFlag", flag)

    def set_watcher_pause(self, until: float | None):
        return self.call("SetWatcherPause", until)
