"""Test opcodes: delay, job queue exercise, dummy."""

from __future__ import annotations

import time

from ganeti import constants, errors, locking
from ganeti.cmdlib.base import NoHooksLU, ResultWithJobs


class LUTestDelay(NoHooksLU):
    def check_arguments(self) -> None:
        if self.op.duration <= 0:
            raise errors.OpPrereqError("Duration must be greater than zero")

    def expand_names(self) -> None:
        self.needed_locks = {}
        uuids = []
        for name in self.op.on_nodes or []:
            uuids.append(self.expand_node(name)[0])
        self.op.on_node_uuids = uuids
        if not self.op.no_locks and uuids:
            self.needed_locks[locking.LEVEL_NODE] = uuids

    def _delay(self) -> None:
        if self.op.on_master:
            time.sleep(self.op.duration)
        if self.op.on_node_uuids:
            targets = self.cfg.node_targets(self.op.on_node_uuids)
            results = self.rpc.call("test_delay", targets, [self.op.duration])
            for name, res in results.items():
                if res.fail_msg:
                    raise errors.OpExecError("Failure during rpc call to node %s: %s"
                                             % (name, res.fail_msg))

    def exec(self, feedback_fn):
        if self.op.repeat == 0:
            self._delay()
        else:
            top = self.op.repeat - 1
            for i in range(self.op.repeat):
                self.log_info("Test delay iteration %d/%d", i, top)
                self._delay()
        return None


class LUTestJqueue(NoHooksLU):
    def exec(self, feedback_fn):
        for msg in self.op.log_messages:
            feedback_fn(constants.ELOG_JQUEUE_TEST, msg)
        if self.op.fail:
            raise errors.OpExecError("Opcode failure was requested")
        return True


class LUTestDummy(NoHooksLU):
    def exec(self, feedback_fn):
        messages = self.op.messages or []
        for msg in messages if isinstance(messages, list) else [messages]:
            self.log_info(str(msg))
        if self.op.fail:
            raise errors.OpExecError("Dummy opcode failure")
        if self.op.submit_jobs:
            return ResultWithJobs(self.op.submit_jobs)
        return self.op.result
