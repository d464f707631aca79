"""ExtStorage: the shipped test provider (volume files + loop devices) and the exact env."""

from __future__ import annotations

import os
import subprocess

import pytest

from ganeti import errors, pathutils, storage
from ganeti.storage import extstorage

MIB = 1024 * 1024
ES_DIR = os.path.join(os.path.dirname(__file__), "..", "extstorage")


@pytest.fixture
def es(tmp_path, monkeypatch):
    monkeypatch.setattr(pathutils, "ES_SEARCH_PATH", [os.path.abspath(ES_DIR)])
    monkeypatch.setattr(pathutils, "LOG_DIR", str(tmp_path / "log"))
    vols = tmp_path / "vols"
    vols.mkdir()
    return vols


def edisk(vols, name="vol1", size=16, **params):
    p = {"dir": str(vols), "access": "kernelspace"}
    p.update(params)
    return {"dev_type": "ext", "logical_id": ["testprov", name], "size": size, "mode": "rw",
            "params": p, "uuid": "e-uuid", "name": "data", "iv_name": "disk/0"}


def needs_loop():
    if os.geteuid() != 0:
        pytest.skip("the test provider attaches loop devices, which needs root")


def test_provider_lifecycle(es):
    needs_loop()
    disk = edisk(es)
    storage.create(disk, 16, "inst1")
    assert (es / "vol1").stat().st_size == 16 * MIB
    try:
        dev, uri = storage.assemble(disk, "inst1")
        assert dev.startswith("/dev/loop") and uri is None
        assert storage.assemble(disk, "inst1")[0] == dev  # attach is idempotent
        st = storage.find(disk)
        assert st["dev_path"] == dev and st["major"] == 7
        assert storage.get_dimensions([disk]) == [(16 * MIB, None)]
        storage.grow(disk, 8, False)
        assert (es / "vol1").stat().st_size == 24 * MIB
        assert storage.get_dimensions([disk]) == [(24 * MIB, None)]
        storage.setinfo(disk, "originstname+inst1")
        assert (es / "vol1.meta").read_text() == "originstname+inst1\n"
        storage.wipe(disk, 0, 1)
    finally:
        storage.shutdown(disk)
    out = subprocess.run(["losetup", "-j", str(es / "vol1")], capture_output=True, text=True,
                         check=False).stdout
    assert out.strip() == ""
    storage.remove(disk)
    assert not (es / "vol1").exists()
    storage.remove(disk)  # idempotent: the provider tolerates a missing volume
    assert storage.find(disk) is None
    logs = os.listdir(os.path.join(pathutils.LOG_DIR, "extstorage"))
    assert any(name.startswith("create-testprov-vol1-") for name in logs)


def test_userspace_access_returns_uri(es):
    needs_loop()
    disk = edisk(es, access="userspace")
    storage.create(disk, 8, "inst1")
    try:
        dev, uri = storage.assemble(disk, "inst1")
        assert uri == "file://%s" % (es / "vol1")
    finally:
        storage.remove(disk)


def test_script_failure_carries_output(es):
    disk = edisk(es)
    storage.create(disk, 8, "inst1")
    with pytest.raises(errors.BlockDeviceError) as exc:
        storage.create(disk, 8, "inst1")
    msg = str(exc.value)
    assert "create script of provider 'testprov' failed" in msg
    assert "exit code 1" in msg and "volume vol1 already exists" in msg
    assert "log file" in msg
    storage.remove(disk)


def test_verify_and_unknown_params(es, tmp_path):
    with pytest.raises(errors.BlockDeviceError, match="does not support the parameter"):
        storage.create(edisk(es, color="red"), 8, "inst1")
    with pytest.raises(errors.BlockDeviceError, match="must be an absolute path"):
        storage.create(edisk("relative"), 8, "inst1")
    assert not os.path.exists("relative")


def test_missing_provider(es):
    disk = edisk(es)
    disk["logical_id"] = ["nosuchprov", "vol1"]
    with pytest.raises(errors.BlockDeviceError, match="'nosuchprov' not found"):
        storage.create(disk, 8, "inst1")
    assert storage.find(disk) is None


def test_exact_environment(tmp_path, monkeypatch):
    """Each script sees only the documented variables (cleared environment)."""
    prov = tmp_path / "es" / "envprov"
    prov.mkdir(parents=True)
    for script in extstorage.ES_SCRIPTS:
        path = prov / script
        path.write_text("#!/bin/sh\nenv | sort > %s/%s.env\n" % (tmp_path, script))
        path.chmod(0o755)
    (prov / "parameters.list").write_text("pool the pool\nreplicas count\n")
    monkeypatch.setattr(pathutils, "ES_SEARCH_PATH", [str(tmp_path / "es")])
    monkeypatch.setattr(pathutils, "LOG_DIR", str(tmp_path / "log"))
    monkeypatch.setenv("GANETI_LEAK", "1")
    disk = {"dev_type": "ext", "logical_id": ["envprov", "v9"], "size": 10, "mode": "rw",
            "params": {"access": "kernelspace", "pool": "p1", "replicas": 2},
            "uuid": "u-1", "name": "dname", "iv_name": "disk/0"}

    def env_of(script):
        lines = (tmp_path / ("%s.env" % script)).read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if not line.startswith(("PWD=",
                                                                                 "SHLVL=", "_=")))

    base = {"PATH": "/sbin:/bin:/usr/sbin:/usr/bin", "VOL_NAME": "v9", "VOL_CNAME": "dname",
            "VOL_UUID": "u-1", "EXTP_POOL": "p1", "EXTP_REPLICAS": "2"}
    storage.create(disk, 20, "inst1")
    assert env_of("verify") == base
    assert env_of("create") == dict(base, VOL_SIZE="20")
    storage.grow(disk, 5, False)
    assert env_of("grow") == dict(base, VOL_SIZE="10", VOL_NEW_SIZE="15")
    storage.setinfo(disk, "meta data")
    assert env_of("setinfo") == dict(base, VOL_METADATA="meta data")
    storage.shutdown(disk)
    assert env_of("detach") == dict(base, VOL_SIZE="10")
    storage.remove(disk)
    assert env_of("remove") == dict(base, VOL_SIZE="10")
    # attach printed nothing: not a usable device
    with pytest.raises(errors.BlockDeviceError, match="printed no device path"):
        storage.assemble(disk, "inst1")


def test_diagnose_lists_providers(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    entries = {e[0]: e for e in extstorage.diagnose([os.path.abspath(ES_DIR), str(tmp_path)])}
    assert entries["testprov"][2] is True
    assert entries["testprov"][4] == [["dir", "directory that holds the volume files"]]
    assert entries["broken"][2] is False and "create" in entries["broken"][3]
