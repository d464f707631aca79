"""ganeti-watcher: keep a cluster in the state its configuration asks for.

Run from cron every few minutes on every node. Each run is short and
stateless apart from the per-group state file (``state.py``):

1. stop at once while the watcher is paused (``gnt-cluster watcher pause``),
2. take the watcher lock *shared* (several runs may overlap; maintenance
   tools take it exclusively to keep the watcher out),
3. on every node: start the node daemon if it died, run the site hooks,
4. on the master only: start the master daemons, archive old jobs and
   start one child per node group (``--node-group UUID``) that restarts
   instances which should run but don't, cleans up instances shut down
   from inside, re-activates disks after a secondary node rebooted and
   runs verify-disks.

One child per group keeps a slow or stuck group (e.g. an unreachable
node, long lock waits) from delaying the others, as upstream does.
Exit codes: 0 ok (also paused or locked), 1 error, 11 not the master,
12 name resolution failed.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import optparse
import os
import re
import subprocess
import sys
import time
from typing import Any

from ganeti import constants, errors, pathutils
from ganeti.watcher.state import MAXTRIES, StateFileError, WatcherState

#: Pause files this old (seconds past their end) are removed.
PAUSE_STALE_AFTER = 3600
DEFAULT_JOB_AGE = 6 * 3600
#: Seconds between starting two group children, to spread the load on masterd.
CHILD_DELAY = 1.0
#: Seconds to wait for a just-started master daemon to answer on its socket.
MASTER_CONNECT_TIMEOUT = 20.0
REASON_SOURCE = "gnt:watcher"

BAD_STATES = frozenset([constants.INSTST_ERRORDOWN])
#: Nothing the watcher could do helps these (the node is the problem).
HELPLESS_STATES = frozenset([constants.INSTST_NODEDOWN, constants.INSTST_NODEOFFLINE])

NODE_FIELDS = ["name", "bootid", "offline", "group.uuid"]
INSTANCE_FIELDS = ["name", "status", "admin_state", "admin_state_source", "disks_active",
                   "snodes", "pnode", "disk_template"]
_GROUP_UUID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
# The group child is started with the interpreter running this watcher, so a
# source tree and an installed copy both work without knowing the script path.
_CHILD_CODE = "import sys; from ganeti.watcher import main; sys.exit(main())"


class NotMasterError(Exception):
    """This node is not (or cannot act as) the master."""


# -- options -----------------------------------------------------------------------
def _check_timespec(option: optparse.Option, opt: str, value: str) -> int:
    from ganeti.cli.kvparse import parse_timespec
    try:
        return parse_timespec(value)
    except errors.OpPrereqError as err:
        raise optparse.OptionValueError("option %s: %s" % (opt, err.args[0]))


class _Option(optparse.Option):
    TYPES = optparse.Option.TYPES + ("timespec",)
    TYPE_CHECKER = dict(optparse.Option.TYPE_CHECKER, timespec=_check_timespec)


def build_parser() -> optparse.OptionParser:
    parser = optparse.OptionParser(
        prog="ganeti-watcher", option_class=_Option,
        usage="%prog [-d] [-A TIMESPEC] [--ignore-pause] [--no-verify-disks]",
        description="Restarts failed instances and keeps the cluster's daemons running;"
                    " meant to run from cron every five minutes.")
    parser.add_option("-d", "--debug", action="store_true", default=False,
                      help="Log debug messages, and log to stderr too")
    parser.add_option("-A", "--job-age", type="timespec", default=DEFAULT_JOB_AGE,
                      metavar="TIMESPEC",
                      help="Archive finished jobs older than this (e.g. 1d, 6h, 30m,"
                           " 3600; default 6h)")
    parser.add_option("--ignore-pause", action="store_true", default=False,
                      help="Run even if the watcher is paused")
    parser.add_option("--rapi-ip", default=None, metavar="IP",
                      help="Address to check the RAPI daemon on (default: the master's"
                      " primary address)")
    parser.add_option("--no-verify-disks", action="store_true", default=False,
                      help="Do not verify the disks of the node groups")
    parser.add_option("--no-strict", dest="strict", action="store_false", default=True,
                      help="Let verify-disks skip locked nodes instead of waiting")
    parser.add_option("--wait-children", dest="wait_children", action="store_true",
                      default=True, help="Wait for the group children (default)")
    parser.add_option("--no-wait-children", dest="wait_children", action="store_false",
                      help="Do not wait for the group children")
    parser.add_option("-g", "--node-group", default=None, metavar="UUID",
                      help=optparse.SUPPRESS_HELP)
    return parser


def parse_options(argv: list[str] | None = None) -> optparse.Values:
    parser = build_parser()
    opts, args = parser.parse_args(argv)
    if args:
        parser.error("no arguments expected")
    if opts.node_group is not None and not _GROUP_UUID_RE.match(opts.node_group):
        parser.error("invalid node group UUID %r" % opts.node_group)
    return opts


# -- logging ------------------------------------------------------------------------
def setup_logging(debug: bool, child: bool = False) -> None:
    """Log to watcher.log; -d adds stderr so that a run by hand shows what happens."""
    name = "ganeti-watcher" + ("(child)" if child else "")
    fmt = logging.Formatter("%%(asctime)s: %s pid=%%(process)d %%(levelname)s"
                            " %%(message)s" % name)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    try:
        os.makedirs(os.path.dirname(pathutils.LOG_WATCHER), mode=0o750, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(pathutils.LOG_WATCHER,
                                                       encoding="utf-8")
    except OSError as err:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(fmt)
        root.addHandler(handler)
        logging.warning("Can't open %s (%s), logging to stderr", pathutils.LOG_WATCHER, err)
        return
    handler.setFormatter(fmt)
    root.addHandler(handler)
    if debug:
        err_handler = logging.StreamHandler(sys.stderr)
        err_handler.setFormatter(fmt)
        root.addHandler(err_handler)


# -- pause --------------------------------------------------------------------------
def read_pause(path: str | None = None, now: float | None = None) -> int | None:
    """Epoch the watcher is paused until, or None; cleans up stale or bad pause files.

    A pause that ended more than an hour ago, or a file that is not an
    integer, is removed so that ``gnt-cluster watcher info`` stops showing it.
    """
    path = path or pathutils.WATCHER_PAUSEFILE
    now = time.time() if now is None else now
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            text = fh.read().strip()
    except FileNotFoundError:
        return None
    except OSError as err:
        logging.warning("Can't read watcher pause file %s: %s", path, err)
        return None
    try:
        until = int(text)
    except ValueError:
        logging.warning("Removing watcher pause file %s with invalid content %r", path, text)
        _remove(path)
        return None
    if until < now - PAUSE_STALE_AFTER:
        logging.info("Removing stale watcher pause file %s (ended %s)", path, time.ctime(until))
        _remove(path)
        return None
    return until


def paused_until(now: float | None = None, path: str | None = None) -> int | None:
    """The pause's end if the watcher is paused right now."""
    now = time.time() if now is None else now
    until = read_pause(path, now)
    return until if until is not None and until > now else None


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        logging.warning("Can't remove %s: %s", path, err)


# -- watcher lock -------------------------------------------------------------------
def lock_shared(path: str | None = None) -> int | None:
    """Hold the watcher lock shared; None if someone holds it exclusively."""
    path = path or pathutils.WATCHER_LOCK_FILE
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as err:
        os.close(fd)
        if err.errno in (errno.EAGAIN, errno.EACCES):
            return None
        raise
    return fd


# -- master side --------------------------------------------------------------------
def _rows(result: dict) -> list[list[Any]]:
    """Plain values of a query2 result (anything not "normal" becomes None)."""
    out = []
    for row in result.get("data") or []:
        out.append([value if status == constants.RS_NORMAL else None
                    for status, value in row])
    return out


def connect_master(my_name: str):
    """A LUXI client to our own masterd, starting it when ssconf says we're master.

    Raises NotMasterError when another node is master or masterd stays
    unreachable: in both cases this node has no cluster-wide work to do.
    """
    from ganeti import luxi, ssconf
    from ganeti.watcher import nodemaint
    try:
        ss_master = ssconf.SimpleStore().get_master_node()
    except errors.ConfigurationError as err:
        raise NotMasterError("can't read the master's name from ssconf: %s" % err)
    if ss_master != my_name:
        raise NotMasterError("the master is %s" % ss_master)
    nodemaint.ensure_master_daemons()
    deadline = time.monotonic() + MASTER_CONNECT_TIMEOUT
    while True:
        client = luxi.Client(pathutils.MASTER_SOCKET)
        try:
            master = client.query_config_values(["master_node"])[0]
            break
        except (errors.NoMasterError, errors.ConnectionClosedError) as err:
            client.close()
            if time.monotonic() >= deadline:
                raise NotMasterError("the master daemon does not answer: %s" % err)
            time.sleep(0.5)
    if master != my_name:
        client.close()
        raise NotMasterError("the configuration names %s as master" % master)
    return client


def master_address(client, my_name: str) -> str:
    """The master's primary address: where its RAPI listens (bound to it or to all)."""
    try:
        rows = client.query_nodes([my_name], ["pip"], False)
        if rows and rows[0] and rows[0][0]:
            return rows[0][0]
    except errors.GenericError as err:
        logging.warning("Can't read the master's address: %s", err)
    return "127.0.0.1"


def archive_jobs(client, age: int) -> None:
    timeout = (constants.LUXI_DEF_RWTO - 1) / 2
    try:
        archived, left = client.auto_archive_jobs(age, timeout)
    except errors.GenericError as err:
        logging.error("Archiving jobs failed: %s", err)
        return
    logging.debug("Archived %s jobs, left %s", archived, left)


def query_groups(client) -> list[tuple[str, str]]:
    """``(uuid, name)`` of every node group."""
    rows = _rows(client.query(constants.QR_GROUP, ["uuid", "name"], None))
    return sorted((uuid, name) for uuid, name in rows if uuid)


def child_command(opts: optparse.Values, uuid: str) -> list[str]:
    """The command line of the child watching one group (options passed on)."""
    cmd = [sys.executable, "-c", _CHILD_CODE, "--node-group", uuid]
    if opts.debug:
        cmd.append("--debug")
    if opts.no_verify_disks:
        cmd.append("--no-verify-disks")
    if not opts.strict:
        cmd.append("--no-strict")
    return cmd


def start_group_children(opts: optparse.Values, groups: list[tuple[str, str]]) -> dict[str, int]:
    """Start one child per group; wait for them unless --no-wait-children.

    Returns the children's exit codes by group UUID (empty when not waiting).
    A failing child is only logged: the other groups are still worth watching.
    """
    children = []
    for index, (uuid, name) in enumerate(groups):
        if index:
            time.sleep(CHILD_DELAY)
        logging.debug("Starting watcher for node group %s (%s)", name, uuid)
        try:
            proc = subprocess.Popen(child_command(opts, uuid), stdin=subprocess.DEVNULL,
                                    close_fds=True)
        except OSError as err:
            logging.error("Can't start the watcher for node group %s: %s", name, err)
            continue
        children.append((uuid, name, proc))
    codes: dict[str, int] = {}
    if not opts.wait_children:
        return codes
    for uuid, name, proc in children:
        codes[uuid] = proc.wait()
        level = logging.DEBUG if codes[uuid] == 0 else logging.ERROR
        logging.log(level, "Watcher for node group %s (%s) exited with code %s", name, uuid,
                    codes[uuid])
    return codes


def global_main(opts: optparse.Values) -> int:
    from ganeti import ssconf
    from ganeti.watcher import nodemaint
    if not os.path.exists(pathutils.ssconf_file("master_node")):
        # cron runs the watcher on machines that have not joined a cluster yet
        logging.debug("This node is not part of a cluster, nothing to do")
        return constants.EXIT_SUCCESS
    nodemaint.ensure_node_daemons()
    nodemaint.run_hooks()
    try:
        my_name = ssconf.my_hostname()
    except OSError as err:
        logging.error("Can't determine this node's name: %s", err)
        return constants.EXIT_NODESETUP_ERROR
    try:
        client = connect_master(my_name)
    except NotMasterError as err:
        logging.debug("Not on the master node (%s), done", err)
        return constants.EXIT_NOTMASTER
    try:
        nodemaint.check_rapi(opts.rapi_ip or master_address(client, my_name))
        archive_jobs(client, opts.job_age)
        groups = query_groups(client)
    finally:
        client.close()
    start_group_children(opts, groups)
    return constants.EXIT_SUCCESS


# -- group child --------------------------------------------------------------------
class Instance:
    """What the watcher knows of one instance (one row of the instance query)."""

    def __init__(self, name: str, status: str | None, admin_state: str | None,
                 admin_state_source: str | None, disks_active: bool | None,
                 snodes: list[str] | None, pnode: str | None, disk_template: str | None):
        self.name = name
        self.status = status
        self.admin_state = admin_state
        self.admin_state_source = admin_state_source
        self.disks_active = bool(disks_active)
        self.snodes = list(snodes or [])
        self.pnode = pnode
        self.disk_template = disk_template


class Node:
    def __init__(self, name: str, bootid: str | None, offline: bool | None):
        self.name = name
        self.bootid = bootid or None
        self.offline = bool(offline)


def group_data(client, uuid: str) -> tuple[dict[str, Node], dict[str, Instance]]:
    """Nodes of the group and instances whose primary node is in it."""
    node_rows = _rows(client.query(constants.QR_NODE, NODE_FIELDS,
                                   ["==", "group.uuid", uuid]))
    nodes = {row[0]: Node(row[0], row[1], row[2]) for row in node_rows if row[0]}
    inst_rows = _rows(client.query(constants.QR_INSTANCE, INSTANCE_FIELDS,
                                   ["==", "pnode.group.uuid", uuid]))
    instances = {row[0]: Instance(*row) for row in inst_rows if row[0]}
    return nodes, instances


def locked_instances(client) -> set[str]:
    """Instances some job holds a lock on; their state is about to change anyway."""
    try:
        rows = _rows(client.query(constants.QR_LOCK, ["name", "mode"], None))
    except errors.GenericError as err:
        logging.debug("Can't query locks: %s", err)
        return set()
    prefix = "instance/"
    return {name[len(prefix):] for name, mode in rows
            if isinstance(name, str) and name.startswith(prefix) and mode}


def status_file_lines(instances: dict[str, Instance]) -> str:
    return "".join("%s %s\n" % (inst.name, inst.status)
                   for inst in sorted(instances.values(), key=lambda i: i.name))


def write_group_status(uuid: str, instances: dict[str, Instance]) -> None:
    from ganeti.utils import io
    io.write_file_atomic(pathutils.WATCHER_GROUP_INSTANCE_STATUS_FILE % uuid,
                         status_file_lines(instances), mode=0o644)


def merge_instance_status(groups: list[str], target: str | None = None,
                          pattern: str | None = None) -> dict[str, str]:
    """Combine the groups' status files into one node-wide instance-status file.

    An instance that moved between groups may appear in two files; the
    newer file wins. Files of groups that no longer exist are ignored.
    """
    from ganeti.utils import io
    target = target or pathutils.INSTANCE_STATUS_FILE
    pattern = pattern or pathutils.WATCHER_GROUP_INSTANCE_STATUS_FILE
    found: dict[str, tuple[float, str]] = {}
    for uuid in groups:
        path = pattern % uuid
        try:
            with open(path, encoding="utf-8") as fh:
                mtime = os.fstat(fh.fileno()).st_mtime
                lines = fh.read().splitlines()
        except FileNotFoundError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) != 2:
                continue
            name, status = parts
            if name not in found or found[name][0] < mtime:
                found[name] = (mtime, status)
    merged = {name: status for name, (_, status) in found.items()}
    os.makedirs(os.path.dirname(target), exist_ok=True)
    io.write_file_atomic(target, "".join("%s %s\n" % (name, merged[name])
                                         for name in sorted(merged)), mode=0o644)
    return merged


def _reason(text: str) -> list[list[Any]]:
    return [[REASON_SOURCE, text, time.time_ns()]]


def run_job(client, ops: list[dict]) -> list:
    """Submit one job and wait for it; its opcode results (raises if it failed)."""
    from ganeti.cli.jobs import poll_job
    job_id = client.submit_job(ops)
    logging.debug("Submitted job %s (%s)", job_id, ", ".join(op["OP_ID"] for op in ops))
    return poll_job(client, job_id,
                    feedback=lambda entry: logging.debug("Job %s: %s", job_id, entry[-1]))


def restart_instance(client, name: str) -> None:
    run_job(client, [{"OP_ID": "OP_INSTANCE_STARTUP", "instance_name": name,
                      "force": False, "reason": _reason("Restarting instance %s" % name)}])


def cleanup_user_shutdown(client, name: str) -> None:
    run_job(client, [{"OP_ID": "OP_INSTANCE_SHUTDOWN", "instance_name": name,
                      "admin_state_source": "user",
                      "reason": _reason("Cleaning up instance %s" % name)}])


def activate_disks(client, names: list[str], why: str) -> None:
    run_job(client, [{"OP_ID": "OP_INSTANCE_ACTIVATE_DISKS", "instance_name": name,
                      "reason": _reason(why % name)} for name in names])


def _may_try(action: str, name: str, attempts: int) -> bool:
    """The retry budget: MAXTRIES attempts, then one "giving up" error, then silence."""
    if attempts > MAXTRIES:
        logging.debug("Not trying to %s instance '%s' again, retries exhausted", action, name)
        return False
    if attempts == MAXTRIES:
        logging.error("Could not %s instance '%s' after %d attempts, giving up",
                      action, name, MAXTRIES)
        return False
    return True


def check_instances(client, state: WatcherState, instances: dict[str, Instance],
                    locked: set[str]) -> set[str]:
    """Restart ERROR_down instances and clean up USER_down ones; names started.

    A give-up counts as one more attempt, so that it is reported once only.
    Counters of instances that are fine again are reset.
    """
    started: set[str] = set()
    for inst in sorted(instances.values(), key=lambda i: i.name):
        if inst.status == constants.INSTST_USERDOWN and \
                inst.admin_state != constants.ADMINST_DOWN:
            if inst.name in locked:
                logging.info("Not cleaning up instance '%s', instance is locked", inst.name)
                continue
            attempts = state.cleanup_attempts(inst.name)
            if _may_try("clean up", inst.name, attempts):
                logging.info("Instance '%s' was shut down by the user, cleaning up"
                             " (attempt #%d)", inst.name, attempts + 1)
                try:
                    cleanup_user_shutdown(client, inst.name)
                except Exception as err:  # noqa: BLE001 - one instance must not stop the rest
                    logging.error("Error while cleaning up instance '%s': %s", inst.name, err)
            if attempts <= MAXTRIES:
                state.record_cleanup_attempt(inst.name)
            continue
        if state.cleanup_attempts(inst.name):
            state.reset_cleanups(inst.name)
        if inst.status in BAD_STATES:
            attempts = state.restart_attempts(inst.name)
            if _may_try("restart", inst.name, attempts):
                logging.info("Restarting instance '%s' (attempt #%d)", inst.name, attempts + 1)
                try:
                    restart_instance(client, inst.name)
                except Exception as err:  # noqa: BLE001 - one instance must not stop the rest
                    logging.error("Error while restarting instance '%s': %s", inst.name, err)
                else:
                    started.add(inst.name)
            if attempts <= MAXTRIES:
                state.record_restart_attempt(inst.name)
        elif state.restart_attempts(inst.name):
            state.reset_restarts(inst.name)
            if inst.status not in HELPLESS_STATES:
                logging.info("Restart of instance '%s' succeeded", inst.name)
    return started


def check_rebooted_nodes(client, state: WatcherState, nodes: dict[str, Node],
                         instances: dict[str, Instance], started: set[str]) -> None:
    """Re-activate disks whose secondary node rebooted (its DRBD devices are gone)."""
    rebooted = []
    for node in nodes.values():
        if not node.bootid:
            if not node.offline:
                logging.debug("Node '%s' has no boot ID, skipping its checks", node.name)
            continue
        if state.node_boot_id(node.name) != node.bootid:
            rebooted.append(node)
    for node in rebooted:
        logging.info("Node '%s' was rebooted (or is new to the watcher)", node.name)
        for inst in sorted(instances.values(), key=lambda i: i.name):
            if node.name not in inst.snodes or inst.name in started:
                continue
            if not inst.disks_active:
                logging.info("Skipping disk activation for instance with inactive disks '%s'",
                             inst.name)
                continue
            try:
                logging.info("Activating disks for instance '%s'", inst.name)
                activate_disks(client, [inst.name],
                               "Activating disks of %s after a secondary node rebooted")
            except Exception as err:  # noqa: BLE001 - keep going with the other instances
                logging.error("Error while activating disks of instance '%s': %s",
                              inst.name, err)
    for node in rebooted:
        state.set_node_boot_id(node.name, node.bootid)


def _pending_verify_job(client, uuid: str) -> int | None:
    summary = "GROUP_VERIFY_DISKS(%s)" % uuid
    for job_id, summaries, status in client.query_jobs(None, ["id", "summary", "status"]):
        if status not in constants.JOBS_FINALIZED and summary in (summaries or []):
            return job_id
    return None


def verify_disks(client, uuid: str, nodes: dict[str, Node], instances: dict[str, Instance],
                 strict: bool) -> None:
    """Run verify-disks for the group and activate the disks it finds inactive."""
    if all(inst.disk_template == constants.DT_EXT for inst in instances.values()):
        logging.debug("No instances with verifiable disks in group %s", uuid)
        return
    pending = _pending_verify_job(client, uuid)
    if pending is not None:
        logging.info("Verify-disks job %s for group %s is still pending, not submitting"
                     " another", pending, uuid)
        return
    from ganeti.cli.jobs import poll_job
    job_id = client.submit_job([{"OP_ID": "OP_GROUP_VERIFY_DISKS", "group_name": uuid,
                                 "is_strict": strict, "priority": constants.OP_PRIO_LOW,
                                 "reason": _reason("Verifying disks of group %s" % uuid)}])
    try:
        result = poll_job(client, job_id, feedback=lambda e: logging.debug("%s", e[-1]))[0]
    finally:
        try:
            client.archive_job(job_id)
        except errors.GenericError as err:
            logging.debug("Can't archive verify-disks job %s: %s", job_id, err)
    try:
        offline = list(result[1])
    except (TypeError, IndexError):
        logging.error("Unexpected verify-disks result: %r", result)
        return
    todo = []
    for name in offline:
        inst = instances.get(name)
        if inst is None:
            logging.info("Can't find instance '%s', maybe it was ignored", name)
            continue
        if inst.status in HELPLESS_STATES or \
                any(nodes.get(n) is not None and nodes[n].offline for n in inst.snodes):
            logging.info("Skipping instance '%s': helpless state or offline secondaries", name)
            continue
        todo.append(name)
    if not todo:
        logging.debug("Verify-disks reported no inactive disks to activate")
        return
    logging.info("Activating disks of %s", ", ".join(todo))
    try:
        activate_disks(client, todo, "Activating disks of %s (verify-disks)")
    except Exception as err:  # noqa: BLE001 - logged; the next run tries again
        logging.error("Error while activating disks: %s", err)


def known_groups(client) -> list[str]:
    from ganeti import ssconf
    try:
        groups = list(ssconf.SimpleStore().get_nodegroups())
    except errors.ConfigurationError:
        groups = []
    return groups or [uuid for uuid, _ in query_groups(client)]


def group_main(opts: optparse.Values) -> int:
    """Watch one node group (the child started with --node-group)."""
    from ganeti import luxi
    uuid = opts.node_group
    try:
        client = luxi.Client(pathutils.MASTER_SOCKET)
        groups = known_groups(client)
    except errors.NoMasterError as err:
        logging.error("Can't reach the master daemon: %s", err)
        return constants.EXIT_NOTMASTER
    if uuid not in groups:
        logging.error("Node group %s is not known", uuid)
        return constants.EXIT_FAILURE
    try:
        state = WatcherState(pathutils.WATCHER_GROUP_STATE_FILE % uuid)
    except (StateFileError, OSError) as err:
        logging.error("Can't open the state file of group %s: %s", uuid, err)
        return constants.EXIT_FAILURE
    try:
        with state:
            nodes, instances = group_data(client, uuid)
            write_group_status(uuid, instances)
            merge_instance_status(groups)
            locked = locked_instances(client)
            started = check_instances(client, state, instances, locked)
            check_rebooted_nodes(client, state, nodes, instances, started)
            state.keep_nodes(nodes)
            if not opts.no_verify_disks:
                try:
                    verify_disks(client, uuid, nodes, instances, opts.strict)
                except errors.GenericError as err:
                    logging.error("Verify-disks of group %s failed: %s", uuid, err)
            state.save()
    finally:
        client.close()
    logging.debug("Watcher for group %s done", uuid)
    return constants.EXIT_SUCCESS


def main(argv: list[str] | None = None) -> int:
    opts = parse_options(argv)
    child = opts.node_group is not None
    setup_logging(opts.debug, child)
    if not child and not opts.ignore_pause:
        until = paused_until()
        if until is not None:
            logging.debug("Watcher paused until %s, exiting", time.ctime(until))
            return constants.EXIT_SUCCESS
    try:
        lock_fd = lock_shared()
    except OSError as err:
        logging.error("Can't open the watcher lock %s: %s", pathutils.WATCHER_LOCK_FILE, err)
        return constants.EXIT_FAILURE
    if lock_fd is None:
        logging.error("Another program holds the watcher lock exclusively, exiting")
        return constants.EXIT_SUCCESS
    try:
        if child:
            return group_main(opts)
        return global_main(opts)
    except errors.ResolverError as err:
        logging.error("Name resolution failed: %s", err)
        return constants.EXIT_NODESETUP_ERROR
    except Exception:  # noqa: BLE001 - cron must get a log entry, not just a traceback
        logging.exception("Watcher failed")
        return constants.EXIT_FAILURE
    finally:
        os.close(lock_fd)
