"""Logical unit base classes.

A logical unit (LU) implements one opcode in phases that the processor
(mcpu) drives. LUs see the configuration, the lock manager and the RPC
client through the master context; they never touch node-side code.
"""

from __future__ import annotations

from typing import Any, Callable

from ganeti import constants, errors, locking


class ResultWithJobs:
    """An LU result that asks the processor to submit follow-up jobs."""

    def __init__(self, jobs: list[list[dict]], **other: Any):
        self.jobs = jobs
        self.other = other


class LogicalUnit:
    HPATH: str | None = None
    HTYPE: str | None = None
    REQ_BGL = False

    def __init__(self, proc, op, ctx):
        self.proc = proc
        self.op = op
        self.ctx = ctx
        self.context = proc.context
        self.cfg = proc.context.cfg
        self.glm = proc.context.glm
        self.rpc = proc.context.rpc
        self.owner = "job/%s" % getattr(ctx, "job_id", "?")
        self.needed_locks: dict[int, Any] | None = None
        self.share_locks: dict[int, int] = {}
        self.dry_run_result: Any = None
        self.check_arguments()

    # phases ----------------------------------------------------------
    def check_arguments(self) -> None:
        """Validate opcode parameters without touching the cluster."""

    def expand_names(self) -> None:
        self.needed_locks = {}

    def declare_locks(self, level: int) -> None:
        """Compute locks of ``level`` from the ones already held."""

    def check_prereq(self) -> None:
        """Read-only checks under locks; raise OpPrereqError to stop."""

    def build_hooks_env(self) -> dict:
        return {}

    def build_hooks_nodes(self) -> tuple[list[str], list[str]]:
        return [], []

    def hooks_target(self) -> str | None:
        return None

    def exec(self, feedback_fn: Callable) -> Any:
        raise NotImplementedError

    def hooks_callback(self, post_results: dict, result: Any) -> Any:
        """Let an LU fold post-hook results into its own result."""
        return result

    # helpers ---------------------------------------------------------
    def share_all(self) -> None:
        self.share_locks = {level: 1 for level in locking.LEVELS}

    def log_info(self, msg: str, *args: Any) -> None:
        self.ctx.feedback(constants.ELOG_MESSAGE, msg % args if args else msg)

    def log_step(self, msg: str) -> None:
        self.ctx.feedback(constants.ELOG_MESSAGE, "* " + msg)

    def log_warning(self, msg: str, *args: Any, hint: str | None = None) -> None:
        text = msg % args if args else msg
        self.ctx.feedback(constants.ELOG_MESSAGE, "WARNING: " + text)
        if hint:
            self.ctx.feedback(constants.ELOG_MESSAGE, "Hint: " + hint)

    def owned(self, level: int) -> set[str]:
        return self.glm.owned(level, self.owner)

    def expand_node(self, name: str) -> tuple[str, str]:
        found = self.cfg.expand_node_name(name)
        if found is None:
            raise errors.OpPrereqError("Node '%s' not known" % name, errors.ECODE_NOENT)
        return found

    def master_uuid(self) -> str:
        return self.cfg.get_master_node()


class NoHooksLU(LogicalUnit):
    HPATH = None
    HTYPE = None
