"""Parallel HTTPS RPC client (pycurl multi) with the cluster certificate.

Every node of a call gets its request at the same time; connections are
kept alive and reused (one pool of Curl handles per address) so repeated
calls skip the TLS handshake. The server must present the cluster
certificate itself: verification is against it as the only CA, and its
public key is pinned on top of that.
"""

from __future__ import annotations

import base64
import hashlib
import io as _io
import json
import threading
import zlib
from typing import Any

from ganeti import constants, errors, pathutils
from ganeti.rpc import defs

NodeTarget = tuple  # (name, address, offline)


def encode_file(data: bytes) -> list:
    """[encoding, data] as the RPC protocol carries file contents."""
    if len(data) >= 512:
        return [constants.RPC_ENCODING_ZLIB_BASE64,
                base64.b64encode(zlib.compress(data)).decode("ascii")]
    return [constants.RPC_ENCODING_NONE, data.decode("utf-8", "surrogateescape")]


def decode_file(enc: Any) -> bytes:
    if not isinstance(enc, (list, tuple)) or len(enc) != 2:
        raise errors.ParameterError("Invalid file encoding: expected [encoding, data]")
    kind, data = enc
    if kind == constants.RPC_ENCODING_NONE and isinstance(data, str):
        return data.encode("utf-8", "surrogateescape")
    if kind == constants.RPC_ENCODING_ZLIB_BASE64 and isinstance(data, str):
        try:
            return zlib.decompress(base64.b64decode(data))
        except (ValueError, zlib.error) as err:
            raise errors.ParameterError("Invalid compressed file data: %s" % err)
    raise errors.ParameterError("Unknown file encoding %r" % (kind,))


class RpcResult:
    """The answer of one node to one call."""

    def __init__(self, node: str, call: str, data: Any = None, fail_msg: str | None = None,
                 offline: bool = False):
        self.node = node
        self.call = call
        self.data = data
        self.offline = offline
        self.fail_msg = fail_msg
        self.payload = None
        if fail_msg is None:
            if isinstance(data, list) and len(data) == 2 and isinstance(data[0], bool):
                if data[0]:
                    self.payload = data[1]
                else:
                    self.fail_msg = str(data[1]) or "unknown error"
            else:
                self.fail_msg = "Invalid result from node %s, procedure %s" % (node, call)

    def raise_for_error(self, msg: str | None = None) -> None:
        if self.fail_msg:
            text = "%s: %s" % (msg, self.fail_msg) if msg else self.fail_msg
            raise errors.OpExecError("Node %s: %s" % (self.node, text))

    def __repr__(self) -> str:
        return "RpcResult(%s, %s, fail=%r)" % (self.node, self.call, self.fail_msg)


def _pinned_key(cert_file: str) -> str:
    from cryptography.hazmat.primitives import serialization
    from ganeti import crypto
    cert = crypto.load_cert(cert_file)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256//" + base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


class RpcClient:
    """Call procedures on many nodes in parallel."""

    def __init__(self, cert_file: str = pathutils.NODED_CERT_FILE,
                 port: int = constants.DEFAULT_NODED_PORT):
        self._cert = cert_file
        self._port = port
        self._pin: str | None = None
        self._pool: dict[str, list] = {}
        self._lock = threading.Lock()

    def _get_handle(self, address: str):
        import pycurl
        with self._lock:
            handles = self._pool.get(address)
            if handles:
                return handles.pop()
            if self._pin is None:
                self._pin = _pinned_key(self._cert)
        curl = pycurl.Curl()
        curl.setopt(pycurl.SSLCERT, self._cert)
        curl.setopt(pycurl.SSLCERTTYPE, "PEM")
        curl.setopt(pycurl.SSLKEY, self._cert)
        curl.setopt(pycurl.SSLKEYTYPE, "PEM")
        curl.setopt(pycurl.CAINFO, self._cert)
        curl.setopt(pycurl.SSL_VERIFYPEER, 1)
        curl.setopt(pycurl.SSL_VERIFYHOST, 0)
        curl.setopt(pycurl.PINNEDPUBLICKEY, self._pin)
        curl.setopt(pycurl.SSLVERSION, pycurl.SSLVERSION_TLSv1_2)
        curl.setopt(pycurl.NOSIGNAL, 1)
        curl.setopt(pycurl.TCP_NODELAY, 1)
        curl.setopt(pycurl.CONNECTTIMEOUT, constants.RPC_CONNECT_TIMEOUT)
        curl.setopt(pycurl.HTTPHEADER, ["Content-Type: application/json", "Expect:"])
        curl.setopt(pycurl.POST, 1)
        return curl

    def _put_handle(self, address: str, curl) -> None:
        with self._lock:
            self._pool.setdefault(address, []).append(curl)

    def call(self, procedure: str, nodes: list, args: list,
             timeout: float | None = None) -> dict[str, RpcResult]:
        import pycurl
        if procedure not in defs.PROCEDURES:
            raise errors.ProgrammerError("Unknown RPC procedure %s" % procedure)
        body = json.dumps(args).encode("utf-8")
        tmo = timeout if timeout is not None else defs.timeout_of(procedure)
        results: dict[str, RpcResult] = {}
        pending = []
        for name, address, offline in nodes:
            if offline and not defs.accepts_offline(procedure):
                results[name] = RpcResult(name, procedure, fail_msg="Node is marked offline",
                                          offline=True)
                continue
            curl = self._get_handle(address)
            buf = _io.BytesIO()
            host = "[%s]" % address if ":" in address else address
            curl.setopt(pycurl.URL, "https://%s:%d/%s" % (host, self._port, procedure))
            curl.setopt(pycurl.POSTFIELDS, body)
            curl.setopt(pycurl.WRITEDATA, buf)
            curl.setopt(pycurl.TIMEOUT, int(max(1, tmo)))
            pending.append((name, address, curl, buf))
        if not pending:
            return results
        multi = pycurl.CurlMulti()
        for _, _, curl, _ in pending:
            multi.add_handle(curl)
        while True:
            ret, active = multi.perform()
            if ret != pycurl.E_CALL_MULTI_PERFORM:
                break
        while active:
            multi.select(1.0)
            while True:
                ret, active = multi.perform()
                if ret != pycurl.E_CALL_MULTI_PERFORM:
                    break
        failed = {}
        while True:
            _queued, _ok, errs = multi.info_read()
            for curl, code, msg in errs:
                failed[id(curl)] = "Error %d: %s" % (code, msg)
            if not _queued:
                break
        for name, address, curl, buf in pending:
            multi.remove_handle(curl)
            error = failed.get(id(curl))
            if error is None:
                status = curl.getinfo(pycurl.RESPONSE_CODE)
                raw = buf.getvalue()
                if status != 200:
                    try:
                        detail = json.loads(raw).get("message", raw[:200].decode())
                    except (ValueError, AttributeError):
                        detail = raw[:200].decode(errors="replace")
                    results[name] = RpcResult(name, procedure,
                                              fail_msg="Error %s: %s" % (status, detail))
                else:
                    try:
                        results[name] = RpcResult(name, procedure, json.loads(raw))
                    except ValueError as err:
                        results[name] = RpcResult(name, procedure,
                                                  fail_msg="Invalid JSON answer: %s" % err)
                self._put_handle(address, curl)
            else:
                results[name] = RpcResult(name, procedure, fail_msg=error)
                curl.close()
        multi.close()
        return results
