"""Durable file writes: temp file, fsync, rename, directory fsync."""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from typing import Any


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file_atomic(path: str, data: bytes | str, mode: int = 0o640,
                      fsync: bool = True, uid: int = -1, gid: int = -1,
                      atime: float | None = None,
                      mtime: float | None = None) -> None:
    """Replace ``path`` with ``data`` so that readers see old or new, never half.

    With ``fsync`` the content and the rename are on disk before returning,
    which is what "durable" means for job files and config.data.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    dirname, basename = os.path.split(path)
    fd, tmp = tempfile.mkstemp(prefix="." + basename + ".", suffix=".tmp",
                               dir=dirname or ".")
    try:
        os.fchmod(fd, mode)
        if uid != -1 or gid != -1:
            os.fchown(fd, uid, gid)
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if fsync:
            os.fsync(fd)
        os.close(fd)
        fd = -1
        if atime is not None and mtime is not None:
            os.utime(tmp, (atime, mtime))
        os.rename(tmp, path)
        tmp = None
        if fsync:
            fsync_dir(dirname or ".")
    finally:
        if fd != -1:
            os.close(fd)
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def read_file(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def read_one_line(path: str, default: str | None = None) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.readline().strip()
    except FileNotFoundError:
        return default


def read_json(path: str) -> Any:
    """A JSON state file's contents; None if it is missing or damaged."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def remove_file(path: str) -> None:
    try:
        os.unlink(path)
    except OSError as err:
        if err.errno != errno.ENOENT:
            raise


def ensure_dirs(dirs: list[tuple[str, int]]) -> None:
    """Create directories with modes; existing ones get their mode fixed."""
    for path, mode in dirs:
        os.makedirs(path, mode=mode, exist_ok=True)
        os.chmod(path, mode)


def is_executable_file(path: str) -> bool:
    """A regular file with an execute bit (scripts of OS and storage definitions)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and bool(st.st_mode & 0o111)


def search_path_dirs(search_path: list[str]) -> list[tuple[str, str]]:
    """``(name, directory)`` of every definition on a search path, nice-sorted per
    base; for a name found twice the first base wins (as lookups by name do)."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for base in search_path:
        try:
            names = sorted(os.listdir(base))
        except OSError:
            continue
        for name in names:
            path = os.path.join(base, name)
            if name in seen or name.startswith(".") or not os.path.isdir(path):
                continue
            seen.add(name)
            out.append((name, path))
    return out


def find_on_search_path(name: str, search_path: list[str]) -> str | None:
    """The first ``<base>/<name>`` directory, or None."""
    for base in search_path:
        path = os.path.join(base, name)
        if os.path.isdir(path):
            return path
    return None
