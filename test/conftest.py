"""Fixtures shared by unit and integration tests."""

from __future__ import annotations

import os
import pathlib
import subprocess

import pytest


@pytest.fixture
def os_node(tmp_path, monkeypatch):
    """A private OS log dir and allowed file storage path (``fs``, with ``fs/inst1``).

    Tests set ``pathutils.OS_SEARCH_PATH`` themselves; returns ``tmp_path``.
    """
    from ganeti import pathutils
    monkeypatch.setattr(pathutils, "LOG_OS_DIR", str(tmp_path / "log" / "os"))
    fs = tmp_path / "fs"
    (fs / "inst1").mkdir(parents=True)
    paths = tmp_path / "paths"
    paths.write_text("%s\n" % fs)
    monkeypatch.setattr(pathutils, "FILE_STORAGE_PATHS_FILE", str(paths))
    return tmp_path


@pytest.fixture
def loop_devices(tmp_path):
    """``attach(size_mib) -> (device, image)``: image files on free loop devices.

    Root only (skips otherwise, or when no loop device is free); every
    device is detached when the test ends, whatever happened.
    """
    if os.geteuid() != 0:
        pytest.skip("loop devices need root")
    attached: list[str] = []

    def attach(size_mib: int) -> tuple[str, pathlib.Path]:
        img = tmp_path / ("loop%d.img" % len(attached))
        with open(img, "wb") as fh:
            fh.truncate(size_mib * 1024 * 1024)
        res = subprocess.run(["losetup", "-f", "--show", str(img)], capture_output=True, text=True,
                             check=False)
        if res.returncode != 0:
            pytest.skip("no free loop device: %s" % res.stderr.strip())
        attached.append(res.stdout.strip())
        return attached[-1], img

    try:
        yield attach
    finally:
        for dev in attached:
            subprocess.run(["losetup", "-d", dev], check=False)
