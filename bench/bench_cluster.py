#!/usr/bin/env python3
"""Whole-system figures on a one-node virtual cluster.

Prints, each next to a bound measured in the same run:
- 1,000 no-op jobs (OP_TEST_DELAY, tiny duration) submitted at once: jobs/s,
  against one durable job-file write (temp + fsync + rename + dir fsync);
- synchronous `gnt-debug delay 0.001` and `gnt-cluster version` wall time,
  against a bare `python3 -c pass`;
- `gnt-job list` with 10,000 jobs in the queue.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(REPO, "test", "integration"))

from cluster_env import run, virtual_cluster  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import fsync_bound, median_wall  # noqa: E402





def submit_and_wait(sock: str, count: int) -> float:
    from ganeti import luxi
    client = luxi.Client(sock)
    jobs = [[{"OP_ID": "OP_TEST_DELAY", "duration": 0.0001, "no_locks": True}]
            for _ in range(count)]
    start = time.perf_counter()
    result = client.submit_many_jobs(jobs)
    ids = [r[1] for r in result if r[0]]
    assert len(ids) == count, result[:3]
    last = max(ids)
    status = None
    while status not in ("success", "error", "canceled"):
        ans = client.wait_for_job_change_once(last, ["status"], [status], None, 30)
        if ans == "nochange":
            continue
        status = ans[0][0]
    # the last job finishing does not imply all did: check them
    while True:
        rows = client.query_jobs(ids, ["status"])
        pending = [r for r in rows if r[0] not in ("success", "error", "canceled")]
        if not pending:
            break
        time.sleep(0.01)
    return time.perf_counter() - start


def main() -> int:
    base = tempfile.mkdtemp(prefix="bench-vc-")
    with virtual_cluster(base) as env:
        sock = os.path.join(env["GANETI_ROOTDIR"], "var", "run", "ganeti", "socket",
                            "ganeti-master")
        queue = os.path.join(env["GANETI_ROOTDIR"], "var", "lib", "ganeti", "queue")
        os.environ.update({k: env[k] for k in ("GANETI_ROOTDIR", "GANETI_HOSTNAME")})
        bound = fsync_bound(tempfile.mkdtemp(dir=os.path.dirname(queue)), size=900)
        elapsed = submit_and_wait(sock, 1000)
        rate = 1000 / elapsed
        print("1000 no-op jobs: %.2f s, %.0f jobs/s (target >= 300)" % (elapsed, rate))
        print("  bound: one durable job-file write %.3f ms => %.0f writes/s;"
              " jobs/s is %.2f x that" % (bound * 1e3, 1 / bound, rate * bound))
        py = median_wall(["/usr/bin/python3", "-c", "pass"], env)
        delay = median_wall(["gnt-debug", "delay", "0.001"], env)
        version = median_wall(["gnt-cluster", "version"], env)
        print("python3 -c pass: %.1f ms" % (py * 1e3))
        print("gnt-debug delay 0.001: %.1f ms (%.1f x python start; target < 100 ms)"
              % (delay * 1e3, delay / py))
        print("gnt-cluster version: %.1f ms (%.1f x python start; target < 60 ms)"
              % (version * 1e3, version / py))
        # fill the queue to 10,000 unarchived jobs
        from ganeti import luxi
        client = luxi.Client(sock)
        existing = len(client.query_jobs(None, ["id"]))
        todo = 10000 - existing
        while todo > 0:
            batch = min(todo, 1000)
            client.submit_many_jobs([[{"OP_ID": "OP_TEST_DELAY", "duration": 0.0001}]
                                     for _ in range(batch)])
            todo -= batch
        while any(r[0] not in ("success", "error", "canceled")
                  for r in client.query_jobs(None, ["status"])):
            time.sleep(0.2)
        count = len(client.query_jobs(None, ["id"]))
        listing = median_wall(["gnt-job", "list"], env, n=7)
        print("gnt-job list with %d jobs: %.1f ms (target < 300 ms)" % (count, listing * 1e3))
        res = run(env, "gnt-job", "list", "--no-headers")
        print("  (%d lines listed)" % len(res.stdout.splitlines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
