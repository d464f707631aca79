"""The job queue: durable jobs, a worker pool, waiting without polling.

Jobs live in memory (all unarchived ones) and on disk as ``job-<id>``
files in upstream's format. Every state change is written by a single
writer thread that batches pending writes (group commit): each file is
written to a temp file, fsync'd and renamed, then the directory is
fsync'd once for the batch. Callers that must not go on before the write
is durable (submission, an opcode starting, a job finishing) wait for
their batch; waiters in ``WaitForJobChange`` are woken after that.
"""

from __future__ import annotations

import errno
import fcntl
import heapq
import logging
import os
import threading
import time
from typing import Any, Callable

from ganeti import constants, errors, opcodes, pathutils, query, serializer
from ganeti.utils import io

C = constants


class JobCanceled(Exception):
    """Raised by OpExecContext.check_cancel when a cancel was requested."""


def _ts(now: float | None = None) -> list[int]:
    now = time.time() if now is None else now
    sec = int(now)
    return [sec, int((now - sec) * 1000000)]


class _Op:
    __slots__ = ("input", "status", "result", "log", "priority", "start_timestamp",
                 "exec_timestamp", "end_timestamp")

    def __init__(self, data: dict, status: str = C.OP_STATUS_QUEUED):
        self.input = data
        self.status = status
        self.result = None
        self.log: list = []
        self.priority = data.get("priority", C.OP_PRIO_DEFAULT) if isinstance(data, dict) else 0
        self.start_timestamp = None
        self.exec_timestamp = None
        self.end_timestamp = None

    def to_dict(self) -> dict:
        return {"input": self.input, "status": self.status, "result": self.result,
                "log": self.log, "start_timestamp": self.start_timestamp,
                "exec_timestamp": self.exec_timestamp, "end_timestamp": self.end_timestamp,
                "priority": self.priority}

    @classmethod
    def from_dict(cls, data: dict) -> "_Op":
        op = cls(data["input"], data["status"])
        op.result = data.get("result")
        op.log = data.get("log") or []
        op.priority = data.get("priority", C.OP_PRIO_DEFAULT)
        op.start_timestamp = data.get("start_timestamp")
        op.exec_timestamp = data.get("exec_timestamp")
        op.end_timestamp = data.get("end_timestamp")
        return op


class _Job:
    __slots__ = ("id", "ops", "received_timestamp", "start_timestamp", "end_timestamp",
                 "archived", "log_serial", "cancel_requested", "running", "extra",
                 "status_dirty")

    def __init__(self, job_id: int, ops: list[_Op]):
        self.id = job_id
        self.ops = ops
        self.received_timestamp = _ts()
        self.start_timestamp = None
        self.end_timestamp = None
        self.archived = False
        self.log_serial = 0
        self.cancel_requested = False
        self.running = False
        self.extra: dict = {}
        self.status_dirty = False   # a status change is not on disk yet

    def to_dict(self) -> dict:
        data = {"id": self.id, "ops": [op.to_dict() for op in self.ops],
                "start_timestamp": self.start_timestamp, "end_timestamp": self.end_timestamp,
                "received_timestamp": self.received_timestamp}
        data.update(self.extra)
        return data

    def query_dict(self) -> dict:
        data = self.to_dict()
        data["archived"] = self.archived
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "_Job":
        job = cls(int(data["id"]), [_Op.from_dict(op) for op in data["ops"]])
        job.received_timestamp = data.get("received_timestamp")
        job.start_timestamp = data.get("start_timestamp")
        job.end_timestamp = data.get("end_timestamp")
        job.extra = {k: v for k, v in data.items()
                     if k not in ("id", "ops", "received_timestamp", "start_timestamp",
                                  "end_timestamp")}
        job.log_serial = max([e[0] for op in job.ops for e in op.log] or [0])
        return job

    def status(self) -> str:
        return query.job_status({"ops": [{"status": op.status} for op in self.ops]})

    def priority(self) -> int:
        pending = [op.priority for op in self.ops if op.status not in C.OPS_FINALIZED]
        return min(pending) if pending else (self.ops[-1].priority if self.ops else 0)

    def finalized(self) -> bool:
        return all(op.status in C.OPS_FINALIZED for op in self.ops)


class _Writer:
    """Group commit of job files (and other queue files)."""

    def __init__(self, replicator):
        self._cond = threading.Condition()
        self._pending: dict[str, bytes] = {}
        self._generation = 0      # batches started
        self._done = 0            # batches completed
        self._replicator = replicator
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="jqueue-writer", daemon=True)
        self._thread.start()

    def write(self, path: str, data: bytes, wait: bool = True) -> None:
        with self._cond:
            self._pending[path] = data
            target = self._generation + 1
            self._cond.notify_all()
            if wait:
                while self._done < target and not self._stop:
                    self._cond.wait()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stop:
                    self._cond.wait()
                if not self._pending and self._stop:
                    return
                batch = self._pending
                self._pending = {}
                self._generation += 1
            try:
                self._flush(batch)
            except Exception:  # keep the writer alive; the error is in the log
                logging.exception("Job queue write failed")
            with self._cond:
                self._done += 1
                self._cond.notify_all()

    def _flush(self, batch: dict[str, bytes]) -> None:
        dirs = set()
        for path, data in batch.items():
            io.write_file_atomic(path, data, mode=0o640, fsync=False)
            dirs.add(os.path.dirname(path))
        # data durability: fsync each file, then each directory once
        for path in batch:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for d in dirs:
            io.fsync_dir(d)
        if self._replicator is not None:
            for path, data in batch.items():
                try:
                    self._replicator.update_file(path, data)
                except Exception:
                    logging.exception("Replicating %s failed", path)

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(10)


class OpExecContext:
    """What the processor sees of the job while running one opcode."""

    def __init__(self, queue: "JobQueue", job: _Job, index: int):
        self._queue = queue
        self._job = job
        self.job_id = job.id
        self.op_index = index
        self._op = job.ops[index]

    def feedback(self, *args: Any) -> None:
        if len(args) == 1:
            msg_type, msg = C.ELOG_MESSAGE, args[0]
        else:
            msg_type, msg = args[0], args[1]
        self._queue._add_log(self._job, self._op, msg_type, msg)

    def notify_start(self) -> None:
        self._queue._op_running(self._job, self._op)

    def check_cancel(self) -> None:
        if self._job.cancel_requested:
            raise JobCanceled()

    def get_priority(self) -> int:
        return self._op.priority

    def set_priority(self, prio: int) -> None:
        with self._queue._cond:
            self._op.priority = prio

    def submit_many_jobs(self, jobs: list) -> list:
        return self._queue.submit_many_jobs(jobs, comment="Submitted by %s" %
                                            self._op.input.get("OP_ID"),
                                            priority=self._op.priority)


class JobQueue:
    """All jobs of the master; see the module docstring."""

    def __init__(self, processor_factory: Callable[[], Any], max_workers: int = 20,
                 replicator=None, queue_dir: str = pathutils.QUEUE_DIR):
        self._factory = processor_factory
        self._dir = queue_dir
        self._archive_dir = os.path.join(queue_dir, "archive")
        self._serial_file = os.path.join(queue_dir, "serial")
        self._drain_file = os.path.join(queue_dir, "drain")
        self._cond = threading.Condition()
        self._jobs: dict[int, _Job] = {}
        self._heap: list[tuple[int, int]] = []
        self._dep_waiters: dict[int, set[int]] = {}
        self._serial = 0
        self._max_workers = max_workers
        self._workers: list[threading.Thread] = []
        self._stopping = False
        self._drained = False
        self._replicator = replicator
        self._writer: _Writer | None = None
        self._lockfd: int | None = None

    # -- start / stop ---------------------------------------------------
    def start(self) -> None:
        io.ensure_dirs([(self._dir, 0o700), (self._archive_dir, 0o700)])
        self._lockfd = os.open(os.path.join(self._dir, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lockfd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(self._lockfd)
            self._lockfd = None
            if err.errno in (errno.EAGAIN, errno.EACCES):
                raise errors.JobQueueError("Job queue %s is locked by another process" %
                                           self._dir)
            raise
        version_file = os.path.join(self._dir, "version")
        if not os.path.exists(version_file):
            io.write_file_atomic(version_file, "%d\n" % C.JOB_QUEUE_VERSION, mode=0o640)
        self._drained = os.path.exists(self._drain_file)
        self._writer = _Writer(self._replicator)
        self._load()
        with self._cond:
            for _ in range(self._max_workers):
                self._spawn_worker()

    def _load(self) -> None:
        try:
            self._serial = int(io.read_one_line(self._serial_file, "0") or 0)
        except ValueError:
            logging.error("Queue serial file is corrupt, recomputing from job files")
            self._serial = 0
        to_fix = []
        for name in os.listdir(self._dir):
            if not name.startswith("job-") or not name[4:].isdigit():
                continue
            path = os.path.join(self._dir, name)
            self._serial = max(self._serial, int(name[4:]))
            try:
                job = _Job.from_dict(serializer.loads(io.read_file(path)))
            except (ValueError, KeyError, TypeError, OSError) as err:
                logging.error("Ignoring unreadable job file %s: %s", path, err)
                continue
            self._jobs[job.id] = job
            self._serial = max(self._serial, job.id)
            status = job.status()
            if status in (C.JOB_STATUS_RUNNING, C.JOB_STATUS_WAITING, C.JOB_STATUS_CANCELING):
                to_fix.append(job)
            elif status == C.JOB_STATUS_QUEUED:
                heapq.heappush(self._heap, (job.priority(), job.id))
        for job in to_fix:
            now = _ts()
            for op in job.ops:
                if op.status not in C.OPS_FINALIZED:
                    op.status = C.OP_STATUS_ERROR
                    op.result = ["OpExecError", ["Unclean master daemon shutdown"]]
                    op.end_timestamp = now
            job.end_timestamp = now
            self._persist(job, wait=False)
        # archived-in-archive jobs also count for the serial
        for sub in os.listdir(self._archive_dir):
            subdir = os.path.join(self._archive_dir, sub)
            if sub.isdigit() and os.path.isdir(subdir):
                for name in os.listdir(subdir):
                    if name.startswith("job-") and name[4:].isdigit():
                        self._serial = max(self._serial, int(name[4:]))
        logging.info("Job queue loaded: %d jobs, %d queued, %d marked failed after restart",
                     len(self._jobs), len(self._heap), len(to_fix))

    def shutdown(self, timeout: float = 10) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.time() + timeout
        for thread in self._workers:
            thread.join(max(0.0, deadline - time.time()))
        if self._writer is not None:
            self._writer.stop()
        if self._lockfd is not None:
            os.close(self._lockfd)
            self._lockfd = None

    # -- workers ----------------------------------------------------------
    def _spawn_worker(self) -> None:
        thread = threading.Thread(target=self._worker, name="jqueue-worker-%d" %
                                  len(self._workers), daemon=True)
        self._workers.append(thread)
        thread.start()

    def set_max_workers(self, count: int) -> None:
        with self._cond:
            self._max_workers = max(1, int(count))
            alive = [t for t in self._workers if t.is_alive()]
            self._workers = alive
            while len(self._workers) < self._max_workers:
                self._spawn_worker()
            self._cond.notify_all()

    def _worker(self) -> None:
        me = threading.current_thread()
        while True:
            with self._cond:
                while not self._heap and not self._stopping:
                    if self._workers.index(me) >= self._max_workers:
                        self._workers.remove(me)
                        return
                    self._cond.wait()
                if self._stopping:
                    return
                _prio, job_id = heapq.heappop(self._heap)
                job = self._jobs.get(job_id)
                if job is None or job.running or job.finalized():
                    continue
                job.running = True
            try:
                self._run_job(job)
            except Exception:
                logging.exception("Unexpected error while running job %s", job_id)
            finally:
                with self._cond:
                    job.running = False

    def _deps_state(self, job: _Job, op: _Op) -> tuple[str, str]:
        """('ok'|'wait'|'fail'|'cancel', message) for an opcode's dependencies."""
        for dep in op.input.get("depends") or []:
            dep_id, allowed = int(dep[0]), dep[1]
            dep_job = self._jobs.get(dep_id)
            if dep_job is None:
                status = self._archived_status(dep_id)
                if status is None:
                    return "fail", "Dependency job %s not found" % dep_id
            else:
                status = dep_job.status()
            if status not in C.JOBS_FINALIZED:
                self._dep_waiters.setdefault(dep_id, set()).add(job.id)
                return "wait", ""
            ok = allowed or [C.JOB_STATUS_SUCCESS, C.JOB_STATUS_ERROR]
            if status not in ok:
                if status == C.JOB_STATUS_CANCELED and not allowed:
                    return "cancel", "Dependency job %s was canceled" % dep_id
                return "fail", ("Dependency job %s ended in status '%s', not one of %s" %
                                (dep_id, status, ", ".join(ok)))
        return "ok", ""

    def _archived_status(self, job_id: int) -> str | None:
        data = self._load_archived(job_id)
        return query.job_status(data) if data else None

    def _run_job(self, job: _Job) -> None:
        processor = self._factory()
        for index, op in enumerate(job.ops):
            if op.status in C.OPS_FINALIZED:
                continue
            with self._cond:
                if job.cancel_requested:
                    self._finish_rest(job, index, C.OP_STATUS_CANCELED, "Job canceled by request")
                    break
                state, msg = self._deps_state(job, op)
                if state == "wait":
                    if op.status != C.OP_STATUS_WAITING:
                        op.status = C.OP_STATUS_WAITING
                        op.start_timestamp = op.start_timestamp or _ts()
                        job.start_timestamp = job.start_timestamp or op.start_timestamp
                        self._persist(job, wait=False)
                    return  # re-queued when the dependency finishes
                if state in ("fail", "cancel"):
                    status = C.OP_STATUS_ERROR if state == "fail" else C.OP_STATUS_CANCELED
                    self._finish_rest(job, index, status, msg)
                    break
                op.status = C.OP_STATUS_WAITING
                op.start_timestamp = op.start_timestamp or _ts()
                job.start_timestamp = job.start_timestamp or op.start_timestamp
            ctx = OpExecContext(self, job, index)
            try:
                opcode = opcodes.OpCode.from_dict(op.input)
                result = processor.execute_opcode(opcode, ctx)
                status, result = C.OP_STATUS_SUCCESS, result
            except JobCanceled:
                status, result = C.OP_STATUS_CANCELED, "Job canceled by request"
            except errors.GenericError as err:
                status, result = C.OP_STATUS_ERROR, errors.encode_exception(err)
            except Exception as err:
                logging.exception("Opcode %s of job %s failed", index, job.id)
                status, result = C.OP_STATUS_ERROR, ["OpExecError", [str(err)]]
            with self._cond:
                op.status = status
                op.result = result
                op.end_timestamp = _ts()
                job.status_dirty = True
                if status == C.OP_STATUS_SUCCESS:
                    if index == len(job.ops) - 1:
                        job.end_timestamp = _ts()
                    else:
                        self._persist(job, wait=False)
                        continue
                else:
                    rest = "Job canceled by request" if status == C.OP_STATUS_CANCELED \
                        else "Preceding opcode failed"
                    self._finish_rest(job, index + 1, status, rest)
            break
        self._finalize(job)

    def _finish_rest(self, job: _Job, start: int, status: str, msg: str) -> None:
        now = _ts()
        for op in job.ops[start:]:
            if op.status in C.OPS_FINALIZED:
                continue
            op.status = status
            op.result = msg if status == C.OP_STATUS_CANCELED else ["OpExecError", [msg]]
            op.end_timestamp = now
        job.end_timestamp = now
        job.status_dirty = True

    def _finalize(self, job: _Job) -> None:
        self._persist(job, wait=True)
        logging.info("Finished job %s, status = %s", job.id, job.status())
        with self._cond:
            for waiter in self._dep_waiters.pop(job.id, ()):
                other = self._jobs.get(waiter)
                if other is not None and not other.finalized():
                    heapq.heappush(self._heap, (other.priority(), other.id))
            self._cond.notify_all()

    # -- persistence ----------------------------------------------------
    def _job_path(self, job_id: int) -> str:
        return os.path.join(self._dir, "job-%d" % job_id)

    def _persist(self, job: _Job, wait: bool = True) -> None:
        data = serializer.dump_json(job.to_dict())
        if wait:
            self._writer.write(self._job_path(job.id), data, wait=True)
            with self._cond:
                job.status_dirty = False
                self._cond.notify_all()
        else:
            self._writer.write(self._job_path(job.id), data, wait=False)

    def _add_log(self, job: _Job, op: _Op, msg_type: str, msg: Any) -> None:
        with self._cond:
            job.log_serial += 1
            op.log.append([job.log_serial, _ts(), msg_type, msg])
            self._cond.notify_all()
        self._persist(job, wait=False)

    def _op_running(self, job: _Job, op: _Op) -> None:
        with self._cond:
            op.status = C.OP_STATUS_RUNNING
            op.exec_timestamp = _ts()
            job.status_dirty = True
        self._persist(job, wait=True)

    # -- submission -------------------------------------------------------
    def _check_drain(self, allow_drained: bool) -> None:
        if self._drained and not allow_drained:
            raise errors.JobQueueDrainError("Job queue is drained, refusing job")

    def _build_ops(self, ops: Any, comment: str | None = None,
                   priority: int | None = None) -> list[dict]:
        if not isinstance(ops, list) or not ops:
            raise errors.OpPrereqError("A job must be a non-empty list of opcodes",
                                       errors.ECODE_INVAL)
        out = []
        for data in ops:
            if isinstance(data, dict) and comment and not data.get("comment"):
                data = dict(data, comment=comment)
            if isinstance(data, dict) and priority is not None and "priority" not in data:
                data = dict(data, priority=priority)
            out.append(opcodes.OpCode.from_dict(data).to_dict())
        return out

    def _new_job(self, job_id: int, ops: list[dict]) -> _Job:
        now_ns = time.time_ns()
        for index, data in enumerate(ops):
            reason = list(data.get("reason") or [])
            reason.append(["gnt:opcode:%s" % data["OP_ID"][3:].lower(),
                           "job=%d;index=%d" % (job_id, index), now_ns])
            data["reason"] = reason
        return _Job(job_id, [_Op(d) for d in ops])

    def submit_job(self, ops: list[dict], allow_drained: bool = False) -> int:
        self._check_drain(allow_drained)
        built = self._build_ops(ops)
        result = self._submit([built])
        return result[0]

    def submit_many_jobs(self, jobs: list, comment: str | None = None,
                         priority: int | None = None) -> list:
        self._check_drain(False)
        if not isinstance(jobs, list):
            raise errors.OpPrereqError("SubmitManyJobs needs a list of jobs", errors.ECODE_INVAL)
        built: list[list[dict] | str] = []
        for ops in jobs:
            try:
                built.append(self._build_ops(ops, comment, priority))
            except errors.GenericError as err:
                built.append(str(err.args[0]) if err.args else str(err))
        good = [b for b in built if not isinstance(b, str)]
        ids = iter(self._submit(good, relative=True)) if good else iter(())
        return [[False, b] if isinstance(b, str) else [True, next(ids)] for b in built]

    def _submit(self, jobs: list[list[dict]], relative: bool = False) -> list[int]:
        with self._cond:
            first = self._serial + 1
            self._serial += len(jobs)
            last = self._serial
        # the serial goes to disk first so an id is never handed out twice
        self._writer.write(self._serial_file, ("%d\n" % last).encode(), wait=False)
        created = []
        for offset, ops in enumerate(jobs):
            job_id = first + offset
            if relative:
                for data in ops:
                    deps = data.get("depends")
                    if deps:
                        data["depends"] = [[job_id + int(d[0]) if int(d[0]) < 0 else int(d[0]),
                                            d[1]] for d in deps]
            job = self._new_job(job_id, ops)
            created.append(job)
        for job in created[:-1]:
            self._writer.write(self._job_path(job.id), serializer.dump_json(job.to_dict()),
                               wait=False)
        last_job = created[-1]
        self._writer.write(self._job_path(last_job.id),
                           serializer.dump_json(last_job.to_dict()), wait=True)
        with self._cond:
            for job in created:
                self._jobs[job.id] = job
                heapq.heappush(self._heap, (job.priority(), job.id))
            self._cond.notify_all()
        return [job.id for job in created]

    # -- control ------------------------------------------------------------
    def cancel_job(self, job_id: int, kill: bool = False) -> list:
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None:
                return [False, "Job %s not found" % job_id]
            status = job.status()
            if status == C.JOB_STATUS_QUEUED:
                self._finish_rest(job, 0, C.OP_STATUS_CANCELED, "Job canceled by request")
            elif status == C.JOB_STATUS_WAITING:
                job.cancel_requested = True
                for op in job.ops:
                    if op.status == C.OP_STATUS_WAITING:
                        op.status = C.OP_STATUS_CANCELING
                if not job.running:
                    self._finish_rest(job, 0, C.OP_STATUS_CANCELED, "Job canceled by request")
                    self._dep_waiters_discard(job.id)
            elif status == C.JOB_STATUS_CANCELING:
                return [True, "Job %s will be canceled" % job_id]
            else:
                if status == C.JOB_STATUS_RUNNING and kill:
                    return [False, "Job %s is running; killing running jobs is not"
                                   " supported by this master" % job_id]
                return [False, "Job %s is no longer waiting in the queue" % job_id]
            finalized = job.finalized()
        if finalized:
            self._finalize(job)
            return [True, "Job %s canceled" % job_id]
        self._persist(job, wait=True)
        return [True, "Job %s will be canceled" % job_id]

    def _dep_waiters_discard(self, job_id: int) -> None:
        for waiters in self._dep_waiters.values():
            waiters.discard(job_id)

    def change_job_priority(self, job_id: int, priority: int) -> list:
        if not C.OP_PRIO_HIGHEST <= priority <= C.OP_PRIO_LOWEST:
            raise errors.OpPrereqError("Invalid priority %s" % priority, errors.ECODE_INVAL)
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None:
                return [False, "Job %s not found" % job_id]
            if job.status() not in C.JOBS_PENDING:
                return [False, "Job %s is not pending, can't change its priority" % job_id]
            for op in job.ops:
                if op.status not in C.OPS_FINALIZED:
                    op.priority = priority
            if job.status() == C.JOB_STATUS_QUEUED:
                heapq.heappush(self._heap, (priority, job_id))
        self._persist(job, wait=True)
        return [True, "Priorities of pending opcodes for job %s have been changed to %s" %
                (job_id, priority)]

    def set_drain_flag(self, flag: bool) -> None:
        if flag:
            io.write_file_atomic(self._drain_file, b"", mode=0o644)
        else:
            io.remove_file(self._drain_file)
        self._drained = bool(flag)

    def is_drained(self) -> bool:
        return self._drained

    # -- archive ------------------------------------------------------------
    def _archive_path(self, job_id: int) -> str:
        return os.path.join(self._archive_dir, str(job_id // C.JOB_QUEUE_ARCHIVE_DIR_SIZE),
                            "job-%d" % job_id)

    def _archive(self, jobs: list[_Job]) -> int:
        pairs = []
        for job in jobs:
            dst = self._archive_path(job.id)
            os.makedirs(os.path.dirname(dst), mode=0o700, exist_ok=True)
            try:
                os.rename(self._job_path(job.id), dst)
            except FileNotFoundError:
                continue
            pairs.append((self._job_path(job.id), dst))
        for d in {os.path.dirname(dst) for _, dst in pairs} | {self._dir}:
            io.fsync_dir(d)
        if self._replicator is not None and pairs:
            try:
                self._replicator.rename_files(pairs)
            except Exception:
                logging.exception("Replicating archive renames failed")
        with self._cond:
            for job in jobs:
                self._jobs.pop(job.id, None)
        return len(pairs)

    def archive_job(self, job_id: int) -> bool:
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None or not job.finalized():
                return False
        return self._archive([job]) == 1

    def auto_archive_jobs(self, age: int, timeout: float) -> list:
        deadline = time.time() + max(0.0, float(timeout))
        now = time.time()
        with self._cond:
            candidates = sorted((j for j in self._jobs.values() if j.finalized()),
                                key=lambda j: j.id)
        archived = 0
        batch: list[_Job] = []
        remaining = 0
        for index, job in enumerate(candidates):
            if time.time() > deadline:
                remaining = len(candidates) - index
                break
            end = job.end_timestamp or job.received_timestamp or [0, 0]
            if age == -1 or end[0] <= now - age:
                batch.append(job)
                if len(batch) >= 1000:
                    archived += self._archive(batch)
                    batch = []
        if batch:
            archived += self._archive(batch)
        return [archived, remaining]

    def _load_archived(self, job_id: int) -> dict | None:
        try:
            data = serializer.loads(io.read_file(self._archive_path(job_id)))
        except (OSError, ValueError):
            return None
        data["archived"] = True
        return data

    def _all_archived(self) -> list[dict]:
        out = []
        for sub in os.listdir(self._archive_dir):
            subdir = os.path.join(self._archive_dir, sub)
            if not os.path.isdir(subdir):
                continue
            for name in os.listdir(subdir):
                if name.startswith("job-") and name[4:].isdigit():
                    data = self._load_archived(int(name[4:]))
                    if data is not None:
                        out.append(data)
        return out

    # -- queries ----------------------------------------------------------
    def _snapshot(self, job_ids: list[int] | None = None) -> list[dict]:
        with self._cond:
            if job_ids is None:
                return [j.query_dict() for j in self._jobs.values()]
            return [self._jobs[i].query_dict() for i in job_ids if i in self._jobs]

    def query_jobs(self, job_ids: list[int] | None, fields: list[str]) -> list:
        q = query.Query(query.JOB_FIELDS, fields, None, sort_key=lambda j: j["id"])
        if job_ids is None:
            items = self._snapshot()
            return q.old_style_query(None, items)
        rows = []
        for job_id in job_ids:
            items = self._snapshot([job_id])
            if not items:
                archived = self._load_archived(job_id)
                items = [archived] if archived else []
            rows.append(q.old_style_query(None, items)[0] if items else None)
        return rows

    def query(self, fields: list[str], qfilter: Any) -> dict:
        q = query.Query(query.JOB_FIELDS, fields, qfilter, sort_key=lambda j: j["id"])
        wanted = q.requested_names() if qfilter is not None else None
        if wanted is not None and all(isinstance(i, int) for i in wanted):
            items = self._snapshot(wanted)
            have = {i["id"] for i in items}
            for job_id in wanted:
                if job_id not in have:
                    archived = self._load_archived(job_id)
                    if archived:
                        items.append(archived)
        else:
            items = self._snapshot()
            if qfilter is not None and "archived" in serializer.dumps(qfilter):
                items.extend(self._all_archived())
        return {"fields": [f.to_dict() for f in q.get_fields()], "data": q.query(None, items)}

    def wait_for_job_change(self, job_id: int, fields: list[str], prev_job_info: Any,
                            prev_log_serial: Any, timeout: float) -> Any:
        getters = [query.JOB_FIELDS[f].getter if f in query.JOB_FIELDS else None
                   for f in fields]
        unknown = [f for f, g in zip(fields, getters, strict=True) if g is None]
        if unknown:
            raise errors.OpPrereqError("Unknown job field(s): %s" % ", ".join(unknown),
                                       errors.ECODE_INVAL)
        prev_serial = prev_log_serial if isinstance(prev_log_serial, int) else -1
        deadline = time.time() + max(0.0, float(timeout))
        with self._cond:
            while True:
                job = self._jobs.get(job_id)
                if job is None:
                    archived = self._load_archived(job_id)
                    if archived is None:
                        return None
                    info = [g(None, archived) for g in getters]
                    return [info, []]
                if job.status_dirty:
                    # a state change is being written: answer once it is durable
                    self._cond.wait(max(0.0, min(0.5, deadline - time.time())))
                    if time.time() < deadline:
                        continue
                data = job.query_dict()
                info = [g(None, data) for g in getters]
                logs = [entry for op in job.ops for entry in op.log if entry[0] > prev_serial]
                if info != prev_job_info or logs or job.finalized():
                    logs.sort(key=lambda e: e[0])
                    return [info, logs]
                remaining = deadline - time.time()
                if remaining <= 0:
                    return "nochange"
                self._cond.wait(remaining)

    def stats(self) -> dict:
        out: dict[str, int] = {}
        with self._cond:
            for job in self._jobs.values():
                status = job.status()
                out[status] = out.get(status, 0) + 1
        return out
