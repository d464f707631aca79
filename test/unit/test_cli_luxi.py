"""The gnt-* programs against a fake master: requests sent, output and exit codes.

A tiny LUXI server (a real Unix socket, ETX-framed JSON) answers with canned
data; the programs run as subprocesses with FORCE_LUXI_SOCKET pointing at it,
so option parsing, the job-following loop, error rendering and exit codes are
all exercised end to end.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

import pytest

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
REF = os.path.normpath(os.path.join(REPO, "..", "shared", "reference", "ganeti-3.0"))
ETX = b"\x03"
MASTER = "node1.example.com"


def _ref(name: str) -> str:
    """A reference output without its "$ command" header and exit code trailer."""
    with open(os.path.join(REF, "outputs", name)) as fh:
        lines = fh.read().splitlines()
    return "\n".join(line for line in lines[1:] if not line.startswith("[exit code")) + "\n"


def _ref_json(name: str) -> dict:
    with open(os.path.join(REF, "outputs", name)) as fh:
        text = fh.read()
    return json.loads(text[text.index("{"):text.rindex("}") + 1])


class FakeMaster:
    """A LUXI server whose methods are plain functions; every request is recorded."""

    def __init__(self, path: str):
        self.path = path
        self.handlers: dict = {}
        self.requests: list[tuple[str, list]] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(path)
        self._sock.listen(16)
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        buf = b""
        with conn:
            while True:
                while ETX not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                msg, buf = buf.split(ETX, 1)
                req = json.loads(msg)
                self.requests.append((req["method"], req["args"]))
                try:
                    handler = self.handlers[req["method"]]
                    answer = {"success": True, "result": handler(*req["args"])}
                except _Fail as err:
                    answer = {"success": False, "result": err.encoded}
                except KeyError:
                    answer = {"success": False,
                              "result": ["ProtocolError", ["no method %s" % req["method"]]]}
                conn.sendall(json.dumps(answer).encode() + ETX)

    def close(self) -> None:
        self._stop = True
        self._sock.close()

    def calls(self, method: str) -> list[list]:
        return [args for name, args in self.requests if name == method]


class _Fail(Exception):
    def __init__(self, encoded):
        super().__init__()
        self.encoded = encoded


def _write_ssconf(root: str, master: str = MASTER) -> None:
    data = os.path.join(root, "var", "lib", "ganeti")
    os.makedirs(data, exist_ok=True)
    for key, value in (("master_node", master), ("cluster_name", "cluster.example.com"),
                       ("node_list", MASTER), ("online_nodes", MASTER),
                       ("node_primary_ips", MASTER + " 127.0.0.1"),
                       ("ssh_ports", MASTER + "=22")):
        with open(os.path.join(data, "ssconf_" + key), "w") as fh:
            fh.write(value + "\n")


@pytest.fixture
def env(tmp_path):
    root = str(tmp_path / "root")
    _write_ssconf(root)
    master = FakeMaster(str(tmp_path / "master.sock"))
    environ = dict(os.environ, FORCE_LUXI_SOCKET=master.path, GANETI_ROOTDIR=root,
                   GANETI_HOSTNAME=MASTER, TZ="UTC", PYTHONPATH=os.path.join(REPO, "lib"))
    yield master, environ
    master.close()


def gnt(environ: dict, program: str, *args: str, stdin: str | None = None):
    return subprocess.run([sys.executable, os.path.join(REPO, "scripts", program), *args],
                          env=environ, capture_output=True, text=True, timeout=60,
                          input=stdin, start_new_session=True)


def _job_handlers(master: FakeMaster, results: dict, logs: dict | None = None,
                  statuses: dict | None = None, first_id: int = 20) -> None:
    """SubmitJob/WaitForJobChange/QueryJobs for jobs whose outcome is fixed up front."""
    logs = logs or {}
    statuses = statuses or {}
    counter = iter(range(first_id, first_id + 100))

    def submit(ops):
        return next(counter)

    def wait(job_id, fields, prev_info, prev_serial, timeout):
        status = statuses.get(job_id, "success")
        new = [e for e in logs.get(job_id, []) if prev_serial is None or e[0] > prev_serial]
        return [[status], new]

    def query_jobs(ids, fields):
        out = []
        for job_id in ids:
            status = statuses.get(job_id, "success")
            res = results[job_id]
            opstatus = ["success" if status == "success" else "error"] * len(res)
            row = {"status": status, "opstatus": opstatus, "opresult": res}
            out.append([row[f] for f in fields])
        return out

    master.handlers.update(SubmitJob=submit, WaitForJobChange=wait, QueryJobs=query_jobs)


# --- cluster ----------------------------------------------------------------------------

def test_version_and_info(env):
    master, environ = env
    info = _ref_json("rapi-info.txt")
    master.handlers["QueryClusterInfo"] = lambda: info
    res = gnt(environ, "gnt-cluster", "version")
    assert (res.returncode, res.stdout, res.stderr) == (0, _ref("gnt-cluster-version.txt"), "")
    res = gnt(environ, "gnt-cluster", "info")
    assert res.returncode == 0
    assert res.stdout == _ref("gnt-cluster-info.txt")
    res = gnt(environ, "gnt-cluster", "show", "--roman")
    assert "  candidate pool size: X\n" in res.stdout
    assert master.calls("QueryClusterInfo") == [[], [], []]


def test_getmaster_needs_no_master_daemon(env):
    _, environ = env
    environ["FORCE_LUXI_SOCKET"] = "/nonexistent/socket"
    res = gnt(environ, "gnt-cluster", "getmaster")
    assert (res.returncode, res.stdout) == (0, _ref("gnt-cluster-getmaster.txt"))


def test_master_socket_missing(env, tmp_path):
    _, environ = env
    environ["FORCE_LUXI_SOCKET"] = str(tmp_path / "nothing")
    res = gnt(environ, "gnt-cluster", "version")
    assert res.returncode == 1
    assert res.stderr == ("Cannot communicate with the master daemon.\nIs it running and"
                          " listening for connections?\n")
    assert gnt(environ, "gnt-cluster", "master-ping").returncode == 1
    # on another node: say where the master is (exit 11)
    res = gnt(dict(environ, GANETI_HOSTNAME="node2.example.com"), "gnt-job", "list")
    assert res.returncode == 11
    assert "please connect to node 'node1.example.com'" in res.stderr
    # outside any cluster (exit 5)
    res = gnt(dict(environ, GANETI_ROOTDIR=str(tmp_path / "empty")), "gnt-job", "list")
    assert res.returncode == 5
    assert "not part of a cluster" in res.stderr


def test_master_ping(env):
    master, environ = env
    master.handlers["QueryClusterInfo"] = lambda: {}
    assert gnt(environ, "gnt-cluster", "master-ping").returncode == 0


def test_verify_follows_submitted_jobs(env):
    master, environ = env
    ts = [1795508357, 800360]
    logs = {9: [[1, ts, "message", "* Verifying cluster config"]],
            10: [[2, ts, "message", "* Verifying group 'default'"],
                 [3, ts, "message", "  - ERROR: node node1: bad"]]}
    _job_handlers(master, {20: [{"jobs": [[True, 9], [True, 10]]}], 9: [True], 10: [False]},
                  logs)
    res = gnt(environ, "gnt-cluster", "verify", "--error-codes", "-I", "ENODESETUP")
    assert res.returncode == 1
    assert res.stdout == ("Submitted jobs 9, 10\nWaiting for job 9 ...\n"
                          "Tue Nov 24 08:19:17 2026 * Verifying cluster config\n"
                          "Waiting for job 10 ...\n"
                          "Tue Nov 24 08:19:17 2026 * Verifying group 'default'\n"
                          "Tue Nov 24 08:19:17 2026   - ERROR: node node1: bad\n")
    (ops,), = master.calls("SubmitJob")
    op = ops[0]
    assert op["OP_ID"] == "OP_CLUSTER_VERIFY" and op["error_codes"] is True
    assert op["ignore_errors"] == ["ENODESETUP"] and op["skip_checks"] == []
    assert op["reason"][0][:2] == ["gnt:client:gnt-cluster", "verify"]
    # all good: exit 0
    master.requests.clear()
    _job_handlers(master, {20: [{"jobs": [[True, 9], [True, 10]]}], 9: [True], 10: [True]})
    assert gnt(environ, "gnt-cluster", "verify").returncode == 0


def test_queue_and_watcher(env):
    master, environ = env
    state = {"drain": False, "pause": None}
    master.handlers["SetDrainFlag"] = lambda flag: state.update(drain=flag) or True
    master.handlers["SetWatcherPause"] = lambda until: state.update(pause=until) or until
    master.handlers["QueryConfigValues"] = lambda fields: [
        {"drain_flag": state["drain"], "watcher_pause": state["pause"]}[f] for f in fields]
    assert gnt(environ, "gnt-cluster", "queue", "info").stdout == "The drain flag is unset\n"
    assert gnt(environ, "gnt-cluster", "queue", "drain").returncode == 0
    assert gnt(environ, "gnt-cluster", "queue", "info").stdout == "The drain flag is set\n"
    res = gnt(environ, "gnt-cluster", "queue", "bogus")
    assert res.returncode == 1 and "Command 'bogus' is not valid." in res.stderr
    assert gnt(environ, "gnt-cluster", "watcher", "info").stdout == \
        "The watcher is not paused.\n"
    res = gnt(environ, "gnt-cluster", "watcher", "pause", "1h")
    assert res.stdout.startswith("The watcher is paused until ")
    assert gnt(environ, "gnt-cluster", "watcher", "continue").stdout == \
        "The watcher is no longer paused.\n"
    assert state["pause"] is None


def test_modify_and_tags(env):
    master, environ = env
    _job_handlers(master, {20: [None], 21: [None], 22: [[["/cluster", "a"]]], 23: [[]]})
    res = gnt(environ, "gnt-cluster", "modify")
    assert res.returncode == 1 and "Please give at least one of the parameters." in res.stderr
    res = gnt(environ, "gnt-cluster", "modify", "-B", "vcpus=2,memory=1G", "-H",
              "kvm:acpi=false,kernel_path=/k", "--uid-pool", "1000-1009,2000",
              "--prealloc-wipe-disks", "yes", "-C", "5", "--ipolicy-vcpu-ratio", "2.5")
    assert res.returncode == 0, res.stderr
    (ops,), = master.calls("SubmitJob")
    op = ops[0]
    assert op["beparams"] == {"vcpus": 2, "maxmem": 1024, "minmem": 1024}
    assert op["hvparams"] == {"kvm": {"acpi": False, "kernel_path": "/k"}}
    assert op["uid_pool"] == [[1000, 1009], [2000, 2000]]
    assert op["prealloc_wipe_disks"] is True and op["candidate_pool_size"] == 5
    assert op["ipolicy"] == {"vcpu-ratio": 2.5}
    assert "vg_name" not in op
    res = gnt(environ, "gnt-cluster", "add-tags", "--from", "-", "x", stdin="a\nb\n")
    assert res.returncode == 0
    assert master.calls("SubmitJob")[1][0][0]["tags"] == ["x", "a", "b"]
    res = gnt(environ, "gnt-cluster", "search-tags", "a")
    assert (res.returncode, res.stdout) == (0, "/cluster a\n")
    assert gnt(environ, "gnt-cluster", "search-tags", "zzz").returncode == 1


def test_destroy_needs_yes_do_it(env):
    _, environ = env
    res = gnt(environ, "gnt-cluster", "destroy")
    assert res.returncode == 1
    assert res.stderr == ("Destroying a cluster is irreversible. If you really want destroy"
                          " this cluster, supply the --yes-do-it option.\n")


def test_command_runs_locally_on_this_node(env):
    _, environ = env
    res = gnt(environ, "gnt-cluster", "command", "echo", "hello")
    assert res.returncode == 0
    assert res.stdout == ("------------------------------------------------\n"
                          "node: node1.example.com\nhello\n\nreturn code = 0\n")
    res = gnt(environ, "gnt-cluster", "command", "-M", "echo hi; exit 3")
    assert res.returncode == 1
    assert res.stdout.endswith("node1.example.com: hi\nreturn code = 3\n")
    res = gnt(environ, "gnt-cluster", "command", "--failure-only", "true")
    assert (res.returncode, res.stdout) == (0, "")
    res = gnt(environ, "gnt-cluster", "command", "-n", "nosuch", "true")
    assert res.returncode == 1 and "Node 'nosuch' not known" in res.stderr


# --- jobs ---------------------------------------------------------------------------------

def test_delay_failure_and_submit(env):
    master, environ = env
    err = ["OpPrereqError", ["Duration must be greater than zero"]]
    _job_handlers(master, {20: [err], 21: [None]}, statuses={20: "error"})
    res = gnt(environ, "gnt-debug", "delay", "0")
    assert res.returncode == 1
    assert res.stdout == ""
    assert res.stderr == _ref("error-debug-delay-zero.txt")
    (ops,), = master.calls("SubmitJob")
    assert ops[0]["duration"] == 0.0 and ops[0]["on_master"] is True
    assert ops[0]["no_locks"] is False and ops[0]["on_nodes"] == []
    res = gnt(environ, "gnt-debug", "delay", "--submit", "--priority", "high", "0.01")
    assert (res.returncode, res.stdout, res.stderr) == (0, "JobID: 21\n", "")
    assert master.calls("SubmitJob")[1][0][0]["priority"] == -10
    assert len(master.calls("WaitForJobChange")) == 1


def test_delay_success_prints_nothing(env):
    master, environ = env
    _job_handlers(master, {20: [None]})
    res = gnt(environ, "gnt-debug", "delay", "--print-jobid", "-n", "n2", "-l", "0.001")
    assert (res.returncode, res.stdout, res.stderr) == (0, "20\n", "")
    op = master.calls("SubmitJob")[0][0][0]
    assert op["on_nodes"] == ["n2"] and op["no_locks"] is True


def test_exec_error_and_drained_queue(env):
    master, environ = env
    _job_handlers(master, {20: [["OpExecError", ["disk on fire"]]]}, statuses={20: "error"})
    res = gnt(environ, "gnt-debug", "delay", "1")
    assert (res.returncode, res.stderr) == (1, "Failure: command execution error:\n"
                                               "disk on fire\n")

    def drained(ops):
        raise _Fail(["JobQueueDrainError", ["Job queue is drained, refusing job"]])
    master.handlers["SubmitJob"] = drained
    res = gnt(environ, "gnt-debug", "delay", "1")
    assert res.returncode == 1
    assert res.stderr == ("Failure: the job queue is marked for drain and doesn't accept new"
                          " requests\n")


def _job_query_response(rows: list[list], fields: list[str]) -> dict:
    from ganeti import query
    return {"fields": [query.JOB_FIELDS[f].fdef.to_dict() if f in query.JOB_FIELDS else
                       {"name": f, "title": f, "kind": "unknown", "doc": "Unknown field"}
                       for f in fields],
            "data": rows}


def test_job_list(env):
    master, environ = env
    lines = _ref("gnt-job-list.txt").splitlines()[1:]
    jobs = [(int(p[0]), p[1], p[2]) for p in (line.split() for line in lines)]

    def query(what, fields, qfilter):
        assert what == "job"
        rows = []
        for job_id, status, summary in jobs:
            values = {"id": job_id, "status": status, "summary": [summary]}
            rows.append([[0, values[f]] if f in values else [1, None] for f in fields])
        return _job_query_response(rows, fields)
    master.handlers["Query"] = query
    res = gnt(environ, "gnt-job", "list")
    assert (res.returncode, res.stdout) == (0, _ref("gnt-job-list.txt"))
    assert master.calls("Query")[-1] == ["job", ["id", "status", "summary"], None]
    res = gnt(environ, "gnt-job", "list", "--error", "--no-headers", "-o", "id,nosuch")
    assert res.returncode == 14
    assert res.stderr == "Warning: Queried for unknown fields nosuch\n"
    assert master.calls("Query")[-1] == ["job", ["id", "nosuch"],
                                         ["|", ["==", "status", "error"]]]
    res = gnt(environ, "gnt-job", "list", "--archived", "3", "4")
    assert master.calls("Query")[-1] == ["job", ["id", "status", "summary", "archived"],
                                         ["|", ["==", "id", 3], ["==", "id", 4]]]
    res = gnt(environ, "gnt-job", "list", "x")
    assert res.returncode == 1 and "Invalid job ID" in res.stderr


def test_job_info_from_reference_job_file(env):
    master, environ = env
    from test_cli_framework import job_rows_from_file
    rows = job_rows_from_file("job-3-op_instance_create-error")
    master.handlers["Query"] = lambda what, fields, qfilter: {"fields": [], "data": rows}
    res = gnt(environ, "gnt-job", "info", "3")
    assert (res.returncode, res.stdout) == (0, _ref("gnt-job-info.txt"))
    assert master.calls("Query")[0][2] == ["|", ["==", "id", 3]]


def test_job_cancel_archive_autoarchive_watch(env):
    master, environ = env
    master.handlers["CancelJob"] = lambda job_id, *kill: [job_id != 5, "Job %s canceled" %
                                                          job_id]
    res = gnt(environ, "gnt-job", "cancel", "4", "5")
    assert (res.returncode, res.stdout) == (1, "Job 4 canceled\nJob 5 canceled\n")
    res = gnt(environ, "gnt-job", "cancel", "--kill", "4")
    assert res.returncode == 1 and "--yes-do-it" in res.stderr
    master.handlers["Query"] = lambda what, fields, qfilter: _job_query_response(
        [[[0, 7], [0, "queued"], [0, ["TEST_DELAY(1.0)"]]]], fields)
    res = gnt(environ, "gnt-job", "cancel", "--pending")
    assert res.returncode == 13
    assert res.stdout == "ID Status Summary\n 7 queued TEST_DELAY(1.0)\n"
    res = gnt(environ, "gnt-job", "cancel", "--pending", "-f")
    assert (res.returncode, res.stdout) == (0, "Job 7 canceled\n")
    master.handlers["ArchiveJob"] = lambda job_id: job_id == 1
    res = gnt(environ, "gnt-job", "archive", "1", "2")
    assert (res.returncode, res.stderr) == (1, "Failed to archive job with ID '2'\n")
    master.handlers["AutoArchiveJobs"] = lambda age, timeout: [0, 0]
    res = gnt(environ, "gnt-job", "autoarchive", "all")
    assert (res.returncode, res.stdout) == (0, _ref("gnt-job-autoarchive-all-quirk.txt"))
    assert master.calls("AutoArchiveJobs")[0][0] == -1
    res = gnt(environ, "gnt-job", "change-priority", "7")
    assert res.returncode == 1 and "--priority option must be given" in res.stderr
    _job_handlers(master, {8: [None], 9: [["OpExecError", ["boom"]]]},
                  logs={8: [[1, [1795508357, 0], "message", "hello"]]},
                  statuses={9: "error"})
    res = gnt(environ, "gnt-job", "watch", "8")
    assert res.returncode == 0
    assert res.stdout == ("Output from job 8 follows\n-------------------------\n"
                          "Tue Nov 24 08:19:17 2026 hello\n")
    res = gnt(environ, "gnt-job", "wait", "9")
    assert (res.returncode, res.stdout) == (1, "")
    assert res.stderr == "Job 9 failed: Failure: command execution error:\nboom\n"


def test_debug_locks_and_submit_job(env, tmp_path):
    master, environ = env
    from ganeti import query
    fdefs = [query.LOCK_FIELDS[f].fdef.to_dict() for f in ("name", "mode", "owner",
                                                            "pending")]
    master.handlers["Query"] = lambda what, fields, qfilter: {"fields": fdefs, "data": [
        [[0, "cluster/BGL"], [0, "shared"], [0, ["job/3"]], [0, [["exclusive", ["job/4"]]]]],
        [[0, "node/x"], [0, None], [0, None], [0, []]]]}
    res = gnt(environ, "gnt-debug", "locks")
    assert res.returncode == 0
    assert res.stdout.splitlines() == ["Name        Mode   Owner Pending",
                                       "cluster/BGL shared job/3 exclusive:job/4",
                                       "node/x      None   -     -"]
    path = tmp_path / "ops.json"
    path.write_text(json.dumps([{"OP_ID": "OP_TEST_DELAY", "duration": 0}]))
    master.handlers["SubmitManyJobs"] = lambda jobs: [[True, 30 + i] for i in range(len(jobs))]
    _job_handlers(master, {30: [None], 31: [["OpExecError", ["x"]]]}, statuses={31: "error"})
    res = gnt(environ, "gnt-debug", "submit-job", "-v", "--job-repeat", "2", str(path))
    assert res.returncode == 0
    assert res.stdout.splitlines() == ["Submitted jobs 30, 31",
                                       "Waiting for job 30 for file %s/0 ..." % path,
                                       "Waiting for job 31 for file %s/1 ..." % path]
    assert "Job 31 for file %s/1 has failed" % path in res.stderr


# --- OS -----------------------------------------------------------------------------------

def test_os_commands_match_reference(env):
    master, environ = env
    node = "5a7abf07-579a-45c6-95e3-fbabd8cbac10"
    noop = {"name": "noop", "valid": True, "hidden": False, "blacklisted": False,
            "variants": [], "api_versions": [5, 10], "parameters": [], "trusted": True,
            "node_status": {node: [["/usr/share/ganeti/os/noop", True, "", [], [], [5, 10],
                                    True]]},
            "os_hvp": {}, "osparams": {}}
    bad = dict(noop, name="bad", valid=False, node_status={node: [
        ["/srv/ganeti/os/bad", False, "missing create script", [], [], [], True]]})
    hidden = dict(noop, name="hid", hidden=True)
    oses = [bad, hidden, noop]
    results: dict = {}

    def submit(ops):
        fields = ops[0]["output_fields"]
        job_id = 40 + len(master.calls("SubmitJob"))
        results[job_id] = [[[os_[f] for f in fields] for os_ in oses]]
        return job_id
    _job_handlers(master, results)
    master.handlers["SubmitJob"] = submit
    res = gnt(environ, "gnt-os", "list")
    assert (res.returncode, res.stdout) == (0, _ref("gnt-os-list.txt"))
    res = gnt(environ, "gnt-os", "list", "--no-headers")
    assert res.stdout == "noop\n"
    oses[:] = [noop]
    res = gnt(environ, "gnt-os", "diagnose")
    assert (res.returncode, res.stdout) == (0, _ref("gnt-os-diagnose.txt"))
    res = gnt(environ, "gnt-os", "info", "noop")
    assert (res.returncode, res.stdout) == (0, _ref("gnt-os-info.txt"))
    res = gnt(environ, "gnt-os", "info", "nosuch")
    assert res.stdout == "nosuch: \n\n"
    oses[:] = [bad]
    res = gnt(environ, "gnt-os", "diagnose")
    assert res.returncode == 1
    assert res.stdout == ("OS: bad [global status: invalid]\n  Node: %s, status: invalid -"
                          " missing create script (path: /srv/ganeti/os/bad) [no API versions"
                          " declared] [trusted]\n\n" % node)
