"""Helpers shared by logical units (pure checks and small config edits)."""

from __future__ import annotations

import copy
import re
import time

from ganeti import constants, errors, pathutils

_MAC_PREFIX_RE = re.compile(r"^[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$", re.I)

_IPOLICY_SPEC_KEYS = ("memory-size", "cpu-count", "disk-count", "disk-size", "nic-count",
                      "spindle-use")
_IPOLICY_KEYS = ("minmax", "std", "disk-templates", "vcpu-ratio", "spindle-ratio")


def check_mac_prefix(prefix: str) -> None:
    if not _MAC_PREFIX_RE.match(prefix):
        raise errors.OpPrereqError("Invalid MAC address prefix '%s'" % prefix,
                                   errors.ECODE_INVAL)


def disk_templates_in_use(cfg) -> set[str]:
    data = cfg.data
    used = set()
    for inst in list(data.instances.values()):
        if not inst.disks:
            used.add(constants.DT_DISKLESS)
        for disk_uuid in inst.disks:
            disk = data.disks.get(disk_uuid)
            if disk is not None:
                used.add(disk.dev_type)
    return used


#: longest string value any parameter may have (a kernel command line is 2 KiB)
MAX_PARAM_LENGTH = 4096


def check_param_keys(what: str, params: dict, defaults: dict) -> None:
    """Reject parameter names that the set does not have."""
    unknown = sorted(k for k in params if k not in defaults)
    if unknown:
        raise errors.OpPrereqError("Unknown parameter(s) in %s: %s" % (what, ", ".join(unknown)),
                                   errors.ECODE_INVAL)
    for key, value in params.items():
        default = defaults[key]
        if value is None or value == constants.VALUE_DEFAULT:
            continue
        if isinstance(value, str) and len(value) > MAX_PARAM_LENGTH:
            raise errors.OpPrereqError("Value of parameter '%s' of %s is too long (%d characters,"
                                       " at most %d)" % (key, what, len(value),
                                                         MAX_PARAM_LENGTH), errors.ECODE_INVAL)
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise errors.OpPrereqError("Parameter '%s' of %s must be a boolean, got %r" %
                                           (key, what, value), errors.ECODE_INVAL)
        elif isinstance(default, int) and not isinstance(default, bool):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise errors.OpPrereqError("Parameter '%s' of %s must be a number, got %r" %
                                           (key, what, value), errors.ECODE_INVAL)


def check_hv_params(hv: str, params: dict) -> None:
    if hv not in constants.HYPER_TYPES:
        raise errors.OpPrereqError("Unknown hypervisor '%s'" % hv, errors.ECODE_INVAL)
    check_param_keys("hypervisor parameters of %s" % hv, params,
                     constants.HVC_DEFAULTS.get(hv, {}))


def upgrade_beparams(params: dict) -> dict:
    """Accept the old 'memory' backend parameter as minmem and maxmem."""
    out = dict(params)
    if "memory" in out:
        mem = out.pop("memory")
        out.setdefault("minmem", mem)
        out.setdefault("maxmem", mem)
    return out


def update_params(current: dict, changes: dict) -> dict:
    """Apply changes; the value 'default' (or None) removes an override."""
    out = copy.deepcopy(current)
    for key, value in changes.items():
        if value is None or value == constants.VALUE_DEFAULT:
            out.pop(key, None)
        else:
            out[key] = copy.deepcopy(value)
    return out


def check_ipolicy(ipolicy: dict) -> None:
    unknown = sorted(k for k in ipolicy if k not in _IPOLICY_KEYS)
    if unknown:
        raise errors.OpPrereqError("Invalid keys in ipolicy: %s" % ", ".join(unknown),
                                   errors.ECODE_INVAL)
    for spec in [ipolicy.get("std") or {}] + [
            s for mm in ipolicy.get("minmax") or [] for s in (mm.get("min", {}), mm.get("max", {}))]:
        bad = sorted(k for k in spec if k not in _IPOLICY_SPEC_KEYS)
        if bad:
            raise errors.OpPrereqError("Invalid keys in ipolicy specs: %s" % ", ".join(bad),
                                       errors.ECODE_INVAL)
    for mm in ipolicy.get("minmax") or []:
        lo, hi = mm.get("min", {}), mm.get("max", {})
        for key in _IPOLICY_SPEC_KEYS:
            if key in lo and key in hi and lo[key] > hi[key]:
                raise errors.OpPrereqError("Invalid instance policy: %s min %s > max %s" %
                                           (key, lo[key], hi[key]), errors.ECODE_INVAL)
    templates = ipolicy.get("disk-templates")
    for tmpl in templates if isinstance(templates, list) else []:
        if tmpl not in constants.DISK_TEMPLATES:
            raise errors.OpPrereqError("Invalid disk template '%s' in ipolicy" % tmpl,
                                       errors.ECODE_INVAL)


def update_ipolicy(current: dict, changes: dict) -> dict:
    return update_params(current, changes)


def adjust_candidate_pool(lu) -> None:
    """Promote master-capable nodes until the pool is full."""
    cfg = lu.cfg
    with cfg.lock:
        cluster = cfg.get_cluster_info()
        nodes = cfg.data.nodes.values()
        current = [n for n in nodes if n.master_candidate]
        wanted = cluster.candidate_pool_size
        promoted = []
        for node in sorted(nodes, key=lambda n: n.name):
            if len(current) + len(promoted) >= wanted:
                break
            if node.master_candidate or node.offline or node.drained or not node.master_capable:
                continue
            node.master_candidate = True
            node.serial_no += 1
            node.mtime = time.time()
            promoted.append(node.name)
        if promoted:
            lu.log_info("Promoted nodes to master candidate role: %s" % ", ".join(promoted))
            cfg.write()


# Files every node gets from the master (cluster-wide paths, without vcluster root)
ANCILLARY_FILES = (
    pathutils.NODED_CERT_FILE, pathutils.RAPI_CERT_FILE, pathutils.CONFD_HMAC_KEY,
    pathutils.CLUSTER_DOMAIN_SECRET_FILE, pathutils.SSH_KNOWN_HOSTS_FILE,
    pathutils.RAPI_USERS_FILE, pathutils.FILE_STORAGE_PATHS_FILE,
)


def redist_ancillary_files(lu) -> None:
    """Upload the cluster-wide files to every other online node."""
    import os
    from ganeti.rpc import client as rpc_client
    cfg = lu.cfg
    master = cfg.get_master_node()
    targets = [cfg.node_target(u) for u, n in cfg.data.nodes.items()
               if u != master and not n.offline]
    if not targets:
        return
    for path in ANCILLARY_FILES:
        if not os.path.exists(path):
            continue
        with open(path, "rb") as fh:
            data = fh.read()
        st = os.stat(path)
        args = [pathutils.strip_root(path), rpc_client.encode_file(data), st.st_mode & 0o777,
                None, None, st.st_atime, st.st_mtime]
        results = lu.rpc.call("upload_file", targets, args)
        for name, res in results.items():
            if res.fail_msg:
                lu.log_warning("Copy of file %s to node %s failed: %s" %
                               (pathutils.strip_root(path), name, res.fail_msg))


def copy_queue_to_node(lu, node_uuid: str) -> None:
    """Give a new master candidate the whole job queue (it may become master)."""
    import os
    from ganeti.rpc import client as rpc_client
    target = [lu.cfg.node_target(node_uuid)]
    names = sorted(n for n in os.listdir(pathutils.QUEUE_DIR)
                   if n.startswith("job-") or n in ("serial", "version", "drain"))
    failed = 0
    for name in names:
        path = os.path.join(pathutils.QUEUE_DIR, name)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            continue  # archived or gone meanwhile
        res = lu.rpc.call("jobqueue_update", target,
                          [pathutils.strip_root(path), rpc_client.encode_file(data)])
        if any(r.fail_msg for r in res.values()):
            failed += 1
    if failed:
        lu.log_warning("Copying %d job queue file(s) to the new master candidate failed",
                       failed)
