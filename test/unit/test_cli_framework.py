"""CLI framework: usage and exit codes, option types, info rendering, error texts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from ganeti import constants, errors
from ganeti.cli import base, gnt_cluster, gnt_job, jobs, listing, options
from ganeti.cli import errors as cli_errors

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
REF = os.path.normpath(os.path.join(REPO, "..", "shared", "reference", "ganeti-3.0"))


def _ref_lines(name: str) -> list[str]:
    with open(os.path.join(REF, "outputs", name)) as fh:
        lines = fh.read().splitlines()
    return [line for line in lines[1:] if not line.startswith("[exit code")]


def job_rows_from_file(name: str) -> list:
    """Query rows (gnt_job.INFO_FIELDS) for a queue file, as the master answers them.

    The master leaves unset (null) optional opcode parameters out of the
    "ops" field, except "comment" and "depends" (what Ganeti 3.0 shows).
    """
    with open(os.path.join(REF, "files", name)) as fh:
        job = json.load(fh)
    ops = [{k: v for k, v in op["input"].items()
            if v is not None or k in ("comment", "depends")} for op in job["ops"]]
    values = {
        "id": job["id"], "ops": ops,
        "status": "error" if any(op["status"] == "error" for op in job["ops"]) else "success",
        "opresult": [op["result"] for op in job["ops"]],
        "opstatus": [op["status"] for op in job["ops"]],
        "oplog": [op["log"] for op in job["ops"]],
        "opstart": [op["start_timestamp"] for op in job["ops"]],
        "opexec": [op["exec_timestamp"] for op in job["ops"]],
        "opend": [op["end_timestamp"] for op in job["ops"]],
        "received_ts": job["received_timestamp"], "start_ts": job["start_timestamp"],
        "end_ts": job["end_timestamp"],
    }
    return [[[0, values[f]] for f in gnt_job.INFO_FIELDS]]


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _run(program: str, *args: str, env: dict | None = None):
    environ = dict(os.environ, PYTHONPATH=os.path.join(REPO, "lib"),
                   FORCE_LUXI_SOCKET="/nonexistent/luxi", **(env or {}))
    return subprocess.run([sys.executable, os.path.join(REPO, "scripts", program), *args],
                          env=environ, capture_output=True, text=True, timeout=60)


# --- usage and exit codes ----------------------------------------------------------------

def test_bad_option_usage_matches_reference():
    res = _run("gnt-os", "list", "-v")
    assert res.returncode == 2
    assert res.stdout == ""
    assert res.stderr.splitlines() == _ref_lines("gnt-os-list-verbose.txt")
    res = _run("gnt-job", "list", "--bogus-option")
    assert res.returncode == 2
    assert res.stderr == ("Usage\n=====\n  gnt-job list [<job-id>...]\n\n"
                          "gnt-job: error: no such option: --bogus-option\n")


@pytest.mark.parametrize("args,code", [((), 1), (("--help",), 0), (("nosuchcommand",), 1)])
def test_program_usage(args, code):
    res = _run("gnt-job", *args)
    assert res.returncode == code
    assert res.stdout.startswith("Usage: gnt-job {command} [options...] [argument...]\n"
                                 "gnt-job <command> --help to see details, or man gnt-job\n\n"
                                 "Commands:\n")
    assert " info            - Show detailed information about the specified jobs\n" in \
        res.stdout


def test_version_and_command_help():
    res = _run("gnt-debug", "--version")
    assert (res.returncode, res.stdout) == (0, "gnt-debug (ganeti-py) 3.0.2\n")
    res = _run("gnt-debug", "delay", "--help")
    assert res.returncode == 0
    assert res.stdout.startswith("Usage\n=====\n  gnt-debug delay [opts...] <duration>\n")
    assert "--no-master" in res.stdout and "--reason=REASON" in res.stdout


@pytest.mark.parametrize("args,message", [
    (("version", "x"), "Error: Command version expects no arguments\n"),
    (("init",), "Error: Command init expects 1 argument(s)\n"),
    (("watcher", "pause", "1h", "x"), "Error: Command watcher expects only 2 argument(s)\n"),
    (("command",), "Error: Command command expects at least 1 argument(s)\n"),
])
def test_argument_count_errors(args, message):
    res = _run("gnt-cluster", *args)
    assert (res.returncode, res.stderr) == (1, message)


def test_option_value_errors():
    res = _run("gnt-debug", "delay", "--priority", "urgent", "1")
    assert res.returncode == 2
    assert "error: option --priority: invalid choice: 'urgent'" in res.stderr
    res = _run("gnt-cluster", "modify", "-B", "a=1,a=2")
    assert (res.returncode, res.stderr) == (1, "Failure: Duplicate key 'a' in option -B\n")
    res = _run("gnt-cluster", "modify", "--prealloc-wipe-disks", "maybe")
    assert (res.returncode, res.stderr) == (1, "Failure: Invalid boolean value 'maybe'\n")


def test_env_defaults_are_inserted(tmp_path):
    calls = []
    commands = {"list": base.Command(lambda opts, args: calls.append((opts.no_headers, args)),
                                     "", ["no_headers"], "List")}
    os.environ["GNT_TEST_LIST"] = "--no-headers a"
    try:
        assert base.run("gnt-test", commands, {}, ["list", "b"]) == 0
    finally:
        del os.environ["GNT_TEST_LIST"]
    assert calls == [(True, ["a", "b"])]


def test_exceptions_become_messages(capsys):
    def boom(opts, args):
        raise KeyError("x")

    def interrupted(opts, args):
        raise KeyboardInterrupt()

    def submitted(opts, args):
        raise base.JobSubmitted(42)
    commands = {"a": base.Command(boom, "", [], "A"),
                "b": base.Command(interrupted, "", [], "B"),
                "c": base.Command(submitted, "", [], "C")}
    assert base.run("gnt-x", commands, {}, ["a"]) == 1
    assert capsys.readouterr().err == "Unhandled exception: KeyError: 'x'\n"
    assert base.run("gnt-x", commands, {}, ["b"]) == 1
    assert capsys.readouterr().err.startswith("Aborted. Note that if the operation")
    assert base.run("gnt-x", commands, {}, ["c"]) == 0
    assert capsys.readouterr().out == "JobID: 42\n"


# --- option types ----------------------------------------------------------------------------

def _parse(names: list[str], argv: list[str]):
    parser = base._Parser("gnt-x", "%prog x", "", [options.make(n) for n in names])
    return parser.parse_args(argv)[0]


def test_structured_option_types():
    opts = _parse(["hvparams", "beparams", "enabled_hypervisors", "ipolicy_bounds_specs",
                   "user_shutdown", "priority", "no_etc_hosts"],
                  ["-H", "kvm:acpi=no,kernel_path=/k", "-H", "no_xen-pvm", "-B", "vcpus=2",
                   "--enabled-hypervisors", "kvm,fake", "--user-shutdown", "yes",
                   "--ipolicy-bounds-specs", "min:cpu-count=1/max:cpu-count=2",
                   "--priority", "low", "--no-etc-hosts"])
    assert opts.hvparams == [("kvm", {"acpi": "no", "kernel_path": "/k"}), ("xen-pvm", False)]
    assert opts.beparams == {"vcpus": "2"}
    assert opts.enabled_hypervisors == ["kvm", "fake"]
    assert opts.enabled_user_shutdown is True
    assert opts.ipolicy_bounds_specs == [{"min": {"cpu-count": "1"},
                                          "max": {"cpu-count": "2"}}]
    assert opts.priority == constants.OP_PRIO_LOW
    assert opts.modify_etc_hosts is False


def test_coerce_params_and_ipolicy():
    assert options.coerce_params({"vcpus": "2", "auto_balance": "false", "maxmem": "1G",
                                  "x": "y", "minmem": "default"}, constants.BEC_DEFAULTS,
                                 frozenset(["maxmem"])) == \
        {"vcpus": 2, "auto_balance": False, "maxmem": 1024, "x": "y", "minmem": "default"}
    with pytest.raises(errors.OpPrereqError):
        options.coerce_params({"vcpus": "two"}, constants.BEC_DEFAULTS)
    opts = _parse(["specs_mem_size", "specs_cpu_count", "ipolicy_disk_templates"],
                  ["--specs-mem-size", "min=256,max=1G", "--specs-cpu-count", "std=2",
                   "--ipolicy-disk-templates", "file,diskless"])
    pol = options.build_ipolicy(opts, fill_all=True)
    assert pol["minmax"][0]["min"]["memory-size"] == 256
    assert pol["minmax"][0]["max"]["memory-size"] == 1024
    assert pol["minmax"][0]["max"]["cpu-count"] == 8
    assert pol["std"]["cpu-count"] == 2 and pol["disk-templates"] == ["file", "diskless"]
    opts = _parse(["ipolicy_bounds_specs"], ["--ipolicy-bounds-specs", "min:cpu-count=1"])
    with pytest.raises(errors.OpPrereqError, match="Missing parameters"):
        options.build_ipolicy(opts)
    assert options.split_list(r"a,b\,c") == ["a", "b,c"] and options.split_list("") == []


def test_uid_pool():
    assert gnt_cluster.parse_uid_pool("2000, 1000-1009") == [[1000, 1009], [2000, 2000]]
    assert gnt_cluster.format_uid_pool([[1000, 1009], [2000, 2000]]) == "1000-1009, 2000"
    with pytest.raises(errors.OpPrereqError):
        gnt_cluster.parse_uid_pool("1-2-3")


def test_reason_trail_and_generic_opts():
    class Opts:
        debug = 2
        dry_run = True
        priority = -10
        reason = "because"
        binary = "gnt-debug"
        command_typed = "delay"
    op = jobs.set_generic_opts({"OP_ID": "OP_TEST_DELAY"}, Opts())
    assert op["debug_level"] == 2 and op["dry_run"] is True and op["priority"] == -10
    assert [r[:2] for r in op["reason"]] == [["gnt:user", "because"],
                                             ["gnt:client:gnt-debug", "delay"]]
    assert all(isinstance(r[2], int) for r in op["reason"])


# --- rendering -------------------------------------------------------------------------------

def test_generic_info_format():
    data = [("a", {"z": 1, "b": [], "c": {}}), ("long key", "x", "g"), ("k", "y", "g"),
            ("list", [[("n", 1), ("m", (1, "msg"))]]), ("nested", [["p", "q"], {}])]
    assert base.format_generic_info(data) == [
        "a: ", "  b: ", "  c: ", "  z: 1", "long key: x", "k:        y", "list: ",
        "  - n: 1", "    m: [1, msg]", "nested: ", "  - - p", "    - q", "  - "]
    assert base.format_generic_info([]) == []


def test_cluster_info_matches_reference(utc):
    with open(os.path.join(REF, "outputs", "rapi-info.txt")) as fh:
        text = fh.read()
    info = json.loads(text[text.index("{"):text.rindex("}") + 1])
    lines = base.format_generic_info(gnt_cluster.cluster_info_data(info))
    assert lines == _ref_lines("gnt-cluster-info.txt")
    info["tags"] = ["b", "a10", "a9"]
    info["uid_pool"] = [[1000, 1005]]
    lines = base.format_generic_info(gnt_cluster.cluster_info_data(info, roman=True))
    assert "Tags: a9, a10, b" in lines and "  uid pool: 1000-1005" in lines
    assert "  master netmask: XXXII" in lines


def test_job_info_matches_reference(utc):
    lines = base.format_generic_info(gnt_job.job_info_data(
        job_rows_from_file("job-3-op_instance_create-error")))
    assert lines == _ref_lines("gnt-job-info.txt")


def test_job_info_log_and_missing_timestamps(utc):
    rows = job_rows_from_file("job-8-op_cluster_verify-success")
    lines = base.format_generic_info(gnt_job.job_info_data(rows))
    assert "      Result: " in lines and "        jobs: " in lines
    rows[0][gnt_job.INFO_FIELDS.index("oplog")][1] = [[[7, [1795508357, 5], "message",
                                                        "* hi\tthere"]]]
    rows[0][gnt_job.INFO_FIELDS.index("end_ts")][1] = None
    lines = base.format_generic_info(gnt_job.job_info_data(rows))
    assert lines[-2:] == ["        - Time: 2026-11-24 08:19:17.000005",
                          "          Content: [7, message, * hi\\tthere]"]
    assert "  Processing end:   unknown (None)" in lines
    assert "  Total processing time: N/A" in lines


def test_format_override_and_fields():
    fdefs = [{"name": "summary", "title": "Summary", "kind": "other", "doc": ""},
             {"name": "id", "title": "ID", "kind": "number", "doc": ""}]
    new_defs, rows = listing.apply_format_override(
        fdefs, [[[0, ["A", "B"]], [0, 1]], [[2, None], [0, 2]]],
        {"summary": (lambda v: "+".join(v), False)})
    assert new_defs[0]["kind"] == "text" and rows[0][0] == [0, "A+B"] and rows[1][0] == [2, None]
    assert listing.parse_fields(None, ["a"]) == ["a"]
    assert listing.parse_fields("+b,c", ["a"]) == ["a", "b", "c"]
    assert listing.parse_fields("b", ["a"]) == ["b"]
    assert listing.make_simple_filter("status", []) is None


def test_log_message_safety():
    assert jobs.format_log_message("message", "a\x07b\nc") == "a\\x07b\\nc"
    assert jobs.format_log_message("message-list", ["x", 1]) == "['x', 1]"
    assert jobs.format_log_entry([1, [0, 0], "message", "m"]).endswith(" 1970 m")


# --- error texts -----------------------------------------------------------------------------

@pytest.mark.parametrize("err,code,text", [
    (errors.NotMasterError("This is not the master node, please connect to node 'n1' and"
                           " rerun the command"), 11,
     "Failure: This is not the master node, please connect to node 'n1' and rerun the"
     " command"),
    (errors.QueryFilterParseError("bad filter", "line 1", "   ^"), 1,
     "Error while parsing query filter: bad filter\nline 1\n   ^"),
    (errors.HooksAbort([["n1", "s1", "out"], ["n2", "s2", ""]]), 1,
     "Failure: hooks execution failed:\n  node: n1, script: s1, output: out\n"
     "  node: n2, script: s2 (no output)"),
    (errors.TagError("bad tag"), 1, "Failure: invalid tag(s) given:\nbad tag"),
    (errors.JobQueueDrainError("x"), 1,
     "Failure: the job queue is marked for drain and doesn't accept new requests"),
    (errors.JobLost("Job with id 3 lost"), 1, "Error checking job status: Job with id 3 lost"),
    (errors.LockError("x"), 1, "Unhandled Ganeti error: x"),
    (ValueError("v"), 1, "Unhandled exception: ValueError: v"),
])
def test_error_texts(err, code, text):
    assert cli_errors.format_error(err) == (code, text)


def test_poll_job_raises_encoded_errors():
    class Client:
        def __init__(self, status, opstatus, opresult):
            self.answer = [status, opstatus, opresult]

        def wait_for_job_change_once(self, *args):
            return [[self.answer[0]], []]

        def query_jobs(self, ids, fields):
            return [self.answer]
    assert jobs.poll_job(Client("success", ["success"], [7]), 1) == [7]
    with pytest.raises(errors.OpPrereqError) as exc:
        jobs.poll_job(Client("error", ["error"], [["OpPrereqError", ["m", "wrong_input"]]]),
                      1)
    assert exc.value.args == ("m", "wrong_input")
    with pytest.raises(errors.OpExecError, match="partial failure"):
        jobs.poll_job(Client("error", ["success", "error"], [1, "plain"]), 1)
    with pytest.raises(errors.OpExecError, match="canceled"):
        jobs.poll_job(Client("canceled", ["canceled"], [None]), 1)

    class Lost(Client):
        def wait_for_job_change_once(self, *args):
            return None
    with pytest.raises(errors.JobLost):
        jobs.poll_job(Lost("x", [], []), 5)
