"""Daemon control and leaving the cluster (node side).

Daemons are started and stopped through ``daemon-util``, the same tool
the init scripts and the watcher use, so there is one place that knows
pid files, argument defaults and start order.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess

from ganeti import constants, errors, pathutils
from ganeti.utils import io

_DAEMON_UTIL_TIMEOUT = 120


def _daemon_util(*args: str) -> None:
    cmd = [pathutils.DAEMON_UTIL, *args]
    try:
        res = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=_DAEMON_UTIL_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError) as err:
        raise errors.OpExecError("Can't run '%s': %s" % (" ".join(cmd), err))
    if res.returncode != 0:
        output = (res.stderr or res.stdout).strip()
        raise errors.OpExecError("Command '%s' failed (exit code %d)%s" % (
            " ".join(cmd), res.returncode, ": " + output if output else ""))


def node_ensure_daemon(daemon: str, run: bool) -> None:
    """Start (``run``) or stop one Ganeti daemon on this node."""
    if daemon not in constants.DAEMONS:
        raise errors.ParameterError("Unknown daemon '%s' (known: %s)"
                                    % (daemon, ", ".join(constants.DAEMONS)))
    if not isinstance(run, bool):
        raise errors.ParameterError("'run' must be a boolean")
    if daemon == constants.NODED and not run:
        raise errors.ParameterError("The node daemon cannot stop itself this way;"
                                    " use node_leave_cluster")
    _daemon_util("check-and-start" if run else "stop", daemon)


def node_start_master_daemons(no_voting: bool) -> None:
    """Start masterd (optionally without the voting) and the RAPI daemon."""
    if not isinstance(no_voting, bool):
        raise errors.ParameterError("'no_voting' must be a boolean")
    if no_voting:
        _daemon_util("start", constants.MASTERD, "--no-voting", "--yes-do-it")
    _daemon_util("start-master")


def node_stop_master() -> None:
    """Stop the master daemons (master failover, cluster destroy)."""
    _daemon_util("stop-master")


def _clean_data_dir() -> None:
    """Remove the cluster's files: plain files in the data dir and the queue."""
    data = pathutils.DATA_DIR
    try:
        names = os.listdir(data)
    except FileNotFoundError:
        names = []
    for name in names:
        path = os.path.join(data, name)
        if os.path.isfile(path) and not os.path.islink(path):
            io.remove_file(path)
    shutil.rmtree(pathutils.QUEUE_DIR, ignore_errors=True)
    io.remove_file(pathutils.RAPI_USERS_FILE)


def node_leave_cluster(modify_ssh_setup: bool) -> None:
    """Forget the cluster, then make noded exit after answering.

    Removes config, ssconf, queue, certificates and secrets; the node
    daemon stops itself because without the cluster certificate it could
    not serve anything any more.
    """
    if not isinstance(modify_ssh_setup, bool):
        raise errors.ParameterError("'modify_ssh_setup' must be a boolean")
    try:
        _daemon_util("stop-master")
    except errors.OpExecError as err:
        logging.warning("Stopping master daemons while leaving the cluster: %s", err)
    _clean_data_dir()
    if modify_ssh_setup:
        logging.info("SSH setup is not managed by this node daemon; leaving it unchanged")
    raise errors.QuitGanetiException(True, "Shutdown scheduled")
