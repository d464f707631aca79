"""Kill -9 of masterd with 200 queued jobs: nothing lost, the queue finishes."""

from __future__ import annotations

import json
import os
import signal
import time

from ganeti import constants

from cluster_env import run, virtual_cluster


def _read_pid(env: dict, name: str) -> int:
    path = os.path.join(env["GANETI_ROOTDIR"], "var", "run", "ganeti", name + ".pid")
    with open(path) as fh:
        return int(fh.read().split()[0])


def test_kill9_masterd_with_200_queued_jobs(tmp_path):
    base = str(tmp_path / "vc")
    with virtual_cluster(base) as env:
        from ganeti import luxi  # noqa: F401  (import check only)
        sock = os.path.join(env["GANETI_ROOTDIR"], "var", "run", "ganeti", "socket",
                            "ganeti-master")
        jobs = [[{"OP_ID": "OP_TEST_DELAY", "duration": 0.02, "no_locks": False}]
                for _ in range(200)]
        job_file = tmp_path / "jobs.json"
        job_file.write_text(json.dumps(jobs))
        submit = run(env, env_python(), "-c",
                     "import json,sys; from ganeti import luxi;"
                     "c=luxi.Client(sys.argv[1]);"
                     "r=c.submit_many_jobs(json.load(open(sys.argv[2])));"
                     "print(json.dumps([j[1] for j in r if j[0]]))", sock, str(job_file))
        ids = json.loads(submit.stdout)
        assert len(ids) == 200
        time.sleep(0.5)
        pid = _read_pid(env, "ganeti-masterd")
        os.kill(pid, signal.SIGKILL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
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


def env_python() -> str:
    import sys
    return sys.executable
