"""blockdev storage on a real loop device: adoption checks, status, wipe, no grow."""

from __future__ import annotations

import os

import pytest

from ganeti import errors, storage

MIB = 1024 * 1024


@pytest.fixture
def loopdev(loop_devices):
    """A 16 MiB image attached to a free loop device (root only)."""
    return loop_devices(16)


def bdisk(path):
    return {"dev_type": "blockdev", "logical_id": ["manual", path], "size": 16,
            "mode": "rw", "params": {}, "uuid": "b-uuid", "iv_name": "disk/0"}


def test_adopted_loop_device(loopdev):
    dev, img = loopdev
    disk = bdisk(dev)
    storage.create(disk, 16, "inst1")
    with pytest.raises(errors.BlockDeviceError, match="too small"):
        storage.create(disk, 17, "inst1")
    assert storage.assemble(disk, "inst1") == (dev, None)
    st = storage.find(disk)
    assert st["dev_path"] == dev and st["major"] == 7 and st["ldisk_status"] == 1
    assert st["minor"] == os.minor(os.stat(dev).st_rdev)
    assert storage.get_dimensions([disk]) == [(16 * MIB, None)]
    with pytest.raises(errors.BlockDeviceError, match="not supported"):
        storage.grow(disk, 8, False)
    with open(img, "r+b") as fh:
        fh.write(b"\xaa" * (2 * MIB))
    storage.wipe(disk, 0, 1)
    with open(img, "rb") as fh:
        data = fh.read(2 * MIB)
    assert data[:MIB] == b"\0" * MIB and data[MIB:] == b"\xaa" * MIB
    storage.shutdown(disk)
    storage.remove(disk)
    assert os.path.exists(dev) and img.exists()  # never destroyed


def test_missing_and_non_block_paths(tmp_path):
    missing = bdisk("/dev/ganeti-test-does-not-exist")
    assert storage.find(missing) is None
    with pytest.raises(errors.BlockDeviceError, match="not usable"):
        storage.assemble(missing, "inst1")
    with pytest.raises(errors.BlockDeviceError, match="not a block device"):
        storage.create(bdisk("/dev/null"), 1, "inst1")
    with pytest.raises(errors.BlockDeviceError, match="under /dev/"):
        storage.find(bdisk(str(tmp_path / "x")))
    with pytest.raises(errors.BlockDeviceError, match="driver"):
        storage.find({"dev_type": "blockdev", "logical_id": ["auto", "/dev/null"]})
    storage.remove(missing)
