"""Job queue: real files in tmp dirs, real threads, a fake processor.

The processor is the queue's dependency, so tests drive it through the
opcode ``comment``: "fail", "crash", "lockwait:<event>", "run:<event>",
"feedback", "prio", "children", "badresult".
"""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from ganeti import constants, errors, jqueue

REF_DIR = "/work/shared/reference/ganeti-3.0/files"
FINAL = constants.JOBS_FINALIZED


class Env:
    """State shared by the test and its fake processors."""

    def __init__(self):
        self.events: dict[str, threading.Event] = {}
        self.lock = threading.Lock()
        self.order: list[int] = []
        self.running = 0
        self.max_running = 0

    def event(self, name: str) -> threading.Event:
        with self.lock:
            return self.events.setdefault(name, threading.Event())


class Proc:
    def __init__(self, env: Env):
        self.env = env

    def execute_opcode(self, op, ctx):
        env = self.env
        kind = op.comment or ""
        if kind.startswith("lockwait:"):         # waiting for locks, cancellable
            ev = env.event(kind.split(":", 1)[1])
            while not ev.wait(0.005):
                ctx.check_cancel()
        ctx.notify_start()
        with env.lock:
            env.order.append(ctx.job_id)
            env.running += 1
            env.max_running = max(env.max_running, env.running)
        try:
            if kind.startswith("run:"):          # running, kill-able
                ev = env.event(kind.split(":", 1)[1])
                while not ev.wait(0.005):
                    ctx.check_cancel()
            if kind == "fail":
                raise errors.OpPrereqError("bad things", errors.ECODE_INVAL)
            if kind == "crash":
                raise KeyError("boom")
            if kind == "badresult":
                return object()
            if kind == "feedback":
                ctx.feedback("first")
                ctx.feedback(constants.ELOG_MESSAGE_LIST, ["a", "b"])
            if kind == "prio":
                ctx.set_priority(ctx.get_priority() - 3)
            if kind == "children":
                return {"jobs": ctx.submit_many_jobs([[delay()], [delay()]])}
            time.sleep(op.duration)
            return {"slept": op.duration, "job": ctx.job_id}
        finally:
            with env.lock:
                env.running -= 1


def delay(d: float = 0.0, **kw) -> dict:
    return dict({"OP_ID": "OP_TEST_DELAY", "duration": d}, **kw)


@pytest.fixture
def env():
    return Env()


@pytest.fixture
def make_queue(tmp_path, env):
    queues = []

    def make(workers: int = 4, qdir: str = "queue", replicator=None, proc=None):
        q = jqueue.JobQueue(proc or (lambda: Proc(env)), max_workers=workers,
                            replicator=replicator, queue_dir=str(tmp_path / qdir))
        q.start()
        queues.append(q)
        return q

    yield make
    for ev in env.events.values():
        ev.set()
    for q in queues:
        q.shutdown(5)


@pytest.fixture
def queue(make_queue):
    return make_queue()


def wait_final(q, job_id, timeout=10.0):
    prev = None
    deadline = time.time() + timeout
    while time.time() < deadline:
        ans = q.wait_for_job_change(job_id, ["status"], prev, None, 1)
        assert ans is not None, "job %s unknown" % job_id
        if ans == "nochange":
            continue
        prev = ans[0]
        if prev[0] in FINAL:
            return prev[0]
    raise AssertionError("job %s did not finish" % job_id)


def wait_status(q, job_id, status, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if q.query_jobs([job_id], ["status"])[0][0] == status:
            return
        time.sleep(0.005)
    raise AssertionError("job %s never reached %s" % (job_id, status))


def job_file(tmp_path, job_id, qdir="queue"):
    return tmp_path / qdir / ("job-%d" % job_id)


def load(tmp_path, job_id, qdir="queue"):
    return json.loads(job_file(tmp_path, job_id, qdir).read_text())


# -- submission, execution, format ------------------------------------------

def test_job_file_matches_reference_format(queue, tmp_path):
    job_id = queue.submit_job([delay(0.01)])
    # acknowledged => already on disk, queued or later
    assert load(tmp_path, job_id)["ops"][0]["status"] in constants.JOB_STATUS_ALL
    assert wait_final(queue, job_id) == "success"
    text = job_file(tmp_path, job_id).read_text()
    data = json.loads(text)
    assert text == json.dumps(data) + "\n"        # upstream's separators + newline
    with open(os.path.join(REF_DIR, "job-20-op_test_delay-success")) as fh:
        ref = json.load(fh)
    ref_keys = [k for k in ref if k not in ("livelock", "process_id")]
    assert list(data) == ref_keys
    assert list(data["ops"][0]) == list(ref["ops"][0])
    assert list(data["ops"][0]["input"]) == list(ref["ops"][0]["input"])
    op = data["ops"][0]
    assert op["status"] == "success" and op["result"] == {"slept": 0.01, "job": job_id}
    assert op["input"]["OP_ID"] == "OP_TEST_DELAY" and op["input"]["on_master"] is True
    source, text_reason, ns = op["input"]["reason"][-1]
    assert [source, text_reason] == ["gnt:opcode:test_delay", "job=%d;index=0" % job_id]
    assert isinstance(ns, int) and ns // 1000 == data["received_timestamp"][0] * 10**6 + \
        data["received_timestamp"][1]
    for ts in (data["received_timestamp"], data["start_timestamp"], data["end_timestamp"],
               op["start_timestamp"], op["exec_timestamp"], op["end_timestamp"]):
        assert isinstance(ts, list) and len(ts) == 2 and all(isinstance(x, int) for x in ts)
        assert 0 <= ts[1] < 10**6
    assert data["received_timestamp"] <= op["start_timestamp"] <= op["exec_timestamp"] \
        <= op["end_timestamp"] <= data["end_timestamp"]
    assert data["start_timestamp"] == op["start_timestamp"]
    assert (tmp_path / "queue" / "serial").read_text() == "%d\n" % job_id
    assert (tmp_path / "queue" / "version").read_text() == "1\n"
    assert oct(os.stat(job_file(tmp_path, job_id)).st_mode & 0o777) == "0o640"


def test_ids_are_sequential_and_reference_queue_loads(make_queue, tmp_path):
    qdir = tmp_path / "ref"
    qdir.mkdir()
    for name in os.listdir(REF_DIR):
        if name.startswith("job-"):
            job_id = int(name.split("-")[1])
            (qdir / ("job-%d" % job_id)).write_text(open(os.path.join(REF_DIR, name)).read())
    q = make_queue(qdir="ref")
    rows = q.query_jobs(None, ["id", "status"])
    assert rows == [[2, "success"], [3, "error"], [8, "success"], [19, "error"],
                    [20, "success"]]
    assert q.submit_job([delay()]) == 21
    # unknown keys (livelock, process_id) survive a rewrite
    assert q.archive_job(20)
    assert "livelock" in load(tmp_path, 20, "ref/archive/0")


def test_failure_marks_rest(queue):
    job_id = queue.submit_job([delay(), delay(comment="fail"), delay()])
    assert wait_final(queue, job_id) == "error"
    status, result, end = queue.query_jobs([job_id], ["opstatus", "opresult", "end_ts"])[0]
    assert status == ["success", "error", "error"]
    assert result[1] == ["OpPrereqError", ["bad things", "wrong_input"]]
    assert result[2] == ["OpExecError", ["Preceding opcode failed"]]
    assert end is not None


def test_non_project_exception_and_bad_result(queue):
    a = queue.submit_job([delay(comment="crash")])
    b = queue.submit_job([delay(comment="badresult")])
    assert wait_final(queue, a) == wait_final(queue, b) == "error"
    assert queue.query_jobs([a], ["opresult"])[0][0] == [["OpExecError", ["'boom'"]]]
    res = queue.query_jobs([b], ["opresult"])[0][0][0]
    assert res[0] == "OpExecError" and "JSON" in res[1][0]


def test_bad_opcode_rejected_nothing_written(queue, tmp_path):
    good = queue.submit_job([delay()])
    wait_final(queue, good)

    def listing():
        return sorted(n for n in os.listdir(tmp_path / "queue") if not n.endswith(".tmp"))

    before = listing()
    for bad in ([{"OP_ID": "OP_TEST_DELAY", "nosuch": 1}], [{"OP_ID": "OP_NO_SUCH"}],
                [{"duration": 1}], [], [delay(priority=99)]):
        with pytest.raises(errors.OpPrereqError):
            queue.submit_job(bad)
    assert listing() == before
    assert queue.submit_job([delay()]) == good + 1          # no id burned
    res = queue.submit_many_jobs([[delay()], [{"OP_ID": "OP_X"}], [delay()]])
    assert res[0] == [True, good + 2] and res[2] == [True, good + 3]
    assert res[1][0] is False and "OP_X" in res[1][1]


def test_feedback_log_serials_and_priority_bump(queue):
    job_id = queue.submit_job([delay(comment="feedback"), delay(comment="feedback"),
                               delay(comment="prio")])
    assert wait_final(queue, job_id) == "success"
    oplog, prios = queue.query_jobs([job_id], ["oplog", "oppriority"])[0]
    serials = [e[0] for log in oplog for e in log]
    assert serials == [1, 2, 3, 4]                             # job-global
    assert oplog[0][0][2:] == ["message", "first"]
    assert oplog[0][1][2:] == ["message-list", ["a", "b"]]
    assert prios == [0, 0, -3]


def test_lu_generated_jobs_inherit(queue):
    job_id = queue.submit_job([delay(comment="children", priority=-5)])
    assert wait_final(queue, job_id) == "success"
    result = queue.query_jobs([job_id], ["opresult"])[0][0][0]
    kids = [j[1] for j in result["jobs"]]
    assert [j[0] for j in result["jobs"]] == [True, True]
    for kid in kids:
        assert wait_final(queue, kid) == "success"
        ops, prio = queue.query_jobs([kid], ["ops", "oppriority"])[0]
        assert ops[0]["comment"] == "Submitted by OP_TEST_DELAY" and prio == [-5]
        assert ops[0]["priority"] == -5
        assert ops[0]["reason"][0][0] == "gnt:opcode:test_delay"   # parent's trail first


def test_stats(queue):
    ids = [queue.submit_job([delay()]) for _ in range(3)]
    for i in ids:
        wait_final(queue, i)
    stats = queue.stats()
    assert stats["success"] == 3 and stats["queued"] == 0 and stats["files_written"] >= 9


# -- visibility = durability -------------------------------------------------

class GateReplicator:
    """Blocks replication of a job's final write until released."""

    def __init__(self):
        self.gate = threading.Event()
        self.blocked = threading.Event()
        self.files: dict[str, bytes] = {}
        self.renames: list = []
        self.fail = False

    def update_file(self, path, data):
        if b'"status": "success"' in data and not self.gate.is_set():
            self.blocked.set()
            self.gate.wait(10)
        self.files[path] = data
        if self.fail:
            raise RuntimeError("candidate unreachable")

    def rename_files(self, pairs):
        self.renames.extend(pairs)


def test_state_visible_only_after_write_and_replication(make_queue, tmp_path):
    rep = GateReplicator()
    q = make_queue(replicator=rep)
    job_id = q.submit_job([delay()])
    path = str(job_file(tmp_path, job_id))
    assert path in rep.files                                  # replicated before the ack
    assert rep.blocked.wait(5)
    # the success is on local disk already, but not yet replicated: not visible
    assert load(tmp_path, job_id)["ops"][0]["status"] == "success"
    visible = q.query_jobs([job_id], ["status"])[0][0]
    assert visible in ("queued", "waiting", "running")
    assert q.wait_for_job_change(job_id, ["status"], [visible], None, 0.2) == "nochange"
    rep.gate.set()
    assert wait_final(q, job_id) == "success"
    assert rep.files[path] == job_file(tmp_path, job_id).read_bytes()
    assert rep.files[str(tmp_path / "queue" / "serial")] == b"%d\n" % job_id


def test_replication_errors_are_not_fatal(make_queue):
    rep = GateReplicator()
    rep.gate.set()
    rep.fail = True
    q = make_queue(replicator=rep)
    assert wait_final(q, q.submit_job([delay()])) == "success"


# -- cancel ------------------------------------------------------------------

def test_cancel_queued(make_queue, env, tmp_path):
    q = make_queue(workers=1)
    blocker = q.submit_job([delay(comment="run:go")])
    victim = q.submit_job([delay(), delay()])
    assert q.cancel_job(victim) == [True, "Job %d canceled" % victim]
    data = load(tmp_path, victim)                             # durable when answered
    assert [op["status"] for op in data["ops"]] == ["canceled", "canceled"]
    assert data["ops"][0]["result"] == "Job canceled by request"
    assert data["end_timestamp"] is not None
    env.event("go").set()
    assert wait_final(q, blocker) == "success"
    assert victim not in env.order
    assert q.cancel_job(blocker)[0] is False
    assert q.cancel_job(victim)[0] is False
    assert q.cancel_job(99999) == [False, "Job 99999 not found"]


def test_cancel_waiting(queue, env):
    job_id = queue.submit_job([delay(comment="lockwait:never"), delay()])
    wait_status(queue, job_id, "waiting")
    ok, msg = queue.cancel_job(job_id)
    assert ok and "will be canceled" in msg
    assert wait_final(queue, job_id) == "canceled"
    assert queue.query_jobs([job_id], ["opstatus"])[0][0] == ["canceled", "canceled"]
    assert job_id not in env.order


def test_cancel_running_needs_kill(queue, env):
    job_id = queue.submit_job([delay(comment="run:never")])
    wait_status(queue, job_id, "running")
    assert queue.cancel_job(job_id) == [False, "Job %d is no longer waiting in the queue"
                                        % job_id]
    assert queue.cancel_job(job_id, kill=True)[0] is True
    assert wait_final(queue, job_id) == "canceled"


def test_cancel_parked_dependent(make_queue, env):
    q = make_queue(workers=2)
    first = q.submit_job([delay(comment="run:a")])
    second = q.submit_job([delay(depends=[[first, []]])])
    wait_status(q, second, "waiting")
    assert q.cancel_job(second) == [True, "Job %d canceled" % second]
    env.event("a").set()
    assert wait_final(q, first) == "success"
    assert wait_final(q, second) == "canceled"
    assert second not in env.order


# -- scheduling ----------------------------------------------------------------

def test_priority_order(make_queue, env):
    q = make_queue(workers=1)
    blocker = q.submit_job([delay(comment="run:go")])
    wait_status(q, blocker, "running")
    low, normal1, high, normal2 = [q.submit_job([delay(priority=p)]) for p in (10, 0, -10, 0)]
    late = q.submit_job([delay(priority=5)])
    assert q.change_job_priority(late, -20)[0] is True
    assert q.query_jobs([late], ["priority", "oppriority"])[0] == [-20, [-20]]
    env.event("go").set()
    for i in (low, normal1, high, normal2, late, blocker):
        wait_final(q, i)
    assert env.order == [blocker, late, high, normal1, normal2, low]
    assert q.change_job_priority(late, 0) == [False, "Job %d is finished" % late]
    with pytest.raises(errors.OpPrereqError):
        q.change_job_priority(late, 100)


def test_equal_priority_runs_in_id_order(make_queue, env):
    q = make_queue(workers=1)
    blocker = q.submit_job([delay(comment="run:go")])
    wait_status(q, blocker, "running")
    ids = [r[1] for r in q.submit_many_jobs([[delay()] for _ in range(5)])]
    env.event("go").set()
    for i in ids:
        wait_final(q, i)
    assert env.order == [blocker] + ids


def test_set_max_workers(make_queue, env):
    q = make_queue(workers=1)
    ids = [r[1] for r in q.submit_many_jobs([[delay(0.05)] for _ in range(4)])]
    for i in ids:
        wait_final(q, i)
    assert env.max_running == 1
    q.set_max_workers(4)
    env.max_running = 0
    ids = [r[1] for r in q.submit_many_jobs([[delay(0.2)] for _ in range(4)])]
    for i in ids:
        wait_final(q, i)
    assert env.max_running >= 3


# -- dependencies ---------------------------------------------------------------

def test_dependencies_relative_ids_and_no_worker_held(make_queue, env):
    q = make_queue(workers=2)
    res = q.submit_many_jobs([[delay(comment="run:a")],
                              [delay(depends=[[-1, ["success"]]])],
                              [delay()]])
    first, dependent, free = [r[1] for r in res]
    assert q.query_jobs([dependent], ["ops"])[0][0][0]["depends"] == [[first, ["success"]]]
    wait_status(q, dependent, "waiting")
    # the parked dependent holds no worker: the independent job runs meanwhile
    assert wait_final(q, free) == "success"
    assert q.query_jobs([dependent], ["status"])[0][0] == "waiting"
    env.event("a").set()
    assert wait_final(q, dependent) == "success"
    assert env.order[-1] == dependent and set(env.order[:2]) == {first, free}


def test_failed_and_canceled_dependencies(make_queue, env):
    q = make_queue(workers=4)
    bad = q.submit_job([delay(comment="fail")])
    wait_final(q, bad)
    strict = q.submit_job([delay(depends=[[bad, ["success"]]])])
    lenient = q.submit_job([delay(depends=[[bad, []]])])
    assert wait_final(q, strict) == "error"
    msg = q.query_jobs([strict], ["opresult"])[0][0][0]
    assert msg[0] == "OpExecError" and "Dependency job %d" % bad in msg[1][0] \
        and "error" in msg[1][0]
    assert wait_final(q, lenient) == "success"

    blocker = q.submit_job([delay(comment="run:b")])
    canceled = q.submit_job([delay(depends=[[blocker, []]])])
    wait_status(q, canceled, "waiting")
    target = q.submit_job([delay(comment="lockwait:never")])
    dep_default = q.submit_job([delay(depends=[[target, []]])])
    dep_allow = q.submit_job([delay(depends=[[target, ["canceled"]]])])
    wait_status(q, target, "waiting")
    assert q.cancel_job(target)[0]
    assert wait_final(q, target) == "canceled"
    assert wait_final(q, dep_default) == "canceled"
    assert wait_final(q, dep_allow) == "success"
    env.event("b").set()
    assert wait_final(q, canceled) == "success"


def test_dependency_on_unknown_archived_and_unresolvable(queue):
    missing = queue.submit_job([delay(depends=[[424242, []]])])
    assert wait_final(queue, missing) == "error"
    assert "not found" in queue.query_jobs([missing], ["opresult"])[0][0][0][1][0]
    done = queue.submit_job([delay()])
    wait_final(queue, done)
    assert queue.archive_job(done)
    after = queue.submit_job([delay(depends=[[done, ["success"]]])])
    assert wait_final(queue, after) == "success"
    res = queue.submit_many_jobs([[delay(depends=[[-1, []]])], [delay()]])
    assert res[0][0] is False and "relative" in res[0][1]
    assert res[1][0] is True
    with pytest.raises(errors.OpPrereqError):
        queue.submit_job([delay(depends=[[-1, []]])])


# -- archive -------------------------------------------------------------------

def test_archive_and_autoarchive(make_queue, env, tmp_path):
    rep = GateReplicator()
    rep.gate.set()
    q = make_queue(replicator=rep)
    ids = [q.submit_job([delay()]) for _ in range(4)]
    for i in ids:
        wait_final(q, i)
    pending = q.submit_job([delay(comment="run:hold")])
    wait_status(q, pending, "running")
    assert q.archive_job(ids[0])
    dst = tmp_path / "queue" / "archive" / "0" / ("job-%d" % ids[0])
    assert dst.exists() and not job_file(tmp_path, ids[0]).exists()
    assert rep.renames == [(str(job_file(tmp_path, ids[0])), str(dst))]
    assert q.archive_job(ids[0]) is False
    assert q.archive_job(pending) is False
    assert q.auto_archive_jobs(3600, 10) == [0, 0]            # nothing that old
    assert q.auto_archive_jobs(-1, 10) == [3, 0]
    assert [r[0] for r in q.query_jobs(None, ["id"])] == [pending]
    assert q.query_jobs([ids[1], 77777], ["id", "archived", "status"]) == \
        [[ids[1], True, "success"], None]
    # archived jobs appear in query2 only when asked for
    assert [r[0][1] for r in q.query(["id"], None)["data"]] == [pending]
    data = q.query(["id", "archived"], ["==", "archived", True])["data"]
    assert [r[0][1] for r in data] == ids
    data = q.query(["id"], ["|", ["==", "id", ids[2]], ["==", "id", pending]])["data"]
    assert [r[0][1] for r in data] == [ids[2], pending]
    assert q.wait_for_job_change(ids[1], ["status"], None, None, 5) == [["success"], []]
    env.event("hold").set()
    wait_final(q, pending)


def test_autoarchive_age(queue, tmp_path):
    job_id = queue.submit_job([delay()])
    wait_final(queue, job_id)
    time.sleep(1.1)
    assert queue.auto_archive_jobs(0, 10) == [1, 0]


# -- drain, lock, restart --------------------------------------------------------

def test_drain(queue, tmp_path):
    assert not queue.is_drained()
    queue.set_drain_flag(True)
    assert queue.is_drained() and (tmp_path / "queue" / "drain").exists()
    with pytest.raises(errors.JobQueueDrainError, match="Job queue is drained, refusing job"):
        queue.submit_job([delay()])
    with pytest.raises(errors.JobQueueDrainError):
        queue.submit_many_jobs([[delay()]])
    job_id = queue.submit_job([delay()], allow_drained=True)
    assert wait_final(queue, job_id) == "success"
    queue.set_drain_flag(False)
    assert not queue.is_drained()
    queue.submit_job([delay()])


def test_second_queue_on_same_dir_refused(queue, tmp_path, env):
    other = jqueue.JobQueue(lambda: Proc(env), queue_dir=str(tmp_path / "queue"))
    with pytest.raises(errors.JobQueueError, match="in use"):
        other.start()


def test_restart_rule(make_queue, tmp_path, env):
    q = make_queue(workers=1, qdir="q")
    job_id = q.submit_job([delay()])
    wait_final(q, job_id)
    q.shutdown()
    qdir = tmp_path / "q"
    template = load(tmp_path, job_id, "q")
    two_ops = dict(template, ops=[template["ops"][0], template["ops"][0]])
    cases = {50: ["running"], 51: ["queued"], 52: ["waiting"], 53: ["canceling"],
             54: ["success", "queued"], 55: ["success", "running"]}
    for new_id, statuses in cases.items():
        data = json.loads(json.dumps(two_ops if len(statuses) == 2 else template))
        data["id"] = new_id
        for op, status in zip(data["ops"], statuses, strict=True):
            op["status"] = status
            if status != "success":
                op["result"] = None
        (qdir / ("job-%d" % new_id)).write_text(json.dumps(data))
    (qdir / "job-60").write_text("{truncated")              # corrupt: skipped
    (qdir / ".job-61.abc123.tmp").write_text("{half")       # crash leftover: removed
    (qdir / "serial").write_text("3\n")                     # stale: ids still not reused
    q = make_queue(workers=1, qdir="q")
    unclean = ["OpExecError", ["Unclean master daemon shutdown"]]
    for bad in (50, 52, 53):
        assert wait_final(q, bad) == "error"
        assert q.query_jobs([bad], ["opresult"])[0][0] == [unclean]
        assert load(tmp_path, bad, "q")["end_timestamp"] is not None   # persisted
    assert wait_final(q, 55) == "error"
    assert q.query_jobs([55], ["opstatus"])[0][0] == ["success", "error"]
    assert wait_final(q, 51) == "success"
    assert wait_final(q, 54) == "success"
    assert q.query_jobs([54], ["opstatus"])[0][0] == ["success", "success"]
    assert not (qdir / ".job-61.abc123.tmp").exists()
    assert q.query_jobs([60], ["id"]) == [None]
    assert q.submit_job([delay()]) == 61


def test_shutdown_keeps_pending_jobs(make_queue, env):
    q = make_queue(workers=1, qdir="q")
    a = q.submit_job([delay(comment="run:a"), delay()])
    b = q.submit_job([delay(depends=[[a, []]])])
    c = q.submit_job([delay()])
    wait_status(q, a, "running")
    threading.Timer(0.2, env.event("a").set).start()
    q.shutdown(10)
    with pytest.raises(errors.JobQueueError):
        q.submit_job([delay()])
    q = make_queue(workers=2, qdir="q")
    for job_id in (a, b, c):
        assert wait_final(q, job_id) == "success"


# -- WaitForJobChange and queries -------------------------------------------------

def test_wait_for_job_change(queue, env):
    job_id = queue.submit_job([delay(comment="lockwait:go"), delay(comment="feedback")])
    assert queue.wait_for_job_change(999999, ["status"], None, None, 1) is None
    wait_status(queue, job_id, "waiting")
    t0 = time.monotonic()
    assert queue.wait_for_job_change(job_id, ["status"], ["waiting"], None, 0.3) == "nochange"
    assert 0.25 <= time.monotonic() - t0 < 2
    woke = []

    def waiter():
        start = time.monotonic()
        ans = queue.wait_for_job_change(job_id, ["status"], ["waiting"], None, 20)
        woke.append((time.monotonic() - start, ans))

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.1)
    env.event("go").set()
    thread.join(10)
    elapsed, ans = woke[0]
    assert elapsed < 2 and ans[0] != ["waiting"]
    assert wait_final(queue, job_id) == "success"
    info, logs = queue.wait_for_job_change(job_id, ["status", "id"], None, None, 1)
    assert info == ["success", job_id] and [e[0] for e in logs] == [1, 2]
    # only newer entries; a finished job answers at once even if nothing changed
    assert queue.wait_for_job_change(job_id, ["status", "id"], info, 1, 5) == \
        [info, [logs[1]]]
    with pytest.raises(errors.OpPrereqError):
        queue.wait_for_job_change(job_id, ["nosuchfield"], None, None, 1)


def test_query_and_query_jobs(queue):
    ok = queue.submit_job([delay()])
    bad = queue.submit_job([delay(comment="fail")])
    wait_final(queue, ok)
    wait_final(queue, bad)
    res = queue.query(["id", "status", "summary"], ["==", "status", "error"])
    assert [f["name"] for f in res["fields"]] == ["id", "status", "summary"]
    assert res["data"] == [[[0, bad], [0, "error"], [0, ["TEST_DELAY(0.0)"]]]]
    res = queue.query(["id", "nosuch"], None)
    assert [r[0][1] for r in res["data"]] == [ok, bad]
    assert res["data"][0][1][0] == constants.RS_UNKNOWN
    assert queue.query_jobs(None, ["id", "status"]) == [[ok, "success"], [bad, "error"]]
    assert queue.query_jobs([bad, 5555, ok], ["id"]) == [[bad], None, [ok]]
    with pytest.raises(errors.OpPrereqError):
        queue.query_jobs(None, ["nosuch"])


def test_many_concurrent_submitters(queue):
    ids = []
    lock = threading.Lock()

    def submit():
        for _ in range(15):
            job_id = queue.submit_job([delay()])
            with lock:
                ids.append(job_id)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ids) == list(range(min(ids), min(ids) + 60))
    for job_id in ids:
        assert wait_final(queue, job_id) == "success"
    assert [r[0] for r in queue.query_jobs(None, ["id"])] == sorted(ids)
