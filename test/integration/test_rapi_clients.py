"""Both RAPI clients -- Debian's upstream one and ours -- against a virtual cluster.

``tools/vcluster up`` starts ganeti-rapi on the master node's address, port
5080, with a user ``vcluster`` whose password is in ``DIR/rapi.secret``.
Upstream's ``ganeti.rapi.client`` (package python3-ganeti-rapi) runs in a
subprocess under Debian's /usr/bin/python3 in isolated mode (-I, cwd /, a
clean environment) so this repository's ``ganeti`` package cannot shadow
it; our :mod:`ganeti.rapi.client` runs in-process.  Every step checks the
real outcome (the instance exists, its status, the tag is there) and that
both clients see the same cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from cluster_env import REPO

NODE = "node1.vcluster.test"
UPSTREAM_PYTHON = "/usr/bin/python3"
UPSTREAM_CLIENT = "/usr/lib/python3/dist-packages/ganeti/rapi/client.py"
NOOP_OS = "/usr/share/ganeti/os/noop"
RAPI_USER = "vcluster"

_missing = [p for p in ("scripts/ganeti-rapi", "lib/rapi/resources.py")
            if not os.path.exists(os.path.join(REPO, p))]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(_missing), reason="the RAPI daemon is not there yet (missing: %s)"
                       % ", ".join(_missing)),
]

# Runs under Debian's python: a list of [method, args, kwargs] in, results out.
_UPSTREAM_DRIVER = r"""
import json, sys
from ganeti.rapi import client
req = json.load(sys.stdin)
cfg = client.GenericCurlConfig(cafile=req["cafile"]) if req["cafile"] else None
cl = client.GanetiRapiClient(req["host"], port=req["port"], username=req["user"],
                             password=req["password"], curl_config_fn=cfg)
out = []
for name, args, kwargs in req["calls"]:
    try:
        out.append({"ok": getattr(cl, name)(*args, **kwargs)})
    except client.GanetiApiError as err:
        out.append({"error": type(err).__name__, "code": err.code, "msg": str(err)})
json.dump(out, sys.stdout)
"""


class Upstream:
    """Debian's client in a subprocess, called like a client object."""

    def __init__(self, host: str, port: int, user: str, password: str, cafile: str | None):
        self.conn = {"host": host, "port": port, "user": user, "password": password,
                     "cafile": cafile}

    def batch(self, calls: list) -> list:
        req = dict(self.conn, calls=[[n, list(a), kw] for n, a, kw in calls])
        res = subprocess.run([UPSTREAM_PYTHON, "-I", "-c", _UPSTREAM_DRIVER],
                             input=json.dumps(req), capture_output=True, text=True, cwd="/",
                             env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, timeout=300,
                             check=False)
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    def call(self, name: str, *args, **kwargs):
        (res,) = self.batch([(name, args, kwargs)])
        if "error" in res:
            raise UpstreamError(res)
        return res["ok"]

    def __getattr__(self, name: str):
        if not name[:1].isupper():
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)


class UpstreamError(Exception):
    def __init__(self, res: dict):
        super().__init__(res["msg"])
        self.code = res["code"]
        self.kind = res["error"]


def _rapi_address(base: str) -> str:
    """node1's address from its hosts file (the subnet is chosen at ``up``)."""
    with open(os.path.join(base, "node1", "etc", "hosts")) as fh:
        for line in fh:
            fields = line.split()
            if len(fields) > 1 and NODE in fields[1:]:
                return fields[0]
    raise AssertionError("no address for %s in the vcluster's hosts file" % NODE)


@pytest.fixture(scope="module")
def rapi(env):
    if not (os.path.exists(UPSTREAM_CLIENT) and os.path.exists(UPSTREAM_PYTHON)):
        pytest.skip("Debian's python3-ganeti-rapi is not installed (make deps)")
    if not os.path.isdir(NOOP_OS):
        pytest.skip("ganeti-os-noop is not installed (make deps)")
    from ganeti.rapi import client

    base = os.path.dirname(env["GANETI_ROOTDIR"])
    secret = os.path.join(base, "rapi.secret")
    if not os.path.exists(secret):
        pytest.skip("tools/vcluster does not set up the RAPI user yet (no %s)" % secret)
    with open(secret) as fh:
        password = fh.read().strip()
    cert = os.path.join(env["GANETI_ROOTDIR"], "var", "lib", "ganeti", "rapi.pem")
    assert os.path.exists(cert), "ganeti-rapi serves %s; it is missing" % cert
    cafile = cert  # both clients verify the daemon's certificate
    host = _rapi_address(base)
    ours = client.GanetiRapiClient(host, username=RAPI_USER, password=password,
                                   curl_config_fn=client.GenericCurlConfig(
                                       cafile=cafile, connect_timeout=5, timeout=120))
    deadline = time.time() + 60
    while True:  # the daemon may still be starting
        try:
            ours.GetVersion()
            break
        except client.GanetiApiError:
            if time.time() > deadline:
                raise
            time.sleep(0.5)
    yield ours, Upstream(host, client.GANETI_RAPI_PORT, RAPI_USER, password, cafile)
    ours.close()


def _done(ours, job_id) -> None:
    """Wait through our client and fail with the job's error if it did not succeed."""
    if not ours.WaitForJobCompletion(job_id, period=0.2, retries=600):
        raise AssertionError("job %s: %s" % (job_id, ours.GetJobStatus(job_id).get("opresult")))


def _up_done(up, job_id) -> None:
    """The same through upstream's client (its WaitForJobCompletion)."""
    if not up.WaitForJobCompletion(job_id, 0.2, 600):
        raise AssertionError("job %s: %s" % (job_id, up.GetJobStatus(job_id).get("opresult")))


def test_read_only_calls_agree(rapi):
    ours, up = rapi
    assert ours.GetVersion() == up.GetVersion() == 2
    assert sorted(ours.GetFeatures()) == sorted(up.GetFeatures())
    assert {"instance-create-reqv1", "instance-reinstall-reqv1"} <= set(ours.GetFeatures())
    oses = ours.GetOperatingSystems()
    assert "noop" in oses and sorted(oses) == sorted(up.GetOperatingSystems())
    info = ours.GetInfo()
    assert info["master"] == NODE and info["name"] == up.GetInfo()["name"]
    assert "fake" in info["enabled_hypervisors"]
    assert ours.GetNodes() == up.GetNodes() == [NODE]
    bulk = ours.GetNodes(bulk=True)
    assert [n["name"] for n in bulk] == [n["name"] for n in up.GetNodes(bulk=True)] == [NODE]
    assert ours.GetNode(NODE)["name"] == up.GetNode(NODE)["name"] == NODE
    assert ours.GetNodeRole(NODE) == up.GetNodeRole(NODE) == "master"
    assert "default" in ours.GetGroups() and ours.GetGroups() == up.GetGroups()
    assert ours.GetGroup("default")["name"] == up.GetGroup("default")["name"] == "default"
    assert NODE in ours.GetGroup("default")["node_list"]
    assert ours.GetClusterTags() == up.GetClusterTags()
    jobs = ours.GetJobs()
    assert jobs == sorted(jobs) and set(jobs) <= set(up.GetJobs())


def test_errors_agree(rapi):
    from ganeti.rapi import client
    ours, up = rapi
    with pytest.raises(client.GanetiApiError) as info:
        ours.GetInstance("nosuch.vcluster.test")
    assert info.value.code == 404
    with pytest.raises(UpstreamError) as uinfo:
        up.GetInstance("nosuch.vcluster.test")
    assert uinfo.value.code == 404 and uinfo.value.kind == "GanetiApiError"
    # a wrong password is refused for writes (and nothing is submitted)
    bad = client.GanetiRapiClient(up.conn["host"], username=RAPI_USER, password="wrong")
    with pytest.raises(client.GanetiApiError) as info:
        bad.AddClusterTags(["never"])
    assert info.value.code == 401
    assert "never" not in ours.GetClusterTags()


def test_groups_create_rename_delete(rapi):
    ours, up = rapi
    _done(ours, ours.CreateGroup("rapigrp1", alloc_policy="preferred"))
    assert "rapigrp1" in up.GetGroups()
    _up_done(up, up.RenameGroup("rapigrp1", "rapigrp2"))
    assert ours.GetGroup("rapigrp2")["name"] == "rapigrp2"
    assert "rapigrp1" not in ours.GetGroups()
    _done(ours, ours.ModifyGroup("rapigrp2", alloc_policy="last_resort"))
    assert up.GetGroup("rapigrp2")["alloc_policy"] == "last_resort"
    _up_done(up, up.DeleteGroup("rapigrp2"))
    assert "rapigrp2" not in ours.GetGroups()


def test_tags_on_cluster_node_group(rapi):
    ours, up = rapi
    _done(ours, ours.AddClusterTags(["ours-c1", "ours-c2"]))
    _up_done(up, up.AddClusterTags(["up-c1"]))
    assert {"ours-c1", "ours-c2", "up-c1"} <= set(up.GetClusterTags())
    _up_done(up, up.DeleteClusterTags(["ours-c1", "ours-c2"]))
    _done(ours, ours.DeleteClusterTags(["up-c1"]))
    assert not {"ours-c1", "ours-c2", "up-c1"} & set(ours.GetClusterTags())

    _done(ours, ours.AddNodeTags(NODE, ["ours-n"]))
    _up_done(up, up.AddNodeTags(NODE, ["up-n"]))
    assert {"ours-n", "up-n"} <= set(ours.GetNodeTags(NODE)) == set(up.GetNodeTags(NODE))
    _done(ours, ours.DeleteNodeTags(NODE, ["ours-n", "up-n"]))
    assert not {"ours-n", "up-n"} & set(up.GetNodeTags(NODE))

    _up_done(up, up.AddGroupTags("default", ["up-g"]))
    assert "up-g" in ours.GetGroupTags("default")
    _done(ours, ours.DeleteGroupTags("default", ["up-g"]))
    assert "up-g" not in up.GetGroupTags("default")
    # dry-run changes nothing
    _done(ours, ours.AddClusterTags(["dry"], dry_run=True))
    assert "dry" not in up.GetClusterTags()


def _status(ours, name: str) -> str:
    return ours.GetInstance(name)["status"]


def _wait_status(ours, name: str, wanted: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while _status(ours, name) != wanted:
        assert time.time() < deadline, "%s: %s, not %s" % (name, _status(ours, name), wanted)
        time.sleep(0.3)


@pytest.mark.parametrize("who", ["ours", "upstream"])
def test_instance_lifecycle(rapi, who):
    """Create, inspect, stop, start, reboot, modify, rename, remove -- with one client.

    Outcomes are read back through the other client each time.
    """
    ours, up = rapi
    actor, other = (ours, up) if who == "ours" else (up, ours)
    done = _done if who == "ours" else _up_done
    name = "rapi-%s.vcluster.test" % who
    new_name = "rapi-%s-renamed.vcluster.test" % who
    beparams = {"maxmem": 128, "minmem": 128} if who == "ours" else {"memory": 128}

    job = actor.CreateInstance("create", name, "diskless", [], [{}], os="noop", pnode=NODE,
                               hypervisor="fake", name_check=False, ip_check=False,
                               beparams=beparams)
    assert isinstance(job, int)
    done(actor, job)
    assert ours.GetJobStatus(str(job))["status"] == up.GetJobStatus(job)["status"] == "success"
    assert name in other.GetInstances()
    assert name in [i["name"] for i in other.GetInstances(bulk=True)]
    inst = other.GetInstance(name)
    assert (inst["os"], inst["pnode"], inst["disk_template"]) == ("noop", NODE, "diskless")
    assert inst["beparams"]["maxmem"] == 128
    _wait_status(ours, name, "running")

    info_job = actor.GetInstanceInfo(name)
    done(actor, info_job)
    result = ours.GetJobStatus(info_job)["opresult"][0]
    assert name in result and result[name]["config_state"] == "up"

    console = actor.GetInstanceConsole(name)
    assert console["instance"] == name and console["kind"] in ("ssh", "vnc", "spice", "msg")

    done(actor, actor.AddInstanceTags(name, ["t-%s" % who]))
    assert other.GetInstanceTags(name) == ["t-%s" % who]
    done(actor, actor.DeleteInstanceTags(name, ["t-%s" % who]))
    assert other.GetInstanceTags(name) == []

    done(actor, actor.ShutdownInstance(name, timeout=10))
    _wait_status(ours, name, "ADMIN_down")
    assert other.GetInstance(name)["admin_state"] == "down"
    done(actor, actor.StartupInstance(name))
    _wait_status(ours, name, "running")
    done(actor, actor.RebootInstance(name, reboot_type="hard"))
    _wait_status(ours, name, "running")

    done(actor, actor.ModifyInstance(name, beparams={"vcpus": 2}))
    assert other.GetInstance(name)["beparams"]["vcpus"] == 2

    done(actor, actor.ShutdownInstance(name))
    _wait_status(ours, name, "ADMIN_down")
    done(actor, actor.RenameInstance(name, new_name, ip_check=False, name_check=False))
    names = other.GetInstances()
    assert new_name in names and name not in names

    done(actor, actor.DeleteInstance(new_name))
    assert new_name not in other.GetInstances()
    with pytest.raises(Exception) as gone:
        other.GetInstance(new_name)
    assert gone.value.code == 404


def test_jobs_and_queries(rapi):
    ours, up = rapi
    job = ours.AddClusterTags(["qtag"])
    _done(ours, job)
    assert job in ours.GetJobs() and job in up.GetJobs()
    bulk = {j["id"]: j for j in up.GetJobs(bulk=True)}
    assert bulk[job]["status"] == "success"
    assert ours.GetJobStatus(job)["summary"] == up.GetJobStatus(str(job))["summary"]
    change = ours.WaitForJobChange(job, ["status"], None, None)
    assert change["job_info"] == ["success"]
    assert up.WaitForJobChange(job, ["status"], None, None)["job_info"] == ["success"]

    q_ours = ours.Query("node", ["name", "role"])
    q_up = up.Query("node", ["name", "role"])
    assert [f["name"] for f in q_ours["fields"]] == ["name", "role"]
    assert q_ours["data"] == q_up["data"] == [[[0, NODE], [0, "M"]]]
    filtered = ours.Query("node", ["name"], qfilter=["=", "name", "nosuch"])
    assert filtered["data"] == []
    fields = ours.QueryFields("node", fields=["name", "pip"])
    assert [f["name"] for f in fields["fields"]] == ["name", "pip"]
    assert fields == up.QueryFields("node", ["name", "pip"])
    _done(ours, ours.DeleteClusterTags(["qtag"]))
