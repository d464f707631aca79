"""Hierarchical lock manager for the master daemon's job worker threads.

Levels (spec/locking.md section 1): cluster (BGL) < instance < nodegroup <
node < node-res < network.  An owner (normally the string ``"job/<id>"``)
takes each level at most once and in increasing order; within a level the
names are taken in sorted order.  That total order over (level, name) is
what makes deadlocks impossible, so it is enforced rather than trusted.

Every level also has a pseudo lock ``<level>/[lockset]``.  Taking names of
a level implies a shared hold on it; taking the whole level (``ALL_SET``)
takes it in the requested mode.  An exclusive whole-level holder therefore
excludes everyone from the level, and ``add()`` waits for it, so "all
instances" really stays "all instances" while it is held.

Design (see doc/design/locking.md): a single mutex guards all state, so an
uncontended acquire is a few dictionary operations.  Waiters get a private
Condition on that mutex and are granted locks *by the releasing thread*
(hand-off), in (priority, arrival) order; only the threads that received
something are woken.  Timed waits are sliced only when a ``cancel_check``
has to be polled.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import random
import re
import threading
import time
from typing import Callable, Iterable

from ganeti import errors

LEVEL_CLUSTER, LEVEL_INSTANCE, LEVEL_NODEGROUP, LEVEL_NODE, LEVEL_NODE_RES, LEVEL_NETWORK = \
    0, 1, 2, 3, 4, 5
LEVELS = [0, 1, 2, 3, 4, 5]
LEVEL_NAMES = {0: "cluster", 1: "instance", 2: "nodegroup", 3: "node", 4: "node-res",
               5: "network"}
BGL = "BGL"
ALL_SET = None
#: Name of the level-wide pseudo lock (full name ``"<level>/[lockset]"``).
LOCKSET_NAME = "[lockset]"

MODE_EXCLUSIVE = "exclusive"
MODE_SHARED = "shared"

#: How often a waiter with a cancel_check polls it (seconds).
CANCEL_POLL_INTERVAL = 0.1

_OK, _TIMEOUT, _GONE = 0, 1, 2
_req_key = operator.attrgetter("key")
_DIGITS = re.compile(r"(\d+)")


def _natural_key(name: str) -> list:
    """Sort key putting "node2" before "node10" (display order of query())."""
    return [int(part) if i % 2 else part for i, part in enumerate(_DIGITS.split(name))]


class _Request:
    """One pending acquisition of one lock by one owner."""

    __slots__ = ("owner", "shared", "key", "cond", "granted", "gone")

    def __init__(self, owner: object, shared: bool, key: tuple[int, int],
                 cond: threading.Condition):
        self.owner = owner
        self.shared = shared
        self.key = key            # (priority, arrival number): queue order
        self.cond = cond          # private Condition on the manager mutex
        self.granted = False      # set by the granting (releasing) thread
        self.gone = False         # the lock was removed while we waited


class _Lock:
    """State of one lock; only touched with the manager mutex held."""

    __slots__ = ("name", "level", "pseudo", "excl", "shared", "queue", "removed")

    def __init__(self, name: str, level: int, pseudo: bool = False):
        self.name = name
        self.level = level
        self.pseudo = pseudo
        self.excl: object | None = None   # exclusive owner
        self.shared: set = set()          # shared owners
        self.queue: list[_Request] = []   # sorted by _Request.key
        self.removed = False

    def held_by(self, owner: object) -> bool:
        return self.excl == owner or owner in self.shared


class _AddGate:
    """Placeholder owner name; add() never appears as a holder."""


class LockManager:
    """All lock levels of the master with per-owner bookkeeping.

    Owners are arbitrary hashable objects (jobs use ``"job/<id>"``); locks
    are owned by the owner, not by a thread, so a job may hand its locks
    between threads.
    """

    def __init__(self, instances: Iterable[str] = (), nodegroups: Iterable[str] = (),
                 nodes: Iterable[str] = (), networks: Iterable[str] = ()):
        self._mutex = threading.Lock()
        self._seq = itertools.count()
        # add() waits on this for an exclusive whole-level holder to go away
        self._gate = threading.Condition(self._mutex)
        nodes = list(nodes)
        self._locks: dict[int, dict[str, _Lock]] = {level: {} for level in LEVELS}
        self._locks[LEVEL_CLUSTER][BGL] = _Lock(BGL, LEVEL_CLUSTER)
        for level, names in ((LEVEL_INSTANCE, instances), (LEVEL_NODEGROUP, nodegroups),
                             (LEVEL_NODE, nodes), (LEVEL_NODE_RES, nodes),
                             (LEVEL_NETWORK, networks)):
            for name in _name_list(names):
                self._check_name(level, name)
                self._locks[level][name] = _Lock(name, level)
        self._lockset = {level: _Lock(LOCKSET_NAME, level, pseudo=True) for level in LEVELS}
        # owner -> level -> name -> lock; the pseudo lock is stored as LOCKSET_NAME
        self._removals = 0   # bumped by remove(); lets acquire() skip a re-check
        self._owned: dict[object, dict[int, dict[str, _Lock]]] = {}

    # -- lockable objects ------------------------------------------------
    @staticmethod
    def _check_level(level: int) -> None:
        if level not in LEVEL_NAMES:
            raise errors.LockError("Invalid lock level %r" % (level,))

    @staticmethod
    def _check_name(level: int, name: str) -> None:
        if not isinstance(name, str) or not name or name == LOCKSET_NAME:
            raise errors.LockError("Invalid lock name %r at level %s" %
                                   (name, LEVEL_NAMES[level]))

    def add(self, level: int, names: Iterable[str], owner: object | None = None) -> None:
        """Create locks for new objects (e.g. after an instance was created).

        Waits while another owner holds the whole level exclusively, since
        that owner was promised every lock of the level.  Pass ``owner`` if
        the caller itself may hold the level (it then never waits on itself).
        Existing names are skipped, and node locks get their node-res twin,
        so callers that add both levels explicitly keep working.
        """
        self._check_level(level)
        if level == LEVEL_CLUSTER:
            raise errors.LockError("The cluster level only has the BGL")
        names = _name_list(names)
        for name in names:
            self._check_name(level, name)
        levels = [level, LEVEL_NODE_RES] if level == LEVEL_NODE else [level]
        with self._mutex:
            for lvl in levels:
                gate = self._lockset[lvl]
                while gate.excl is not None and not (owner is not None and gate.excl == owner):
                    self._gate.wait()
                table = self._locks[lvl]
                for name in names:
                    if name not in table:
                        table[name] = _Lock(name, lvl)

    def remove(self, level: int, names: Iterable[str]) -> None:
        """Delete locks of objects that are gone.

        Each lock must be free or held exclusively (by the caller); a lock
        held in shared mode means someone still relies on the object, so
        nothing is removed and LockError is raised.  Waiters of a removed
        lock are woken: named requests fail, ALL_SET requests skip it.
        Unknown names are ignored, so removing node and node-res separately
        is harmless (node removal also removes the node-res twin).
        """
        self._check_level(level)
        if level == LEVEL_CLUSTER:
            raise errors.LockError("The BGL cannot be removed")
        names = _name_list(names)
        levels = [level, LEVEL_NODE_RES] if level == LEVEL_NODE else [level]
        with self._mutex:
            victims = []
            for lvl in levels:
                for name in names:
                    lock = self._locks[lvl].get(name)
                    if lock is None:
                        continue
                    if lock.shared:
                        raise errors.LockError("Cannot remove lock '%s/%s': held in shared mode"
                                               % (LEVEL_NAMES[lvl], name))
                    victims.append(lock)
            self._removals += 1
            for lock in victims:
                del self._locks[lock.level][lock.name]
                lock.removed = True
                if lock.excl is not None:
                    held = self._owned.get(lock.excl, {}).get(lock.level)
                    if held is not None:
                        held.pop(lock.name, None)
                    lock.excl = None
                for req in lock.queue:
                    req.gone = True
                    req.cond.notify()
                lock.queue.clear()

    # -- acquire ---------------------------------------------------------
    def acquire(self, level: int, names: Iterable[str] | None, shared: bool, owner: object,
                timeout: float | None = None, priority: int = 0,
                cancel_check: Callable[[], None] | None = None) -> set[str] | None:
        """Acquire ``names`` (or the whole level for ALL_SET) for ``owner``.

        All-or-nothing: returns the set of names acquired, or None when
        ``timeout`` (seconds for the whole call; 0 = do not wait) expired,
        in which case everything this call took has been released again.
        If ``cancel_check`` raises while waiting, the same cleanup happens
        and the exception propagates.
        """
        shared = bool(shared)
        self._check_level(level)
        wanted = None if names is None else sorted(set(_name_list(names)))
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._mutex:
            levels = self._owned.get(owner)
            if levels:
                top = max(levels)
                if top >= level:
                    raise errors.LockError(
                        "Lock order violation: %s cannot acquire level %s while holding"
                        " level %s (one acquire per level, increasing order)"
                        % (owner, LEVEL_NAMES[level], LEVEL_NAMES[top]))
            table = self._locks[level]
            if wanted is not None:
                if not wanted:
                    return set()
                locks = []
                for name in wanted:
                    lock = table.get(name)
                    if lock is None:
                        raise errors.LockError("Lock '%s/%s' does not exist (removed or never"
                                               " created)" % (LEVEL_NAMES[level], name))
                    locks.append(lock)
            removals = self._removals
            got: dict[str, _Lock] = {}
            try:
                lockset = self._lockset[level]
                if self._take(lockset, owner, shared or wanted is not None, priority,
                              deadline, cancel_check) != _OK:
                    return None
                got[LOCKSET_NAME] = lockset
                if wanted is None:
                    # listed after the pseudo lock: an exclusive holder sees no additions
                    locks = [table[name] for name in sorted(table)]
                for lock in locks:
                    status = self._take(lock, owner, shared, priority, deadline, cancel_check)
                    if status == _OK:
                        got[lock.name] = lock
                    elif status == _TIMEOUT:
                        self._release_locks(got.values(), owner)
                        return None
                    elif wanted is not None:
                        raise errors.LockError("Lock '%s/%s' was removed while waiting for it"
                                               % (LEVEL_NAMES[level], lock.name))
            except BaseException:
                self._release_locks(got.values(), owner)
                raise
            if removals != self._removals:
                # while we slept, remove() may have deleted locks we already held
                got = {name: lock for name, lock in got.items() if not lock.removed}
            self._owned.setdefault(owner, {})[level] = got
            return {name for name in got if name != LOCKSET_NAME}

    def _take(self, lock: _Lock, owner: object, shared: bool, priority: int,
              deadline: float | None, cancel_check: Callable[[], None] | None) -> int:
        """Get one lock, waiting in its queue if needed; mutex held."""
        if lock.removed:
            return _GONE
        if not lock.queue and lock.excl is None and (shared or not lock.shared):
            if shared:
                lock.shared.add(owner)
            else:
                lock.excl = owner
            return _OK
        req = _Request(owner, shared, (priority, next(self._seq)),
                       threading.Condition(self._mutex))
        bisect.insort(lock.queue, req, key=_req_key)
        # a more urgent shared request may join current shared holders at once
        self._grant_waiters(lock)
        try:
            while not req.granted:
                if req.gone:
                    return _GONE
                wait = None
                if deadline is not None:
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        self._abandon(lock, req)
                        return _TIMEOUT
                if cancel_check is not None:
                    self._mutex.release()
                    try:
                        cancel_check()
                    finally:
                        self._mutex.acquire()
                    if req.granted or req.gone:
                        continue
                    wait = CANCEL_POLL_INTERVAL if wait is None else \
                        min(wait, CANCEL_POLL_INTERVAL)
                req.cond.wait(wait)
        except BaseException:
            self._abandon(lock, req)
            raise
        return _OK

    def _abandon(self, lock: _Lock, req: _Request) -> None:
        """Withdraw a request (timeout/cancel), even if granted meanwhile."""
        if req.granted:
            self._release_lock(lock, req.owner)
        elif not req.gone:
            lock.queue.remove(req)
            # a withdrawn exclusive request may have blocked shared ones
            self._grant_waiters(lock)

    def _grant_waiters(self, lock: _Lock) -> None:
        """Hand the lock to the head of its queue: one exclusive request or
        every consecutive shared request (they are compatible)."""
        queue = lock.queue
        if not queue or lock.excl is not None:
            return
        head = queue[0]
        if not head.shared:
            if not lock.shared:
                lock.excl = head.owner
                del queue[0]
                head.granted = True
                head.cond.notify()
            return
        count = 0
        for req in queue:
            if not req.shared:
                break
            lock.shared.add(req.owner)
            req.granted = True
            req.cond.notify()
            count += 1
        del queue[:count]

    # -- release -----------------------------------------------------------
    def _release_lock(self, lock: _Lock, owner: object) -> None:
        if lock.excl is not None and lock.excl == owner:
            lock.excl = None
            if lock.pseudo:
                self._gate.notify_all()
        else:
            lock.shared.discard(owner)
        if lock.queue:
            self._grant_waiters(lock)

    def _release_locks(self, locks: Iterable[_Lock], owner: object) -> None:
        for lock in list(locks):
            self._release_lock(lock, owner)

    def _drop_level(self, owner: object, level: int) -> None:
        levels = self._owned[owner]
        del levels[level]
        if not levels:
            del self._owned[owner]

    def release(self, level: int, owner: object, names: Iterable[str] | None = None) -> None:
        """Release some (``names``) or all locks of a level.

        Names not held are ignored.  When no named lock of the level is
        left, the level pseudo lock goes too, so the owner may take the
        level again (if no higher level is held).
        """
        with self._mutex:
            held = self._owned.get(owner, {}).get(level)
            if held is None:
                return
            if names is None:
                self._release_locks(held.values(), owner)
                held.clear()
            else:
                for name in _name_list(names):
                    if name == LOCKSET_NAME:
                        continue
                    lock = held.pop(name, None)
                    if lock is not None:
                        self._release_lock(lock, owner)
                if len(held) <= 1:   # at most the pseudo lock is left
                    self._release_locks(held.values(), owner)
                    held.clear()
            if not held:
                self._drop_level(owner, level)

    def release_all(self, owner: object) -> None:
        """Release everything ``owner`` holds, highest level first."""
        with self._mutex:
            levels = self._owned.pop(owner, None)
            if not levels:
                return
            for level in sorted(levels, reverse=True):
                self._release_locks(levels[level].values(), owner)

    def downgrade(self, level: int, owner: object, names: Iterable[str] | None = None) -> None:
        """Turn exclusive holds into shared ones (e.g. after the writes are done).

        With ``names`` None the whole level (including the pseudo lock) is
        downgraded; otherwise the pseudo lock follows once no named lock of
        the level is exclusive any more.  Locks already shared are left alone.
        """
        with self._mutex:
            held = self._owned.get(owner, {}).get(level)
            if not held:
                raise errors.LockError("%s holds no locks at level %s" %
                                       (owner, LEVEL_NAMES[level]))
            if names is None:
                targets = list(held.values())
            else:
                targets = []
                for name in _name_list(names):
                    if name not in held:
                        raise errors.LockError("%s does not hold lock '%s/%s'" %
                                               (owner, LEVEL_NAMES[level], name))
                    targets.append(held[name])
                pseudo = held.get(LOCKSET_NAME)
                if pseudo is not None and not any(
                        lock.excl == owner for name, lock in held.items()
                        if name != LOCKSET_NAME and lock not in targets):
                    targets.append(pseudo)
            for lock in targets:
                if lock.excl is not None and lock.excl == owner:
                    lock.excl = None
                    lock.shared.add(owner)
                    if lock.pseudo:
                        self._gate.notify_all()
                    self._grant_waiters(lock)

    # -- introspection -----------------------------------------------------
    def owned(self, level: int, owner: object) -> set[str]:
        """Names ``owner`` holds at ``level`` (without the pseudo lock)."""
        with self._mutex:
            held = self._owned.get(owner, {}).get(level, ())
            return {name for name in held if name != LOCKSET_NAME}

    def is_owned(self, level: int, owner: object, names: Iterable[str] | None = None,
                 shared: bool | None = None) -> bool:
        """Whether ``owner`` holds the level (names None) or all ``names``,
        optionally in a given mode (shared=True/False; None = any mode)."""
        with self._mutex:
            held = self._owned.get(owner, {}).get(level)
            if not held:
                return False
            if names is None:
                locks = [lock for name, lock in held.items() if name != LOCKSET_NAME] or \
                    list(held.values())
            else:
                locks = []
                for name in _name_list(names):
                    if name not in held:
                        return False
                    locks.append(held[name])
            if shared is None:
                return True
            return all((owner in lock.shared) == bool(shared) for lock in locks)

    def query(self) -> list[tuple[str, str | None, list[str], list[tuple[str, list[str]]]]]:
        """Rows ``(name, mode, owners, pending)`` for the lock query.

        Level order, the level pseudo lock first, then natural name order.
        ``pending`` lists waiters in service order; consecutive shared
        requests, which would be granted together, form one group.
        """
        rows = []
        with self._mutex:
            for level in LEVELS:
                prefix = LEVEL_NAMES[level] + "/"
                locks = [self._lockset[level]] + sorted(
                    self._locks[level].values(), key=lambda lk: _natural_key(lk.name))
                for lock in locks:
                    if lock.excl is not None:
                        mode, owners = MODE_EXCLUSIVE, [str(lock.excl)]
                    elif lock.shared:
                        mode, owners = MODE_SHARED, sorted(str(o) for o in lock.shared)
                    else:
                        mode, owners = None, []
                    pending: list[tuple[str, list[str]]] = []
                    for req in lock.queue:
                        if req.shared and pending and pending[-1][0] == MODE_SHARED:
                            pending[-1][1].append(str(req.owner))
                        else:
                            pending.append((MODE_SHARED if req.shared else MODE_EXCLUSIVE,
                                            [str(req.owner)]))
                    rows.append((prefix + lock.name, mode, owners, pending))
        return rows


def _name_list(names: Iterable[str] | str) -> list[str]:
    """A single string is one name, not an iterable of characters."""
    if isinstance(names, str):
        return [names]
    return list(names)


class LockAttemptTimeoutStrategy:
    """Timeouts for successive lock attempts of one opcode (spec section 3).

    Short first attempts keep a job from sitting on partial locks when it
    cannot get everything; growing timeouts (t' = (1.05 t)^1.25, clamped to
    [min_wait, max_wait], +-5% jitter so that colliding jobs drift apart)
    stop it from spinning.  After ``total`` seconds of attempts the series
    ends (None) and the caller raises the opcode priority.
    """

    def __init__(self, min_wait: float = 5.0, max_wait: float = 75.0, total: float = 1800.0,
                 rand: Callable[[], float] = random.random):
        self._min = min_wait
        self._max = max_wait
        self._total = total
        self._rand = rand
        self._base: float | None = None
        self._spent = 0.0

    def next_timeout(self) -> float | None:
        """Timeout for the next attempt, or None once the series is used up."""
        if self._spent >= self._total:
            return None
        base = self._min if self._base is None else (self._base * 1.05) ** 1.25
        base = min(self._max, max(self._min, base))
        self._base = base
        value = base * (1.0 + 0.05 * (2.0 * self._rand() - 1.0))
        value = min(self._max, max(self._min, value))
        self._spent += value
        return value
