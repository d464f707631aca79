"""Tests for ganeti.locking (real threads; every wait is bounded)."""

import random
import threading
import time

import pytest

from ganeti import errors, locking
from ganeti.locking import (
    ALL_SET,
    BGL,
    LEVEL_CLUSTER,
    LEVEL_INSTANCE,
    LEVEL_NETWORK,
    LEVEL_NODE,
    LEVEL_NODE_RES,
    LEVEL_NODEGROUP,
    LockManager,
)

JOIN = 5.0


def mgr():
    return LockManager(instances=["i1", "i2", "i3"], nodegroups=["g1"], nodes=["n1", "n2"],
                       networks=["net1"])


def rows(m):
    return {r[0]: r for r in m.query()}


def wait_until(pred, timeout=JOIN):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.005)
    raise AssertionError("condition not reached within %ss" % timeout)


def pending_owners(m, full_name):
    return [o for _, owners in rows(m)[full_name][3] for o in owners]


def wait_pending(m, full_name, count):
    wait_until(lambda: len(pending_owners(m, full_name)) == count)


class Acquirer(threading.Thread):
    """Acquires in a thread; optionally holds until ``release`` is set."""

    def __init__(self, m, level, names, shared, owner, hold=False, log=None, **kw):
        super().__init__(daemon=True)
        self.m, self.level, self.names, self.shared, self.owner = m, level, names, shared, owner
        self.kw = kw
        self.hold = hold
        self.log = log
        self.result = "unset"
        self.error = None
        self.acquired = threading.Event()
        self.release = threading.Event()

    def run(self):
        try:
            self.result = self.m.acquire(self.level, self.names, self.shared, self.owner,
                                         **self.kw)
        except BaseException as err:   # noqa: B036 - recorded for the test
            self.error = err
            return
        if self.log is not None:
            self.log.append(self.owner)
        self.acquired.set()
        if self.hold:
            self.release.wait(JOIN)
        if self.result is not None:
            self.m.release_all(self.owner)

    def finish(self):
        self.release.set()
        self.join(JOIN)
        assert not self.is_alive()


# -- basic modes ---------------------------------------------------------

def test_initial_locks_and_query_free():
    r = rows(mgr())
    assert r["cluster/BGL"][1:] == (None, [], [])
    assert "node-res/n1" in r and "node-res/n2" in r
    assert "instance/[lockset]" in r and "network/net1" in r


def test_shared_locks_coexist_across_threads():
    m = mgr()
    assert m.acquire(LEVEL_CLUSTER, [BGL], True, "a") == {BGL}
    t = Acquirer(m, LEVEL_CLUSTER, [BGL], True, "b", hold=True, timeout=1.0)
    t.start()
    assert t.acquired.wait(JOIN)
    assert t.result == {BGL}
    assert rows(m)["cluster/BGL"][1:3] == ("shared", ["a", "b"])
    t.finish()
    assert m.is_owned(LEVEL_CLUSTER, "a", [BGL], shared=True)


def test_exclusive_excludes_shared_and_vice_versa():
    m = mgr()
    m.acquire(LEVEL_INSTANCE, ["i1"], True, "s")
    assert m.acquire(LEVEL_INSTANCE, ["i1"], False, "x", timeout=0.05) is None
    m.release(LEVEL_INSTANCE, "s")
    m.acquire(LEVEL_INSTANCE, ["i1"], False, "x")
    assert m.acquire(LEVEL_INSTANCE, ["i1"], True, "s", timeout=0) is None
    # a blocked thread proceeds once the exclusive holder releases
    t = Acquirer(m, LEVEL_INSTANCE, ["i1"], True, "s")
    t.start()
    wait_pending(m, "instance/i1", 1)
    assert t.result == "unset"
    m.release_all("x")
    t.join(JOIN)
    assert t.result == {"i1"}


def test_single_string_is_one_name():
    m = mgr()
    assert m.acquire(LEVEL_NODE, "n1", False, "a") == {"n1"}


def test_empty_name_list_takes_nothing():
    m = mgr()
    assert m.acquire(LEVEL_NODE, [], False, "a") == set()
    assert not m.is_owned(LEVEL_NODE, "a")
    assert m.acquire(LEVEL_INSTANCE, ["i1"], False, "a") == {"i1"}


# -- ordering rules -------------------------------------------------------

def test_level_order_violation_raises():
    m = mgr()
    m.acquire(LEVEL_NODE, ["n1"], False, "a")
    with pytest.raises(errors.LockError, match="order"):
        m.acquire(LEVEL_INSTANCE, ["i1"], False, "a")
    with pytest.raises(errors.LockError):
        m.acquire(LEVEL_NODE, ["n2"], False, "a")   # same level twice
    with pytest.raises(errors.LockError):
        m.acquire(LEVEL_CLUSTER, [BGL], True, "a")
    assert m.owned(LEVEL_NODE, "a") == {"n1"}
    # higher levels are fine, and a fully released level may be taken again
    assert m.acquire(LEVEL_NODE_RES, ["n1"], False, "a") == {"n1"}
    m.release(LEVEL_NODE_RES, "a")
    m.release(LEVEL_NODE, "a")
    assert m.acquire(LEVEL_INSTANCE, ["i1"], False, "a") == {"i1"}


def test_unknown_lock_and_level():
    m = mgr()
    with pytest.raises(errors.LockError, match="node/nope"):
        m.acquire(LEVEL_NODE, ["n1", "nope"], False, "a")
    assert m.owned(LEVEL_NODE, "a") == set()
    assert rows(m)["node/n1"][1] is None
    with pytest.raises(errors.LockError):
        m.acquire(17, ["x"], False, "a")


def test_sorted_acquisition_avoids_deadlock():
    m = LockManager(instances=["i%d" % i for i in range(6)])
    done = []

    def worker(owner, names):
        for _ in range(300):
            assert m.acquire(LEVEL_INSTANCE, names, False, owner, timeout=JOIN) is not None
            time.sleep(0)
            m.release(LEVEL_INSTANCE, owner)
        done.append(owner)

    fwd = ["i%d" % i for i in range(6)]
    threads = [threading.Thread(target=worker, args=("a", fwd), daemon=True),
               threading.Thread(target=worker, args=("b", fwd[::-1]), daemon=True),
               threading.Thread(target=worker, args=("c", fwd[2:] + fwd[:2]), daemon=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert sorted(done) == ["a", "b", "c"]


# -- timeouts ----------------------------------------------------------------

def test_timeout_returns_none_and_releases_partial():
    m = mgr()
    m.acquire(LEVEL_INSTANCE, ["i2"], False, "holder")
    start = time.monotonic()
    assert m.acquire(LEVEL_INSTANCE, ["i1", "i2", "i3"], False, "b", timeout=0.1) is None
    assert time.monotonic() - start >= 0.09
    assert m.owned(LEVEL_INSTANCE, "b") == set()
    assert not m.is_owned(LEVEL_INSTANCE, "b")
    for name, _mode, owners, pending in m.query():
        assert "b" not in owners and all("b" not in o for _, o in pending), name
    # i1 (taken before blocking on i2) is free again; i3 was never taken
    assert m.acquire(LEVEL_INSTANCE, ["i1", "i3"], False, "c", timeout=0) == {"i1", "i3"}
    # and "b" may retry the level
    m.release_all("holder")
    assert m.acquire(LEVEL_INSTANCE, ["i2"], False, "b", timeout=0) == {"i2"}


def test_timed_out_exclusive_waiter_unblocks_shared_behind_it():
    m = mgr()
    m.acquire(LEVEL_NODE, ["n1"], True, "s1")
    x = Acquirer(m, LEVEL_NODE, ["n1"], False, "x", timeout=0.3)
    x.start()
    wait_pending(m, "node/n1", 1)
    s2 = Acquirer(m, LEVEL_NODE, ["n1"], True, "s2", hold=True)
    s2.start()
    wait_pending(m, "node/n1", 2)
    x.join(JOIN)
    assert x.result is None
    assert s2.acquired.wait(JOIN)   # granted when the exclusive request left
    s2.finish()


# -- queueing policy -----------------------------------------------------------

def test_higher_priority_waiter_arriving_later_is_served_first():
    m = mgr()
    m.acquire(LEVEL_NODE, ["n1"], False, "holder")
    order = []
    low = Acquirer(m, LEVEL_NODE, ["n1"], False, "low", log=order, priority=10)
    low.start()
    wait_pending(m, "node/n1", 1)
    high = Acquirer(m, LEVEL_NODE, ["n1"], False, "high", log=order, priority=-10)
    high.start()
    wait_pending(m, "node/n1", 2)
    assert pending_owners(m, "node/n1") == ["high", "low"]
    m.release_all("holder")
    low.join(JOIN)
    high.join(JOIN)
    assert order == ["high", "low"]


def test_fifo_within_priority():
    m = mgr()
    m.acquire(LEVEL_NODE, ["n1"], False, "holder")
    order = []
    threads = []
    for i in range(5):
        t = Acquirer(m, LEVEL_NODE, ["n1"], False, "w%d" % i, log=order, priority=3)
        t.start()
        wait_pending(m, "node/n1", i + 1)
        threads.append(t)
    m.release_all("holder")
    for t in threads:
        t.join(JOIN)
    assert order == ["w0", "w1", "w2", "w3", "w4"]


def test_shared_waiters_at_head_are_granted_together():
    m = mgr()
    m.acquire(LEVEL_NODE, ["n1"], False, "x")
    a = Acquirer(m, LEVEL_NODE, ["n1"], True, "a", hold=True)
    b = Acquirer(m, LEVEL_NODE, ["n1"], True, "b", hold=True)
    c = Acquirer(m, LEVEL_NODE, ["n1"], False, "c", hold=True)
    for t in (a, b, c):
        t.start()
        wait_until(lambda t=t: t.owner in pending_owners(m, "node/n1"))
    assert rows(m)["node/n1"][3] == [("shared", ["a", "b"]), ("exclusive", ["c"])]
    m.release_all("x")
    assert a.acquired.wait(JOIN) and b.acquired.wait(JOIN)
    assert rows(m)["node/n1"][1:3] == ("shared", ["a", "b"])
    assert not c.acquired.is_set()
    a.finish()
    b.finish()
    assert c.acquired.wait(JOIN)
    c.finish()


def test_exclusive_waiter_blocks_later_shared_requests():
    m = mgr()
    m.acquire(LEVEL_NODE, ["n1"], True, "s1")
    x = Acquirer(m, LEVEL_NODE, ["n1"], False, "x", hold=True)
    x.start()
    wait_pending(m, "node/n1", 1)
    # compatible with the holder, but must not overtake the writer
    assert m.acquire(LEVEL_NODE, ["n1"], True, "s2", timeout=0.05) is None
    # ...unless it is more urgent than the writer (even without waiting at all)
    assert m.acquire(LEVEL_NODE, ["n1"], True, "s3", timeout=0, priority=-5) == {"n1"}
    assert rows(m)["node/n1"][3] == [("exclusive", ["x"])]
    m.release_all("s3")
    m.release_all("s1")
    assert x.acquired.wait(JOIN)
    x.finish()


# -- whole level, add and remove -------------------------------------------

def test_all_set_takes_every_lock_and_pseudo_lock():
    m = mgr()
    assert m.acquire(LEVEL_INSTANCE, ALL_SET, False, "a") == {"i1", "i2", "i3"}
    r = rows(m)
    assert r["instance/[lockset]"][1:3] == ("exclusive", ["a"])
    assert r["instance/i2"][1:3] == ("exclusive", ["a"])
    assert m.is_owned(LEVEL_INSTANCE, "a", shared=False)
    # named requests of other owners queue on the pseudo lock
    assert m.acquire(LEVEL_INSTANCE, ["i1"], True, "b", timeout=0.05) is None
    m.release(LEVEL_INSTANCE, "a")
    assert rows(m)["instance/[lockset]"][1] is None
    assert m.acquire(LEVEL_INSTANCE, ["i1"], True, "b") == {"i1"}
    assert rows(m)["instance/[lockset]"][1:3] == ("shared", ["b"])


def test_named_holder_blocks_all_exclusive_but_not_all_shared():
    m = mgr()
    m.acquire(LEVEL_INSTANCE, ["i1"], True, "a")
    assert m.acquire(LEVEL_INSTANCE, ALL_SET, False, "x", timeout=0.05) is None
    assert m.acquire(LEVEL_INSTANCE, ALL_SET, True, "y", timeout=0.05) == {"i1", "i2", "i3"}


def test_add_waits_for_exclusive_whole_level_holder():
    m = mgr()
    assert m.acquire(LEVEL_INSTANCE, ALL_SET, False, "a") == {"i1", "i2", "i3"}
    adder = threading.Thread(target=m.add, args=(LEVEL_INSTANCE, ["i4"]), daemon=True)
    adder.start()
    time.sleep(0.2)
    assert adder.is_alive()
    assert "instance/i4" not in rows(m)
    m.release_all("a")
    adder.join(JOIN)
    assert not adder.is_alive()
    assert m.acquire(LEVEL_INSTANCE, ["i4"], False, "b", timeout=0) == {"i4"}


def test_add_does_not_wait_for_shared_holders_or_itself():
    m = mgr()
    m.acquire(LEVEL_INSTANCE, ALL_SET, True, "reader")
    m.acquire(LEVEL_NODE, ["n1"], False, "writer")
    m.add(LEVEL_INSTANCE, ["i4"])          # readers of the level don't block additions
    m.add(LEVEL_INSTANCE, ["i4"])          # idempotent
    m.acquire(LEVEL_NODEGROUP, ALL_SET, False, "g")
    m.add(LEVEL_NODEGROUP, ["g2"], owner="g")   # the exclusive holder itself
    assert m.acquire(LEVEL_INSTANCE, ["i4"], False, "c", timeout=0) == {"i4"}
    assert m.owned(LEVEL_INSTANCE, "reader") == {"i1", "i2", "i3"}


def test_add_node_also_adds_node_res():
    m = mgr()
    m.add(LEVEL_NODE, ["n3"])
    m.add(LEVEL_NODE_RES, ["n3"])   # explicit twin add is harmless
    assert m.acquire(LEVEL_NODE_RES, ["n3"], False, "a") == {"n3"}
    with pytest.raises(errors.LockError):
        m.add(LEVEL_CLUSTER, ["other"])
    with pytest.raises(errors.LockError):
        m.add(LEVEL_NETWORK, [locking.LOCKSET_NAME])


def test_remove_free_and_exclusively_held():
    m = mgr()
    m.remove(LEVEL_INSTANCE, ["i1", "missing"])
    with pytest.raises(errors.LockError, match="instance/i1"):
        m.acquire(LEVEL_INSTANCE, ["i1"], False, "b")
    m.acquire(LEVEL_INSTANCE, ["i2", "i3"], False, "a")
    m.remove(LEVEL_INSTANCE, ["i2"])
    assert m.owned(LEVEL_INSTANCE, "a") == {"i3"}
    assert "instance/i2" not in rows(m)
    m.release_all("a")
    assert m.acquire(LEVEL_INSTANCE, ALL_SET, False, "c") == {"i3"}


def test_remove_shared_lock_refused_and_node_res_twin_removed():
    m = mgr()
    m.acquire(LEVEL_NODE, ["n1"], True, "a")
    with pytest.raises(errors.LockError, match="shared"):
        m.remove(LEVEL_NODE, ["n1", "n2"])
    assert "node/n2" in rows(m)        # nothing removed
    m.remove(LEVEL_NODE, ["n2"])
    assert "node/n2" not in rows(m) and "node-res/n2" not in rows(m)


def test_remove_wakes_waiters():
    m = mgr()
    m.acquire(LEVEL_INSTANCE, ["i2"], False, "a")
    named = Acquirer(m, LEVEL_INSTANCE, ["i1", "i2"], False, "named")
    named.start()
    wait_pending(m, "instance/i2", 1)
    m.remove(LEVEL_INSTANCE, ["i2"])
    named.join(JOIN)
    assert isinstance(named.error, errors.LockError) and "i2" in str(named.error)
    assert rows(m)["instance/i1"][1] is None    # its partial acquisition was undone
    # a whole-level request skips a lock removed while it waited
    m.release_all("a")
    m.acquire(LEVEL_INSTANCE, ["i3"], False, "a")
    whole = Acquirer(m, LEVEL_INSTANCE, ALL_SET, True, "whole", hold=True)
    whole.start()
    wait_pending(m, "instance/i3", 1)
    m.remove(LEVEL_INSTANCE, ["i3"])
    assert whole.acquired.wait(JOIN)
    assert whole.result == {"i1"}
    whole.finish()


# -- cancellation ---------------------------------------------------------------

def test_cancel_check_aborts_wait_and_releases():
    m = mgr()
    m.acquire(LEVEL_NODE, ["n2"], False, "a")
    cancel = threading.Event()
    calls = []

    class Cancelled(Exception):
        pass

    def check():
        calls.append(time.monotonic())
        if cancel.is_set():
            raise Cancelled()

    t = Acquirer(m, LEVEL_NODE, ["n1", "n2"], False, "b", cancel_check=check)
    t.start()
    wait_pending(m, "node/n2", 1)
    assert rows(m)["node/n1"][2] == ["b"]    # took n1, now waiting for n2
    time.sleep(0.35)
    assert len(calls) >= 3                   # polled while waiting
    cancel.set()
    t.join(JOIN)
    assert isinstance(t.error, Cancelled)
    assert rows(m)["node/n1"][1:] == (None, [], [])
    assert rows(m)["node/n2"][3] == []
    assert m.owned(LEVEL_NODE, "b") == set()


def test_cancel_check_not_called_when_uncontended():
    m = mgr()

    def check():
        raise AssertionError("must not be called")

    assert m.acquire(LEVEL_NODE, ["n1"], False, "a", cancel_check=check) == {"n1"}


# -- release, downgrade, ownership -------------------------------------------

def test_partial_release_and_is_owned():
    m = mgr()
    m.acquire(LEVEL_CLUSTER, [BGL], True, "a")
    m.acquire(LEVEL_NODE, ["n1", "n2"], False, "a")
    assert m.is_owned(LEVEL_NODE, "a", ["n1"], shared=False)
    assert not m.is_owned(LEVEL_NODE, "a", ["n1"], shared=True)
    assert not m.is_owned(LEVEL_INSTANCE, "a")
    m.release(LEVEL_NODE, "a", ["n1", "not-held"])
    assert m.owned(LEVEL_NODE, "a") == {"n2"}
    assert rows(m)["node/n1"][1] is None
    m.release(LEVEL_NODE, "a", ["n2"])
    assert not m.is_owned(LEVEL_NODE, "a")
    assert rows(m)["node/[lockset]"][1] is None
    m.release_all("a")
    assert rows(m)["cluster/BGL"][1] is None
    m.release_all("nobody")


def test_downgrade_lets_shared_waiters_in():
    m = mgr()
    m.acquire(LEVEL_NODE, ALL_SET, False, "a")
    t = Acquirer(m, LEVEL_NODE, ["n1"], True, "b", hold=True)
    t.start()
    wait_pending(m, "node/[lockset]", 1)
    m.downgrade(LEVEL_NODE, "a")
    assert t.acquired.wait(JOIN)
    assert m.is_owned(LEVEL_NODE, "a", shared=True)
    assert rows(m)["node/n1"][1:3] == ("shared", ["a", "b"])
    t.finish()
    with pytest.raises(errors.LockError):
        m.downgrade(LEVEL_INSTANCE, "a")


def test_downgrade_some_names():
    m = mgr()
    m.acquire(LEVEL_NODE, ALL_SET, False, "a")
    m.downgrade(LEVEL_NODE, "a", ["n1"])
    r = rows(m)
    assert r["node/n1"][1] == "shared" and r["node/n2"][1] == "exclusive"
    assert r["node/[lockset]"][1] == "exclusive"
    m.downgrade(LEVEL_NODE, "a", ["n2"])
    assert rows(m)["node/[lockset]"][1] == "shared"


# -- query ------------------------------------------------------------------------

def test_query_rows_for_holders_and_waiters():
    m = LockManager(nodes=["n10", "n2", "n1"])
    m.acquire(LEVEL_CLUSTER, [BGL], True, "job/1")
    m.acquire(LEVEL_NODE, ["n1"], False, "job/1")
    w2 = Acquirer(m, LEVEL_NODE, ["n1"], True, "job/2")
    w2.start()
    wait_pending(m, "node/n1", 1)
    w3 = Acquirer(m, LEVEL_NODE, ["n1"], False, "job/3")
    w3.start()
    wait_pending(m, "node/n1", 2)
    result = m.query()
    names = [r[0] for r in result]
    assert names[:2] == ["cluster/[lockset]", "cluster/BGL"]
    assert names.index("node/[lockset]") < names.index("node/n1") < names.index("node/n2") \
        < names.index("node/n10") < names.index("node-res/n1")
    r = {row[0]: row for row in result}
    assert r["cluster/BGL"] == ("cluster/BGL", "shared", ["job/1"], [])
    assert r["node/n1"] == ("node/n1", "exclusive", ["job/1"],
                            [("shared", ["job/2"]), ("exclusive", ["job/3"])])
    assert r["node/[lockset]"][1:3] == ("shared", ["job/1", "job/2", "job/3"])
    assert r["node/n2"][1:] == (None, [], [])
    m.release_all("job/1")
    w2.join(JOIN)
    w3.join(JOIN)
    assert all(row[1] is None and not row[3] for row in m.query())


# -- stress: invariants under random contention ------------------------------

def test_random_contention_keeps_mutual_exclusion():
    names = ["x%d" % i for i in range(4)]
    m = LockManager(instances=names, nodes=names)
    state = {}   # (level, name) -> list of (owner, shared) currently inside
    guard = threading.Lock()
    failures = []
    stop = time.monotonic() + 1.0

    def enter(level, got, owner, shared):
        with guard:
            for name in got:
                inside = state.setdefault((level, name), [])
                if any(not s for _, s in inside) or (inside and not shared):
                    failures.append((level, name, inside[:], owner, shared))
                inside.append((owner, shared))

    def leave(level, got, owner, shared):
        with guard:
            for name in got:
                state[(level, name)].remove((owner, shared))

    def worker(idx):
        rnd = random.Random(idx)
        n = 0
        while time.monotonic() < stop:
            owner = "w%d/%d" % (idx, n)
            n += 1
            taken = []
            bgl_shared = rnd.random() < 0.95
            m.acquire(LEVEL_CLUSTER, [BGL], bgl_shared, owner, priority=rnd.randint(-2, 2))
            enter(LEVEL_CLUSTER, [BGL], owner, bgl_shared)
            taken.append((LEVEL_CLUSTER, [BGL], bgl_shared))
            for level in (LEVEL_INSTANCE, LEVEL_NODE):
                shared = rnd.random() < 0.5
                want = ALL_SET if rnd.random() < 0.1 else rnd.sample(names, rnd.randint(1, 3))
                got = m.acquire(level, want, shared, owner, timeout=rnd.choice([None, 0.01]),
                                priority=rnd.randint(-2, 2))
                if got is None:
                    break
                enter(level, got, owner, shared)
                taken.append((level, got, shared))
            for level, got, shared in reversed(taken):
                leave(level, got, owner, shared)
            m.release_all(owner)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert failures == []
    assert all(row[1] is None and not row[3] for row in m.query())


# -- timeout strategy ---------------------------------------------------------------

def _series(rand):
    s = locking.LockAttemptTimeoutStrategy(rand=rand)
    values = []
    while (v := s.next_timeout()) is not None:
        values.append(v)
        assert len(values) < 1000
    assert s.next_timeout() is None
    return values


@pytest.mark.parametrize("r", [0.0, 0.5, 0.999999])
def test_timeout_strategy_series_bounds(r):
    values = _series(lambda: r)
    assert all(5.0 <= v <= 75.0 for v in values)
    assert sum(values) >= 1800.0
    assert sum(values[:-1]) < 1800.0
    assert values[-1] == pytest.approx(75.0, rel=0.051)


def test_timeout_strategy_growth_and_jitter():
    values = _series(lambda: 0.5)          # no jitter
    assert values[0] == 5.0
    assert values[1] == pytest.approx((5.0 * 1.05) ** 1.25)
    assert values == sorted(values)
    assert values[-1] == 75.0
    assert len(values) > 20
    high = _series(lambda: 0.999999)
    assert high[1] == pytest.approx(values[1] * 1.05, rel=1e-4)
    low = _series(lambda: 0.0)
    assert low[0] == 5.0                    # clamped, not 4.75
    assert low[1] == pytest.approx(values[1] * 0.95, rel=1e-6)


def test_timeout_strategy_custom_parameters():
    s = locking.LockAttemptTimeoutStrategy(min_wait=1.0, max_wait=10.0, total=15.0,
                                           rand=lambda: 0.5)
    values = []
    while (v := s.next_timeout()) is not None:
        values.append(v)
    assert values[0] == 1.0 and max(values) <= 10.0 and sum(values) >= 15.0
