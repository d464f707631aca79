"""The master's job queue: durable jobs, a worker pool, waiting without polling.

Layout of the package:

- :mod:`ganeti.jqueue.job`: jobs in memory and their on-disk JSON form;
- :mod:`ganeti.jqueue.store`: the queue directory and the group-commit writer;
- :mod:`ganeti.jqueue.worker`: worker pool, dependencies, the processor's context;
- this module: :class:`JobQueue`, the API masterd's LUXI methods call.

The rule everything follows: a state is *visible* (answered to a client,
returned by queries and ``WaitForJobChange``, used to resolve dependencies)
only once it is on disk. Each job keeps its last durable view for that;
workers change the live state and the writer publishes it after the fsync.
See ``doc/design/jobqueue.md``.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import threading
import time
from typing import Any, Callable

from ganeti import constants, errors, opcodes, pathutils, query
from ganeti.utils import io

from ganeti.jqueue import job as jobmod
from ganeti.jqueue import store
from ganeti.jqueue.job import QueuedJob, QueuedOpCode, timestamp
from ganeti.jqueue.worker import JobCanceled, OpExecContext, SchedulerMixin

__all__ = ["JobQueue", "JobCanceled", "OpExecContext"]

C = constants

_ARCHIVE_CHUNK = 1000       # auto-archive renames per group commit


def _to_opdict(data: Any) -> Any:
    return data.to_dict() if isinstance(data, opcodes.OpCode) else data


def _requested_ids(qfilter: Any) -> list[int] | None:
    """Job ids of a filter that only says "id == a or id == b ...", else None."""
    if not isinstance(qfilter, list) or not qfilter:
        return None
    if qfilter[0] in ("=", "==") and len(qfilter) == 3 and qfilter[1] == "id" \
            and isinstance(qfilter[2], int) and not isinstance(qfilter[2], bool):
        return [qfilter[2]]
    if qfilter[0] == "|" and len(qfilter) > 1:
        ids: list[int] = []
        for sub in qfilter[1:]:
            got = _requested_ids(sub)
            if got is None:
                return None
            ids.extend(got)
        return ids
    return None


def _mentions_field(qfilter: Any, name: str) -> bool:
    if isinstance(qfilter, list):
        if len(qfilter) >= 2 and isinstance(qfilter[0], str) and qfilter[1] == name:
            return True
        return any(_mentions_field(sub, name) for sub in qfilter[1:])
    return False


def _field_dicts(q: Any) -> list[dict]:
    return [f.to_dict() if hasattr(f, "to_dict") else dict(f) for f in q.get_fields()]


def _unknown_fields(q: Any) -> list[str]:
    return [f["name"] for f in _field_dicts(q) if f["kind"] == C.QFT_UNKNOWN]


def _plain_rows(rows: list) -> list[list]:
    """query2 rows ``[[status, value], ...]`` -> old-style values (None if not normal)."""
    return [[value if status == C.RS_NORMAL else None for status, value in row]
            for row in rows]


class JobQueue(SchedulerMixin):
    """All jobs of the master (see the module docstring)."""

    def __init__(self, processor_factory: Callable[[], Any], max_workers: int = 20,
                 replicator: Any = None, queue_dir: str = pathutils.QUEUE_DIR):
        self._factory = processor_factory
        self._dir = queue_dir
        self._archive_dir = os.path.join(queue_dir, store.ARCHIVE_NAME)
        self._serial_file = os.path.join(queue_dir, store.SERIAL_NAME)
        self._drain_file = os.path.join(queue_dir, store.DRAIN_NAME)
        self._replicator = replicator
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._jobs: dict[int, QueuedJob] = {}
        self._heap: list[tuple[int, int]] = []
        self._dep_waiters: dict[int, set[int]] = {}
        self._serial = 0
        self._max_workers = max(1, int(max_workers))
        self._num_workers = 0
        self._workers: list[threading.Thread] = []
        self._started = False
        self._stopping = False
        self._writer: store.Writer | None = None
        self._lockfd: int | None = None

    # -- start / stop --------------------------------------------------------
    def start(self) -> None:
        """Own the queue directory, load it, apply the restart rule, start workers."""
        if self._started:
            raise errors.JobQueueError("Job queue already started")
        io.ensure_dirs([(self._dir, 0o700), (self._archive_dir, 0o700)])
        self._take_lock()
        try:
            self._check_version()
            jobs, highest = store.scan_queue_dir(self._dir)
            self._serial = max(self._read_serial(), highest,
                               store.highest_archived_id(self._archive_dir))
            self._writer = store.Writer(self._dir, self._lock, self._on_commit,
                                        self._replicator)
            with self._lock:
                batch = None
                unclean = 0
                for job in jobs:
                    self._jobs[job.id] = job
                    job.view = job.make_view()
                    job.durable_status = status = job.status()
                    if status in (C.JOB_STATUS_RUNNING, C.JOB_STATUS_WAITING,
                                  C.JOB_STATUS_CANCELING):
                        job.mark_unclean()
                        batch = self._dirty(job)
                        unclean += 1
                    elif status == C.JOB_STATUS_QUEUED:
                        self._push(job)
                if batch is not None:
                    self._writer.wait(batch)
                self._started = True
                self._spawn_workers()
            logging.info("Job queue %s: %d jobs loaded, %d queued, %d failed by the restart"
                         " rule, last job id %d", self._dir, len(jobs), len(self._heap),
                         unclean, self._serial)
        except BaseException:
            if self._writer is not None:
                self._writer.stop(1)
                self._writer = None
            self._release_lock()
            raise

    def _take_lock(self) -> None:
        path = os.path.join(self._dir, store.LOCK_NAME)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise errors.JobQueueError("Job queue %s is in use by another process"
                                           " (lock file %s is held)" % (self._dir, path))
            raise
        self._lockfd = fd

    def _release_lock(self) -> None:
        if self._lockfd is not None:
            os.close(self._lockfd)    # closing drops the flock
            self._lockfd = None

    def _check_version(self) -> None:
        path = os.path.join(self._dir, store.VERSION_NAME)
        text = io.read_one_line(path)
        if text is None:
            io.write_file_atomic(path, "%d\n" % C.JOB_QUEUE_VERSION, mode=store.FILE_MODE)
        elif text != str(C.JOB_QUEUE_VERSION):
            raise errors.JobQueueError("Found job queue version %r in %s, expected %d" %
                                       (text, path, C.JOB_QUEUE_VERSION))

    def _read_serial(self) -> int:
        text = io.read_one_line(self._serial_file, "0") or "0"
        try:
            return int(text)
        except ValueError:
            logging.error("Job queue serial file %s is corrupt (%r); using the highest"
                          " job id found instead", self._serial_file, text)
            return 0

    def shutdown(self, timeout: float = 10) -> None:
        """Refuse new jobs, let running opcodes finish (up to ``timeout``), stop.

        Jobs between opcodes stay queued and resume after the next start;
        jobs parked on dependencies are put back to queued for the same
        reason (they never reached the processor).
        """
        deadline = time.monotonic() + max(0.0, timeout)
        with self._lock:
            if not self._started or self._stopping:
                return
            self._stopping = True
            self._work.notify_all()
            for job in self._jobs.values():
                if job.cond is not None:
                    job.cond.notify_all()
        for thread in list(self._workers):
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            for job in self._jobs.values():
                if job.running or job.view is None:
                    continue
                index = job.first_unfinished()
                if index is not None and job.ops[index].status == C.OP_STATUS_WAITING:
                    job.ops[index].status = C.OP_STATUS_QUEUED
                    self._dirty(job)
        if self._writer is not None:
            self._writer.stop(max(1.0, deadline - time.monotonic()))
        self._release_lock()

    # -- persistence glue ------------------------------------------------------
    def _dirty(self, job: QueuedJob) -> store.Batch | None:
        """Schedule a write of ``job``'s current state (lock held)."""
        return self._writer.mark_dirty(job) if self._writer is not None else None

    def _on_commit(self, batch: store.Batch) -> None:
        """Publish what a group commit made durable (called with the lock held)."""
        if batch.error is not None:
            for job in batch.jobs.values():
                if not job.new:
                    self._dirty(job)          # retried by the next batch
            for job, _src, _dst in batch.renames:
                job.archiving = False
            return
        for job, view in batch.views:
            was_final = job.durable_status in C.JOBS_FINALIZED
            job.view = view
            job.durable_status = status = jobmod.job_status_of(
                [op["status"] for op in view["ops"]])
            if job.new:
                job.new = False
                if status == C.JOB_STATUS_QUEUED and not job.running:
                    self._push(job)
            if status in C.JOBS_FINALIZED and not was_final:
                logging.info("Job %s finished: %s", job.id, status)
                self._deps_finished(job)
            if job.cond is not None:
                job.cond.notify_all()
        for job, _src, _dst in batch.renames:
            self._jobs.pop(job.id, None)
            if job.cond is not None:
                job.cond.notify_all()

    def _archived_view(self, job_id: int) -> dict | None:
        data = store.read_job_dict(store.archive_path(self._archive_dir, job_id))
        if data is None or not isinstance(data.get("ops"), list):
            return None
        data["archived"] = True
        return data

    # -- submission ------------------------------------------------------------
    def _check_open(self) -> None:
        if not self._started or self._stopping:
            raise errors.JobQueueError("Job queue is not open (master starting or"
                                       " shutting down), refusing job")

    def _build_ops(self, ops: Any, parent: QueuedOpCode | None) -> list[dict]:
        """Validate one job's opcodes (defaults filled, as the job file shows them)."""
        if not isinstance(ops, list) or not ops:
            raise errors.OpPrereqError("A job must be a non-empty list of opcodes",
                                       errors.ECODE_INVAL)
        out = []
        for data in ops:
            data = _to_opdict(data)
            if parent is not None and isinstance(data, dict):
                data = dict(data)
                if not data.get("comment"):
                    data["comment"] = "Submitted by %s" % parent.input.get("OP_ID")
                if "priority" not in data:
                    data["priority"] = parent.priority
                data["reason"] = list(parent.input.get("reason") or []) + \
                    list(data.get("reason") or [])
            built = opcodes.OpCode.from_dict(data).to_dict()
            if built.get("depends"):
                built["depends"] = [[int(dep_id), list(statuses)]
                                    for dep_id, statuses in built["depends"]]
            out.append(built)
        return out

    def submit_job(self, ops: list[dict], allow_drained: bool = False) -> int:
        """Validate, write durably, acknowledge: returns the new job id."""
        if not allow_drained and self.is_drained():
            raise errors.JobQueueDrainError("Job queue is drained, refusing job")
        self._check_open()
        built = self._build_ops(ops, None)
        self._check_relative([built], 0)
        return self._submit([built])[0]

    def submit_many_jobs(self, jobs: list[list[dict]]) -> list:
        """``[[True, id] | [False, message], ...]``; one group commit for all."""
        if self.is_drained():
            raise errors.JobQueueDrainError("Job queue is drained, refusing job")
        return self._submit_many(jobs, None)

    def _submit_many(self, jobs: Any, parent: QueuedOpCode | None) -> list:
        self._check_open()
        if not isinstance(jobs, list):
            raise errors.OpPrereqError("SubmitManyJobs needs a list of jobs",
                                       errors.ECODE_INVAL)
        results: list[Any] = []
        prepared: list[list[dict]] = []
        for ops in jobs:
            try:
                built = self._build_ops(ops, parent)
                self._check_relative([built], len(prepared))
            except errors.GenericError as err:
                results.append(str(err.args[0]) if err.args else str(err))
                continue
            results.append(len(prepared))
            prepared.append(built)
        ids = self._submit(prepared) if prepared else []
        return [[True, ids[r]] if isinstance(r, int) else [False, r] for r in results]

    @staticmethod
    def _check_relative(jobs: list[list[dict]], position: int) -> None:
        """Relative ids (-1 = previous job of the submission) must resolve."""
        for ops in jobs:
            for data in ops:
                for dep_id, _statuses in data.get("depends") or []:
                    if dep_id < 0 and position + dep_id < 0:
                        raise errors.OpPrereqError("Unable to resolve relative job ID %d"
                                                   % dep_id, errors.ECODE_INVAL)

    def _submit(self, prepared: list[list[dict]]) -> list[int]:
        with self._lock:
            self._check_open()
            first = self._serial + 1
            self._serial += len(prepared)
        now = time.time()
        received = timestamp(now)
        reason_ts = (received[0] * 1000000 + received[1]) * 1000
        created = []
        for pos, ops in enumerate(prepared):
            job_id = first + pos
            qops = []
            for index, data in enumerate(ops):
                if data.get("depends"):
                    data["depends"] = [[first + pos + d if d < 0 else d, s]
                                       for d, s in data["depends"]]
                data["reason"] = list(data.get("reason") or []) + [
                    ["gnt:opcode:%s" % data["OP_ID"][3:].lower(),
                     "job=%d;index=%d" % (job_id, index), reason_ts]]
                qop = QueuedOpCode(jobmod.order_input(data))
                qop.input_json = jobmod._dumps(qop.input)
                qops.append(qop)
            created.append(QueuedJob(job_id, qops, received))
        with self._lock:
            # raises if the writer stopped meanwhile; then nothing was registered
            batch = self._writer.add_file(self._serial_file, b"%d\n" % self._serial)
            for job in created:
                self._jobs[job.id] = job
                self._writer.mark_dirty(job)
            try:
                self._writer.wait(batch)
            except errors.JobQueueError:
                for job in created:
                    self._jobs.pop(job.id, None)
                    job.archiving = True          # never write it again
                    io.remove_file(os.path.join(self._dir, store.job_file_name(job.id)))
                raise
        return [job.id for job in created]

    # -- control -----------------------------------------------------------------
    def _visible(self, job_id: int) -> QueuedJob | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.view is not None else None

    def cancel_job(self, job_id: int, kill: bool = False) -> list:
        """Cancel a queued or waiting job (``kill`` also asks a running one to stop).

        Threads can't be killed: a kill is honoured when the processor next
        calls ``check_cancel`` (lock waits, long-running LUs).
        """
        with self._lock:
            job = self._visible(job_id)
            if job is None:
                return [False, "Job %s not found" % job_id]
            status = job.status()
            if status == C.JOB_STATUS_RUNNING and kill:
                job.cancel_requested = job.kill_requested = True
                return [True, "Job %s will be killed" % job_id]
            if status not in (C.JOB_STATUS_QUEUED, C.JOB_STATUS_WAITING):
                return [False, "Job %s is no longer waiting in the queue" % job_id]
            job.cancel_requested = True
            if job.running:
                for op in job.ops:
                    if op.status == C.OP_STATUS_WAITING:
                        op.status = C.OP_STATUS_CANCELING
                msg = "Job %s will be canceled" % job_id
            else:
                job.finish_from(0, C.OP_STATUS_CANCELED, jobmod.MSG_CANCELED)
                msg = "Job %s canceled" % job_id
            batch = self._dirty(job)
            if batch is not None:
                self._writer.wait(batch)
        return [True, msg]

    def change_job_priority(self, job_id: int, priority: int) -> list:
        """Set the priority of a pending job's unfinished opcodes."""
        if isinstance(priority, bool) or not isinstance(priority, int) or \
                not C.OP_PRIO_HIGHEST <= priority <= C.OP_PRIO_LOWEST:
            raise errors.OpPrereqError("Invalid priority %r (must be between %d and %d)" %
                                       (priority, C.OP_PRIO_HIGHEST, C.OP_PRIO_LOWEST),
                                       errors.ECODE_INVAL)
        with self._lock:
            job = self._visible(job_id)
            if job is None:
                return [False, "Job %s not found" % job_id]
            status = job.status()
            if status in C.JOBS_FINALIZED:
                return [False, "Job %s is finished" % job_id]
            if status == C.JOB_STATUS_CANCELING:
                return [False, "Job %s is being canceled" % job_id]
            if status not in C.JOBS_PENDING:
                return [False, "Job %s is %s, its priority can't be changed" %
                        (job_id, status)]
            for op in job.ops:
                if op.status in (C.OP_STATUS_QUEUED, C.OP_STATUS_WAITING):
                    op.priority = priority
            if job.in_heap and not job.running:
                self._push(job)      # the old heap entry becomes stale
            batch = self._dirty(job)
            if batch is not None:
                self._writer.wait(batch)
        return [True, "Priorities of pending opcodes for job %s have been changed to %s" %
                (job_id, priority)]

    def set_drain_flag(self, flag: bool) -> None:
        """Create/remove the drain file; submissions are refused while it exists."""
        if flag:
            io.write_file_atomic(self._drain_file, b"", mode=store.FILE_MODE)
        else:
            io.remove_file(self._drain_file)
            io.fsync_dir(self._dir)

    def is_drained(self) -> bool:
        # the file, not a cached flag: admins and tools may create it directly
        return os.path.exists(self._drain_file)

    def set_max_workers(self, n: int) -> None:
        """Follow the cluster's ``max_running_jobs`` (excess workers exit when idle)."""
        with self._lock:
            self._max_workers = max(1, int(n))
            if self._started and not self._stopping:
                self._spawn_workers()
            self._work.notify_all()

    # -- archive -------------------------------------------------------------------
    def _archivable(self, job: QueuedJob | None) -> bool:
        return job is not None and not job.archiving and not job.new \
            and job.durable_status in C.JOBS_FINALIZED

    def _request_archive(self, job: QueuedJob) -> store.Batch:
        job.archiving = True
        src = os.path.join(self._dir, store.job_file_name(job.id))
        return self._writer.add_rename(job, src, store.archive_path(self._archive_dir,
                                                                    job.id))

    def archive_job(self, job_id: int) -> bool:
        """Move a finished job to ``archive/<id // 10000>/``; False if not possible."""
        with self._lock:
            job = self._jobs.get(job_id)
            if not self._archivable(job):
                return False
            batch = self._request_archive(job)
            try:
                self._writer.wait(batch)
            except errors.JobQueueError as err:
                logging.error("Archiving job %s failed: %s", job_id, err)
                return False
            return job_id not in self._jobs

    def auto_archive_jobs(self, age: int, timeout: float) -> list:
        """Archive finished jobs older than ``age`` seconds (-1: all).

        Returns ``[archived, remaining]``, remaining being the jobs not looked
        at because ``timeout`` ran out.
        """
        deadline = time.monotonic() + max(0.0, float(timeout))
        now = time.time()
        with self._lock:
            ids = sorted(self._jobs)
        archived = 0
        pos = 0
        while pos < len(ids) and time.monotonic() <= deadline:
            chunk = ids[pos:pos + _ARCHIVE_CHUNK]
            pos += len(chunk)
            with self._lock:
                batch = None
                wanted = []
                for job_id in chunk:
                    job = self._jobs.get(job_id)
                    if not self._archivable(job):
                        continue
                    view = job.view
                    ts = view["end_timestamp"] or view["start_timestamp"] or \
                        view["received_timestamp"]
                    if age == -1 or (ts and now - ts[0] > age):
                        batch = self._request_archive(job)
                        wanted.append(job_id)
                if batch is None:
                    continue
                try:
                    self._writer.wait(batch)
                except errors.JobQueueError as err:
                    logging.error("Auto-archiving failed: %s", err)
                    break
                archived += sum(1 for job_id in wanted if job_id not in self._jobs)
        return [archived, len(ids) - pos]

    # -- queries --------------------------------------------------------------------
    def _live_views(self) -> list[dict]:
        with self._lock:
            jobs = [job for job in self._jobs.values() if job.view is not None]
            views = [job.view for job in sorted(jobs, key=lambda j: j.id)]
        return views

    def _view_of(self, job_id: int) -> dict | None:
        with self._lock:
            job = self._visible(job_id)
            if job is not None:
                return job.view
        return self._archived_view(job_id)

    def query_jobs(self, job_ids: list[int] | None, fields: list[str]) -> list:
        """Old-style rows of values; a None row for an unknown job id."""
        q = query.Query(query.JOB_FIELDS, fields, None, "id")
        unknown = _unknown_fields(q)
        if unknown:
            raise errors.OpPrereqError("Unknown output fields selected: %s" %
                                       ", ".join(unknown), errors.ECODE_INVAL)
        if job_ids is None:
            return _plain_rows(q.query(None, self._live_views()))
        rows: list[Any] = []
        for job_id in job_ids:
            view = self._view_of(job_id)
            rows.append(None if view is None else _plain_rows(q.query(None, [view]))[0])
        return rows

    def query(self, fields: list[str], qfilter: list | None) -> dict:
        """query2 over jobs: ``{"fields": [...], "data": [...]}``, rows by id.

        Archived jobs are read from disk only when asked for: by id (a pure
        ``id == N`` filter) or when the field ``archived`` is requested or
        used in the filter.
        """
        q = query.Query(query.JOB_FIELDS, fields, qfilter, "id")
        ids = _requested_ids(qfilter)
        if ids is not None:
            items = [v for v in (self._view_of(i) for i in sorted(set(ids))) if v is not None]
        else:
            items = self._live_views()
            if "archived" in fields or _mentions_field(qfilter, "archived"):
                items += [v for v in (self._archived_view(i)
                                      for i in store.archived_ids(self._archive_dir))
                          if v is not None]
                items.sort(key=lambda v: v["id"])
        return {"fields": _field_dicts(q), "data": q.query(None, items)}

    def wait_for_job_change(self, job_id: int, fields: list[str], prev_job_info: list | None,
                            prev_log_serial: int | None, timeout: float) -> Any:
        """Block until the job's durable state differs from what the client has.

        Returns ``[field values, new log entries]``, ``"nochange"`` after
        ``timeout`` seconds, or None for an unknown job. Waiting is on the
        job's own condition variable, notified by the writer after each
        commit of that job.
        """
        q = query.Query(query.JOB_FIELDS, fields, None, "id")
        unknown = _unknown_fields(q)
        if unknown:
            raise errors.OpPrereqError("Unknown job field(s): %s" % ", ".join(unknown),
                                       errors.ECODE_INVAL)
        serial = prev_log_serial if isinstance(prev_log_serial, int) else -1
        deadline = time.monotonic() + max(0.0, float(timeout))

        def changes(view: dict) -> tuple[list, list]:
            info = _plain_rows(q.query(None, [view]))[0]
            logs = sorted((entry for op in view["ops"] for entry in op["log"]
                           if entry[0] > serial), key=lambda e: e[0])
            return info, logs

        with self._lock:
            while True:
                job = self._jobs.get(job_id)
                if job is None:
                    view = self._archived_view(job_id)
                    if view is None:
                        return None
                    info, logs = changes(view)
                    return [info, logs]
                if job.view is not None:
                    info, logs = changes(job.view)
                    if info != prev_job_info or logs or \
                            job.durable_status in C.JOBS_FINALIZED:
                        return [info, logs]
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopping:
                    return "nochange"
                if job.cond is None:
                    job.cond = threading.Condition(self._lock)
                job.cond.wait(remaining)

    def stats(self) -> dict:
        """Job counts per status (acknowledged jobs), plus writer figures."""
        out = {status: 0 for status in sorted(C.JOB_STATUS_ALL)}
        with self._lock:
            for job in self._jobs.values():
                if job.view is not None:
                    out[job.status()] += 1
            if self._writer is not None:
                out["write_batches"] = self._writer.batches
                out["files_written"] = self._writer.files_written
        return out
