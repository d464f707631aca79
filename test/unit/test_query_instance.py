# ruff: noqa: F811 - the shared "cfg" fixture is imported from test_query_node
"""The instance query resource and OP_INSTANCE_QUERY_DATA over the reference config.

The node RPC is replaced by a fake that answers ``all_instances_info``,
``instance_info`` and ``blockdev_find`` from tables: the tests check
which nodes are asked, and how answers (or their absence) become values,
special statuses and the ``status`` column.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from ganeti import constants as C
from ganeti import opcodes
from ganeti.cli import gnt_instance, table
from ganeti.cmdlib import query as cq
from ganeti.cmdlib import query_instance as qi
from ganeti.cmdlib.instance_query import LUInstanceQueryData
from ganeti.query import NODATA

from test_query_node import NODE1, Result, add_node, cfg, ref_lines  # noqa: F401

INST1 = "inst1.example.com"
INST2 = "inst2.example.com"
NODE1_NAME = "node1.example.com"
RUNNING = {"memory": 128, "vcpus": 1, "state": "running", "time": 1.0}


class InstRpc:
    """Answers per procedure and node; records every call."""

    def __init__(self, answers=None):
        self.calls = []
        self.answers = answers or {}

    def call(self, procedure, targets, args, timeout=None):
        self.calls.append((procedure, [tuple(t) for t in targets], args))
        out = {}
        for name, _addr, _off in targets:
            answer = self.answers.get((procedure, name))
            if answer is None and procedure == "all_instances_info":
                answer = {INST1: RUNNING, INST2: RUNNING}
            if answer is None and procedure == "instance_info":
                answer = RUNNING
            if answer is None and procedure == "blockdev_find":
                answer = {"dev_path": args[0]["logical_id"][1], "major": None,
                          "minor": None, "sync_percent": None, "estimated_time": None,
                          "is_degraded": False, "ldisk_status": C.LDS_OKAY}
            out[name] = answer if isinstance(answer, Result) else Result(answer)
        return out


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def q(cfg, fields, qfilter=None, rpc=None):
    return cq.query_config_resource(cfg, C.QR_INSTANCE, fields, qfilter, rpc=rpc)


def render(result, **kwargs):
    return table.format_query_result(result["fields"], result["data"], **kwargs)[1]


# --- field table ----------------------------------------------------------------------------

def test_list_fields_match_reference():
    lines = table.format_list_fields(cq.query_fields("instance", None)["fields"])
    assert lines == ref_lines("gnt-instance-list-fields.txt")


def test_resource_registered_with_live_kind():
    res = cq.LUXI_RESOURCES[C.QR_INSTANCE]
    assert res.table is qi.INSTANCE_FIELDS and res.live_kind == qi.IQ_LIVE
    assert qi.INSTANCE_FIELDS["status"].data_kind == qi.IQ_LIVE
    assert qi.INSTANCE_FIELDS["name"].data_kind is None


def test_ordinals():
    assert [qi.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd"]


# --- listing over the reference config --------------------------------------------------

def test_default_list_matches_reference(cfg):
    rpc = InstRpc()
    result = q(cfg, gnt_instance.LIST_DEFAULT_FIELDS, rpc=rpc)
    assert render(result) == ref_lines("gnt-instance-list.txt")
    assert [c[0] for c in rpc.calls] == ["all_instances_info"]
    assert rpc.calls[0][1] == [(NODE1_NAME, "192.0.2.11", False)] or \
        rpc.calls[0][1][0][0] == NODE1_NAME
    assert rpc.calls[0][2] == [["fake"], {"fake": {"migration_mode": "live"}}]


def test_after_shutdown_and_separator_forms(cfg):
    rpc = InstRpc({("all_instances_info", NODE1_NAME): {INST1: RUNNING}})
    result = q(cfg, gnt_instance.LIST_DEFAULT_FIELDS, rpc=rpc)
    inst2 = cfg.get_instance_by_name(INST2)
    inst2.admin_state = C.ADMINST_DOWN
    result = q(cfg, gnt_instance.LIST_DEFAULT_FIELDS, rpc=rpc)
    assert render(result) == ref_lines("gnt-instance-list-after-shutdown.txt")
    inst2.admin_state = C.ADMINST_UP
    rpc = InstRpc()
    result = q(cfg, gnt_instance.LIST_DEFAULT_FIELDS, rpc=rpc)
    assert render(result, separator=",") == ref_lines("gnt-instance-list-sep-headers.txt")
    fields = ["name", "status", "pnode", "os", "disk_template", "be/memory"]
    assert render(q(cfg, fields, rpc=rpc), separator=",", header=False) == \
        ref_lines("gnt-instance-list-noheaders-sep.txt")


def test_config_only_fields_make_no_rpc(cfg, utc):
    rpc = InstRpc()
    fields = ["name", "be/memory", "disk.size/0"]
    assert render(q(cfg, fields, rpc=rpc), units="m") == \
        ref_lines("gnt-instance-list-units.txt")
    assert rpc.calls == []


def test_custom_fields_match_reference(cfg, utc):
    fields = ("name,status,admin_state,oper_state,pnode,disk_template,be/memory,be/vcpus,"
              "nic.count,disk.count,disk.sizes,ctime,uuid").split(",")
    override = {"disk.sizes": (table.join_list, False)}
    result = q(cfg, fields, rpc=InstRpc())
    assert table.format_query_result(result["fields"], result["data"],
                                     format_override=override)[1] == \
        ref_lines("gnt-instance-list-fields-custom.txt")


def test_rapi_fields_match_reference(cfg):
    import json
    import os

    from test_query_node import REF
    with open(os.path.join(REF, "outputs", "rapi-instance-info.txt")) as fh:
        text = fh.read()
    body = json.loads(text[text.index("\n\n") + 2:text.rindex("\n\n[curl")])
    fields = [f for f in body if f != "beparams"]
    rows = cq.query_legacy(cfg, C.QR_INSTANCE, [INST1], fields, rpc=InstRpc())
    got = dict(zip(fields, rows[0], strict=True))
    for key in fields:
        assert got[key] == body[key], key
    beparams = q(cfg, ["beparams"])["data"][0][0][1]
    assert list(beparams) == ["minmem", "maxmem", "vcpus", "auto_balance",
                              "always_failover", "spindle_use"]


def test_aliases_and_indexed_fields(cfg):
    fields = ["vcpus", "sda_size", "sdb_size", "mac", "ip", "bridge", "nic_mode",
              "nic.vlan/0", "nic.mac/1", "disk.uuid/0", "disk.name/0", "hv/acpi",
              "network_port"]
    data = q(cfg, fields, ["==", "name", INST2])["data"][0]
    assert data[0] == [0, 1] and data[1] == [0, 1024] and data[2] == [3, None]
    assert data[3][1].startswith("aa:00:00") and data[4] == [3, None]
    assert data[5] == [0, "br0"] and data[6] == [0, "bridged"]
    assert data[7] == [3, None] and data[8] == [3, None]
    assert data[9][0] == 0 and data[10] == [3, None]
    assert data[11] == [3, None] and data[12] == [3, None]


def test_filter_by_short_name_limits_rpc(cfg):
    rpc = InstRpc()
    result = q(cfg, ["name", "status"], ["==", "name", "inst2"], rpc=rpc)
    assert result["data"] == [[[0, INST2], [0, "running"]]]
    assert len(rpc.calls) == 1
    # a status filter needs live data even when status is not shown
    rpc = InstRpc({("all_instances_info", NODE1_NAME): {INST1: RUNNING}})
    result = q(cfg, ["name"], ["==", "status", "ERROR_down"], rpc=rpc)
    assert result["data"] == [[[0, INST2]]]


# --- status computation ------------------------------------------------------------------

def _item(**kw):
    values = dict(admin_state=C.ADMINST_UP, admin_state_source=C.ADMIN_SOURCE,
                  pnode_offline=False, live={}, elsewhere=False, user_shutdown=False)
    values.update(kw)
    return qi.InstanceItem(**values)


@pytest.mark.parametrize("kw, status", [
    (dict(live=RUNNING), "running"),
    (dict(live=RUNNING, admin_state=C.ADMINST_DOWN), "ERROR_up"),
    (dict(), "ERROR_down"),
    (dict(admin_state=C.ADMINST_DOWN), "ADMIN_down"),
    (dict(admin_state=C.ADMINST_OFFLINE), "ADMIN_offline"),
    (dict(live=NODATA), "ERROR_nodedown"),
    (dict(pnode_offline=True, live=RUNNING), "ERROR_nodeoffline"),
    (dict(elsewhere=True), "ERROR_wrongnode"),
    (dict(live=dict(RUNNING, state="shutdown"), user_shutdown=True), "USER_down"),
    (dict(live=dict(RUNNING, state="shutdown")), "ERROR_down"),
    (dict(admin_state=C.ADMINST_DOWN, admin_state_source=C.USER_SOURCE,
          user_shutdown=True), "USER_down"),
])
def test_status_values(kw, status):
    assert qi.compute_status(_item(**kw)) == status


def test_live_specials_offline_nodedown_wrongnode(cfg):
    node2 = add_node(cfg, "node2.example.com")
    inst2 = cfg.get_instance_by_name(INST2)
    inst2.primary_node = node2.uuid
    for disk in cfg.get_instance_disks(inst2.uuid):
        disk.nodes = [node2.uuid]
    cfg.set_data(cfg.data)
    fields = ["name", "status", "oper_state", "oper_ram", "oper_vcpus", "pnode"]
    # node2 does not answer
    rpc = InstRpc({("all_instances_info", "node2.example.com"): Result(None, "timeout")})
    data = q(cfg, fields, rpc=rpc)["data"]
    assert data[1][1:4] == [[0, "ERROR_nodedown"], [2, None], [2, None]]
    # inst2 runs on node1 instead
    rpc = InstRpc({("all_instances_info", "node2.example.com"): {}})
    data = q(cfg, fields, rpc=rpc)["data"]
    assert data[1][1:3] == [[0, "ERROR_wrongnode"], [0, False]]
    assert data[1][3] == [3, None]
    # node2 offline: not asked at all
    node2.offline = True
    rpc = InstRpc()
    data = q(cfg, fields, rpc=rpc)["data"]
    assert data[1][1:4] == [[0, "ERROR_nodeoffline"], [4, None], [4, None]]
    assert all(t[0] != "node2.example.com" for c in rpc.calls for t in c[1])


def test_rpc_layer_failure_is_nodata(cfg):
    class Broken:
        def call(self, *args, **kwargs):
            from ganeti import errors
            raise errors.ProgrammerError("Unknown RPC procedure 'all_instances_info'")
    data = q(cfg, ["name", "status", "oper_ram"], rpc=Broken())["data"]
    assert data[0][1:] == [[0, "ERROR_nodedown"], [2, None]]


def test_drbd_secondary_and_disk_usage(cfg):
    node2 = add_node(cfg, "node2.example.com")
    inst2 = cfg.get_instance_by_name(INST2)
    disk = cfg.get_instance_disks(inst2.uuid)[0]
    disk.dev_type = C.DT_DRBD8
    disk.nodes = [NODE1, node2.uuid]
    data = q(cfg, ["snodes", "disk_template", "disk_usage", "snodes.group"],
             ["==", "name", INST2])["data"][0]
    assert data == [[0, ["node2.example.com"]], [0, "drbd"], [0, 1152], [0, ["default"]]]


# --- OP_INSTANCE_QUERY_DATA ---------------------------------------------------------------------

def run_query_data(cfg, rpc, instances, static=False):
    proc = SimpleNamespace(context=SimpleNamespace(cfg=cfg, glm=None, rpc=rpc))
    op = opcodes.OpCode.from_dict({"OP_ID": "OP_INSTANCE_QUERY_DATA",
                                   "instances": instances, "static": static})
    lu = LUInstanceQueryData(proc, op, SimpleNamespace(job_id=1, feedback=lambda *a: None))
    lu.expand_names()
    return lu.exec(None)


def test_query_data_live(cfg):
    rpc = InstRpc()
    result = run_query_data(cfg, rpc, ["inst2"])
    entry = result[INST2]
    assert entry["run_state"] == "up" and entry["config_state"] == "up"
    assert entry["pnode"] == NODE1_NAME and entry["pnode_group_name"] == "default"
    assert entry["disk_template"] == "file" and entry["hv_actual"] == {}
    disk = entry["disks"][0]
    assert set(disk) == {"dev_type", "logical_id", "pstatus", "sstatus", "children",
                         "iv_name", "size", "mode", "name", "uuid", "spindles"}
    assert disk["pstatus"][0] == disk["logical_id"][1] and disk["sstatus"] is None
    assert len(entry["nics"][0]) == 9 and entry["nics"][0][4] == "bridged"
    assert not any(key.startswith("_") for key in entry)


def test_query_data_static_and_unknown(cfg):
    rpc = InstRpc()
    result = run_query_data(cfg, rpc, [], static=True)
    assert list(result) == [INST1, INST2] and rpc.calls == []
    assert result[INST1]["run_state"] is None
    from ganeti import errors
    with pytest.raises(errors.OpPrereqError, match="Instance 'nosuch' not known"):
        run_query_data(cfg, rpc, ["nosuch"])
