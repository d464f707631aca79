"""Options only gnt-instance has, as one table (flags, optparse arguments).

The shared table (``ganeti.cli.options.OPTIONS``) holds what several
programs use; the options here mean something instance-specific (``-n
PNODE[:SNODE]``, ``-H hv:k=v`` as a single value, ``--disk``/``--net``
lists, the selection modes of the many-instance commands), so they live
next to the command. :func:`opts` mixes both kinds into a command's list.
"""

from __future__ import annotations

import optparse

from ganeti import constants
from ganeti.cli.options import OPTIONS, CliOption

# instance selection modes of startup/shutdown/reboot/reinstall
EXPAND_CLUSTER = "cluster"
EXPAND_NODES_BOTH = "nodes"
EXPAND_NODES_PRI = "nodes-pri"
EXPAND_NODES_SEC = "nodes-sec"
EXPAND_NODES_BOTH_BY_TAGS = "nodes-by-tags"
EXPAND_NODES_PRI_BY_TAGS = "nodes-pri-by-tags"
EXPAND_NODES_SEC_BY_TAGS = "nodes-sec-by-tags"
EXPAND_INSTANCES = "instances"
EXPAND_INSTANCES_BY_TAGS = "instances-by-tags"


def _mode(flag: str, mode: str, help_text: str) -> tuple[tuple[str, ...], dict]:
    return ((flag,), dict(action="store_const", const=mode, dest="multi_mode",
                          default=None, help=help_text))


def _flag(flags: tuple[str, ...], dest: str, help_text: str, store: bool = True,
          default: bool | None = None) -> tuple[tuple[str, ...], dict]:
    action = "store_true" if store else "store_false"
    return (flags, dict(action=action, dest=dest,
                        default=(not store) if default is None else default, help=help_text))


def _ident_list(flag: str, dest: str, help_text: str) -> tuple[tuple[str, ...], dict]:
    return ((flag,), dict(type="identkeyval", action="append", dest=dest, default=None,
                          metavar="IDX:KEY=VAL,...", help=help_text))


_MODES = {
    "sel_instance": _mode("--instance", EXPAND_INSTANCES,
                          "Filter by instance name [default]"),
    "sel_node": _mode("--node", EXPAND_NODES_BOTH,
                      "Filter by nodes (primary and secondary)"),
    "sel_primary": _mode("--primary", EXPAND_NODES_PRI, "Filter by nodes (primary only)"),
    "sel_secondary": _mode("--secondary", EXPAND_NODES_SEC,
                           "Filter by nodes (secondary only)"),
    "sel_all": _mode("--all", EXPAND_CLUSTER, "Select all instances in the cluster"),
    "sel_tags": _mode("--tags", EXPAND_INSTANCES_BY_TAGS, "Filter by instance tag"),
    "sel_node_tags": _mode("--node-tags", EXPAND_NODES_BOTH_BY_TAGS,
                           "Filter by node tag"),
    "sel_pri_node_tags": _mode("--pri-node-tags", EXPAND_NODES_PRI_BY_TAGS,
                               "Filter by primary node tag"),
    "sel_sec_node_tags": _mode("--sec-node-tags", EXPAND_NODES_SEC_BY_TAGS,
                               "Filter by secondary node tag"),
}

INSTANCE_OPTIONS: dict[str, tuple[tuple[str, ...], dict]] = {
    **_MODES,
    "force_multi": _flag(("--force-multiple",), "force_multi",
                         "Do not ask for confirmation when more than one instance is"
                         " affected"),
    "pnode_snode": (("-n", "--node"), dict(default=None, dest="node",
                                            metavar="<node>[:<secondary-node>]",
                                            help="Target node and optional secondary node")),
    "new_secondary": (("-n", "--node"), dict(default=None, dest="node", metavar="<node>",
                                             help="Secondary node for the new disk"
                                                  " template")),
    "disk_template": (("-t", "--disk-template"), dict(default=None, dest="disk_template",
                                                      metavar="TEMPL",
                                                      choices=list(constants.DISK_TEMPLATES),
                                                      help="Disk template (one of %s)" %
                                                      ", ".join(constants.DISK_TEMPLATES))),
    "disks": _ident_list("--disk", "disks", "Disk parameters"),
    "nics": _ident_list("--net", "nics", "NIC parameters"),
    "os_size": (("-s", "--os-size"), dict(default=None, dest="sd_size", metavar="SIZE",
                                          help="Disk size for a single-disk instance")),
    "no_nics": _flag(("--no-nics",), "no_nics", "Do not create any network cards for the"
                     " instance"),
    "inst_hvparams": (("-H", "--hypervisor-parameters"),
                      dict(type="identkeyval", default=None, dest="hypervisor",
                           metavar="HYPERVISOR:KEY=VAL,...",
                           help="Hypervisor and hypervisor options, in the format"
                                " hypervisor:option=value,option=value,...")),
    "hv_kv": (("-H", "--hypervisor-parameters"),
              dict(type="keyval", default={}, dest="hvparams", metavar="KEY=VAL,...",
                   help="Hypervisor parameters")),
    "be_kv": (("-B", "--backend-parameters"),
              dict(type="keyval", default={}, dest="beparams", metavar="KEY=VAL,...",
                   help="Backend parameters")),
    "os_kv": (("-O", "--os-parameters"), dict(type="keyval", default={}, dest="osparams",
                                              metavar="KEY=VAL,...", help="OS parameters")),
    "os_private": (("--os-parameters-private",),
                   dict(type="keyval", default={}, dest="osparams_private",
                        metavar="KEY=VAL,...", help="Private OS parameters")),
    "os_secret": (("--os-parameters-secret",),
                  dict(type="keyval", default={}, dest="osparams_secret",
                       metavar="KEY=VAL,...", help="Secret OS parameters")),
    "os_type": (("-o", "--os-type"), dict(default=None, dest="os", metavar="<os>",
                                          help="What OS to run")),
    "force_variant": _flag(("--force-variant",), "force_variant",
                           "Force an unknown variant"),
    "no_start": _flag(("--no-start",), "start", "Don't start the instance after creation",
                      store=False),
    "no_install": _flag(("--no-install",), "no_install",
                        "Do not install the OS (will enable no-start)"),
    "no_name_check": _flag(("--no-name-check",), "name_check",
                           "Don't check that the instance's name is resolvable",
                           store=False),
    "no_ip_check": _flag(("--no-ip-check",), "ip_check",
                         "Don't check that the instance's IP is alive", store=False),
    "name_check": _flag(("--name-check",), "name_check", "Check the instance's name",
                        default=True),
    "ip_check": _flag(("--ip-check",), "ip_check", "Check the instance's IP", default=True),
    "no_conflicts_check": _flag(("--no-conflicts-check",), "conflicts_check",
                                "Don't check for conflicting IPs", store=False),
    "no_wait_for_sync": _flag(("--no-wait-for-sync",), "wait_for_sync",
                              "Don't wait for sync (DANGEROUS!)", store=False),
    "file_driver": (("--file-driver",), dict(default=None, dest="file_driver",
                                             metavar="<DRIVER>",
                                             choices=["loop", "blktap", "blktap2"],
                                             help="Driver to use for image files")),
    "iallocator": (("-I", "--iallocator"), dict(default=None, dest="iallocator",
                                                metavar="<NAME>",
                                                help="Select nodes for the instance"
                                                     " automatically using the <NAME>"
                                                     " iallocator plugin")),
    "inst_tags": (("--tags",), dict(default=None, dest="tags", metavar="TAG,...",
                                    help="Comma-separated list of instance tags")),
    "ignore_ipolicy": _flag(("--ignore-ipolicy",), "ignore_ipolicy",
                            "Ignore instance policy violations"),
    "opportunistic_locking": _flag(("--opportunistic-locking",), "opportunistic_locking",
                                   "Opportunistically acquire locks"),
    "ignore_failures": _flag(("--ignore-failures",), "ignore_failures",
                             "Remove the instance from the cluster configuration even if"
                             " there are failures during the removal process"),
    "shutdown_timeout": (("--shutdown-timeout",),
                         dict(type="int", default=constants.DEFAULT_SHUTDOWN_TIMEOUT,
                              dest="shutdown_timeout", metavar="<secs>",
                              help="Maximum time to wait for instance shutdown")),
    "timeout": (("--timeout",), dict(type="int", default=constants.DEFAULT_SHUTDOWN_TIMEOUT,
                                     dest="timeout", metavar="<secs>",
                                     help="Maximum time to wait")),
    "no_remember": _flag(("--no-remember",), "no_remember",
                         "Perform but do not record the change in the configuration"),
    "ignore_offline": _flag(("--ignore-offline",), "ignore_offline",
                            "Ignore offline nodes and do as much as possible"),
    "paused": _flag(("--paused",), "startup_paused", "Pause instance at startup"),
    "reboot_type": (("-t", "--type"), dict(default="hard", dest="reboot_type",
                                           metavar="<REBOOT>",
                                           choices=["soft", "hard", "full"],
                                           help="Type of reboot: soft/hard/full")),
    "ignore_secondaries": _flag(("--ignore-secondaries",), "ignore_secondaries",
                                "Ignore errors from secondaries"),
    "select_os": _flag(("--select-os",), "select_os", "Interactive OS reinstall, lists"
                       " available OS templates for selection"),
    "static": _flag(("-s", "--static"), "static", "Only show configuration data, not"
                    " runtime data"),
    "show_all": _flag(("--all",), "show_all", "Show info on all instances on the cluster."
                      " This can take a long time to run, use wisely"),
    "ignore_size": _flag(("--ignore-size",), "ignore_size", "Ignore current recorded size"
                         " (useful for forcing activation when the recorded size is"
                         " wrong)"),
    "wait_for_sync": _flag(("--wait-for-sync",), "wait_for_sync",
                           "Wait for disks to sync"),
    "absolute": _flag(("--absolute",), "absolute", "Marks the grow as absolute instead of"
                      " the (default) relative mode"),
    "show_cmd": _flag(("--show-cmd",), "show_command", "Show command instead of executing"
                      " it"),
    "new_primary": (("--new-primary",), dict(default=None, dest="new_primary_node",
                                             metavar="NODE",
                                             help="Change the node an instance is primary"
                                                  " on (offline instances only)")),
    "offline_inst": _flag(("--offline",), "offline_inst",
                          "Mark instance as offline"),
    "online_inst": _flag(("--online",), "online_inst", "Mark instance as online"),
    "runtime_mem": (("-m", "--runtime-memory"), dict(type="unit", default=None,
                                                     dest="runtime_mem", metavar="SIZE",
                                                     help="New runtime memory")),
    "modify_os": (("-o", "--os-type"), dict(default=None, dest="os", metavar="<os>",
                                            help="Change the instance's OS")),
    "hotplug": _flag(("--hotplug",), "hotplug", "Hotplug supported devices (NICs and"
                     " Disks)"),
    "hotplug_if_possible": _flag(("--hotplug-if-possible",), "hotplug_if_possible",
                                 "Hotplug devices in case hotplug is supported"),
    "ext_params": (("-e", "--ext-params"), dict(type="keyval", default={},
                                                dest="ext_params", metavar="KEY=VAL,...",
                                                help="External storage parameters")),
    "recreate_disks": _ident_list("--disk", "disks", "Disk parameters"),
    "communication": (("-c", "--communication"),
                      dict(type="bool", default=None, dest="instance_communication",
                           metavar="yes|no", help="Enable or disable instance"
                                                  " communication")),
}


def opts(*names: str) -> list:
    """A command's option list: instance options as objects, shared ones by name."""
    out: list = []
    for name in names:
        if name in INSTANCE_OPTIONS:
            flags, kwargs = INSTANCE_OPTIONS[name]
            out.append(CliOption(*flags, **kwargs))
        elif name in OPTIONS:
            out.append(name)
        else:
            raise optparse.OptionError("unknown option table entry %r" % name, name)
    return out


SELECTION_OPTS = ("sel_instance", "sel_node", "sel_primary", "sel_secondary", "sel_all",
                  "sel_tags", "sel_node_tags", "sel_pri_node_tags", "sel_sec_node_tags")
