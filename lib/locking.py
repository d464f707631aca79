"""Hierarchical lock manager for job worker threads.

Levels (spec/locking.md): cluster (BGL) < instance < nodegroup < node <
node-res < network. Each owner takes levels in increasing order, once per
level; names within a level are taken in sorted order, which rules out
deadlocks. Waiters are served by priority (lower number first), FIFO
within a priority; compatible shared requests at the head are granted
together, and an exclusive waiter blocks later shared ones so writers do
not starve. One Condition guards the whole manager: an uncontended
acquire is a dictionary update, no polling.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from typing import Callable, Iterable

from ganeti import errors
from ganeti.utils.text import nice_sort_key

LEVEL_CLUSTER, LEVEL_INSTANCE, LEVEL_NODEGROUP, LEVEL_NODE, LEVEL_NODE_RES, LEVEL_NETWORK = \
    0, 1, 2, 3, 4, 5
LEVELS = [0, 1, 2, 3, 4, 5]
LEVEL_NAMES = {0: "cluster", 1: "instance", 2: "nodegroup", 3: "node", 4: "node-res",
               5: "network"}
BGL = "BGL"
ALL_SET = None
LOCKSET_NAME = "[lockset]"

SHARED = "shared"
EXCLUSIVE = "exclusive"


class _Request:
    __slots__ = ("owner", "shared", "prio", "seq")

    def __init__(self, owner, shared: bool, prio: int, seq: int):
        self.owner = owner
        self.shared = shared
        self.prio = prio
        self.seq = seq


class _Lock:
    __slots__ = ("name", "exclusive_owner", "shared_owners", "waiters")

    def __init__(self, name: str):
        self.name = name
        self.exclusive_owner = None
        self.shared_owners: set = set()
        self.waiters: list[_Request] = []

    def is_free(self) -> bool:
        return self.exclusive_owner is None and not self.shared_owners

    def mode(self) -> str | None:
        if self.exclusive_owner is not None:
            return EXCLUSIVE
        if self.shared_owners:
            return SHARED
        return None

    def can_grant(self, req: _Request) -> bool:
        """Grantable now, given holders and the waiters ahead of ``req``."""
        if self.exclusive_owner is not None:
            return False
        ahead = [w for w in self.waiters if (w.prio, w.seq) < (req.prio, req.seq)]
        if req.shared:
            return all(w.shared for w in ahead)
        return not self.shared_owners and not ahead

    def grant(self, req: _Request) -> None:
        if req.shared:
            self.shared_owners.add(req.owner)
        else:
            self.exclusive_owner = req.owner

    def release(self, owner) -> None:
        if self.exclusive_owner == owner:
            self.exclusive_owner = None
        self.shared_owners.discard(owner)

    def held_by(self, owner) -> bool:
        return self.exclusive_owner == owner or owner in self.shared_owners


class LockManager:
    """All lock levels of the master, with per-owner bookkeeping."""

    def __init__(self, instances: Iterable[str] = (), nodegroups: Iterable[str] = (),
                 nodes: Iterable[str] = (), networks: Iterable[str] = ()):
        self._cond = threading.Condition(threading.Lock())
        self._seq = itertools.count()
        nodes = list(nodes)
        self._levels: dict[int, dict[str, _Lock]] = {level: {} for level in LEVELS}
        self._levels[LEVEL_CLUSTER][BGL] = _Lock(BGL)
        for level, names in ((LEVEL_INSTANCE, instances), (LEVEL_NODEGROUP, nodegroups),
                             (LEVEL_NODE, nodes), (LEVEL_NODE_RES, nodes),
                             (LEVEL_NETWORK, networks)):
            for name in names:
                self._levels[level][name] = _Lock(name)
        self._lockset = {level: _Lock(LOCKSET_NAME) for level in LEVELS}
        # owner -> {level: set(names)} ; pseudo lock recorded as LOCKSET_NAME
        self._owned: dict[object, dict[int, set[str]]] = {}

    # -- bookkeeping --------------------------------------------------
    def _lock(self, level: int, name: str) -> _Lock:
        if name == LOCKSET_NAME:
            return self._lockset[level]
        try:
            return self._levels[level][name]
        except KeyError:
            raise errors.LockError("Lock '%s/%s' does not exist (removed or never created)"
                                   % (LEVEL_NAMES[level], name))

    def add(self, level: int, names: Iterable[str]) -> None:
        names = list(names)
        with self._cond:
            for name in names:
                if name in self._levels[level]:
                    raise errors.LockError("Lock '%s/%s' already exists" %
                                           (LEVEL_NAMES[level], name))
            for name in names:
                self._levels[level][name] = _Lock(name)
            if level == LEVEL_NODE:
                for name in names:
                    self._levels[LEVEL_NODE_RES].setdefault(name, _Lock(name))

    def remove(self, level: int, names: Iterable[str]) -> None:
        with self._cond:
            for name in list(names):
                lock = self._levels[level].get(name)
                if lock is None:
                    continue
                holders = ({lock.exclusive_owner} if lock.exclusive_owner is not None
                           else set()) | lock.shared_owners
                if lock.shared_owners or (holders and lock.exclusive_owner is None):
                    raise errors.LockError("Cannot remove lock '%s/%s' held in shared mode"
                                           % (LEVEL_NAMES[level], name))
                for owner in holders:
                    self._owned.get(owner, {}).get(level, set()).discard(name)
                del self._levels[level][name]
            self._cond.notify_all()

    # -- acquire/release ---------------------------------------------
    def acquire(self, level: int, names: Iterable[str] | None, shared: bool, owner: object,
                timeout: float | None = None, priority: int = 0,
                cancel_check: Callable[[], None] | None = None) -> set[str] | None:
        """Take ``names`` (or the whole level with ALL_SET); None on timeout."""
        if level not in self._levels:
            raise errors.LockError("Invalid lock level %r" % (level,))
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            held = self._owned.get(owner, {})
            if any(lvl >= level and names_ for lvl, names_ in held.items()):
                raise errors.LockError("Owner %s tried to acquire level %s after holding level"
                                       " %s or higher" % (owner, LEVEL_NAMES[level],
                                                          LEVEL_NAMES[level]))
            if names is ALL_SET:
                wanted = [LOCKSET_NAME] + sorted(self._levels[level], key=nice_sort_key)
            else:
                wanted = sorted(set(names), key=nice_sort_key)
                for name in wanted:
                    self._lock(level, name)  # existence check
                wanted = [LOCKSET_NAME] + wanted
            got: list[str] = []
            try:
                for name in wanted:
                    lock = self._lock(level, name)
                    # the level-wide pseudo lock is always shared for named acquires
                    mode_shared = shared if (name != LOCKSET_NAME or names is ALL_SET) else True
                    req = _Request(owner, mode_shared, priority, next(self._seq))
                    if not self._wait_grant(lock, req, deadline, cancel_check):
                        raise _Timeout()
                    got.append(name)
            except _Timeout:
                self._release_names(level, owner, got)
                self._cond.notify_all()
                return None
            except BaseException:
                self._release_names(level, owner, got)
                self._cond.notify_all()
                raise
            self._owned.setdefault(owner, {})[level] = set(got)
            return {n for n in got if n != LOCKSET_NAME}

    def _wait_grant(self, lock: _Lock, req: _Request, deadline: float | None,
                    cancel_check: Callable[[], None] | None) -> bool:
        if not lock.waiters and lock.can_grant(req):
            lock.grant(req)
            return True
        lock.waiters.append(req)
        try:
            while True:
                if lock.can_grant(req):
                    lock.grant(req)
                    return True
                if cancel_check is not None:
                    self._cond.release()
                    try:
                        cancel_check()
                    finally:
                        self._cond.acquire()
                    if lock.can_grant(req):
                        lock.grant(req)
                        return True
                wait = 0.1 if cancel_check is not None else None
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    wait = remaining if wait is None else min(wait, remaining)
                self._cond.wait(wait)
        finally:
            lock.waiters.remove(req)
            self._cond.notify_all()

    def _release_names(self, level: int, owner, names: Iterable[str]) -> None:
        for name in names:
            lock = self._levels[level].get(name) if name != LOCKSET_NAME else \
                self._lockset[level]
            if lock is not None:
                lock.release(owner)

    def release(self, level: int, owner: object, names: Iterable[str] | None = None) -> None:
        with self._cond:
            held = self._owned.get(owner, {}).get(level)
            if not held:
                return
            drop = set(held) if names is None else set(names) & held
            if held - drop <= {LOCKSET_NAME}:
                drop = set(held)  # nothing real left: give up the level lock too
            self._release_names(level, owner, drop)
            held -= drop
            if not held:
                self._owned[owner].pop(level, None)
                if not self._owned[owner]:
                    self._owned.pop(owner, None)
            self._cond.notify_all()

    def release_all(self, owner: object) -> None:
        with self._cond:
            for level in sorted(self._owned.get(owner, {}), reverse=True):
                self._release_names(level, owner, self._owned[owner][level])
            self._owned.pop(owner, None)
            self._cond.notify_all()

    def downgrade(self, level: int, owner: object, names=None) -> None:
        with self._cond:
            held = self._owned.get(owner, {}).get(level, set())
            for name in held if names is None else set(names) & held:
                lock = self._lock(level, name)
                if lock.exclusive_owner == owner:
                    lock.exclusive_owner = None
                    lock.shared_owners.add(owner)
            self._cond.notify_all()

    def owned(self, level: int, owner: object) -> set[str]:
        with self._cond:
            return {n for n in self._owned.get(owner, {}).get(level, set()) if n != LOCKSET_NAME}

    def is_owned(self, level: int, owner: object, names=None, shared: bool | None = None) -> bool:
        with self._cond:
            held = self._owned.get(owner, {}).get(level, set())
            check = held - {LOCKSET_NAME} if names is None else set(names)
            if not check or not check <= held:
                return bool(held) if names is None and shared is None else False
            if shared is None:
                return True
            for name in check:
                lock = self._lock(level, name)
                if shared != (owner in lock.shared_owners):
                    return False
            return True

    def query(self) -> list[tuple[str, str | None, list[str], list[tuple[str, list[str]]]]]:
        """Rows (name, mode, owners, pending) for ``gnt-debug locks``."""
        rows = []
        with self._cond:
            for level in LEVELS:
                locks = [self._lockset[level]] + sorted(self._levels[level].values(),
                                                        key=lambda lk: nice_sort_key(lk.name))
                for lock in locks:
                    owners = sorted(str(o) for o in ([lock.exclusive_owner]
                                                     if lock.exclusive_owner is not None
                                                     else lock.shared_owners))
                    pending: list[tuple[str, list[str]]] = []
                    for req in sorted(lock.waiters, key=lambda r: (r.prio, r.seq)):
                        mode = SHARED if req.shared else EXCLUSIVE
                        if pending and pending[-1][0] == mode == SHARED:
                            pending[-1][1].append(str(req.owner))
                        else:
                            pending.append((mode, [str(req.owner)]))
                    rows.append(("%s/%s" % (LEVEL_NAMES[level], lock.name), lock.mode(),
                                 owners, pending))
        return rows


class _Timeout(Exception):
    pass


class LockAttemptTimeoutStrategy:
    """Timeouts of successive lock attempts (spec/locking.md §3)."""

    def __init__(self, min_wait: float = 5.0, max_wait: float = 75.0, total: float = 1800.0,
                 rand: Callable[[], float] = random.random):
        self._min = min_wait
        self._max = max_wait
        self._total = total
        self._rand = rand
        self._prev: float | None = None
        self._spent = 0.0

    def next_timeout(self) -> float | None:
        if self._spent >= self._total:
            return None
        if self._prev is None:
            base = self._min
        else:
            base = (self._prev * 1.05) ** 1.25
        base = max(self._min, min(self._max, base))
        self._prev = base
        jitter = base * 0.05 * (2 * self._rand() - 1)
        value = max(self._min, min(self._max, base + jitter))
        self._spent += value
        return value
