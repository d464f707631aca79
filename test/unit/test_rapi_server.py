"""The RAPI server over real TLS sockets, with a resource table built here.

The expected error bodies are upstream's, byte for byte, from
/work/shared/reference/ganeti-3.0/outputs/rapi-error-*.txt.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import socket
import ssl
import threading
import time

import pytest

from ganeti import constants, crypto, errors
from ganeti.rapi import server as rapi_server
from ganeti.rapi.base import READ_WRITE, WRITE, Context, Method, RapiError, Resource

BODY_401 = (b'{"code": 401, "message": "Unauthorized", "explain": "No permission -- see'
            b' authorization schemes"}\n')
BODY_404 = b'{"code": 404, "message": "Not Found", "explain": "Nothing matches the given URI"}\n'
BODY_501 = (b'{"code": 501, "message": "Method PUT is unsupported for path /2/jobs?x=1",'
            b' "explain": "Server does not support this operation"}\n')
USERS = "admin adminpw write\nreader readpw read\nplain plainpw\n"


def _echo(ctx: Context) -> dict:
    return {"params": ctx.params, "query": ctx.query, "body": ctx.body, "user": ctx.user,
            "method": ctx.method, "resource": ctx.resource_name}


def _noent(ctx: Context):
    raise errors.OpPrereqError("Instance '%s' not known" % ctx.params["name"],
                               errors.ECODE_NOENT)


def _bug(ctx: Context):
    return {}["missing"]


def _bad_arg(ctx: Context):
    return ctx.query_bool("bulk")


def _slow(ctx: Context):
    time.sleep(float(ctx.query_str("t", "0.3")))
    return "done"


TABLE = [
    Resource("/2/info", "info", {"GET": Method(lambda ctx: {"name": "test.cluster"}, "Info")}),
    Resource("/2/jobs", "jobs", {"GET": Method(lambda ctx: [], "Jobs", query_args=("bulk",))}),
    Resource("/2/instances", "instances", {
        "GET": Method(_bad_arg, "List", query_args=("bulk",)),
        "POST": Method(lambda ctx: 1234, "Create", job=True,
                       body={"type": "object"})}),
    Resource("/2/instances/{name}", "instances_name", {
        "GET": Method(_noent, "Get one"), "PUT": Method(_echo, "Echo"),
        "DELETE": Method(_echo, "Remove", job=True)}),
    Resource("/2/instances/{name}/tags", "instances_name_tags", {
        "GET": Method(_echo, "Tags"), "PUT": Method(_echo, "Add tags", query_args=("tag",))}),
    Resource("/2/query/{resource}", "query", {
        "GET": Method(_echo, "Query", access=READ_WRITE)}),
    Resource("/2/wait", "wait", {"GET": Method(_echo, "Wait", access=WRITE)}),
    Resource("/2/bug", "bug", {"GET": Method(_bug, "Bug")}),
    Resource("/2/slow", "slow", {"GET": Method(_slow, "Slow")}),
    Resource("/2/unencodable", "unencodable", {"GET": Method(lambda ctx: {1j}, "Bad")}),
    Resource("/2/rapierror", "rapierror", {
        "GET": Method(lambda ctx: (_ for _ in ()).throw(RapiError(503, "Queue drained")),
                      "503")}),
]


class Srv:
    def __init__(self, tmp, require_auth=False, **kw):
        self.cert = os.path.join(tmp, "rapi.pem")
        if not os.path.exists(self.cert):
            crypto.write_cluster_cert(self.cert, "rapi.test")
        self.users = os.path.join(tmp, "users")
        with open(self.users, "w") as fh:
            fh.write(USERS)
        self.server = rapi_server.RapiServer(
            resources=list(TABLE), bind="127.0.0.1", port=0, cert_file=self.cert,
            users_file=self.users, require_auth=require_auth,
            luxi_address=os.path.join(tmp, "no-such-socket"), **kw)
        self.server.start()
        self.port = self.server.port

    def ctx(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.cert)
        ctx.check_hostname = False
        return ctx

    def conn(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx(),
                                           timeout=10)

    def request(self, method, path, body=None, headers=None, user=None, conn=None):
        c = conn or self.conn()
        hdrs = dict(headers or {})
        if user:
            hdrs["Authorization"] = "Basic " + base64.b64encode(user.encode()).decode()
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        c.request(method, path, body=body, headers=hdrs)
        resp = c.getresponse()
        data = resp.read()
        if conn is None:
            c.close()
        return resp, data

    def raw_socket(self) -> ssl.SSLSocket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        return self.ctx().wrap_socket(sock)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Srv(str(tmp_path_factory.mktemp("rapi")), head_timeout=1.0, body_timeout=1.0)
    yield s
    s.server.stop()


def _recv_all(sock, timeout=5.0) -> bytes:
    sock.settimeout(timeout)
    out = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    except (ConnectionResetError, ssl.SSLError):
        pass
    return out


# -- transport and upstream's answers ----------------------------------------------
def test_tls_serves_the_rapi_certificate(srv):
    with srv.raw_socket() as sock:
        assert sock.getpeercert(binary_form=True) == crypto.load_cert_der(srv.cert)
        assert sock.version() in ("TLSv1.2", "TLSv1.3")
    # plain HTTP on the TLS port gets no HTTP answer
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as plain:
        plain.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        assert not _recv_all(plain).startswith(b"HTTP/")


def test_version_and_root_like_upstream(srv):
    resp, data = srv.request("GET", "/version", user="admin:adminpw")
    assert (resp.status, data) == (200, b"2\n")
    assert resp.getheader("Content-Type") == "application/json"
    assert resp.getheader("Server") == "Ganeti %s" % constants.RELEASE_VERSION
    for path in ("/", "/2"):
        assert srv.request("GET", path)[1] == b"null\n"
    resp, data = srv.request("HEAD", "/version")
    assert resp.status == 200 and data == b""


def test_upstream_error_bodies(srv):
    resp, data = srv.request("GET", "/2/nosuchresource", user="admin:adminpw")
    assert (resp.status, resp.reason, data) == (404, "Not Found", BODY_404)
    resp, data = srv.request("PUT", "/2/jobs?x=1", user="admin:adminpw")
    assert (resp.status, resp.reason, data) == (501, "Not Implemented", BODY_501)
    resp, data = srv.request("POST", "/2/instances", body={})
    assert (resp.status, data) == (401, BODY_401)
    assert resp.getheader("WWW-Authenticate") == 'Basic realm="Ganeti Remote API"'
    assert resp.getheader("Content-Type") == "application/json"


def test_unknown_method_is_501_even_without_auth(srv):
    resp, data = srv.request("PATCH", "/2/info")
    assert resp.status == 501
    assert json.loads(data)["message"] == "Method PATCH is unsupported for path /2/info"


def test_auth_cases(srv):
    assert srv.request("GET", "/2/info")[0].status == 200            # anonymous read
    assert srv.request("POST", "/2/instances", body={}, user="admin:wrong")[0].status == 401
    assert srv.request("POST", "/2/instances", body={}, user="nobody:x")[0].status == 401
    resp, data = srv.request("POST", "/2/instances", body={}, user="reader:readpw")
    assert resp.status == 403 and json.loads(data) == {
        "code": 403, "message": "Forbidden",
        "explain": "Request forbidden -- authorization will not help"}
    assert srv.request("POST", "/2/instances", body={}, user="plain:plainpw")[0].status == 403
    resp, data = srv.request("POST", "/2/instances", body={}, user="admin:adminpw")
    assert (resp.status, data) == (200, b"1234\n")
    # special GET access lists
    assert srv.request("GET", "/2/wait")[0].status == 401
    assert srv.request("GET", "/2/wait", user="reader:readpw")[0].status == 403
    assert srv.request("GET", "/2/query/nodes", user="reader:readpw")[0].status == 200
    assert srv.request("GET", "/2/query/nodes", user="admin:adminpw")[0].status == 200
    assert srv.request("GET", "/2/query/nodes", user="plain:plainpw")[0].status == 403


def test_context_reaches_handler(srv):
    resp, data = srv.request("PUT", "/2/instances/inst1.example.com?dry-run=1&tag=a&tag=b%20c",
                             body={"x": [1, "é"]}, user="admin:adminpw")
    assert resp.status == 200
    assert json.loads(data) == {
        "params": {"name": "inst1.example.com"}, "body": {"x": [1, "é"]},
        "query": {"dry-run": ["1"], "tag": ["a", "b c"]}, "user": "admin",
        "method": "PUT", "resource": "instances_name"}
    # percent-encoded names are decoded once; trailing slash tolerated
    data = srv.request("GET", "/2/instances/a%40b/tags/")[1]
    assert json.loads(data)["params"] == {"name": "a@b"}


def test_handler_errors_become_json(srv):
    resp, data = srv.request("GET", "/2/instances/nosuch")
    assert resp.status == 404
    assert json.loads(data)["message"] == "Instance 'nosuch' not known"
    resp, data = srv.request("GET", "/2/instances?bulk=yes")
    assert resp.status == 400 and b"bulk" in data
    resp, data = srv.request("GET", "/2/rapierror")
    assert resp.status == 503 and json.loads(data)["message"] == "Queue drained"
    for path in ("/2/bug", "/2/unencodable"):
        resp, data = srv.request("GET", path)
        assert resp.status == 500 and b"Traceback" not in data
        assert set(json.loads(data)) == {"code", "message", "explain"}


@pytest.mark.parametrize("path", [
    "/2/instances/..%2f..%2fetc", "/2/instances/..%2F..%2Fetc%2Fpasswd", "/2/instances/%2e%2e",
    "/2/instances/.", "/2/instances/a%00b", "/2/instances/%ff", "//2/info", "/2//info",
    "/2/instances/a/b/c/d", "/2/instances/..", "/2/info/..", "/2/instances/x%2ftags",
])
def test_path_traversal_and_odd_paths(srv, path):
    resp, data = srv.request("GET", path)
    assert resp.status == 404, (path, data)
    assert data == BODY_404


def test_raw_dotdot_path(srv):
    with srv.raw_socket() as sock:
        sock.sendall(b"GET /2/instances/../../etc/passwd HTTP/1.1\r\nHost: x\r\n"
                     b"Connection: close\r\n\r\n")
        data = _recv_all(sock)
    assert data.startswith(b"HTTP/1.1 404") and data.endswith(BODY_404)


# -- bodies --------------------------------------------------------------------------
def test_body_content_type_415(srv):
    for ctype in ("text/plain", "", "application/jsonx", "application/x-www-form-urlencoded"):
        hdrs = {"Content-Type": ctype} if ctype else {}
        resp, data = srv.request("PUT", "/2/instances/x", body=b'{"a": 1}', headers=hdrs,
                                 user="admin:adminpw")
        assert resp.status == 415, ctype
        assert json.loads(data)["message"] == "Unsupported Media Type"
    resp, _ = srv.request("PUT", "/2/instances/x", body=b'{"a": 1}',
                          headers={"Content-Type": "Application/JSON; charset=utf-8"},
                          user="admin:adminpw")
    assert resp.status == 200


@pytest.mark.parametrize("raw", [b"{", b"{'a': 1}", b"\xff\xfe", b"[1,]", b"nul",
                                 b"[" * 100000 + b"]" * 100000])
def test_malformed_json_400(srv, raw):
    resp, data = srv.request("PUT", "/2/instances/x", body=raw,
                             headers={"Content-Type": "application/json"},
                             user="admin:adminpw")
    assert resp.status == 400
    assert json.loads(data)["message"] == "Unable to parse JSON data"


def test_empty_body_is_none(srv):
    resp, data = srv.request("PUT", "/2/instances/x", body=b"", user="admin:adminpw")
    assert resp.status == 200 and json.loads(data)["body"] is None


def test_huge_body_413_without_reading_it(srv):
    with srv.raw_socket() as sock:
        sock.sendall(b"PUT /2/instances/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     b"\r\nContent-Length: 10000000000\r\nAuthorization: Basic "
                     + base64.b64encode(b"admin:adminpw") + b"\r\n\r\n" + b"[" * 1000)
        start = time.monotonic()
        data = _recv_all(sock)
    assert time.monotonic() - start < 3
    assert data.startswith(b"HTTP/1.1 413 ")
    assert b'"code": 413' in data
    # just over the limit, really sent
    big = b'"' + b"x" * rapi_server.MAX_BODY + b'"'
    try:
        resp, data = srv.request("PUT", "/2/instances/x", body=big,
                                 headers={"Content-Type": "application/json"},
                                 user="admin:adminpw")
        assert resp.status == 413
    except (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError):
        pass  # the server may close before the client finished sending: also a refusal


def test_chunked_body_411(srv):
    with srv.raw_socket() as sock:
        sock.sendall(b"PUT /2/instances/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     b"\r\nTransfer-Encoding: chunked\r\nAuthorization: Basic "
                     + base64.b64encode(b"admin:adminpw")
                     + b"\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
        data = _recv_all(sock)
    assert data.startswith(b"HTTP/1.1 411 ") and b'"code": 411' in data


def test_unauthenticated_body_is_not_read(srv):
    with srv.raw_socket() as sock:
        sock.sendall(b"POST /2/instances HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     b"\r\nContent-Length: 500000000\r\n\r\n{")
        data = _recv_all(sock)
    assert data.startswith(b"HTTP/1.1 401 ") and data.endswith(BODY_401)


# -- slow and broken clients ---------------------------------------------------------
def test_slow_head_is_dropped_and_others_are_served(srv):
    with srv.raw_socket() as slow:
        slow.sendall(b"GET /2/info HTTP/1.1\r\nHost: x\r\n")   # never finishes the head
        start = time.monotonic()
        assert srv.request("GET", "/2/info")[0].status == 200
        slow.settimeout(10)
        assert _recv_all(slow, 10) == b""
        assert time.monotonic() - start < 5


def test_slow_body_times_out(srv):
    with srv.raw_socket() as sock:
        sock.sendall(b"PUT /2/instances/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     b"\r\nContent-Length: 100\r\nAuthorization: Basic "
                     + base64.b64encode(b"admin:adminpw") + b"\r\n\r\n{\"a\":")
        start = time.monotonic()
        data = _recv_all(sock)
    assert data.startswith(b"HTTP/1.1 408 ") and time.monotonic() - start < 5


def test_idle_tls_handshake_does_not_block(srv):
    idle = socket.create_connection(("127.0.0.1", srv.port), timeout=5)   # no handshake
    try:
        assert srv.request("GET", "/version")[1] == b"2\n"
    finally:
        idle.close()


def test_garbage_request_gets_json_400(srv):
    with srv.raw_socket() as sock:
        sock.sendall(b"\x01\x02 garbage\r\n\r\n")
        data = _recv_all(sock)
    assert data.startswith((b"HTTP/1.0 400 ", b"HTTP/1.1 400 "))
    body = data.split(b"\r\n\r\n", 1)[1]
    assert json.loads(body)["code"] == 400


def test_keepalive_and_concurrency(srv):
    conn = srv.conn()
    try:
        for _ in range(20):
            resp, data = srv.request("GET", "/2/info", conn=conn)
            assert resp.status == 200 and not resp.will_close
        # errors keep the connection too
        resp, _ = srv.request("GET", "/2/nothing", conn=conn)
        assert resp.status == 404
        assert srv.request("GET", "/version", conn=conn)[1] == b"2\n"
    finally:
        conn.close()
    results: list[int] = []

    def one():
        results.append(srv.request("GET", "/2/slow?t=0.5")[0].status)

    threads = [threading.Thread(target=one) for _ in range(8)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 8
    assert time.monotonic() - start < 3   # in parallel, not 8 x 0.5 s


def test_every_request_is_logged(srv, caplog):
    with caplog.at_level(logging.INFO):
        srv.request("POST", "/2/instances", body={}, user="admin:adminpw")
        srv.request("GET", "/2/nosuch")
        time.sleep(0.1)
    lines = [r.getMessage() for r in caplog.records]
    assert any(" admin POST /2/instances 200 " in m for m in lines), lines
    assert any(" - GET /2/nosuch 404 " in m for m in lines), lines


def test_openapi_served_without_auth(tmp_path):
    s = Srv(str(tmp_path), require_auth=True)
    try:
        resp, data = s.request("GET", "/2/info")
        assert (resp.status, data) == (401, BODY_401)
        assert s.request("GET", "/2/info", user="plain:plainpw")[0].status == 200
        resp, data = s.request("GET", "/2/openapi.json")
        doc = json.loads(data)
        assert resp.status == 200 and doc["openapi"].startswith("3.1")
        assert "/2/instances/{name}" in doc["paths"]
        assert doc["paths"]["/2/query/{resource}"]["get"]["x-ganeti-access"] == \
            ["write", "read"]
    finally:
        s.server.stop()


def test_users_file_change_and_cert_renewal(tmp_path):
    s = Srv(str(tmp_path))
    try:
        assert s.request("POST", "/2/instances", body={}, user="new:pw")[0].status == 401
        with open(s.users + ".tmp", "w") as fh:
            fh.write("new pw write\n")
        os.replace(s.users + ".tmp", s.users)
        assert s.request("POST", "/2/instances", body={}, user="new:pw")[0].status == 200
        assert s.request("POST", "/2/instances", body={},
                         user="admin:adminpw")[0].status == 401
        old_der = crypto.load_cert_der(s.cert)
        crypto.write_cluster_cert(s.cert, "renewed.test")   # what renew-crypto writes
        new_der = crypto.load_cert_der(s.cert)
        assert new_der != old_der
        with s.raw_socket() as sock:
            assert sock.getpeercert(binary_form=True) == new_der
        # a broken file does not replace the working certificate
        ctx = s.ctx()
        with open(s.cert, "w") as fh:
            fh.write("garbage")
        sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", s.port), timeout=10))
        with sock:
            assert sock.getpeercert(binary_form=True) == new_der
    finally:
        s.server.stop()


def test_no_ssl_mode(tmp_path):
    s = Srv(str(tmp_path), use_ssl=False)
    try:
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
        c.request("GET", "/version")
        assert c.getresponse().read() == b"2\n"
        c.close()
    finally:
        s.server.stop()


def test_master_unreachable_is_502(tmp_path):
    def needs_luxi(ctx: Context):
        return ctx.luxi().query_cluster_info()

    cert = str(tmp_path / "rapi.pem")
    crypto.write_cluster_cert(cert, "x")
    server = rapi_server.RapiServer(
        resources=[Resource("/2/info", "info", {"GET": Method(needs_luxi, "info")})],
        bind="127.0.0.1", port=0, use_ssl=False, cert_file=cert,
        users_file=str(tmp_path / "users"), luxi_address=str(tmp_path / "nosocket"))
    server.start()
    try:
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        c.request("GET", "/2/info")
        resp = c.getresponse()
        assert resp.status == 502
        assert json.loads(resp.read())["message"].startswith("Can't connect to the master")
    finally:
        server.stop()


def test_router_rejects_duplicates():
    res = Resource("/2/x", "x", {"GET": Method(lambda c: 1, "x")})
    with pytest.raises(errors.ProgrammerError):
        rapi_server.Router([res, res])
    router = rapi_server.Router([res, Resource("/2/{a}", "a", {}),
                                 Resource("/2/{a}/{b}", "ab", {})])
    assert router.match("/2/x")[0].name == "x"          # literal beats template
    assert router.match("/2/y") == (router.match("/2/y")[0], {"a": "y"})
    assert router.match("/2/y/z")[1] == {"a": "y", "b": "z"}
    assert router.match("2/x") is None


def test_real_table_end_to_end(tmp_path):
    try:
        from ganeti.rapi import resources
    except ModuleNotFoundError:
        pytest.skip("ganeti.rapi.resources (the real RESOURCES table) does not exist yet")
    from ganeti.rapi import openapi
    table = rapi_server.with_builtins(list(resources.RESOURCES))
    doc = openapi.generate(table)
    json.dumps(doc)
    for res in table:
        assert res.path in doc["paths"]
    cert = str(tmp_path / "rapi.pem")
    crypto.write_cluster_cert(cert, "x")
    users = tmp_path / "users"
    users.write_text("admin adminpw write\n")
    server = rapi_server.RapiServer(bind="127.0.0.1", port=0, cert_file=cert,
                                    users_file=str(users),
                                    luxi_address=str(tmp_path / "nosocket"))
    server.start()
    try:
        ctx = ssl.create_default_context(cafile=cert)
        ctx.check_hostname = False
        c = http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=10)
        c.request("GET", "/version")
        assert c.getresponse().read() == b"2\n"
        c.request("PUT", "/2/jobs?x=1")
        resp = c.getresponse()
        assert (resp.status, resp.read()) == (501, BODY_501)
        c.request("GET", "/2/info")
        resp = c.getresponse()
        assert resp.status == 502, resp.read()
        resp.read()
        c.close()
    finally:
        server.stop()
