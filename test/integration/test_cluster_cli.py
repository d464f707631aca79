"""The one-node cluster through its command line: formats, exit codes, bad input."""

from __future__ import annotations

import json
import os
import re
import socket
import time


from cluster_env import master_socket, read_pid, run


def gnt(env, *args, check=False):
    return run(env, *args, check=check)


def test_version_matches_reference_shape(env):
    res = gnt(env, "gnt-cluster", "version", check=True)
    keys = [line.split(":", 1)[0] for line in res.stdout.splitlines()]
    assert keys == ["Software version", "Internode protocol", "Configuration format",
                    "OS api version", "Export interface", "VCS version"]
    assert "Internode protocol: 3000000" in res.stdout


def test_getmaster_and_info(env):
    assert gnt(env, "gnt-cluster", "getmaster", check=True).stdout == "node1.vcluster.test\n"
    info = gnt(env, "gnt-cluster", "info", check=True).stdout
    assert "Cluster name: cluster.vcluster.test\n" in info
    assert "Enabled hypervisors: kvm, lxc, fake\n" in info
    assert "  enabled disk templates: file, sharedfile, diskless, blockdev, ext\n" in info


def test_delay_and_job_list(env):
    assert gnt(env, "gnt-debug", "delay", "0.001").returncode == 0
    res = gnt(env, "gnt-debug", "delay", "--submit", "0.01", check=True)
    job_id = int(re.match(r"JobID: (\d+)$", res.stdout.strip()).group(1))
    gnt(env, "gnt-job", "wait", str(job_id), check=True)
    out = gnt(env, "gnt-job", "list", str(job_id), check=True).stdout.splitlines()
    assert out[0].split() == ["ID", "Status", "Summary"]
    assert out[1].split() == [str(job_id), "success", "TEST_DELAY(1.0e-2)"]


def test_delay_zero_is_prereq_error(env):
    res = gnt(env, "gnt-debug", "delay", "0")
    assert res.returncode == 1
    assert res.stderr == ("Failure: prerequisites not met for this operation:\n"
                          "Duration must be greater than zero\n")


def test_unknown_field_exit_14(env):
    res = gnt(env, "gnt-job", "list", "-o", "id,nosuchfield")
    assert res.returncode == 14
    assert "Warning: Queried for unknown fields nosuchfield" in res.stderr
    assert "??" in res.stdout


def test_bad_option_exit_2(env):
    res = gnt(env, "gnt-job", "list", "--bogus-option")
    assert res.returncode == 2
    assert res.stderr.startswith("Usage\n=====\n  gnt-job list [<job-id>...]\n")
    assert res.stderr.rstrip().endswith("gnt-job: error: no such option: --bogus-option")


def test_bad_filter(env):
    res = gnt(env, "gnt-job", "list", "-F", "id ==")
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert "filter" in res.stderr


def test_bad_key_value(env):
    res = gnt(env, "gnt-cluster", "modify", "-B", "vcpus=1,vcpus=2")
    assert res.returncode == 1
    assert "Duplicate key 'vcpus'" in res.stderr
    assert "Traceback" not in res.stderr


def test_modify_and_bad_parameter_changes_nothing(env):
    conf = os.path.join(env["GANETI_ROOTDIR"], "var", "lib", "ganeti", "config.data")
    with open(conf) as fh:
        before = json.load(fh)["serial_no"]
    res = gnt(env, "gnt-cluster", "modify", "-B", "nosuchparam=1")
    assert res.returncode == 1 and "nosuchparam" in res.stderr
    with open(conf) as fh:
        assert json.load(fh)["serial_no"] == before
    gnt(env, "gnt-cluster", "modify", "-C", "7", check=True)
    with open(conf) as fh:
        data = json.load(fh)
    assert data["serial_no"] == before + 1
    assert data["cluster"]["candidate_pool_size"] == 7


def test_second_init_refused(env):
    res = gnt(env, "gnt-cluster", "init", "--enabled-hypervisors=fake", "cluster.vcluster.test")
    assert res.returncode == 1
    assert "Cluster is already initialised" in res.stderr


def test_queue_drain(env):
    gnt(env, "gnt-cluster", "queue", "drain", check=True)
    try:
        assert "The drain flag is set" in gnt(env, "gnt-cluster", "queue", "info").stdout
        res = gnt(env, "gnt-debug", "delay", "0.01")
        assert res.returncode == 1
        assert "drain" in res.stderr
    finally:
        gnt(env, "gnt-cluster", "queue", "undrain", check=True)
    assert gnt(env, "gnt-debug", "delay", "0.01").returncode == 0


def test_watcher_pause(env):
    gnt(env, "gnt-cluster", "watcher", "pause", "1h", check=True)
    assert "paused until" in gnt(env, "gnt-cluster", "watcher", "info", check=True).stdout
    gnt(env, "gnt-cluster", "watcher", "continue", check=True)
    assert "not paused" in gnt(env, "gnt-cluster", "watcher", "info", check=True).stdout


def test_tags(env):
    gnt(env, "gnt-cluster", "add-tags", "alpha", "beta", check=True)
    assert gnt(env, "gnt-cluster", "list-tags", check=True).stdout == "alpha\nbeta\n"
    assert gnt(env, "gnt-cluster", "search-tags", "^al", check=True).stdout == \
        "/cluster alpha\n"
    gnt(env, "gnt-cluster", "remove-tags", "alpha", check=True)
    assert gnt(env, "gnt-cluster", "search-tags", "^al").returncode == 1


def test_job_cancel_archive_autoarchive(env):
    res = gnt(env, "gnt-debug", "delay", "--submit", "0.01", check=True)
    job_id = res.stdout.split()[-1]
    gnt(env, "gnt-job", "wait", job_id, check=True)
    assert gnt(env, "gnt-job", "cancel", job_id).returncode == 1
    gnt(env, "gnt-job", "archive", job_id, check=True)
    out = gnt(env, "gnt-job", "list", "--archived", "--no-headers", "-o", "id",
              check=True).stdout.split()
    assert job_id in out
    res = gnt(env, "gnt-job", "autoarchive", "all", check=True)
    assert re.match(r"Archived \d+ jobs, 0 unchecked left", res.stdout)


def test_job_info_renders(env):
    res = gnt(env, "gnt-debug", "delay", "--submit", "0.01", check=True)
    job_id = res.stdout.split()[-1]
    gnt(env, "gnt-job", "wait", job_id, check=True)
    info = gnt(env, "gnt-job", "info", job_id, check=True).stdout
    assert info.startswith("- Job ID: %s\n  Status: success\n" % job_id)
    assert "      Input fields: \n        OP_ID: OP_TEST_DELAY\n" in info


def test_verify_reports_findings(env):
    res = gnt(env, "gnt-cluster", "verify", "--error-codes")
    assert re.search(r"Submitted jobs \d+, \d+", res.stdout)
    assert "* Verifying group 'default'" in res.stdout
    # the node-setup finding of this machine is an error, demoted with -I
    if "ENODESETUP" in res.stdout:
        assert res.returncode == 1
        res2 = gnt(env, "gnt-cluster", "verify", "-I", "ENODESETUP")
        assert res2.returncode == 0, res2.stdout
        assert "WARNING:" in res2.stdout


def test_locks_listing(env):
    out = gnt(env, "gnt-debug", "locks", check=True).stdout.splitlines()
    assert out[0].split() == ["Name", "Mode", "Owner", "Pending"]
    assert any(line.startswith("cluster/BGL") for line in out)


def test_malformed_luxi_requests_get_errors(env):
    sock = master_socket(env)
    for payload in (b"garbage\x03", b'{"method": "SubmitJob", "args": [[{"OP_ID": 1}]]}\x03',
                    b'{"method": "Nope", "args": []}\x03'):
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        s.sendall(payload)
        data = b""
        while not data.endswith(b"\x03"):
            chunk = s.recv(4096)
            assert chunk
            data += chunk
        s.close()
        answer = json.loads(data[:-1])
        assert answer["success"] is False
    # the master still works
    assert gnt(env, "gnt-debug", "delay", "0.001").returncode == 0


def test_oversized_luxi_message(env):
    from ganeti import constants
    sock = master_socket(env)
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    chunk = b"x" * (1 << 20)
    sent = 0
    data = b""
    s.settimeout(30)
    try:
        while sent <= constants.LUXI_MAX_MESSAGE + len(chunk):
            s.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass
    try:
        while not data.endswith(b"\x03"):
            part = s.recv(4096)
            if not part:
                break
            data += part
    except OSError:
        pass
    s.close()
    assert b"too large" in data
    assert gnt(env, "gnt-debug", "delay", "0.001").returncode == 0


def test_gnt_os_list_with_an_os(env):
    osdir = os.path.join(env["GANETI_ROOTDIR"], "srv", "ganeti", "os", "dummy")
    os.makedirs(osdir)
    for script in ("create", "import", "export", "rename", "verify"):
        path = os.path.join(osdir, script)
        with open(path, "w") as fh:
            fh.write("#!/bin/sh\nexit 0\n")
        os.chmod(path, 0o755)
    with open(os.path.join(osdir, "ganeti_api_version"), "w") as fh:
        fh.write("20\n")
    with open(os.path.join(osdir, "variants.list"), "w") as fh:
        fh.write("default\nsmall\n")
    with open(os.path.join(osdir, "parameters.list"), "w") as fh:
        fh.write("")
    out = gnt(env, "gnt-os", "list", check=True).stdout
    lines = out.splitlines()
    # the vcluster also installs busybox (and the machine may have noop, debootstrap)
    assert lines[0] == "Name" and "dummy+default" in lines and "dummy+small" in lines
    assert lines[1:] == sorted(lines[1:])
    diag = gnt(env, "gnt-os", "diagnose", check=True).stdout
    assert "OS: dummy [global status: valid]" in diag
    info = gnt(env, "gnt-os", "info", "dummy", check=True).stdout
    assert "  - valid: True\n" in info and "    - 20\n" in info


def test_not_in_a_cluster_gives_clear_error(tmp_path):
    env = dict(os.environ, GANETI_ROOTDIR=str(tmp_path), GANETI_HOSTNAME="x.example")
    from cluster_env import cluster_env
    env = cluster_env(str(tmp_path))
    res = run(env, "gnt-job", "list", check=False)
    # not part of a cluster at all: exit 5 (EXIT_NOTCLUSTER) with one clear line
    assert res.returncode == 5
    assert "not part of a cluster" in res.stderr and "Traceback" not in res.stderr


def test_command_runs_on_the_node(env):
    res = gnt(env, "gnt-cluster", "command", "echo", "hello", check=True)
    assert res.stdout == ("------------------------------------------------\n"
                          "node: node1.vcluster.test\nhello\n\nreturn code = 0\n")
    res = gnt(env, "gnt-cluster", "command", "false")
    assert res.returncode == 1 and "return code = 1" in res.stdout



def test_second_daemon_instance_refused(env):
    res = gnt(env, os.path.join(os.path.dirname(__file__), "..", "..", "scripts",
                                "ganeti-masterd"))
    assert res.returncode != 0
    assert "already running" in res.stderr
    assert gnt(env, "gnt-debug", "delay", "0.001").returncode == 0


def test_sighup_reopens_log_and_sigterm_is_clean(env):
    logdir = os.path.join(env["GANETI_ROOTDIR"], "var", "log", "ganeti")
    log = os.path.join(logdir, "master-daemon.log")
    os.rename(log, log + ".1")
    gnt(env, "daemon-util", "rotate-logs", "ganeti-masterd", check=True)
    gnt(env, "gnt-debug", "delay", "0.001", check=True)
    with open(log) as fh:
        assert "finished" in fh.read().lower()
    pid = read_pid(env, "ganeti-masterd")
    gnt(env, "daemon-util", "stop", "ganeti-masterd", check=True)
    deadline = time.time() + 10
    while time.time() < deadline:  # the pid file goes first, the process just after
        try:
            with open("/proc/%d/stat" % pid) as fh:
                if fh.read().split()[2] == "Z":  # exited, not reaped yet by init
                    break
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("masterd did not exit after SIGTERM")
    rundir = os.path.join(env["GANETI_ROOTDIR"], "var", "run", "ganeti")
    assert not os.path.exists(os.path.join(rundir, "ganeti-masterd.pid"))
    assert not os.path.exists(os.path.join(rundir, "socket", "ganeti-master"))
    res = gnt(env, "gnt-job", "list")
    assert res.returncode == 1 and "Cannot communicate with the master daemon" in res.stderr
    gnt(env, "daemon-util", "start", "ganeti-masterd", check=True)
    assert gnt(env, "gnt-debug", "delay", "0.001").returncode == 0


def test_renew_crypto_keeps_rpc_working(env):
    pem = os.path.join(env["GANETI_ROOTDIR"], "var", "lib", "ganeti", "server.pem")
    with open(pem, "rb") as fh:
        before = fh.read()
    assert gnt(env, "gnt-cluster", "renew-crypto", "--new-cluster-certificate").returncode == 13
    gnt(env, "gnt-cluster", "renew-crypto", "-f", "--new-cluster-certificate",
        "--new-rapi-certificate", check=True)
    with open(pem, "rb") as fh:
        assert fh.read() != before
    # master -> node RPC with the new certificate on both sides
    gnt(env, "gnt-debug", "delay", "-n", "node1", "0.01", check=True)
    res = gnt(env, "gnt-cluster", "renew-crypto", "-f")
    assert res.returncode == 1 and "Nothing to renew" in res.stderr


def test_rename_cluster(env):
    hosts = os.path.join(env["GANETI_ROOTDIR"], "etc", "hosts")
    with open(hosts) as fh:
        ip = next(line.split()[0] for line in fh
                  if not line.startswith("#") and "cluster.vcluster.test" in line.split()[1:])
    with open(hosts, "a") as fh:
        fh.write("%s renamed.vcluster.test\n" % ip)
    assert gnt(env, "gnt-cluster", "rename", "renamed.vcluster.test").returncode == 13
    res = gnt(env, "gnt-cluster", "rename", "-f", "renamed.vcluster.test", check=True)
    assert "renamed.vcluster.test" in res.stdout
    ssconf = os.path.join(env["GANETI_ROOTDIR"], "var", "lib", "ganeti", "ssconf_cluster_name")
    with open(ssconf) as fh:
        assert fh.read() == "renamed.vcluster.test\n"
    gnt(env, "gnt-cluster", "rename", "-f", "cluster.vcluster.test", check=True)
    res = gnt(env, "gnt-cluster", "rename", "-f", "nosuch.invalid")
    assert res.returncode == 1 and "resolve" in res.stderr


def test_group_lifecycle_through_opcodes(env):
    sock = master_socket(env)
    code = ("import json,sys,time; from ganeti import luxi; c=luxi.Client(sys.argv[1]);"
            "ops=json.loads(sys.argv[2]); out=[]\n"
            "for op in ops:\n"
            "  j=c.submit_job([op])\n"
            "  while True:\n"
            "    r=c.query_jobs([j],['status','opresult'])[0]\n"
            "    if r[0] in ('success','error'): break\n"
            "    time.sleep(0.02)\n"
            "  out.append(r)\n"
            "print(json.dumps(out))")
    ops = [{"OP_ID": "OP_GROUP_ADD", "group_name": "rack2"},
           {"OP_ID": "OP_GROUP_ADD", "group_name": "rack2"},
           {"OP_ID": "OP_GROUP_RENAME", "group_name": "rack2", "new_name": "rack3"},
           {"OP_ID": "OP_GROUP_REMOVE", "group_name": "default"},
           {"OP_ID": "OP_GROUP_REMOVE", "group_name": "rack3"},
           {"OP_ID": "OP_NODE_SET_PARAMS", "node_name": "node1", "offline": True},
           {"OP_ID": "OP_NODE_REMOVE", "node_name": "node1"}]
    import sys
    res = run(env, sys.executable, "-c", code, sock, json.dumps(ops))
    results = json.loads(res.stdout)
    assert [r[0] for r in results] == ["success", "error", "success", "error", "success",
                                       "error", "error"]
    assert "already exists" in results[1][1][0][1][0]
    assert "not empty" in results[3][1][0][1][0]
    assert "master failover" in results[5][1][0][1][0]
