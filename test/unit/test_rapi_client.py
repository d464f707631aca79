"""The RAPI client (ganeti.rapi.client) against a small real HTTPS peer.

The peer is Python's http.server behind TLS on 127.0.0.1 with a throwaway
certificate from ganeti.crypto.  It records every request (method, path,
query, headers, body, client port) and answers canned JSON, so these tests
check exactly what the client puts on the wire and how it reads answers --
over real HTTPS through pycurl, with nothing of the client replaced.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ganeti import crypto
from ganeti.rapi import client

UPSTREAM_PYTHON = "/usr/bin/python3"
UPSTREAM_CLIENT = "/usr/lib/python3/dist-packages/ganeti/rapi/client.py"


class _Peer(ThreadingHTTPServer):
    """HTTPS server with per-test canned answers and a request log."""

    daemon_threads = True

    def __init__(self, ctx: ssl.SSLContext):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.ctx = ctx
        self.requests: list[dict] = []
        self.answers: dict[tuple[str, str], list] = {}
        self.lock = threading.Lock()

    def get_request(self):
        sock, addr = super().get_request()
        # handshake in the handler thread: a refused client must not stall accept()
        return self.ctx.wrap_socket(sock, server_side=True,
                                    do_handshake_on_connect=False), addr

    def answer(self, method: str, path: str, *answers) -> None:
        """Queue answers: (status, JSON value) or (status, raw bytes); the last repeats."""
        self.answers[(method, path)] = list(answers)

    def next_answer(self, method: str, path: str):
        with self.lock:
            queue = self.answers.get((method, path))
            if not queue:
                return 200, 42
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def reset(self) -> None:
        self.requests.clear()
        self.answers.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path, _, qs = self.path.partition("?")
        self.server.requests.append({
            "method": self.command, "path": path, "query": urllib.parse.parse_qsl(qs),
            "headers": dict(self.headers), "raw": raw,
            "body": json.loads(raw) if raw else None, "port": self.client_address[1]})
        status, value = self.server.next_answer(self.command, path)
        data = value if isinstance(value, bytes) else json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = _serve

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> str:
    key_pem, cert_pem = crypto.generate_self_signed_cert("localhost", validity_days=2)
    path = tmp_path_factory.mktemp("rapicert") / "rapi.pem"
    path.write_bytes(key_pem + cert_pem)
    return str(path)


@pytest.fixture(scope="module")
def server(cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert)
    srv = _Peer(ctx)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def peer(server):
    server.reset()
    server.answer("GET", "/2/features", (200, [client.INST_CREATE_REQV1,
                                               client.INST_REINSTALL_REQV1,
                                               client.NODE_MIGRATE_REQV1,
                                               client.NODE_EVAC_RES1]))
    return server


@pytest.fixture
def cl(peer, cert):
    c = client.GanetiRapiClient("localhost", port=peer.server_address[1], username="admin",
                                password="s3cret",
                                curl_config_fn=client.GenericCurlConfig(
                                    cafile=cert, verify_hostname=True, timeout=10))
    yield c
    c.close()


def _last(peer) -> dict:
    return peer.requests[-1]


# --- request building --------------------------------------------------------------------

def test_get_version_headers_and_auth(cl, peer):
    peer.answer("GET", "/version", (200, 2))
    assert cl.GetVersion() == 2
    req = _last(peer)
    assert (req["method"], req["path"], req["query"]) == ("GET", "/version", [])
    headers = {k.lower(): v for k, v in req["headers"].items()}
    assert headers["authorization"] == "Basic YWRtaW46czNjcmV0"  # admin:s3cret
    assert headers["accept"] == "application/json"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "Ganeti RAPI Client"


def test_tags_are_repeated_query_args(cl, peer):
    cl.AddClusterTags(["a", "b c"], dry_run=True, reason="why")
    req = _last(peer)
    assert (req["method"], req["path"]) == ("PUT", "/2/tags")
    assert req["query"] == [("tag", "a"), ("tag", "b c"), ("dry-run", "1"), ("reason", "why")]
    assert req["body"] is None
    cl.DeleteInstanceTags("i1.example.com", ["x", "y"])
    req = _last(peer)
    assert (req["method"], req["path"], req["query"]) == (
        "DELETE", "/2/instances/i1.example.com/tags", [("tag", "x"), ("tag", "y")])
    cl.AddGroupTags("g1", ["t"])
    cl.DeleteNodeTags("n1", ["t"], dry_run=True)
    assert [(r["method"], r["path"], r["query"]) for r in peer.requests[-2:]] == [
        ("PUT", "/2/groups/g1/tags", [("tag", "t")]),
        ("DELETE", "/2/nodes/n1/tags", [("tag", "t"), ("dry-run", "1")])]


def test_create_instance_body_is_version_1(cl, peer):
    peer.answer("POST", "/2/instances", (200, 25))
    job = cl.CreateInstance("create", "i1.example.com", "diskless", [], [{}], dry_run=True,
                            os="noop", pnode="node1", name_check=False,
                            beparams={"memory": 128}, reason="new")
    assert job == 25
    feat, post = peer.requests[-2:]
    assert (feat["method"], feat["path"]) == ("GET", "/2/features")
    assert (post["method"], post["path"]) == ("POST", "/2/instances")
    assert post["query"] == [("dry-run", "1"), ("reason", "new")]
    assert post["body"] == {"__version__": 1, "mode": "create", "name": "i1.example.com",
                            "disk_template": "diskless", "disks": [], "nics": [{}],
                            "os": "noop", "pnode": "node1", "name_check": False,
                            "beparams": {"memory": 128}}


def test_create_instance_refused_without_feature(cl, peer):
    peer.answer("GET", "/2/features", (200, []))
    with pytest.raises(client.GanetiApiError, match="version 1"):
        cl.CreateInstance("create", "i1", "diskless", [], [])
    assert [r["method"] for r in peer.requests] == ["GET"]


def test_create_instance_rejects_duplicate_parameters(cl, peer):
    with pytest.raises(client.GanetiApiError, match="__version__"):
        cl.CreateInstance("create", "i1", "diskless", [], [], __version__=0)


def test_instance_actions(cl, peer):
    cl.RebootInstance("i1", reboot_type="soft", ignore_secondaries=True, dry_run=True,
                      shutdown_timeout=3)
    req = _last(peer)
    assert (req["method"], req["path"]) == ("POST", "/2/instances/i1/reboot")
    assert sorted(req["query"]) == [("dry-run", "1"), ("ignore_secondaries", "1"),
                                    ("type", "soft")]
    assert req["body"] == {"shutdown_timeout": 3}
    cl.ShutdownInstance("i1", no_remember=True, timeout=5)
    req = _last(peer)
    assert (req["method"], req["path"], req["query"], req["body"]) == (
        "PUT", "/2/instances/i1/shutdown", [("no_remember", "1")], {"timeout": 5})
    cl.StartupInstance("i1")
    req = _last(peer)
    assert (req["method"], req["path"], req["query"], req["body"]) == (
        "PUT", "/2/instances/i1/startup", [], None)
    cl.RenameInstance("i1", "i2", ip_check=False, name_check=False)
    assert _last(peer)["body"] == {"new_name": "i2", "ip_check": False, "name_check": False}
    cl.ModifyInstance("i1", beparams={"vcpus": 2})
    assert (_last(peer)["method"], _last(peer)["body"]) == ("PUT", {"beparams": {"vcpus": 2}})
    cl.DeleteInstance("i1", dry_run=True)
    req = _last(peer)
    assert (req["method"], req["path"], req["query"], req["body"]) == (
        "DELETE", "/2/instances/i1", [("dry-run", "1")], None)
    cl.GetInstanceInfo("i1", static=False)
    assert _last(peer)["query"] == [("static", "0")]
    cl.ReplaceInstanceDisks("i1", disks=[0, 2], mode=client.REPLACE_DISK_PRI,
                            early_release=True)
    req = _last(peer)
    assert req["path"] == "/2/instances/i1/replace-disks"
    assert req["query"] == [("mode", "replace_on_primary"), ("disks", "0,2"),
                            ("early_release", "1")]
    cl.GrowInstanceDisk("i1", 0, 1024, wait_for_sync=False)
    req = _last(peer)
    assert (req["path"], req["body"]) == ("/2/instances/i1/disk/0/grow",
                                          {"amount": 1024, "wait_for_sync": False})
    cl.ExportInstance("i1", "local", "node2", shutdown=True)
    assert _last(peer)["body"] == {"mode": "local", "destination": "node2", "shutdown": True}


def test_reinstall_body_or_legacy_query(cl, peer):
    cl.ReinstallInstance("i1", os="noop", no_startup=True)
    req = _last(peer)
    assert (req["path"], req["query"], req["body"]) == (
        "/2/instances/i1/reinstall", [], {"os": "noop", "start": False})
    peer.answer("GET", "/2/features", (200, []))
    cl.ReinstallInstance("i1", os="noop", no_startup=True)
    req = _last(peer)
    assert (req["query"], req["body"]) == ([("os", "noop"), ("nostartup", "1")], None)
    with pytest.raises(client.GanetiApiError, match="OS parameters"):
        cl.ReinstallInstance("i1", osparams={"a": "b"})


def test_node_methods(cl, peer):
    cl.SetNodeRole("n1", client.NODE_ROLE_DRAINED, force=True, auto_promote=False)
    req = _last(peer)
    assert (req["method"], req["path"], req["raw"]) == ("PUT", "/2/nodes/n1/role", b'"drained"')
    assert req["query"] == [("force", "1"), ("auto-promote", "0")]
    cl.EvacuateNode("n1", iallocator="hail", mode=client.NODE_EVAC_ALL, dry_run=True)
    req = _last(peer)
    assert (req["path"], req["query"], req["body"]) == (
        "/2/nodes/n1/evacuate", [("dry-run", "1")], {"iallocator": "hail", "mode": "all"})
    with pytest.raises(client.GanetiApiError, match="Only one"):
        cl.EvacuateNode("n1", iallocator="hail", remote_node="n2")
    cl.MigrateNode("n1", mode="live", target_node="n2")
    assert _last(peer)["body"] == {"mode": "live", "target_node": "n2"}
    cl.GetNodeStorageUnits("n1", "file", ["name", "size"])
    assert _last(peer)["query"] == [("storage_type", "file"), ("output_fields", "name,size")]
    cl.ModifyNodeStorageUnits("n1", "lvm-pv", "/dev/sda", allocatable=False)
    req = _last(peer)
    assert (req["path"], req["query"]) == (
        "/2/nodes/n1/storage/modify",
        [("storage_type", "lvm-pv"), ("name", "/dev/sda"), ("allocatable", "0")])
    peer.answer("GET", "/2/features", (200, []))
    with pytest.raises(client.GanetiApiError, match="accept_old"):
        cl.EvacuateNode("n1", remote_node="n2")


def test_group_network_filter_bodies(cl, peer):
    cl.CreateGroup("g1", alloc_policy="preferred", dry_run=True)
    req = _last(peer)
    assert (req["method"], req["path"], req["query"], req["body"]) == (
        "POST", "/2/groups", [("dry-run", "1")], {"name": "g1", "alloc_policy": "preferred"})
    cl.AssignGroupNodes("g1", ["n1"], force=True)
    req = _last(peer)
    assert (req["query"], req["body"]) == ([("force", "1")], {"nodes": ["n1"]})
    cl.RenameGroup("g1", "g2")
    assert (_last(peer)["path"], _last(peer)["body"]) == ("/2/groups/g1/rename",
                                                          {"new_name": "g2"})
    cl.CreateNetwork("net1", "10.0.0.0/24", gateway="10.0.0.1", add_reserved_ips="10.0.0.5")
    assert _last(peer)["body"] == {"network_name": "net1", "network": "10.0.0.0/24",
                                   "gateway": "10.0.0.1", "add_reserved_ips": ["10.0.0.5"]}
    cl.ConnectNetwork("net1", "g1", "bridged", "br0")
    assert _last(peer)["body"] == {"group_name": "g1", "network_mode": "bridged",
                                   "network_link": "br0", "network_vlan": ""}
    peer.answer("POST", "/2/filters", (200, "3f0c-uuid"))
    assert cl.AddFilter(10, [], "ACCEPT", reason_trail=[["src", "why", 1]]) == "3f0c-uuid"
    body = _last(peer)["body"]
    assert body["priority"] == 10 and body["action"] == "ACCEPT"
    assert body["reason"][0] == ["src", "why", 1] and body["reason"][1][0] == "gnt:client"


def test_query_sends_filter_under_both_names(cl, peer):
    cl.Query("instance", ["name", "status"], qfilter=["=", "name", "x"])
    req = _last(peer)
    assert (req["method"], req["path"]) == ("PUT", "/2/query/instance")
    assert req["body"] == {"fields": ["name", "status"], "qfilter": ["=", "name", "x"],
                           "filter": ["=", "name", "x"]}
    cl.QueryFields("node", fields=["name", "pip"])
    req = _last(peer)
    assert (req["method"], req["path"], req["query"]) == (
        "GET", "/2/query/node/fields", [("fields", "name,pip")])


def test_names_are_quoted_in_paths(cl, peer):
    cl.GetInstance("a/b?c")
    assert _last(peer)["path"] == "/2/instances/a%2Fb%3Fc"


# --- answers and job ids -----------------------------------------------------------------

def test_list_answers_are_reduced_to_names(cl, peer):
    peer.answer("GET", "/2/instances", (200, [{"id": "i1", "uri": "/2/instances/i1"}]))
    peer.answer("GET", "/2/jobs", (200, [{"id": 1, "uri": "/2/jobs/1"},
                                         {"id": "2", "uri": "/2/jobs/2"}]))
    peer.answer("GET", "/2/groups", (200, [{"name": "default", "uri": "/2/groups/default"}]))
    assert cl.GetInstances() == ["i1"]
    assert cl.GetJobs() == [1, 2]
    assert cl.GetGroups() == ["default"]
    peer.answer("GET", "/2/instances", (200, [{"name": "i1", "status": "running"}]))
    assert cl.GetInstances(bulk=True) == [{"name": "i1", "status": "running"}]
    assert _last(peer)["query"] == [("bulk", "1")]


@pytest.mark.parametrize("job_id", [12, "12"])
def test_job_ids_as_numbers_or_strings(cl, peer, job_id):
    peer.answer("GET", "/2/jobs/12", (200, {"id": 12, "status": "success"}))
    assert cl.GetJobStatus(job_id)["status"] == "success"
    cl.CancelJob(job_id, dry_run=True)
    assert [(r["method"], r["path"]) for r in peer.requests[-2:]] == [
        ("GET", "/2/jobs/12"), ("DELETE", "/2/jobs/12")]


def test_job_id_answer_kept_as_sent(cl, peer):
    peer.answer("PUT", "/2/redistribute-config", (200, "1234"))
    assert cl.RedistributeConfig() == "1234"  # a Ganeti <= 2.6 server
    peer.answer("PUT", "/2/redistribute-config", (200, 1234))
    assert cl.RedistributeConfig() == 1234


def test_wait_for_job_change_is_a_get_with_body(cl, peer):
    peer.answer("GET", "/2/jobs/27/wait", (200, {"job_info": ["error"], "log_entries": []}))
    res = cl.WaitForJobChange(27, ["status"], None, None)
    assert res == {"job_info": ["error"], "log_entries": []}
    req = _last(peer)
    assert (req["method"], req["path"]) == ("GET", "/2/jobs/27/wait")
    assert req["body"] == {"fields": ["status"], "previous_job_info": None,
                           "previous_log_serial": None}


def test_wait_for_job_completion(cl, peer):
    peer.answer("GET", "/2/jobs/5", (200, {"status": "queued"}), (200, {"status": "running"}),
                (200, {"status": "success"}))
    assert cl.WaitForJobCompletion(5, period=0.01) is True
    assert len(peer.requests) == 3
    peer.answer("GET", "/2/jobs/6", (200, {"status": "error"}))
    assert cl.WaitForJobCompletion("6", period=0.01) is False
    peer.answer("GET", "/2/jobs/7", (200, {"status": "running"}))
    assert cl.WaitForJobCompletion(7, period=0.01, retries=2) is False
    assert [r["path"] for r in peer.requests].count("/2/jobs/7") == 2  # retries = polls
    assert cl.WaitForJobCompletion(7, period=0.01, retries=0) is False
    assert [r["path"] for r in peer.requests].count("/2/jobs/7") == 2


def test_error_answers(cl, peer):
    peer.answer("GET", "/2/instances/nosuch", (404, {"code": 404, "message": "Not Found",
                                                     "explain": "Nothing matches"}))
    with pytest.raises(client.GanetiApiError) as info:
        cl.GetInstance("nosuch")
    assert info.value.code == 404
    assert str(info.value) == "404 Not Found: Nothing matches"
    peer.answer("GET", "/2/info", (502, b"<html>bad gateway</html>"))
    with pytest.raises(client.GanetiApiError) as info:
        cl.GetInfo()
    assert info.value.code == 502 and "bad gateway" in str(info.value)
    peer.answer("GET", "/2/os", (200, b"{not json"))
    with pytest.raises(client.GanetiApiError, match="Invalid JSON"):
        cl.GetOperatingSystems()
    peer.answer("GET", "/", (200, b""))
    assert cl._SendRequest("GET", "/", None, None) is None


def test_features_404_means_none(cl, peer):
    peer.answer("GET", "/2/features", (404, {"code": 404, "message": "Not Found"}))
    assert cl.GetFeatures() == []


def test_keep_alive_reuses_the_connection(cl, peer):
    for _ in range(4):
        cl.GetVersion()
    assert len({r["port"] for r in peer.requests}) == 1


def test_threads_get_their_own_connection(cl, peer):
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                assert cl.GetVersion() == 42
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(peer.requests) == 20


# --- transport errors and certificates ---------------------------------------------------

def test_certificate_checks(peer, cert, tmp_path):
    port = peer.server_address[1]
    # no curl_config_fn: like upstream, the self-signed rapi.pem is accepted
    assert client.GanetiRapiClient("127.0.0.1", port=port).GetVersion() == 42
    other = tmp_path / "other.pem"
    other.write_bytes(crypto.generate_self_signed_cert("localhost", validity_days=1)[1])
    wrong_ca = client.GanetiRapiClient("localhost", port=port, curl_config_fn=(
        client.GenericCurlConfig(cafile=str(other))))
    with pytest.raises(client.CertificateError) as info:
        wrong_ca.GetVersion()
    assert isinstance(info.value, client.GanetiApiError) and info.value.code
    wrong_name = client.GanetiRapiClient("127.0.0.1", port=port, curl_config_fn=(
        client.GenericCurlConfig(cafile=cert, verify_hostname=True)))
    with pytest.raises(client.CertificateError):
        wrong_name.GetVersion()
    no_name_check = client.GanetiRapiClient("127.0.0.1", port=port, curl_config_fn=(
        client.GenericCurlConfig(cafile=cert, verify_hostname=False)))
    assert no_name_check.GetVersion() == 42


def test_connection_refused():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cl = client.GanetiRapiClient("127.0.0.1", port=port, curl_config_fn=(
        client.GenericCurlConfig(connect_timeout=5)))
    with pytest.raises(client.GanetiApiError) as info:
        cl.GetVersion()
    assert not isinstance(info.value, client.CertificateError)
    assert info.value.code == 7  # CURLE_COULDNT_CONNECT


def test_constructor_checks_and_url():
    with pytest.raises(client.Error, match="Password not specified"):
        client.GanetiRapiClient("h", username="u")
    with pytest.raises(client.Error, match="without username"):
        client.GanetiRapiClient("h", password="p")
    assert client.GanetiRapiClient("::1")._base_url == "https://[::1]:5080"
    assert client.GanetiRapiClient("h", port=1234)._base_url == "https://h:1234"


def test_module_constants():
    assert client.GANETI_RAPI_PORT == 5080 and client.GANETI_RAPI_VERSION == 2
    assert client.JOB_STATUS_FINALIZED == {"success", "error", "canceled"}
    assert client.JOB_STATUS_ALL >= client.JOB_STATUS_PENDING | client.JOB_STATUS_FINALIZED
    assert client.REPLACE_DISK_CHG == "replace_new_secondary"
    assert client.NODE_EVAC_PRI == "primary-only"
    assert issubclass(client.CertificateError, client.GanetiApiError)
    assert issubclass(client.GanetiApiError, client.Error)


# --- the same public API as upstream's client --------------------------------------------

_DUMP_API = r"""
import inspect, json


def sig(f):
    return [(p.name, p.kind.name, None if p.default is p.empty else repr(p.default))
            for p in inspect.signature(f).parameters.values()
            if p.name not in ("self", "logger", "_pycurl_version_fn")]


def dump(c):
    cls = c.GanetiRapiClient
    methods = {n: sig(getattr(cls, n)) for n in dir(cls)
               if callable(getattr(cls, n)) and (not n.startswith("_") or n == "__init__")}
    consts = {n: sorted(v) if isinstance(v, frozenset) else v for n, v in vars(c).items()
              if n.isupper() and not n.startswith("_") and isinstance(v, (str, int, frozenset))}
    names = sorted(n for n in ("Error", "GanetiApiError", "CertificateError",
                               "GenericCurlConfig", "UsesRapiClient", "EpochNano")
                   if hasattr(c, n))
    return json.loads(json.dumps({"methods": methods, "consts": consts,
                                  "generic": sig(c.GenericCurlConfig), "names": names}))
"""


@pytest.mark.skipif(not (os.path.exists(UPSTREAM_CLIENT) and os.path.exists(UPSTREAM_PYTHON)),
                    reason="Debian's python3-ganeti-rapi is not installed")
def test_same_public_api_as_upstream():
    # -I: isolated, so this repository's ganeti package cannot shadow Debian's
    code = _DUMP_API + "\nfrom ganeti.rapi import client\nprint(json.dumps(dump(client)))\n"
    res = subprocess.run([UPSTREAM_PYTHON, "-I", "-c", code], capture_output=True,
                         text=True, cwd="/", env={"PATH": "/usr/bin:/bin"}, timeout=60,
                         check=True)
    upstream = json.loads(res.stdout)
    namespace: dict = {}
    exec(_DUMP_API, namespace)  # the same introspection, run on our module
    ours = namespace["dump"](client)
    missing = set(upstream["methods"]) - set(ours["methods"])
    assert not missing, "methods missing: %s" % sorted(missing)
    for name, params in upstream["methods"].items():
        assert ours["methods"][name] == params, name
    for name, value in upstream["consts"].items():
        if name in ("USER_AGENT",):
            continue
        assert ours["consts"].get(name) == value, name
    assert ours["generic"] == upstream["generic"]
    assert ours["names"] == upstream["names"]
