"""hooks_runner: run-parts semantics, environment, failures, timeouts."""

from __future__ import annotations

import os
import time

import pytest

from ganeti import constants, errors, pathutils
from ganeti.backend import hooks


@pytest.fixture
def hooks_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(pathutils, "HOOKS_BASE_DIR", str(tmp_path))
    return tmp_path


def script(directory, name, body, mode=0o755):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    os.chmod(path, mode)


def test_order_skip_and_status(hooks_dir):
    d = hooks_dir / "cluster-verify-post.d"
    script(d, "20-second", "echo two\n")
    script(d, "10-first", "echo one; echo err >&2\n")
    script(d, "30-fails", "exit 1\n")
    script(d, "x.sh", "echo never\n")
    script(d, "40-notexec", "echo never\n", mode=0o644)
    (d / "50-dir").mkdir()
    res = hooks.hooks_runner("cluster-verify", "post", {})
    assert res == [
        ["cluster-verify-post.d/10-first", constants.HKR_SUCCESS, "one\nerr"],
        ["cluster-verify-post.d/20-second", constants.HKR_SUCCESS, "two"],
        ["cluster-verify-post.d/30-fails", constants.HKR_FAIL, ""],
        ["cluster-verify-post.d/40-notexec", constants.HKR_SKIP, ""],
        ["cluster-verify-post.d/50-dir", constants.HKR_SKIP, ""],
        ["cluster-verify-post.d/x.sh", constants.HKR_SKIP, ""],
    ]


def test_environment_is_cleared(hooks_dir, monkeypatch):
    monkeypatch.setenv("SECRET_FROM_NODED", "leak")
    script(hooks_dir / "node-add-pre.d", "env", "env | sort\n")
    res = hooks.hooks_runner("node-add", "pre", {"GANETI_NODE_NAME": "n2", "GANETI_X": 1})
    lines = res[0][2].splitlines()
    assert "GANETI_NODE_NAME=n2" in lines and "GANETI_X=1" in lines
    assert "PATH=/sbin:/bin:/usr/sbin:/usr/bin" in lines
    assert not any(line.startswith("SECRET_FROM_NODED") for line in lines)


def test_missing_directory_is_empty(hooks_dir):
    assert hooks.hooks_runner("instance-add", "pre", {}) == []


@pytest.mark.parametrize("hpath, phase", [("x", "during"), ("../etc", "pre"), ("a/b", "pre"),
                                          (".hidden", "pre"), (5, "pre")])
def test_bad_arguments(hooks_dir, hpath, phase):
    with pytest.raises(errors.ParameterError):
        hooks.hooks_runner(hpath, phase, {})


def test_timeout_kills_process_group(tmp_path):
    path = tmp_path / "slow"
    path.write_text("#!/bin/sh\n(sleep 30; echo late) &\nsleep 30\n")
    os.chmod(path, 0o755)
    start = time.monotonic()
    ok, output = hooks.run_script(str(path), {"PATH": hooks.HOOK_PATH}, str(tmp_path),
                                  timeout=0.3)
    assert not ok and output == "Timeout after 0.3 seconds"
    assert time.monotonic() - start < 5
