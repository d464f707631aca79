"""The RAPI resource table and the request checks that need no cluster.

Handlers here get a real LUXI client pointed at a socket that doesn't
exist: any request that reached the master would fail with
NoMasterError instead of the expected 4xx, so these tests also prove
that bad input is refused before anything is sent. The handlers' work
against a real master is tested in test/integration/test_rapi_resources.py.
"""

from __future__ import annotations

import json

import pytest

from ganeti import errors, luxi, opcodes
from ganeti.rapi import res_common, res_instances_ops
from ganeti.rapi.base import Context, RapiError
from ganeti.rapi.resources import RESOURCES

BY_PATH = {res.path: res for res in RESOURCES}


def call(method: str, template: str, params=None, query=None, body=None, tmp="/nonexistent"):
    res = BY_PATH[template]
    ctx = Context(method=method, path=template, params=params or {},
                  query={k: v if isinstance(v, list) else [v] for k, v in (query or {}).items()},
                  body=body, user=None, resource_name=res.name,
                  luxi_factory=lambda: luxi.Client(tmp + "/no-master-socket"))
    return res.methods[method].handler(ctx)


def refused(code: int, *args, **kwargs) -> RapiError:
    with pytest.raises(RapiError) as info:
        call(*args, **kwargs)
    assert info.value.code == code, info.value.body()
    return info.value


# -- the table ------------------------------------------------------------------------

def test_table_order_and_shape():
    paths = [res.path for res in RESOURCES]
    assert paths[:4] == ["/version", "/", "/2", "/2/info"]
    assert paths.index("/2/jobs") < paths.index("/2/nodes") < paths.index("/2/groups") \
        < paths.index("/2/instances") < paths.index("/2/networks") \
        < paths.index("/2/query/{resource}") < paths.index("/2/filters")
    assert len(paths) == len(set(paths))
    names = [res.name for res in RESOURCES]
    assert len(names) == len(set(names))
    for res in RESOURCES:
        assert res.methods, res.path
        for verb, method in res.methods.items():
            assert verb in ("GET", "PUT", "POST", "DELETE")
            assert method.summary, (res.path, verb)
            json.dumps([method.body, method.returns])      # usable for OpenAPI
            if method.job:
                assert method.returns == res_common.JOB_ID_SCHEMA, res.path


def test_special_access_lists():
    assert BY_PATH["/2/jobs/{job_id}/wait"].methods["GET"].required_access("GET") == ("write",)
    assert BY_PATH["/2/nodes/{node_name}/storage"].methods["GET"].required_access("GET") \
        == ("write",)
    assert BY_PATH["/2/instances/{instance_name}/console"].methods["GET"] \
        .required_access("GET") == ("write", "read")
    assert BY_PATH["/2/query/{resource}"].methods["PUT"].required_access("PUT") \
        == ("write", "read")
    assert BY_PATH["/2/instances"].methods["GET"].required_access("GET") == ()


def test_bindings_name_real_opcodes():
    for value in vars(res_instances_ops).values():
        if isinstance(value, res_common.OpBinding):
            assert value.op_id in opcodes.OPCODE_TABLE
            assert set(value.path) | set(value.forced) <= \
                {p[0] for p in opcodes.params_of(value.op_id)}


def test_create_body_schema():
    schema = BY_PATH["/2/instances"].methods["POST"].body
    assert schema["additionalProperties"] is False
    assert {"__version__", "mode", "disks", "nics", "instance_name"} <= set(schema["required"])
    assert schema["properties"]["start"]["type"] == "boolean"
    assert "name" in schema["properties"] and "os" in schema["properties"]
    startup = BY_PATH["/2/instances/{instance_name}/startup"].methods["PUT"]
    assert startup.body is None and startup.job
    assert {"force", "no_remember", "dry-run", "reason"} <= set(startup.query_args)


# -- fixed answers --------------------------------------------------------------------

def test_fixed_answers():
    assert call("GET", "/version") == 2
    assert call("GET", "/") is None and call("GET", "/2") is None
    assert call("GET", "/2/features") == ["node-migrate-reqv1", "instance-create-reqv1",
                                          "instance-reinstall-reqv1", "node-evac-res1"]


def test_master_unreachable_is_a_ganeti_error():
    with pytest.raises(errors.NoMasterError):
        call("GET", "/2/info")


# -- building opcodes -----------------------------------------------------------------

def test_fill_opcode_renames_and_static():
    op = res_common.fill_opcode("OP_GROUP_SET_PARAMS", {"custom_ndparams": {"a": 1}},
                                {"group_name": "g"},
                                {"custom_ndparams": "ndparams"})
    assert op == {"OP_ID": "OP_GROUP_SET_PARAMS", "group_name": "g", "ndparams": {"a": 1}}
    with pytest.raises(RapiError, match="only one"):
        res_common.fill_opcode("OP_GROUP_SET_PARAMS", {"custom_ndparams": {}, "ndparams": {}},
                               {"group_name": "g"}, {"custom_ndparams": "ndparams"})
    with pytest.raises(RapiError, match="Static parameters can not be overridden: group_name"):
        res_common.fill_opcode("OP_GROUP_SET_PARAMS", {"group_name": "h"}, {"group_name": "g"})


@pytest.mark.parametrize("body,fragment", [
    ({"nosuch": 1}, "nosuch"),
    ({"alloc_policy": "sometimes"}, "alloc_policy"),
    ({"ndparams": [1]}, "ndparams"),
    ({"OP_ID": "OP_CLUSTER_DESTROY"}, "OP_ID"),
    ("text", "object"),
])
def test_fill_opcode_refuses(body, fragment):
    with pytest.raises(RapiError) as info:
        res_common.fill_opcode("OP_GROUP_SET_PARAMS", body, {"group_name": "g"})
    assert info.value.code == 400 and fragment in info.value.message


def test_missing_required_and_unknown_opcode():
    with pytest.raises(RapiError, match="missing"):
        res_common.fill_opcode("OP_GROUP_RENAME", {}, {"group_name": "g"})
    with pytest.raises(RapiError) as info:
        res_common.fill_opcode("OP_NO_SUCH_THING", {})
    assert info.value.code == 501


@pytest.mark.parametrize("name", ["../x", "..", "a/b", ".x", "", "x y", "a\x00b", "é", "x" * 300,
                                  "a..b"])
def test_bad_names(name):
    with pytest.raises(RapiError) as info:
        res_common.check_name("instance", name)
    assert info.value.code == 400


@pytest.mark.parametrize("name", ["inst1.example.com", "node-2", "default", "g_1"])
def test_good_names(name):
    assert res_common.check_name("instance", name) == name


def test_legacy_value_formats():
    params = {"hvparams": {"usb_devices": "a b c"}}
    res_instances_ops.convert_usb_devices(params)
    assert params == {"hvparams": {"usb_devices": "a,b,c"}}
    assert res_instances_ops.parse_disk_indices("0,2") == [0, 2]
    assert res_instances_ops.parse_disk_indices("") == []
    with pytest.raises(RapiError):
        res_instances_ops.parse_disk_indices("0,x")


def test_schema_for_check():
    params = {p[0]: p for p in opcodes.params_of("OP_INSTANCE_CREATE")}
    assert res_common.schema_for_check(params["start"][2])["type"] == "boolean"
    assert res_common.schema_for_check(params["disks"][2])["type"] == "array"
    assert res_common.schema_for_check(params["pnode"][2])["type"] == ["string", "null"]
    assert set(res_common.schema_for_check(params["mode"][2])["enum"]) == \
        {"create", "import", "remote-import"}


# -- handlers refuse bad input before talking to the master ---------------------------

INST = "/2/instances/{instance_name}"
P = {"instance_name": "inst1.example.com"}


@pytest.mark.parametrize("method,template,kwargs,code", [
    ("POST", "/2/instances", {"body": {"mode": "create"}}, 400),
    ("POST", "/2/instances", {"body": {"__version__": 1, "bogus": True}}, 400),
    ("POST", "/2/instances", {"body": [1]}, 400),
    ("GET", INST, {"params": {"instance_name": "../etc/passwd"}}, 400),
    ("GET", INST, {"params": P, "query": {"lock": "1"}}, 400),
    ("DELETE", INST, {"params": P, "body": {"instance_name": "x"}}, 400),
    ("PUT", INST + "/shutdown", {"params": P, "body": {"timeout": -1}}, 400),
    ("POST", INST + "/reboot", {"params": P, "query": {"type": "gentle"}}, 400),
    ("POST", INST + "/reinstall", {"params": P, "body": {"os": 1}}, 400),
    ("POST", INST + "/disk/{disk_index}/grow",
     {"params": dict(P, disk_index="-1"), "body": {"amount": 1}}, 400),
    ("PUT", INST + "/tags", {"params": P}, 400),
    ("DELETE", INST + "/tags", {"params": P}, 400),
    ("PUT", INST + "/modify", {"params": P, "body": {"hvparams": "x"}}, 400),
    ("PUT", "/2/modify", {"body": {"compression_tools": []}}, 403),
    ("GET", "/2/jobs/{job_id}", {"params": {"job_id": "1e3"}}, 400),
    ("GET", "/2/jobs/{job_id}/wait", {"params": {"job_id": "1"}, "body": {}}, 400),
    ("PUT", "/2/nodes/{node_name}/role", {"params": {"node_name": "n1"}, "body": "master"},
     400),
    ("PUT", "/2/nodes/{node_name}/role", {"params": {"node_name": "n1"}, "body": 3}, 400),
    ("POST", "/2/nodes/{node_name}/migrate",
     {"params": {"node_name": "n1"}, "query": {"live": "1", "mode": "live"}}, 400),
    ("GET", "/2/nodes/{node_name}/storage", {"params": {"node_name": "n1"}}, 400),
    ("PUT", "/2/nodes/{node_name}/storage/repair",
     {"params": {"node_name": "n1"}, "query": {"storage_type": "lvm-vg"}}, 400),
    ("POST", "/2/groups", {"body": {"name": "g", "group_name": "g"}}, 400),
    ("GET", "/2/query/{resource}", {"params": {"resource": "instance"}}, 400),
    ("GET", "/2/query/{resource}", {"params": {"resource": "os"},
                                    "query": {"fields": "name"}}, 404),
    ("GET", "/2/query/{resource}/fields", {"params": {"resource": "filter"}}, 501),
    ("GET", "/2/networks", {}, 501),
    ("PUT", "/2/networks/{network_name}/rename", {"params": {"network_name": "n"}}, 501),
    ("POST", "/2/filters", {"body": {}}, 501),
    ("POST", "/2/instances-multi-alloc", {"body": {"instances": []}}, 400),
])
def test_bad_requests(method, template, kwargs, code):
    err = refused(code, method, template, **kwargs)
    assert err.message and err.body()["code"] == code
