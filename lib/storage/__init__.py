"""Node-side storage: one entry point per operation, dispatched by template.

The node daemon glue calls these functions with full disk dicts (see
doc/design/instances.md). Dispatch lives here so callers never need to
know which templates exist; every failure is an ``errors.BlockDeviceError``
naming the disk and the cause.
"""

from __future__ import annotations

from ganeti import errors
from ganeti.storage.base import LDS_FAULTY, LDS_OKAY, LDS_UNKNOWN, StorageDriver, fail
from ganeti.storage.blockdev import BlockDevice
from ganeti.storage.diskless import Diskless
from ganeti.storage.extstorage import ExtStorage
from ganeti.storage.filestorage import (FileStorage, SharedFileStorage,
                                        check_file_storage_path)

_DRIVERS: dict[str, type[StorageDriver]] = {
    "file": FileStorage,
    "sharedfile": SharedFileStorage,
    "blockdev": BlockDevice,
    "ext": ExtStorage,
    "diskless": Diskless,
}

__all__ = ["LDS_FAULTY", "LDS_OKAY", "LDS_UNKNOWN", "assemble", "check_file_storage_path",
           "create", "driver_for", "find", "get_dimensions", "grow", "remove", "setinfo",
           "shutdown", "wipe"]


def driver_for(disk: dict) -> StorageDriver:
    """The driver object for a disk dict; unknown templates are refused by name."""
    if not isinstance(disk, dict):
        fail("Invalid disk description %r", disk)
    dev_type = disk.get("dev_type")
    cls = _DRIVERS.get(dev_type)  # type: ignore[arg-type]
    if cls is None:
        fail("Disk template '%s' of disk %s is not supported on this node", dev_type,
             disk.get("iv_name") or disk.get("uuid"))
    return cls(disk)  # type: ignore[misc]


def create(disk: dict, size: int, instance_name: str) -> None:
    """Create the disk's storage (size in MiB); nothing is left behind on failure."""
    driver_for(disk).create(size, instance_name)


def remove(disk: dict) -> None:
    """Remove the disk's storage; a missing one counts as removed."""
    driver_for(disk).remove()


def assemble(disk: dict, instance_name: str) -> tuple[str, str | None]:
    """Make the disk usable; (real local path, userspace URI or None)."""
    return driver_for(disk).assemble(instance_name)


def shutdown(disk: dict) -> None:
    """Undo ``assemble`` (detach), keeping the data."""
    driver_for(disk).shutdown()


def find(disk: dict) -> dict | None:
    """Status dict of an existing disk, or None if it is missing."""
    return driver_for(disk).find()


def grow(disk: dict, amount: int, dryrun: bool) -> None:
    """Grow by ``amount`` MiB; ``dryrun`` only checks that it would work."""
    driver_for(disk).grow(amount, dryrun)


def wipe(disk: dict, offset: int, size: int) -> None:
    """Zero ``size`` MiB starting at ``offset`` MiB."""
    driver_for(disk).wipe(offset, size)


def get_dimensions(disks: list[dict]) -> list[tuple[int, int | None] | None]:
    """(size in bytes, spindles) per disk, None for a missing or broken one.

    Spindles are None: they are only tracked for exclusive-storage LVM.
    """
    out: list[tuple[int, int | None] | None] = []
    for disk in disks:
        try:
            out.append(driver_for(disk).get_dimensions())
        except (errors.BlockDeviceError, OSError):
            out.append(None)
    return out


def setinfo(disk: dict, info: str) -> None:
    """Attach metadata (the instance name, usually) to the disk where supported."""
    driver_for(disk).setinfo(info)
