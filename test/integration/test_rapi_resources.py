"""RAPI resource handlers against a real one-node virtual cluster.

Handlers are called directly with a :class:`Context` whose LUXI client
talks to the cluster's master; answers are compared in shape (keys and
key order) with the Ganeti 3.0 reference outputs.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from cluster_env import https_request, master_socket
from instance_env import NODE

from ganeti import constants, luxi
from ganeti.rapi.base import Context, RapiError, RawJson
from ganeti.rapi.resources import RESOURCES

REFERENCE = "/work/shared/reference/ganeti-3.0/outputs"
BY_PATH = {res.path: res for res in RESOURCES}
INST = "/2/instances/{instance_name}"


def reference(name: str):
    """The JSON body of a reference ``curl -i`` transcript."""
    path = os.path.join(REFERENCE, name)
    if not os.path.exists(path):
        pytest.skip("reference output %s not available" % name)
    with open(path) as fh:
        text = fh.read()
    body = text.split("\n\n", 1)[1].split("\n\n[curl exit code", 1)[0]
    return json.loads(body)


def call(env: dict, method: str, template: str, params: dict | None = None,
         query: dict | None = None, body=None):
    res = BY_PATH[template]
    ctx = Context(method=method, path=template, params=params or {},
                  query={k: v if isinstance(v, list) else [v] for k, v in (query or {}).items()},
                  body=body, user="admin", resource_name=res.name,
                  luxi_factory=lambda: luxi.Client(master_socket(env)))
    result = res.methods[method].handler(ctx)
    # pre-encoded answers (bulk lists) are what the client would decode
    return json.loads(result.text) if isinstance(result, RawJson) else result


def bad(env: dict, method: str, template: str, code: int = 400, **kwargs) -> RapiError:
    with pytest.raises(RapiError) as info:
        call(env, method, template, **kwargs)
    assert info.value.code == code, info.value.body()
    assert info.value.message
    return info.value


def wait_job(env: dict, job_id, timeout: float = 120) -> list:
    assert isinstance(job_id, int) and not isinstance(job_id, bool)
    client = luxi.Client(master_socket(env))
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            status, opresult = client.query_jobs([job_id], ["status", "opresult"])[0]
            if status in constants.JOBS_FINALIZED:
                return [status, opresult]
            time.sleep(0.2)
    finally:
        client.close()
    raise AssertionError("job %s did not finish" % job_id)


def ok_job(env: dict, job_id) -> list:
    status, opresult = wait_job(env, job_id)
    assert status == "success", opresult
    return opresult


def instance_names(env: dict) -> list[str]:
    return [item["id"] for item in call(env, "GET", "/2/instances")]


def create_body(name: str, **extra) -> dict:
    body = {"__version__": 1, "mode": "create", "instance_name": name,
            "disk_template": "diskless", "disks": [], "nics": [{}], "os_type": "noop",
            "pnode": NODE, "name_check": False, "ip_check": False, "hypervisor": "fake",
            "beparams": {"memory": 128}}
    body.update(extra)
    return body


@pytest.fixture(scope="module")
def inst(env):
    if not os.path.isdir("/usr/share/ganeti/os/noop"):
        pytest.skip("the noop OS is not installed")
    name = "rapi1.vcluster.test"
    ok_job(env, call(env, "POST", "/2/instances", body=create_body(name)))
    return name


# -- cluster --------------------------------------------------------------------------

def test_cluster_basics(env):
    assert call(env, "GET", "/version") == 2
    assert call(env, "GET", "/") is None and call(env, "GET", "/2") is None
    assert call(env, "GET", "/2/features") == reference("rapi-features.txt")
    info = call(env, "GET", "/2/info")
    ref = reference("rapi-info.txt")
    assert [k for k in ref if k in info] == [k for k in info if k in ref]
    assert info["master"] == NODE and info["name"]


def test_os_list(env):
    names = call(env, "GET", "/2/os")
    assert "noop" in names or any(n.startswith("noop") for n in names)
    bulk = call(env, "GET", "/2/os", query={"bulk": "1"})
    assert bulk and list(bulk[0]) == ["name", "valid", "variants", "parameters",
                                      "api_versions", "blacklisted", "hidden", "trusted"]


def test_cluster_tags_and_modify(env):
    ok_job(env, call(env, "PUT", "/2/tags", query={"tag": ["rapi-a", "rapi-b"]}))
    assert {"rapi-a", "rapi-b"} <= set(call(env, "GET", "/2/tags"))
    ok_job(env, call(env, "DELETE", "/2/tags", query={"tag": "rapi-a"}))
    tags = call(env, "GET", "/2/tags")
    assert "rapi-a" not in tags and "rapi-b" in tags
    bad(env, "PUT", "/2/tags")
    # dry-run: checked, not done
    ok_job(env, call(env, "PUT", "/2/tags", query={"tag": "dry", "dry-run": "1"}))
    assert "dry" not in call(env, "GET", "/2/tags")
    ok_job(env, call(env, "PUT", "/2/modify", body={"candidate_pool_size": 7}))
    assert call(env, "GET", "/2/info")["candidate_pool_size"] == 7
    assert bad(env, "PUT", "/2/modify", 403, body={"compression_tools": ["gzip"]})
    bad(env, "PUT", "/2/modify", body={"candidate_pool_size": "seven"})
    bad(env, "PUT", "/2/modify", body={"no_such_param": 1})
    bad(env, "PUT", "/2/modify", body=["not", "a", "dict"])
    ok_job(env, call(env, "PUT", "/2/redistribute-config"))


# -- nodes ----------------------------------------------------------------------------

def test_nodes(env):
    assert call(env, "GET", "/2/nodes") == [{"id": NODE, "uri": "/2/nodes/" + NODE}]
    bulk = call(env, "GET", "/2/nodes", query={"bulk": "1"})
    assert list(bulk[0]) == list(reference("rapi-nodes-bulk.txt")[0])
    node = call(env, "GET", "/2/nodes/{node_name}", params={"node_name": NODE})
    assert list(node) == list(bulk[0]) and node["role"] == "M"
    assert call(env, "GET", "/2/nodes/{node_name}/role", params={"node_name": NODE}) == "master"
    bad(env, "GET", "/2/nodes/{node_name}", 404, params={"node_name": "nosuch.vcluster.test"})
    bad(env, "GET", "/2/nodes/{node_name}", params={"node_name": NODE}, query={"lock": "1"})
    p = {"node_name": NODE}
    ok_job(env, call(env, "PUT", "/2/nodes/{node_name}/tags", params=p, query={"tag": "nt"}))
    assert call(env, "GET", "/2/nodes/{node_name}/tags", params=p) == ["nt"]
    ok_job(env, call(env, "DELETE", "/2/nodes/{node_name}/tags", params=p, query={"tag": "nt"}))
    # the master can't be made anything else; the master says so in the job
    bad(env, "PUT", "/2/nodes/{node_name}/role", params=p, body="master")
    bad(env, "PUT", "/2/nodes/{node_name}/role", params=p, body={"role": "drained"})
    bad(env, "POST", "/2/nodes/{node_name}/modify", params=p, body={"offline": "yes"})
    bad(env, "POST", "/2/nodes/{node_name}/modify", params=p, body={"node_name": "other"})
    bad(env, "POST", "/2/nodes/{node_name}/evacuate", params=p, body={"mode": "sideways"})
    bad(env, "POST", "/2/nodes/{node_name}/migrate", params=p,
        query={"live": "1", "mode": "live"})
    bad(env, "GET", "/2/nodes/{node_name}/storage", params=p)
    bad(env, "PUT", "/2/nodes/{node_name}/storage/modify", params=p,
        query={"storage_type": "file"})
    job = call(env, "GET", "/2/nodes/{node_name}/storage", params=p,
               query={"storage_type": "file", "output_fields": "name,size"})
    assert wait_job(env, job)[0] in constants.JOBS_FINALIZED
    # not implemented by this cluster: the job says so, the request is fine
    job = call(env, "POST", "/2/nodes/{node_name}/evacuate", params=p,
               body={"mode": "primary-only"})
    assert wait_job(env, job)[0] in constants.JOBS_FINALIZED
    job = call(env, "POST", "/2/nodes/{node_name}/migrate", params=p, query={"live": "0"})
    assert wait_job(env, job)[0] in constants.JOBS_FINALIZED


# -- groups ---------------------------------------------------------------------------

def test_groups(env):
    listed = call(env, "GET", "/2/groups")
    assert listed and set(listed[0]) == {"name", "uri"}
    bulk = call(env, "GET", "/2/groups", query={"bulk": "1"})
    assert list(bulk[0]) == list(reference("rapi-groups.txt")[0])
    ok_job(env, call(env, "POST", "/2/groups", body={"name": "rg1", "alloc_policy": "preferred"}))
    g = {"group_name": "rg1"}
    group = call(env, "GET", "/2/groups/{group_name}", params=g)
    assert group["name"] == "rg1" and group["node_cnt"] == 0
    ok_job(env, call(env, "PUT", "/2/groups/{group_name}/modify", params=g,
                     body={"custom_ndparams": {"spindle_count": 2}}))
    group = call(env, "GET", "/2/groups/{group_name}", params=g)
    assert group["custom_ndparams"] == {"spindle_count": 2}
    ok_job(env, call(env, "PUT", "/2/groups/{group_name}/tags", params=g, query={"tag": "gt"}))
    assert call(env, "GET", "/2/groups/{group_name}/tags", params=g) == ["gt"]
    bad(env, "PUT", "/2/groups/{group_name}/modify", params=g,
        body={"custom_ndparams": {}, "ndparams": {}})
    bad(env, "PUT", "/2/groups/{group_name}/rename", params=g, body={"new_name": 5})
    bad(env, "PUT", "/2/groups/{group_name}/assign-nodes", params=g, body={"nodes": "x"})
    ok_job(env, call(env, "PUT", "/2/groups/{group_name}/rename", params=g,
                     body={"new_name": "rg2"}))
    bad(env, "GET", "/2/groups/{group_name}", 404, params=g)
    ok_job(env, call(env, "DELETE", "/2/groups/{group_name}", params={"group_name": "rg2"}))
    assert "rg2" not in [item["name"] for item in call(env, "GET", "/2/groups")]


# -- instances ------------------------------------------------------------------------

def test_instance_read(env, inst):
    assert {"id": inst, "uri": "/2/instances/" + inst} in call(env, "GET", "/2/instances")
    bulk = call(env, "GET", "/2/instances", query={"bulk": "1"})
    ref = reference("rapi-instances-bulk.txt")[0]
    assert list(bulk[0]) == list(ref)
    one = call(env, "GET", INST, params={"instance_name": inst})
    assert list(one) == list(reference("rapi-instance-info.txt"))
    assert list(one["beparams"])[-1] == "memory"
    assert one["beparams"]["memory"] == one["beparams"]["maxmem"] == 128
    assert one["status"] == "running" and one["os"] == "noop"
    err = bad(env, "GET", INST, 404, params={"instance_name": "nosuch.vcluster.test"})
    assert err.body() == {"code": 404, "message": "Not Found",
                          "explain": "Nothing matches the given URI"}
    opresult = ok_job(env, call(env, "GET", INST + "/info", params={"instance_name": inst}))
    assert inst in opresult[0]


def test_instance_lifecycle(env, inst):
    p = {"instance_name": inst}
    console = call(env, "GET", INST + "/console", params=p)
    assert isinstance(console, dict) and console.get("instance") == inst
    ok_job(env, call(env, "POST", INST + "/reboot", params=p, query={"type": "soft"}))
    ok_job(env, call(env, "PUT", INST + "/shutdown", params=p, body={"timeout": 10}))
    assert call(env, "GET", INST, params=p)["status"] == "ADMIN_down"
    bad(env, "GET", INST + "/console", 503, params=p)
    ok_job(env, call(env, "PUT", INST + "/startup", params=p))
    assert call(env, "GET", INST, params=p)["status"] == "running"
    ok_job(env, call(env, "PUT", INST + "/modify", params=p,
                     body={"custom_beparams": {"maxmem": 256, "minmem": 256}}))
    assert call(env, "GET", INST, params=p)["beparams"]["maxmem"] == 256
    ok_job(env, call(env, "PUT", INST + "/tags", params=p, query={"tag": ["t1", "t2"]}))
    assert sorted(call(env, "GET", INST + "/tags", params=p)) == ["t1", "t2"]
    ok_job(env, call(env, "DELETE", INST + "/tags", params=p, query={"tag": "t1"}))
    assert call(env, "GET", INST + "/tags", params=p) == ["t2"]
    job = call(env, "POST", INST + "/reinstall", params=p, body={"start": True})
    assert ok_job(env, job) == [None, None, None]
    # features the cluster lacks: the job carries the master's error
    for method, suffix, body in (("PUT", "/migrate", {}), ("PUT", "/failover", {}),
                                 ("POST", "/replace-disks", {"mode": "replace_auto"})):
        status, opresult = wait_job(env, call(env, method, INST + suffix, params=p, body=body))
        assert status == "error" and opresult[0][0]


def test_instance_create_duplicate_and_remove(env, inst):
    job = call(env, "POST", "/2/instances", body=create_body(inst))
    status, opresult = wait_job(env, job)
    assert status == "error"
    assert opresult[0][0] == "OpPrereqError" and opresult[0][1][1] == "already_exists"
    name = "rapi2.vcluster.test"
    body = create_body(name, start=False)
    # the old names are accepted too
    body["name"], body["os"] = body.pop("instance_name"), body.pop("os_type")
    ok_job(env, call(env, "POST", "/2/instances", body=body))
    assert name in instance_names(env)
    ok_job(env, call(env, "PUT", INST + "/rename", params={"instance_name": name},
                     body={"new_name": "rapi3.vcluster.test", "name_check": False,
                           "ip_check": False}))
    assert "rapi3.vcluster.test" in instance_names(env)
    ok_job(env, call(env, "DELETE", INST, params={"instance_name": "rapi3.vcluster.test"},
                     query={"dry-run": "1"}))
    assert "rapi3.vcluster.test" in instance_names(env)
    ok_job(env, call(env, "DELETE", INST, params={"instance_name": "rapi3.vcluster.test"}))
    assert "rapi3.vcluster.test" not in instance_names(env)


@pytest.mark.parametrize("body,fragment", [
    (None, "version 0"),
    (["not", "an", "object"], "object"),
    ({"mode": "create"}, "version 0"),
    (dict(create_body("x.vcluster.test"), __version__=2), "version"),
    (dict(create_body("x.vcluster.test"), no_such_param=1), "no_such_param"),
    (dict(create_body("x.vcluster.test"), disks="lots"), "disks"),
    (dict(create_body("x.vcluster.test"), start="yes"), "start"),
    (dict(create_body("x.vcluster.test"), name="y.vcluster.test"), "name"),
    (dict(create_body("x.vcluster.test"), OP_ID="OP_CLUSTER_DESTROY"), "OP_ID"),
    ({k: v for k, v in create_body("x.vcluster.test").items() if k != "mode"}, "mode"),
])
def test_instance_create_bad_input(env, body, fragment):
    before = instance_names(env)
    err = bad(env, "POST", "/2/instances", body=body)
    assert fragment in err.message
    assert instance_names(env) == before


def test_instance_bad_input(env, inst):
    p = {"instance_name": inst}
    for name in ("../x", "..", "a/b", ".hidden", "x\ny", ""):
        bad(env, "GET", INST, params={"instance_name": name})
        bad(env, "PUT", INST + "/startup", params={"instance_name": name})
    bad(env, "PUT", INST + "/shutdown", params=p, body={"instance_name": "other"})
    bad(env, "PUT", INST + "/shutdown", params=p, body={"timeout": "soon"})
    bad(env, "POST", INST + "/reboot", params=p, query={"type": "gentle"})
    bad(env, "POST", INST + "/reboot", params=p, body={"reboot_type": "soft"})
    bad(env, "DELETE", INST, params=p, body={"ignore_failures": True})
    bad(env, "PUT", INST + "/modify", params=p,
        body={"custom_beparams": {}, "beparams": {}})
    bad(env, "PUT", INST + "/modify", params=p, body={"beparams": "big"})
    bad(env, "POST", INST + "/reinstall", params=p, body={"os": "noop"}, query={"os": "noop"})
    bad(env, "POST", INST + "/reinstall", params=p, body={"start": "yes"})
    bad(env, "POST", INST + "/reinstall", params=p, body={"unknown": 1})
    bad(env, "POST", INST + "/replace-disks", params=p, body={"mode": "replace_auto",
                                                              "disks": "0,x"})
    bad(env, "POST", INST + "/disk/{disk_index}/grow",
        params={"instance_name": inst, "disk_index": "zero"}, body={"amount": 1})
    bad(env, "POST", INST + "/disk/{disk_index}/grow",
        params={"instance_name": inst, "disk_index": "0"}, body={"amount": -5})
    bad(env, "PUT", INST + "/tags", params=p)
    bad(env, "PUT", INST + "/startup", params=p, query={"force": "maybe"})
    bad(env, "POST", "/2/instances-multi-alloc", body={"iallocator": "hail"})
    bad(env, "POST", "/2/instances-multi-alloc", body={"instances": [{"bogus": 1}]})
    one = call(env, "GET", INST, params=p)
    assert one["status"] == "running" and one["serial_no"] >= 1


# -- jobs -----------------------------------------------------------------------------

def test_jobs(env, inst):
    listed = call(env, "GET", "/2/jobs")
    ids = [item["id"] for item in listed]
    assert ids == sorted(ids) and all(isinstance(i, int) for i in ids)
    assert listed[0] == {"id": ids[0], "uri": "/2/jobs/%d" % ids[0]}
    bulk = call(env, "GET", "/2/jobs", query={"bulk": "1"})
    assert list(bulk[0]) == list(reference("rapi-jobs-bulk.txt")[0])
    job = call(env, "GET", "/2/jobs/{job_id}", params={"job_id": str(ids[-1])})
    assert list(job) == list(reference("rapi-job-3.txt"))
    wait = call(env, "GET", "/2/jobs/{job_id}/wait", params={"job_id": str(ids[-1])},
                body={"fields": ["status"], "previous_job_info": None,
                      "previous_log_serial": None})
    assert list(wait) == list(reference("rapi-job-27-wait.txt"))
    assert wait["job_info"][0] in constants.JOBS_FINALIZED
    ok, msg = call(env, "DELETE", "/2/jobs/{job_id}", params={"job_id": str(ids[-1])})
    assert ok is False and msg
    bad(env, "GET", "/2/jobs/{job_id}", 404, params={"job_id": "999999"})
    bad(env, "GET", "/2/jobs/{job_id}", params={"job_id": "abc"})
    bad(env, "GET", "/2/jobs/{job_id}", params={"job_id": "-1"})
    bad(env, "GET", "/2/jobs/{job_id}/wait", params={"job_id": str(ids[-1])},
        body={"fields": "status"})
    bad(env, "GET", "/2/jobs/{job_id}/wait", params={"job_id": str(ids[-1])},
        body={"fields": ["status"], "previous_log_serial": "1"})


# -- query ----------------------------------------------------------------------------

def test_query(env, inst):
    q = {"resource": "instance"}
    res = call(env, "GET", "/2/query/{resource}", params=q, query={"fields": "name,status"})
    assert [f["name"] for f in res["fields"]] == ["name", "status"]
    assert [[0, inst], [0, "running"]] in res["data"]
    res = call(env, "PUT", "/2/query/{resource}", params=q,
               body={"fields": ["name", "nosuchfield"], "qfilter": ["==", "name", inst]})
    assert res["data"] == [[[0, inst], [1, None]]]
    res = call(env, "PUT", "/2/query/{resource}", params={"resource": "node"},
               body={"filter": ["==", "name", "nosuch"]}, query={"fields": "name"})
    assert res["data"] == []
    fields = call(env, "GET", "/2/query/{resource}/fields", params=q, query={"fields": "name"})
    assert [f["name"] for f in fields["fields"]] == ["name"]
    assert len(call(env, "GET", "/2/query/{resource}/fields", params={"resource": "job"})
               ["fields"]) > 5
    bad(env, "GET", "/2/query/{resource}", params=q)
    bad(env, "GET", "/2/query/{resource}", 404, params={"resource": "../etc"},
        query={"fields": "name"})
    bad(env, "PUT", "/2/query/{resource}", params=q, body={"fields": "name"})
    bad(env, "PUT", "/2/query/{resource}", params=q, body={"fields": ["name"], "x": 1})
    bad(env, "GET", "/2/query/{resource}", 501, params={"resource": "network"},
        query={"fields": "name"})


def test_networks_and_filters_are_501(env):
    for method, template, params in (
            ("GET", "/2/networks", {}), ("POST", "/2/networks", {}),
            ("GET", "/2/networks/{network_name}", {"network_name": "n1"}),
            ("PUT", "/2/networks/{network_name}/connect", {"network_name": "n1"}),
            ("GET", "/2/filters", {}), ("DELETE", "/2/filters/{filter_uuid}",
                                        {"filter_uuid": "u"})):
        err = bad(env, method, template, 501, params=params)
        assert "not supported" in err.message


# -- end to end over HTTPS ------------------------------------------------------------

def test_https_end_to_end(env, inst, tmp_path):
    """The real daemon class serving this table, a real master behind it."""
    from ganeti import crypto
    from ganeti.rapi import server as rapi_server

    cert = str(tmp_path / "rapi.pem")
    crypto.write_cluster_cert(cert, "rapi.test")
    users = tmp_path / "users"
    users.write_text("admin adminpw write\n")
    srv = rapi_server.RapiServer(resources=list(RESOURCES), bind="127.0.0.1", port=0,
                                 cert_file=cert, users_file=str(users),
                                 luxi_address=master_socket(env))
    srv.start()

    def request(method: str, path: str, body=None):
        status, raw, _resp = https_request("127.0.0.1", srv.port, cert, method, path,
                                           user="admin:adminpw", body=body, timeout=60)
        return status, json.loads(raw)

    try:
        assert request("GET", "/version") == (200, 2)
        status, one = request("GET", "/2/instances/" + inst)
        assert status == 200 and list(one) == list(reference("rapi-instance-info.txt"))
        status, err = request("GET", "/2/instances/nosuch.vcluster.test")
        assert (status, err) == (404, reference("rapi-error-instance-notfound.txt"))
        status, job = request("POST", "/2/instances/%s/reboot?type=soft" % inst)
        assert status == 200 and isinstance(job, int)
        ok_job(env, job)
        status, detail = request("GET", "/2/jobs/%d" % job)
        assert detail["ops"][0]["reason"][0][0] == "gnt:library:rlib2:instances_name_reboot"
        status, wait = request("GET", "/2/jobs/%d/wait" % job,
                               {"fields": ["status"], "previous_job_info": None,
                                "previous_log_serial": None})
        assert (status, wait["job_info"]) == (200, ["success"])
        status, err = request("POST", "/2/instances", {"__version__": 1, "bogus": 1})
        assert status == 400 and "bogus" in err["message"]
        status, err = request("GET", "/2/networks")
        assert status == 501 and "not supported" in err["message"]
    finally:
        srv.stop()
