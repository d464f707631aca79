"""The watcher's per-group state file: counting, expiry, locking, atomic writes."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from ganeti.watcher import state as wstate
from ganeti.watcher.state import MAXTRIES, RETRY_EXPIRATION, StateFileError, WatcherState


def _path(tmp_path) -> str:
    return str(tmp_path / "watcher.0b1c-2d3e-4f50-6172.data")


def test_new_file_is_empty_and_created(tmp_path):
    path = _path(tmp_path)
    with WatcherState(path) as st:
        assert st.data == {"instance": {}, "node": {}}
        assert st.restart_attempts("inst1") == 0
        assert st.node_boot_id("node1") is None
    assert os.path.exists(path)


def test_restart_attempts_are_counted_across_runs(tmp_path):
    path = _path(tmp_path)
    now = time.time()
    for expected in range(1, MAXTRIES + 2):
        st = WatcherState(path)
        st.record_restart_attempt("inst1", now=now)
        assert st.restart_attempts("inst1") == expected
        st.save(now=now)
    data = wstate.read_state(path)
    assert data["instance"]["inst1"]["restart_count"] == MAXTRIES + 1
    assert data["instance"]["inst1"]["restart_when"] == now


def test_reset_forgets_only_that_counter(tmp_path):
    path = _path(tmp_path)
    st = WatcherState(path)
    st.record_restart_attempt("inst1")
    st.record_cleanup_attempt("inst1")
    st.record_restart_attempt("inst2")
    st.reset_restarts("inst1")
    assert st.restart_attempts("inst1") == 0
    assert st.cleanup_attempts("inst1") == 1
    st.reset_cleanups("inst1")
    st.reset_restarts("inst2")
    st.save()
    assert wstate.read_state(path)["instance"] == {}


def test_entries_expire_after_eight_hours(tmp_path):
    path = _path(tmp_path)
    now = 1_000_000_000.0
    st = WatcherState(path)
    st.record_restart_attempt("old", now=now - RETRY_EXPIRATION - 1)
    st.record_restart_attempt("recent", now=now - RETRY_EXPIRATION + 60)
    # a recent cleanup keeps an entry whose restart attempts are old
    st.record_restart_attempt("mixed", now=now - RETRY_EXPIRATION - 1)
    st.record_cleanup_attempt("mixed", now=now - 10)
    st.set_node_boot_id("node1", "boot-a")
    st.save(now=now)
    data = wstate.read_state(path)
    assert sorted(data["instance"]) == ["mixed", "recent"]
    assert data["node"] == {"node1": {"bootid": "boot-a"}}


def test_boot_ids_and_departed_nodes(tmp_path):
    path = _path(tmp_path)
    st = WatcherState(path)
    st.set_node_boot_id("node1", "a")
    st.set_node_boot_id("node2", "b")
    st.keep_nodes({"node1"})
    st.save()
    with WatcherState(path) as st:
        assert st.node_boot_id("node1") == "a"
        assert st.node_boot_id("node2") is None


def test_save_is_atomic_and_private(tmp_path):
    path = _path(tmp_path)
    st = WatcherState(path)
    inode_before = os.stat(path).st_ino
    st.record_restart_attempt("inst1")
    st.save()
    # replaced by rename (readers never see half a file), no temporary left over
    assert os.stat(path).st_ino != inode_before
    assert os.listdir(tmp_path) == [os.path.basename(path)]
    assert os.stat(path).st_mode & 0o777 == 0o600
    with open(path) as fh:
        assert json.load(fh)["instance"]["inst1"]["restart_count"] == 1


def test_save_twice_is_refused(tmp_path):
    st = WatcherState(_path(tmp_path))
    st.save()
    with pytest.raises(StateFileError):
        st.save()


def test_damaged_file_is_ignored(tmp_path):
    path = _path(tmp_path)
    with open(path, "w") as fh:
        fh.write('{"instance": {"inst1": "not a dict", "ok": {"restart_count": 2}}, "node": [')
    with WatcherState(path) as st:
        assert st.data == {"instance": {}, "node": {}}
    with open(path, "w") as fh:
        json.dump({"instance": {"bad": 3, "ok": {"restart_count": 2}}, "node": []}, fh)
    with WatcherState(path) as st:
        assert st.restart_attempts("ok") == 2
        assert st.restart_attempts("bad") == 0
        assert st.data["node"] == {}


def test_second_run_waits_for_the_lock_then_times_out(tmp_path):
    path = _path(tmp_path)
    first = WatcherState(path)
    start = time.monotonic()
    with pytest.raises(StateFileError, match="locked"):
        WatcherState(path, timeout=0.3)
    assert time.monotonic() - start >= 0.3
    first.close()
    WatcherState(path, timeout=0.3).close()


def test_waiter_sees_the_file_written_while_it_waited(tmp_path):
    """The holder replaces the file (new inode); the waiter must lock and read the new one."""
    path = _path(tmp_path)
    first = WatcherState(path)
    got: dict = {}

    def second() -> None:
        with WatcherState(path, timeout=10) as st:
            got["count"] = st.restart_attempts("inst1")
            got["ino"] = os.fstat(st._fd).st_ino  # noqa: SLF001 - the locked file itself

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive()  # still waiting for the lock
    first.record_restart_attempt("inst1")
    first.save()
    thread.join(10)
    assert got == {"count": 1, "ino": os.stat(path).st_ino}
