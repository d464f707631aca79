"""Shared pieces of the node-side storage drivers.

Every disk template is served by a driver class built around one disk
dict (``objects.Disk.to_dict()``). The drivers are stateless: each call
re-reads the filesystem, because the node daemon may be restarted at any
time and the master may call any function in any order.
"""

from __future__ import annotations

import fcntl
import os
import stat
import struct

from ganeti import errors

# Local disk status values, as the master interprets them (upstream's
# LDS_OKAY / LDS_UNKNOWN / LDS_FAULTY).
LDS_OKAY = 1
LDS_UNKNOWN = 2
LDS_FAULTY = 3

MIB = 1024 * 1024
_BLKGETSIZE64 = 0x80081272
_ZERO_CHUNK = MIB


def fail(msg: str, *args: object) -> None:
    """Raise the one error type the node daemon glue expects from storage."""
    raise errors.BlockDeviceError(msg % args if args else msg)


def disk_label(disk: dict) -> str:
    """A short human name for error messages (iv_name, name or uuid)."""
    return str(disk.get("iv_name") or disk.get("name") or disk.get("uuid") or "disk")


def logical_id(disk: dict, length: int = 2) -> list:
    """The validated logical id; a malformed one would otherwise fail obscurely later."""
    lid = disk.get("logical_id")
    if not isinstance(lid, (list, tuple)) or len(lid) != length or \
            not all(isinstance(x, str) and x for x in lid):
        fail("Invalid logical id %r for %s (%s)", lid, disk_label(disk), disk.get("dev_type"))
    return list(lid)


def device_size(path: str) -> int:
    """Size in bytes of a regular file or a block device."""
    st = os.stat(path)
    if stat.S_ISBLK(st.st_mode):
        fd = os.open(path, os.O_RDONLY)
        try:
            buf = fcntl.ioctl(fd, _BLKGETSIZE64, b"\0" * 8)
            return struct.unpack("Q", buf)[0]
        except OSError:
            return os.lseek(fd, 0, os.SEEK_END)
        finally:
            os.close(fd)
    return st.st_size


def status_dict(path: str) -> dict:
    """The ``find`` answer for a healthy, non-mirrored device.

    Non-mirrored templates never resync, so sync fields are fixed; major
    and minor only exist for block devices.
    """
    st = os.stat(path)
    major = minor = None
    if stat.S_ISBLK(st.st_mode):
        major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
    return {"dev_path": path, "major": major, "minor": minor,
            "sync_percent": None, "estimated_time": None,
            "is_degraded": False, "ldisk_status": LDS_OKAY}


def write_zeros(path: str, offset: int, size: int, disk: dict) -> None:
    """Zero ``size`` MiB at ``offset`` MiB without ever growing the target.

    Wiping must not change the device's size: writing past the end of a
    file image would silently extend it.
    """
    if offset < 0 or size < 0:
        fail("Invalid wipe request for %s: offset %s, size %s", disk_label(disk), offset, size)
    total = device_size(path)
    if (offset + size) * MIB > total:
        fail("Wipe of %s out of range: offset %d MiB + size %d MiB > device size %d MiB",
             disk_label(disk), offset, size, total // MIB)
    chunk = b"\0" * _ZERO_CHUNK
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError as err:
        fail("Cannot open %s (%s) for wiping: %s", path, disk_label(disk), err.strerror)
    try:
        os.lseek(fd, offset * MIB, os.SEEK_SET)
        remaining = size * MIB
        while remaining > 0:
            done = os.write(fd, chunk[:min(remaining, _ZERO_CHUNK)])
            remaining -= done
        os.fsync(fd)
    except OSError as err:
        fail("Wiping %s (%s) failed: %s", path, disk_label(disk), err.strerror)
    finally:
        os.close(fd)


class StorageDriver:
    """Interface every template implements; defaults fit non-mirrored devices."""

    def __init__(self, disk: dict) -> None:
        self.disk = disk
        self.label = disk_label(disk)

    def create(self, size: int, instance_name: str) -> None:
        raise NotImplementedError

    def remove(self) -> None:
        raise NotImplementedError

    def assemble(self, instance_name: str) -> tuple[str, str | None]:
        raise NotImplementedError

    def shutdown(self) -> None:
        """Nothing to tear down for devices that exist permanently."""

    def find(self) -> dict | None:
        raise NotImplementedError

    def grow(self, amount: int, dryrun: bool) -> None:
        fail("Growing %s (%s) is not supported", self.label, self.disk.get("dev_type"))

    def wipe(self, offset: int, size: int) -> None:
        path, _ = self.assemble("")
        write_zeros(path, offset, size, self.disk)

    def get_dimensions(self) -> tuple[int, int | None] | None:
        """(size in bytes, spindles); spindles only mean something for exclusive LVM."""
        st = self.find()
        if st is None:
            return None
        return device_size(st["dev_path"]), None

    def setinfo(self, info: str) -> None:
        """Metadata is only meaningful to external providers; others ignore it."""
