"""Disk templates through the cluster: sharedfile, file disk operations, blockdev, ext, tags."""

from __future__ import annotations

import os

import pytest
from cluster_env import REPO, run
from instance_env import NODE, _add, _root, _status, _write_os


@pytest.fixture(scope="module")
def scratch_os(env):
    _write_os(env, "scratch", 'echo "install $INSTANCE_NAME: $DISK_0_PATH"; '
              '[ -n "$DISK_0_PATH" ] && [ -e "$DISK_0_PATH" ]')
    return "scratch"


def _field(env: dict, name: str, fields: str) -> list[str]:
    return run(env, "gnt-instance", "list", "--no-headers", "--units", "m", "-o", fields,
               name).stdout.split()


def _shared_dir(env: dict) -> str:
    return os.path.join(os.path.dirname(env["GANETI_ROOTDIR"]), "shared-file-storage")


def test_sharedfile_grow_activate_remove(env, scratch_os):
    name = "sf1.vcluster.test"
    _add(env, name, "-t", "sharedfile", "--disk", "0:size=16M", "-H", "fake", "-o", scratch_os,
         "-n", NODE)
    assert _field(env, name, "disk_template,disk.size/0") == ["sharedfile", "16"]
    inst_dir = os.path.join(_shared_dir(env), name)
    images = os.listdir(inst_dir)
    assert len(images) == 1 and images[0].endswith(".sharedfile.disk0")
    image = os.path.join(inst_dir, images[0])
    assert os.path.getsize(image) == 16 * 1024 * 1024
    run(env, "gnt-instance", "grow-disk", name, "0", "16M")
    assert _field(env, name, "disk.size/0") == ["32"]
    assert os.path.getsize(image) == 32 * 1024 * 1024
    run(env, "gnt-instance", "shutdown", name)
    out = run(env, "gnt-instance", "activate-disks", name).stdout
    assert "disk/0" in out and image in out
    run(env, "gnt-instance", "deactivate-disks", name)
    run(env, "gnt-instance", "remove", "-f", name)
    assert not os.path.exists(image)


def test_file_disk_add_remove_reinstall_recreate(env, scratch_os):
    name = "fd1.vcluster.test"
    _add(env, name, "-t", "file", "--disk", "0:size=8M", "-H", "fake", "-o", scratch_os, "-n",
         NODE, "--no-start")
    inst_dir = _root(env, "/srv/ganeti/file-storage/" + name)
    run(env, "gnt-instance", "modify", "--disk", "add:size=12M", name)
    assert _field(env, name, "disk.count,disk.size/1") == ["2", "12"]
    assert len(os.listdir(inst_dir)) == 2
    run(env, "gnt-instance", "modify", "--disk", "1:remove", name)
    assert _field(env, name, "disk.count") == ["1"]
    assert len(os.listdir(inst_dir)) == 1
    run(env, "gnt-instance", "reinstall", "-f", name)
    logs = os.listdir(_root(env, "/var/log/ganeti/os"))
    assert sum(1 for f in logs if f.startswith("add-scratch-" + name)) >= 2
    image = os.path.join(inst_dir, os.listdir(inst_dir)[0])
    os.unlink(image)
    run(env, "gnt-instance", "recreate-disks", name)
    assert os.path.getsize(image) == 8 * 1024 * 1024
    run(env, "gnt-instance", "add-tags", name, "web", "prod")
    assert run(env, "gnt-instance", "list-tags", name).stdout.split() == ["prod", "web"]
    run(env, "gnt-instance", "remove", "-f", name)
    assert not os.path.exists(inst_dir)


@pytest.fixture
def loop_device(loop_devices):
    return loop_devices(24)[0]


def test_blockdev_adoption(env, scratch_os, loop_device):
    name = "bd1.vcluster.test"
    _add(env, name, "-t", "blockdev", "--disk", "0:adopt=%s" % loop_device, "-H", "fake",
         "-o", scratch_os, "-n", NODE)
    assert _field(env, name, "disk_template,disk.size/0") == ["blockdev", "24"]
    res = run(env, "gnt-instance", "grow-disk", name, "0", "8M", check=False)
    assert res.returncode != 0 and "does not support growing" in res.stdout + res.stderr
    run(env, "gnt-instance", "remove", "-f", name)
    assert os.path.exists(loop_device)     # adopted devices are not destroyed


def test_ext_provider(env, scratch_os, tmp_path, loop_device):
    es_dir = _root(env, "/srv/ganeti/extstorage")
    os.makedirs(es_dir, exist_ok=True)
    link = os.path.join(es_dir, "testprov")
    if not os.path.lexists(link):
        os.symlink(os.path.join(REPO, "test", "extstorage", "testprov"), link)
    vols = tmp_path / "vols"
    vols.mkdir()
    name = "ext1.vcluster.test"
    _add(env, name, "-t", "ext", "--disk", "0:size=16M,provider=testprov,dir=%s" % vols,
         "-H", "fake", "-o", scratch_os, "-n", NODE)
    assert _status(env, name) == "running"
    assert len([f for f in os.listdir(vols) if not f.endswith(".meta")]) == 1
    run(env, "gnt-instance", "remove", "-f", name)
    assert [f for f in os.listdir(vols) if not f.endswith(".meta")] == []


def test_disks_wiped_when_the_cluster_asks(env, scratch_os):
    name = "wipe1.vcluster.test"
    run(env, "gnt-cluster", "modify", "--prealloc-wipe-disks", "yes")
    try:
        out = _add(env, name, "-t", "file", "--disk", "0:size=8M", "-H", "fake", "-o", scratch_os,
                   "-n", NODE, "--no-start").stdout
    finally:
        run(env, "gnt-cluster", "modify", "--prealloc-wipe-disks", "no")
    assert "wiping instance disks" in out
    inst_dir = _root(env, "/srv/ganeti/file-storage/" + name)
    image = os.path.join(inst_dir, os.listdir(inst_dir)[0])
    # a wiped image is fully allocated with zeros, not a sparse file
    st = os.stat(image)
    assert st.st_blocks * 512 >= 8 * 1024 * 1024
    with open(image, "rb") as fh:
        assert fh.read(1024 * 1024) == b"\0" * (1024 * 1024)
    run(env, "gnt-instance", "remove", "-f", name)
