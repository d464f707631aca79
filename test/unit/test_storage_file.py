"""file / sharedfile storage: allowed paths, sparse create, free space, grow, wipe."""

from __future__ import annotations

import os
import stat

import pytest

from ganeti import errors, pathutils, storage

MIB = 1024 * 1024


@pytest.fixture
def fsdir(tmp_path, monkeypatch):
    """An allowed file storage directory, listed in a private paths file."""
    base = tmp_path / "file-storage"
    base.mkdir()
    paths = tmp_path / "file-storage-paths"
    paths.write_text("# allowed\n\n%s\n" % base)
    monkeypatch.setattr(pathutils, "FILE_STORAGE_PATHS_FILE", str(paths))
    return base


def fdisk(path, dev_type="file", size=16):
    return {"dev_type": dev_type, "logical_id": ["loop", str(path)], "size": size,
            "mode": "rw", "params": {}, "uuid": "d-uuid", "iv_name": "disk/0"}


def test_create_is_sparse_with_private_dir(fsdir):
    path = fsdir / "inst1" / "disk0"
    storage.create(fdisk(path), 64, "inst1")
    st = os.stat(path)
    assert st.st_size == 64 * MIB
    assert st.st_blocks * 512 < MIB  # sparse
    assert stat.S_IMODE(os.stat(fsdir / "inst1").st_mode) == 0o750
    with pytest.raises(errors.BlockDeviceError, match="already exists"):
        storage.create(fdisk(path), 64, "inst1")


def test_path_outside_allowed_dirs_refused(fsdir, tmp_path):
    bad = tmp_path / "elsewhere" / "inst1" / "disk0"
    with pytest.raises(errors.BlockDeviceError) as exc:
        storage.create(fdisk(bad), 8, "inst1")
    assert str(bad) in str(exc.value) and "not below any allowed" in str(exc.value)
    assert not bad.parent.exists()


@pytest.mark.parametrize("suffix", ["inst1/../../etc/disk0", "inst1/./disk0", "inst1//disk0"])
def test_non_normalized_paths_refused(fsdir, suffix):
    with pytest.raises(errors.BlockDeviceError, match="not normalized"):
        storage.create(fdisk(str(fsdir) + "/" + suffix), 8, "inst1")


def test_missing_paths_file_allows_nothing(fsdir, monkeypatch, tmp_path):
    monkeypatch.setattr(pathutils, "FILE_STORAGE_PATHS_FILE", str(tmp_path / "none"))
    with pytest.raises(errors.BlockDeviceError, match="allowed: none"):
        storage.check_file_storage_path(str(fsdir / "x" / "y"), False)


def test_allowed_dir_itself_is_not_below(fsdir):
    with pytest.raises(errors.BlockDeviceError):
        storage.check_file_storage_path(str(fsdir), True)
    storage.check_file_storage_path(str(fsdir / "i"), True)


def test_not_enough_space_leaves_nothing(fsdir):
    path = fsdir / "inst1" / "disk0"
    huge = 1 << 40
    with pytest.raises(errors.BlockDeviceError) as exc:
        storage.create(fdisk(path), huge, "inst1")
    msg = str(exc.value)
    assert "Not enough free space" in msg and "requested %d MiB" % huge in msg
    assert "available" in msg
    assert not (fsdir / "inst1").exists()


def test_lifecycle(fsdir):
    path = fsdir / "inst1" / "disk0"
    disk = fdisk(path)
    assert storage.find(disk) is None
    assert storage.get_dimensions([disk]) == [None]
    storage.create(disk, 16, "inst1")
    assert storage.assemble(disk, "inst1") == (str(path), None)
    status = storage.find(disk)
    assert status == {"dev_path": str(path), "major": None, "minor": None,
                      "sync_percent": None, "estimated_time": None,
                      "is_degraded": False, "ldisk_status": storage.LDS_OKAY}
    storage.grow(disk, 8, True)
    assert os.path.getsize(path) == 16 * MIB
    storage.grow(disk, 8, False)
    assert storage.get_dimensions([disk]) == [(24 * MIB, None)]
    with pytest.raises(errors.BlockDeviceError, match="Not enough free space to grow"):
        storage.grow(disk, 1 << 40, True)
    with open(path, "r+b") as fh:
        fh.write(b"\xff" * (3 * MIB))
    storage.wipe(disk, 1, 1)
    data = open(path, "rb").read(3 * MIB)
    assert data[:MIB] == b"\xff" * MIB and data[MIB:2 * MIB] == b"\0" * MIB
    assert data[2 * MIB:] == b"\xff" * MIB
    with pytest.raises(errors.BlockDeviceError, match="out of range"):
        storage.wipe(disk, 20, 8)
    assert os.path.getsize(path) == 24 * MIB
    storage.setinfo(disk, "inst1")
    storage.shutdown(disk)
    storage.remove(disk)
    assert not path.exists()
    storage.remove(disk)  # idempotent
    with pytest.raises(errors.BlockDeviceError, match="does not exist"):
        storage.assemble(disk, "inst1")


def test_file_paths_are_mapped_on_vcluster_nodes(tmp_path, monkeypatch):
    root = tmp_path / "node1"
    (root / "srv" / "fs").mkdir(parents=True)
    paths = tmp_path / "paths"
    paths.write_text("/srv/fs\n")
    monkeypatch.setattr(pathutils, "FILE_STORAGE_PATHS_FILE", str(paths))
    monkeypatch.setattr(pathutils, "ROOTDIR", str(root))
    disk = fdisk("/srv/fs/inst1/disk0")
    storage.create(disk, 8, "inst1")
    assert (root / "srv" / "fs" / "inst1" / "disk0").stat().st_size == 8 * MIB
    assert storage.assemble(disk, "inst1")[0] == str(root / "srv/fs/inst1/disk0")
    storage.remove(disk)


def test_sharedfile_paths_are_not_mapped(fsdir, tmp_path, monkeypatch):
    monkeypatch.setattr(pathutils, "ROOTDIR", str(tmp_path / "node1"))
    path = fsdir / "inst1" / "disk0"
    disk = fdisk(path, dev_type="sharedfile")
    storage.create(disk, 8, "inst1")
    assert path.stat().st_size == 8 * MIB
    assert storage.find(disk)["dev_path"] == str(path)
    storage.remove(disk)


def test_unknown_template_and_bad_ids(fsdir):
    with pytest.raises(errors.BlockDeviceError, match="not supported"):
        storage.find({"dev_type": "plainx", "logical_id": ["a", "b"]})
    with pytest.raises(errors.BlockDeviceError, match="Invalid logical id"):
        storage.find({"dev_type": "file", "logical_id": ["loop"]})
    with pytest.raises(errors.BlockDeviceError, match="Unknown file driver"):
        storage.find({"dev_type": "file", "logical_id": ["nbd", str(fsdir / "a/b")]})
