"""RpcClient against three real node daemons on 127.0.1.11-13.

Real TLS, real sockets, real files under each node's GANETI_ROOTDIR.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import time

import pytest

from ganeti import constants, crypto, errors, ssconf
from ganeti.rpc import client as rpc_client
from ganeti.rpc import defs
from ganeti.rpc.client import NodeTarget, RpcClient, RpcResult

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_noded import running_nodeds  # noqa: E402

ADDRESSES = ["127.0.1.11", "127.0.1.12", "127.0.1.13"]
DEAD_ADDRESS = "127.0.1.19"  # nothing listens there


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("rpc"))
    key, cert = crypto.generate_self_signed_cert("cluster.test")
    with running_nodeds(base, ADDRESSES, key + cert) as nodes:
        yield nodes


@pytest.fixture(scope="module")
def client(cluster):
    rpc = RpcClient(cert_file=cluster[0].paths["cert"])
    yield rpc
    rpc.close()


def _targets(cluster):
    return [nd.target() for nd in cluster]


def _ok(results: dict) -> dict:
    for res in results.values():
        assert res.fail_msg is None, res.fail_msg
    return {name: res.payload for name, res in results.items()}


# -- transport -------------------------------------------------------------
def test_version_on_all_nodes(cluster, client):
    payloads = _ok(client.call("version", _targets(cluster), []))
    assert payloads == {nd.hostname: constants.PROTOCOL_VERSION for nd in cluster}


def test_calls_run_in_parallel(cluster, client):
    start = time.monotonic()
    results = client.call("test_delay", _targets(cluster), [0.5])
    elapsed = time.monotonic() - start
    assert _ok(results) == {nd.hostname: None for nd in cluster}
    assert elapsed < 1.2, "3 x 0.5 s took %.2f s: not parallel" % elapsed


def test_keepalive_reuses_connections(cluster, client):
    client.call("version", _targets(cluster), [])
    before = client.connections_opened
    start = time.monotonic()
    for _ in range(100):
        _ok(client.call("version", _targets(cluster), []))
    per_call = (time.monotonic() - start) / 100
    assert client.connections_opened == before, "connections were not reused"
    assert per_call < 0.02, "%.1f ms per 3-node call" % (per_call * 1000)


def test_offline_node_not_contacted(cluster, client):
    nd = cluster[0]
    targets = [NodeTarget("gone.test", DEAD_ADDRESS, True), nd.target()]
    results = client.call("test_delay", targets, [0])
    gone = results["gone.test"]
    assert gone.offline and gone.fail_msg == "Node is marked offline" and gone.payload is None
    assert results[nd.hostname].fail_msg is None
    # version accepts offline nodes: it is sent even to an offline one
    res = client.call("version", [nd.target(offline=True)], [])[nd.hostname]
    assert res.fail_msg is None and not res.offline


def test_unreachable_node_fails_fast(client):
    start = time.monotonic()
    res = client.call_one("version", ("dead.test", DEAD_ADDRESS, False), [])
    assert res.fail_msg.startswith("Error 7: ") and res.payload is None
    assert time.monotonic() - start < 3
    with pytest.raises(errors.OpExecError, match=r"^Checking dead \(node dead.test\): Error 7"):
        res.raise_for_error("Checking dead")


def test_client_side_argument_checks(client):
    with pytest.raises(errors.ProgrammerError, match="Unknown RPC procedure"):
        client.call("no_such_thing", [], [])
    with pytest.raises(errors.ProgrammerError, match="takes 1 arguments, 0 given"):
        client.call("test_delay", [], [])


def test_node_error_message_and_raise(cluster, client):
    nd = cluster[0]
    res = client.call_one("test_delay", nd.target(), [-1])
    assert res.fail_msg == "Invalid delay duration -1"
    with pytest.raises(errors.OpExecError) as exc:
        res.raise_for_error("Delay on %s" % nd.hostname)
    assert str(exc.value) == "Delay on %s: Invalid delay duration -1" % nd.hostname
    with pytest.raises(errors.OpPrereqError):
        res.raise_for_error(prereq=True)
    RpcResult("n", "version", [True, 1]).raise_for_error()  # success: no exception


# -- files -----------------------------------------------------------------
def test_upload_file_whitelist(cluster, client):
    nd = cluster[1]
    big = os.urandom(40000).hex().encode()  # >= 512 bytes: zlib + base64 on the wire
    args = ["/var/lib/ganeti/config.data", rpc_client.encode_file(big), 0o640, None, None,
            1000000000.0, 1200000000.0]
    assert rpc_client.encode_file(big)[0] == constants.RPC_ENCODING_ZLIB_BASE64
    _ok(client.call("upload_file", [nd.target()], args))
    path = os.path.join(nd.root, "var/lib/ganeti/config.data")
    with open(path, "rb") as fh:
        assert fh.read() == big
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_mtime == 1200000000.0
    small = ["/var/lib/ganeti/known_hosts", rpc_client.encode_file(b"host key\n"), 0o644,
             None, None, None, None]
    _ok(client.call("upload_file", [nd.target()], small))
    for bad in ("/etc/passwd", "/var/lib/ganeti/../../../etc/shadow", "/var/lib/ganeti/queue/x",
                "relative/path"):
        res = client.call_one("upload_file", nd.target(), [bad] + small[1:])
        assert res.fail_msg is not None
        assert "not allowed to be uploaded" in res.fail_msg or "absolute" in res.fail_msg
    assert not os.path.exists(os.path.join(nd.root, "etc/passwd"))


def test_jobqueue_replication(cluster, client):
    targets = _targets(cluster)
    job = b'{"id": 1, "ops": []}' * 40
    _ok(client.call("jobqueue_update", targets,
                    ["/var/lib/ganeti/queue/job-1", rpc_client.encode_file(job)]))
    for nd in cluster:
        path = os.path.join(nd.root, "var/lib/ganeti/queue/job-1")
        with open(path, "rb") as fh:
            assert fh.read() == job
    _ok(client.call("jobqueue_rename", targets,
                    [[["/var/lib/ganeti/queue/job-1",
                       "/var/lib/ganeti/queue/archive/0/job-1"]]]))
    for nd in cluster:
        assert os.path.exists(os.path.join(nd.root, "var/lib/ganeti/queue/archive/0/job-1"))
        assert not os.path.exists(os.path.join(nd.root, "var/lib/ganeti/queue/job-1"))
    res = client.call_one("jobqueue_update", cluster[0].target(),
                          ["/var/lib/ganeti/config.data", rpc_client.encode_file(b"x")])
    assert "is not inside the queue directory" in res.fail_msg
    res = client.call_one("jobqueue_update", cluster[0].target(),
                          ["/var/lib/ganeti/queue/../config.data", rpc_client.encode_file(b"x")])
    assert "is not inside the queue directory" in res.fail_msg
    _ok(client.call("jobqueue_set_drain_flag", targets, [True]))
    assert os.path.exists(os.path.join(cluster[2].root, "var/lib/ganeti/queue/drain"))
    _ok(client.call("jobqueue_set_drain_flag", targets, [False]))
    assert not os.path.exists(os.path.join(cluster[2].root, "var/lib/ganeti/queue/drain"))
    _ok(client.call("jobqueue_purge", [cluster[2].target()], []))
    assert os.listdir(os.path.join(cluster[2].root, "var/lib/ganeti/queue")) == []


def test_ssconf_round_trip_and_master_name(cluster, client):
    values = {"cluster_name": "cluster.test", "master_node": "node1.test",
              "node_list": "node1.test\nnode2.test\nnode3.test", "offline_nodes": "",
              "node_primary_ips": "\n".join("%s %s" % (nd.hostname, nd.address)
                                            for nd in cluster)}
    _ok(client.call("write_ssconf_files", _targets(cluster), [values]))
    for nd in cluster:
        store = ssconf.SimpleStore(nd.paths["data"])
        assert store.get_cluster_name() == "cluster.test"
        assert store.get_node_list() == ["node1.test", "node2.test", "node3.test"]
        assert store.get_node_primary_ips()["node2.test"] == "127.0.1.12"
        assert store.read("offline_nodes") == ""
        mode = os.stat(store.path("cluster_name")).st_mode & 0o777
        assert mode == 0o444
    votes = _ok(client.call("master_node_name", _targets(cluster), []))
    assert set(votes.values()) == {"node1.test"}
    res = client.call_one("write_ssconf_files", cluster[0].target(), [{"bogus_key": "x"}])
    assert res.fail_msg == "Invalid ssconf key(s): bogus_key"


def test_watcher_pause(cluster, client):
    nd = cluster[0]
    _ok(client.call("set_watcher_pause", [nd.target()], [2000000000]))
    assert client.call_one("get_watcher_pause", nd.target(), []).payload == 2000000000
    _ok(client.call("set_watcher_pause", [nd.target()], [None]))
    assert client.call_one("get_watcher_pause", nd.target(), []).payload is None


def test_etc_hosts_modify(cluster, client):
    nd = cluster[2]
    hosts = os.path.join(nd.root, "etc/hosts")
    os.makedirs(os.path.dirname(hosts), exist_ok=True)
    with open(hosts, "w") as fh:
        fh.write("127.0.0.1 localhost\n10.0.0.9 inst1.test inst1 other\n")
    _ok(client.call("etc_hosts_modify", [nd.target()], ["add", "inst1.test", "10.0.0.1"]))
    with open(hosts) as fh:
        assert fh.read() == ("127.0.0.1 localhost\n10.0.0.9\tother\n"
                             "10.0.0.1\tinst1.test inst1\n")
    _ok(client.call("etc_hosts_modify", [nd.target()], ["remove", "inst1.test", None]))
    with open(hosts) as fh:
        assert "inst1" not in fh.read()
    res = client.call_one("etc_hosts_modify", nd.target(), ["add", "bad name", "10.0.0.1"])
    assert "Invalid host name" in res.fail_msg


# -- node facts, verify, OS, hooks -------------------------------------------
def test_node_info(cluster, client):
    nd = cluster[0]
    storage = os.path.join(nd.root, "srv/ganeti/file-storage")
    os.makedirs(storage, exist_ok=True)
    res = client.call_one("node_info", nd.target(),
                          [[["file", "/srv/ganeti/file-storage", []]],
                           [["fake", {}], ["kvm", {"kvm_path": "/nonexistent"}]]])
    bootid, (sinfo,), (fake, kvm) = res.payload
    with open("/proc/sys/kernel/random/boot_id") as fh:
        assert bootid == fh.read().strip()
    assert sinfo["type"] == "file" and sinfo["name"] == "/srv/ganeti/file-storage"
    assert 0 < sinfo["storage_free"] <= sinfo["storage_size"]
    assert fake["memory_total"] > 0 and fake["cpu_total"] >= 1
    assert set(fake) == {"memory_total", "memory_free", "memory_dom0", "cpu_total",
                         "cpu_nodes", "cpu_sockets", "cpu_dom0", "hv_version"}
    assert kvm["hv_version"] is None


def test_node_verify(cluster, client):
    nd = cluster[0]
    checks = {
        "version": None, "time": None,
        "filelist": ["/var/lib/ganeti/server.pem", "/var/lib/ganeti/nonexistent"],
        "nodelist": {cluster[1].hostname: cluster[1].address, "dead.test": DEAD_ADDRESS,
                     nd.hostname: nd.address},
        "hypervisor": ["fake"], "nodesetup": None, "master-ip": ["node1.test", nd.address],
        "client-cert": "/var/lib/ganeti/server.pem", "bridges": ["no-such-br0"],
        "instancelist": ["fake"], "oslist": None, "future-check": 1,
    }
    before = time.time()
    result = client.call_one("node_verify", nd.target(), [checks, "cluster.test", {}]).payload
    assert result["version"] == [constants.PROTOCOL_VERSION, constants.RELEASE_VERSION]
    sec, usec = result["time"]
    assert before - 1 <= sec + usec / 1e6 <= time.time() + 1
    assert set(result["filelist"]) == {"/var/lib/ganeti/server.pem"}
    assert result["filelist"]["/var/lib/ganeti/server.pem"] == \
        hashlib.sha1(open(nd.paths["cert"], "rb").read()).hexdigest()
    assert list(result["nodelist"]) == ["dead.test"]
    assert result["hypervisor"] == {"fake": None}
    assert isinstance(result["nodesetup"], list)
    assert result["master-ip"] is True
    assert result["client-cert"] == [0, crypto.cert_digest(nd.paths["cert"])]
    assert result["bridges"] == ["no-such-br0"]
    assert result["instancelist"] == [] and isinstance(result["oslist"], list)
    assert "future-check" not in result
    light = client.call_one("node_verify_light", nd.target(),
                            [{"version": None}, "cluster.test", {}]).payload
    assert list(light) == ["version"]


def _make_os(base: str, name: str, api: str = "20\n15\n10\n", scripts=None,
             variants: str | None = "default\nminimal\n", params: str | None = "dhcp Use DHCP\n"):
    path = os.path.join(base, name)
    os.makedirs(path)
    with open(os.path.join(path, "ganeti_api_version"), "w") as fh:
        fh.write(api)
    for script in scripts if scripts is not None else \
            ("create", "import", "export", "rename", "verify"):
        spath = os.path.join(path, script)
        with open(spath, "w") as fh:
            fh.write("#!/bin/sh\nexit 0\n")
        os.chmod(spath, 0o755)
    if variants is not None:
        with open(os.path.join(path, "variants.list"), "w") as fh:
            fh.write(variants)
    if params is not None:
        with open(os.path.join(path, "parameters.list"), "w") as fh:
            fh.write(params)
    return path


def test_os_diagnose(cluster, client):
    nd = cluster[1]
    base = os.path.join(nd.root, "srv/ganeti/os")
    os.makedirs(base, exist_ok=True)
    _make_os(base, "good")
    bad = _make_os(base, "noexec")
    os.chmod(os.path.join(bad, "rename"), 0o644)
    noapi = _make_os(base, "noapi")
    os.unlink(os.path.join(noapi, "ganeti_api_version"))
    entries = {e[0]: e for e in client.call_one("os_diagnose", nd.target(), []).payload}
    assert entries["good"] == ["good", "/srv/ganeti/os/good", True, "", ["default", "minimal"],
                               [["dhcp", "Use DHCP"]], [20, 15, 10], True]
    assert entries["noexec"][2] is False and "'rename'" in entries["noexec"][3] and \
        "not an executable" in entries["noexec"][3]
    assert entries["noapi"][2] is False and "ganeti_api_version" in entries["noapi"][3]
    assert nd.root not in entries["noapi"][3]


def test_hooks_runner(cluster, client):
    nd = cluster[2]
    hdir = os.path.join(nd.root, "etc/ganeti/hooks/instance-start-pre.d")
    os.makedirs(hdir)
    scripts = {
        "10-env": "#!/bin/sh\necho \"$GANETI_OP_CODE $PATH $HOME\"\n",
        "20-fail": "#!/bin/sh\necho failing >&2\nexit 3\n",
        "bad.sh": "#!/bin/sh\nexit 0\n",
    }
    for name, text in scripts.items():
        with open(os.path.join(hdir, name), "w") as fh:
            fh.write(text)
        os.chmod(os.path.join(hdir, name), 0o755)
    res = client.call_one("hooks_runner", nd.target(),
                          ["instance-start", "pre", {"GANETI_OP_CODE": "OP_INSTANCE_STARTUP"}])
    assert res.payload == [
        ["instance-start-pre.d/10-env", constants.HKR_SUCCESS,
         "OP_INSTANCE_STARTUP /sbin:/bin:/usr/sbin:/usr/bin"],
        ["instance-start-pre.d/20-fail", constants.HKR_FAIL, "failing"],
        ["instance-start-pre.d/bad.sh", constants.HKR_SKIP, ""],
    ]
    none = client.call_one("hooks_runner", nd.target(), ["instance-start", "post", {}])
    assert none.payload == []
    bad = client.call_one("hooks_runner", nd.target(), ["../x", "pre", {}])
    assert "Invalid hooks path" in bad.fail_msg


def test_bridges_and_ip(cluster, client):
    nd = cluster[0]
    res = client.call_one("bridges_exist", nd.target(), [["no-such-br0"]])
    assert res.fail_msg == "Missing bridges no-such-br0"
    assert client.call_one("bridges_exist", nd.target(), [[]]).fail_msg is None
    assert client.call_one("node_has_ip_address", nd.target(), ["127.0.1.11"]).payload is True
    assert client.call_one("node_has_ip_address", nd.target(), ["198.51.100.254"]).payload \
        is False


# -- pure client-side pieces -----------------------------------------------
@pytest.mark.parametrize("data", [b"", b"short text", "ünïcode".encode(), b"\xff\x00bin",
                                  b"x" * 511, b"y" * 512, os.urandom(5000)])
def test_file_encoding_round_trip(data):
    enc = rpc_client.encode_file(data)
    assert rpc_client.decode_file(enc) == data
    expect_zlib = len(data) >= 512 or data == b"\xff\x00bin"
    assert enc[0] == (constants.RPC_ENCODING_ZLIB_BASE64 if expect_zlib
                      else constants.RPC_ENCODING_NONE)


@pytest.mark.parametrize("bad", [None, [1], [2, "x"], [1, "!!notbase64"], [0, 5]])
def test_decode_file_rejects_garbage(bad):
    with pytest.raises(errors.ParameterError):
        rpc_client.decode_file(bad)


def test_procedure_table():
    for name, proc in defs.PROCEDURES.items():
        assert isinstance(proc.args, tuple) and proc.doc
        assert defs.timeout_of(name, [1] * len(proc.args)) > 0
    assert defs.accepts_offline("version") and not defs.accepts_offline("node_info")
    assert defs.timeout_of("node_info") == constants.RPC_TMO_URGENT
    assert defs.timeout_of("test_delay", [100]) == 105
    from ganeti.server import noded
    assert set(noded.BACKEND) == set(defs.PROCEDURES)
    import inspect
    for name, fn in noded.BACKEND.items():
        params = inspect.signature(fn).parameters.values()
        required = [p for p in params if p.default is p.empty]
        assert len(required) <= defs.arg_count(name) <= len(params), name


def test_rpc_result_shapes():
    assert RpcResult("n", "c", [True, {"a": 1}]).payload == {"a": 1}
    assert RpcResult("n", "c", [False, "boom"]).fail_msg == "boom"
    assert RpcResult("n", "c", {"x": 1}).fail_msg == "Invalid answer from node n to c"


def test_certificate_renewal_is_picked_up(tmp_path):
    """renew-crypto: upload the new cert, swap the master's file, keep talking."""
    old_key, old_cert = crypto.generate_self_signed_cert("cluster.test")
    with running_nodeds(str(tmp_path), ["127.0.1.14"], old_key + old_cert) as (nd,):
        master_cert = str(tmp_path / "master-server.pem")
        with open(master_cert, "wb") as fh:
            fh.write(old_key + old_cert)
        rpc = RpcClient(cert_file=master_cert)
        assert rpc.call_one("version", nd.target(), []).fail_msg is None
        new_key, new_cert = crypto.generate_self_signed_cert("cluster.test")
        upload = ["/var/lib/ganeti/server.pem", rpc_client.encode_file(new_key + new_cert),
                  0o440, None, None, None, None]
        _ok(rpc.call("upload_file", [nd.target()], upload))
        tmp = master_cert + ".new"
        with open(tmp, "wb") as fh:
            fh.write(new_key + new_cert)
        os.rename(tmp, master_cert)
        res = rpc.call_one("version", nd.target(), [])
        assert res.fail_msg is None, res.fail_msg
        assert "Cluster certificate %s changed, reloaded" % nd.paths["cert"] in nd.read_log()
        os.unlink(master_cert)
        res = rpc.call_one("version", nd.target(), [])
        assert res.fail_msg.startswith("Can't read the cluster certificate")
        rpc.close()
