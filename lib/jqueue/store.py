"""Durable storage of the queue directory, with group commit.

One writer thread owns every write to ``queue/``. Callers do not write:
they mark a job *dirty* in the currently open :class:`Batch` and, if they
need durability, wait for that batch. The writer takes the open batch,
serialises the latest state of each dirty job once (however many changes it
had), writes every file to a temp file, fsyncs them all (in parallel for
big batches: the kernel merges concurrent fsyncs into fewer journal
commits), renames them into place, fsyncs each directory once, replicates
the files, and only then publishes the new views and wakes the waiters.

So a change costs one fsync per *batch* on the critical path rather than
one per change, and a job that changes five times while a batch is on disk
is written once. A kill -9 at any moment leaves each file either old or new
(rename is atomic), never partial.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from ganeti import constants, errors, pathutils, serializer
from ganeti.utils import io

from ganeti.jqueue.job import QueuedJob

#: file names inside the queue directory (as in pathutils, relative)
SERIAL_NAME = os.path.basename(pathutils.JOB_QUEUE_SERIAL_FILE)
VERSION_NAME = os.path.basename(pathutils.JOB_QUEUE_VERSION_FILE)
LOCK_NAME = os.path.basename(pathutils.JOB_QUEUE_LOCK_FILE)
DRAIN_NAME = os.path.basename(pathutils.JOB_QUEUE_DRAIN_FILE)
ARCHIVE_NAME = os.path.basename(pathutils.JOB_QUEUE_ARCHIVE_DIR)

FILE_MODE = 0o640
_PARALLEL_FSYNC_MIN = 4      # batches at least this big fsync in parallel
_FSYNC_THREADS = 8
_RETRY_DELAY = 1.0           # after a failed batch, before retrying its jobs


def job_file_name(job_id: int) -> str:
    return "job-%d" % job_id


def parse_job_file_name(name: str) -> int | None:
    if name.startswith("job-") and name[4:].isdigit():
        return int(name[4:])
    return None


def is_temp_file(name: str) -> bool:
    """Leftover of an interrupted atomic write (io.write_file_atomic naming)."""
    return name.startswith(".") and name.endswith(".tmp")


class Batch:
    """Writes that become durable together (one group commit)."""

    __slots__ = ("jobs", "files", "renames", "done", "error", "views")

    def __init__(self):
        self.jobs: dict[int, QueuedJob] = {}
        self.files: dict[str, bytes] = {}
        self.renames: list[tuple[QueuedJob, str, str]] = []
        self.done = False
        self.error: str | None = None
        self.views: list[tuple[QueuedJob, dict]] = []


class Writer:
    """The single writer thread of the queue directory (see module doc).

    ``lock`` is the queue lock: dirty marking and publishing happen under
    it, so a job's state and its published view never disagree about what
    is on disk. ``on_commit(batch)`` runs under the lock after a batch is
    durable (or failed, with ``batch.error`` set).
    """

    def __init__(self, queue_dir: str, lock: threading.Lock,
                 on_commit: Callable[[Batch], None], replicator: Any = None):
        self._dir = queue_dir
        self._lock = lock
        self._cond = threading.Condition(lock)
        self._on_commit = on_commit
        self._replicator = replicator
        self._open: Batch | None = None
        self._stopping = False
        self._stopped = False
        self._pool = ThreadPoolExecutor(_FSYNC_THREADS, thread_name_prefix="jqueue-fsync")
        self.batches = 0
        self.files_written = 0
        self._thread = threading.Thread(target=self._run, name="jqueue-writer", daemon=True)
        self._thread.start()

    # -- called with the queue lock held ---------------------------------
    def _batch(self) -> Batch:
        if self._stopped:
            raise errors.JobQueueError("Job queue writer has stopped")
        if self._open is None:
            self._open = Batch()
            self._cond.notify_all()
        return self._open

    def mark_dirty(self, job: QueuedJob) -> Batch | None:
        """Schedule a write of ``job``'s current state; returns its batch."""
        if job.archiving or self._stopped:
            return None
        batch = self._batch()
        batch.jobs[job.id] = job
        return batch

    def add_file(self, path: str, data: bytes) -> Batch:
        batch = self._batch()
        batch.files[path] = data
        return batch

    def add_rename(self, job: QueuedJob, src: str, dst: str) -> Batch:
        batch = self._batch()
        batch.renames.append((job, src, dst))
        return batch

    def wait(self, batch: Batch, timeout: float | None = None) -> None:
        """Block until ``batch`` is durable; raise JobQueueError if it failed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not batch.done:
            if self._stopped:
                raise errors.JobQueueError("Job queue writer has stopped")
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise errors.JobQueueError("Timeout waiting for the job queue writer")
            self._cond.wait(remaining)
        if batch.error is not None:
            raise errors.JobQueueError("Could not write to the job queue: %s" % batch.error)

    # -- writer thread ---------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._lock:
                while self._open is None and not self._stopping:
                    self._cond.wait()
                batch = self._open
                self._open = None
                if batch is None:
                    self._stopped = True
                    self._cond.notify_all()
                    return
                # views are snapshots: built under the lock, encoded outside it
                batch.views = [(job, job.make_view()) for job in batch.jobs.values()
                               if not job.archiving]
            try:
                self._flush(batch)
            except Exception as err:  # noqa: BLE001 - reported to every waiter
                logging.exception("Job queue write failed")
                batch.error = str(err) or type(err).__name__
            with self._lock:
                batch.done = True
                self.batches += 1
                try:
                    self._on_commit(batch)
                except Exception:  # keep the writer alive whatever happens
                    logging.exception("Job queue commit callback failed")
                self._cond.notify_all()
            if batch.error is not None:
                time.sleep(_RETRY_DELAY)   # e.g. disk full: don't spin

    def _flush(self, batch: Batch) -> None:
        files = list(batch.files.items())
        files += [(os.path.join(self._dir, job_file_name(job.id)), job.encode_view(view))
                  for job, view in batch.views]
        self._write_files(files)
        renamed = self._rename(batch.renames)
        self.files_written += len(files)
        if self._replicator is not None:
            self._replicate(files, renamed)

    def _write_files(self, files: list[tuple[str, bytes]]) -> None:
        if not files:
            return
        temps: list[tuple[int, str, str]] = []
        try:
            for path, data in files:
                dirname, base = os.path.split(path)
                fd, tmp = tempfile.mkstemp(prefix="." + base + ".", suffix=".tmp",
                                           dir=dirname)
                temps.append((fd, tmp, path))
                os.fchmod(fd, FILE_MODE)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            if len(temps) >= _PARALLEL_FSYNC_MIN:
                list(self._pool.map(os.fsync, [fd for fd, _, _ in temps]))
            else:
                for fd, _, _ in temps:
                    os.fsync(fd)
            for index, (fd, tmp, path) in enumerate(temps):
                os.close(fd)
                temps[index] = (-1, tmp, path)
                os.rename(tmp, path)
                temps[index] = (-1, "", path)
        finally:
            for fd, tmp, _ in temps:
                if fd != -1:
                    os.close(fd)
                if tmp:
                    try:
                        os.unlink(tmp)
                    except OSError:
                        pass
        for dirname in {os.path.dirname(path) for path, _ in files}:
            io.fsync_dir(dirname)

    def _rename(self, renames: list[tuple[QueuedJob, str, str]]) -> list[tuple[str, str]]:
        done = []
        dirs = set()
        for _job, src, dst in renames:
            os.makedirs(os.path.dirname(dst), mode=0o700, exist_ok=True)
            try:
                os.rename(src, dst)
            except FileNotFoundError:
                logging.warning("Job file %s vanished before archiving", src)
                continue
            done.append((src, dst))
            dirs.update((os.path.dirname(src), os.path.dirname(dst)))
        for dirname in dirs:
            io.fsync_dir(dirname)
        return done

    def _replicate(self, files: list[tuple[str, bytes]], renamed: list) -> None:
        """Push to the master candidates; failures are logged, never fatal."""
        rep = self._replicator
        try:
            if files and hasattr(rep, "update_files"):
                rep.update_files(files)
            else:
                for path, data in files:
                    rep.update_file(path, data)
            if renamed:
                rep.rename_files(renamed)
        except Exception:  # noqa: BLE001 - replication must not stop the master
            logging.exception("Job queue replication failed")

    def stop(self, timeout: float) -> None:
        """Write what is pending, then end the thread."""
        with self._lock:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(max(timeout, 0.1))
        with self._lock:
            self._stopped = True
            self._cond.notify_all()
        self._pool.shutdown(wait=True)     # idle threads: joins at once, none left at exit


# -- loading ----------------------------------------------------------------

def archive_path(archive_dir: str, job_id: int) -> str:
    return os.path.join(archive_dir, str(job_id // constants.JOB_QUEUE_ARCHIVE_DIR_SIZE),
                        job_file_name(job_id))


def load_job_file(path: str) -> QueuedJob:
    with open(path, "rb") as fh:
        return QueuedJob.from_dict(serializer.loads(fh.read()))


def read_job_dict(path: str) -> dict | None:
    try:
        with open(path, "rb") as fh:
            data = serializer.loads(fh.read())
    except (OSError, ValueError) as err:
        if not isinstance(err, FileNotFoundError):
            logging.warning("Can't read job file %s: %s", path, err)
        return None
    return data if isinstance(data, dict) else None


def scan_queue_dir(queue_dir: str) -> tuple[list[QueuedJob], int]:
    """Load every job file; return (jobs sorted by id, highest id seen).

    Unreadable files are logged and skipped (a corrupt job must not keep the
    master down); temp files left by a crash are removed.
    """
    jobs = []
    highest = 0
    for name in os.listdir(queue_dir):
        path = os.path.join(queue_dir, name)
        if is_temp_file(name):
            logging.warning("Removing stray temporary file %s", path)
            io.remove_file(path)
            continue
        job_id = parse_job_file_name(name)
        if job_id is None:
            continue
        highest = max(highest, job_id)
        try:
            job = load_job_file(path)
            if job.id != job_id:
                raise ValueError("file name says job %d, content says %d" % (job_id, job.id))
        except (OSError, ValueError, KeyError, TypeError, IndexError) as err:
            logging.error("Skipping unreadable job file %s: %s", path, err)
            continue
        jobs.append(job)
    jobs.sort(key=lambda j: j.id)
    return jobs, highest


def highest_archived_id(archive_dir: str) -> int:
    """Largest job id in the archive (only the last subdirectory is read)."""
    try:
        subdirs = sorted((int(d) for d in os.listdir(archive_dir) if d.isdigit()),
                         reverse=True)
    except FileNotFoundError:
        return 0
    for sub in subdirs:
        ids = [parse_job_file_name(n) for n in os.listdir(os.path.join(archive_dir, str(sub)))]
        ids = [i for i in ids if i is not None]
        if ids:
            return max(ids)
    return 0


def archived_ids(archive_dir: str) -> list[int]:
    out = []
    try:
        subdirs = [d for d in os.listdir(archive_dir) if d.isdigit()]
    except FileNotFoundError:
        return out
    for sub in subdirs:
        for name in os.listdir(os.path.join(archive_dir, sub)):
            job_id = parse_job_file_name(name)
            if job_id is not None:
                out.append(job_id)
    out.sort()
    return out
