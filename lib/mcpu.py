"""The processor: runs one opcode through its logical unit.

Phases (spec/locking.md §2): check arguments, expand names, acquire
locks level by level (BGL first), check prerequisites, pre hooks, (stop
on dry-run), execute, post hooks. Lock attempts use a rising timeout
series; when a series is exhausted the opcode's priority is raised and,
at the highest priority, the final attempt blocks.
"""

from __future__ import annotations

import logging
from typing import Any

from ganeti import constants, errors, locking, pathutils
from ganeti.cmdlib import LU_CLASSES
from ganeti.cmdlib.base import ResultWithJobs


class _LockAttemptTimeout(Exception):
    pass


class MasterContext:
    """What every logical unit may use: config, locks, RPC and the queue."""

    def __init__(self, cfg, glm: locking.LockManager, rpc, jqueue=None):
        self.cfg = cfg
        self.glm = glm
        self.rpc = rpc
        self.jqueue = jqueue


class Processor:
    """Executes opcodes; one instance per job worker call."""

    def __init__(self, context: MasterContext):
        self.context = context

    # -- hooks --------------------------------------------------------
    def _hooks_env(self, lu, phase: str, pre_env: dict | None) -> dict:
        cfg = self.context.cfg
        env = {
            "GANETI_HOOKS_VERSION": str(constants.HOOKS_VERSION),
            "GANETI_HOOKS_PHASE": phase,
            "GANETI_HOOKS_PATH": lu.HPATH,
            "GANETI_OP_CODE": lu.op.OP_ID,
            "GANETI_DATA_DIR": pathutils.strip_root(pathutils.DATA_DIR),
            "GANETI_CLUSTER": cfg.get_cluster_name(),
            "GANETI_MASTER": cfg.get_master_node_name(),
        }
        if lu.HTYPE:
            env["GANETI_OBJECT_TYPE"] = lu.HTYPE
        target = lu.hooks_target()
        if target:
            env["GANETI_OP_TARGET"] = target
        if phase == constants.HOOKS_PHASE_PRE:
            specific = lu.build_hooks_env()
            for key, value in specific.items():
                env["GANETI_" + key] = _hook_str(value)
        else:
            for key, value in (pre_env or {}).items():
                env["GANETI_" + key] = _hook_str(value)
            for key, value in lu.build_hooks_env().items():
                env["GANETI_POST_" + key] = _hook_str(value)
        return env

    def run_hooks(self, lu, phase: str, pre_env: dict | None = None) -> dict:
        """Run one hooks phase; a failing pre hook aborts with its output."""
        if not lu.HPATH:
            return {}
        pre_nodes, post_nodes = lu.build_hooks_nodes()
        nodes = pre_nodes if phase == constants.HOOKS_PHASE_PRE else post_nodes
        if not nodes:
            return {}
        env = self._hooks_env(lu, phase, pre_env)
        cfg = self.context.cfg
        # offline nodes run no hooks (upstream skips them too)
        targets = [cfg.node_target(u) for u in nodes
                   if cfg.get_node_info(u) and not cfg.get_node_info(u).offline]
        if not targets:
            return {}
        results = self.context.rpc.call("hooks_runner", targets, [lu.HPATH, phase, env])
        failures = []
        for node_name, res in results.items():
            if res.fail_msg:
                lu.log_warning("Communication failure to node %s: %s" % (node_name, res.fail_msg))
                continue
            for script, status, output in res.payload or []:
                if status == constants.HKR_FAIL:
                    failures.append((node_name, script, output))
                    if phase == constants.HOOKS_PHASE_POST:
                        lu.log_warning("Hook script %s failed on node %s: %s" %
                                       (script, node_name, output))
        if failures and phase == constants.HOOKS_PHASE_PRE:
            lines = ["Hooks failure:"]
            for node_name, script, output in failures:
                lines.append("  Node %s, script %s, output: %s" % (node_name, script, output))
            raise errors.OpPrereqError("\n".join(lines), errors.ECODE_STATE)
        return results

    # -- locking ------------------------------------------------------
    def _acquire(self, lu, level: int, names, shared: bool, timeout: float | None, ctx) -> None:
        glm = self.context.glm
        got = glm.acquire(level, names, shared=shared, owner=lu.owner, timeout=timeout,
                          priority=ctx.get_priority(), cancel_check=ctx.check_cancel)
        if got is None:
            raise _LockAttemptTimeout()

    def _lock_levels(self, lu, timeout: float | None, ctx) -> None:
        self._acquire(lu, locking.LEVEL_CLUSTER, [locking.BGL], not lu.REQ_BGL, timeout, ctx)
        for level in locking.LEVELS[1:]:
            if level not in lu.needed_locks:
                continue
            lu.declare_locks(level)
            names = lu.needed_locks.get(level)
            if names is not locking.ALL_SET:
                names = sorted(set(names))
                if not names:
                    continue
            shared = bool(lu.share_locks.get(level, 0))
            self._acquire(lu, level, names, shared, timeout, ctx)

    def _acquire_all(self, lu, ctx) -> None:
        glm = self.context.glm
        strategy = locking.LockAttemptTimeoutStrategy()
        while True:
            timeout = strategy.next_timeout()
            blocking = timeout is None and ctx.get_priority() <= constants.OP_PRIO_HIGHEST
            try:
                self._lock_levels(lu, None if blocking else timeout, ctx)
                return
            except _LockAttemptTimeout:
                glm.release_all(lu.owner)
                if timeout is None:
                    prio = ctx.get_priority()
                    if prio > constants.OP_PRIO_HIGHEST:
                        ctx.set_priority(prio - 1)
                    strategy = locking.LockAttemptTimeoutStrategy()
            except BaseException:
                glm.release_all(lu.owner)
                raise

    # -- main entry ---------------------------------------------------
    def execute_opcode(self, op, ctx) -> Any:
        lu_class = LU_CLASSES.get(op.OP_ID)
        if lu_class is None:
            raise errors.OpCodeUnknown("Unknown opcode %s" % op.OP_ID)
        lu = lu_class(self, op, ctx)
        lu.expand_names()
        if lu.needed_locks is None:
            raise errors.ProgrammerError("LU %s did not declare its locks" % lu_class.__name__)
        glm = self.context.glm
        self._acquire_all(lu, ctx)
        try:
            ctx.notify_start()
            lu.check_prereq()
            pre_env = lu.build_hooks_env() if lu.HPATH else None
            self.run_hooks(lu, constants.HOOKS_PHASE_PRE)
            if op.dry_run:
                return lu.dry_run_result
            result = lu.exec(ctx.feedback)
            try:
                post = self.run_hooks(lu, constants.HOOKS_PHASE_POST, pre_env)
            except errors.GenericError as err:
                logging.warning("Post hooks of %s failed: %s", op.OP_ID, err)
                post = {}
            result = lu.hooks_callback(post, result)
            if isinstance(result, ResultWithJobs):
                out = dict(result.other)
                out["jobs"] = ctx.submit_many_jobs(result.jobs)
                result = out
            return result
        finally:
            glm.release_all(lu.owner)


def _hook_str(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    return str(value)
