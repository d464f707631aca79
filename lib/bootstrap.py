"""Cluster creation and destruction on the (future) master node.

``gnt-cluster init`` runs this locally: it checks names and addresses,
creates the cryptographic material, writes the first config.data and
ssconf files, starts the node and master daemons and runs the
post-init opcode through the normal job path.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import time
from typing import Callable

from ganeti import constants, errors, netutils, objects, pathutils, serializer
from ganeti.utils import io

Feedback = Callable[[str], None]

_DIRS = [
    (pathutils.DATA_DIR, 0o755), (pathutils.QUEUE_DIR, 0o700),
    (pathutils.JOB_QUEUE_ARCHIVE_DIR, 0o700), (pathutils.RUN_DIR, 0o775),
    (pathutils.SOCKET_DIR, 0o750), (pathutils.LOG_DIR, 0o750), (pathutils.LOCK_DIR, 0o755),
    (pathutils.CONF_DIR, 0o755), (os.path.dirname(pathutils.RAPI_USERS_FILE), 0o750),
    (pathutils.LOG_OS_DIR, 0o750),
]

_SIMPLE_KEYS = (
    "candidate_pool_size", "mac_prefix", "master_netdev", "master_netmask",
    "file_storage_dir", "shared_file_storage_dir", "gluster_storage_dir",
    "modify_etc_hosts", "maintain_node_health", "uid_pool", "default_iallocator",
    "default_iallocator_params", "prealloc_wipe_disks", "use_external_mip_script",
    "volume_group_name", "drbd_usermode_helper", "install_image", "zeroing_image",
    "compression_tools", "enabled_user_shutdown", "ssh_key_type", "ssh_key_bits",
    "hv_state_static", "disk_state_static", "reserved_lvs", "max_running_jobs",
    "max_tracked_jobs", "modify_ssh_setup",
)


def master_ip_params(cfg) -> list:
    """RPC arguments for node_(de)activate_master_ip from the configuration."""
    cluster = cfg.get_cluster_info()
    return [{"uuid": cluster.master_node, "ip": cluster.master_ip,
             "netmask": cluster.master_netmask, "netdev": cluster.master_netdev,
             "ip_family": cluster.primary_ip_family}, bool(cluster.use_external_mip_script)]


def _master_ip(action: str, cfg, node_name: str, node_ip: str,
               feedback: Feedback) -> None:
    from ganeti.rpc.client import RpcClient
    res = RpcClient().call("node_%s_master_ip" % action, [(node_name, node_ip, False)],
                           master_ip_params(cfg))[node_name]
    if res.fail_msg:
        feedback("Warning: could not %s the master IP on %s: %s" % (
            action, node_name, res.fail_msg))


def daemon_util(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([pathutils.DAEMON_UTIL, *args], capture_output=True, text=True,
                          check=False)


def _check_not_initialized() -> None:
    if os.path.exists(pathutils.CLUSTER_CONF_FILE) or \
            os.path.exists(pathutils.ssconf_file("master_node")):
        raise errors.OpPrereqError("Cluster is already initialised", errors.ECODE_STATE)


def _check_params(params: dict) -> None:
    from ganeti.cmdlib import common
    hvs = params.get("enabled_hypervisors") or []
    for hv in hvs:
        if hv not in constants.HYPER_TYPES:
            raise errors.OpPrereqError("Invalid hypervisor '%s' (valid: %s)" % (
                hv, ", ".join(sorted(constants.HYPER_TYPES))), errors.ECODE_INVAL)
    for hv, hvp in (params.get("hvparams") or {}).items():
        common.check_hv_params(hv, hvp)
    for tmpl in params.get("enabled_disk_templates") or []:
        if tmpl not in constants.DISK_TEMPLATES:
            raise errors.OpPrereqError("Invalid disk template '%s' (valid: %s)" % (
                tmpl, ", ".join(constants.DISK_TEMPLATES)), errors.ECODE_INVAL)
    if "mac_prefix" in params:
        common.check_mac_prefix(params["mac_prefix"])
    for name, table in (("beparams", constants.BEC_DEFAULTS),
                        ("nicparams", constants.NICC_DEFAULTS),
                        ("ndparams", constants.NDC_DEFAULTS)):
        if params.get(name):
            common.check_param_keys(name, params[name], table)
    if params.get("ipolicy"):
        common.check_ipolicy(params["ipolicy"])
    pool = params.get("candidate_pool_size")
    if pool is not None and pool < 1:
        raise errors.OpPrereqError("At least one master candidate needed", errors.ECODE_INVAL)


def _write_crypto(feedback: Feedback, cluster_name: str) -> None:
    from ganeti import crypto
    crypto.write_cluster_cert(pathutils.NODED_CERT_FILE, cluster_name)
    crypto.write_cluster_cert(pathutils.RAPI_CERT_FILE, cluster_name)
    io.write_file_atomic(pathutils.CONFD_HMAC_KEY, crypto.generate_secret(32), mode=0o400)
    io.write_file_atomic(pathutils.CLUSTER_DOMAIN_SECRET_FILE, crypto.generate_secret(32),
                         mode=0o400)
    if not os.path.exists(pathutils.SSH_KNOWN_HOSTS_FILE):
        io.write_file_atomic(pathutils.SSH_KNOWN_HOSTS_FILE, b"", mode=0o644)
    if not os.path.exists(pathutils.RAPI_USERS_FILE):
        io.write_file_atomic(pathutils.RAPI_USERS_FILE,
                             b"# RAPI users: NAME PASSWORD [write]\n", mode=0o640)


def build_config(cluster_name: str, cluster_ip: str, node_name: str, node_ip: str,
                 params: dict) -> objects.ConfigData:
    """The first configuration: cluster, one group, the master node."""
    now = time.time()
    group = objects.NodeGroup(name="default", members=[], ndparams={},
                              alloc_policy="preferred", ipolicy={}, diskparams={},
                              networks={})
    objects.stamp_new(group)
    group.ctime = 0
    node = objects.Node(name=node_name, primary_ip=node_ip,
                        secondary_ip=params.get("secondary_ip") or node_ip,
                        master_candidate=True, offline=False, drained=False,
                        group=group.uuid, master_capable=True, vm_capable=True,
                        ndparams={}, powered=True)
    objects.stamp_new(node)
    hvs = params.get("enabled_hypervisors") or [constants.HT_XEN_PVM]
    hvparams = copy.deepcopy(constants.HVC_DEFAULTS)
    for hv, hvp in (params.get("hvparams") or {}).items():
        hvparams.setdefault(hv, {}).update(hvp)
    beparams = dict(constants.BEC_DEFAULTS)
    from ganeti.cmdlib import common
    beparams.update(common.upgrade_beparams(params.get("beparams") or {}))
    nicparams = dict(constants.NICC_DEFAULTS)
    nicparams.update(params.get("nicparams") or {})
    ndparams = dict(constants.NDC_DEFAULTS)
    ndparams.update(params.get("ndparams") or {})
    diskparams = copy.deepcopy(constants.DISK_DT_DEFAULTS)
    for tmpl, dp in (params.get("diskparams") or {}).items():
        diskparams.setdefault(tmpl, {}).update(dp)
    templates = params.get("enabled_disk_templates") or list(
        constants.DEFAULT_ENABLED_DISK_TEMPLATES)
    ipolicy = copy.deepcopy(constants.IPOLICY_DEFAULTS)
    ipolicy["disk-templates"] = list(templates)
    ipolicy.update(copy.deepcopy(params.get("ipolicy") or {}))
    cluster = objects.Cluster(
        cluster_name=cluster_name, master_node=node.uuid, master_ip=cluster_ip,
        master_netdev=params.get("master_netdev") or "xen-br0",
        master_netmask=params.get("master_netmask") or 32,
        enabled_hypervisors=hvs, hvparams=hvparams, os_hvp={}, beparams={"default": beparams},
        osparams={}, osparams_private_cluster={}, nicparams={"default": nicparams},
        ndparams=ndparams, diskparams=diskparams, ipolicy=ipolicy,
        enabled_disk_templates=templates, mac_prefix=constants.DEFAULT_MAC_PREFIX,
        file_storage_dir=pathutils.DEFAULT_FILE_STORAGE_DIR,
        shared_file_storage_dir=pathutils.DEFAULT_SHARED_FILE_STORAGE_DIR,
        gluster_storage_dir=pathutils.DEFAULT_GLUSTER_STORAGE_DIR,
        highest_used_port=11000, tcpudp_port_pool=[], rsahostkeypub="", dsahostkeypub="",
        default_iallocator="", data_collectors=copy.deepcopy(constants.DATA_COLLECTOR_DEFAULTS),
        compression_tools=list(constants.DEFAULT_COMPRESSION_TOOLS), install_image="",
        instance_communication_network="", zeroing_image="",
        primary_ip_family=constants.IP4_FAMILY, modify_etc_hosts=True,
    )
    if params.get("primary_ip_version") == 6:
        cluster.primary_ip_family = constants.IP6_FAMILY
    for key in _SIMPLE_KEYS:
        if params.get(key) is not None:
            setattr(cluster, key, copy.deepcopy(params[key]))
    if params.get("no_etc_hosts"):
        cluster.modify_etc_hosts = False
    if params.get("no_ssh_init"):
        cluster.modify_ssh_setup = False
    objects.stamp_new(cluster)
    cluster.upgrade()
    from ganeti import crypto
    cluster.candidate_certs = {node.uuid: crypto.cert_digest(pathutils.NODED_CERT_FILE)}
    data = objects.ConfigData(version=constants.CONFIG_VERSION, cluster=cluster,
                              nodes={node.uuid: node}, nodegroups={group.uuid: group},
                              instances={}, networks={}, disks={}, filters={},
                              ctime=now, mtime=now, serial_no=1)
    return data


def init_cluster(cluster_name: str, params: dict, feedback: Feedback = print) -> None:
    """Create a one-node cluster with this node as master."""
    _check_not_initialized()
    _check_params(params)
    me = netutils.my_hostname()
    try:
        host = netutils.resolve_hostname(me)
    except errors.ResolverError as err:
        raise errors.OpPrereqError("Cannot resolve this host's name %s: %s" % (me, err.args[-1]),
                                   errors.ECODE_RESOLVER)
    if netutils.is_loopback(host.ip) and not pathutils.VIRT_CLUSTER:
        raise errors.OpPrereqError("This host's IP (%s) resolves to a loopback address."
                                   " Please fix DNS or /etc/hosts." % host.ip,
                                   errors.ECODE_ENVIRON)
    try:
        chost = netutils.resolve_hostname(cluster_name)
    except errors.ResolverError as err:
        raise errors.OpPrereqError("Cannot resolve cluster name %s: %s" % (
            cluster_name, err.args[-1]), errors.ECODE_RESOLVER)
    if netutils.is_loopback(chost.ip) and not pathutils.VIRT_CLUSTER:
        raise errors.OpPrereqError("Cluster IP %s is a loopback address" % chost.ip,
                                   errors.ECODE_ENVIRON)
    # on loopback every address answers (refuses): only a listening noded counts there
    if netutils.tcp_ping(chost.ip, constants.DEFAULT_NODED_PORT, timeout=1.0,
                         live_port_needed=netutils.is_loopback(chost.ip)):
        raise errors.OpPrereqError("Cluster IP already active", errors.ECODE_NOTUNIQUE)
    sip = params.get("secondary_ip")
    if sip and not netutils.is_valid_ip(sip):
        raise errors.OpPrereqError("Invalid secondary ip given", errors.ECODE_INVAL)
    for key in ("file_storage_dir", "shared_file_storage_dir"):
        path = params.get(key)
        if path is not None and not os.path.isabs(path):
            raise errors.OpPrereqError("The %s path must be absolute: %s" % (key, path),
                                       errors.ECODE_INVAL)

    io.ensure_dirs(_DIRS)
    for key, default in (("file_storage_dir", pathutils.DEFAULT_FILE_STORAGE_DIR),
                         ("shared_file_storage_dir", pathutils.DEFAULT_SHARED_FILE_STORAGE_DIR)):
        path = params.get(key) or pathutils.add_root(default)
        os.makedirs(pathutils.add_root(path), mode=0o750, exist_ok=True)
    _write_crypto(feedback, chost.name)
    from ganeti import ssh
    ssh.ensure_cluster_key()
    data = build_config(chost.name, chost.ip, host.name, host.ip, params)
    io.write_file_atomic(pathutils.CLUSTER_CONF_FILE, serializer.dump_json(data.to_dict()),
                         mode=0o640)
    from ganeti import config, ssconf
    cfg = config.ConfigWriter()
    ssconf.write_ssconf_files(cfg.get_ssconf_values())
    _start_daemons(feedback)
    _master_ip("activate", cfg, host.name, host.ip, feedback)
    _post_init(feedback)


def _start_daemons(feedback: Feedback) -> None:
    for daemon in (constants.NODED, constants.MASTERD):
        res = daemon_util("start", daemon)
        if res.returncode != 0:
            raise errors.OpExecError("Could not start %s: %s" % (
                daemon, (res.stderr or res.stdout).strip()))
    _wait_for_socket(pathutils.MASTER_SOCKET, 30)
    # the remote API is not needed to finish the init: a failure is only reported
    res = daemon_util("start", constants.RAPI)
    if res.returncode != 0:
        feedback("Warning: could not start %s: %s" % (constants.RAPI,
                                                      (res.stderr or res.stdout).strip()))


def _wait_for_socket(path: str, timeout: float) -> None:
    from ganeti import luxi
    deadline = time.time() + timeout
    while True:
        try:
            luxi.Client(path).call("QueryConfigValues", ["master_node"])
            return
        except errors.NoMasterError:
            if time.time() > deadline:
                raise errors.OpExecError("Master daemon did not come up within %d seconds"
                                         % timeout)
            time.sleep(0.05)


def _post_init(feedback: Feedback) -> None:
    from ganeti import luxi
    client = luxi.Client(pathutils.MASTER_SOCKET)
    job_id = client.submit_job([{"OP_ID": "OP_CLUSTER_POST_INIT"}])
    deadline = time.time() + 60
    while time.time() < deadline:
        rows = client.query_jobs([job_id], ["status", "opresult"])
        status, result = rows[0]
        if status in constants.JOBS_FINALIZED:
            if status != constants.JOB_STATUS_SUCCESS:
                raise errors.OpExecError("Post-initialisation job failed: %s" % (result,))
            return
        client.wait_for_job_change_once(job_id, ["status"], [status], None, 5)
    raise errors.OpExecError("Post-initialisation job did not finish")


def finalize_cluster_destroy(feedback: Feedback = print) -> None:
    """Stop daemons and remove the cluster's files on this (master) node."""
    from ganeti import config
    try:
        cfg = config.ConfigWriter()
        me = cfg.get_master_node_info()
        _master_ip("deactivate", cfg, me.name, me.primary_ip, feedback)
    except errors.GenericError as err:
        feedback("Warning: could not take down the master IP: %s" % err)
    for daemon in (constants.RAPI, constants.MASTERD):
        daemon_util("stop", daemon)
    for path in (pathutils.CLUSTER_CONF_FILE, pathutils.RAPI_CERT_FILE,
                 pathutils.CONFD_HMAC_KEY, pathutils.CLUSTER_DOMAIN_SECRET_FILE,
                 pathutils.SSH_KNOWN_HOSTS_FILE, pathutils.WATCHER_PAUSEFILE):
        io.remove_file(path)
    for name in os.listdir(pathutils.DATA_DIR):
        if name.startswith(pathutils.SSCONF_PREFIX):
            io.remove_file(os.path.join(pathutils.DATA_DIR, name))
    shutil.rmtree(pathutils.QUEUE_DIR, ignore_errors=True)
    daemon_util("stop", constants.NODED)
    io.remove_file(pathutils.NODED_CERT_FILE)


def master_failover(no_voting: bool = False, feedback: Feedback = print) -> None:
    """Make this node (a master candidate) the master; run on the new master.

    The old master's daemons are stopped if it answers; every node learns
    the new master through ssconf. With voting, a majority of the nodes
    must answer, so that a partitioned minority cannot elect itself.
    """
    from ganeti import config, ssconf
    from ganeti.rpc.client import RpcClient
    me = netutils.my_hostname()
    try:
        cfg = config.ConfigWriter()
    except errors.ConfigurationError as err:
        raise errors.OpPrereqError("This node does not have a copy of the configuration"
                                   " (not a master candidate?): %s" % err, errors.ECODE_STATE)
    node = cfg.get_node_info_by_name(me)
    if node is None:
        raise errors.OpPrereqError("This node (%s) is not part of the cluster" % me,
                                   errors.ECODE_STATE)
    if not node.master_candidate:
        raise errors.OpPrereqError("This is not a master candidate node; only master"
                                   " candidates can become master (candidates: %s)" %
                                   ", ".join(sorted(n.name for n in cfg.get_master_candidates())),
                                   errors.ECODE_STATE)
    old_uuid = cfg.get_master_node()
    if old_uuid == node.uuid:
        raise errors.OpPrereqError("This node is already the master", errors.ECODE_STATE)
    old = cfg.get_node_info(old_uuid)
    rpc = RpcClient()
    targets = [(n.name, n.primary_ip, bool(n.offline)) for n in cfg.data.nodes.values()]
    if not no_voting:
        answers = rpc.call("master_node_name", targets, [])
        alive = sum(1 for r in answers.values() if not r.fail_msg)
        if alive * 2 <= len(targets):
            raise errors.OpPrereqError(
                "Only %d of %d nodes answered; refusing a master failover without a"
                " healthy majority (use --no-voting to override)" % (alive, len(targets)),
                errors.ECODE_STATE)
    _master_ip("deactivate", cfg, old.name, old.primary_ip, feedback)
    feedback("Stopping the master daemons on %s" % old.name)
    res = rpc.call("node_stop_master", [(old.name, old.primary_ip, bool(old.offline))], [])
    if res[old.name].fail_msg:
        feedback("Warning: could not stop the master daemons on %s: %s (continuing)" %
                 (old.name, res[old.name].fail_msg))
    cfg = config.ConfigWriter(rpc=lambda proc, nodes, args: rpc.call(proc, nodes, args))
    with cfg.lock:
        cluster = cfg.get_cluster_info()
        cluster.master_node = node.uuid
        objects.touch(cluster)
        cfg.write()
    ssconf.write_ssconf_files(cfg.get_ssconf_values())
    _master_ip("activate", cfg, me, node.primary_ip, feedback)
    feedback("Starting the master daemons on %s" % me)
    args = ["start", constants.MASTERD] + (["--no-voting", "--yes-do-it"] if no_voting else [])
    res_start = daemon_util(*args)
    if res_start.returncode != 0:
        raise errors.OpExecError("Could not start the master daemon: %s" % (
            res_start.stderr or res_start.stdout).strip())
    daemon_util("start", constants.RAPI)
    _wait_for_socket(pathutils.MASTER_SOCKET, 30)
