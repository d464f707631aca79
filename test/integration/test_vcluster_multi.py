"""Multi-node virtual clusters: every node joins with `gnt-node add` over real SSH.

`vcluster up --nodes 3` runs an sshd per node and joins nodes 2 and 3 from
node 1; the tests check that every node daemon answers and every node has
the full ssconf, then try joins that must fail cleanly: a node whose host
key differs from the cluster's known_hosts, a node that does not accept the
cluster's root key, and an address nobody listens on. The last test takes
the cluster down twice and checks that nothing (daemons, sshds) is left.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import sshd_env  # noqa: E402

REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
VCLUSTER = os.path.join(REPO, "tools", "vcluster")
VENV_PYTHON = os.path.join(REPO, ".venv", "bin", "python")
TIMEOUT = 300
NODES = 3

pytestmark = pytest.mark.slow


def _run(args: list[str], env: dict | None = None, timeout: float = TIMEOUT,
         stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout,
                          input=stdin, check=False)


def _repo_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([os.path.join(REPO, "scripts"), os.path.join(REPO, "daemons"),
                                   os.path.join(REPO, ".venv", "bin"), env.get("PATH", "")])
    env.update(extra or {})
    return env


def _skip_reason() -> str | None:
    reason = sshd_env.cannot_run_sshd()
    if reason:
        return reason
    try:
        res = _run(["gnt-node", "add", "--help"], env=_repo_env({"GANETI_ROOTDIR": "/nonexistent"}),
                   timeout=30)
    except OSError as err:
        return "gnt-node cannot be run: %s" % err
    if res.returncode != 0:
        return "gnt-node add is not available yet (the join over SSH needs it)"
    return None


def _free_subnet(nodes: int) -> str:
    """A 127.0.X subnet whose noded and ssh ports are free on the addresses we need."""
    thirds = list(range(100, 250))
    random.shuffle(thirds)
    for third in thirds:
        subnet = "127.0.%d" % third
        hosts = list(range(1, nodes + 1)) + [254]
        if all(sshd_env.port_free("%s.%d" % (subnet, h), 1811) for h in hosts) and \
                all(sshd_env.port_free("%s.%d" % (subnet, h), 22) for h in range(1, nodes + 1)):
            return subnet
    raise RuntimeError("no free loopback subnet")


def _cmdline(pid: int) -> str:
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _processes_of(base: str) -> list[int]:
    """Live processes rooted in the cluster (environment) or naming it (sshd's title)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        pid = int(name)
        try:
            with open("/proc/%d/environ" % pid, "rb") as fh:
                environ = fh.read().split(b"\0")
            with open("/proc/%d/stat" % pid) as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
        except (OSError, IndexError):
            continue
        roots = [e[len(b"GANETI_ROOTDIR="):].decode(errors="replace") for e in environ
                 if e.startswith(b"GANETI_ROOTDIR=")]
        if any(r.startswith(base + "/") for r in roots) or base + "/" in _cmdline(pid):
            found.append(pid)
    return found


class Cluster:
    def __init__(self, base: str):
        self.base = base
        with open(os.path.join(base, "vcluster.json")) as fh:
            self.state = json.load(fh)
        self.subnet = self.state["subnet"]
        self.extra: list[sshd_env.Sshd] = []

    def node_dir(self, k: int) -> str:
        return os.path.join(self.base, "node%d" % k)

    def ip(self, k: int) -> str:
        return "%s.%d" % (self.subnet, k)

    @staticmethod
    def name(k: int) -> str:
        return "node%d.vcluster.test" % k

    def env(self, k: int = 1) -> dict:
        return _repo_env({"GANETI_ROOTDIR": self.node_dir(k), "GANETI_HOSTNAME": self.name(k)})

    def gnt(self, *args: str) -> subprocess.CompletedProcess:
        return _run(list(args), env=self.env(1))

    def python(self, code: str, k: int = 1, stdin: str | None = None) -> str:
        res = _run([VENV_PYTHON, "-c", code], env=self.env(k), stdin=stdin)
        assert res.returncode == 0, res.stderr
        return res.stdout

    def data(self, k: int, name: str) -> str:
        return os.path.join(self.node_dir(k), "var", "lib", "ganeti", name)

    def config_node_names(self) -> list[str]:
        with open(self.data(1, "config.data")) as fh:
            return sorted(n["name"] for n in json.load(fh)["nodes"].values())

    def add_host(self, k: int) -> None:
        """Make nodeK's name resolvable on the master (as vcluster does for its nodes)."""
        with open(os.path.join(self.node_dir(1), "etc", "hosts"), "a") as fh:
            fh.write("%s\t%s node%d\n" % (self.ip(k), self.name(k), k))

    def spare_node(self, k: int) -> sshd_env.Sshd:
        """A machine that is not in the cluster yet: root dir, defaults, sshd."""
        root = self.node_dir(k)
        for sub in ("etc/default", "var/lib/ganeti", "var/run", "var/log/ganeti"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        with open(os.path.join(root, "etc", "default", "ganeti"), "w") as fh:
            fh.write('NODED_ARGS="-b %s"\n' % self.ip(k))
        shutil.copy(os.path.join(self.node_dir(1), "etc", "hosts"),
                    os.path.join(root, "etc", "hosts"))
        path = ":".join([os.path.join(REPO, d) for d in ("scripts", "daemons", ".venv/bin")] +
                        ["/usr/sbin", "/usr/bin", "/sbin", "/bin"])
        ssh_dir = os.path.join(root, "etc", "ssh")
        # the same layout as vcluster's nodes, so `vcluster down` stops it too
        server = sshd_env.Sshd(ssh_dir, self.ip(k), [self.state.get("ssh_port", 22)],
                               setenv={"GANETI_ROOTDIR": root, "GANETI_HOSTNAME": self.name(k),
                                       "PATH": path},
                               config=os.path.join(ssh_dir, "sshd_config"),
                               host_key=os.path.join(ssh_dir, "ssh_host_ed25519_key"),
                               pidfile=os.path.join(root, "var", "run", "sshd.pid"),
                               authorized_keys=os.path.join(root, "root", ".ssh",
                                                            "authorized_keys"),
                               log=os.path.join(root, "var", "log", "sshd.log"))
        self.extra.append(server)
        server.start()
        return server

    def record_host_key(self, k: int, keytype: str, key: str) -> None:
        code = ("import sys\nfrom ganeti import ssh\n"
                "ssh.add_known_host(sys.argv[1], sys.argv[2], sys.argv[3], port=int(sys.argv[4]))")
        res = _run([VENV_PYTHON, "-c", code, "%s,%s" % (self.name(k), self.ip(k)), keytype, key,
                    str(self.state.get("ssh_port", 22))], env=self.env(1))
        assert res.returncode == 0, res.stderr

    def cluster_pub_key(self) -> str:
        with open(self.data(1, "ssh/id_ed25519.pub")) as fh:
            return fh.read().strip()


def _log_tail(base: str) -> str:
    try:
        with open(os.path.join(base, "vcluster.log")) as fh:
            return fh.read()[-4000:]
    except OSError:
        return "(no vcluster.log)"


@pytest.fixture(scope="module")
def cluster():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    # a short directory: the daemons' unix socket paths must stay below 108 bytes
    top = tempfile.mkdtemp(prefix="vcm", dir="/tmp")
    base = os.path.join(top, "vc")
    obj = None
    try:
        res = _run([VCLUSTER, "up", base, "--nodes", str(NODES), "--subnet",
                    _free_subnet(NODES + 2)])
        assert res.returncode == 0, "vcluster up failed:\n%s\n%s\n%s" % (
            res.stdout, res.stderr, _log_tail(base))
        obj = Cluster(base)
        yield obj
    finally:
        _run([VCLUSTER, "down", base])
        if obj is not None:
            for server in obj.extra:
                server.stop()
        for pid in _processes_of(base):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        shutil.rmtree(top, ignore_errors=True)


# --- the cluster ----------------------------------------------------------------------

def test_every_node_daemon_answers(cluster):
    targets = [[cluster.name(k), cluster.ip(k), False] for k in range(1, NODES + 1)]
    out = cluster.python(
        "import json, sys\nfrom ganeti.rpc.client import RpcClient\n"
        "res = RpcClient().call('version', json.load(sys.stdin), [])\n"
        "print(json.dumps({n: [r.fail_msg, r.payload] for n, r in res.items()}))",
        stdin=json.dumps(targets))
    answers = json.loads(out)
    assert sorted(answers) == [cluster.name(k) for k in range(1, NODES + 1)]
    for name, (fail, payload) in answers.items():
        assert not fail, (name, fail)
        assert isinstance(payload, int) and payload > 0


def test_every_node_has_the_full_ssconf(cluster):
    names = [cluster.name(k) for k in range(1, NODES + 1)]
    for k in range(1, NODES + 1):
        with open(cluster.data(k, "ssconf_node_list")) as fh:
            assert sorted(fh.read().split()) == names, "node%d" % k
        with open(cluster.data(k, "ssconf_master_node")) as fh:
            assert fh.read() == cluster.name(1) + "\n"
        assert os.stat(cluster.data(k, "server.pem")).st_mode & 0o777 == 0o440
    assert cluster.config_node_names() == names


def test_ssh_setup_of_the_nodes(cluster):
    pub = cluster.cluster_pub_key()
    port = cluster.state.get("ssh_port", 22)
    with open(cluster.data(1, "known_hosts")) as fh:
        known = fh.read()
    for k in range(1, NODES + 1):
        root = cluster.node_dir(k)
        with open(os.path.join(root, "var", "run", "sshd.pid")) as fh:
            pid = int(fh.read().split()[0])
        assert os.path.join(root, "etc", "ssh", "sshd_config") in _cmdline(pid)
        with open(os.path.join(root, "root", ".ssh", "authorized_keys")) as fh:
            assert pub.split()[:2] in [line.split()[:2] for line in fh]
        with open(os.path.join(root, "etc", "ssh", "ssh_host_ed25519_key.pub")) as fh:
            host_key = " ".join(fh.read().split()[:2])
        names = "%s,%s" % (cluster.name(k), cluster.ip(k)) if port == 22 else \
            "[%s]:%d,[%s]:%d" % (cluster.name(k), port, cluster.ip(k), port)
        assert "%s %s\n" % (names, host_key) in known


# --- joins that must fail cleanly -----------------------------------------------------------

def _assert_not_added(cluster, k: int) -> None:
    assert cluster.name(k) not in cluster.config_node_names()
    with open(cluster.data(1, "ssconf_node_list")) as fh:
        assert cluster.name(k) not in fh.read().split()


def test_join_with_wrong_host_key_fails(cluster, tmp_path):
    k = NODES + 1
    cluster.add_host(k)
    server = cluster.spare_node(k)
    server.authorize(cluster.cluster_pub_key())
    wrong = sshd_env.keygen(str(tmp_path / "wrong"))
    cluster.record_host_key(k, *wrong)
    res = cluster.gnt("gnt-node", "add", cluster.name(k))
    assert res.returncode != 0
    assert "has CHANGED" in res.stderr
    assert sshd_env.fingerprint_of(server.host_key + ".pub") in res.stderr
    assert sshd_env.fingerprint_of(str(tmp_path / "wrong.pub")) in res.stderr
    _assert_not_added(cluster, k)
    assert not os.path.exists(cluster.data(k, "server.pem"))  # nothing reached the node


def test_join_without_the_cluster_key_authorized_fails(cluster):
    k = NODES + 1
    server = cluster.extra[0]
    server.authorize()  # root's authorized_keys without the cluster's key
    cluster.record_host_key(k, *server.host_pub())
    res = cluster.gnt("gnt-node", "add", cluster.name(k))
    assert res.returncode != 0
    assert "Permission denied for root@" in res.stderr
    assert "authorized_keys" in res.stderr
    _assert_not_added(cluster, k)
    assert not os.path.exists(cluster.data(k, "server.pem"))


def test_join_to_unreachable_address_fails(cluster):
    k = NODES + 2
    cluster.add_host(k)
    res = cluster.gnt("gnt-node", "add", cluster.name(k))
    assert res.returncode != 0
    assert "Cannot connect to" in res.stderr and "connection refused" in res.stderr
    _assert_not_added(cluster, k)


def test_join_succeeds_once_trusted(cluster):
    k = NODES + 1
    server = cluster.extra[0]
    server.authorize(cluster.cluster_pub_key())
    res = cluster.gnt("gnt-node", "add", cluster.name(k))
    assert res.returncode == 0, res.stdout + res.stderr
    assert cluster.name(k) in cluster.config_node_names()
    with open(cluster.data(k, "ssconf_node_list")) as fh:
        assert cluster.name(k) in fh.read().split()
    # a second plain add is refused by the master, the node stays as it is
    res = cluster.gnt("gnt-node", "add", cluster.name(k))
    assert res.returncode != 0 and "already in the" in res.stderr


def test_zz_down_twice_leaves_nothing(cluster):
    base = cluster.base
    assert _processes_of(base)
    for _ in range(2):
        res = _run([VCLUSTER, "down", base])
        assert res.returncode == 0, res.stderr
    assert _processes_of(base) == []
    assert not any(os.path.exists(cluster.node_dir(k)) for k in range(1, NODES + 3))
