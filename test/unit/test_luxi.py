import os
import threading

import pytest

from ganeti import errors, luxi
from ganeti.server.luxi_server import LuxiServer


@pytest.fixture
def server(tmp_path):
    path = str(tmp_path / "sock")
    srv = LuxiServer([path], {
        "QueryTags": lambda kind, name: [kind, name],
        "SetDrainFlag": lambda flag: (_ for _ in ()).throw(
            errors.OpPrereqError("nope", errors.ECODE_INVAL)),
        "QueryClusterInfo": lambda: 1 / 0,
    })
    srv.start()
    yield path
    srv.stop()


def test_round_trip(server):
    client = luxi.Client(server)
    assert client.query_tags("cluster", None) == ["cluster", None]
    assert client.query_tags("node", "x") == ["node", "x"]


def test_remote_error_is_raised_locally(server):
    with pytest.raises(errors.OpPrereqError) as exc:
        luxi.Client(server).set_drain_flag(True)
    assert exc.value.args == ("nope", errors.ECODE_INVAL)


def test_internal_error_does_not_kill_server(server):
    client = luxi.Client(server)
    with pytest.raises(errors.OpExecError):
        client.query_cluster_info()
    assert client.query_tags("cluster", None) == ["cluster", None]


@pytest.mark.parametrize("payload,fragment", [
    (b"not json", "not JSON"),
    (b"[1,2]", "not a dict"),
    (b'{"method": "QueryTags"}', "no method or arguments"),
    (b'{"method": "QueryTags", "args": {}}', "must be a list"),
    (b'{"method": "Nope", "args": []}', "Unknown LUXI method"),
    (b'{"method": "QueryTags", "args": [1]}', "takes 2 arguments"),
])
def test_malformed_requests(server, payload, fragment):
    t = luxi.Transport(server)
    t.send(payload + luxi.ETX)
    with pytest.raises(errors.ProtocolError) as exc:
        luxi.parse_response(t.recv())
    assert fragment in str(exc.value)
    t.close()


def test_missing_socket_is_no_master(tmp_path):
    with pytest.raises(errors.NoMasterError):
        luxi.Client(str(tmp_path / "none")).query_tags("cluster", None)


def test_concurrent_clients(server):
    errors_seen = []

    def worker(i):
        try:
            c = luxi.Client(server)
            for _ in range(50):
                assert c.query_tags("node", str(i)) == ["node", str(i)]
        except Exception as err:  # pragma: no cover - reported below
            errors_seen.append(err)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors_seen


def test_force_socket_env(monkeypatch, tmp_path):
    monkeypatch.setenv("FORCE_LUXI_SOCKET", str(tmp_path / "x"))
    assert luxi.default_address() == str(tmp_path / "x")
    monkeypatch.setenv("FORCE_LUXI_SOCKET", "query")
    assert luxi.default_address().endswith("ganeti-query")
    assert os.path.basename(luxi.default_address()) == "ganeti-query"


def test_version_mismatch_detected():
    import json as _json
    msg = _json.dumps({"success": True, "result": 1, "version": 2030000}).encode()
    with pytest.raises(errors.LuxiError, match="version mismatch"):
        luxi.parse_response(msg)
