"""gnt-node and gnt-group: options -> opcodes, and what the commands print.

The master is replaced by a fake LUXI client answering queries from the
reference config.data through the real query code (cmdlib.query), and
job submission by a recorder returning canned LU results.
"""

from __future__ import annotations

import os
import shutil

import pytest

from ganeti import config, errors, opcodes
from ganeti import constants as C
from ganeti.cli import base, gnt_group, gnt_node, jobs
from ganeti.cmdlib import query as cq

from test_query_node import NODE1, REF, FakeRpc, payload, ref_lines


class FakeClient:
    """The LUXI calls the commands make, answered by the real query code."""

    def __init__(self, cfg, rpc):
        self.cfg, self.rpc = cfg, rpc

    def query(self, what, fields, qfilter=None):
        return cq.query_config_resource(self.cfg, what, fields, qfilter, rpc=self.rpc)

    def query_fields(self, what, fields=None):
        return cq.query_fields(what, fields)

    def query_nodes(self, names, fields, use_locking=False):
        return cq.query_legacy(self.cfg, C.QR_NODE, names, fields, rpc=self.rpc)

    def query_groups(self, names, fields, use_locking=False):
        return cq.query_legacy(self.cfg, C.QR_GROUP, names, fields, rpc=self.rpc)


@pytest.fixture
def master(tmp_path, monkeypatch):
    """Fake master: queries over the reference config, submitted opcodes recorded."""
    path = tmp_path / "config.data"
    shutil.copy(os.path.join(REF, "files", "config.data"), path)
    cfg = config.ConfigWriter(path=str(path))
    cfg.data.instances = {u: i for u, i in cfg.data.instances.items()
                          if i.name in ("inst1.example.com", "inst2.example.com")}
    client = FakeClient(cfg, FakeRpc(default=payload()))
    client.submitted = []
    client.results = []

    def submit(op, opts, client_=None, *args, **kwargs):
        opcodes.OpCode.from_dict(jobs.set_generic_opts(op, opts))  # must be a valid opcode
        client.submitted.append(op)
        return client.results.pop(0) if client.results else None

    monkeypatch.setattr(jobs, "get_client", lambda: client)
    monkeypatch.setattr(jobs, "submit_opcode", submit)
    monkeypatch.setattr(jobs, "submit_or_send", submit)
    return client


def parse(module, argv):
    """Run the real parser of a command; return (exit code, opts, args)."""
    seen = {}

    def capture(opts, args):
        seen.update(opts=opts, args=args)
        return 0

    commands = dict(module.COMMANDS)
    commands[argv[0]] = commands[argv[0]]._replace(fn=capture)
    rc = base.run("gnt-x", commands, argv=argv)
    return rc, seen.get("opts"), seen.get("args")


# --- gnt-node add -----------------------------------------------------------------------

def test_add_options_to_opcode():
    rc, opts, args = parse(gnt_node, [
        "add", "-s", "192.0.2.5", "-g", "rack1", "--master-capable", "no",
        "--vm-capable=yes", "--node-parameters", "ssh_port=2222,exclusive_storage=no",
        "--no-ssh-key-check", "--force-join", "-v", "node5.example.com"])
    assert rc == 0
    op = gnt_node.build_add_opcode(opts, args[0], None)
    assert op == {"OP_ID": "OP_NODE_ADD", "node_name": "node5.example.com",
                  "primary_ip": None, "secondary_ip": "192.0.2.5", "readd": False,
                  "group": "rack1", "master_capable": False, "vm_capable": True,
                  "ndparams": {"ssh_port": 2222, "exclusive_storage": False},
                  "ssh_key_check": False}
    opcodes.OpCode.from_dict(op)


def test_add_sends_ssh_key_check_only_when_disabled():
    _, opts, args = parse(gnt_node, ["add", "node5"])
    op = gnt_node.build_add_opcode(opts, args[0], None)
    assert "ssh_key_check" not in op and op["ndparams"] is None and op["readd"] is False


def test_add_refuses_known_node_and_checks_readd(master, capsys):
    assert gnt_node.main(["add", "node1"]) == 1
    assert capsys.readouterr().err == ("Node node1 already in the cluster (as"
                                       " node1.example.com) - please retry with '--readd'\n")
    assert gnt_node.main(["add", "--readd", "node9"]) == 1
    assert "Node node9 not in the cluster - please retry without '--readd'" in \
        capsys.readouterr().err
    assert gnt_node.main(["add", "--readd", "node1"]) == 1
    assert "Node node1 is the master, cannot readd" in capsys.readouterr().err
    assert master.submitted == []
    assert gnt_node.main(["add", "-g", "default", "node9.example.com"]) == 0
    assert master.submitted[0]["node_name"] == "node9.example.com"


def test_readd_keeps_secondary_ip(master):
    node = master.cfg.data.nodes[NODE1]
    master.cfg.data.cluster.master_node = "someone-else"
    node.secondary_ip = "192.0.2.99"
    assert gnt_node.main(["add", "--readd", "node1"]) == 0
    op = master.submitted[0]
    assert op["readd"] is True and op["secondary_ip"] == "192.0.2.99"


# --- list / info / list-fields ----------------------------------------------------------

def test_list_matches_reference(master, capsys):
    assert gnt_node.main(["list"]) == 0
    assert capsys.readouterr().out.splitlines() == ref_lines("gnt-node-list.txt")


def test_list_unknown_field_exit_14(master, capsys):
    assert gnt_node.main(["list", "-o", "name,nosuch"]) == C.EXIT_UNKNOWN_FIELD
    out = capsys.readouterr()
    assert "Warning: Queried for unknown fields nosuch" in out.err
    assert out.out.splitlines()[1].split() == ["node1.example.com", "??"]


def test_list_separator_units_and_plus_fields(master, capsys):
    assert gnt_node.main(["list", "--separator=|", "--no-headers", "-o",
                          "+role,pinst_list", "node1"]) == 0
    assert capsys.readouterr().out == ("node1.example.com|258019|81100|24103|274|23347|2|0|M|"
                                       "inst1.example.com,inst2.example.com\n")


def test_list_filter_and_env_default(master, capsys, monkeypatch):
    monkeypatch.setenv("GNT_NODE_LIST", "-o name,master_candidate")
    assert gnt_node.main(["list", "-F", "not master_candidate"]) == 0
    assert capsys.readouterr().out == "Node MasterC\n"


def test_list_fields_subset(master, capsys):
    assert gnt_node.main(["list-fields", "name", "mfree"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:3] == ["name", "Text", "Node"]
    assert lines[2].split()[:4] == ["mfree", "Storage", "size", "MFree"]


def test_info_matches_reference_and_unknown_node(master, capsys):
    assert gnt_node.main(["info"]) == 0
    assert capsys.readouterr().out.splitlines() == ref_lines("gnt-node-info.txt")
    assert gnt_node.main(["show", "nosuch"]) == 1
    assert capsys.readouterr().err == ("Failure: prerequisites not met for this operation:\n"
                                       "error type: unknown_entity, error details:\n"
                                       "Node 'nosuch' not known\n")


def test_info_powered_and_non_vm_capable():
    row = ["n1", "1.2.3.4", "1.2.3.4", ["i1"], [], False, False, False, True, False, True,
           {"oob_program": "/x"}, {"oob_program": "/x"}]
    lines = base.format_generic_info(gnt_node.node_info_data([row]))
    assert lines == ["- Node name: n1", "  primary ip: 1.2.3.4", "  secondary ip: 1.2.3.4",
                     "  master candidate: False", "  drained: False", "  offline: False",
                     "  powered: True", "  master_capable: True", "  vm_capable: False",
                     "  node parameters: ", "    oob_program: /x"]


# --- modify / remove / powercycle / tags ----------------------------------------------------

def test_modify_options_and_result(master, capsys):
    master.results = [[["master_candidate", "False"], ["drained", "True"]]]
    assert gnt_node.main(["modify", "-C", "no", "-D", "yes", "--auto-promote",
                          "--node-parameters", "spindle_count=3,oob_program=default",
                          "node1"]) == 0
    assert master.submitted == [{"OP_ID": "OP_NODE_SET_PARAMS", "node_name": "node1",
                                 "force": False, "auto_promote": True,
                                 "master_candidate": False, "drained": True,
                                 "ndparams": {"spindle_count": 3, "oob_program": "default"}}]
    assert capsys.readouterr().out == ("Modified node node1\n - master_candidate -> False\n"
                                       " - drained -> True\n")


def test_modify_other_flags(master):
    assert gnt_node.main(["modify", "-O", "yes", "--master-capable=no", "--vm-capable=no",
                          "-s", "192.0.2.7", "--node-powered", "no", "-f", "node1"]) == 0
    op = master.submitted[0]
    assert (op["offline"], op["master_capable"], op["vm_capable"], op["secondary_ip"],
            op["powered"], op["force"]) == (True, False, False, "192.0.2.7", False, True)


def test_modify_needs_a_change(master, capsys):
    assert gnt_node.main(["modify", "-f", "node1"]) == 1
    assert capsys.readouterr().err == "Please give at least one of the parameters.\n"
    assert master.submitted == []


def test_modify_bad_yes_no_and_bad_param_type(master, capsys):
    assert gnt_node.main(["modify", "-C", "maybe", "node1"]) == 1
    assert "Invalid boolean value 'maybe'" in capsys.readouterr().err
    assert gnt_node.main(["modify", "--node-parameters", "ssh_port=x", "node1"]) == 1
    assert "Invalid value 'x' for node parameter 'ssh_port'" in capsys.readouterr().err


def test_remove_powercycle_and_tags(master, monkeypatch, capsys):
    assert gnt_node.main(["remove", "node1"]) == 0
    monkeypatch.setattr(base, "ask_user", lambda question, choices=None: False)
    assert gnt_node.main(["powercycle", "node1"]) == C.EXIT_CONFIRMATION
    master.results = ["Node node1 powercycled"]
    assert gnt_node.main(["powercycle", "--yes", "-f", "node1"]) == 0
    assert capsys.readouterr().err == "Node node1 powercycled\n"
    assert gnt_node.main(["add-tags", "node1", "a", "b"]) == 0
    assert gnt_node.main(["remove-tags", "node1", "a"]) == 0
    assert master.submitted == [
        {"OP_ID": "OP_NODE_REMOVE", "node_name": "node1"},
        {"OP_ID": "OP_NODE_POWERCYCLE", "node_name": "node1", "force": True},
        {"OP_ID": "OP_TAGS_SET", "kind": "node", "name": "node1", "tags": ["a", "b"]},
        {"OP_ID": "OP_TAGS_DEL", "kind": "node", "name": "node1", "tags": ["a"]}]
    assert gnt_node.main(["add-tags", "node1"]) == 1
    assert "No tags to be added" in capsys.readouterr().err


def test_argument_counts(capsys):
    assert gnt_node.main(["modify"]) == 1
    assert capsys.readouterr().err == "Error: Command modify expects 1 argument(s)\n"
    assert gnt_node.main([]) == 1
    usage = capsys.readouterr().out
    for name in ("add", "info", "list", "list-fields", "list-storage", "modify",
                 "powercycle", "remove", "add-tags", "list-tags", "remove-tags"):
        assert "\n %s " % name in usage


# --- list-storage ------------------------------------------------------------------------------

def test_list_storage_default_type_and_table(master, capsys):
    master.results = [[["node1.example.com", "file", "/srv/ganeti/file-storage", 258019,
                        176919, 81100, True]]]
    assert gnt_node.main(["list-storage"]) == 0
    assert master.submitted == [{"OP_ID": "OP_NODE_QUERY_STORAGE", "nodes": [],
                                 "storage_type": "file",
                                 "output_fields": gnt_node.STORAGE_FIELDS}]
    assert capsys.readouterr().out.splitlines() == [
        "Node              Type Name                       Size   Used  Free Allocatable",
        "node1.example.com file /srv/ganeti/file-storage 252.0G 172.8G 79.2G Y"]


def test_list_storage_fields_separator_and_bad_type(master, capsys):
    master.results = [[["node1.example.com", 81100, False]]]
    assert gnt_node.main(["list-storage", "-o", "node,free,allocatable", "--separator=:",
                          "--units=g", "node1"]) == 0
    assert capsys.readouterr().out == "Node:Free:Allocatable\nnode1.example.com:79.2:N\n"
    assert master.submitted[0]["nodes"] == ["node1"]
    assert gnt_node.main(["list-storage", "-t", "floppy"]) == 1
    assert "Unknown storage type: floppy" in capsys.readouterr().err


# --- gnt-group -----------------------------------------------------------------------------------

def test_group_add_options_to_opcode(master):
    assert gnt_group.main(["add", "--alloc-policy", "last_resort", "--node-parameters",
                           "spindle_count=2", "-D", "drbd:resync-rate=1000,protocol=B",
                           "--ipolicy-vcpu-ratio", "2.5", "--ipolicy-disk-templates",
                           "file,diskless", "--ipolicy-bounds-specs",
                           "min:cpu-count=1,disk-count=1,disk-size=1G,memory-size=128,"
                           "nic-count=1,spindle-use=1/max:cpu-count=4,disk-count=2,"
                           "disk-size=10G,memory-size=4G,nic-count=2,spindle-use=2",
                           "rack1"]) == 0
    op = master.submitted[0]
    assert op["OP_ID"] == "OP_GROUP_ADD" and op["group_name"] == "rack1"
    assert op["alloc_policy"] == "last_resort" and op["ndparams"] == {"spindle_count": 2}
    assert op["diskparams"] == {"drbd": {"resync-rate": 1000, "protocol": "B"}}
    assert op["ipolicy"]["vcpu-ratio"] == 2.5
    assert op["ipolicy"]["disk-templates"] == ["file", "diskless"]
    assert op["ipolicy"]["minmax"][0]["max"]["memory-size"] == 4096


def test_group_modify_default_values_and_result(master, capsys):
    master.results = [[["ipolicy", "{}"]]]
    assert gnt_group.main(["modify", "--ipolicy-vcpu-ratio", "default",
                           "--ipolicy-bounds-specs", "default", "default"]) == 0
    assert master.submitted[0]["ipolicy"] == {"vcpu-ratio": "default", "minmax": "default"}
    assert capsys.readouterr().out == "Modified node group default\n - ipolicy -> {}\n"
    assert gnt_group.main(["modify", "--ipolicy-spindle-ratio", "lots", "default"]) == 1
    assert "Invalid value 'lots' for --ipolicy-spindle-ratio" in capsys.readouterr().err


def test_group_modify_needs_a_change(master, capsys):
    assert gnt_group.main(["modify", "default"]) == 1
    assert capsys.readouterr().err == "Please give at least one of the parameters.\n"


def test_group_bad_alloc_policy_is_usage_error(capsys):
    with pytest.raises(SystemExit) as err:
        gnt_group.main(["add", "--alloc-policy", "sometimes", "g"])
    assert err.value.code == 2
    assert "invalid choice: 'sometimes'" in capsys.readouterr().err


def test_group_rename_remove_assign(master):
    assert gnt_group.main(["rename", "default", "main"]) == 0
    assert gnt_group.main(["remove", "--dry-run", "old"]) == 0
    assert gnt_group.main(["assign-nodes", "-f", "main", "node1", "node2"]) == 0
    assert gnt_group.main(["add-tags", "main", "t1"]) == 0
    assert master.submitted == [
        {"OP_ID": "OP_GROUP_RENAME", "group_name": "default", "new_name": "main"},
        {"OP_ID": "OP_GROUP_REMOVE", "group_name": "old"},
        {"OP_ID": "OP_GROUP_ASSIGN_NODES", "group_name": "main", "nodes": ["node1", "node2"],
         "force": True},
        {"OP_ID": "OP_TAGS_SET", "kind": "nodegroup", "name": "main", "tags": ["t1"]}]


def test_group_list_and_info_match_reference(master, capsys):
    assert gnt_group.main(["list"]) == 0
    assert capsys.readouterr().out.splitlines() == ref_lines("gnt-group-list.txt")
    assert gnt_group.main(["info", "default"]) == 0
    assert capsys.readouterr().out.splitlines() == ref_lines("gnt-group-info.txt")


def test_group_info_own_policy_values():
    custom = {"vcpu-ratio": 2.5, "disk-templates": ["file"],
              "minmax": [{"min": {"cpu-count": 1}, "max": {"cpu-count": 2}}]}
    effective = dict(C.IPOLICY_DEFAULTS, **custom)
    lines = base.format_generic_info([("Instance policy",
                                       gnt_group.group_policy_info(custom, effective))])
    assert lines == ["Instance policy: ", "  bounds specs: ", "    - max/0: ",
                     "        cpu-count: 2", "      min/0: ", "        cpu-count: 1",
                     "  allowed disk templates: file", "  vcpu-ratio: 2.5",
                     "  spindle-ratio: default (32)"]


def test_group_list_node_list_joined(master, capsys):
    assert gnt_group.main(["list", "--no-headers", "-o", "name,node_list,custom_ndparams"]) == 0
    assert capsys.readouterr().out == "default node1.example.com {}\n"


def test_unknown_group_info(master, capsys):
    assert gnt_group.main(["info", "nosuch"]) == 1
    assert "Group 'nosuch' not known" in capsys.readouterr().err


def test_opcode_errors_reach_the_user(master, capsys, monkeypatch):
    def fail(op, opts, *args, **kwargs):
        raise errors.OpPrereqError("Group 'x' not empty", errors.ECODE_STATE)
    monkeypatch.setattr(jobs, "submit_or_send", fail)
    assert gnt_group.main(["remove", "x"]) == 1
    assert capsys.readouterr().err.endswith("Group 'x' not empty\n")
