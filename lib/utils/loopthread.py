"""An asyncio event loop on a thread of its own, for the HTTPS daemons.

The daemons' main thread stays free for signals (SIGHUP, SIGTERM) while the
loop serves; start() reports a failing set-up (a busy port, say) to the
caller instead of dying inside the thread.
"""

from __future__ import annotations

import asyncio
import socket
import threading

from ganeti import errors


class LoopThread:
    """Subclasses implement ``_setup`` and ``_teardown`` (coroutines)."""

    THREAD_NAME = "http"

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None

    async def _setup(self) -> None:
        raise NotImplementedError

    async def _teardown(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._setup())
        except BaseException as err:  # reported to start_loop() through the event
            self._start_error = err
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._teardown())
            loop.close()

    def start_loop(self, bind: str, port: int) -> None:
        """Run the loop thread; raise GenericError if its set-up failed."""
        self._thread = threading.Thread(target=self._run, name=self.THREAD_NAME, daemon=True)
        self._thread.start()
        self._started.wait(60)
        if self._start_error is not None:
            err = self._start_error
            raise errors.GenericError("Can't listen on %s:%d: %s" % (
                bind, port, err.strerror if isinstance(err, OSError) else err))

    @staticmethod
    def listen_socket(bind: str, port: int) -> socket.socket:
        """A non-blocking TCP listener on ``bind:port`` (IPv6 if the address says so)."""
        family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((bind, port))
            sock.listen(128)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    def stop_loop(self, join_timeout: float = 15) -> None:
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(join_timeout)
