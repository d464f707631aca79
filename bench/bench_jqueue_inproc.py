#!/usr/bin/env python3
"""Job queue throughput in-process, without LUXI or LUs.

Submits 1,000 OP_TEST_DELAY jobs in one SubmitManyJobs call to a JobQueue
whose processor does nothing but ``notify_start``, and waits until all are
finished. Every state change is fsync'd, so the figure to compare with is
the cost of one durable file write (``write_file_atomic``: temp file, fsync,
rename, directory fsync), printed as "fsync bound". Also prints the time to
list 10,000 jobs (QueryJobs and query2) from memory. Figures only, no
assertions.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time


from ganeti import jqueue
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import fsync_bound  # noqa: E402


class NoopProcessor:
    def execute_opcode(self, op, ctx):
        ctx.notify_start()
        return None




def wait_all(queue: jqueue.JobQueue, ids: list[int]) -> None:
    for job_id in ids:
        prev = None
        while True:
            ans = queue.wait_for_job_change(job_id, ["status"], prev, None, 30)
            if ans is None:
                raise SystemExit("job %s vanished" % job_id)
            if ans != "nochange":
                prev = ans[0]
                if prev[0] in ("success", "error", "canceled"):
                    break


def run_batch(base: str, count: int, workers: int) -> tuple[float, dict]:
    qdir = tempfile.mkdtemp(prefix="q", dir=base)
    queue = jqueue.JobQueue(NoopProcessor, max_workers=workers, queue_dir=qdir)
    queue.start()
    try:
        jobs = [[{"OP_ID": "OP_TEST_DELAY", "duration": 0.0}] for _ in range(count)]
        start = time.perf_counter()
        res = queue.submit_many_jobs(jobs)
        submitted = time.perf_counter() - start
        ids = [r[1] for r in res if r[0]]
        wait_all(queue, ids)
        elapsed = time.perf_counter() - start
        stats = queue.stats()
        stats["submit_s"] = submitted
    finally:
        queue.shutdown()
    return elapsed, stats


def list_10k(base: str) -> tuple[float, float, int]:
    qdir = tempfile.mkdtemp(prefix="l", dir=base)
    queue = jqueue.JobQueue(NoopProcessor, max_workers=20, queue_dir=qdir)
    queue.start()
    try:
        for _ in range(10):
            res = queue.submit_many_jobs([[{"OP_ID": "OP_TEST_DELAY", "duration": 0.0}]
                                          for _ in range(1000)])
        wait_all(queue, [r[1] for r in res])
        start = time.perf_counter()
        rows = queue.query_jobs(None, ["id", "status", "summary"])
        t_old = time.perf_counter() - start
        start = time.perf_counter()
        queue.query(["id", "status", "summary"], None)
        t_q2 = time.perf_counter() - start
    finally:
        queue.shutdown()
    return t_old, t_q2, len(rows)


def main() -> int:
    base = tempfile.mkdtemp(prefix="bench-jqueue-", dir=os.environ.get("TMPDIR", "/tmp"))
    try:
        bound = fsync_bound(base, size=1200)
        print("fsync bound: one write_file_atomic = %.3f ms (median of 200)"
              " -> %.0f durable writes/s if serial" % (bound * 1000, 1 / bound))
        for workers in (20, 4):
            elapsed, stats = run_batch(base, 1000, workers)
            print("1000 no-op jobs, %2d workers: %.2f s total = %.0f jobs/s"
                  " (submit+ack %.3f s; %d group commits, %d files written,"
                  " %.1f files/commit)" %
                  (workers, elapsed, 1000 / elapsed, stats["submit_s"],
                   stats["write_batches"], stats["files_written"],
                   stats["files_written"] / max(1, stats["write_batches"])))
        t_old, t_q2, n = list_10k(base)
        print("list %d jobs (id,status,summary): QueryJobs %.1f ms, Query %.1f ms" %
              (n, t_old * 1000, t_q2 * 1000))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
