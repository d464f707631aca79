"""Node-side file procedures: upload whitelist, job queue, ssconf, /etc/hosts."""

from __future__ import annotations

import os
import stat

import pytest

from ganeti import errors, pathutils
from ganeti.backend import files, jobqueue, network, node
from ganeti.rpc.client import encode_file


@pytest.fixture
def queue(tmp_path, monkeypatch):
    q = tmp_path / "queue"
    q.mkdir()
    monkeypatch.setattr(pathutils, "QUEUE_DIR", str(q))
    monkeypatch.setattr(pathutils, "JOB_QUEUE_LOCK_FILE", str(q / "lock"))
    monkeypatch.setattr(pathutils, "JOB_QUEUE_DRAIN_FILE", str(q / "drain"))
    return q


def test_jobqueue_update_rename_purge(queue):
    jobqueue.jobqueue_update(str(queue / "job-7"), encode_file(b"{}" * 600))
    assert (queue / "job-7").read_bytes() == b"{}" * 600
    assert stat.S_IMODE(os.stat(queue / "job-7").st_mode) == jobqueue.JOB_FILE_MODE
    jobqueue.jobqueue_rename([[str(queue / "job-7"), str(queue / "archive/0/job-7")]])
    assert (queue / "archive/0/job-7").exists() and not (queue / "job-7").exists()
    # idempotent: renaming again is fine, a missing source without target is not
    jobqueue.jobqueue_rename([[str(queue / "job-7"), str(queue / "archive/0/job-7")]])
    with pytest.raises(errors.OpExecError):
        jobqueue.jobqueue_rename([[str(queue / "job-8"), str(queue / "archive/0/job-8")]])
    (queue / "lock").write_text("")
    jobqueue.jobqueue_purge()
    assert os.listdir(queue) == ["lock"]


@pytest.mark.parametrize("name", ["/etc/passwd", "relative", None, "/queue-evil/job-1"])
def test_jobqueue_refuses_outside_paths(queue, name):
    if name == "/queue-evil/job-1":
        name = str(queue) + "-evil/job-1"
    with pytest.raises(errors.ParameterError):
        jobqueue.jobqueue_update(name, encode_file(b"x"))


def test_jobqueue_refuses_symlink_escape(queue, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, queue / "link")
    with pytest.raises(errors.ParameterError, match="resolves outside"):
        jobqueue.jobqueue_update(str(queue / "link" / "job-1"), encode_file(b"x"))
    assert os.listdir(outside) == []


def test_drain_flag(queue):
    jobqueue.jobqueue_set_drain_flag(True)
    assert (queue / "drain").exists()
    jobqueue.jobqueue_set_drain_flag(False)
    assert not (queue / "drain").exists()
    with pytest.raises(errors.ParameterError):
        jobqueue.jobqueue_set_drain_flag("yes")


def test_upload_file_validation(tmp_path):
    target = pathutils.strip_root(pathutils.SSH_KNOWN_HOSTS_FILE)
    good = [encode_file(b"x"), 0o644, None, None, None, None]
    with pytest.raises(errors.ParameterError, match="not allowed to be uploaded"):
        files.upload_file("/root/.ssh/authorized_keys", *good)
    with pytest.raises(errors.ParameterError, match="Invalid file mode"):
        files.upload_file(target, encode_file(b"x"), 0o17777, None, None, None, None)
    with pytest.raises(errors.ParameterError, match="Unknown user"):
        files.upload_file(target, encode_file(b"x"), 0o644, "no-such-user-xyz", None, None,
                          None)
    with pytest.raises(errors.ParameterError, match="encoding"):
        files.upload_file(target, [9, "x"], 0o644, None, None, None, None)
    assert target in files.UPLOAD_WHITELIST
    assert pathutils.strip_root(pathutils.CLUSTER_CONF_FILE) in files.UPLOAD_WHITELIST


def test_etc_hosts(tmp_path, monkeypatch):
    hosts = tmp_path / "hosts"
    monkeypatch.setattr(pathutils, "ETC_HOSTS", str(hosts))
    hosts.write_text("127.0.0.1 localhost # loopback\n")
    os.chmod(hosts, 0o644)
    network.etc_hosts_modify("add", "node2.example.com", "198.51.100.2")
    network.etc_hosts_modify("add", "node2.example.com", "198.51.100.3")
    assert hosts.read_text() == ("127.0.0.1 localhost # loopback\n"
                                 "198.51.100.3\tnode2.example.com node2\n")
    network.etc_hosts_modify("remove", "node2.example.com", None)
    assert hosts.read_text() == "127.0.0.1 localhost # loopback\n"
    with pytest.raises(errors.ParameterError):
        network.etc_hosts_modify("replace", "node2.example.com", None)
    with pytest.raises(errors.ParameterError):
        network.etc_hosts_modify("add", "node2.example.com", "not-an-ip")


def test_watcher_pause_and_misc(tmp_path, monkeypatch):
    monkeypatch.setattr(pathutils, "WATCHER_PAUSEFILE", str(tmp_path / "watcher.pause"))
    assert node.get_watcher_pause() is None
    node.set_watcher_pause(1700000000.7)
    assert node.get_watcher_pause() == 1700000000
    node.set_watcher_pause(None)
    assert node.get_watcher_pause() is None
    with pytest.raises(errors.ParameterError):
        node.set_watcher_pause("tomorrow")
    with pytest.raises(errors.ParameterError):
        node.test_delay(True)
    info = node.get_file_info(str(tmp_path))
    assert info is not None and info["size"] >= 0
    assert node.get_file_info(str(tmp_path / "nope")) is None
