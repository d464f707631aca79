"""ganeti-masterd: config owner, job queue, lock manager, LUXI server."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Any

from ganeti import constants, errors, locking, pathutils
from ganeti import config as configmod


class QueueReplicator:
    """Pushes job files to the other master candidates before they count.

    A candidate that does not answer would otherwise stall every queue
    write for the RPC timeout; instead, calls use a short timeout and a
    candidate that failed is skipped (and logged) for a while, then tried
    again. Its copy of the queue may then miss files: gnt-cluster verify
    reports that, and a promotion or readd copies the whole queue again.
    """

    TIMEOUT = 10.0
    BACKOFF = 60.0

    def __init__(self, cfg, rpc):
        self._cfg = cfg
        self._rpc = rpc
        self._failed_until: dict[str, float] = {}

    def _targets(self) -> list:
        cfg = self._cfg
        master = cfg.get_master_node()
        now = time.time()
        out = []
        for u, n in cfg.data.nodes.items():
            if u == master or not n.master_candidate or n.offline:
                continue
            if self._failed_until.get(n.name, 0) > now:
                continue
            out.append(cfg.node_target(u))
        return out

    def _call(self, procedure: str, args: list, what: str) -> None:
        targets = self._targets()
        if not targets:
            return
        results = self._rpc.call(procedure, targets, args, timeout=self.TIMEOUT)
        for name, res in results.items():
            if res.fail_msg:
                logging.error("Job queue replication (%s) to %s failed: %s; skipping that"
                              " node for %d s", what, name, res.fail_msg, self.BACKOFF)
                self._failed_until[name] = time.time() + self.BACKOFF
            else:
                self._failed_until.pop(name, None)

    def update_file(self, path: str, data: bytes) -> None:
        from ganeti.rpc import client as rpc_client
        self._call("jobqueue_update", [pathutils.strip_root(path),
                                       rpc_client.encode_file(data)], path)

    def rename_files(self, pairs: list) -> None:
        self._call("jobqueue_rename",
                   [[[pathutils.strip_root(a), pathutils.strip_root(b)] for a, b in pairs]],
                   "archive")


class RpcRunner:
    """Adapter giving LUs ``rpc.call(procedure, targets, args)``."""

    def __init__(self):
        from ganeti.rpc.client import RpcClient
        self._client = RpcClient()

    def call(self, procedure: str, targets: list, args: list, timeout=None) -> dict:
        return self._client.call(procedure, targets, args, timeout=timeout)

    def call_one(self, procedure: str, target, args: list, timeout=None):
        """One node's RpcResult (LUs talking to an instance's primary)."""
        return self._client.call_one(procedure, target, args, timeout=timeout)

    # config.data and ssconf distribution: a dead candidate must fail the write
    # within seconds, not after the 15-minute NORMAL timeout
    CONFIG_TIMEOUT = 30.0

    def __call__(self, procedure: str, targets: list, args: list) -> dict:
        return self.call(procedure, targets, args, timeout=self.CONFIG_TIMEOUT)


class Master:
    """Everything masterd owns, wired together."""

    def __init__(self):
        from ganeti import jqueue, mcpu
        self.rpc = RpcRunner()
        self.cfg = configmod.ConfigWriter(rpc=self.rpc)
        data = self.cfg.data
        self.glm = locking.LockManager(instances=data.instances.keys(),
                                       nodegroups=data.nodegroups.keys(),
                                       nodes=data.nodes.keys(),
                                       networks=data.networks.keys())
        self.context = mcpu.MasterContext(self.cfg, self.glm, self.rpc)
        self.jqueue = jqueue.JobQueue(
            lambda: mcpu.Processor(self.context),
            max_workers=self.cfg.get_cluster_info().max_running_jobs,
            replicator=QueueReplicator(self.cfg, self.rpc))
        self.context.jqueue = self.jqueue

    # -- LUXI methods ---------------------------------------------------
    def methods(self) -> dict:
        q = self.jqueue
        return {
            "SubmitJob": lambda ops: q.submit_job(_ops(ops)),
            "SubmitJobToDrainedQueue": lambda ops: q.submit_job(_ops(ops), allow_drained=True),
            "SubmitManyJobs": lambda jobs: q.submit_many_jobs([_ops(j) for j in _list(jobs)]),
            "WaitForJobChange": self._wait_for_job_change,
            "CancelJob": lambda job_id, kill=False: q.cancel_job(_job_id(job_id), bool(kill)),
            "ArchiveJob": lambda job_id: q.archive_job(_job_id(job_id)),
            "AutoArchiveJobs": lambda age, timeout: q.auto_archive_jobs(int(age), float(timeout)),
            "ChangeJobPriority": lambda job_id, prio: q.change_job_priority(_job_id(job_id),
                                                                           int(prio)),
            "QueryJobs": lambda ids, fields: q.query_jobs(
                None if ids is None else [_job_id(i) for i in ids], _list(fields)),
            "Query": self._query,
            "QueryFields": self._query_fields,
            "QueryNodes": lambda names, fields, use_locking=False: self._query_legacy(
                constants.QR_NODE, names, fields),
            "QueryGroups": lambda names, fields, use_locking=False: self._query_legacy(
                constants.QR_GROUP, names, fields),
            "QueryInstances": lambda names, fields, use_locking=False: self._query_legacy(
                constants.QR_INSTANCE, names, fields),
            "QueryItemsJson": self._query_items_json,
            "QueryClusterInfo": self._cluster_info,
            "QueryConfigValues": self._config_values,
            "QueryTags": self._query_tags,
            "SetDrainFlag": self._set_drain_flag,
            "SetWatcherPause": self._set_watcher_pause,
        }

    def _wait_for_job_change(self, job_id, fields, prev_job_info, prev_log_serial, timeout):
        timeout = min(float(timeout), constants.LUXI_WFJC_TIMEOUT)
        return self.jqueue.wait_for_job_change(_job_id(job_id), _list(fields), prev_job_info,
                                               prev_log_serial, timeout)

    def _query(self, what, fields, qfilter=None):
        from ganeti.cmdlib import query as cq
        fields = _list(fields)
        if what == constants.QR_JOB:
            return self.jqueue.query(fields, qfilter)
        if what == constants.QR_LOCK:
            return cq.query_locks(self.glm, fields, qfilter)
        if what in cq.LUXI_RESOURCES:
            return cq.query_config_resource(self.cfg, what, fields, qfilter, rpc=self.rpc)
        raise errors.OpPrereqError("Resource type '%s' unknown or not queryable via LUXI"
                                   " (use OP_QUERY)" % what, errors.ECODE_INVAL)

    def _query_legacy(self, what, names, fields):
        """QueryNodes/QueryGroups/QueryInstances: old-style rows; locking is never needed (snapshots)."""
        from ganeti.cmdlib import query as cq
        return cq.query_legacy(self.cfg, what, names, _list(fields), rpc=self.rpc)

    def _query_items_json(self, what, names, fields, view=None):
        from ganeti.cmdlib import query as cq
        if what not in cq.LUXI_RESOURCES:
            raise errors.OpPrereqError("Resource type '%s' unknown" % what, errors.ECODE_INVAL)
        return cq.query_items_json(self.cfg, what, names, _list(fields), view, rpc=self.rpc)

    def _query_fields(self, what, fields=None):
        from ganeti.cmdlib import query as cq
        return cq.query_fields(what, fields)

    def _cluster_info(self):
        from ganeti.cmdlib import cluster
        with self.cfg.lock:
            return cluster.cluster_info(self.cfg)

    def _config_values(self, fields):
        from ganeti.cmdlib import cluster
        try:
            return cluster.config_values(self.cfg, _list(fields))
        except errors.ParameterError as err:
            raise errors.OpPrereqError("Unknown config value '%s'" % err.args[0],
                                       errors.ECODE_INVAL)

    def _query_tags(self, kind, name):
        op = {"OP_ID": "OP_TAGS_GET", "kind": kind, "name": name, "use_locking": False}
        from ganeti import opcodes
        from ganeti.cmdlib import tags
        opcode = opcodes.OpCode.from_dict(op)

        class _Ctx:
            job_id = 0

            @staticmethod
            def feedback(*args):
                pass

        lu = tags.LUTagsGet(_FakeProc(self.context), opcode, _Ctx())
        lu.expand_names()
        return lu.exec(None)

    def _set_drain_flag(self, flag):
        if not isinstance(flag, bool):
            raise errors.OpPrereqError("Drain flag must be a boolean", errors.ECODE_INVAL)
        self.jqueue.set_drain_flag(flag)
        cfg = self.cfg
        master = cfg.get_master_node()
        targets = [cfg.node_target(u) for u, n in cfg.data.nodes.items()
                   if u != master and n.master_candidate and not n.offline]
        if targets:
            self.rpc.call("jobqueue_set_drain_flag", targets, [flag])
        return True

    def _set_watcher_pause(self, until):
        if until is not None and not isinstance(until, (int, float)):
            raise errors.OpPrereqError("Watcher pause must be a timestamp or null",
                                       errors.ECODE_INVAL)
        cfg = self.cfg
        targets = [cfg.node_target(u) for u, n in cfg.data.nodes.items()
                   if (n.master_candidate or u == cfg.get_master_node()) and not n.offline]
        value = None if until is None else int(until)
        results = self.rpc.call("set_watcher_pause", targets, [value])
        for name, res in results.items():
            if res.fail_msg:
                logging.warning("Setting watcher pause on %s failed: %s", name, res.fail_msg)
        return value

    # -- lifecycle ------------------------------------------------------
    def start(self) -> None:
        from ganeti.server.luxi_server import LuxiServer
        self.jqueue.start()
        self.luxi = LuxiServer([pathutils.MASTER_SOCKET, pathutils.QUERY_SOCKET],
                               self.methods())
        self.luxi.start()

    def stop(self) -> None:
        try:
            self.luxi.stop()
        finally:
            self.jqueue.shutdown()


class _FakeProc:
    def __init__(self, context):
        self.context = context


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise errors.OpPrereqError("Expected a list, got %r" % (value,), errors.ECODE_INVAL)
    return value


def _ops(value: Any) -> list:
    ops = _list(value)
    if not ops:
        raise errors.OpPrereqError("A job needs at least one opcode", errors.ECODE_INVAL)
    return ops


def _job_id(value: Any) -> int:
    try:
        job_id = int(value)
    except (TypeError, ValueError):
        raise errors.OpPrereqError("Invalid job ID '%s'" % (value,), errors.ECODE_INVAL)
    if job_id < 0:
        raise errors.OpPrereqError("Invalid job ID '%s'" % (value,), errors.ECODE_INVAL)
    return job_id


def check_master(no_voting: bool) -> str | None:
    """None if this node may run the master, else the reason it may not."""
    from ganeti import ssconf
    reason = ssconf.master_mismatch()
    if reason is not None or no_voting:
        return reason
    return _vote(ssconf.my_hostname())


def _vote(me: str) -> str | None:
    """Majority check: the nodes in the config must agree that we are master."""
    cfg = configmod.ConfigWriter()
    nodes = [(n.name, n.primary_ip, bool(n.offline)) for n in cfg.data.nodes.values()]
    if len(nodes) <= 1:
        return None
    rpc = RpcRunner()
    for _attempt in range(6):
        results = rpc.call("master_node_name", nodes, [])
        votes = sum(1 for r in results.values() if not r.fail_msg and r.payload == me)
        missing = sum(1 for r in results.values() if r.fail_msg)
        if votes * 2 > len(nodes):
            return None
        if (votes + missing) * 2 <= len(nodes):
            break
        time.sleep(10)
    return ("Master voting failed: not enough nodes agree that %s is the master;"
            " use --no-voting --yes-do-it to override" % me)


def main(argv: list[str] | None = None) -> int:
    from ganeti import daemon
    parser = daemon.make_parser("ganeti-masterd", "Ganeti master daemon")
    parser.add_argument("--no-voting", action="store_true",
                        help="Skip the master voting (dangerous; needs --yes-do-it)")
    parser.add_argument("--yes-do-it", action="store_true", help=argparse_suppress())
    opts = parser.parse_args(argv)
    if opts.no_voting and not opts.yes_do_it:
        sys.stderr.write("The --no-voting option is dangerous; you need to give"
                         " --yes-do-it as well\n")
        return constants.EXIT_FAILURE
    reason = check_master(opts.no_voting)
    if reason is not None:
        sys.stderr.write(reason + "\n")
        return constants.EXIT_NOTMASTER
    return daemon.run_daemon("ganeti-masterd", opts, _Runner())


def argparse_suppress():
    import argparse
    return argparse.SUPPRESS


class _Runner:
    """Start/stop callbacks for the generic daemon loop."""

    def __init__(self):
        self.master: Master | None = None
        self.stopped = threading.Event()

    def start(self) -> None:
        self.master = Master()
        self.master.start()
        logging.info("ganeti-masterd started (pid %d)", os.getpid())

    def stop(self) -> None:
        if self.master is not None:
            self.master.stop()
        self.stopped.set()

