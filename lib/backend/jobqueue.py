"""Job queue copies on master candidates (``jobqueue_*`` procedures).

A candidate keeps a full copy of the queue so that it can take over as
master; the master acknowledges a job only after the copies are written,
so every write here is atomic and fsync'ed (file, then directory). Only
paths inside the queue directory are accepted.
"""

from __future__ import annotations

import os
import shutil

from ganeti import errors, pathutils
from ganeti.rpc.client import decode_file
from ganeti.utils import io

JOB_FILE_MODE = 0o640
QUEUE_DIR_MODE = 0o700


def _queue_path(file_name: object) -> str:
    """Local path of a queue file; refuses anything outside the queue dir."""
    if not isinstance(file_name, str) or not os.path.isabs(file_name):
        raise errors.ParameterError("Invalid job queue file name %r" % (file_name,))
    path = os.path.normpath(pathutils.add_root(os.path.normpath(file_name)))
    queue = os.path.normpath(pathutils.QUEUE_DIR)
    if not path.startswith(queue + os.sep):
        raise errors.ParameterError("Passed job queue file '%s' is not inside the queue"
                                    " directory" % file_name)
    # a symlinked component could still lead outside the queue
    real_parent = os.path.realpath(os.path.dirname(path))
    if os.path.exists(os.path.dirname(path)) and \
            not (real_parent + os.sep).startswith(os.path.realpath(queue) + os.sep):
        raise errors.ParameterError("Job queue file '%s' resolves outside the queue"
                                    " directory" % file_name)
    return path


def _make_parent(path: str) -> None:
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        os.makedirs(parent, mode=QUEUE_DIR_MODE, exist_ok=True)


def jobqueue_update(file_name: str, content: list) -> None:
    """Write one queue file (job, serial, version) durably."""
    path = _queue_path(file_name)
    data = decode_file(content)
    _make_parent(path)
    io.write_file_atomic(path, data, mode=JOB_FILE_MODE, fsync=True)


def jobqueue_rename(renames: list) -> None:
    """Rename queue files, e.g. into ``archive/N/`` when jobs are archived."""
    if not isinstance(renames, list) or not all(
            isinstance(p, (list, tuple)) and len(p) == 2 for p in renames):
        raise errors.ParameterError("jobqueue_rename expects a list of [old, new] pairs")
    pairs = [(_queue_path(old), _queue_path(new)) for old, new in renames]
    dirs = set()
    for src, dst in pairs:
        _make_parent(dst)
        try:
            os.rename(src, dst)
        except FileNotFoundError:
            if not os.path.exists(dst):
                raise errors.OpExecError("Job queue file '%s' does not exist"
                                         % pathutils.strip_root(src))
            continue  # already renamed: calls are idempotent
        dirs.update((os.path.dirname(src), os.path.dirname(dst)))
    for directory in sorted(dirs):
        io.fsync_dir(directory)


def jobqueue_purge() -> None:
    """Empty the queue (node demoted from candidate); the lock file stays."""
    queue = pathutils.QUEUE_DIR
    if not os.path.isdir(queue):
        return
    keep = {os.path.basename(pathutils.JOB_QUEUE_LOCK_FILE)}
    for name in os.listdir(queue):
        if name in keep:
            continue
        path = os.path.join(queue, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            io.remove_file(path)
    io.fsync_dir(queue)


def jobqueue_set_drain_flag(flag: bool) -> None:
    """Create or remove the drain file (new jobs refused while it exists)."""
    if not isinstance(flag, bool):
        raise errors.ParameterError("Drain flag must be a boolean, got %r" % (flag,))
    if flag:
        os.makedirs(pathutils.QUEUE_DIR, mode=QUEUE_DIR_MODE, exist_ok=True)
        io.write_file_atomic(pathutils.JOB_QUEUE_DRAIN_FILE, b"", mode=0o644)
    else:
        io.remove_file(pathutils.JOB_QUEUE_DRAIN_FILE)
