"""``gnt-instance console``: act on the console description the master returns.

OP_INSTANCE_CONSOLE answers ``{instance, kind, message, host, port, user,
command, display}``; ``ssh`` consoles are reached by running the given
command on the primary node over SSH (checked against the cluster's own
known_hosts, so no prompt and no stale user entries), ``vnc`` and ``msg``
ones are only described.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from ganeti import constants, errors, pathutils

CONS_SSH = "ssh"
CONS_VNC = "vnc"
CONS_SPICE = "spice"
CONS_MESSAGE = "msg"

_SAFE_ARG = re.compile(r"^[-.,=:/_+@A-Za-z0-9]+$")


def shell_quote(arg: str) -> str:
    """Quote one argument for a POSIX shell (only when it needs it)."""
    if _SAFE_ARG.match(arg):
        return arg
    return "'%s'" % arg.replace("'", "'\\''")


def shell_quote_args(args: list[str]) -> str:
    return " ".join(shell_quote(str(a)) for a in args)


def ssh_command(host: str, user: str, command: str, port: Any = None,
                known_hosts: str = pathutils.SSH_KNOWN_HOSTS_FILE) -> list[str]:
    """The ssh argv for an interactive, batch-mode session checked by cluster host keys."""
    argv = ["ssh", "-oEscapeChar=none", "-oHashKnownHosts=no",
            "-oGlobalKnownHostsFile=%s" % known_hosts, "-oUserKnownHostsFile=/dev/null",
            "-oCheckHostIp=no", "-oStrictHostKeyChecking=yes", "-oBatchMode=yes"]
    if port is not None:
        argv += ["-p", str(port)]
    if pathutils.VIRT_CLUSTER:
        # a virtual node's name resolves only through its own etc/hosts, and the
        # cluster key (not root's) opens its sshd; the host key is still checked
        from ganeti import netutils, ssh
        try:
            address = netutils.resolve_hostname(host).ip
        except errors.ResolverError:
            address = host
        if address != host:
            argv += ["-oHostKeyAlias=%s" % host]
            host = address
        if os.path.exists(ssh.CLUSTER_KEY_FILE):
            argv += ["-i", ssh.CLUSTER_KEY_FILE]
    argv += ["-t", "-t", "%s@%s" % (user or "root", host), command]
    return argv


def console_lines(console: dict) -> list[str]:
    """What is printed for a ``vnc``/``spice``/``msg`` console."""
    kind = console.get("kind")
    if kind == CONS_MESSAGE:
        return [str(console.get("message"))]
    if kind == CONS_VNC:
        return ["Instance %s has VNC listening on %s:%s (display %s), please use a VNC"
                " client to connect to this instance." %
                (console.get("instance"), console.get("host"), console.get("port"),
                 console.get("display")),
                "URL: <vnc://%s:%s/>" % (console.get("host"), console.get("port"))]
    if kind == CONS_SPICE:
        return ["Instance %s has SPICE listening on %s:%s" %
                (console.get("instance"), console.get("host"), console.get("port"))]
    raise errors.GenericError("Unknown console type '%s'" % kind)


def do_console(console: dict, show_command: bool) -> int:
    """Print the console description, or run ssh (replacing this process)."""
    if console.get("kind") != CONS_SSH:
        sys.stdout.write("".join(line + "\n" for line in console_lines(console)))
        return constants.EXIT_SUCCESS
    command = console.get("command")
    if not isinstance(command, str):
        command = shell_quote_args(list(command or []))
    argv = ssh_command(console["host"], console.get("user") or "root", command,
                       console.get("port"))
    if show_command:
        print(shell_quote_args(argv))
        return constants.EXIT_SUCCESS
    sys.stdout.flush()
    try:
        os.execvp(argv[0], argv)
    except OSError as err:
        raise errors.OpExecError("Cannot run ssh: %s" % err)
    return constants.EXIT_FAILURE  # not reached
