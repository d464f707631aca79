"""Parallel HTTPS RPC client for the node daemons (pycurl multi interface).

One ``call`` sends the same procedure to many nodes at once: every node
gets its own HTTP POST inside one ``CurlMulti`` and the call returns when
the last node answered or timed out, so a call to N nodes costs the time
of the slowest node, not the sum.

Keep-alive: libcurl keeps finished connections in the cache of the multi
handle that ran them. A call therefore borrows a *session* (one
``CurlMulti`` plus one ``Curl`` handle per node address) from a pool and
gives it back afterwards; the next call from any thread reuses its open
TLS connections and skips the handshake. Concurrent calls take different
sessions, so threads never share a curl handle.

Trust: the client presents the cluster certificate (``server.pem`` holds
key and certificate), accepts only a server certificate that chains to
the cluster certificate as the sole CA (host names are not checked, node
addresses are what counts), and pins the cluster key on top (libcurl
``PINNEDPUBLICKEY``), so only a holder of the cluster key can answer.
"""

from __future__ import annotations

import base64
import io as _io
import os
import threading
import zlib
from typing import Any, NamedTuple

from ganeti import constants, errors, pathutils, serializer
from ganeti.rpc import defs

OFFLINE_MSG = "Node is marked offline"
_MAX_CONNECTS = 4096
_MAX_ERROR_BODY = 512


class NodeTarget(NamedTuple):
    """Where to send a call: node name (result key), address, offline flag."""

    name: str
    address: str
    offline: bool = False


def encode_file(data: bytes | str) -> list:
    """``[encoding, data]`` as the RPC protocol carries file contents.

    Contents of 512 bytes and more are zlib-compressed and base64-encoded
    (encoding 1); smaller ones travel as text (encoding 0) when they are
    valid UTF-8.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) < 512:
        try:
            return [constants.RPC_ENCODING_NONE, data.decode("utf-8")]
        except UnicodeDecodeError:
            pass
    return [constants.RPC_ENCODING_ZLIB_BASE64,
            base64.b64encode(zlib.compress(data)).decode("ascii")]


def decode_file(enc: Any) -> bytes:
    """Inverse of :func:`encode_file`; ParameterError on malformed input."""
    if not isinstance(enc, (list, tuple)) or len(enc) != 2:
        raise errors.ParameterError("Invalid file content encoding: expected"
                                    " [encoding, data]")
    kind, data = enc
    if not isinstance(data, str):
        raise errors.ParameterError("Invalid file content: data must be a string")
    if kind == constants.RPC_ENCODING_NONE:
        return data.encode("utf-8")
    if kind == constants.RPC_ENCODING_ZLIB_BASE64:
        try:
            return zlib.decompress(base64.b64decode(data, validate=True))
        except (ValueError, zlib.error) as err:
            raise errors.ParameterError("Invalid compressed file content: %s" % err)
    raise errors.ParameterError("Unknown file content encoding %r" % (kind,))


class RpcResult:
    """The answer of one node to one call.

    ``fail_msg`` is None on success (then ``payload`` holds the answer);
    otherwise it says what went wrong: offline node, transport error, HTTP
    error or the error the node reported. ``data`` is the raw decoded body.
    """

    def __init__(self, node: str, call: str, data: Any = None, fail_msg: str | None = None,
                 offline: bool = False):
        self.node = node
        self.call = call
        self.data = data
        self.offline = offline
        self.fail_msg = fail_msg
        self.payload: Any = None
        if fail_msg is None:
            if isinstance(data, list) and len(data) == 2 and isinstance(data[0], bool):
                if data[0]:
                    self.payload = data[1]
                else:
                    self.fail_msg = str(data[1]) or "Unknown error on node"
            else:
                self.fail_msg = "Invalid answer from node %s to %s" % (node, call)

    def raise_for_error(self, msg: str | None = None, prereq: bool = False,
                        ecode: str | None = None) -> None:
        """Raise OpExecError (OpPrereqError with ``prereq``) if the call failed.

        The text is ``"<msg>: <fail_msg>"`` and always names the node.
        """
        if self.fail_msg is None:
            return
        if not msg:
            msg = "Call '%s' to node '%s' failed" % (self.call, self.node)
        elif self.node not in msg:
            msg = "%s (node %s)" % (msg, self.node)
        text = "%s: %s" % (msg, self.fail_msg)
        if prereq:
            raise errors.OpPrereqError(text, ecode or errors.ECODE_ENVIRON)
        raise errors.OpExecError(text)

    def __repr__(self) -> str:
        return "RpcResult(node=%r, call=%r, fail_msg=%r)" % (self.node, self.call,
                                                              self.fail_msg)


def _error_detail(raw: bytes) -> str:
    try:
        body = serializer.loads(raw)
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
    except (ValueError, UnicodeDecodeError):
        pass
    return raw[:_MAX_ERROR_BODY].decode("utf-8", "replace").strip() or "(no details)"


class _Session:
    """A CurlMulti with one reusable Curl handle per node address."""

    def __init__(self, client: RpcClient):
        import pycurl
        self.client = client
        self.multi = pycurl.CurlMulti()
        self.multi.setopt(pycurl.M_MAXCONNECTS, _MAX_CONNECTS)
        self.handles: dict[str, Any] = {}
        self.generation = client._generation

    def handle(self, address: str) -> Any:
        curl = self.handles.get(address)
        if curl is None:
            curl = self.client._new_handle()
            self.handles[address] = curl
        return curl

    def discard(self, address: str) -> None:
        curl = self.handles.pop(address, None)
        if curl is not None:
            curl.close()

    def close(self) -> None:
        for curl in self.handles.values():
            curl.close()
        self.handles.clear()
        self.multi.close()


class RpcClient:
    """Call procedures on many node daemons in parallel (thread-safe)."""

    def __init__(self, cert_file: str = pathutils.NODED_CERT_FILE,
                 port: int = constants.DEFAULT_NODED_PORT,
                 connect_timeout: float = constants.RPC_CONNECT_TIMEOUT):
        self._cert = cert_file
        self._port = port
        self._connect_timeout = connect_timeout
        self._pin: str | None = None
        self._cert_stamp: tuple[int, int, int] | None = None
        self._generation = 0
        self._free: list[_Session] = []
        self._lock = threading.Lock()
        self.connections_opened = 0
        """New TCP connections so far: shows whether keep-alive works."""

    # -- curl handles ---------------------------------------------------
    def _refresh_cert(self) -> str | None:
        """Follow a replaced certificate file (renew-crypto); error text or None.

        A new certificate means a new pin and new client credentials, so
        idle sessions are dropped and busy ones are closed when returned.
        """
        try:
            st = os.stat(self._cert)
        except OSError as err:
            return "Can't read the cluster certificate %s: %s" % (self._cert, err.strerror)
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp == self._cert_stamp:
            return None
        from ganeti import crypto
        try:
            pin = "sha256//" + base64.b64encode(crypto.spki_sha256(self._cert)).decode()
        except (OSError, ValueError) as err:
            return "Can't load the cluster certificate %s: %s" % (self._cert, err)
        with self._lock:
            self._cert_stamp, self._pin = stamp, pin
            self._generation += 1
            stale, self._free = self._free, []
        for session in stale:
            session.close()
        return None

    def _new_handle(self) -> Any:
        import pycurl
        curl = pycurl.Curl()
        curl.setopt(pycurl.SSLCERT, self._cert)
        curl.setopt(pycurl.SSLCERTTYPE, "PEM")
        curl.setopt(pycurl.SSLKEY, self._cert)
        curl.setopt(pycurl.SSLKEYTYPE, "PEM")
        curl.setopt(pycurl.CAINFO, self._cert)
        curl.setopt(pycurl.CAPATH, "")
        curl.setopt(pycurl.SSL_VERIFYPEER, 1)
        curl.setopt(pycurl.SSL_VERIFYHOST, 0)
        curl.setopt(pycurl.PINNEDPUBLICKEY, self._pin)
        curl.setopt(pycurl.SSLVERSION, pycurl.SSLVERSION_TLSv1_2)
        curl.setopt(pycurl.NOSIGNAL, 1)
        curl.setopt(pycurl.TCP_NODELAY, 1)
        curl.setopt(pycurl.PROXY, "")
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(self._connect_timeout * 1000))
        curl.setopt(pycurl.HTTPHEADER, ["Content-Type: application/json",
                                        "Accept: application/json", "Expect:"])
        curl.setopt(pycurl.USERAGENT, "Ganeti RPC %s" % constants.RELEASE_VERSION)
        curl.setopt(pycurl.POST, 1)
        return curl

    def _get_session(self) -> _Session:
        with self._lock:
            if self._free:
                return self._free.pop()
        return _Session(self)

    def _put_session(self, session: _Session) -> None:
        with self._lock:
            if session.generation == self._generation:
                self._free.append(session)
                return
        session.close()

    def close(self) -> None:
        """Close all idle connections (the client stays usable)."""
        with self._lock:
            sessions, self._free = self._free, []
        for session in sessions:
            session.close()

    # -- calls ----------------------------------------------------------
    def call(self, procedure: str, nodes: list[NodeTarget] | list[tuple],
             args: list, timeout: float | None = None) -> dict[str, RpcResult]:
        """Send ``procedure(*args)`` to every node at once; results by node name."""
        if procedure not in defs.PROCEDURES:
            raise errors.ProgrammerError("Unknown RPC procedure '%s'" % procedure)
        if len(args) != defs.arg_count(procedure):
            raise errors.ProgrammerError("RPC procedure %s takes %d arguments, %d given" % (
                procedure, defs.arg_count(procedure), len(args)))
        tmo = timeout if timeout is not None else defs.timeout_of(procedure, args)
        results: dict[str, RpcResult] = {}
        todo: list[tuple[str, str]] = []
        for target in nodes:
            name, address, offline = target[0], target[1], bool(target[2])
            if offline and not defs.accepts_offline(procedure):
                results[name] = RpcResult(name, procedure, fail_msg=OFFLINE_MSG, offline=True)
            elif not address:
                results[name] = RpcResult(name, procedure,
                                          fail_msg="No address known for node %s" % name)
            else:
                todo.append((name, address))
        cert_error = self._refresh_cert() if todo else None
        if cert_error is not None:
            for name, _ in todo:
                results[name] = RpcResult(name, procedure, fail_msg=cert_error)
        elif todo:
            body = serializer.dumps(args).encode("utf-8")
            session = self._get_session()
            try:
                results.update(self._run(session, procedure, todo, body, tmo))
            except BaseException:
                session.close()
                raise
            self._put_session(session)
        return results

    def call_one(self, procedure: str, node: NodeTarget | tuple, args: list,
                 timeout: float | None = None) -> RpcResult:
        """Convenience wrapper of :meth:`call` for a single node."""
        return self.call(procedure, [node], args, timeout=timeout)[node[0]]

    def _url(self, address: str, procedure: str) -> str:
        host = "[%s]" % address if ":" in address else address
        return "https://%s:%d/%s" % (host, self._port, procedure)

    def _run(self, session: _Session, procedure: str, todo: list[tuple[str, str]],
             body: bytes, tmo: float) -> dict[str, RpcResult]:
        import pycurl
        multi = session.multi
        running: dict[int, tuple[str, str, Any, _io.BytesIO]] = {}
        extra: list[Any] = []  # second handles when one address appears twice
        for name, address in todo:
            curl = session.handle(address)
            if id(curl) in running:
                curl = self._new_handle()
                extra.append(curl)
            buf = _io.BytesIO()
            curl.setopt(pycurl.URL, self._url(address, procedure))
            curl.setopt(pycurl.POSTFIELDS, body)
            curl.setopt(pycurl.WRITEDATA, buf)
            curl.setopt(pycurl.TIMEOUT_MS, max(1000, int(tmo * 1000)))
            running[id(curl)] = (name, address, curl, buf)
            multi.add_handle(curl)
        errors_by_handle: dict[int, str] = {}
        finished: set[int] = set()
        while True:
            while True:
                ret, active = multi.perform()
                if ret != pycurl.E_CALL_MULTI_PERFORM:
                    break
            while True:
                queued, done, failed = multi.info_read()
                finished.update(id(curl) for curl in done)
                for curl, code, msg in failed:
                    finished.add(id(curl))
                    errors_by_handle[id(curl)] = "Error %d: %s" % (code, msg)
                if not queued:
                    break
            if not active or len(finished) == len(running):
                break
            multi.select(1.0)
        for key in running:
            if key not in finished:  # defensive: curl lost track of a transfer
                errors_by_handle.setdefault(key, "Error: transfer did not complete")
        results: dict[str, RpcResult] = {}
        opened = 0
        for key, (name, address, curl, buf) in running.items():
            multi.remove_handle(curl)
            opened += curl.getinfo(pycurl.NUM_CONNECTS)
            error = errors_by_handle.get(key)
            if error is not None:
                results[name] = RpcResult(name, procedure, fail_msg=error)
                if curl in extra:
                    curl.close()
                else:
                    session.discard(address)
                continue
            results[name] = self._result(name, procedure, curl.getinfo(pycurl.RESPONSE_CODE),
                                         buf.getvalue())
            if curl in extra:
                curl.close()
        with self._lock:
            self.connections_opened += opened
        return results

    @staticmethod
    def _result(name: str, procedure: str, status: int, raw: bytes) -> RpcResult:
        if status != 200:
            return RpcResult(name, procedure,
                             fail_msg="Error %d: %s" % (status, _error_detail(raw)))
        try:
            return RpcResult(name, procedure, serializer.loads(raw))
        except (ValueError, UnicodeDecodeError) as err:
            return RpcResult(name, procedure, fail_msg="Invalid JSON answer: %s" % err)
