"""Kill -9 of masterd with 200 queued jobs: nothing lost, the queue finishes."""

from __future__ import annotations

import json
import os
import signal
import time

from ganeti import constants

from cluster_env import read_pid, run, submit_many, virtual_cluster, wait_exited


def test_kill9_masterd_with_200_queued_jobs(tmp_path):
    base = str(tmp_path / "vc")
    with virtual_cluster(base) as env:
        jobs = [[{"OP_ID": "OP_TEST_DELAY", "duration": 0.02, "no_locks": False}]
                for _ in range(200)]
        ids = submit_many(env, jobs, str(tmp_path))
        assert len(ids) == 200
        time.sleep(0.5)
        pid = read_pid(env, "ganeti-masterd")
        os.kill(pid, signal.SIGKILL)
        wait_exited(pid)
        queue = os.path.join(env["GANETI_ROOTDIR"], "var", "lib", "ganeti", "queue")
        for job_id in ids:
            with open(os.path.join(queue, "job-%d" % job_id)) as fh:
                data = json.load(fh)
            assert data["id"] == job_id
        run(env, "daemon-util", "start", "ganeti-masterd")
        deadline = time.time() + 120
        statuses = {}
        while time.time() < deadline:
            res = run(env, "gnt-job", "list", "--no-headers", "-o", "id,status",
                      "--separator=|")
            statuses = dict(line.split("|") for line in res.stdout.splitlines())
            if all(statuses.get(str(i)) in constants.JOBS_FINALIZED for i in ids):
                break
            time.sleep(0.5)
        assert all(statuses.get(str(i)) in constants.JOBS_FINALIZED for i in ids), statuses
        # queued jobs ran; at most the ones running at the kill ended in error
        errors_ = [i for i in ids if statuses[str(i)] == "error"]
        assert len(errors_) <= constants.JOB_DEFAULT_MAX_RUNNING
        assert sum(1 for i in ids if statuses[str(i)] == "success") >= 200 - len(errors_)
        for job_id in ids:
            with open(os.path.join(queue, "job-%d" % job_id)) as fh:
                json.load(fh)
        with open(os.path.join(env["GANETI_ROOTDIR"], "var", "lib", "ganeti",
                               "config.data")) as fh:
            assert json.load(fh)["version"] == constants.CONFIG_VERSION
