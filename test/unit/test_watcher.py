"""ganeti-watcher pieces that need no cluster: options, pause, lock, hooks, status files."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time

import pytest

from ganeti import constants, watcher
from ganeti.watcher import nodemaint

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(REPO, "scripts", "ganeti-watcher")


# -- options / TIMESPEC -------------------------------------------------------------
def test_defaults():
    opts = watcher.parse_options([])
    assert opts.job_age == 6 * 3600
    assert opts.wait_children is True
    assert opts.strict is True
    assert not opts.ignore_pause and not opts.no_verify_disks and not opts.debug
    assert opts.node_group is None


@pytest.mark.parametrize("text,seconds", [("6h", 21600), ("1d", 86400), ("30m", 1800),
                                          ("3600", 3600), ("45s", 45), ("2w", 1209600)])
def test_job_age_timespec(text, seconds):
    assert watcher.parse_options(["-A", text]).job_age == seconds
    assert watcher.parse_options(["--job-age=" + text]).job_age == seconds


@pytest.mark.parametrize("text", ["", "h", "6x", "1.5h", "abc"])
def test_job_age_invalid(text, capsys):
    with pytest.raises(SystemExit) as exc:
        watcher.parse_options(["--job-age", text])
    assert exc.value.code == 2
    assert "--job-age" in capsys.readouterr().err


def test_group_child_options():
    opts = watcher.parse_options(["--node-group", "0b1c-2d3e", "--no-wait-children",
                                  "--no-strict", "--no-verify-disks"])
    assert (opts.node_group, opts.wait_children, opts.strict, opts.no_verify_disks) == \
        ("0b1c-2d3e", False, False, True)
    cmd = watcher.child_command(opts, "0b1c-2d3e")
    assert cmd[0] == sys.executable
    assert cmd[3:] == ["--node-group", "0b1c-2d3e", "--no-verify-disks", "--no-strict"]


@pytest.mark.parametrize("bad", ["../etc", "a/b", "-x", ""])
def test_group_uuid_must_be_safe_in_file_names(bad):
    with pytest.raises(SystemExit):
        watcher.parse_options(["--node-group=" + bad])


def test_no_arguments():
    with pytest.raises(SystemExit):
        watcher.parse_options(["extra"])


# -- pause file ---------------------------------------------------------------------
def _pause(tmp_path, content: str) -> str:
    path = str(tmp_path / "watcher.pause")
    with open(path, "w") as fh:
        fh.write(content)
    return path


def test_pause_in_future(tmp_path):
    now = 1_700_000_000
    path = _pause(tmp_path, "%d\n" % (now + 600))
    assert watcher.paused_until(now=now, path=path) == now + 600
    assert os.path.exists(path)


def test_pause_recently_ended_is_kept_but_inactive(tmp_path):
    now = 1_700_000_000
    path = _pause(tmp_path, "%d\n" % (now - 1800))
    assert watcher.paused_until(now=now, path=path) is None
    assert os.path.exists(path)


def test_stale_pause_is_removed(tmp_path):
    now = 1_700_000_000
    path = _pause(tmp_path, "%d\n" % (now - 3601))
    assert watcher.paused_until(now=now, path=path) is None
    assert not os.path.exists(path)


@pytest.mark.parametrize("content", ["", "soon", "12.5", "1 2"])
def test_invalid_pause_is_removed(tmp_path, content):
    path = _pause(tmp_path, content)
    assert watcher.paused_until(path=path) is None
    assert not os.path.exists(path)


def test_no_pause_file(tmp_path):
    assert watcher.paused_until(path=str(tmp_path / "none")) is None


# -- watcher lock -------------------------------------------------------------------
def test_lock_is_shared_but_excluded_by_exclusive_holder(tmp_path):
    path = str(tmp_path / "lock" / "ganeti-watcher.lock")
    a = watcher.lock_shared(path)
    b = watcher.lock_shared(path)
    assert a is not None and b is not None
    os.close(a)
    os.close(b)
    holder = os.open(path, os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        assert watcher.lock_shared(path) is None
    finally:
        os.close(holder)
    fd = watcher.lock_shared(path)
    assert fd is not None
    os.close(fd)


# -- retry budget -------------------------------------------------------------------
def test_retry_budget(caplog):
    caplog.set_level("DEBUG")
    assert all(watcher._may_try("restart", "i1", n) for n in range(5))  # noqa: SLF001
    assert not watcher._may_try("restart", "i1", 5)  # noqa: SLF001
    assert "Could not restart instance 'i1' after 5 attempts, giving up" in caplog.text
    caplog.clear()
    assert not watcher._may_try("restart", "i1", 6)  # noqa: SLF001
    assert "giving up" not in caplog.text


# -- instance status files ----------------------------------------------------------
def test_group_and_merged_status_files(tmp_path):
    pattern = str(tmp_path / "watcher.%s.instance-status")
    target = str(tmp_path / "run" / "instance-status")
    insts = {"b": watcher.Instance("b", "running", "up", "admin", True, [], "n1", "diskless"),
             "a": watcher.Instance("a", "ERROR_down", "up", "admin", True, [], "n1", "plain")}
    assert watcher.status_file_lines(insts) == "a ERROR_down\nb running\n"
    with open(pattern % "g1", "w") as fh:
        fh.write(watcher.status_file_lines(insts))
    with open(pattern % "g2", "w") as fh:
        fh.write("c ADMIN_down\na running\n")
    old = time.time() - 100
    os.utime(pattern % "g1", (old, old))
    with open(pattern % "gone", "w") as fh:
        fh.write("z running\n")
    merged = watcher.merge_instance_status(["g1", "g2", "g3"], target, pattern)
    # "a" moved to g2, whose file is newer
    assert merged == {"a": "running", "b": "running", "c": "ADMIN_down"}
    with open(target) as fh:
        assert fh.read() == "a running\nb running\nc ADMIN_down\n"


# -- hooks --------------------------------------------------------------------------
def _script(directory, name: str, body: str, mode: int = 0o755) -> None:
    path = os.path.join(directory, name)
    with open(path, "w") as fh:
        fh.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, mode)


def test_hooks_run_parts_semantics(tmp_path, caplog):
    caplog.set_level("DEBUG")
    d = str(tmp_path)
    marker = tmp_path / "order"
    _script(d, "20-second", "echo second >> %s; echo out2" % marker)
    _script(d, "10-first", "echo first >> %s; exit 3" % marker)
    _script(d, "30.sh", "echo dotted >> %s" % marker)
    _script(d, "40-noexec", "echo noexec >> %s" % marker, mode=0o644)
    os.mkdir(os.path.join(d, "50-dir"))
    results = nodemaint.run_hooks(d)
    assert marker.read_text() == "first\nsecond\n"
    assert results == [("10-first", "failure", ""), ("20-second", "success", "out2"),
                       ("30.sh", "skipped", ""), ("40-noexec", "skipped", ""),
                       ("50-dir", "skipped", "")]
    assert "Watcher hook 10-first: failure" in caplog.text
    assert "Watcher hook 20-second: success (output: out2)" in caplog.text


def test_hooks_missing_directory(tmp_path):
    assert nodemaint.run_hooks(str(tmp_path / "none")) == []


# -- the program, outside any cluster -------------------------------------------------
def _run_script(root, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, GANETI_ROOTDIR=str(root), GANETI_HOSTNAME="node1.example.test")
    return subprocess.run([sys.executable, SCRIPT, *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def _log(root) -> str:
    path = os.path.join(str(root), "var", "log", "ganeti", "watcher.log")
    with open(path) as fh:
        return fh.read()


def test_program_paused_does_nothing(tmp_path):
    data = tmp_path / "var" / "lib" / "ganeti"
    data.mkdir(parents=True)
    (data / "watcher.pause").write_text("%d\n" % (time.time() + 3600))
    (data / "ssconf_master_node").write_text("othernode.example.test\n")
    res = _run_script(tmp_path, "-d")
    assert res.returncode == constants.EXIT_SUCCESS, res.stderr
    assert "paused until" in res.stderr
    # paused: not even the lock file is created
    assert not (tmp_path / "var" / "lock" / "ganeti-watcher.lock").exists()


def test_program_outside_a_cluster(tmp_path):
    res = _run_script(tmp_path)
    assert res.returncode == constants.EXIT_SUCCESS, res.stderr
    assert res.stderr == ""
    assert (tmp_path / "var" / "lock" / "ganeti-watcher.lock").exists()


def test_program_respects_exclusive_lock(tmp_path):
    lockdir = tmp_path / "var" / "lock"
    lockdir.mkdir(parents=True)
    fd = os.open(str(lockdir / "ganeti-watcher.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        res = _run_script(tmp_path)
    finally:
        os.close(fd)
    assert res.returncode == constants.EXIT_SUCCESS
    assert "holds the watcher lock exclusively" in _log(tmp_path)


def test_program_bad_option_exit_2(tmp_path):
    res = _run_script(tmp_path, "--job-age", "forever")
    assert res.returncode == 2
    assert "Usage" in res.stderr or "usage" in res.stderr
