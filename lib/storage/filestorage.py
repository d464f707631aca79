"""File-backed disks (templates ``file`` and ``sharedfile``).

A disk is a sparse image file ``<dir>/<instance>/<name>``. The path in the
configuration is the cluster's path: for ``file`` it is mapped into this
node's root (virtual cluster nodes each have their own ``/srv``), while a
``sharedfile`` directory is by definition the same for every node and is
used as it is. Only directories listed in the file-storage-paths file may
hold disks, so a compromised master cannot make a node write anywhere.
"""

from __future__ import annotations

import errno
import os

from ganeti import pathutils
from ganeti.storage.base import MIB, StorageDriver, device_size, fail, logical_id, status_dict

_DIR_MODE = 0o750
_FILE_MODE = 0o640
# Directories that never hold disk images, whatever the paths file says.
_FORBIDDEN = ("/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc",
              "/sbin", "/sys", "/usr", "/usr/bin", "/usr/lib", "/usr/sbin")


def _read_allowed_paths() -> list[str]:
    """Allowed base directories; a missing file allows nothing (safe default)."""
    try:
        with open(pathutils.FILE_STORAGE_PATHS_FILE, encoding="utf-8") as fh:
            lines = fh.readlines()
    except FileNotFoundError:
        return []
    except OSError as err:
        fail("Cannot read the file storage paths file %s: %s",
             pathutils.FILE_STORAGE_PATHS_FILE, err.strerror)
    out = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def _is_below(base: str, path: str) -> bool:
    base = base.rstrip("/") or "/"
    return path != base and path.startswith(base if base == "/" else base + "/")


def check_file_storage_path(path: str, shared: bool) -> None:
    """Refuse a disk file or directory outside the node's allowed storage paths.

    ``path`` is a cluster path (without the vcluster root). It must be
    absolute and normalized (no ``..``, ``.``, ``//``) so that the prefix
    comparison cannot be tricked.
    """
    kind = "shared file" if shared else "file"
    if not isinstance(path, str) or not os.path.isabs(path):
        fail("The %s storage path %r is not an absolute path", kind, path)
    if os.path.normpath(path) != path or "/../" in path + "/" or "//" in path:
        fail("The %s storage path %s is not normalized", kind, path)
    cpath = pathutils.strip_root(path)
    if cpath.rstrip("/") in _FORBIDDEN:
        fail("The %s storage path %s is a forbidden system directory", kind, path)
    allowed = _read_allowed_paths()
    for base in allowed:
        if os.path.isabs(base) and _is_below(os.path.normpath(base), cpath):
            return
    fail("Path '%s' for %s storage is not below any allowed file storage path"
         " (allowed: %s; edit %s to change this)", path, kind,
         ", ".join(allowed) or "none", pathutils.FILE_STORAGE_PATHS_FILE)


def _free_mib(path: str) -> int:
    """Free MiB for unprivileged use on the filesystem holding ``path`` (or its nearest parent)."""
    probe = path
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    st = os.statvfs(probe)
    return st.f_bavail * st.f_frsize // MIB


class FileStorage(StorageDriver):
    """A ``file`` disk; subclassed for ``sharedfile`` which differs only in path mapping."""

    shared = False

    def __init__(self, disk: dict) -> None:
        super().__init__(disk)
        self.driver, self.cluster_path = logical_id(disk)
        if self.driver not in ("loop", "blktap", "blktap2"):
            fail("Unknown file driver '%s' for %s", self.driver, self.label)

    @property
    def path(self) -> str:
        """The local path, after the allowed-paths check."""
        check_file_storage_path(self.cluster_path, self.shared)
        if self.shared:
            return self.cluster_path
        return pathutils.add_root(self.cluster_path)

    def create(self, size: int, instance_name: str) -> None:
        path = self.path
        if not isinstance(size, int) or size <= 0:
            fail("Invalid size %r MiB for %s", size, self.label)
        if os.path.lexists(path):
            fail("File %s for %s already exists, refusing to overwrite it", path, self.label)
        directory = os.path.dirname(path)
        avail = _free_mib(directory)
        if avail < size:
            fail("Not enough free space in %s to create %s (%s): requested %d MiB,"
                 " available %d MiB", directory, path, self.label, size, avail)
        made_dir = False
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory, _DIR_MODE)
                os.chmod(directory, _DIR_MODE)
                made_dir = True
        except OSError as err:
            fail("Cannot create directory %s for %s: %s", directory, self.label, err.strerror)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
        except OSError as err:
            self._cleanup(None, directory, made_dir)
            fail("Cannot create file %s for %s: %s", path, self.label, err.strerror)
        try:
            os.ftruncate(fd, size * MIB)
        except OSError as err:
            os.close(fd)
            self._cleanup(path, directory, made_dir)
            fail("Cannot size file %s for %s to %d MiB: %s", path, self.label, size,
                 err.strerror)
        os.close(fd)

    @staticmethod
    def _cleanup(path: str | None, directory: str, made_dir: bool) -> None:
        if path:
            try:
                os.unlink(path)
            except OSError:
                pass
        if made_dir:
            try:
                os.rmdir(directory)
            except OSError:
                pass

    def remove(self) -> None:
        path = self.path
        try:
            os.unlink(path)
        except FileNotFoundError:
            return
        except OSError as err:
            fail("Cannot remove file %s (%s): %s", path, self.label, err.strerror)

    def _existing(self) -> str | None:
        path = self.path
        if not os.path.isfile(path):
            return None
        return path

    def assemble(self, instance_name: str) -> tuple[str, str | None]:
        path = self._existing()
        if path is None:
            fail("File %s for %s does not exist", self.path, self.label)
        return path, None

    def find(self) -> dict | None:
        path = self._existing()
        return status_dict(path) if path else None

    def grow(self, amount: int, dryrun: bool) -> None:
        path, _ = self.assemble("")
        if not isinstance(amount, int) or amount < 0:
            fail("Invalid grow amount %r MiB for %s", amount, self.label)
        avail = _free_mib(path)
        if avail < amount:
            fail("Not enough free space to grow %s (%s): requested %d MiB, available %d MiB",
                 path, self.label, amount, avail)
        if dryrun:
            return
        new_size = device_size(path) + amount * MIB
        try:
            os.truncate(path, new_size)
        except OSError as err:
            fail("Cannot grow %s (%s) by %d MiB: %s", path, self.label, amount, err.strerror)


class SharedFileStorage(FileStorage):
    """A ``sharedfile`` disk: same directory on all nodes, path used unmapped."""

    shared = True


def remove_dir_if_empty(path: str) -> None:
    """Drop an instance's storage directory once its last disk is gone."""
    try:
        os.rmdir(path)
    except OSError as err:
        if err.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EEXIST):
            fail("Cannot remove directory %s: %s", path, err.strerror)


__all__ = ["FileStorage", "SharedFileStorage", "check_file_storage_path",
           "remove_dir_if_empty"]
