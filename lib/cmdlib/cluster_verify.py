"""Cluster verification: config checks and per-group node checks.

OP_CLUSTER_VERIFY only submits jobs (one config check, one per group),
as upstream does; each job reports findings as log lines
``  - ERROR: node X: msg`` (or ``ERROR:ECODE:node:X:msg`` with error
codes) and returns whether no ERROR was found.
"""

from __future__ import annotations

import os
import time

from ganeti import constants, errors, locking, pathutils
from ganeti.cmdlib.base import LogicalUnit, NoHooksLU, ResultWithJobs
from ganeti.utils.text import nice_sort

NODE_MAX_CLOCK_SKEW = 150.0
CERT_WARN_DAYS = 30
CERT_ERROR_DAYS = 7

# error code -> (object type)
ECODES = {
    "ECLUSTERCFG": "cluster", "ECLUSTERCERT": "cluster", "ECLUSTERFILECHECK": "cluster",
    "ECLUSTERDANGLINGNODES": "cluster", "ECLUSTERDANGLINGINST": "cluster",
    "ECLUSTERCLIENTCERT": "cluster",
    "EINSTANCEBADNODE": "instance", "EINSTANCEDOWN": "instance", "EINSTANCELAYOUT": "instance",
    "EINSTANCEMISSINGDISK": "instance", "EINSTANCEWRONGNODE": "instance",
    "ENODEDRBD": "node", "ENODEFILECHECK": "node", "ENODEHOOKS": "node", "ENODEHV": "node",
    "ENODELVM": "node", "ENODEN1": "node", "ENODENET": "node", "ENODEOS": "node",
    "ENODEORPHANINSTANCE": "node", "ENODEORPHANLV": "node", "ENODERPC": "node",
    "ENODESSH": "node", "ENODEVERSION": "node", "ENODESETUP": "node", "ENODETIME": "node",
    "ENODEOOBPATH": "node", "ENODEUSERSCRIPTS": "node", "ENODEFILESTORAGEPATHS": "node",
}


class _VerifyMixin:
    """Reporting shared by the verify LUs."""

    bad = False

    def _error(self, ecode: str, item: str, msg: str, *args, warning: bool = False) -> None:
        ltype = constants.CV_WARNING if warning else constants.CV_ERROR
        if ecode in (self.op.ignore_errors or []):
            ltype = constants.CV_WARNING
        itype = ECODES.get(ecode, "cluster")
        text = msg % args if args else msg
        if self.op.error_codes:
            line = "%s:%s:%s:%s:%s" % (ltype, ecode, itype, item, text)
        else:
            line = "%s: %s %s: %s" % (ltype, itype, item, text) if item else \
                "%s: %s: %s" % (ltype, itype, text)
        self.ctx.feedback(constants.ELOG_MESSAGE, "  - " + line)
        if ltype == constants.CV_ERROR:
            self.bad = True

    def _notice(self, msg: str) -> None:
        self.ctx.feedback(constants.ELOG_MESSAGE, "  - NOTICE: " + msg)


def cert_problem(path: str, now: float | None = None) -> tuple[str, str] | None:
    """(level, message) if the certificate at ``path`` is broken or expiring."""
    try:
        from cryptography import x509
        with open(path, "rb") as fh:
            cert = x509.load_pem_x509_certificate(fh.read())
    except FileNotFoundError:
        return constants.CV_ERROR, "certificate %s is missing" % pathutils.strip_root(path)
    except (OSError, ValueError) as err:
        return constants.CV_ERROR, "failed to load certificate %s: %s" % (
            pathutils.strip_root(path), err)
    now = now or time.time()
    expires = cert.not_valid_after.timestamp() if not hasattr(cert, "not_valid_after_utc") \
        else cert.not_valid_after_utc.timestamp()
    days = (expires - now) / 86400
    if days < 0:
        return constants.CV_ERROR, "certificate %s expired %d days ago" % (
            pathutils.strip_root(path), -days)
    if days < CERT_ERROR_DAYS:
        return constants.CV_ERROR, "certificate %s expires in %d days" % (
            pathutils.strip_root(path), days)
    if days < CERT_WARN_DAYS:
        return constants.CV_WARNING, "certificate %s expires in %d days" % (
            pathutils.strip_root(path), days)
    return None


class LUClusterVerify(NoHooksLU):
    def expand_names(self) -> None:
        self.needed_locks = {}

    def exec(self, feedback_fn):
        flags = {k: getattr(self.op, k) for k in ("debug_simulate_errors", "error_codes",
                                                  "skip_checks", "ignore_errors", "verbose")}
        jobs = []
        if self.op.group_name:
            groups = [self.cfg.lookup_node_group(self.op.group_name)]
        else:
            jobs.append([dict(flags, OP_ID="OP_CLUSTER_VERIFY_CONFIG",
                              priority=self.op.priority)])
            groups = list(self.cfg.get_all_nodegroups_info())
        for group_uuid in groups:
            op = dict(flags, OP_ID="OP_CLUSTER_VERIFY_GROUP", group_name=group_uuid,
                      priority=self.op.priority, verify_clutter=self.op.verify_clutter)
            if not self.op.group_name:
                op["depends"] = [[-len(jobs), []]]
            jobs.append([op])
        return ResultWithJobs(jobs)


class LUClusterVerifyConfig(_VerifyMixin, NoHooksLU):
    def expand_names(self) -> None:
        self.needed_locks = {locking.LEVEL_NODEGROUP: locking.ALL_SET,
                             locking.LEVEL_NODE: locking.ALL_SET}
        self.share_all()

    def exec(self, feedback_fn):
        self.bad = False
        self.log_step("Verifying cluster config")
        for msg in self.cfg.verify_config():
            self._error("ECLUSTERCFG", "", msg)
        self.log_step("Verifying cluster certificate files")
        for path in (pathutils.NODED_CERT_FILE, pathutils.RAPI_CERT_FILE):
            if path == pathutils.RAPI_CERT_FILE and not os.path.exists(path):
                continue
            problem = cert_problem(path)
            if problem:
                self._error("ECLUSTERCERT", "", problem[1],
                            warning=problem[0] == constants.CV_WARNING)
        self.log_step("Verifying hypervisor parameters")
        cluster = self.cfg.get_cluster_info()
        from ganeti.cmdlib import common
        for hv in cluster.enabled_hypervisors:
            try:
                common.check_hv_params(hv, cluster.hvparams.get(hv, {}))
            except errors.OpPrereqError as err:
                self._error("ECLUSTERCFG", "", "hypervisor %s parameters: %s" % (hv, err.args[0]))
        self.log_step("Verifying all nodes belong to an existing group")
        groups = self.cfg.get_all_nodegroups_info()
        dangling = [n.name for n in self.cfg.get_all_nodes_info().values()
                    if n.group not in groups]
        if dangling:
            self._error("ECLUSTERDANGLINGNODES", "", "the following nodes (and their instances)"
                        " belong to a non existing group: %s" % ", ".join(nice_sort(dangling)))
        self._verify_candidates()
        if self.op.debug_simulate_errors:
            self._error("ECLUSTERCFG", "", "simulated error")
        return not self.bad

    def _verify_candidates(self) -> None:
        """Enough master candidates, and each with a recorded certificate."""
        cluster = self.cfg.get_cluster_info()
        nodes = self.cfg.get_all_nodes_info().values()
        candidates = [n for n in nodes if n.master_candidate]
        possible = [n for n in nodes if n.master_capable and not n.offline and not n.drained]
        wanted = min(cluster.candidate_pool_size, len(possible))
        if len(candidates) < wanted:
            self._error("ECLUSTERCFG", "", "Not enough master candidates: actual %d, target %d"
                        % (len(candidates), wanted))
        for node in candidates:
            if node.uuid not in cluster.candidate_certs:
                self._error("ECLUSTERCLIENTCERT", "", "The master candidate '%s' does not have"
                            " a certificate digest recorded in the configuration" % node.name)


class LUClusterVerifyGroup(_VerifyMixin, LogicalUnit):
    HPATH = "cluster-verify"
    HTYPE = "CLUSTER"

    def expand_names(self) -> None:
        self.group_uuid = self.cfg.lookup_node_group(self.op.group_name)
        self.needed_locks = {locking.LEVEL_NODEGROUP: [self.group_uuid],
                             locking.LEVEL_NODE: []}
        self.share_all()

    def declare_locks(self, level: int) -> None:
        if level == locking.LEVEL_NODE:
            self.needed_locks[level] = [u for u, n in self.cfg.get_all_nodes_info().items()
                                        if n.group == self.group_uuid]

    def hooks_target(self):
        return self.cfg.get_cluster_name()

    def build_hooks_env(self):
        env = {"CLUSTER_TAGS": " ".join(sorted(self.cfg.get_cluster_info().tags))}
        for node in self.cfg.get_all_nodes_info().values():
            if node.group == self.group_uuid:
                env["NODE_TAGS_%s" % node.name] = " ".join(sorted(node.tags))
        return env

    def build_hooks_nodes(self):
        return [], self._group_nodes()

    def _group_nodes(self) -> list[str]:
        return [u for u, n in self.cfg.get_all_nodes_info().items() if n.group == self.group_uuid]

    def _file_list(self) -> list[str]:
        files = [pathutils.NODED_CERT_FILE, pathutils.CONFD_HMAC_KEY,
                 pathutils.CLUSTER_DOMAIN_SECRET_FILE, pathutils.RAPI_CERT_FILE,
                 pathutils.RAPI_USERS_FILE, pathutils.CLUSTER_CONF_FILE]
        return [pathutils.strip_root(f) for f in files]

    def exec(self, feedback_fn):
        self.bad = False
        cfg = self.cfg
        group = cfg.get_nodegroup(self.group_uuid)
        nodes = self._group_nodes()
        all_nodes = cfg.get_all_nodes_info()
        master = cfg.get_master_node()
        self.log_step("Verifying group '%s'" % group.name)
        self.log_step("Gathering data (%d nodes)" % len(nodes))
        online = [u for u in nodes if not all_nodes[u].offline]
        checks = {
            "version": None,
            "time": None,
            "filelist": self._file_list(),
            "nodelist": {all_nodes[u].name: all_nodes[u].primary_ip for u in nodes},
            "hypervisor": cfg.get_cluster_info().enabled_hypervisors,
            "nodesetup": None,
            "client-cert": pathutils.strip_root(pathutils.NODED_CERT_FILE),
            "instancelist": cfg.get_cluster_info().enabled_hypervisors,
        }
        hvparams = {hv: cfg.get_cluster_info().filled_hvparams(hv)
                    for hv in cfg.get_cluster_info().enabled_hypervisors}
        before = time.time()
        results = self.rpc.call("node_verify", cfg.node_targets(online),
                                [checks, cfg.get_cluster_name(), hvparams])
        after = time.time()
        self.log_step("Gathering information about nodes (%d nodes)" % len(nodes))
        self.log_step("Gathering disk information (%d nodes)" % len(nodes))
        self.log_step("Verifying configuration file consistency")
        self._verify_files(results, all_nodes, master)
        self.log_step("Verifying node status")
        for uuid in nodes:
            node = all_nodes[uuid]
            if node.offline:
                continue
            res = results.get(node.name)
            if res is None or res.fail_msg:
                self._error("ENODERPC", node.name, "while contacting node: %s" %
                            (res.fail_msg if res else "no answer"))
                continue
            self._verify_node(node, res.payload or {}, before, after)
        if self.op.debug_simulate_errors:
            self._error("ENODESETUP", all_nodes[master].name, "simulated error")
        self.log_step("Verifying instance status")
        self._verify_instances(nodes, all_nodes, results)
        self.log_step("Verifying orphan volumes")
        if "nplusone_mem" not in (self.op.skip_checks or []):
            self.log_step("Verifying N+1 Memory redundancy")
        self.log_step("Other Notes")
        offline = [all_nodes[u].name for u in nodes if all_nodes[u].offline]
        if offline:
            self._notice("%d offline node(s) found." % len(offline))
        return not self.bad

    def _verify_instances(self, nodes: list[str], all_nodes: dict, results: dict) -> None:
        """Each instance runs where and only where its admin state says."""
        running: dict[str, list[str]] = {}      # instance name -> nodes running it
        answered = set()
        for uuid in nodes:
            node = all_nodes[uuid]
            res = results.get(node.name)
            if node.offline or res is None or res.fail_msg:
                continue
            listed = (res.payload or {}).get("instancelist")
            if isinstance(listed, str):
                self._error("ENODEHV", node.name, "hypervisor error: %s" % listed)
                continue
            if isinstance(listed, list):
                answered.add(uuid)
                for name in listed:
                    running.setdefault(name, []).append(uuid)
        known = set()
        for inst in sorted(self.cfg.get_all_instances_info().values(), key=lambda i: i.name):
            known.add(inst.name)
            if inst.primary_node not in nodes:
                continue
            where = running.get(inst.name, [])
            pnode = all_nodes.get(inst.primary_node)
            if inst.admin_state == constants.ADMINST_UP and inst.primary_node in answered \
                    and inst.primary_node not in where:
                self._error("EINSTANCEDOWN", inst.name, "instance not running on its primary"
                            " node %s" % pnode.name)
            for uuid in where:
                if uuid != inst.primary_node:
                    self._error("EINSTANCEWRONGNODE", inst.name, "instance should not run on"
                                " node %s" % all_nodes[uuid].name)
        for name, where in sorted(running.items()):
            if name not in known:
                for uuid in where:
                    self._error("ENODEORPHANINSTANCE", all_nodes[uuid].name,
                                "node is running unknown instance %s" % name)

    def hooks_callback(self, post_results: dict, result):
        self.log_step("Hooks Results")
        for node_name, res in sorted(post_results.items()):
            if res.fail_msg:
                self._error("ENODEHOOKS", node_name, "Communication failure in hooks execution:"
                            " %s" % res.fail_msg)
                continue
            for script, status, output in res.payload or []:
                if status == constants.HKR_FAIL:
                    self._error("ENODEHOOKS", node_name, "Script %s failed, output:" % script)
                    for line in (output or "").splitlines():
                        self.ctx.feedback(constants.ELOG_MESSAGE, "      " + line)
        return result and not self.bad

    def _verify_node(self, node, nresult: dict, before: float, after: float) -> None:
        name = node.name
        version = nresult.get("version")
        if not isinstance(version, list) or len(version) != 2:
            self._error("ENODERPC", name, "connection to node returned invalid data")
            return
        if version[0] != constants.PROTOCOL_VERSION:
            self._error("ENODEVERSION", name, "incompatible protocol versions: master %s,"
                        " node %s" % (constants.PROTOCOL_VERSION, version[0]))
            return
        if version[1] != constants.RELEASE_VERSION:
            self._error("ENODEVERSION", name, "software version mismatch: master %s, node %s"
                        % (constants.RELEASE_VERSION, version[1]), warning=True)
        ntime = nresult.get("time")
        if isinstance(ntime, list) and len(ntime) == 2:
            ntime_f = ntime[0] + ntime[1] / 1e6
            if ntime_f < before - NODE_MAX_CLOCK_SKEW:
                skew = "%.01fs" % abs(before - ntime_f)
            elif ntime_f > after + NODE_MAX_CLOCK_SKEW:
                skew = "%.01fs" % abs(ntime_f - after)
            else:
                skew = None
            if skew:
                self._error("ENODETIME", name, "Node time diverges by at least %s from master"
                            " node time" % skew)
        else:
            self._error("ENODETIME", name, "Node returned invalid time")
        for problem in nresult.get("nodesetup") or []:
            self._error("ENODESETUP", name, "node setup error: %s" % problem)
        hyp = nresult.get("hypervisor") or {}
        for hv, msg in hyp.items():
            if msg:
                self._error("ENODEHV", name, "hypervisor %s verify failure: '%s'" % (hv, msg))
        failed = nresult.get("nodelist") or {}
        for other, msg in sorted(failed.items()):
            self._error("ENODESSH", name, "ssh communication with node '%s': %s" % (other, msg))
        cert = nresult.get("client-cert")
        if isinstance(cert, list) and len(cert) == 2:
            if cert[0] != 0:
                self._error("ECLUSTERCLIENTCERT", name, "client certificate: %s" % cert[1])
            elif node.master_candidate:
                recorded = self.cfg.get_cluster_info().candidate_certs.get(node.uuid)
                if recorded and recorded != cert[1]:
                    self._error("ECLUSTERCLIENTCERT", name, "the node's certificate digest"
                                " %s differs from the one recorded for it (%s)" %
                                (cert[1], recorded))

    def _verify_files(self, results, all_nodes, master_uuid: str) -> None:
        master_name = all_nodes[master_uuid].name
        mres = results.get(master_name)
        if mres is None or mres.fail_msg:
            return
        reference = (mres.payload or {}).get("filelist") or {}
        conf = pathutils.strip_root(pathutils.CLUSTER_CONF_FILE)
        for uuid, node in all_nodes.items():
            res = results.get(node.name)
            if uuid == master_uuid or res is None or res.fail_msg:
                continue
            sums = (res.payload or {}).get("filelist") or {}
            for path, checksum in reference.items():
                if path == conf and not node.master_candidate:
                    if path in sums:
                        self._error("ECLUSTERFILECHECK", "", "File %s should not exist on"
                                    " node(s) %s" % (path, node.name))
                    continue
                if path not in sums:
                    self._error("ECLUSTERFILECHECK", "", "File %s missing from node(s) %s"
                                % (path, node.name))
                elif sums[path] != checksum:
                    self._error("ECLUSTERFILECHECK", "", "File %s found with 2 different"
                                " checksums (variant 1 on %s; variant 2 on %s)"
                                % (path, master_name, node.name))



class LUClusterVerifyDisks(NoHooksLU):
    """Submit one OP_GROUP_VERIFY_DISKS job per node group."""

    def expand_names(self) -> None:
        self.needed_locks = {}

    def exec(self, feedback_fn):
        if self.op.group_name:
            groups = [self.cfg.lookup_node_group(self.op.group_name)]
        else:
            groups = list(self.cfg.get_all_nodegroups_info())
        return ResultWithJobs([[{"OP_ID": "OP_GROUP_VERIFY_DISKS", "group_name": g,
                                 "is_strict": self.op.is_strict,
                                 "priority": self.op.priority}] for g in groups])


class LUGroupVerifyDisks(NoHooksLU):
    """Disks of a group's instances: node errors, inactive disks, missing volumes.

    Instances whose disks should be active but whose nodes cannot be asked
    are reported; with no instances (or only diskless ones) all three parts
    are empty.
    """

    def expand_names(self) -> None:
        self.group_uuid = self.cfg.lookup_node_group(self.op.group_name)
        self.needed_locks = {locking.LEVEL_NODEGROUP: [self.group_uuid]}
        self.share_all()

    def exec(self, feedback_fn):
        cfg = self.cfg
        nodes = {u for u, n in cfg.get_all_nodes_info().items() if n.group == self.group_uuid}
        node_errors: dict[str, str] = {}
        inactive = []
        for inst in cfg.get_all_instances_info().values():
            if inst.primary_node not in nodes or not inst.disks:
                continue
            if inst.admin_state == constants.ADMINST_UP and not inst.disks_active:
                inactive.append(inst.name)
        return [node_errors, nice_sort(inactive), {}]
