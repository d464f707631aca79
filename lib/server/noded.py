"""ganeti-noded: the node daemon (HTTPS, cluster certificate both ways).

Every request is ``POST /<procedure>`` with a JSON list of arguments; the
answer is ``[true, payload]`` or ``[false, message]``. Only a client that
presents the cluster certificate itself is served; anything else is
refused and logged. Backend functions block, so they run in a thread
pool.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
import logging
import ssl
import threading

from ganeti import constants, errors, pathutils
from ganeti.backend import files, hooks, node, os_defs

# procedure -> node-side function (the RPC table in rpc/defs.py must list it too)
PROCEDURES = {
    "version": node.version,
    "node_info": node.node_info,
    "node_verify": node.node_verify,
    "node_verify_light": node.node_verify,
    "node_has_ip_address": node.node_has_ip_address,
    "test_delay": node.test_delay,
    "master_node_name": node.master_node_name,
    "get_watcher_pause": node.get_watcher_pause,
    "set_watcher_pause": node.set_watcher_pause,
    "get_file_info": node.get_file_info,
    "upload_file": files.upload_file,
    "write_ssconf_files": files.write_ssconf_files,
    "jobqueue_update": files.jobqueue_update,
    "jobqueue_rename": files.jobqueue_rename,
    "jobqueue_purge": files.jobqueue_purge,
    "jobqueue_set_drain_flag": files.jobqueue_set_drain_flag,
    "os_diagnose": os_defs.os_diagnose,
    "hooks_runner": hooks.hooks_runner,
}


def _arity(fn) -> tuple[int, int]:
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(1 for p in params if p.default is p.empty)
    return required, len(params)


_ARITY = {name: _arity(fn) for name, fn in PROCEDURES.items()}


def _log_tls_refusals() -> None:
    """Log TLS handshake failures (e.g. a client with a foreign certificate).

    asyncio reports handshake errors only in debug mode; a refused peer
    must be visible in the node daemon log, so wrap the SSL protocol's
    error path once.
    """
    from asyncio import sslproto
    orig = getattr(sslproto.SSLProtocol, "_fatal_error", None)
    if orig is None or getattr(orig, "_ganeti_wrapped", False):
        return

    def _fatal_error(self, exc, message="Fatal error on transport"):
        if isinstance(exc, ssl.SSLError):
            transport = getattr(self, "_transport", None)
            peer = transport.get_extra_info("peername") if transport is not None else None
            logging.warning("Refused connection from %s: TLS handshake failed (%s)", peer,
                            getattr(exc, "reason", None) or exc)
        return orig(self, exc, message)

    _fatal_error._ganeti_wrapped = True  # type: ignore[attr-defined]
    sslproto.SSLProtocol._fatal_error = _fatal_error


def make_ssl_context(cert_file: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file)
    ctx.load_verify_locations(cert_file)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


class NodeDaemon:
    def __init__(self, bind: str, port: int, cert_file: str = pathutils.NODED_CERT_FILE,
                 use_ssl: bool = True):
        self.bind = bind
        self.port = port
        self.cert_file = cert_file
        self.use_ssl = use_ssl
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=20,
                                                           thread_name_prefix="noded")
        self._cluster_der: bytes | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None

    def _load_cert(self) -> None:
        from ganeti import crypto
        self._cluster_der = crypto.load_cert_der(self.cert_file)

    async def _handle(self, request):
        from aiohttp import web
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if self.use_ssl:
            sslobj = request.transport.get_extra_info("ssl_object") if request.transport \
                else None
            der = sslobj.getpeercert(binary_form=True) if sslobj else None
            if der is None or der != self._cluster_der:
                logging.warning("Refused request from %s: %s client certificate", peer,
                                "no" if der is None else "wrong")
                return web.json_response({"message": "Client certificate required"},
                                         status=403)
        if request.method != "POST":
            return web.json_response({"message": "Method %s not allowed, use POST" %
                                      request.method}, status=400)
        procedure = request.match_info["proc"]
        fn = PROCEDURES.get(procedure)
        if fn is None:
            return web.json_response({"message": "Unknown procedure '%s'" % procedure},
                                     status=404)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"message": "Request body too large"}, status=400)
        try:
            args = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as err:
            return web.json_response({"message": "Invalid JSON body: %s" % err}, status=400)
        if not isinstance(args, list):
            return web.json_response({"message": "Body must be a JSON list of arguments"},
                                     status=400)
        lo, hi = _ARITY[procedure]
        if not lo <= len(args) <= hi:
            return web.json_response({"message": "Procedure %s takes %s arguments, %d given"
                                      % (procedure, lo if lo == hi else "%d-%d" % (lo, hi),
                                         len(args))}, status=400)
        loop = asyncio.get_running_loop()
        try:
            payload = await loop.run_in_executor(self._pool, lambda: fn(*args))
            answer = [True, payload]
        except errors.GenericError as err:
            msg = str(err.args[0]) if len(err.args) == 1 else str(err)
            logging.info("RPC %s failed: %s", procedure, msg)
            answer = [False, msg]
        except (TypeError, ValueError, KeyError) as err:
            logging.warning("RPC %s: invalid arguments: %s", procedure, err, exc_info=True)
            answer = [False, "Invalid arguments for %s: %s" % (procedure, err)]
        except Exception as err:
            logging.exception("RPC %s: error in backend function", procedure)
            answer = [False, "Error while executing backend function: %s" % err]
        return web.json_response(answer, dumps=lambda d: json.dumps(d))

    def _exception_handler(self, loop, context) -> None:
        exc = context.get("exception")
        msg = context.get("message", "")
        if isinstance(exc, ssl.SSLError) or "SSL" in msg or "handshake" in msg.lower():
            peer = None
            transport = context.get("transport")
            if transport is not None:
                try:
                    peer = transport.get_extra_info("peername")
                except Exception:  # transport may be half-closed
                    peer = None
            logging.warning("Refused connection from %s: TLS handshake failed (%s)", peer,
                            exc or msg)
            return
        loop.default_exception_handler(context)

    async def _serve(self) -> None:
        from aiohttp import web
        app = web.Application(client_max_size=constants.RPC_MAX_BODY)
        app.router.add_route("*", "/{proc}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        ctx = make_ssl_context(self.cert_file) if self.use_ssl else None
        site = web.TCPSite(self._runner, self.bind, self.port, ssl_context=ctx,
                           reuse_address=True)
        await site.start()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(self._exception_handler)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as err:
            self._start_error = err
            self._started.set()
            return
        self._started.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup())
        loop.close()

    def start(self) -> None:
        if self.use_ssl:
            self._load_cert()
            _log_tls_refusals()
        self._thread = threading.Thread(target=self._run, name="noded-http", daemon=True)
        self._thread.start()
        self._started.wait(30)
        if self._start_error is not None:
            raise errors.GenericError("Cannot listen on %s:%d: %s" % (
                self.bind, self.port, self._start_error))
        logging.info("ganeti-noded listening on %s:%d", self.bind, self.port)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._pool.shutdown(wait=False)


def main(argv: list[str] | None = None) -> int:
    from ganeti import daemon
    parser = daemon.make_parser("ganeti-noded", "Ganeti node daemon")
    parser.add_argument("-b", "--bind", default="0.0.0.0", help="Address to listen on")
    parser.add_argument("-p", "--port", type=int, default=constants.DEFAULT_NODED_PORT,
                        help="Port to listen on")
    parser.add_argument("--no-ssl", action="store_true", help="Disable TLS (debugging only)")
    parser.add_argument("--no-mlock", action="store_true", help="Accepted for compatibility")
    parser.add_argument("-i", "--interface", default=None, help="Accepted for compatibility")
    opts = parser.parse_args(argv)
    return daemon.run_daemon("ganeti-noded", opts,
                             NodeDaemon(opts.bind, opts.port, use_ssl=not opts.no_ssl))
