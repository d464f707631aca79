import threading
import time

import pytest

from ganeti import errors, locking
from ganeti.locking import LEVEL_CLUSTER, LEVEL_INSTANCE, LEVEL_NODE, LockManager


def mgr():
    return LockManager(instances=["i1", "i2", "i3"], nodegroups=["g1"], nodes=["n1", "n2"])


def test_shared_locks_coexist():
    m = mgr()
    assert m.acquire(LEVEL_CLUSTER, ["BGL"], True, "a") == {"BGL"}
    assert m.acquire(LEVEL_CLUSTER, ["BGL"], True, "b", timeout=0.1) == {"BGL"}


def test_exclusive_excludes_and_times_out_cleanly():
    m = mgr()
    m.acquire(LEVEL_INSTANCE, ["i2"], False, "a")
    assert m.acquire(LEVEL_INSTANCE, ["i1", "i2"], False, "b", timeout=0.05) is None
    assert m.owned(LEVEL_INSTANCE, "b") == set()
    # i1 was released by the failed attempt
    assert m.acquire(LEVEL_INSTANCE, ["i1"], False, "c", timeout=0.05) == {"i1"}


def test_level_order_enforced():
    m = mgr()
    m.acquire(LEVEL_NODE, ["n1"], False, "a")
    with pytest.raises(errors.LockError):
        m.acquire(LEVEL_INSTANCE, ["i1"], False, "a")
    with pytest.raises(errors.LockError):
        m.acquire(LEVEL_NODE, ["n2"], False, "a")


def test_unknown_lock():
    with pytest.raises(errors.LockError, match="does not exist"):
        mgr().acquire(LEVEL_NODE, ["nope"], False, "a")


def test_sorted_acquisition_avoids_deadlock():
    m = mgr()
    done = []

    def worker(owner, names):
        for _ in range(200):
            m.acquire(LEVEL_INSTANCE, names, False, owner)
            m.release(LEVEL_INSTANCE, owner)
        done.append(owner)

    t1 = threading.Thread(target=worker, args=("a", ["i1", "i2", "i3"]))
    t2 = threading.Thread(target=worker, args=("b", ["i3", "i2", "i1"]))
    t1.start(), t2.start()
    t1.join(10), t2.join(10)
    assert sorted(done) == ["a", "b"]


def test_priority_then_fifo():
    m = mgr()
    m.acquire(LEVEL_NODE, ["n1"], False, "holder")
    order = []

    def waiter(owner, prio):
        m.acquire(LEVEL_NODE, ["n1"], False, owner, priority=prio)
        order.append(owner)
        m.release(LEVEL_NODE, owner)

    threads = []
    for owner, prio in (("low1", 10), ("low2", 10), ("high", -10)):
        t = threading.Thread(target=waiter, args=(owner, prio))
        t.start()
        threads.append(t)
        time.sleep(0.05)
    m.release(LEVEL_NODE, "holder")
    for t in threads:
        t.join(5)
    assert order == ["high", "low1", "low2"]


def test_exclusive_waiter_blocks_later_shared():
    m = mgr()
    m.acquire(LEVEL_NODE, ["n1"], True, "s1")
    got = []
    t = threading.Thread(target=lambda: got.append(m.acquire(LEVEL_NODE, ["n1"], False, "x")))
    t.start()
    time.sleep(0.05)
    assert m.acquire(LEVEL_NODE, ["n1"], True, "s2", timeout=0.05) is None
    m.release(LEVEL_NODE, "s1")
    t.join(5)
    assert got == [{"n1"}]


def test_all_set_blocks_add_of_named_acquires():
    m = mgr()
    assert m.acquire(LEVEL_INSTANCE, locking.ALL_SET, False, "a") == {"i1", "i2", "i3"}
    m.add(LEVEL_INSTANCE, ["i4"])
    # the level is held exclusively: even the new lock can't be taken by others
    assert m.acquire(LEVEL_INSTANCE, ["i4"], False, "b", timeout=0.05) is None
    m.release_all("a")
    assert m.acquire(LEVEL_INSTANCE, ["i4"], False, "b", timeout=0.05) == {"i4"}


def test_remove():
    m = mgr()
    m.acquire(LEVEL_INSTANCE, ["i1"], False, "a")
    m.remove(LEVEL_INSTANCE, ["i1"])
    with pytest.raises(errors.LockError):
        m.acquire(LEVEL_INSTANCE, ["i1"], False, "b")


def test_cancel_check_aborts_wait():
    m = mgr()
    m.acquire(LEVEL_NODE, ["n1"], False, "a")
    flag = {"cancel": False}

    class Cancelled(Exception):
        pass

    def check():
        if flag["cancel"]:
            raise Cancelled()

    res = []

    def waiter():
        try:
            m.acquire(LEVEL_NODE, ["n1", "n2"], False, "b", cancel_check=check)
        except Cancelled:
            res.append("cancelled")

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.1)
    flag["cancel"] = True
    t.join(5)
    assert res == ["cancelled"]
    assert m.owned(LEVEL_NODE, "b") == set()


def test_query_rows():
    m = mgr()
    m.acquire(LEVEL_CLUSTER, ["BGL"], True, "job/1")
    m.acquire(LEVEL_NODE, ["n1"], False, "job/1")
    t = threading.Thread(target=lambda: m.acquire(LEVEL_NODE, ["n1"], True, "job/2", timeout=1))
    t.start()
    time.sleep(0.1)
    rows = {r[0]: r for r in m.query()}
    assert rows["cluster/BGL"][1:3] == ("shared", ["job/1"])
    assert rows["node/n1"][1:] == ("exclusive", ["job/1"], [("shared", ["job/2"])])
    assert rows["node/n2"][1] is None
    m.release_all("job/1")
    t.join(5)


def test_timeout_strategy_bounds():
    s = locking.LockAttemptTimeoutStrategy(rand=lambda: 0.5)
    values = []
    while (v := s.next_timeout()) is not None:
        values.append(v)
    assert all(5.0 <= v <= 75.0 for v in values)
    assert values[0] == 5.0 and values[-1] == 75.0
    assert sum(values) >= 1800.0
