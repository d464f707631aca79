"""Synchronous QMP access for the KVM driver.

Uses PyPI ``qemu.qmp``'s legacy (blocking) client, which runs a private
event loop per thread; the node daemon calls drivers from worker threads,
so this never collides with the daemon's own asyncio loop. The socket is
connected here with a timeout because the library's connect has none, and
a wedged qemu must not hang a node daemon worker forever.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

from ganeti import errors

try:
    from qemu.qmp import ExecuteError, QMPError
    from qemu.qmp.legacy import QEMUMonitorProtocol
except ImportError:  # pragma: no cover - dependency listed in pyproject
    QEMUMonitorProtocol = None  # type: ignore[assignment,misc]
    QMPError = ExecuteError = Exception  # type: ignore[assignment,misc]

# The library logs every disconnect at warning level; guests powering off
# is normal business for us.
logging.getLogger("qemu.qmp").setLevel(logging.ERROR)

DEFAULT_TIMEOUT = 10.0


class QmpConnection:
    """One QMP session (connect, negotiate, commands, close)."""

    def __init__(self, path: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout
        self._qmp: Any = None

    def __enter__(self) -> QmpConnection:
        self.connect()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def connect(self) -> None:
        if QEMUMonitorProtocol is None:
            raise errors.HypervisorError("Python package qemu.qmp is not installed")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError as err:
            sock.close()
            raise errors.HypervisorError("Cannot connect to QMP socket %s: %s"
                                         % (self.path, err))
        sock.setblocking(False)
        qmp = QEMUMonitorProtocol(sock)
        qmp.settimeout(self.timeout)
        try:
            qmp._sync(qmp._qmp.connect(sock), self.timeout)  # noqa: SLF001 - timeout needed
        except Exception as err:  # noqa: BLE001 - library raises many kinds
            try:
                qmp.close()
            except Exception:  # noqa: BLE001
                pass
            raise errors.HypervisorError("QMP handshake on %s failed: %s" % (self.path, err))
        self._qmp = qmp

    def cmd(self, name: str, **args: Any) -> Any:
        """Execute a command; returns its ``return`` value."""
        if self._qmp is None:
            self.connect()
        try:
            return self._qmp.cmd(name, **args)
        except ExecuteError as err:
            raise errors.HypervisorError("QMP command %s failed: %s" % (name, err))
        except (QMPError, OSError, TimeoutError) as err:
            raise errors.HypervisorError("QMP command %s on %s failed: %s"
                                         % (name, self.path, err or type(err).__name__))

    def close(self) -> None:
        if self._qmp is not None:
            try:
                self._qmp.close()
            except Exception:  # noqa: BLE001 - peer may be gone already
                pass
            self._qmp = None


def qmp_command(path: str, name: str, timeout: float = DEFAULT_TIMEOUT, **args: Any) -> Any:
    """Connect, run one command, disconnect."""
    with QmpConnection(path, timeout) as conn:
        return conn.cmd(name, **args)


def qmp_try(path: str, name: str, timeout: float = DEFAULT_TIMEOUT, **args: Any) -> bool:
    """Like :func:`qmp_command` but reports failure instead of raising.

    For shutdown paths, where the guest disappearing mid-command is success.
    """
    try:
        qmp_command(path, name, timeout, **args)
    except errors.HypervisorError:
        return False
    return True
