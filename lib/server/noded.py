"""ganeti-noded: the node daemon (HTTPS RPC server, cluster certificate both ways).

Every request is ``POST /<procedure>`` with a JSON list of positional
arguments; the answer is ``200 [true, payload]`` or ``200 [false,
message]``. Malformed requests get 400/404 with a JSON error body.

Only a client presenting the cluster certificate itself is served. A
client certificate not issued by the cluster key fails the TLS handshake;
a connection without one, or with one that is not byte-for-byte the
cluster certificate, completes TLS but every request on it gets 403, so
that a human poking with curl sees why. Both are logged with the peer's
address. Connections are accepted by our own loop (``sock_accept`` +
``connect_accepted_socket``) rather than by ``create_server(ssl=...)``,
because asyncio swallows handshake failures of servers silently.

Backend functions block (files, subprocesses), so they run in a thread
pool; the event loop only parses and answers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import signal
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from ganeti import constants, errors, pathutils, serializer
from ganeti.backend import (daemons, files, hooks, iallocator, instance, jobqueue, master_ip,
                            network, node, os_defs, verify)
from ganeti.rpc import defs
from ganeti.utils.loopthread import LoopThread

# procedure -> node-side function; rpc/defs.py has the matching table row
BACKEND: dict[str, Callable[..., Any]] = {
    "version": node.version,
    "node_info": node.node_info,
    "node_verify": verify.node_verify,
    "node_verify_light": verify.node_verify,
    "node_has_ip_address": network.node_has_ip_address,
    "node_ensure_daemon": daemons.node_ensure_daemon,
    "node_start_master_daemons": daemons.node_start_master_daemons,
    "node_stop_master": daemons.node_stop_master,
    "node_activate_master_ip": master_ip.node_activate_master_ip,
    "node_deactivate_master_ip": master_ip.node_deactivate_master_ip,
    "node_leave_cluster": daemons.node_leave_cluster,
    "master_node_name": node.master_node_name,
    "etc_hosts_modify": network.etc_hosts_modify,
    "bridges_exist": network.bridges_exist,
    "get_watcher_pause": node.get_watcher_pause,
    "set_watcher_pause": node.set_watcher_pause,
    "get_file_info": node.get_file_info,
    "test_delay": node.test_delay,
    "upload_file": files.upload_file,
    "upload_file_single": files.upload_file,
    "write_ssconf_files": files.write_ssconf_files,
    "jobqueue_update": jobqueue.jobqueue_update,
    "jobqueue_rename": jobqueue.jobqueue_rename,
    "jobqueue_purge": jobqueue.jobqueue_purge,
    "jobqueue_set_drain_flag": jobqueue.jobqueue_set_drain_flag,
    "os_diagnose": os_defs.os_diagnose,
    "hooks_runner": hooks.hooks_runner,
    "iallocator_runner": iallocator.iallocator_runner,
    "instance_start": instance.instance_start,
    "instance_shutdown": instance.instance_shutdown,
    "instance_reboot": instance.instance_reboot,
    "instance_info": instance.instance_info,
    "all_instances_info": instance.all_instances_info,
    "instance_list": instance.instance_list,
    "instance_os_add": instance.instance_os_add,
    "instance_run_rename": instance.instance_run_rename,
    "hypervisor_validate_params": instance.hypervisor_validate_params,
    "instance_cleanup": instance.instance_cleanup,
    "blockdev_create": instance.blockdev_create,
    "blockdev_remove": instance.blockdev_remove,
    "blockdev_assemble": instance.blockdev_assemble,
    "blockdev_shutdown": instance.blockdev_shutdown,
    "blockdev_find": instance.blockdev_find,
    "blockdev_getmirrorstatus": instance.blockdev_getmirrorstatus,
    "blockdev_getdimensions": instance.blockdev_getdimensions,
    "blockdev_grow": instance.blockdev_grow,
    "blockdev_wipe": instance.blockdev_wipe,
    "blockdev_setinfo": instance.blockdev_setinfo,
    "file_storage_dir_create": instance.file_storage_dir_create,
    "file_storage_dir_remove": instance.file_storage_dir_remove,
    "file_storage_dir_rename": instance.file_storage_dir_rename,
    "os_validate": instance.os_validate,
}

HANDSHAKE_TIMEOUT = 10.0
KEEPALIVE_TIMEOUT = 300.0
DEFAULT_WORKERS = 64
_QUIT_DELAY = 0.2


def make_ssl_context(cert_file: str) -> ssl.SSLContext:
    """TLS 1.2+ server context demanding a client certificate from the cluster key."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_file)
    ctx.load_verify_locations(cafile=cert_file)
    # OPTIONAL: a missing certificate is answered with 403 (clearer than a TLS
    # alert); a certificate not issued by the cluster key still fails here
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def _peer_str(peer: Any) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return "%s:%s" % (peer[0], peer[1])
    return str(peer)


def _handshake_refusal(err: BaseException) -> str | None:
    """Why a handshake failed, or None for a peer that just went away."""
    if isinstance(err, ssl.SSLCertVerificationError):
        return "wrong client certificate (%s)" % (err.verify_message or err.reason)
    if isinstance(err, ssl.SSLError):
        if err.reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE":
            return "no client certificate"
        return "TLS handshake failed (%s)" % (err.reason or err)
    if isinstance(err, (asyncio.TimeoutError, TimeoutError)):
        return "TLS handshake timed out"
    return None


class _Gate(asyncio.Protocol):
    """Protocol of a fresh TLS connection until its peer certificate is checked.

    Data arriving in between is held back and replayed to the HTTP handler
    once :meth:`attach` hands the connection over.
    """

    def __init__(self) -> None:
        self._target: asyncio.Protocol | None = None
        self._buffer: list[bytes] = []
        self._eof = False
        self._lost = False

    def attach(self, target: asyncio.Protocol, transport: asyncio.BaseTransport) -> None:
        if self._lost:
            return
        target.connection_made(transport)
        self._target = target
        for chunk in self._buffer:
            target.data_received(chunk)
        self._buffer = []
        if self._eof:
            target.eof_received()

    def data_received(self, data: bytes) -> None:
        if self._target is not None:
            self._target.data_received(data)
        else:
            self._buffer.append(data)

    def eof_received(self) -> bool | None:
        if self._target is not None:
            return self._target.eof_received()
        self._eof = True
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._target is not None:
            self._target.connection_lost(exc)
        self._lost = True

    def pause_writing(self) -> None:
        if self._target is not None:
            self._target.pause_writing()

    def resume_writing(self) -> None:
        if self._target is not None:
            self._target.resume_writing()


def _error(status: int, message: str) -> Any:
    from aiohttp import web
    body = serializer.dumps({"code": status, "message": message})
    return web.Response(status=status, text=body, content_type="application/json")


class NodeDaemon(LoopThread):
    """The HTTPS RPC server; runs its event loop in a thread of its own."""

    THREAD_NAME = "noded-http"

    def __init__(self, bind: str = "0.0.0.0", port: int = constants.DEFAULT_NODED_PORT,
                 cert_file: str = pathutils.NODED_CERT_FILE, use_ssl: bool = True,
                 max_workers: int = DEFAULT_WORKERS,
                 on_quit: Callable[[], None] | None = None):
        super().__init__()
        self.bind = bind
        self.port = port
        self.cert_file = cert_file
        self.use_ssl = use_ssl
        self._on_quit = on_quit or (lambda: os.kill(os.getpid(), signal.SIGTERM))
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max_workers,
                                                           thread_name_prefix="noded-rpc")
        self._runner: Any = None
        self._lsock: socket.socket | None = None
        self._ssl_ctx: ssl.SSLContext | None = None
        self._cluster_der: bytes | None = None
        self._cert_stamp: tuple[int, int, int] | None = None
        self._tasks: set[asyncio.Task] = set()
        self._quitting = False

    # -- request handling -------------------------------------------------
    def _refusal(self, transport: Any) -> str | None:
        """None if the peer presented the cluster certificate, else why not."""
        if self._cluster_der is None:  # --no-ssl
            return None
        sslobj = transport.get_extra_info("ssl_object") if transport is not None else None
        der = sslobj.getpeercert(binary_form=True) if sslobj is not None else None
        if der is None:
            return "no client certificate"
        if der != self._cluster_der:
            from ganeti import crypto
            return ("wrong client certificate (SHA1 %s is not the cluster certificate)"
                    % crypto.der_digest(der))
        return None

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web
        refusal = self._refusal(request.transport)
        if refusal is not None:
            logging.warning("Refused request %s %s from %s: %s", request.method,
                            request.path, request.remote, refusal)
            return _error(403, "Access denied: %s; the cluster certificate is required"
                          % refusal)
        if request.method != "POST":
            return _error(400, "Method %s not supported, use POST" % request.method)
        procedure = request.match_info.get("proc", "")
        fn = BACKEND.get(procedure)
        if fn is None or procedure not in defs.PROCEDURES:
            return _error(404, "Unknown procedure '%s'" % procedure)
        if (request.content_length or 0) > constants.RPC_MAX_BODY:
            return _error(400, "Request body too large (limit %d bytes)"
                          % constants.RPC_MAX_BODY)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error(400, "Request body too large (limit %d bytes)"
                          % constants.RPC_MAX_BODY)
        try:
            args = serializer.loads(raw)
        except (ValueError, UnicodeDecodeError) as err:
            return _error(400, "Invalid JSON in request body: %s" % err)
        if not isinstance(args, list):
            return _error(400, "Request body must be a JSON list of arguments")
        want = defs.arg_count(procedure)
        if len(args) != want:
            return _error(400, "Wrong number of arguments for %s: expected %d, got %d"
                          % (procedure, want, len(args)))
        start = time.monotonic()
        body = await asyncio.get_running_loop().run_in_executor(
            self._pool, self._execute, procedure, fn, args)
        if logging.getLogger().isEnabledFor(logging.DEBUG):
            logging.debug("RPC %s from %s: %d bytes in %.1f ms", procedure, request.remote,
                          len(body), (time.monotonic() - start) * 1000)
        return web.Response(text=body, content_type="application/json")

    def _execute(self, procedure: str, fn: Callable[..., Any], args: list) -> str:
        """Run one backend function and encode ``[ok, payload or message]``.

        Encoding happens here, in the worker thread, so that large answers
        do not stall the event loop and unencodable ones become errors.
        """
        answer = self._call(procedure, fn, args)
        try:
            return serializer.dumps(answer)
        except (TypeError, ValueError) as err:
            logging.error("Result of %s cannot be encoded as JSON: %s", procedure, err)
            return serializer.dumps([False, "Error while executing backend function:"
                                     " result not serializable: %s" % err])

    def _call(self, procedure: str, fn: Callable[..., Any], args: list) -> list:
        try:
            return [True, fn(*args)]
        except errors.QuitGanetiException as err:
            ok = bool(err.args[0]) if err.args else True
            msg = err.args[1] if len(err.args) > 1 else "Shutdown scheduled"
            logging.info("Procedure %s asks the node daemon to shut down: %s", procedure, msg)
            self._schedule_quit()
            return [bool(ok), msg]
        except errors.GenericError as err:
            msg = err.args[0] if len(err.args) >= 1 and isinstance(err.args[0], str) \
                else str(err)
            logging.info("RPC %s failed: %s", procedure, msg)
            return [False, msg]
        except Exception as err:
            logging.exception("Error while executing backend function %s", procedure)
            return [False, "Error while executing backend function: %s" % (str(err) or
                                                                          type(err).__name__)]

    def _schedule_quit(self) -> None:
        if self._quitting or self._loop is None:
            return
        self._quitting = True
        self._loop.call_soon_threadsafe(self._loop.call_later, _QUIT_DELAY, self._on_quit)

    # -- connections ------------------------------------------------------
    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._lsock is not None
        while True:
            try:
                sock, peer = await loop.sock_accept(self._lsock)
            except asyncio.CancelledError:
                raise
            except OSError as err:  # e.g. EMFILE: back off instead of spinning
                logging.error("accept() failed: %s", err)
                await asyncio.sleep(0.1)
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = loop.create_task(self._serve_connection(sock, peer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve_connection(self, sock: socket.socket, peer: Any) -> None:
        loop = asyncio.get_running_loop()
        gate = _Gate()
        self._maybe_reload_cert()  # one stat() per new connection
        try:
            transport, _ = await loop.connect_accepted_socket(
                lambda: gate, sock, ssl=self._ssl_ctx,
                ssl_handshake_timeout=HANDSHAKE_TIMEOUT if self._ssl_ctx else None)
        except asyncio.CancelledError:
            sock.close()
            raise
        except Exception as err:
            sock.close()
            reason = _handshake_refusal(err)
            if reason is None:
                logging.debug("Connection from %s closed during TLS handshake: %r",
                              _peer_str(peer), err)
            else:
                logging.warning("Refused connection from %s: %s", _peer_str(peer), reason)
            return
        refusal = self._refusal(transport)
        if refusal is not None:  # its requests get 403 from _handle
            logging.warning("Refused connection from %s: %s", _peer_str(peer), refusal)
        gate.attach(self._runner.server(), transport)

    # -- lifecycle --------------------------------------------------------
    def _listen(self) -> socket.socket:
        return self.listen_socket(self.bind, self.port)

    async def _setup(self) -> None:
        from aiohttp import web
        app = web.Application(client_max_size=constants.RPC_MAX_BODY)
        app.router.add_route("*", "/{proc:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     keepalive_timeout=KEEPALIVE_TIMEOUT)
        await self._runner.setup()
        self._lsock = self._listen()
        task = asyncio.get_running_loop().create_task(self._accept_loop())
        self._tasks.add(task)

    async def _teardown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._lsock is not None:
            self._lsock.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _load_cert(self) -> None:
        from ganeti import crypto
        st = os.stat(self.cert_file)
        der = crypto.load_cert_der(self.cert_file)
        ctx = make_ssl_context(self.cert_file)
        self._cluster_der, self._ssl_ctx = der, ctx
        self._cert_stamp = (st.st_ino, st.st_size, st.st_mtime_ns)

    def _maybe_reload_cert(self) -> None:
        """Pick up a cluster certificate replaced by upload_file (renew-crypto)."""
        if self._ssl_ctx is None:
            return
        try:
            st = os.stat(self.cert_file)
            if (st.st_ino, st.st_size, st.st_mtime_ns) == self._cert_stamp:
                return
            self._load_cert()
            logging.info("Cluster certificate %s changed, reloaded", self.cert_file)
        except (OSError, ValueError, ssl.SSLError) as err:
            logging.error("Can't reload the cluster certificate %s, keeping the old one: %s",
                          self.cert_file, err)

    def start(self) -> None:
        """Load the certificate, bind and serve; raises if any of it fails."""
        if self.use_ssl:
            try:
                self._load_cert()
            except (OSError, ValueError, ssl.SSLError) as err:
                raise errors.GenericError("Can't load the cluster certificate %s: %s"
                                          % (self.cert_file, err))
        self.start_loop(self.bind, self.port)
        logging.info("Listening on %s:%d (%s)", self.bind, self.port,
                     "TLS, cluster certificate required" if self.use_ssl else "NO TLS")

    def stop(self) -> None:
        self.stop_loop()
        self._pool.shutdown(wait=False, cancel_futures=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``ganeti-noded``."""
    from ganeti import daemon
    parser = daemon.make_parser("ganeti-noded", "Ganeti node daemon",
                                default_port=constants.DEFAULT_NODED_PORT, ssl_option=True)
    parser.add_argument("-i", "--interface", default=None,
                        help="Accepted for compatibility (use --bind)")
    parser.add_argument("--no-mlock", action="store_true",
                        help="Accepted for compatibility (memory is never locked)")
    parser.add_argument("--max-clients", type=int, default=DEFAULT_WORKERS,
                        help="Number of requests executed in parallel [%(default)s]")
    opts = daemon.parse_options(parser, argv)
    if opts.max_clients < 1:
        parser.error("--max-clients must be positive")
    server = NodeDaemon(opts.bind, opts.port, use_ssl=not opts.no_ssl,
                        max_workers=opts.max_clients)
    return daemon.run_daemon(constants.NODED, opts, server)
