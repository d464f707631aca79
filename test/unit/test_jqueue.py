import json
import os
import threading
import time

import pytest

from ganeti import constants, errors, jqueue


class Proc:
    def __init__(self, behaviour=None):
        self.behaviour = behaviour or {}

    def execute_opcode(self, op, ctx):
        ctx.notify_start()
        ctx.feedback("hello %s" % ctx.job_id)
        dur = op.duration
        if dur >= 100:
            raise errors.OpPrereqError("too long", errors.ECODE_INVAL)
        time.sleep(dur)
        return {"slept": dur}


def delay(d=0.0001, **kw):
    return dict({"OP_ID": "OP_TEST_DELAY", "duration": d}, **kw)


@pytest.fixture
def queue(tmp_path):
    q = jqueue.JobQueue(lambda: Proc(), max_workers=4, queue_dir=str(tmp_path / "queue"))
    q.start()
    yield q
    q.shutdown()


def wait_final(q, job_id, timeout=10):
    prev = None
    deadline = time.time() + timeout
    while time.time() < deadline:
        ans = q.wait_for_job_change(job_id, ["status"], prev, None, 1)
        if ans == "nochange":
            continue
        prev = ans[0]
        if prev[0] in constants.JOBS_FINALIZED:
            return prev[0]
    raise AssertionError("job %s did not finish" % job_id)


def test_job_runs_and_file_matches_upstream_format(queue, tmp_path):
    job_id = queue.submit_job([delay()])
    assert wait_final(queue, job_id) == "success"
    with open(tmp_path / "queue" / ("job-%d" % job_id)) as fh:
        data = json.load(fh)
    assert set(data) >= {"id", "ops", "received_timestamp", "start_timestamp", "end_timestamp"}
    op = data["ops"][0]
    assert op["status"] == "success" and op["result"] == {"slept": 0.0001}
    assert op["input"]["OP_ID"] == "OP_TEST_DELAY" and op["input"]["on_master"] is True
    assert op["input"]["reason"][-1][:2] == ["gnt:opcode:test_delay", "job=%d;index=0" % job_id]
    assert op["log"][0][0] == 1 and op["log"][0][2] == "message"
    assert len(op["exec_timestamp"]) == 2
    with open(tmp_path / "queue" / "serial") as fh:
        assert int(fh.read()) == job_id


def test_failure_marks_rest(queue):
    job_id = queue.submit_job([delay(100), delay()])
    assert wait_final(queue, job_id) == "error"
    rows = queue.query_jobs([job_id], ["opstatus", "opresult"])
    assert rows[0][0] == ["error", "error"]
    assert rows[0][1][0] == ["OpPrereqError", ["too long", "wrong_input"]]


def test_bad_opcode_rejected_nothing_written(queue, tmp_path):
    before = set(os.listdir(tmp_path / "queue"))
    with pytest.raises(errors.OpPrereqError):
        queue.submit_job([{"OP_ID": "OP_TEST_DELAY", "nosuch": 1}])
    assert set(os.listdir(tmp_path / "queue")) == before


def test_dependencies_and_relative_ids(queue):
    res = queue.submit_many_jobs([[delay(0.2)], [delay(depends=[[-1, ["success"]]])]])
    ids = [r[1] for r in res]
    assert wait_final(queue, ids[1]) == "success"
    rows = queue.query_jobs(ids, ["end_ts"])
    assert rows[0][0] <= rows[1][0]


def test_failed_dependency_fails_dependent(queue):
    res = queue.submit_many_jobs([[delay(100)], [delay(depends=[[-1, ["success"]]])]])
    assert wait_final(queue, res[1][1]) == "error"


def test_cancel_queued(tmp_path):
    q = jqueue.JobQueue(lambda: Proc(), max_workers=1, queue_dir=str(tmp_path / "q"))
    q.start()
    try:
        first = q.submit_job([delay(0.5)])
        second = q.submit_job([delay()])
        ok, msg = q.cancel_job(second)
        assert ok, msg
        assert wait_final(q, second) == "canceled"
        assert wait_final(q, first) == "success"
        assert q.cancel_job(first)[0] is False
    finally:
        q.shutdown()


def test_drain(queue):
    queue.set_drain_flag(True)
    with pytest.raises(errors.JobQueueDrainError):
        queue.submit_job([delay()])
    queue.submit_job([delay()], allow_drained=True)
    queue.set_drain_flag(False)
    queue.submit_job([delay()])


def test_archive_and_autoarchive(queue, tmp_path):
    ids = [queue.submit_job([delay()]) for _ in range(3)]
    for i in ids:
        wait_final(queue, i)
    assert queue.archive_job(ids[0])
    assert os.path.exists(tmp_path / "queue" / "archive" / "0" / ("job-%d" % ids[0]))
    assert queue.auto_archive_jobs(-1, 10) == [2, 0]
    rows = queue.query_jobs([ids[1]], ["id", "archived", "status"])
    assert rows == [[ids[1], True, "success"]]
    assert queue.query_jobs(None, ["id"]) == []


def test_restart_rule(tmp_path):
    qdir = tmp_path / "q"
    q = jqueue.JobQueue(lambda: Proc(), max_workers=1, queue_dir=str(qdir))
    q.start()
    job_id = q.submit_job([delay()])
    wait_final(q, job_id)
    q.shutdown()
    template = json.loads((qdir / ("job-%d" % job_id)).read_text())
    for new_id, status in ((50, "running"), (51, "queued"), (52, "waiting")):
        data = json.loads(json.dumps(template))
        data["id"] = new_id
        data["ops"][0]["status"] = status
        (qdir / ("job-%d" % new_id)).write_text(json.dumps(data))
    (qdir / "job-53").write_text("{truncated")
    q = jqueue.JobQueue(lambda: Proc(), max_workers=1, queue_dir=str(qdir))
    q.start()
    try:
        assert wait_final(q, 50) == "error"
        assert wait_final(q, 52) == "error"
        assert wait_final(q, 51) == "success"
        assert q.query_jobs([50], ["opresult"])[0][0][0] == \
            ["OpExecError", ["Unclean master daemon shutdown"]]
        assert q.submit_job([delay()]) == 54  # never reuses ids
    finally:
        q.shutdown()


def test_second_queue_on_same_dir_refused(queue, tmp_path):
    other = jqueue.JobQueue(lambda: Proc(), queue_dir=str(tmp_path / "queue"))
    with pytest.raises(errors.JobQueueError):
        other.start()


def test_wait_nochange_and_wakeup(queue):
    job_id = queue.submit_job([delay(0.3)])
    first = queue.wait_for_job_change(job_id, ["status"], None, None, 1)
    status = first[0]
    t0 = time.time()
    ans = queue.wait_for_job_change(job_id, ["status"], status, 10**9, 0.05)
    assert ans in ("nochange",) or ans[0] != status
    assert wait_final(queue, job_id) == "success"
    assert time.time() - t0 < 5


def test_priority_order(tmp_path):
    order = []

    class P(Proc):
        def execute_opcode(self, op, ctx):
            ctx.notify_start()
            order.append(op.priority)
            time.sleep(op.duration)

    q = jqueue.JobQueue(lambda: P(), max_workers=1, queue_dir=str(tmp_path / "q"))
    q.start()
    try:
        blocker = q.submit_job([delay(0.3)])
        ids = [q.submit_job([delay(priority=p)]) for p in (10, 0, -10)]
        for i in ids + [blocker]:
            wait_final(q, i)
        assert order[1:] == [-10, 0, 10]
    finally:
        q.shutdown()


def test_query_filter(queue):
    ids = [queue.submit_job([delay()]) for _ in range(3)]
    for i in ids:
        wait_final(queue, i)
    res = queue.query(["id", "status"], ["|", ["==", "id", ids[0]], ["==", "id", ids[2]]])
    assert [r[0][1] for r in res["data"]] == [ids[0], ids[2]]


def test_many_concurrent_submitters(queue):
    ids = []
    lock = threading.Lock()

    def sub():
        for _ in range(20):
            i = queue.submit_job([delay()])
            with lock:
                ids.append(i)

    threads = [threading.Thread(target=sub) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 80
    for i in ids:
        assert wait_final(queue, i) == "success"
