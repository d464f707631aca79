"""Debian's ganeti-instance-debootstrap OS definition, unmodified, on a virtual cluster.

Slow (debootstrap downloads a Debian system) and needs the Debian mirror:
skipped with the reason when the mirror does not answer. The OS's own
configuration (a variant file, as its documentation tells admins to write)
points it at bookworm without a partition table, because the host kernel
here cannot map partitions (no kpartx/device-mapper).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import urllib.request

import pytest
from cluster_env import run
from instance_env import NODE, _add, _root


def apt_mirror() -> str | None:
    """The Debian mirror this machine's apt uses for bookworm (deb822 or one-line form)."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as fh:
            for stanza in fh.read().split("\n\n"):
                fields = dict(line.split(":", 1) for line in stanza.splitlines()
                              if ":" in line and not line.startswith(("#", " ")))
                suites = fields.get("Suites", "").split()
                if "bookworm" in suites and "deb" in fields.get("Types", "").split():
                    uris = fields.get("URIs", "").split()
                    if uris:
                        return uris[0].rstrip("/")
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            with open(path) as fh:
                lines = fh.read().splitlines()
        except OSError:
            continue
        for line in lines:
            # deb [options] URI SUITE COMPONENTS...
            words = [w for w in line.split() if not w.startswith("[")]
            if len(words) >= 3 and words[0] == "deb" and words[2] == "bookworm":
                return words[1].rstrip("/")
    return None


MIRROR = apt_mirror()
OS_DIR = "/usr/share/ganeti/os/debootstrap"
VARIANTS = "/etc/ganeti/instance-debootstrap/variants"
VARIANTS_LIST = "/etc/ganeti/instance-debootstrap/variants.list"

pytestmark = pytest.mark.slow


def _mirror_answers() -> bool:
    if MIRROR is None:
        return False
    try:
        with urllib.request.urlopen(MIRROR + "/dists/bookworm/Release", timeout=10) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def debootstrap_os():
    if os.geteuid() != 0:
        pytest.skip("needs root (apt-get, debootstrap, loop devices)")
    if not _mirror_answers():
        pytest.skip("no Debian bookworm mirror in apt's configuration answers (%s)" % MIRROR)
    if not os.path.isdir(OS_DIR):
        res = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends",
                              "ganeti-instance-debootstrap"], capture_output=True, text=True,
                             env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
                             check=False)
        if res.returncode != 0:
            pytest.skip("cannot install ganeti-instance-debootstrap: %s" % res.stderr[-300:])
    conf = os.path.join(VARIANTS, "gnttest.conf")
    with open(VARIANTS_LIST) as fh:
        old_list = fh.read()
    with open(conf, "w") as fh:
        fh.write("# written by ganeti-py's test suite\nSUITE=bookworm\nMIRROR=%s\n"
                 "PARTITION_STYLE=none\nEXTRA_PKGS=\n" % MIRROR)
    with open(VARIANTS_LIST, "a") as fh:
        fh.write("gnttest\n")
    try:
        yield "debootstrap+gnttest"
    finally:
        with open(VARIANTS_LIST, "w") as fh:
            fh.write(old_list)
        os.unlink(conf)


def test_debootstrap_instance(env, debootstrap_os):
    name = "deb1.vcluster.test"
    _add(env, name, "-o", debootstrap_os, "-t", "file", "--disk", "0:size=1G", "-H", "fake",
         "-n", NODE, "--no-start")
    inst_dir = _root(env, "/srv/ganeti/file-storage/" + name)
    image = os.path.join(inst_dir, os.listdir(inst_dir)[0])
    if shutil.which("debugfs"):
        out = subprocess.run(["debugfs", "-R", "cat /etc/debian_version", image],
                             capture_output=True, text=True, check=True).stdout
        assert out.strip().startswith("12.")
    logs = [f for f in os.listdir(_root(env, "/var/log/ganeti/os"))
            if f.startswith("add-debootstrap")]
    assert logs
    run(env, "gnt-instance", "remove", "-f", name)
