"""Running commands and copying files on cluster nodes (gnt-cluster command/copyfile).

Node lists come from this node's ssconf files, so `command` works while the
master daemon is down; only `-g` asks the master.
"""

from __future__ import annotations

import os
import subprocess
import sys

from ganeti import constants, errors
from ganeti.utils.text import nice_sort


def _client():
    from ganeti.cli import jobs
    return jobs.get_client()


def _match_node(name: str, known: list[str]) -> str | None:
    """A node name as given (exact, or a short name of exactly one FQDN)."""
    if name in known:
        return name
    found = [n for n in known if n.startswith(name + ".")]
    return found[0] if len(found) == 1 else None


def select_nodes(opts, skip_master: bool = False) -> list[tuple[str, str, int]]:
    """(name, address, ssh port) of the online nodes to act on, master last.

    The node list comes from this node's ssconf files, so "command" also
    works while the master daemon is down; -g asks the master for the group.
    """
    from ganeti import ssconf
    store = ssconf.SimpleStore()
    all_nodes = store.get_node_list()
    try:
        online = set(store.get_online_nodes())
    except errors.ConfigurationError:
        online = set(all_nodes)
    master = store.get_master_node()
    if opts.nodes:
        names = []
        for given in opts.nodes:
            full = _match_node(given, all_nodes)
            if full is None:
                raise errors.OpPrereqError("Node '%s' not known" % given, errors.ECODE_NOENT)
            names.append(full)
    else:
        names = list(all_nodes)
    if opts.nodegroup is not None:
        qfilter = ["|", ["==", "group", opts.nodegroup], ["==", "group.uuid", opts.nodegroup]]
        rows = _client().query(constants.QR_NODE, ["name"], qfilter)["data"]
        in_group = {row[0][1] for row in rows}
        names = [n for n in names if n in in_group]
    offline = [n for n in names if n not in online]
    if offline:
        sys.stderr.write("Note: skipping offline node(s): %s\n" % ", ".join(offline))
    names = nice_sort(set(n for n in names if n in online))
    if skip_master and master in names:
        names.remove(master)
    if master in names:
        names.remove(master)
        names.append(master)
    key = "node_secondary_ips" if getattr(opts, "use_replication_network", False) \
        else "node_primary_ips"
    addresses = _ssconf_map(store, key, " ")
    ports = _ssconf_map(store, "ssh_ports", "=")
    out = []
    for name in names:
        try:
            port = int(ports.get(name, 22))
        except ValueError:
            port = 22
        out.append((name, addresses.get(name, name), port))
    return out


def _ssconf_map(store, key: str, sep: str) -> dict[str, str]:
    try:
        text = store.read(key)
    except errors.ConfigurationError:
        return {}
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(sep)
        if value:
            out[name.strip()] = value.strip()
    return out


def _ssh_base() -> list[str]:
    """Non-interactive ssh with the cluster's known_hosts, as upstream's ssh runner."""
    from ganeti import pathutils, ssh
    return ["-oBatchMode=yes", "-oStrictHostKeyChecking=yes",
            "-oUserKnownHostsFile=%s" % pathutils.SSH_KNOWN_HOSTS_FILE,
            "-i", ssh.CLUSTER_KEY_FILE, "-oIdentitiesOnly=yes"]


def _is_local(name: str) -> bool:
    from ganeti import ssconf
    try:
        return name == ssconf.my_hostname()
    except Exception:  # noqa: BLE001 - unknown own name: treat every node as remote
        return False


def run_on_node(name: str, address: str, port: int, command: str) -> tuple[int, str]:
    """Run a shell command on a node (locally for this node, else over ssh as root).

    Output is stdout followed by stderr, as Ganeti's ssh runner reports it.
    """
    if _is_local(name):
        argv: list[str] | str = command
        shell = True
    else:
        argv = ["ssh", *_ssh_base()]
        if port != 22:
            argv += ["-p", str(port)]
        argv += ["root@%s" % address, command]
        shell = False
    try:
        proc = subprocess.run(argv, shell=shell, stdin=subprocess.DEVNULL,
                              capture_output=True, check=False)
    except OSError as err:
        return 255, "Cannot run command: %s\n" % err
    return proc.returncode, (proc.stdout + proc.stderr).decode("utf-8", "replace")


def run_command(opts, args) -> int:
    """Run a command on the nodes one after the other (master last); exit 1 if any failed."""
    command = " ".join(args)
    code = constants.EXIT_SUCCESS
    for name, address, port in select_nodes(opts):
        rc, output = run_on_node(name, address, port, command)
        if rc != 0:
            code = constants.EXIT_FAILURE
        if opts.failure_only and rc == 0:
            continue
        print("------------------------------------------------")
        if opts.show_machine_names:
            for line in output.splitlines():
                print("%s: %s" % (name, line))
        else:
            print("node: %s" % name)
            print(output)
        print("return code = %s" % rc, flush=True)
    return code


def copy_file(opts, args) -> int:
    """scp a file to the same path on the other online nodes; exit 1 if a copy failed."""
    import subprocess
    filename = os.path.abspath(args[0])
    if not os.path.exists(filename):
        raise errors.OpPrereqError("No such filename '%s'" % filename, errors.ECODE_INVAL)
    code = constants.EXIT_SUCCESS
    for name, address, port in select_nodes(opts, skip_master=True):
        if _is_local(name):
            continue
        argv = ["scp", "-p", "-q", *_ssh_base(), "-P", str(port), filename,
                "root@%s:%s" % (address, filename)]
        try:
            ok = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                check=False).returncode == 0
        except OSError:
            ok = False
        if not ok:
            sys.stderr.write("Copy of file %s to node %s:%d failed\n" % (filename, name, port))
            code = constants.EXIT_FAILURE
    return code
