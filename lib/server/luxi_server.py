"""The LUXI server: Unix sockets, ETX framing, one thread per client.

Requests are decoded and checked here (shape, method name, argument
count, size); the master's method table does the work. A malformed or
oversized request gets an error answer naming the problem, is logged,
and changes nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import socketserver
import threading
from typing import Any, Callable

from ganeti import constants, errors, luxi
from ganeti.utils import memory

Handler = Callable[..., Any]


class _ClientHandler(socketserver.BaseRequestHandler):
    server: "_Server"

    def handle(self) -> None:
        sock: socket.socket = self.request
        buf = bytearray()
        start = 0             # bytes before this offset hold no ETX
        while not self.server.stopping:
            idx = buf.find(luxi.ETX, start)
            if idx < 0:
                start = len(buf)
                if len(buf) > constants.LUXI_MAX_MESSAGE:
                    logging.warning("LUXI: request larger than %d bytes, closing connection",
                                    constants.LUXI_MAX_MESSAGE)
                    self._send(luxi.format_response(False, [
                        "ProtocolError", ["Request too large (limit %d bytes)" %
                                          constants.LUXI_MAX_MESSAGE]]))
                    return
                try:
                    chunk = sock.recv(1 << 16)
                except OSError:
                    return
                if not chunk:
                    return
                buf += chunk
                continue
            msg = bytes(buf[:idx])
            del buf[:idx + 1]
            start = 0
            # no collector passes while a request builds its answer: a big query
            # allocates millions of objects, all freed again once it is encoded
            with memory.gc_paused():
                answer = self.server.dispatch(msg)
            if not self._send(answer):
                return

    def _send(self, data: bytes) -> bool:
        try:
            self.request.sendall(data)
            return True
        except OSError:
            return False


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, path: str, dispatch: Callable[[bytes], bytes]):
        self.stopping = False
        self.dispatch = dispatch
        super().__init__(path, _ClientHandler)


class LuxiServer:
    """Serve LUXI on one or more socket paths with one method table."""

    def __init__(self, paths: list[str], methods: dict[str, Handler]):
        self._methods = methods
        self._servers: list[_Server] = []
        for path in paths:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            srv = _Server(path, self.dispatch)
            os.chmod(path, 0o660)
            self._servers.append(srv)
        self._threads: list[threading.Thread] = []

    def dispatch(self, msg: bytes) -> bytes:
        try:
            method, args, _version = luxi.parse_request(msg)
            handler = self._methods.get(method)
            if handler is None or method not in luxi.METHODS:
                raise errors.ProtocolError("Unknown LUXI method '%s'" % method)
            lo, hi = luxi.METHODS[method]
            if not lo <= len(args) <= hi:
                raise errors.ProtocolError(
                    "LUXI method %s takes %s arguments, %d given" %
                    (method, lo if lo == hi else "%d-%d" % (lo, hi), len(args)))
            result = handler(*args)
            return luxi.format_response(True, result)
        except errors.GenericError as err:
            if isinstance(err, errors.ProtocolError):
                logging.warning("LUXI: bad request: %s", err)
            return luxi.format_response(False, errors.encode_exception(err))
        except (TypeError, ValueError, KeyError) as err:
            logging.warning("LUXI: invalid arguments: %s", err, exc_info=True)
            return luxi.format_response(False, ["ProtocolError",
                                                ["Invalid arguments: %s" % err]])
        except Exception as err:  # never let a client kill the daemon
            logging.exception("LUXI: error while handling request")
            return luxi.format_response(False, errors.encode_exception(
                errors.OpExecError("Internal error: %s" % err)))

    def start(self) -> None:
        for srv in self._servers:
            thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.5},
                                      name="luxi-%s" % os.path.basename(srv.server_address),
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        for srv in self._servers:
            srv.stopping = True
            srv.shutdown()
            srv.server_close()
            try:
                os.unlink(srv.server_address)
            except OSError:
                pass
