"""OS runner: the script environment (spec §1.3), variants, logs, failures, validation."""

from __future__ import annotations

import os

import pytest

from ganeti import errors, pathutils
from ganeti.backend import os_run

MIB = 1024 * 1024


def make_os(base, name, body="exit 0\n", api="20\n15\n10\n", variants="default\nsmall\n",
            params="hostname the host\nroot-size size\n", verify="exit 0\n"):
    path = base / name
    path.mkdir(parents=True)
    (path / "ganeti_api_version").write_text(api)
    if variants is not None:
        (path / "variants.list").write_text(variants)
    if params is not None:
        (path / "parameters.list").write_text(params)
    for script in ("create", "import", "export", "rename"):
        (path / script).write_text("#!/bin/sh\n" + body)
        (path / script).chmod(0o755)
    (path / "verify").write_text("#!/bin/sh\n" + verify)
    (path / "verify").chmod(0o755)
    return path


@pytest.fixture
def osenv(os_node, monkeypatch):
    """Private OS search path, log dir and file storage paths."""
    monkeypatch.setattr(pathutils, "OS_SEARCH_PATH", [str(os_node / "os")])
    return os_node


def instance(fs, os_name="dump+small", disks=1):
    dl = []
    for idx in range(disks):
        path = fs / "inst1" / ("disk%d" % idx)
        with open(path, "wb") as fh:
            fh.truncate(4 * MIB)
        dl.append({"dev_type": "file", "logical_id": ["loop", str(path)], "size": 4,
                   "mode": "rw" if idx == 0 else "ro", "params": {}, "uuid": "d%d" % idx,
                   "iv_name": "disk/%d" % idx, "name": "root" if idx == 0 else None,
                   "nodes": ["node-uuid-1"]})
    return {
        "name": "inst1.example.com", "uuid": "i-uuid", "os": os_name,
        "primary_node": "node-uuid-1", "hypervisor": "kvm", "ctime": 1700000000.5,
        "mtime": 1700000001.5,
        "hvparams": {"kernel_path": "/boot/vmlinuz", "disk_type": "paravirtual",
                     "nic_type": "virtio", "acpi": True},
        "beparams": {"maxmem": 128, "minmem": 128, "vcpus": 1},
        "osparams": {"hostname": "guest"}, "osparams_private": {"root-size": "1G"},
        "nics": [
            {"mac": "aa:00:00:00:00:01", "ip": "198.51.100.5", "uuid": "n0", "name": "eth",
             "network": None, "nicparams": {"mode": "bridged", "link": "br0", "vlan": ""}},
            {"mac": "aa:00:00:00:00:02", "ip": None, "uuid": "n1", "name": None,
             "network": "net-uuid",
             "netinfo": {"name": "net1", "uuid": "net-uuid", "network": "198.51.100.0/24",
                         "gateway": "198.51.100.1", "mac_prefix": "aa:00:00",
                         "tags": ["b", "a"]},
             "nicparams": {"mode": "routed", "link": "100", "vlan": ""}},
        ],
        "disks": dl,
    }


def dump_body(target):
    return "env > %s\necho created\n" % target


def read_env(path):
    env = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        env[key] = value
    for key in ("PWD", "SHLVL", "_"):
        env.pop(key, None)
    return env


def test_create_environment_matches_spec(osenv, monkeypatch):
    monkeypatch.setenv("GANETI_LEAK", "yes")
    target = osenv / "env.out"
    make_os(osenv / "os", "dump", body=dump_body(target))
    inst = instance(osenv / "fs", disks=2)
    os_run.instance_os_add(inst, False, 1)
    env = read_env(target)
    fs = osenv / "fs" / "inst1"
    assert env == {
        "OS_API_VERSION": "20", "OS_NAME": "dump", "OS_VARIANT": "small",
        "INSTANCE_OS": "dump+small", "DEBUG_LEVEL": "1",
        "PATH": "/sbin:/bin:/usr/sbin:/usr/bin",
        "OSP_HOSTNAME": "guest", "OSP_ROOT_SIZE": "1G",
        "INSTANCE_NAME": "inst1.example.com", "INSTANCE_UUID": "i-uuid",
        "INSTANCE_CTIME": "1700000000.5", "INSTANCE_MTIME": "1700000001.5",
        "INSTANCE_PRIMARY_NODE": "node-uuid-1", "INSTANCE_SECONDARY_NODES": "",
        "HYPERVISOR": "kvm",
        "DISK_COUNT": "2",
        "DISK_0_PATH": str(fs / "disk0"), "DISK_0_ACCESS": "rw", "DISK_0_UUID": "d0",
        "DISK_0_NAME": "root", "DISK_0_SIZE": "4", "DISK_0_FRONTEND_TYPE": "paravirtual",
        "DISK_0_BACKEND_TYPE": "file:loop",
        "DISK_1_PATH": str(fs / "disk1"), "DISK_1_ACCESS": "ro", "DISK_1_UUID": "d1",
        "DISK_1_SIZE": "4", "DISK_1_FRONTEND_TYPE": "paravirtual",
        "DISK_1_BACKEND_TYPE": "file:loop",
        "NIC_COUNT": "2",
        "NIC_0_MAC": "aa:00:00:00:00:01", "NIC_0_UUID": "n0", "NIC_0_NAME": "eth",
        "NIC_0_IP": "198.51.100.5", "NIC_0_MODE": "bridged", "NIC_0_BRIDGE": "br0",
        "NIC_0_LINK": "br0", "NIC_0_FRONTEND_TYPE": "virtio",
        "NIC_1_MAC": "aa:00:00:00:00:02", "NIC_1_UUID": "n1", "NIC_1_MODE": "routed",
        "NIC_1_LINK": "100", "NIC_1_FRONTEND_TYPE": "virtio",
        "NIC_1_NETWORK_NAME": "net1", "NIC_1_NETWORK_UUID": "net-uuid",
        "NIC_1_NETWORK_SUBNET": "198.51.100.0/24", "NIC_1_NETWORK_GATEWAY": "198.51.100.1",
        "NIC_1_NETWORK_MAC_PREFIX": "aa:00:00", "NIC_1_NETWORK_TAGS": "a b",
        "INSTANCE_BE_maxmem": "128", "INSTANCE_BE_minmem": "128", "INSTANCE_BE_vcpus": "1",
        "INSTANCE_HV_kernel_path": "/boot/vmlinuz", "INSTANCE_HV_disk_type": "paravirtual",
        "INSTANCE_HV_nic_type": "virtio", "INSTANCE_HV_acpi": "True",
    }
    logs = os.listdir(pathutils.LOG_OS_DIR)
    assert len(logs) == 1 and logs[0].startswith("add-dump+small-inst1.example.com-")
    assert open(os.path.join(pathutils.LOG_OS_DIR, logs[0])).read() == "created\n"


def test_reinstall_default_variant_and_api10(osenv):
    target = osenv / "env.out"
    make_os(osenv / "os", "dump", body=dump_body(target))
    make_os(osenv / "os", "old", body=dump_body(target), api="10\n", variants=None,
            params=None)
    inst = instance(osenv / "fs", os_name="dump", disks=0)
    inst["nics"] = []
    os_run.instance_os_add(inst, True, 0)
    env = read_env(target)
    assert env["OS_VARIANT"] == "default" and env["INSTANCE_REINSTALL"] == "1"
    assert env["DISK_COUNT"] == "0" and env["NIC_COUNT"] == "0"
    inst["os"] = "old"
    os_run.instance_os_add(inst, False, 0)
    env = read_env(target)
    assert env["OS_API_VERSION"] == "10" and "OS_VARIANT" not in env
    assert not any(k.startswith("OSP_") for k in env) and "INSTANCE_REINSTALL" not in env


def test_secondary_nodes_from_disks(osenv):
    os_def = os_run.OSDefinition("x", "/nonexistent", [20])
    inst = instance(osenv / "fs", os_name="x", disks=1)
    inst["disks"][0]["nodes"] = ["node-uuid-1", "node-uuid-2"]
    env = os_run.build_os_env(inst, os_def, 0, [("/dev/sda", "rbd:pool/x")])
    assert env["INSTANCE_SECONDARY_NODES"] == "node-uuid-2"
    assert env["DISK_0_PATH"] == "/dev/sda" and env["DISK_0_URI"] == "rbd:pool/x"
    inst["disks"][0]["dev_type"] = "ext"
    env = os_run.build_os_env(inst, os_def, 0, [(None, "uri")])
    assert "DISK_0_PATH" not in env and env["DISK_0_BACKEND_TYPE"] == "block"


def test_variant_rules(osenv):
    make_os(osenv / "os", "dump")
    inst = instance(osenv / "fs", os_name="dump+huge", disks=0)
    with pytest.raises(errors.OpExecError, match="Unsupported OS variant 'huge'"):
        os_run.instance_os_add(inst, False, 0)
    inst["force_variant"] = True
    os_run.instance_os_add(inst, False, 0)


def test_failure_quotes_last_lines_and_keeps_log(osenv):
    body = "i=1\nwhile [ $i -le 30 ]; do echo line$i; i=$((i+1)); done\necho oops >&2\nexit 3\n"
    make_os(osenv / "os", "bad", body=body)
    inst = instance(osenv / "fs", os_name="bad", disks=1)
    with pytest.raises(errors.OpExecError) as exc:
        os_run.instance_os_add(inst, False, 0)
    msg = str(exc.value)
    assert msg.startswith("OS create script failed (exited with exit code 3), last lines in"
                          " the log file:\n")
    assert "line12\n" in msg and "line11\n" not in msg and "oops" in msg
    logs = os.listdir(pathutils.LOG_OS_DIR)
    assert len(logs) == 1 and os.path.join(pathutils.LOG_OS_DIR, logs[0]) in msg
    with pytest.raises(errors.OpExecError, match="OS rename script failed"):
        os_run.instance_run_rename(inst, "old.example.com", 0)
    assert any(n.startswith("rename-bad-inst1.example.com-") for n in
               os.listdir(pathutils.LOG_OS_DIR))


def test_missing_os_and_missing_disk(osenv):
    inst = instance(osenv / "fs", os_name="nosuch", disks=1)
    with pytest.raises(errors.OpExecError, match="OS 'nosuch' not found"):
        os_run.instance_os_add(inst, False, 0)
    make_os(osenv / "os", "dump")
    inst["os"] = "dump"
    os.unlink(inst["disks"][0]["logical_id"][1])
    with pytest.raises(errors.BlockDeviceError, match="does not exist"):
        os_run.instance_os_add(inst, False, 0)


def test_rename_env(osenv):
    target = osenv / "env.out"
    make_os(osenv / "os", "dump", body=dump_body(target))
    inst = instance(osenv / "fs", os_name="dump", disks=1)
    os_run.instance_run_rename(inst, "old.example.com", 0)
    env = read_env(target)
    assert env["OLD_INSTANCE_NAME"] == "old.example.com"
    assert env["INSTANCE_NAME"] == "inst1.example.com"


def test_import_export(osenv):
    make_os(osenv / "os", "dd", body='case "$0" in\n'
            '*/export) dd if="$EXPORT_DISK_PATH" bs=1M status=none;;\n'
            '*/import) dd of="$IMPORT_DEVICE" bs=1M conv=notrunc status=none;;\n'
            'esac\n')
    inst = instance(osenv / "fs", os_name="dd", disks=2)
    src = osenv / "payload"
    src.write_bytes(b"x" * 1000)
    os_run.instance_os_import(inst, 1, str(src), 0)
    out = osenv / "exported"
    os_run.instance_os_export(inst, 1, str(out), 0)
    data = out.read_bytes()
    assert len(data) == 4 * MIB and data[:1000] == b"x" * 1000
    with pytest.raises(errors.OpExecError, match="Invalid disk index 5"):
        os_run.instance_os_import(inst, 5, str(src), 0)


def test_os_validate(osenv):
    make_os(osenv / "os", "v", verify='[ "$1" = parameters ] || exit 9\n'
            'case "${OSP_HOSTNAME:-ok}" in *_*) echo "bad hostname"; exit 1;; esac\n')
    make_os(osenv / "os", "old", api="15\n10\n", params=None)
    assert os_run.os_validate(False, "nosuch", ["parameters"], {}, False) is False
    with pytest.raises(errors.OpExecError, match="not found"):
        os_run.os_validate(True, "nosuch", ["parameters"], {}, False)
    assert os_run.os_validate(True, "v+small", ["parameters"], {"hostname": "a"}, False)
    with pytest.raises(errors.OpExecError, match="output: bad hostname"):
        os_run.os_validate(True, "v", ["parameters"], {"hostname": "a_b"}, False)
    with pytest.raises(errors.OpExecError, match="not supported by the OS v: color"):
        os_run.os_validate(True, "v", ["parameters"], {"color": "red"}, False)
    with pytest.raises(errors.OpExecError, match="Unsupported OS variant"):
        os_run.os_validate(True, "v+huge", ["parameters"], {}, False)
    assert os_run.os_validate(True, "v+huge", ["parameters"], {}, True)
    with pytest.raises(errors.OpExecError, match="Unknown OS validation checks"):
        os_run.os_validate(True, "v", ["frobnicate"], {}, False)
    assert os_run.os_validate(True, "old", ["parameters"], {"any": "1"}, False)
