"""Running jobs: the worker pool, dependencies and the processor's view.

Workers are a fixed pool of threads taking jobs from one priority heap
(most urgent priority first, then lowest id). A worker owns a job until it
finishes or has to wait for other jobs (``depends``): such a job is parked
in ``_dep_waiters`` and goes back to the heap when its dependencies are
durably finalized, so waiting never holds a thread.

Before an opcode is handed to the processor its ``waiting`` status is on
disk: should the master die while the opcode runs, the restart rule then
marks it failed instead of running it a second time.
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
from typing import Any

from ganeti import constants, errors, opcodes

from ganeti.jqueue import job as jobmod
from ganeti.jqueue.job import QueuedJob, QueuedOpCode, exec_error, timestamp

C = constants

_DEP_OK, _DEP_WAIT, _DEP_FAIL, _DEP_CANCEL = range(4)


class JobCanceled(Exception):
    """Raised by :meth:`OpExecContext.check_cancel` when the job was canceled."""


class OpExecContext:
    """What the queue hands to the processor for one opcode."""

    def __init__(self, queue: Any, job: QueuedJob, op_index: int):
        self._queue = queue
        self._job = job
        self._op = job.ops[op_index]
        self.job_id = job.id
        self.op_index = op_index

    def feedback(self, *args: Any) -> None:
        """``feedback(msg)`` or ``feedback(msg_type, msg)``: add to the op log.

        The entry is persisted by the next group commit (asynchronously, but
        always before the job's final state), then waiters see it.
        """
        if len(args) == 1:
            msg_type, msg = C.ELOG_MESSAGE, args[0]
        elif len(args) == 2:
            msg_type, msg = args
        else:
            raise TypeError("feedback() takes (msg) or (msg_type, msg)")
        self._queue._feedback(self._job, self._op, str(msg_type), msg)

    def notify_start(self) -> None:
        """Locks are held: the opcode is now running (raises if canceled)."""
        self._queue._notify_start(self._job, self._op)

    def check_cancel(self) -> None:
        """Raise JobCanceled if the job was canceled while still waiting."""
        job = self._job
        if job.kill_requested or (job.cancel_requested and self._op.status in
                                  (C.OP_STATUS_WAITING, C.OP_STATUS_CANCELING)):
            raise JobCanceled()

    def get_priority(self) -> int:
        return self._op.priority

    def set_priority(self, prio: int) -> None:
        """The processor raises the priority after lock attempts time out."""
        self._queue._set_op_priority(self._job, self._op, prio)

    def submit_many_jobs(self, jobs: list[list[dict]]) -> list:
        """LU-generated jobs; they inherit this opcode's priority and reason."""
        return self._queue._submit_many(jobs, parent=self._op)


class SchedulerMixin:
    """Worker pool and job execution; mixed into :class:`JobQueue`.

    Everything here runs under ``self._lock`` except the processor call.
    """

    _lock: threading.Lock
    _work: threading.Condition
    _jobs: dict[int, QueuedJob]
    _heap: list[tuple[int, int]]
    _dep_waiters: dict[int, set[int]]
    _stopping: bool
    _max_workers: int
    _num_workers: int
    _workers: list[threading.Thread]

    # -- heap --------------------------------------------------------------
    def _push(self, job: QueuedJob) -> None:
        heapq.heappush(self._heap, (job.priority(), job.id))
        job.in_heap = True
        self._work.notify()

    def _pop(self) -> QueuedJob | None:
        while self._heap:
            prio, job_id = heapq.heappop(self._heap)
            job = self._jobs.get(job_id)
            if job is None or not job.in_heap or job.running or job.archiving \
                    or job.finalized():
                continue
            if prio != job.priority():
                continue      # stale entry: a newer one carries the current priority
            job.in_heap = False
            return job
        return None

    # -- worker threads ------------------------------------------------------
    def _spawn_workers(self) -> None:
        while self._num_workers < self._max_workers:
            self._num_workers += 1
            thread = threading.Thread(target=self._worker_loop, daemon=True,
                                      name="jqueue-worker-%d" % len(self._workers))
            self._workers = [t for t in self._workers if t.is_alive()] + [thread]
            thread.start()

    def _worker_loop(self) -> None:
        me = threading.get_ident()
        while True:
            with self._lock:
                while True:
                    if self._stopping or self._num_workers > self._max_workers:
                        self._num_workers -= 1
                        self._work.notify()     # pass on a wake-up meant for a worker
                        return
                    job = self._pop()
                    if job is not None:
                        break
                    self._work.wait()
                job.running = me
            try:
                self._run_job(job)
            except Exception:  # noqa: BLE001 - a bug must not kill the worker
                logging.exception("Unexpected error while running job %s", job.id)
                with self._lock:
                    if job.running == me and not job.finalized():
                        index = job.first_unfinished() or 0
                        job.finish_from(index, C.OP_STATUS_ERROR,
                                        exec_error("Internal error in the job queue"))
                        self._dirty(job)
            finally:
                with self._lock:
                    if job.running == me:
                        job.running = 0

    # -- one job -----------------------------------------------------------
    def _run_job(self, job: QueuedJob) -> None:
        processor = None
        with self._lock:
            index = self._prepare_op(job)
        while index is not None:
            op = job.ops[index]
            with self._lock:
                batch = self._dirty(job)
                try:
                    if batch is not None:
                        self._writer.wait(batch)
                except errors.JobQueueError as err:
                    # not durably "waiting": running it could repeat it after a crash
                    job.finish_from(index, C.OP_STATUS_ERROR, exec_error(str(err)))
                    self._dirty(job)
                    return
                if job.cancel_requested or self._stopping:
                    if job.cancel_requested:
                        job.finish_from(index, C.OP_STATUS_CANCELED, jobmod.MSG_CANCELED)
                    else:     # shutdown before it ran: it runs after the restart
                        op.status = C.OP_STATUS_QUEUED
                    self._dirty(job)
                    return
            if processor is None:
                processor = self._factory()
            status, result = self._execute(processor, job, index)
            with self._lock:
                now = timestamp()
                op.finalize(status, result, now)
                if status == C.OP_STATUS_SUCCESS:
                    if job.finalized():
                        job.end_timestamp = now
                    index = self._prepare_op(job)   # next op: same write as this result
                else:
                    rest = jobmod.MSG_CANCELED if status == C.OP_STATUS_CANCELED \
                        else exec_error(jobmod.MSG_PRECEDING_FAILED)
                    job.finish_from(index + 1, status, rest)
                    job.end_timestamp = now
                    index = None
                self._dirty(job)

    def _prepare_op(self, job: QueuedJob) -> int | None:
        """Decide about the job's next opcode; None means the worker lets go.

        Returns the index of an opcode now marked ``waiting`` (to be run once
        that is durable), or None when the job finished, got canceled or
        failed here, or was parked to wait for its dependencies.
        """
        index = job.first_unfinished()
        if index is None:
            return None
        op = job.ops[index]
        if job.cancel_requested:
            job.finish_from(index, C.OP_STATUS_CANCELED, jobmod.MSG_CANCELED)
            self._dirty(job)
            return None
        if self._stopping:
            return None
        state, msg = self._check_deps(job, op)
        if state == _DEP_FAIL:
            job.finish_from(index, C.OP_STATUS_ERROR, exec_error(msg))
        elif state == _DEP_CANCEL:
            job.finish_from(index, C.OP_STATUS_CANCELED, msg)
        else:
            if op.status != C.OP_STATUS_WAITING:
                op.status = C.OP_STATUS_WAITING
                op.start_timestamp = op.start_timestamp or timestamp()
                job.start_timestamp = job.start_timestamp or op.start_timestamp
            if state == _DEP_OK:
                return index
            job.running = 0    # parked: released in the same critical section
        self._dirty(job)
        return None

    def _check_deps(self, job: QueuedJob, op: QueuedOpCode) -> tuple[int, str]:
        """Dependencies of an opcode, judged on their *durable* status."""
        for dep in op.input.get("depends") or []:
            dep_id, allowed = int(dep[0]), list(dep[1] or [])
            if dep_id == job.id:
                return _DEP_FAIL, "Job %s cannot depend on itself" % job.id
            other = self._jobs.get(dep_id)
            if other is not None:
                status = other.durable_status or C.JOB_STATUS_QUEUED
            else:
                view = self._archived_view(dep_id)
                if view is None:
                    return _DEP_FAIL, "Dependency job %s not found" % dep_id
                status = jobmod.job_status_of([o.get("status") for o in view["ops"]])
            if status not in C.JOBS_FINALIZED:
                self._dep_waiters.setdefault(dep_id, set()).add(job.id)
                return _DEP_WAIT, ""
            if status == C.JOB_STATUS_CANCELED and status not in allowed:
                return _DEP_CANCEL, "Dependency job %s was canceled" % dep_id
            ok = allowed or [C.JOB_STATUS_SUCCESS, C.JOB_STATUS_ERROR]
            if status not in ok:
                return _DEP_FAIL, ("Dependency job %s ended in status '%s', not one of %s" %
                                   (dep_id, status, ", ".join("'%s'" % s for s in ok)))
        return _DEP_OK, ""

    def _deps_finished(self, job: QueuedJob) -> None:
        """``job`` is durably final: put the jobs waiting for it back in the heap."""
        for waiter_id in sorted(self._dep_waiters.pop(job.id, ())):
            other = self._jobs.get(waiter_id)
            if other is not None and not other.running and not other.finalized() \
                    and not other.in_heap:
                self._push(other)

    def _execute(self, processor: Any, job: QueuedJob, index: int) -> tuple[str, Any]:
        """Run one opcode; map its outcome to (op status, op result)."""
        ctx = OpExecContext(self, job, index)
        qop = job.ops[index]
        try:
            # a private copy: LUs may change nested values, the stored input must not
            if qop.input_json is None:
                qop.input_json = jobmod._dumps(qop.input)
            opcode = opcodes.OpCode.from_dict(json.loads(qop.input_json))
            result = processor.execute_opcode(opcode, ctx)
            try:
                jobmod._dumps(result)
            except (TypeError, ValueError) as err:
                return C.OP_STATUS_ERROR, exec_error("Opcode result is not JSON-serializable:"
                                                     " %s" % err)
            return C.OP_STATUS_SUCCESS, result
        except JobCanceled:
            return C.OP_STATUS_CANCELED, jobmod.MSG_CANCELED
        except errors.GenericError as err:
            return C.OP_STATUS_ERROR, errors.encode_exception(err)
        except Exception as err:  # noqa: BLE001 - any failure is the opcode's error
            logging.exception("Opcode %d of job %s failed", index, job.id)
            return C.OP_STATUS_ERROR, exec_error(str(err) or type(err).__name__)

    # -- callbacks from OpExecContext ----------------------------------------
    def _feedback(self, job: QueuedJob, op: QueuedOpCode, msg_type: str, msg: Any) -> None:
        if not isinstance(msg, str):
            try:
                jobmod._dumps(msg)
            except (TypeError, ValueError):
                msg = str(msg)
        with self._lock:
            job.add_log(op, msg_type, msg)
            self._dirty(job)

    def _notify_start(self, job: QueuedJob, op: QueuedOpCode) -> None:
        with self._lock:
            if op.status == C.OP_STATUS_CANCELING or job.cancel_requested:
                raise JobCanceled()
            op.status = C.OP_STATUS_RUNNING
            op.exec_timestamp = timestamp()
            job.start_timestamp = job.start_timestamp or op.start_timestamp
            self._dirty(job)

    def _set_op_priority(self, job: QueuedJob, op: QueuedOpCode, prio: int) -> None:
        prio = max(C.OP_PRIO_HIGHEST, min(C.OP_PRIO_LOWEST, int(prio)))
        with self._lock:
            if op.priority != prio:
                op.priority = prio
                self._dirty(job)
