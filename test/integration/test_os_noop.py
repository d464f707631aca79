"""Debian's ganeti-os-noop OS definition, run unmodified through the OS runner."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ganeti import pathutils
from ganeti.backend import os_run

MIB = 1024 * 1024
NOOP_BASE = "/usr/share/ganeti/os"


def _ensure_noop() -> None:
    if os.path.isfile(os.path.join(NOOP_BASE, "noop", "ganeti_api_version")):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("ganeti-os-noop is not installed and installing it needs root + apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    res = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends",
                          "ganeti-os-noop"], env=env, capture_output=True, text=True,
                         check=False, timeout=600)
    if res.returncode != 0:
        pytest.skip("apt-get install ganeti-os-noop failed: %s" % res.stderr.strip()[-300:])


@pytest.fixture
def node(tmp_path, monkeypatch):
    _ensure_noop()
    monkeypatch.setattr(pathutils, "OS_SEARCH_PATH", [NOOP_BASE])
    monkeypatch.setattr(pathutils, "LOG_OS_DIR", str(tmp_path / "log"))
    fs = tmp_path / "fs"
    (fs / "inst").mkdir(parents=True)
    (tmp_path / "paths").write_text("%s\n" % fs)
    monkeypatch.setattr(pathutils, "FILE_STORAGE_PATHS_FILE", str(tmp_path / "paths"))
    return tmp_path


def make_instance(fs, name):
    path = fs / "inst" / name
    with open(path, "wb") as fh:
        fh.truncate(2 * MIB)
    return {"name": "noop1.example.com", "uuid": "u", "os": "noop", "primary_node": "n1",
            "hypervisor": "kvm", "hvparams": {}, "beparams": {}, "osparams": {},
            "nics": [],
            "disks": [{"dev_type": "file", "logical_id": ["loop", str(path)], "size": 2,
                       "mode": "rw", "params": {}, "uuid": "d0", "iv_name": "disk/0"}]}


def test_noop_create_rename(node):
    inst = make_instance(node / "fs", "d0")
    os_def = os_run.find_os("noop")
    assert os_def is not None and os_def.api_version == 10
    os_run.instance_os_add(inst, False, 0)
    os_run.instance_os_add(inst, True, 0)
    os_run.instance_run_rename(inst, "old.example.com", 0)
    names = sorted(os.listdir(pathutils.LOG_OS_DIR))
    assert [n.split("-")[0] for n in names] == ["add", "add", "rename"]
    assert os_run.os_validate(True, "noop", ["parameters"], {}, False)


def test_noop_import_export_roundtrip(node):
    inst = make_instance(node / "fs", "d0")
    payload = node / "payload"
    payload.write_bytes(os.urandom(MIB))
    os_run.instance_os_import(inst, 0, str(payload), 0)
    out = node / "out"
    os_run.instance_os_export(inst, 0, str(out), 0)
    data = out.read_bytes()
    assert len(data) == 2 * MIB and data[:MIB] == payload.read_bytes()
