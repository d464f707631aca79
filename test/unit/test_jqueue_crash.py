"""Crash safety: kill -9 a queue process mid-run, restart on the same directory.

Every job the child acknowledged (printed after submit returned) must be on
disk complete and loadable, the serial must cover it, ids must never be
reused, and after a restart the queued jobs run while the interrupted ones
are failed by the restart rule.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ganeti import constants, jqueue
from ganeti.jqueue.job import QueuedJob

CHILD = textwrap.dedent("""
    import sys, time
    from ganeti import jqueue

    class P:
        def execute_opcode(self, op, ctx):
            ctx.notify_start()
            ctx.feedback("working on %s" % ctx.job_id)
            time.sleep(op.duration)
            return op.duration

    q = jqueue.JobQueue(P, max_workers=int(sys.argv[2]), queue_dir=sys.argv[1])
    q.start()
    print("started", flush=True)
    op = {"OP_ID": "OP_TEST_DELAY", "duration": float(sys.argv[3])}
    sent = 0
    while sent < 200:
        if sent % 4 == 0:
            for ok, job_id in q.submit_many_jobs([[op, op] for _ in range(5)]):
                print("ack %d" % job_id, flush=True)
            sent += 5
        else:
            print("ack %d" % q.submit_job([op]), flush=True)
            sent += 1
    print("all", flush=True)
    time.sleep(60)
""")


class FastProc:
    def execute_opcode(self, op, ctx):
        ctx.notify_start()
        return None


def run_child_and_kill(qdir: str, script: str, kill_after: int, workers: int,
                       duration: float) -> list[int]:
    proc = subprocess.Popen([sys.executable, script, qdir, str(workers), str(duration)],
                            stdout=subprocess.PIPE,
                            text=True, bufsize=1)
    acked: list[int] = []
    try:
        assert proc.stdout.readline().strip() == "started"
        while len(acked) < kill_after:
            line = proc.stdout.readline()
            assert line, "child died early"
            if line.startswith("ack "):
                acked.append(int(line.split()[1]))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate(timeout=10)
    acked += [int(line.split()[1]) for line in rest.splitlines() if line.startswith("ack ")]
    return acked


def wait_final(q: jqueue.JobQueue, job_id: int, timeout: float = 20) -> str:
    prev = None
    deadline = time.time() + timeout
    while time.time() < deadline:
        ans = q.wait_for_job_change(job_id, ["status"], prev, None, 2)
        assert ans is not None, "acknowledged job %d lost" % job_id
        if ans != "nochange":
            prev = ans[0]
            if prev[0] in constants.JOBS_FINALIZED:
                return prev[0]
    raise AssertionError("job %d never finished" % job_id)


# few workers and slow ops: a backlog of queued jobs at the kill; many workers
# and fast ops: the kill tends to land inside group commits (temp files)
@pytest.mark.parametrize("kill_after,workers,duration",
                         [(15, 3, 0.01), (80, 8, 0.003), (160, 3, 0.01), (190, 8, 0.003)])
def test_kill_9_mid_run_then_restart(tmp_path, kill_after, workers, duration):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    qdir = tmp_path / "queue"
    acked = run_child_and_kill(str(qdir), str(script), kill_after, workers, duration)
    assert len(acked) >= kill_after and len(set(acked)) == len(acked)

    # every acknowledged job is complete on disk; so is any other job file
    on_disk = {}
    for name in os.listdir(qdir):
        if name.startswith("job-"):
            data = json.loads((qdir / name).read_text())
            job = QueuedJob.from_dict(data)
            assert name == "job-%d" % job.id
            on_disk[job.id] = job.status()
    assert set(acked) <= set(on_disk)
    serial = int((qdir / "serial").read_text())
    assert serial >= max(acked)

    q = jqueue.JobQueue(FastProc, max_workers=8, queue_dir=str(qdir))
    q.start()
    try:
        for job_id in sorted(on_disk):
            status = wait_final(q, job_id)
            before = on_disk[job_id]
            if before in (constants.JOB_STATUS_QUEUED, constants.JOB_STATUS_SUCCESS):
                assert status == "success", (job_id, before, status)
            elif before in constants.JOBS_FINALIZED:
                assert status == before
            else:
                assert status == "error", (job_id, before, status)
                results = q.query_jobs([job_id], ["opresult"])[0][0]
                assert ["OpExecError", ["Unclean master daemon shutdown"]] in results
        new_id = q.submit_job([{"OP_ID": "OP_TEST_DELAY", "duration": 0}])
        assert new_id > max(max(on_disk), serial)
        assert wait_final(q, new_id) == "success"
    finally:
        q.shutdown()
    assert not [n for n in os.listdir(qdir) if n.endswith(".tmp")]
