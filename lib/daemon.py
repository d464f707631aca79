"""Daemon plumbing shared by ganeti-noded and ganeti-masterd.

Daemonizing reports start-up success or failure back to the parent
through a pipe, so ``daemon-util start`` gets a real exit code and the
error message instead of a silently dead process.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import signal
import sys
import threading
import traceback
from typing import Protocol

from ganeti import constants, errors, pathutils


class Runner(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def make_parser(name: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=name, description=description)
    parser.add_argument("-f", "--foreground", action="store_true",
                        help="Don't detach from the current terminal")
    parser.add_argument("-d", "--debug", action="store_true", help="Enable debug messages")
    parser.add_argument("--syslog", default="no", help="Also log to syslog (ignored)")
    parser.add_argument("--no-user-checks", action="store_true",
                        help="Do not check the daemon's user (accepted for compatibility)")
    return parser


class _ReopenableHandler(logging.FileHandler):
    """A file handler whose file is reopened on SIGHUP (log rotation)."""

    def reopen(self) -> None:
        self.acquire()
        try:
            if self.stream:
                self.stream.close()
            self.stream = self._open()
        finally:
            self.release()


def setup_logging(name: str, debug: bool, foreground: bool) -> _ReopenableHandler:
    os.makedirs(pathutils.LOG_DIR, mode=0o750, exist_ok=True)
    handler = _ReopenableHandler(pathutils.daemon_logfile(name))
    fmt = logging.Formatter("%%(asctime)s: %s pid=%%(process)d %%(levelname)s %%(message)s"
                            % name)
    handler.setFormatter(fmt)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    if foreground and debug:
        err = logging.StreamHandler(sys.stderr)
        err.setFormatter(fmt)
        root.addHandler(err)
    return handler


def write_pidfile(name: str) -> int:
    """Lock and fill the pid file; the lock lives as long as the process."""
    path = pathutils.daemon_pidfile(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        try:
            other = os.read(fd, 32).decode().strip()
        except OSError:
            other = "?"
        os.close(fd)
        raise errors.PidFileLockError("%s already running (pid %s)" % (name, other or "?"))
    os.ftruncate(fd, 0)
    os.write(fd, b"%d\n" % os.getpid())
    return fd


def daemonize() -> int:
    """Detach; returns the write end of a pipe to report start-up status."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid > 0:
        os.close(wfd)
        data = b""
        while True:
            chunk = os.read(rfd, 4096)
            if not chunk:
                break
            data += chunk
        os.waitpid(pid, 0)
        if data == b"OK":
            os._exit(0)
        sys.stderr.write((data.decode(errors="replace") or "Daemon failed to start") + "\n")
        code = constants.EXIT_NOTMASTER if data.startswith(b"NOTMASTER") else 1
        os._exit(code)
    os.close(rfd)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    return wfd


def run_daemon(name: str, opts: argparse.Namespace, runner: Runner) -> int:
    """Common main loop: detach, pid file, logging, start, wait for a signal."""
    status_fd = None if opts.foreground else daemonize()

    def report(msg: bytes) -> None:
        nonlocal status_fd
        if status_fd is not None:
            os.write(status_fd, msg)
            os.close(status_fd)
            status_fd = None

    try:
        pidfd = write_pidfile(name)
        handler = setup_logging(name, opts.debug, opts.foreground)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGHUP, lambda *_: handler.reopen())
        logging.info("%s starting", name)
        runner.start()
    except Exception as err:
        msg = str(err) if isinstance(err, errors.GenericError) else \
            "%s: %s" % (type(err).__name__, err)
        logging.error("%s failed to start: %s\n%s", name, msg, traceback.format_exc())
        if status_fd is None:
            sys.stderr.write("%s failed to start: %s\n" % (name, msg))
        report(msg.encode())
        return 1
    report(b"OK")
    while not stop.wait(3600):
        pass
    logging.info("%s shutting down", name)
    try:
        runner.stop()
    finally:
        try:
            os.unlink(pathutils.daemon_pidfile(name))
        except OSError:
            pass
        os.close(pidfd)
    logging.info("%s stopped", name)
    return 0
