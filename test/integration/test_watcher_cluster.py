"""ganeti-watcher on a real virtual cluster: restarts, pause, daemons, status files.

Instances use the fake hypervisor, whose "running guest" is a state file
below the node's run directory: removing that file is exactly what a
crashed guest looks like to the cluster (status ERROR_down).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import time

import pytest

from cluster_env import read_pid, run, wait_exited

NODE = "node1.vcluster.test"
OS_NAME = "noop"


def _root(env) -> str:
    return env["GANETI_ROOTDIR"]


def _need_instances(env) -> None:
    """Fail clearly when the instance commands this test relies on are missing."""
    if shutil.which("gnt-instance", path=env["PATH"]) is None:
        pytest.fail("gnt-instance is not available (scripts/gnt-instance missing): the"
                    " watcher integration test needs gnt-instance add/list/startup/shutdown")


def _watcher(env, *args: str):
    return run(env, "ganeti-watcher", "-d", *args, check=False, timeout=300)


def _status(env, name: str) -> str:
    res = run(env, "gnt-instance", "list", "--no-headers", "-o", "status", name)
    return res.stdout.strip()


def _wait_status(env, name: str, wanted: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    status = None
    while time.time() < deadline:
        status = _status(env, name)
        if status == wanted:
            return
        time.sleep(0.2)
    raise AssertionError("instance %s has status %r, expected %r" % (name, status, wanted))


def _add_instance(env, name: str) -> None:
    run(env, "gnt-instance", "add", "-t", "diskless", "-o", OS_NAME, "-H", "fake",
        "-n", NODE, "--no-name-check", "--no-ip-check", name, timeout=300)
    _wait_status(env, name, "running")


def _crash(env, name: str) -> None:
    """What a guest crash looks like with the fake hypervisor: its state file is gone."""
    path = os.path.join(_root(env), "var", "run", "ganeti", "fake-hv", name)
    assert os.path.exists(path), "fake hypervisor state of %s not at %s" % (name, path)
    os.unlink(path)
    _wait_status(env, name, "ERROR_down")


def _group_uuid(env) -> str:
    res = run(env, "gnt-group", "list", "--no-headers", "-o", "uuid")
    return res.stdout.split()[0]


def _state(env) -> dict:
    path = os.path.join(_root(env), "var", "lib", "ganeti",
                        "watcher.%s.data" % _group_uuid(env))
    with open(path) as fh:
        return json.load(fh)


def _data_file(env, name: str) -> str:
    return os.path.join(_root(env), "var", "lib", "ganeti", name)


_INSTANCES = ["wtest1.vcluster.test", "wtest2.vcluster.test"]
_created: set[str] = set()


def _instances(env) -> list[str]:
    """The module's two running instances, created on first use.

    Called from the test bodies rather than used as a fixture, so that a
    missing gnt-instance shows as a test failure with its reason.
    """
    _need_instances(env)
    for name in _INSTANCES:
        if name not in _created:
            _add_instance(env, name)
            _created.add(name)
    return list(_INSTANCES)


def test_restarts_crashed_instance_and_counts_it(env):
    instances = _instances(env)
    name, other = instances
    _crash(env, name)
    res = _watcher(env)
    assert res.returncode == 0, res.stderr
    assert _status(env, name) == "running"
    assert _status(env, other) == "running"
    entry = _state(env)["instance"][name]
    assert entry["restart_count"] == 1
    assert entry["restart_when"] <= time.time()
    assert other not in _state(env)["instance"]
    assert _state(env)["node"][NODE]["bootid"]
    # the status files show what the watcher found before acting
    uuid = _group_uuid(env)
    with open(_data_file(env, "watcher.%s.instance-status" % uuid)) as fh:
        lines = fh.read().splitlines()
    assert "%s ERROR_down" % name in lines and "%s running" % other in lines
    with open(os.path.join(_root(env), "var", "run", "ganeti", "instance-status")) as fh:
        assert "%s ERROR_down" % name in fh.read().splitlines()
    with open(os.path.join(_root(env), "var", "log", "ganeti", "watcher.log")) as fh:
        log = fh.read()
    assert "Restarting instance '%s' (attempt #1)" % name in log
    # the start was a job with the watcher in its reason trail
    jobs = run(env, "gnt-job", "list", "--no-headers", "-o", "summary").stdout
    assert "INSTANCE_STARTUP(%s)" % name in jobs

    # next run: healthy again, so the counter is forgotten
    res = _watcher(env)
    assert res.returncode == 0, res.stderr
    assert name not in _state(env)["instance"]
    assert "Restart of instance '%s' succeeded" % name in res.stderr


def test_pause_keeps_the_watcher_out(env):
    instances = _instances(env)
    name = instances[0]
    run(env, "gnt-cluster", "watcher", "pause", "1h")
    try:
        assert os.path.exists(_data_file(env, "watcher.pause"))
        _crash(env, name)
        res = _watcher(env)
        assert res.returncode == 0, res.stderr
        assert "paused until" in res.stderr
        assert _status(env, name) == "ERROR_down"
        # --ignore-pause overrides it
        res = _watcher(env, "--ignore-pause", "--no-verify-disks")
        assert res.returncode == 0, res.stderr
        assert _status(env, name) == "running"
    finally:
        run(env, "gnt-cluster", "watcher", "continue")
    assert not os.path.exists(_data_file(env, "watcher.pause"))


def test_admin_down_instance_is_left_alone(env):
    instances = _instances(env)
    name = instances[1]
    run(env, "gnt-instance", "shutdown", name, timeout=300)
    try:
        _wait_status(env, name, "ADMIN_down")
        res = _watcher(env)
        assert res.returncode == 0, res.stderr
        assert _status(env, name) == "ADMIN_down"
        assert name not in _state(env)["instance"]
    finally:
        run(env, "gnt-instance", "startup", name, timeout=300)


def test_gives_up_after_five_attempts(env):
    name, other = _instances(env)
    run_dir = os.path.join(_root(env), "var", "run", "ganeti", "fake-hv")
    saved = run_dir + ".saved"
    # a file where the fake hypervisor keeps its guests: every start fails
    os.rename(run_dir, saved)
    try:
        with open(run_dir, "w"):
            pass
        _wait_status(env, name, "ERROR_down")
        for _ in range(7):
            res = _watcher(env, "--no-verify-disks")
            assert res.returncode == 0, res.stderr
        state = _state(env)["instance"]
        # five attempts, then the give-up is recorded once, then nothing
        assert state[name]["restart_count"] == 6
        assert state[other]["restart_count"] == 6
        with open(os.path.join(_root(env), "var", "log", "ganeti", "watcher.log")) as fh:
            log = fh.read()
        assert log.count("Could not restart instance '%s' after 5 attempts, giving up"
                         % name) == 1
        assert log.count("Restarting instance '%s' (attempt #5)" % name) == 1
        assert "Restarting instance '%s' (attempt #6)" % name not in log
    finally:
        os.unlink(run_dir)
        os.rename(saved, run_dir)
    _wait_status(env, name, "running")
    res = _watcher(env, "--no-verify-disks")
    assert res.returncode == 0, res.stderr
    assert _state(env)["instance"] == {}


def test_restarts_dead_node_daemon(env):
    pid = read_pid(env, "ganeti-noded")
    os.kill(pid, 15)
    wait_exited(pid)
    res = _watcher(env, "--no-verify-disks")
    assert res.returncode == 0, res.stderr
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            new_pid = read_pid(env, "ganeti-noded")
        except (OSError, ValueError):
            new_pid = None
        if new_pid and new_pid != pid and os.path.exists("/proc/%d" % new_pid):
            break
        time.sleep(0.2)
    else:
        raise AssertionError("ganeti-noded was not restarted by the watcher")
    # live node data comes through the new node daemon again
    assert run(env, "gnt-node", "list", "--no-headers", "-o", "name,bootid").stdout.split()[1]


def test_restarts_hung_rapi(env):
    from ganeti.watcher import nodemaint
    address = run(env, "gnt-node", "list", "--no-headers", "-o", "pip").stdout.split()[0]
    assert nodemaint.rapi_answers(address)
    pid = read_pid(env, "ganeti-rapi")
    os.kill(pid, 19)                      # SIGSTOP: the process runs but does not answer
    try:
        res = _watcher(env, "--no-verify-disks")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 18)
    assert res.returncode == 0, res.stderr
    assert read_pid(env, "ganeti-rapi") != pid
    assert nodemaint.rapi_answers(address)
    with open(os.path.join(_root(env), "var", "log", "ganeti", "watcher.log")) as fh:
        assert "does not answer" in fh.read()


def test_watcher_hooks_run(env):
    hooks = os.path.join(_root(env), "etc", "ganeti", "hooks", "watcher")
    os.makedirs(hooks, exist_ok=True)
    marker = os.path.join(_root(env), "hook-ran")
    script = os.path.join(hooks, "10-mark")
    with open(script, "w") as fh:
        fh.write("#!/bin/sh\ntouch %s\necho marked\n" % marker)
    os.chmod(script, 0o755)
    try:
        res = _watcher(env, "--no-verify-disks")
        assert res.returncode == 0, res.stderr
        assert os.path.exists(marker)
        assert "Watcher hook 10-mark: success (output: marked)" in res.stderr
    finally:
        os.unlink(script)


def test_group_state_files_are_per_group(env):
    uuid = _group_uuid(env)
    files = sorted(os.path.basename(p) for p in
                   glob.glob(_data_file(env, "watcher.*")))
    assert "watcher.%s.data" % uuid in files
    assert "watcher.%s.instance-status" % uuid in files
