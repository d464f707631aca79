"""The watcher's memory between runs: one JSON state file per node group.

The watcher is a short-lived cron job, so everything it must remember
(how often it already tried to restart or clean up an instance, which
boot id each node had) lives in ``watcher.<group-uuid>.data``::

  {"instance": {NAME: {"restart_count": N, "restart_when": EPOCH,
                       "cleanup_count": N, "cleanup_when": EPOCH}},
   "node": {NAME: {"bootid": TEXT}}}

Two watcher runs for the same group may overlap (a slow run and the next
cron tick), so the file is held under an exclusive ``flock`` for the
whole run. It is replaced atomically (temporary file, fsync, rename), so
a crash never leaves half a file behind; because the rename puts a new
inode in place, a waiter that finally gets the lock checks that it locked
the file that is *currently* at the path and otherwise tries again.

Instance entries without any attempt in the last 8 hours are dropped
when saving: an instance that kept failing gets a fresh set of attempts
later on, as an administrator fixing things by hand would expect.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import time
from typing import Any, Iterable

from ganeti.utils import io

#: Attempts (restart or cleanup) per instance before the watcher gives up.
MAXTRIES = 5
#: Seconds after the last attempt when an instance entry is forgotten.
RETRY_EXPIRATION = 8 * 3600
#: Seconds to wait for another watcher run holding the same state file.
LOCK_TIMEOUT = 10.0

KEY_INSTANCE = "instance"
KEY_NODE = "node"
KEY_RESTART_COUNT = "restart_count"
KEY_RESTART_WHEN = "restart_when"
KEY_CLEANUP_COUNT = "cleanup_count"
KEY_CLEANUP_WHEN = "cleanup_when"
KEY_BOOT_ID = "bootid"


class StateFileError(Exception):
    """The state file could not be locked or written."""


def _lock_current(path: str, timeout: float) -> int:
    """Open ``path`` (creating it) and hold an exclusive lock on the file now there.

    Returns the locked descriptor. Retrying when the inode changed under
    us is what makes flock safe together with atomic replacement.
    """
    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as err:
                    if err.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise StateFileError("State file %s is locked by another watcher"
                                             " run" % path)
                    time.sleep(0.1)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            mine = os.fstat(fd)
            if current is not None and (current.st_ino, current.st_dev) == \
                    (mine.st_ino, mine.st_dev):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # replaced or removed while we waited: lock the new one


def _as_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return value


def _clean(data: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """Keep only well-formed parts: a damaged file must not stop the watcher."""
    out: dict[str, dict[str, dict[str, Any]]] = {KEY_INSTANCE: {}, KEY_NODE: {}}
    if not isinstance(data, dict):
        return out
    for key in (KEY_INSTANCE, KEY_NODE):
        section = data.get(key)
        if isinstance(section, dict):
            out[key] = {name: dict(entry) for name, entry in section.items()
                        if isinstance(name, str) and isinstance(entry, dict)}
    return out


class WatcherState:
    """An opened, locked group state file; ``save()`` writes it and releases the lock."""

    def __init__(self, path: str, timeout: float = LOCK_TIMEOUT):
        self.path = path
        self._fd: int | None = _lock_current(path, timeout)
        self._data = self._read()

    def _read(self) -> dict[str, dict[str, dict[str, Any]]]:
        assert self._fd is not None
        chunks = []
        os.lseek(self._fd, 0, os.SEEK_SET)
        while True:
            chunk = os.read(self._fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        raw = b"".join(chunks).strip()
        if not raw:
            return _clean(None)
        try:
            return _clean(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, ValueError) as err:
            logging.warning("Ignoring unreadable watcher state file %s: %s", self.path, err)
            return _clean(None)

    # context manager: a run that fails half-way still releases the lock
    def __enter__(self) -> "WatcherState":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def data(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The raw state (for tests and debugging)."""
        return self._data

    def close(self) -> None:
        """Release the lock without writing."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def save(self, now: float | None = None) -> None:
        """Drop expired entries, write the file atomically, release the lock."""
        if self._fd is None:
            raise StateFileError("State file %s is no longer locked" % self.path)
        self.expire(now)
        text = json.dumps(self._data, sort_keys=True, indent=1) + "\n"
        try:
            io.write_file_atomic(self.path, text, mode=0o600)
        except OSError as err:
            raise StateFileError("Can't write %s: %s" % (self.path, err))
        finally:
            self.close()

    # -- instances ---------------------------------------------------------------
    def _instance(self, name: str) -> dict[str, Any]:
        return self._data[KEY_INSTANCE].setdefault(name, {})

    def restart_attempts(self, name: str) -> int:
        """How often the watcher already tried to start ``name``."""
        entry = self._data[KEY_INSTANCE].get(name, {})
        return int(_as_number(entry.get(KEY_RESTART_COUNT, 0)))

    def record_restart_attempt(self, name: str, now: float | None = None) -> None:
        entry = self._instance(name)
        entry[KEY_RESTART_COUNT] = self.restart_attempts(name) + 1
        entry[KEY_RESTART_WHEN] = time.time() if now is None else now

    def cleanup_attempts(self, name: str) -> int:
        """How often the watcher already tried to clean up a user shutdown of ``name``."""
        entry = self._data[KEY_INSTANCE].get(name, {})
        return int(_as_number(entry.get(KEY_CLEANUP_COUNT, 0)))

    def record_cleanup_attempt(self, name: str, now: float | None = None) -> None:
        entry = self._instance(name)
        entry[KEY_CLEANUP_COUNT] = self.cleanup_attempts(name) + 1
        entry[KEY_CLEANUP_WHEN] = time.time() if now is None else now

    def reset_restarts(self, name: str) -> None:
        """The instance is fine again: its next failure gets all attempts anew."""
        self._reset(name, KEY_RESTART_COUNT, KEY_RESTART_WHEN)

    def reset_cleanups(self, name: str) -> None:
        self._reset(name, KEY_CLEANUP_COUNT, KEY_CLEANUP_WHEN)

    def _reset(self, name: str, *keys: str) -> None:
        entry = self._data[KEY_INSTANCE].get(name)
        if entry is None:
            return
        for key in keys:
            entry.pop(key, None)
        if not any(k in entry for k in (KEY_RESTART_COUNT, KEY_CLEANUP_COUNT)):
            del self._data[KEY_INSTANCE][name]

    def remove_instance(self, name: str) -> None:
        self._data[KEY_INSTANCE].pop(name, None)

    def expire(self, now: float | None = None) -> list[str]:
        """Forget instances whose last attempt is older than RETRY_EXPIRATION; their names."""
        limit = (time.time() if now is None else now) - RETRY_EXPIRATION
        gone = []
        for name, entry in list(self._data[KEY_INSTANCE].items()):
            last = max(_as_number(entry.get(KEY_RESTART_WHEN, 0)),
                       _as_number(entry.get(KEY_CLEANUP_WHEN, 0)))
            if last < limit:
                del self._data[KEY_INSTANCE][name]
                gone.append(name)
        return gone

    # -- nodes -------------------------------------------------------------------
    def node_boot_id(self, name: str) -> str | None:
        value = self._data[KEY_NODE].get(name, {}).get(KEY_BOOT_ID)
        return value if isinstance(value, str) else None

    def set_node_boot_id(self, name: str, boot_id: str) -> None:
        self._data[KEY_NODE].setdefault(name, {})[KEY_BOOT_ID] = boot_id

    def keep_nodes(self, names: Iterable[str]) -> None:
        """Forget nodes that left the group, so a returning node counts as rebooted."""
        wanted = set(names)
        for name in list(self._data[KEY_NODE]):
            if name not in wanted:
                del self._data[KEY_NODE][name]


def read_state(path: str) -> dict[str, dict[str, dict[str, Any]]]:
    """The state of a group without locking (for tests and `gnt-debug`-like tools)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return _clean(json.load(fh))
    except FileNotFoundError:
        return _clean(None)
    except ValueError:
        return _clean(None)
