"""The ``diskless`` template: instances without disks.

No disk dict ever carries this type; a driver exists only so that a stray
call fails with a clear message instead of a KeyError.
"""

from __future__ import annotations

from ganeti.storage.base import StorageDriver, fail


class Diskless(StorageDriver):
    """Refuses every operation: there is nothing to operate on."""

    def _refuse(self) -> None:
        fail("Disk %s has template 'diskless', which has no storage", self.label)

    def create(self, size: int, instance_name: str) -> None:
        self._refuse()

    def remove(self) -> None:
        """Removing nothing succeeds (remove is idempotent everywhere)."""

    def assemble(self, instance_name: str) -> tuple[str, str | None]:
        self._refuse()
        raise AssertionError("unreachable")

    def find(self) -> dict | None:
        return None
