"""ganeti.ssh and tools/node-daemon-setup against a real OpenSSH server.

The module starts its own sshd on 127.0.1.N (N in 200..209) with a host
key, config and authorized_keys in a temporary directory, and always stops
it. Host key checking, authentication and error paths are checked against
what OpenSSH really does, and fingerprints against ssh-keygen's.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from ganeti import crypto, errors, ssh

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "integration"))

import sshd_env  # noqa: E402

NODE_DAEMON_SETUP = os.path.join(REPO, "tools", "node-daemon-setup")
NODE_NAME = "node-t.ssh.test"


def _pick_address() -> str:
    """An address of 127.0.1.200-209 where the ports this module binds are free."""
    for n in range(200, 210):
        address = "127.0.1.%d" % n
        if sshd_env.port_free(address, 22) and sshd_env.port_free(address, 1811):
            return address
    for n in range(200, 210):
        address = "127.0.1.%d" % n
        if sshd_env.port_free(address, 1811):
            return address
    pytest.skip("no free address in 127.0.1.200-209")


class Env:
    """Paths and the server of the module."""

    def __init__(self, base: str, server: sshd_env.Sshd, key_file: str, node_root: str):
        self.base = base
        self.server = server
        self.key_file = key_file
        self.node_root = node_root
        self.known_hosts = os.path.join(base, "known_hosts")

    def runner(self, **kwargs) -> ssh.SshRunner:
        kwargs.setdefault("known_hosts_file", self.known_hosts)
        kwargs.setdefault("key_file", self.key_file)
        kwargs.setdefault("port", self.server.port)
        kwargs.setdefault("timeout", 5)
        return ssh.SshRunner(**kwargs)

    def trust(self, port: int | None = None) -> None:
        """known_hosts with exactly the server's real key."""
        if os.path.exists(self.known_hosts):
            os.unlink(self.known_hosts)
        keytype, key = self.server.host_pub()
        ssh.add_known_host(self.server.address, keytype, key, self.known_hosts,
                           port=port or self.server.port)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    reason = sshd_env.cannot_run_sshd()
    if reason:
        pytest.skip(reason)
    base = str(tmp_path_factory.mktemp("ssh"))
    address = _pick_address()
    port = 22 if sshd_env.port_free(address, 22) else sshd_env.free_port(address)
    ports = [port, sshd_env.free_port(address)]
    node_root = os.path.join(base, "noderoot")
    os.makedirs(os.path.join(node_root, "etc", "default"))
    with open(os.path.join(node_root, "etc", "default", "ganeti"), "w") as fh:
        fh.write('NODED_ARGS="-b %s"\n' % address)
    path = ":".join([os.path.join(REPO, d) for d in ("scripts", "daemons", ".venv/bin")] +
                    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"])
    server = sshd_env.Sshd(os.path.join(base, "sshd"), address, ports,
                           setenv={"GANETI_ROOTDIR": node_root,
                                   "GANETI_HOSTNAME": NODE_NAME, "PATH": path})
    key_file = os.path.join(base, "cluster", "ssh", "id_ed25519")
    try:
        pub_line = ssh.ensure_cluster_key(key_file)
        server.authorize(pub_line)
        server.start()
        yield Env(base, server, key_file, node_root)
    finally:
        server.stop()
        subprocess.run([os.path.join(REPO, "daemons", "daemon-util"), "stop-all"],
                       env=dict(os.environ, GANETI_ROOTDIR=node_root), capture_output=True,
                       check=False, timeout=60)


@pytest.fixture
def trusted(env):
    env.trust()
    return env


# --- keys -------------------------------------------------------------------------

def test_ensure_cluster_key(tmp_path):
    key_file = str(tmp_path / "ssh" / "id_ed25519")
    line = ssh.ensure_cluster_key(key_file, comment="root@test")
    assert line.startswith("ssh-ed25519 ") and line.endswith(" root@test")
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    assert os.stat(str(tmp_path / "ssh")).st_mode & 0o777 == 0o700
    with open(key_file + ".pub") as fh:
        assert fh.read() == line + "\n"
    assert ssh.ensure_cluster_key(key_file) == line  # idempotent, keeps the comment
    os.unlink(key_file + ".pub")
    again = ssh.ensure_cluster_key(key_file)
    assert again.split()[:2] == line.split()[:2]  # recreated from the private key
    # OpenSSH itself accepts the key and computes the same public half
    out = subprocess.run(["ssh-keygen", "-y", "-f", key_file], capture_output=True,
                         text=True, check=True).stdout
    assert out.split()[:2] == line.split()[:2]


def test_fingerprint_matches_ssh_keygen(tmp_path):
    keytype, key = sshd_env.keygen(str(tmp_path / "k"))
    blob = ssh.decode_public_key(keytype, key)
    assert ssh.fingerprint(blob) == sshd_env.fingerprint_of(str(tmp_path / "k.pub"))


def test_decode_public_key_rejects_garbage():
    with pytest.raises(errors.OpPrereqError) as err:
        ssh.decode_public_key("ssh-ed25519", "not base64!")
    assert err.value.args[1] == errors.ECODE_INVAL
    with pytest.raises(errors.OpPrereqError, match="does not match"):
        ssh.decode_public_key("ssh-rsa", "AAAAC3NzaC1lZDI1NTE5AAAAIBSH46niihjfuD2XghyXY5MRWNq"
                              "NFkAxaTjm4pTyBeF+")


def test_known_hosts_add_replace_remove(tmp_path):
    path = str(tmp_path / "known_hosts")
    k1 = sshd_env.keygen(str(tmp_path / "a"))
    k2 = sshd_env.keygen(str(tmp_path / "b"))
    with open(path, "w") as fh:
        fh.write("# comment\nother.example 192.0.2.9 ssh-ed25519 %s\n" % k1[1])
    os.chmod(path, 0o600)
    ssh.add_known_host("n1.example,10.0.0.1", *k1, known_hosts_file=path)
    ssh.add_known_host("10.0.0.1", *k2, known_hosts_file=path)  # replaces the n1 line
    ssh.add_known_host("n2.example", *k2, known_hosts_file=path, port=2222)
    with open(path) as fh:
        lines = fh.read().splitlines()
    assert lines[0] == "# comment"
    assert "10.0.0.1 %s %s" % k2 in lines
    assert "[n2.example]:2222 %s %s" % k2 in lines
    assert not any(line.startswith("n1.example") for line in lines)
    assert os.stat(path).st_mode & 0o777 == 0o600  # mode kept
    ssh.remove_known_host("n2.example", known_hosts_file=path, port=2222)
    with open(path) as fh:
        assert "n2.example" not in fh.read()
    with pytest.raises(errors.OpPrereqError):
        ssh.add_known_host("bad name", *k1, known_hosts_file=path)


# --- commands -----------------------------------------------------------------------

def test_run_command_and_output(trusted):
    code, out, err = trusted.runner().run(trusted.server.address, ["echo", "hello world"])
    assert (code, out, err) == (0, "hello world\n", "")


def test_run_quotes_lists_and_passes_strings(trusted):
    runner = trusted.runner()
    code, out, _ = runner.run(trusted.server.address, ["printf", "%s|", "a b", "$HOME", "'"])
    assert (code, out) == (0, "a b|$HOME|'|")
    code, out, _ = runner.run(trusted.server.address, "echo $GANETI_HOSTNAME | tr a-z A-Z")
    assert (code, out) == (0, NODE_NAME.upper() + "\n")


def test_run_exit_code_and_stderr(trusted):
    code, out, err = trusted.runner().run(trusted.server.address,
                                          "echo out; echo oops >&2; exit 7")
    assert (code, out, err) == (7, "out\n", "oops\n")


def test_run_stdin_large(trusted):
    data = os.urandom(300_000).hex().encode()  # bigger than the SSH window
    code, out, err = trusted.runner().run(trusted.server.address, "sha256sum", stdin=data)
    import hashlib
    assert code == 0, err
    assert out.split()[0] == hashlib.sha256(data).hexdigest()


def test_run_big_output_on_both_streams(trusted):
    code, out, err = trusted.runner().run(
        trusted.server.address, "head -c 3000000 /dev/zero | tr '\\0' a;"
        " head -c 3000000 /dev/zero | tr '\\0' b >&2")
    assert code == 0
    assert len(out) == 3_000_000 and set(out) == {"a"}
    assert len(err) == 3_000_000 and set(err) == {"b"}


def test_run_timeout(trusted):
    started = time.monotonic()
    with pytest.raises(errors.OpExecError, match="did not finish within 1 s"):
        trusted.runner().run(trusted.server.address, "sleep 20", timeout=1)
    assert time.monotonic() - started < 8


def test_run_does_not_hang_on_a_child_holding_stdout(trusted):
    started = time.monotonic()
    code, out, _ = trusted.runner().run(trusted.server.address, "sleep 4 & echo started")
    assert (code, out) == (0, "started\n")
    assert time.monotonic() - started < 4


def test_session_environment_comes_from_sshd(trusted):
    code, out, _ = trusted.runner().run(trusted.server.address, "echo $GANETI_ROOTDIR")
    assert (code, out) == (0, trusted.node_root + "\n")


# --- files ---------------------------------------------------------------------------

def test_put_file_bytes_and_local_path(trusted, tmp_path):
    runner = trusted.runner()
    target = os.path.join(trusted.base, "put", "file.txt")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    runner.put_file(trusted.server.address, b"first\n", target, 0o600)
    with open(target) as fh:
        assert fh.read() == "first\n"
    assert os.stat(target).st_mode & 0o777 == 0o600
    local = tmp_path / "src"
    local.write_bytes(b"\0second" * 10000)
    runner.put_file(trusted.server.address, str(local), target, 0o644)  # overwrite
    with open(target, "rb") as fh:
        assert fh.read() == b"\0second" * 10000
    assert os.stat(target).st_mode & 0o777 == 0o644
    assert os.listdir(os.path.dirname(target)) == ["file.txt"]  # no temp file left


def test_put_file_error(trusted):
    with pytest.raises(errors.OpExecError, match="Cannot write /nonexistent-dir/x"):
        trusted.runner().put_file(trusted.server.address, b"x", "/nonexistent-dir/x")


# --- host keys --------------------------------------------------------------------------

def test_unknown_host_key_is_refused(env):
    if os.path.exists(env.known_hosts):
        os.unlink(env.known_hosts)
    with pytest.raises(errors.OpPrereqError) as err:
        env.runner().run(env.server.address, "true", node_name="nodeX.example")
    msg, code = err.value.args
    assert code == errors.ECODE_ENVIRON
    assert "is not known" in msg and "nodeX.example (%s)" % env.server.address in msg
    assert sshd_env.fingerprint_of(env.server.host_key + ".pub") in msg
    assert "--no-ssh-key-check" in msg


def test_changed_host_key_is_refused(env, tmp_path):
    wrong = sshd_env.keygen(str(tmp_path / "wrong"))
    if os.path.exists(env.known_hosts):
        os.unlink(env.known_hosts)
    ssh.add_known_host(env.server.address, *wrong, known_hosts_file=env.known_hosts,
                       port=env.server.port)
    with pytest.raises(errors.OpPrereqError) as err:
        env.runner().run(env.server.address, "touch %s/should-not-exist" % env.base)
    msg, code = err.value.args
    assert code == errors.ECODE_ENVIRON
    assert "CHANGED" in msg
    assert sshd_env.fingerprint_of(env.server.host_key + ".pub") in msg
    assert sshd_env.fingerprint_of(str(tmp_path / "wrong.pub")) in msg
    assert not os.path.exists(os.path.join(env.base, "should-not-exist"))


def test_tofu_with_host_key_and_add_known_host(env, tmp_path):
    wrong = sshd_env.keygen(str(tmp_path / "wrong"))
    if os.path.exists(env.known_hosts):
        os.unlink(env.known_hosts)
    ssh.add_known_host("tofu.example,%s" % env.server.address, *wrong,
                       known_hosts_file=env.known_hosts, port=env.server.port)
    runner = env.runner()
    keytype, key = runner.host_key(env.server.address)
    assert (keytype, key) == env.server.host_pub()
    runner.add_known_host("tofu.example,%s" % env.server.address, keytype, key)
    assert runner.run(env.server.address, "true")[0] == 0
    with open(env.known_hosts) as fh:
        lines = fh.read().splitlines()
    assert len(lines) == 1 and wrong[1] not in lines[0]  # the old key was replaced


def test_other_port_uses_bracketed_known_hosts_name(env):
    other = env.server.ports[1]
    env.trust(port=other)
    runner = env.runner(port=other)
    assert runner.run(env.server.address, "true")[0] == 0
    with open(env.known_hosts) as fh:
        assert fh.read().startswith("[%s]:%d " % (env.server.address, other))
    # a plain entry is for port 22 only: on another port the key is unknown
    env.trust(port=22)
    with pytest.raises(errors.OpPrereqError, match="is not known"):
        runner.run(env.server.address, "true")


def test_hashed_known_hosts(trusted):
    subprocess.run(["ssh-keygen", "-H", "-f", trusted.known_hosts], check=True,
                   capture_output=True)
    with open(trusted.known_hosts) as fh:
        assert fh.read().startswith("|1|")
    assert trusted.runner().run(trusted.server.address, "true")[0] == 0
    keytype, key = trusted.server.host_pub()
    ssh.add_known_host(trusted.server.address, keytype, key, trusted.known_hosts,
                       port=trusted.server.port)  # replaces the hashed line
    with open(trusted.known_hosts) as fh:
        assert len(fh.read().splitlines()) == 1


def test_no_host_key_check(env):
    if os.path.exists(env.known_hosts):
        os.unlink(env.known_hosts)
    assert env.runner().run(env.server.address, "true", check_host_key=False)[0] == 0


def test_host_key_changed_on_server(env):
    env.trust()
    env.server.restart(new_host_key=True)
    try:
        with pytest.raises(errors.OpPrereqError, match="CHANGED"):
            env.runner().run(env.server.address, "true")
    finally:
        env.trust()
    assert env.runner().run(env.server.address, "true")[0] == 0


# --- connection and authentication errors ------------------------------------------------

def test_connection_refused(env):
    port = sshd_env.free_port(env.server.address)
    started = time.monotonic()
    with pytest.raises(errors.OpPrereqError) as err:
        env.runner(port=port).run(env.server.address, "true", node_name="gone.example")
    msg, code = err.value.args
    assert code == errors.ECODE_ENVIRON
    assert "Cannot connect to gone.example (%s) port %d" % (env.server.address, port) in msg
    assert "connection refused" in msg
    assert time.monotonic() - started < 5


def test_silent_server_times_out(env):
    sock = socket.socket()
    sock.bind((env.server.address, 0))
    sock.listen(5)
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(sock.accept()), daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        with pytest.raises(errors.OpPrereqError, match="SSH handshake with .* failed"):
            env.runner(port=sock.getsockname()[1], timeout=1).run(env.server.address, "true")
        assert time.monotonic() - started < 6
    finally:
        for conn, _ in accepted:
            conn.close()
        sock.close()


def test_unresolvable_name(env):
    with pytest.raises(errors.OpPrereqError, match="cannot resolve"):
        env.runner().run("no-such-host.invalid", "true")


def test_wrong_key_is_refused(trusted, tmp_path):
    other = str(tmp_path / "other" / "id_ed25519")
    ssh.ensure_cluster_key(other)
    with pytest.raises(errors.OpPrereqError) as err:
        trusted.runner(key_file=other).run(trusted.server.address, "true")
    msg, code = err.value.args
    assert code == errors.ECODE_ENVIRON
    assert msg.startswith("Permission denied for root@%s" % trusted.server.address)
    assert sshd_env.fingerprint_of(other + ".pub") in msg
    assert "authorized_keys" in msg


def test_missing_key_file(trusted, tmp_path):
    with pytest.raises(errors.OpPrereqError, match="does not exist"):
        trusted.runner(key_file=str(tmp_path / "nokey")).run(trusted.server.address, "true")


# --- node-daemon-setup over SSH -------------------------------------------------------------

def _setup_request(env, **extra) -> bytes:
    cert_file = os.path.join(env.base, "cluster", "server.pem")
    if not os.path.exists(cert_file):
        crypto.write_cluster_cert(cert_file, "cluster.ssh.test")
    with open(cert_file) as fh:
        cert = fh.read()
    doc = {"cluster_cert": cert,
           "ssconf": {"cluster_name": "cluster.ssh.test", "master_node": "master.ssh.test",
                      "node_list": "master.ssh.test\n%s" % NODE_NAME},
           "files": {"/var/lib/ganeti/known_hosts": [0o644, "x ssh-ed25519 AAAA\n"],
                     "/etc/ganeti/file-storage-paths": [0o600, "/srv/ganeti/file-storage\n"]},
           "start_daemons": False, "node_name": NODE_NAME}
    doc.update(extra)
    return json.dumps(doc).encode()


def _ssconf_path(env, key: str) -> str:
    return os.path.join(env.node_root, "var", "lib", "ganeti", "ssconf_" + key)


def _clear_node(env) -> None:
    subprocess.run([os.path.join(REPO, "daemons", "daemon-util"), "stop-all"],
                   env=dict(os.environ, GANETI_ROOTDIR=env.node_root), capture_output=True,
                   check=False, timeout=60)
    data = os.path.join(env.node_root, "var", "lib", "ganeti")
    if os.path.isdir(data):
        for name in os.listdir(data):
            if os.path.isfile(os.path.join(data, name)):
                os.unlink(os.path.join(data, name))


@pytest.mark.parametrize("stdin,message", [
    (b"", "no input"),
    (b"{not json", "invalid JSON on stdin"),
    (b"[1]", "must be an object"),
    (b'{"ssconf": {}}', "missing key(s) in the JSON document: cluster_cert"),
    (b'{"cluster_cert": "x", "ssconf": {}, "bogus": 1}', "unknown key(s)"),
    (b'{"cluster_cert": "x", "ssconf": {}}', "cluster_cert must be a PEM text"),
])
def test_node_daemon_setup_bad_input(trusted, stdin, message):
    code, out, err = trusted.runner().run(trusted.server.address, [NODE_DAEMON_SETUP],
                                          stdin=stdin)
    assert code == 1
    assert out == ""
    assert err.startswith("node-daemon-setup: ") and message in err
    assert len(err.splitlines()) == 1


def test_node_daemon_setup_refusals(trusted):
    _clear_node(trusted)
    runner = trusted.runner()
    for extra, message in (
            ({"node_name": "other.ssh.test"}, "calls itself %s, not other.ssh.test" % NODE_NAME),
            ({"files": {"/etc/passwd": [0o644, "x"]}}, "outside the cluster's directories"),
            ({"ssconf": {"cluster_name": "c"}}, "ssconf lacks master_node"),
            ({"ssconf": {"cluster_name": "c", "master_node": "m", "bogus": "x"}},
             "Invalid ssconf key(s): bogus"),
            ({"start_daemons": "yes"}, "start_daemons must be true or false"),
            ({"files": {"/var/lib/ganeti/x": ["644", "x"]}}, "must be [mode (integer)")):
        code, _, err = runner.run(trusted.server.address, [NODE_DAEMON_SETUP],
                                  stdin=_setup_request(trusted, **extra))
        assert code == 1 and message in err, (extra, err)
    assert not os.path.exists(_ssconf_path(trusted, "master_node"))


def test_node_daemon_setup_writes_and_refuses_a_member(trusted):
    _clear_node(trusted)
    runner = trusted.runner()
    code, out, err = runner.run(trusted.server.address, [NODE_DAEMON_SETUP],
                                stdin=_setup_request(trusted))
    assert code == 0, err
    result = json.loads(out)
    assert result["node"] == NODE_NAME and result["noded"] == "not started"
    assert "/var/lib/ganeti/server.pem" in result["written"]
    data = os.path.join(trusted.node_root, "var", "lib", "ganeti")
    assert os.stat(os.path.join(data, "server.pem")).st_mode & 0o777 == 0o440
    with open(_ssconf_path(trusted, "node_list")) as fh:
        assert fh.read() == "master.ssh.test\n%s\n" % NODE_NAME
    assert os.stat(_ssconf_path(trusted, "master_node")).st_mode & 0o777 == 0o444
    storage = os.path.join(trusted.node_root, "etc", "ganeti", "file-storage-paths")
    assert os.stat(storage).st_mode & 0o777 == 0o600
    assert os.path.isdir(os.path.join(data, "queue"))  # ensure_dirs ran
    # a member refuses a second join, but accepts a re-add
    code, _, err = runner.run(trusted.server.address, [NODE_DAEMON_SETUP],
                              stdin=_setup_request(trusted))
    assert code == 1
    assert "already belongs to cluster cluster.ssh.test (master master.ssh.test)" in err
    assert "--readd" in err
    code, out, err = runner.run(
        trusted.server.address, [NODE_DAEMON_SETUP],
        stdin=_setup_request(trusted, readd=True,
                             ssconf={"cluster_name": "cluster.ssh.test",
                                     "master_node": "master.ssh.test"}))
    assert code == 0, err
    assert json.loads(out)["readd"] is True
    assert not os.path.exists(_ssconf_path(trusted, "node_list"))  # stale key removed
    # the master of a cluster never joins another one
    code, _, err = runner.run(
        trusted.server.address, [NODE_DAEMON_SETUP],
        stdin=_setup_request(trusted, readd=True,
                             ssconf={"cluster_name": "x", "master_node": NODE_NAME}))
    assert code == 0, err
    code, _, err = runner.run(trusted.server.address, [NODE_DAEMON_SETUP],
                              stdin=_setup_request(trusted, readd=True))
    assert code == 1 and "is the master of cluster" in err
    _clear_node(trusted)


def test_node_daemon_setup_starts_noded(trusted):
    from ganeti.rpc.client import RpcClient
    _clear_node(trusted)
    runner = trusted.runner()
    try:
        code, out, err = runner.run(trusted.server.address, [NODE_DAEMON_SETUP],
                                    stdin=_setup_request(trusted, start_daemons=True))
        assert code == 0, err
        assert json.loads(out)["noded"] == "started"
        client = RpcClient(cert_file=os.path.join(trusted.base, "cluster", "server.pem"))
        res = client.call_one("version", (NODE_NAME, trusted.server.address, False), [])
        assert res.fail_msg is None or not res.fail_msg, res.fail_msg
        client.close()
        # a re-add restarts noded, so that it serves with the new certificate
        code, out, err = runner.run(trusted.server.address, [NODE_DAEMON_SETUP],
                                    stdin=_setup_request(trusted, start_daemons=True,
                                                         readd=True))
        assert code == 0, err
        assert json.loads(out)["noded"] == "restarted"
    finally:
        _clear_node(trusted)
