"""Node and group query tables over the Ganeti 3.0 reference config.data.

The RPC runner is replaced by a fake (it is the dependency, not what is
tested): the tests check which nodes are asked, how often, and how each
answer (or the lack of one) turns into values and special statuses.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import time

import pytest

from ganeti import config, errors, objects
from ganeti import constants as C
from ganeti.cli import gnt_group, gnt_node, table
from ganeti.cmdlib import query as cq
from ganeti.cmdlib import query_group, query_node

REF = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared",
                                    "reference", "ganeti-3.0"))
NODE1 = "5a7abf07-579a-45c6-95e3-fbabd8cbac10"
GROUP = "f519c630-23c6-47ee-aa10-2eb9fa59182c"


def ref_lines(name: str) -> list[str]:
    with open(os.path.join(REF, "outputs", name)) as fh:
        lines = fh.read().splitlines()
    return [line for line in lines[1:] if not line.startswith("[exit code")]


def rapi_body(name: str):
    with open(os.path.join(REF, "outputs", name)) as fh:
        text = fh.read()
    return json.loads(text[text.index("\n\n") + 2:text.rindex("\n\n[curl")])


class Result:
    def __init__(self, payload=None, fail_msg=None):
        self.payload = payload
        self.fail_msg = fail_msg


class FakeRpc:
    """Records calls; answers node_info from a per-node table (default: one answer)."""

    def __init__(self, answers=None, default=None):
        self.calls = []
        self.answers = answers or {}
        self.default = default

    def call(self, procedure, targets, args, timeout=None):
        self.calls.append((procedure, [tuple(t) for t in targets], args))
        out = {}
        for name, _addr, _off in targets:
            answer = self.answers.get(name, self.default)
            out[name] = answer if isinstance(answer, Result) else Result(answer)
        return out


def payload(mtotal=24103, mnode=274, mfree=23347, dtotal=258019, dfree=81100, storage=True):
    units = [{"type": "file", "name": "/srv", "storage_size": dtotal,
              "storage_free": dfree}] if storage else []
    return ["boot-id-1", units,
            [{"memory_total": mtotal, "memory_free": mfree, "memory_dom0": mnode,
              "cpu_total": 2, "cpu_nodes": 1, "cpu_sockets": 1, "cpu_dom0": 2}]]


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    """The reference cluster, trimmed to the two instances its outputs were taken with."""
    path = tmp_path / "config.data"
    shutil.copy(os.path.join(REF, "files", "config.data"), path)
    monkeypatch.setattr(config.ConfigWriter, "_distribute", lambda self, blob: None)
    cfg = config.ConfigWriter(path=str(path))
    data = cfg.data
    data.instances = {u: i for u, i in data.instances.items()
                      if i.name in ("inst1.example.com", "inst2.example.com")}
    return cfg


def add_node(cfg, name, **flags) -> objects.Node:
    node = copy.deepcopy(cfg.data.nodes[NODE1])
    node.uuid = objects.new_uuid()
    node.name = name
    node.primary_ip = node.secondary_ip = "198.51.100.%d" % (len(cfg.data.nodes) + 10)
    node.master_candidate = False
    node.ndparams = {}
    for key, value in flags.items():
        setattr(node, key, value)
    cfg.data.nodes[node.uuid] = node
    cfg.set_data(cfg.data)  # refresh the name index
    return node


def q(cfg, fields, qfilter=None, rpc=None, what="node"):
    return cq.query_config_resource(cfg, what, fields, qfilter, rpc=rpc)


def render(result, verbose=False, override=None):
    return table.format_query_result(result["fields"], result["data"], verbose=verbose,
                                     format_override=override)[1]


# --- field tables ------------------------------------------------------------------------

def test_node_list_fields_match_reference():
    lines = table.format_list_fields(cq.query_fields("node", None)["fields"])
    assert lines == ref_lines("gnt-node-list-fields.txt")


def test_tables_are_registered_for_luxi_and_opcode():
    assert cq.LUXI_RESOURCES[C.QR_NODE].table is query_node.NODE_FIELDS
    assert cq.LUXI_RESOURCES[C.QR_GROUP].table is query_group.GROUP_FIELDS
    # OP_QUERY's argument check accepts them
    assert cq.query_fields("group", ["name", "nosuch"])["fields"][1]["kind"] == \
        C.QFT_UNKNOWN


def test_group_field_titles_per_spec():
    titles = {n: f.fdef.title for n, f in query_group.GROUP_FIELDS.items()}
    assert titles["name"] == "Group" and titles["node_cnt"] == "Nodes"
    assert titles["pinst_cnt"] == "Instances" and titles["pinst_list"] == "InstanceList"
    assert titles["custom_diskparams"] == "CustomDiskParameters"
    assert titles["ndp/spindle_count"] == "SpindleCount"
    assert set(titles) >= {"alloc_policy", "node_list", "ipolicy", "custom_ipolicy",
                           "diskparams", "ndparams", "custom_ndparams", "ctime", "mtime",
                           "uuid", "serial_no", "tags"}


# --- config-only rows against the reference outputs ------------------------------------------

def test_node_list_matches_reference(cfg):
    rpc = FakeRpc(default=payload())
    lines = render(q(cfg, gnt_node.LIST_DEFAULT_FIELDS, rpc=rpc))
    assert lines == ref_lines("gnt-node-list.txt")
    assert len(rpc.calls) == 1
    proc, targets, args = rpc.calls[0]
    assert proc == "node_info" and targets == [("node1.example.com", "198.51.100.10", False)]
    # the cluster's default disk template is file: its directory is the storage unit
    assert args == [[["file", "/srv/ganeti/file-storage", []]],
                    [["fake", cfg.get_cluster_info().filled_hvparams("fake")]]]


def test_node_list_all_fields_matches_reference(cfg):
    wanted = ("name,pip,sip,master,master_candidate,offline,drained,vm_capable,group,"
              "pinst_cnt,sinst_cnt,mtotal,mfree,dtotal,dfree,ctotal,cnodes,csockets")
    rpc = FakeRpc(default=payload(mfree=23244))
    lines = render(q(cfg, wanted.split(","), rpc=rpc))
    assert lines == ref_lines("gnt-node-list-all-fields.txt")


def test_config_only_fields_make_no_rpc(cfg):
    rpc = FakeRpc(default=payload())
    res = q(cfg, ["name", "role", "pinst_list", "ndparams", "group.uuid"], rpc=rpc)
    assert rpc.calls == []
    assert res["data"] == [[[0, "node1.example.com"], [0, "M"],
                            [0, ["inst1.example.com", "inst2.example.com"]],
                            [0, cfg.get_cluster_info().ndparams], [0, GROUP]]]
    # a live field used only by the filter still needs the RPC
    q(cfg, ["name"], ["<", "mfree", 10], rpc=rpc)
    assert len(rpc.calls) == 1


def test_rapi_bulk_node_fields_from_config(cfg):
    ref = rapi_body("rapi-nodes-bulk.txt")[0]
    fields = [f for f in ref if f not in query_node.LIVE_FIELD_NAMES]
    row = cq.query_legacy(cfg, "node", None, fields)[0]
    assert dict(zip(fields, row, strict=True)) == {f: ref[f] for f in fields}
    assert list(ref["ndparams"]) == list(row[fields.index("ndparams")])  # same key order


def test_rapi_bulk_groups_identical(cfg):
    ref = rapi_body("rapi-groups.txt")
    fields = list(ref[0])
    rows = cq.query_legacy(cfg, "group", None, fields)
    assert [dict(zip(fields, r, strict=True)) for r in rows] == ref
    assert json.dumps(rows[0][fields.index("ipolicy")]) == json.dumps(ref[0]["ipolicy"])


def test_group_list_and_info_match_reference(cfg):
    override = {"ndparams": (table.format_dict, False)}
    assert render(q(cfg, gnt_group.LIST_DEFAULT_FIELDS, what="group"),
                  override=override) == ref_lines("gnt-group-list.txt")
    from ganeti.cli.base import format_generic_info
    rows = cq.query_legacy(cfg, "group", ["default"], gnt_group.INFO_FIELDS)
    assert format_generic_info(gnt_group.group_info_data(rows)) == \
        ref_lines("gnt-group-info.txt")


def test_node_info_matches_reference(cfg):
    from ganeti.cli.base import format_generic_info
    rows = cq.query_legacy(cfg, "node", [], gnt_node.INFO_FIELDS)
    assert format_generic_info(gnt_node.node_info_data(rows)) == \
        ref_lines("gnt-node-info.txt")


# --- roles, inheritance, instances, filters ---------------------------------------------------

def test_roles_and_flags(cfg):
    add_node(cfg, "node2.example.com", master_candidate=True)
    add_node(cfg, "node3.example.com")
    add_node(cfg, "node4.example.com", drained=True)
    add_node(cfg, "node10.example.com", offline=True)
    res = q(cfg, ["name", "role", "master", "offline"])
    assert [[c[1] for c in row] for row in res["data"]] == [
        ["node1.example.com", "M", True, False], ["node2.example.com", "C", False, False],
        ["node3.example.com", "R", False, False], ["node4.example.com", "D", False, False],
        ["node10.example.com", "O", False, True]]


def test_ndparams_inherit_cluster_group_node(cfg):
    cfg.get_cluster_info().ndparams["ssh_port"] = 2200
    cfg.data.nodegroups[GROUP].ndparams = {"spindle_count": 4, "oob_program": "/bin/oob"}
    node = cfg.data.nodes[NODE1]
    node.ndparams = {"spindle_count": 7}
    row = q(cfg, ["ndp/ssh_port", "ndp/spindle_count", "custom_ndparams", "powered",
                  "ndparams"])["data"][0]
    assert [c[1] for c in row[:4]] == [2200, 7, {"spindle_count": 7}, True]
    assert list(row[4][1]) == list(query_node.ND_ORDER)
    grow = q(cfg, ["ndp/spindle_count", "custom_ndparams", "ndp/ssh_port"],
             what="group")["data"][0]
    assert [c[1] for c in grow] == [4, {"spindle_count": 4, "oob_program": "/bin/oob"}, 2200]


def test_powered_unavailable_without_oob_program(cfg):
    assert q(cfg, ["powered"])["data"] == [[[C.RS_UNAVAIL, None]]]


def test_secondary_instances_from_disk_nodes(cfg):
    node2 = add_node(cfg, "node2.example.com")
    inst = next(i for i in cfg.data.instances.values() if i.disks)
    cfg.data.disks[inst.disks[0]].nodes = [NODE1, node2.uuid]
    res = q(cfg, ["name", "pinst_cnt", "sinst_cnt", "sinst_list"])
    assert [[c[1] for c in row] for row in res["data"]] == [
        ["node1.example.com", 2, 0, []], ["node2.example.com", 0, 1, [inst.name]]]
    grp = q(cfg, ["node_list", "pinst_list"], what="group")["data"][0]
    assert grp == [[0, ["node1.example.com", "node2.example.com"]],
                   [0, ["inst1.example.com", "inst2.example.com"]]]


def test_hostname_filter_and_rpc_restricted_to_named_nodes(cfg):
    add_node(cfg, "node2.example.com")
    rpc = FakeRpc(default=payload())
    res = q(cfg, ["name", "mfree"], ["|", ["==", "name", "node2"]], rpc=rpc)
    assert res["data"] == [[[0, "node2.example.com"], [0, 23347]]]
    assert [t[0] for t in rpc.calls[0][1]] == ["node2.example.com"]


def test_rows_nice_sorted(cfg):
    for name in ("node10.example.com", "node2.example.com", "node9.example.com"):
        add_node(cfg, name)
    names = [r[0][1] for r in q(cfg, ["name"])["data"]]
    assert names == ["node1.example.com", "node2.example.com", "node9.example.com",
                     "node10.example.com"]


# --- live specials ---------------------------------------------------------------------------------

LIVE = ["name", "mtotal", "dtotal", "bootid", "ctotal"]


def test_live_specials_offline_unavail_nodata(cfg):
    add_node(cfg, "node2.example.com", offline=True)
    add_node(cfg, "node3.example.com", vm_capable=False)
    add_node(cfg, "node4.example.com")
    rpc = FakeRpc(answers={"node4.example.com": Result(fail_msg="Error 7: connect failed")},
                  default=payload())
    res = q(cfg, LIVE, rpc=rpc)
    assert len(rpc.calls) == 1  # one fan-out, whatever the number of nodes
    assert [t[0] for t in rpc.calls[0][1]] == ["node1.example.com", "node4.example.com"]
    statuses = [[c[0] for c in row[1:]] for row in res["data"]]
    assert statuses == [[0] * 4, [C.RS_OFFLINE] * 4, [C.RS_UNAVAIL] * 4, [C.RS_NODATA] * 4]
    terse = render(res)
    assert terse[2].split() == ["node2.example.com", "*", "*", "*", "*"]
    assert terse[3].split() == ["node3.example.com", "-", "-", "-", "-"]
    assert terse[4].split() == ["node4.example.com", "?", "?", "?", "?"]
    verbose = render(res, verbose=True)
    assert verbose[2].split()[1:] == ["(offline)"] * 4
    assert verbose[3].split()[1:] == ["(unavail)"] * 4
    assert verbose[4].split()[1:] == ["(nodata)"] * 4
    legacy = cq.query_legacy(cfg, "node", ["node2", "node4"], ["name", "mtotal"], rpc=rpc)
    assert legacy == [["node2.example.com", None], ["node4.example.com", None]]


def test_no_storage_unit_is_nodata_for_disk_fields_only(cfg):
    cfg.get_cluster_info().enabled_disk_templates = ["diskless"]
    rpc = FakeRpc(default=payload(storage=False))
    row = q(cfg, ["dtotal", "dfree", "mtotal", "sptotal"], rpc=rpc)["data"][0]
    assert row == [[C.RS_NODATA, None], [C.RS_NODATA, None], [0, 24103],
                   [C.RS_NODATA, None]]
    assert rpc.calls[0][2][0] == []


def test_live_without_rpc_runner_or_with_garbage_is_nodata(cfg):
    assert q(cfg, ["mfree"])["data"] == [[[C.RS_NODATA, None]]]
    rpc = FakeRpc(default=["id", "not a list", None])
    assert q(cfg, ["mfree", "bootid"], rpc=rpc)["data"] == [[[C.RS_NODATA, None],
                                                             [0, "id"]]]


def test_storage_units_per_default_template(cfg):
    cluster = cfg.get_cluster_info()
    cluster.volume_group_name = "xenvg"
    for tmpl, unit in ((C.DT_SHARED_FILE, ["sharedfile", cluster.shared_file_storage_dir, []]),
                       (C.DT_PLAIN, ["lvm-vg", "xenvg", []]),
                       (C.DT_RBD, ["rados", "rbd", []])):
        cluster.enabled_disk_templates = [tmpl]
        assert query_node.default_storage_units(cluster) == [unit]
    cluster.enabled_disk_templates = [C.DT_BLOCK]
    assert query_node.default_storage_units(cluster) == []
    cluster.enabled_disk_templates = [C.DT_PLAIN]
    cluster.volume_group_name = None  # no volume group: nothing to ask for
    assert query_node.default_storage_units(cluster) == []


# --- legacy calls ----------------------------------------------------------------------------------

def test_legacy_unknown_name_and_field(cfg):
    with pytest.raises(errors.OpPrereqError) as err:
        cq.query_legacy(cfg, "node", ["nosuch"], ["name"])
    assert err.value.args == ("Node 'nosuch' not known", errors.ECODE_NOENT)
    with pytest.raises(errors.OpPrereqError, match="Group 'g9' not known"):
        cq.query_legacy(cfg, "group", ["g9"], ["name"])
    with pytest.raises(errors.OpPrereqError, match="Unknown output fields selected: bad"):
        cq.query_legacy(cfg, "node", None, ["name", "bad"])


def test_legacy_keeps_requested_order_and_accepts_uuids(cfg):
    add_node(cfg, "node2.example.com")
    rows = cq.query_legacy(cfg, "node", ["node2", NODE1], ["name"])
    assert rows == [["node2.example.com"], ["node1.example.com"]]
    assert cq.query_legacy(cfg, "group", [GROUP], ["name"]) == [["default"]]


def test_masterd_exposes_legacy_calls(cfg):
    from ganeti.server import masterd
    master = masterd.Master.__new__(masterd.Master)
    master.cfg, master.rpc, master.jqueue = cfg, FakeRpc(default=payload()), None
    methods = master.methods()
    assert methods["QueryNodes"](["node1"], ["name", "mfree"], False) == \
        [["node1.example.com", 23347]]
    assert methods["QueryGroups"]([], ["name", "node_cnt"], False) == [["default", 1]]
    assert methods["Query"]("node", ["name"], None)["data"] == [[[0, "node1.example.com"]]]
    assert methods["QueryFields"]("group", ["name"])["fields"][0]["title"] == "Group"


def test_twenty_nodes_one_rpc_and_fast(cfg):
    for i in range(2, 21):
        add_node(cfg, "node%d.example.com" % i)
    rpc = FakeRpc(default=payload())
    start = time.perf_counter()
    for _ in range(10):
        res = q(cfg, gnt_node.LIST_DEFAULT_FIELDS, rpc=rpc)
    per_query = (time.perf_counter() - start) / 10
    assert len(res["data"]) == 20 and len(rpc.calls) == 10
    assert all(len(call[1]) == 20 for call in rpc.calls)
    assert per_query < 0.02, "master-side work for 20 nodes took %.1f ms" % (per_query * 1e3)


def test_op_query_goes_through_the_same_tables(cfg):
    from types import SimpleNamespace

    from ganeti import opcodes
    rpc = FakeRpc(default=payload())
    proc = SimpleNamespace(context=SimpleNamespace(cfg=cfg, glm=None, rpc=rpc))
    op = opcodes.OpCode.from_dict({"OP_ID": "OP_QUERY", "what": "node",
                                   "fields": ["name", "mfree"], "qfilter": None})
    lu = cq.LUQuery(proc, op, SimpleNamespace(job_id=1))
    lu.expand_names()
    assert lu.exec(None)["data"] == [[[0, "node1.example.com"], [0, 23347]]]
    op = opcodes.OpCode.from_dict({"OP_ID": "OP_QUERY_FIELDS", "what": "group",
                                   "fields": ["alloc_policy"]})
    lu = cq.LUQueryFields(proc, op, SimpleNamespace(job_id=1))
    assert lu.exec(None)["fields"][0]["title"] == "AllocPolicy"
