"""Pre-existing block devices (template ``blockdev``, driver ``manual``).

Ganeti never creates nor destroys these devices: the administrator adopts
them. So create/remove only verify, and growing is impossible from here.
"""

from __future__ import annotations

import os
import stat

from ganeti.storage.base import MIB, StorageDriver, device_size, fail, logical_id, status_dict


class BlockDevice(StorageDriver):
    """An adopted ``/dev/...`` device, identical on every node."""

    def __init__(self, disk: dict) -> None:
        super().__init__(disk)
        driver, self.path = logical_id(disk)
        if driver != "manual":
            fail("Invalid block device driver '%s' for %s (only 'manual' is known)",
                 driver, self.label)
        if not self.path.startswith("/dev/") or os.path.normpath(self.path) != self.path:
            fail("Block device path %s for %s must be a normalized path under /dev/",
                 self.path, self.label)

    def _check(self) -> str:
        try:
            st = os.stat(self.path)
        except OSError as err:
            fail("Block device %s for %s is not usable: %s", self.path, self.label,
                 err.strerror)
        if not stat.S_ISBLK(st.st_mode):
            fail("Path %s for %s is not a block device", self.path, self.label)
        return self.path

    def create(self, size: int, instance_name: str) -> None:
        """Adoption: the device must exist and be large enough for the declared size."""
        path = self._check()
        have = device_size(path) // MIB
        if isinstance(size, int) and size > have:
            fail("Block device %s for %s is too small: requested %d MiB, device has %d MiB",
                 path, self.label, size, have)

    def remove(self) -> None:
        """The device outlives the instance; nothing to do."""

    def assemble(self, instance_name: str) -> tuple[str, str | None]:
        return self._check(), None

    def find(self) -> dict | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        if not stat.S_ISBLK(st.st_mode):
            return None
        return status_dict(self.path)

    def grow(self, amount: int, dryrun: bool) -> None:
        fail("Growing block device %s (%s) is not supported", self.path, self.label)
