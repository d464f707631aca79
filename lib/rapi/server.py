"""ganeti-rapi: the HTTPS server of the remote API (spec/rapi.md §1–3).

Requests are routed by the resource table (:data:`ganeti.rapi.resources.
RESOURCES`), checked in upstream's order (unknown path 404, unknown method
501, then authentication 401/403, then the body 411/413/415/400) and handed
to the resource's handler in a worker thread, because handlers block on
LUXI. Each worker thread keeps one LUXI connection open (see
:class:`LuxiPool`), so a busy client does not cost the master daemon a
connect per request.

A slow or hostile client cannot stall the daemon: the TLS handshake, the
request head and the body each have a deadline, bodies are limited in size
and checked before they are read, connections are counted, and a request
that is answered before its body was read closes the connection instead of
draining gigabytes. Errors never leave as tracebacks: every answer is JSON
``{"code", "message", "explain"}`` like upstream's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import os
import socket
import ssl
import threading
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote_to_bytes

from ganeti import constants, errors, pathutils, serializer
from ganeti.rapi import auth as rapi_auth
from ganeti.rapi.base import (Context, Method, RapiError, RawJson, Resource,
                              ganeti_error_status)
from ganeti.utils import memory
from ganeti.utils.loopthread import LoopThread

MAX_BODY = 1 << 20              # bytes; bigger bodies get 413 without being read
HANDSHAKE_TIMEOUT = 10.0        # seconds for the TLS handshake
HEAD_TIMEOUT = 10.0             # seconds from a request's first byte to its complete head
BODY_TIMEOUT = 30.0             # seconds to receive a body
KEEPALIVE_TIMEOUT = 60.0        # idle keep-alive connections are closed after this
MAX_CONNECTIONS = 512           # open connections; more are closed at once
DEFAULT_MAX_CLIENTS = 20        # requests executed in parallel (worker threads)
SERVER_HEADER = "Ganeti %s" % constants.RELEASE_VERSION
OPENAPI_PATH = "/2/openapi.json"
RAPI_VERSION = 2
_JSON = json.JSONEncoder()      # upstream's separators: {"code": 404, "message": ...}


# -- resource table ---------------------------------------------------------------
def _builtin_resources() -> list[Resource]:
    """Legacy entry points every RAPI answers, used when the table lacks them."""
    return [
        Resource("/", "root", {"GET": Method(lambda ctx: None, "Legacy root (null)")}),
        Resource("/2", "2", {"GET": Method(lambda ctx: None, "Legacy version 2 root (null)")}),
        Resource("/version", "version",
                 {"GET": Method(lambda ctx: RAPI_VERSION, "RAPI version (2)",
                                returns={"type": "integer"})}),
    ]


def load_resources() -> list[Resource]:
    """The real resource table, imported lazily (it is written separately).

    Until ``ganeti.rapi.resources`` exists the daemon serves the legacy
    entry points only, which is logged, so that a node can still run it.
    """
    try:
        from ganeti.rapi import resources
    except ModuleNotFoundError as err:
        if err.name != "ganeti.rapi.resources":
            raise
        logging.error("ganeti.rapi.resources is missing; serving only /, /2 and /version")
        return []
    return list(resources.RESOURCES)


def with_builtins(resources: list[Resource]) -> list[Resource]:
    have = {r.path for r in resources}
    return list(resources) + [r for r in _builtin_resources() if r.path not in have]


def _decode_segment(raw: str) -> str | None:
    """A percent-decoded path segment, None if it cannot name anything.

    Rejecting ``/``, ``.``/``..`` and control characters after decoding
    keeps ``..%2f..%2fetc`` from ever reaching a handler as a name.
    """
    try:
        seg = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not seg or seg in (".", "..") or "/" in seg or any(ord(c) < 32 or ord(c) == 127
                                                          for c in seg):
        return None
    return seg


class Router:
    """Matches request paths against the table's path templates."""

    def __init__(self, resources: list[Resource]):
        # by number of segments: [(template segments, resource)]; literals first
        self._routes: dict[int, list[tuple[tuple[str, ...], Resource]]] = {}
        seen: set[str] = set()
        for res in resources:
            if res.path in seen:
                raise errors.ProgrammerError("Duplicate RAPI path %s" % res.path)
            seen.add(res.path)
            segs = tuple(s for s in res.path.split("/") if s)
            self._routes.setdefault(len(segs), []).append((segs, res))
        for routes in self._routes.values():
            routes.sort(key=lambda r: sum(1 for s in r[0] if s.startswith("{")))

    def match(self, path: str) -> tuple[Resource, dict[str, str]] | None:
        if path != "/" and path.endswith("/"):
            path = path[:-1]
        if not path.startswith("/"):
            return None
        raw = path[1:].split("/") if path != "/" else []
        segs = []
        for part in raw:
            seg = _decode_segment(part)
            if seg is None:
                return None
            segs.append(seg)
        for template, res in self._routes.get(len(segs), ()):
            params: dict[str, str] = {}
            for want, got in zip(template, segs, strict=True):
                if want.startswith("{") and want.endswith("}"):
                    params[want[1:-1]] = got
                elif want != got:
                    break
            else:
                return res, params
        return None


# -- LUXI -------------------------------------------------------------------------
class LuxiPool:
    """One LUXI client per worker thread, kept open between requests.

    The pool is as big as the thread pool (``--max-clients``), which bounds
    the connections the daemon holds on the master. ``luxi.Client``
    reconnects by itself when masterd closed the connection (restart).
    """

    def __init__(self, address: str | None = None):
        self._address = address
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[Any] = []

    def client(self) -> Any:
        cl = getattr(self._local, "client", None)
        if cl is None:
            from ganeti import luxi
            cl = luxi.Client(self._address or luxi.default_address())
            self._local.client = cl
            with self._lock:
                self._clients.append(cl)
        return cl

    def close_all(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for cl in clients:
            with contextlib.suppress(Exception):
                cl.close()


# -- answers ----------------------------------------------------------------------
def error_body(err: RapiError) -> bytes:
    explain = err.explain
    if not explain:
        try:
            explain = HTTPStatus(err.code).description
        except ValueError:
            explain = ""
    return _JSON.encode({"code": err.code, "message": err.message,
                         "explain": explain}).encode("utf-8") + b"\n"


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return RapiError.REASONS.get(code, "Error")


class _Conn(asyncio.Protocol):
    """Wraps aiohttp's protocol to watch one connection for a stalled request head.

    aiohttp has no deadline for receiving a request's head; this wrapper
    notes when the first byte of a request arrives while none is being
    served, and the server's sweeper closes connections whose head does
    not complete within :data:`HEAD_TIMEOUT`.
    """

    def __init__(self, server: "RapiServer", inner: asyncio.Protocol):
        self._server = server
        self._inner = inner
        self._made = False
        self.transport: asyncio.BaseTransport | None = None
        self.waiting_since: float | None = None
        self.busy = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if len(self._server.conns) >= self._server.max_connections:
            logging.warning("Too many connections (%d), closing one from %s",
                            len(self._server.conns), transport.get_extra_info("peername"))
            transport.abort()
            return
        self._server.conns[transport] = self
        self._made = True
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._made:
            return
        if not self.busy and self.waiting_since is None:
            self.waiting_since = time.monotonic()
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._made else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._made:
            self._server.conns.pop(self.transport, None)
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._made:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._made:
            self._inner.resume_writing()

    def begin(self) -> None:
        self.busy += 1
        self.waiting_since = None

    def end(self) -> None:
        self.busy -= 1
        self.waiting_since = None


def _json_error_handler_class() -> Any:
    """aiohttp's protocol with malformed-HTTP answers in RAPI's JSON format."""
    from aiohttp import web, web_protocol

    class _Handler(web_protocol.RequestHandler):
        def handle_error(self, request: Any, status: int = 500,
                         exc: BaseException | None = None, message: str | None = None) -> Any:
            logging.warning("Malformed request from %s: %s", request.remote,
                            message or exc or _reason(status))
            err = RapiError(status, _reason(status), str(message or exc or "")[:200])
            resp = web.Response(status=status, body=error_body(err),
                                content_type="application/json",
                                headers={"Server": SERVER_HEADER})
            resp.force_close()
            return resp

    return _Handler


class RapiServer(LoopThread):
    """The RAPI HTTP(S) server; runs its event loop in a thread of its own."""

    THREAD_NAME = "rapi-http"

    def __init__(self, resources: list[Resource] | None = None, bind: str = "0.0.0.0",
                 port: int = constants.DEFAULT_RAPI_PORT, use_ssl: bool = True,
                 cert_file: str | None = None, key_file: str | None = None,
                 users_file: str | None = None, require_auth: bool = False,
                 max_clients: int = DEFAULT_MAX_CLIENTS, max_body: int = MAX_BODY,
                 luxi_address: str | None = None,
                 max_connections: int = MAX_CONNECTIONS,
                 head_timeout: float = HEAD_TIMEOUT, body_timeout: float = BODY_TIMEOUT):
        super().__init__()
        self._resources = resources
        self.bind = bind
        self.port = port
        self.use_ssl = use_ssl
        self.cert_file = cert_file or pathutils.RAPI_CERT_FILE
        self.key_file = key_file
        self.users = rapi_auth.UsersFile(users_file or pathutils.RAPI_USERS_FILE)
        self.auth = rapi_auth.Authenticator(self.users, require_auth)
        self.max_body = max_body
        self.max_connections = max_connections
        self.head_timeout = head_timeout
        self.body_timeout = body_timeout
        self.luxi = LuxiPool(luxi_address)
        self.conns: dict[asyncio.BaseTransport, _Conn] = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max_clients,
                                                           thread_name_prefix="rapi")
        self._router: Router | None = None
        self._openapi: bytes | None = None
        self._ssl_ctx: ssl.SSLContext | None = None
        self._cert_stamp: tuple | None = None
        self._runner: Any = None
        self._server: Any = None
        self._handler_cls: Any = None
        self._sweeper: asyncio.Task | None = None

    # -- TLS ------------------------------------------------------------------------
    def _cert_files(self) -> tuple[str, str]:
        return self.cert_file, self.key_file or self.cert_file

    def _stamp(self) -> tuple:
        out = []
        for path in set(self._cert_files()):
            st = os.stat(path)
            out.append((path, st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(sorted(out))

    def _new_ssl_context(self) -> ssl.SSLContext:
        cert, key = self._cert_files()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        return ctx

    def _maybe_reload_cert(self) -> None:
        """Serve a renewed certificate (renew-crypto) from the next connection on.

        The new files are first loaded into a scratch context, so a broken
        file never replaces a working certificate; then into the live
        context, which affects only connections created afterwards.
        """
        if self._ssl_ctx is None:
            return
        try:
            stamp = self._stamp()
            if stamp == self._cert_stamp:
                return
            self._new_ssl_context()
            self._ssl_ctx.load_cert_chain(*self._cert_files())
            self._cert_stamp = stamp
            logging.info("RAPI certificate %s changed, reloaded", self.cert_file)
        except (OSError, ValueError, ssl.SSLError) as err:
            logging.error("Can't reload the RAPI certificate %s, keeping the old one: %s",
                          self.cert_file, err)
            with contextlib.suppress(OSError):
                self._cert_stamp = self._stamp()  # log once per change, not per connection

    # -- requests -------------------------------------------------------------------
    def _respond(self, status: int, body: bytes, headers: dict | None = None) -> Any:
        from aiohttp import web
        hdrs = {"Server": SERVER_HEADER}
        if headers:
            hdrs.update(headers)
        return web.Response(status=status, body=body, content_type="application/json",
                            headers=hdrs)

    async def _handle(self, request: Any) -> Any:
        start = time.monotonic()
        conn = self.conns.get(request.transport)
        if conn is not None:
            conn.begin()
        state: dict[str, Any] = {"user": None, "body_read": False}
        try:
            status, body, headers = await self._serve(request, state)
        except RapiError as err:
            status, body = err.code, error_body(err)
            headers = {"WWW-Authenticate": rapi_auth.WWW_AUTHENTICATE} if err.code == 401 \
                else None
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a bug of ours; never a traceback to the client
            logging.exception("Internal error serving %s %s", request.method, request.raw_path)
            status, body, headers = 500, error_body(RapiError(500, "Internal error: %s"
                                                              % type(err).__name__)), None
        finally:
            if conn is not None:
                conn.end()
        resp = self._respond(status, body, headers)
        logging.info("%s %s %s %s %d %.1fms", request.remote, state["user"] or "-",
                     request.method, request.raw_path[:300], status,
                     (time.monotonic() - start) * 1000)
        if request.body_exists and not state["body_read"]:
            # answered before the body was read (401, 413, ...): send the answer and
            # close, instead of aiohttp's default of draining the body for 10 s
            resp.force_close()
            with contextlib.suppress(ConnectionError, RuntimeError):
                await resp.prepare(request)
                await resp.write_eof()
            request.protocol.force_close()
        return resp

    async def _serve(self, request: Any, state: dict) -> tuple[int, bytes, dict | None]:
        method = request.method.upper()
        raw = request.raw_path
        path = raw.split("?", 1)[0]
        assert self._router is not None
        if path == OPENAPI_PATH and method in ("GET", "HEAD"):
            return 200, self._openapi_body(), None
        found = self._router.match(path)
        if found is None:
            raise RapiError(404)
        resource, params = found
        meth = resource.methods.get(method)
        if meth is None and method == "HEAD":
            meth = resource.methods.get("GET")
        if meth is None:
            raise RapiError(501, "Method %s is unsupported for path %s" % (method, raw))
        access = meth.required_access(method)
        state["user"] = self.auth.authorize(request.headers.get("Authorization"), access)
        body = await self._read_body(request, state)
        query: dict[str, list[str]] = {}
        for key, value in request.query.items():
            query.setdefault(key, []).append(value)
        ctx = Context(method=method, path=path, params=params, query=query, body=body,
                      user=state["user"], resource_name=resource.name,
                      luxi_factory=self.luxi.client)
        loop = asyncio.get_running_loop()
        status, data = await loop.run_in_executor(self._pool, self._execute, meth, ctx)
        return status, data, None

    async def _read_body(self, request: Any, state: dict) -> Any:
        if not request.body_exists:
            state["body_read"] = True
            return None
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower() or \
                request.content_length is None:
            raise RapiError(411, explain="Request bodies need a Content-Length")
        if request.content_length > self.max_body:
            raise RapiError(413, explain="Request body of %d bytes exceeds the limit of %d"
                            % (request.content_length, self.max_body))
        ctype = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            raise RapiError(415, explain="Request bodies must be application/json")
        try:
            raw = await asyncio.wait_for(request.read(), self.body_timeout)
        except asyncio.TimeoutError:
            raise RapiError(408, "Request Timeout", "The request body did not arrive in time")
        state["body_read"] = True
        if not raw:
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as err:
            raise RapiError(400, "Unable to parse JSON data", str(err)[:200])

    def _execute(self, meth: Method, ctx: Context) -> tuple[int, bytes]:
        """Run a handler and encode its answer (in a worker thread).

        Encoding here keeps big answers (bulk lists) off the event loop.
        """
        try:
            # the answer's objects are freed before the collector runs again
            with memory.gc_paused():
                result = meth.handler(ctx)
                if isinstance(result, RawJson):
                    return 200, result.text.encode("utf-8") + b"\n"
                return 200, serializer.dumps_fast(result) + b"\n"
        except RapiError as err:
            return err.code, error_body(err)
        except errors.GenericError as err:
            rerr = ganeti_error_status(err)
            if rerr.code >= 500:
                logging.warning("%s %s failed: %s", ctx.method, ctx.path, rerr.message)
            return rerr.code, error_body(rerr)
        except (TypeError, ValueError, RecursionError) as err:
            logging.exception("Handler of %s %s failed", ctx.method, ctx.path)
            return 500, error_body(RapiError(500, "Internal error: %s" % err))
        except Exception as err:
            logging.exception("Handler of %s %s failed", ctx.method, ctx.path)
            return 500, error_body(RapiError(500, "Internal error: %s"
                                             % (str(err) or type(err).__name__)))

    def _openapi_body(self) -> bytes:
        if self._openapi is None:
            from ganeti.rapi import openapi
            assert self._resources is not None
            self._openapi = json.dumps(openapi.generate(self._resources)).encode("utf-8") \
                + b"\n"
        return self._openapi

    # -- connections ----------------------------------------------------------------
    def _make_protocol(self) -> asyncio.Protocol:
        self._maybe_reload_cert()  # one stat per new connection
        server = self._runner.server
        try:
            inner = self._handler_cls(server, loop=server._loop, **server._kwargs)
        except (AttributeError, TypeError):  # other aiohttp internals: plain handler
            inner = server()
        return _Conn(self, inner)

    async def _sweep(self) -> None:
        """Close connections whose request head stalls (slowloris)."""
        while True:
            await asyncio.sleep(min(1.0, self.head_timeout / 4))
            now = time.monotonic()
            for conn in list(self.conns.values()):
                since = conn.waiting_since
                if not conn.busy and since is not None and now - since > self.head_timeout:
                    logging.warning("Closing connection from %s: request head incomplete"
                                    " after %.0f s", conn.transport.get_extra_info("peername")
                                    if conn.transport else "?", now - since)
                    conn.waiting_since = None
                    if conn.transport is not None:
                        conn.transport.abort()

    def _listen(self) -> socket.socket:
        sock = self.listen_socket(self.bind, self.port)
        self.port = sock.getsockname()[1]
        return sock

    async def _setup(self) -> None:
        from aiohttp import web
        app = web.Application(client_max_size=self.max_body)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     keepalive_timeout=KEEPALIVE_TIMEOUT)
        await self._runner.setup()
        self._handler_cls = _json_error_handler_class()
        sock = self._listen()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._make_protocol, sock=sock, ssl=self._ssl_ctx,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT if self._ssl_ctx else None)
        self._sweeper = loop.create_task(self._sweep())

    async def _teardown(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            self._server.close()
        for conn in list(self.conns.values()):
            if conn.transport is not None:
                conn.transport.abort()
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner.cleanup()

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        """Load table, users and certificate, bind and serve; raises on failure."""
        if self._resources is None:
            self._resources = load_resources()
        self._resources = with_builtins(self._resources)
        self._router = Router(self._resources)
        self.users.reload()
        if self.use_ssl:
            try:
                self._ssl_ctx = self._new_ssl_context()
                self._cert_stamp = self._stamp()
            except (OSError, ValueError, ssl.SSLError) as err:
                raise errors.GenericError("Can't load the RAPI certificate %s: %s"
                                          % (self.cert_file, err))
        self.start_loop(self.bind, self.port)
        logging.info("RAPI listening on %s:%d (%s, %s)", self.bind, self.port,
                     "HTTPS" if self.use_ssl else "plain HTTP, NO TLS",
                     "authentication required" if self.auth.require_auth
                     else "anonymous reads allowed")

    def reload(self) -> None:
        """SIGHUP: re-read the users file and the certificate."""
        self.users.reload()
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(self._maybe_reload_cert)

    def stop(self) -> None:
        self.stop_loop()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.luxi.close_all()


# -- command line -----------------------------------------------------------------
def check_master() -> str | None:
    """None if this node is the master per ssconf, else why the daemon must not run.

    No voting (unlike masterd): the RAPI only forwards to masterd, which
    does its own check, and must not wait for other nodes at start-up.
    """
    from ganeti import ssconf
    return ssconf.master_mismatch()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ganeti-rapi``."""
    import sys

    from ganeti import daemon
    parser = daemon.make_parser("ganeti-rapi", "Ganeti remote API daemon",
                                default_port=constants.DEFAULT_RAPI_PORT, ssl_option=True)
    parser.add_argument("-i", "--interface", default=None,
                        help="Accepted for compatibility (use --bind)")
    parser.add_argument("-K", "--ssl-key", default=None, metavar="FILE",
                        help="SSL key file [the certificate file]")
    parser.add_argument("-C", "--ssl-cert", default=pathutils.RAPI_CERT_FILE, metavar="FILE",
                        help="SSL certificate file [%(default)s]")
    parser.add_argument("--require-authentication", action="store_true",
                        help="Require authentication for every request, reads included")
    parser.add_argument("--max-clients", type=int, default=DEFAULT_MAX_CLIENTS,
                        help="Number of requests executed in parallel [%(default)s]")
    parser.add_argument("--write-openapi", metavar="FILE", default=None,
                        help="Write the OpenAPI document to FILE ('-': stdout) and exit")
    opts = daemon.parse_options(parser, argv)
    if opts.max_clients < 1:
        parser.error("--max-clients must be positive")
    if opts.write_openapi:
        from ganeti.rapi import openapi
        try:
            openapi.write(with_builtins(load_resources()), opts.write_openapi)
        except (OSError, errors.GenericError) as err:
            sys.stderr.write("Can't write %s: %s\n" % (opts.write_openapi, err))
            return constants.EXIT_FAILURE
        return constants.EXIT_SUCCESS
    reason = check_master()
    if reason is not None:
        sys.stderr.write(reason + "\n")
        return constants.EXIT_NOTMASTER
    server = RapiServer(bind=opts.bind, port=opts.port, use_ssl=not opts.no_ssl,
                        cert_file=opts.ssl_cert, key_file=opts.ssl_key,
                        require_auth=opts.require_authentication,
                        max_clients=opts.max_clients)
    return daemon.run_daemon(constants.RAPI, opts, server)
