"""Daemon plumbing shared by ganeti-noded and ganeti-masterd.

What every Ganeti daemon needs, in one place:

* common options (``-f``, ``-d``, ``--syslog``; ``-b``/``-p`` for TCP
  daemons), parsed into :class:`DaemonOptions`;
* :func:`daemonize`, which reports start-up success or failure back to
  the parent through a pipe, so ``daemon-util start`` gets a real exit
  code and the error message instead of a silently dead process;
* a pid file locked with ``flock`` for the whole life of the process, so
  a second instance fails at once and a stale file (crash) never blocks;
* a log file in the upstream format, reopened on SIGHUP (log rotation);
* SIGTERM/SIGINT leading to an orderly ``runner.stop()``.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import signal
import sys
import threading
from typing import Protocol

from ganeti import constants, errors, pathutils

LOG_FORMAT = "%(asctime)s: {name} pid=%(process)d %(levelname)s %(message)s"

_START_OK = b"OK"


class Runner(Protocol):
    """What a daemon main hands to :func:`run_daemon`."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class DaemonOptions(argparse.Namespace):
    """Parsed daemon options (attribute names are the long option names).

    Annotations only: argparse skips defaults for attributes that already
    exist on the namespace, so none may be set at class level.
    """

    foreground: bool
    debug: bool
    syslog: str
    no_user_checks: bool
    bind: str | None
    port: int | None
    no_ssl: bool

    _FALLBACKS = {"bind": None, "port": None, "no_ssl": False}


def make_parser(name: str, description: str, default_port: int | None = None,
                default_bind: str | None = None,
                ssl_option: bool = False) -> argparse.ArgumentParser:
    """Argument parser with the options every daemon accepts.

    ``default_port`` adds ``-b/--bind`` and ``-p/--port`` (network
    daemons); ``ssl_option`` adds ``--no-ssl`` (noded, for debugging).
    """
    parser = argparse.ArgumentParser(prog=name, description=description)
    parser.add_argument("-f", "--foreground", action="store_true",
                        help="Don't detach from the current terminal")
    parser.add_argument("-d", "--debug", action="store_true", help="Enable debug messages")
    parser.add_argument("--syslog", nargs="?", const="yes", default="no",
                        choices=["no", "yes", "only"],
                        help="Also log to syslog (accepted; logging goes to the log file)")
    parser.add_argument("--no-user-checks", action="store_true",
                        help="Do not check the daemon's user (accepted for compatibility)")
    if default_port is not None:
        parser.add_argument("-b", "--bind", default=default_bind or "0.0.0.0",
                            metavar="ADDRESS", help="Bind address [%(default)s]")
        parser.add_argument("-p", "--port", type=int, default=default_port,
                            help="Network port [%(default)s]")
    if ssl_option:
        parser.add_argument("--no-ssl", action="store_true",
                            help="Do not secure HTTP protocol with SSL (debugging only)")
    return parser


def parse_options(parser: argparse.ArgumentParser,
                  argv: list[str] | None = None) -> DaemonOptions:
    opts = parser.parse_args(argv, namespace=DaemonOptions())
    for attr, value in DaemonOptions._FALLBACKS.items():
        if not hasattr(opts, attr):  # options this daemon does not have
            setattr(opts, attr, value)
    port = getattr(opts, "port", None)
    if port is not None and not 0 < port < 65536:
        parser.error("invalid port %d" % port)
    return opts


# -- directories ---------------------------------------------------------
def _dir_specs() -> list[tuple[str, int, bool]]:
    """(path, mode, enforce mode on an existing directory)."""
    return [
        (pathutils.DATA_DIR, 0o755, True),
        (os.path.dirname(pathutils.RAPI_USERS_FILE), 0o750, True),
        (pathutils.QUEUE_DIR, 0o700, True),
        (pathutils.JOB_QUEUE_ARCHIVE_DIR, 0o700, True),
        (pathutils.RUN_DIR, 0o775, True),
        (pathutils.SOCKET_DIR, 0o750, True),
        (pathutils.LOG_DIR, 0o750, True),
        (pathutils.LOG_OS_DIR, 0o750, True),
        (pathutils.CONF_DIR, 0o755, True),
        # often a symlink to /run/lock shared with the system: create, never chmod
        (pathutils.LOCK_DIR, 0o755, False),
    ]


def ensure_dirs() -> None:
    """Create the node's state directories with their modes (idempotent)."""
    for path, mode, enforce in _dir_specs():
        if not os.path.isdir(path):
            os.makedirs(path, mode=mode, exist_ok=True)
            os.chmod(path, mode)
        elif enforce and not os.path.islink(path):
            if os.stat(path).st_mode & 0o7777 != mode:
                os.chmod(path, mode)


# -- pid file ------------------------------------------------------------
def write_pidfile(name: str) -> int:
    """Create, lock and fill the pid file; returns the fd holding the lock.

    The lock (not the file's existence) says the daemon runs: it dies with
    the process, so a crash never leaves a start-blocking stale file.
    """
    path = pathutils.daemon_pidfile(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        try:
            other = os.read(fd, 32).decode("ascii", "replace").strip()
        except OSError:
            other = ""
        os.close(fd)
        raise errors.PidFileLockError("%s already running (pid %s)" % (name, other or "?"))
    os.ftruncate(fd, 0)
    os.write(fd, b"%d\n" % os.getpid())
    return fd


def remove_pidfile(name: str, fd: int | None) -> None:
    """Remove the pid file while still holding its lock, then release it."""
    try:
        os.unlink(pathutils.daemon_pidfile(name))
    except OSError:
        pass
    if fd is not None:
        os.close(fd)


# -- logging -------------------------------------------------------------
class ReopenableFileHandler(logging.FileHandler):
    """A file handler whose file can be reopened after log rotation."""

    def reopen(self) -> None:
        self.acquire()
        try:
            if self.stream:
                self.stream.close()
            self.stream = self._open()
        finally:
            self.release()


def setup_logging(name: str, debug: bool = False, foreground: bool = False,
                  logfile: str | None = None) -> ReopenableFileHandler:
    """Log to the daemon's log file (and stderr in the foreground)."""
    path = logfile or pathutils.daemon_logfile(name)
    os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
    handler = ReopenableFileHandler(path, encoding="utf-8")
    fmt = logging.Formatter(LOG_FORMAT.format(name=name))
    handler.setFormatter(fmt)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    if foreground:
        err = logging.StreamHandler(sys.stderr)
        err.setFormatter(fmt)
        root.addHandler(err)

    def log_thread_crash(args: threading.ExceptHookArgs) -> None:
        logging.error("Unhandled exception in thread %s",
                      args.thread.name if args.thread else "?",
                      exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    threading.excepthook = log_thread_crash
    return handler


# -- detaching -----------------------------------------------------------
def daemonize() -> int:
    """Detach from the terminal; returns the fd to report start-up on.

    Double fork and setsid, cwd ``/``, standard streams on /dev/null. The
    original process waits on a pipe: :func:`report_started` makes it exit
    0, :func:`report_failed` makes it print the message and exit non-zero,
    and a child that dies silently also yields exit 1.
    """
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid > 0:
        os.close(wfd)
        chunks = []
        while True:
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        os.waitpid(pid, 0)
        data = b"".join(chunks)
        if data == _START_OK:
            os._exit(constants.EXIT_SUCCESS)
        code, _, msg = data.partition(b":")
        try:
            exit_code = int(code)
        except ValueError:
            exit_code, msg = constants.EXIT_FAILURE, b""
        text = msg.decode("utf-8", "replace") or "Daemon exited before finishing start-up"
        sys.stderr.write(text.rstrip("\n") + "\n")
        sys.stderr.flush()
        os._exit(exit_code or constants.EXIT_FAILURE)
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


def report_started(fd: int | None) -> None:
    if fd is not None:
        os.write(fd, _START_OK)
        os.close(fd)


def report_failed(fd: int | None, message: str,
                  exit_code: int = constants.EXIT_FAILURE) -> None:
    if fd is not None:
        os.write(fd, b"%d:%s" % (exit_code, message.encode("utf-8", "replace")))
        os.close(fd)


# -- main loop -----------------------------------------------------------
def run_daemon(name: str, opts: argparse.Namespace, runner: Runner) -> int:
    """Detach, lock the pid file, log, start ``runner`` and wait for a signal.

    SIGHUP reopens the log file (and calls ``runner.reload()`` if the
    runner has one); SIGTERM or SIGINT calls ``runner.stop()``
    and removes the pid file. Signal handlers only set flags; the work is
    done by the main thread, outside of any handler.
    """
    status_fd = None if opts.foreground else daemonize()
    pidfd: int | None = None
    handler: ReopenableFileHandler | None = None
    wake = threading.Event()
    pending: set[int] = set()

    def on_signal(signum: int, _frame: object) -> None:
        pending.add(signum)
        wake.set()

    try:
        ensure_dirs()
        pidfd = write_pidfile(name)
        handler = setup_logging(name, opts.debug, opts.foreground)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, on_signal)
        logging.info("%s daemon startup (version %s)", name, constants.RELEASE_VERSION)
        runner.start()
    except Exception as err:
        expected = isinstance(err, errors.GenericError)
        msg = str(err) if expected else "%s: %s" % (type(err).__name__, err)
        if handler is not None:  # before that, stderr/the parent is the only channel
            logging.error("%s failed to start: %s", name, msg, exc_info=not expected)
        if status_fd is None:
            sys.stderr.write("%s failed to start: %s\n" % (name, msg))
        report_failed(status_fd, "%s failed to start: %s" % (name, msg))
        if pidfd is not None:
            remove_pidfile(name, pidfd)
        return constants.EXIT_FAILURE
    report_started(status_fd)
    while True:
        wake.wait()
        wake.clear()
        signums = set(pending)
        pending.difference_update(signums)
        if signal.SIGHUP in signums and handler is not None:
            handler.reopen()
            logging.info("Log file reopened (SIGHUP)")
        reload = getattr(runner, "reload", None)
        if signal.SIGHUP in signums and reload is not None:
            try:  # e.g. ganeti-rapi re-reads its users file
                reload()
            except Exception:
                logging.exception("Error while reloading %s", name)
        stop = signums & {signal.SIGTERM, signal.SIGINT}
        if stop:
            logging.info("Received %s, shutting down", signal.Signals(min(stop)).name)
            break
    try:
        runner.stop()
    except Exception:
        logging.exception("Error while stopping %s", name)
    finally:
        remove_pidfile(name, pidfd)
    logging.info("%s stopped", name)
    logging.shutdown()
    return constants.EXIT_SUCCESS
