"""What a virtual cluster needs to run real guests (used by tools/vcluster).

* a bridge for the instances' NICs, with no address and so no route: the
  guests of one virtual cluster share it and nothing else does;
* the guest kernel and initrd (``tools/guest-kernel``, cached) for KVM;
* the shipped ``busybox`` OS definition in every node's OS directory, and
  the allowed file storage paths;
* the ``gnt-cluster init`` arguments that enable the kvm (TCG), lxc and
  fake hypervisors and the file, sharedfile, diskless, blockdev and ext
  templates, so that ``gnt-instance add -o busybox -t file --disk 0:size=64M
  --no-name-check --no-ip-check NAME`` boots a guest with no other option.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
GUEST_DIR = "/var/cache/ganeti/guest"
GUEST_KERNEL_TOOL = os.path.join(REPO, "tools", "guest-kernel")
BUSYBOX_OS = os.path.join(REPO, "os", "busybox")
DISK_TEMPLATES = "file,sharedfile,diskless,blockdev,ext"
HAIL_PATHS = ("/usr/local/lib/ganeti/iallocators/hail", "/usr/lib/ganeti/iallocators/hail",
              "/usr/lib/ganeti/3.0/usr/lib/ganeti/iallocators/hail")
QEMU = shutil.which("qemu-system-x86_64") or "/usr/bin/qemu-system-x86_64"


def bridge_name(base: str) -> str:
    """A bridge name unique to the cluster directory (at most 15 characters)."""
    return "gvc" + hashlib.sha1(os.path.abspath(base).encode()).hexdigest()[:10]


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False)


def setup_bridge(name: str) -> str | None:
    """Create the bridge (no address); None if done, else why not."""
    if os.path.exists("/sys/class/net/%s" % name):
        return None
    res = _ip("link", "add", name, "type", "bridge")
    if res.returncode != 0:
        return res.stderr.strip() or "ip link add failed"
    res = _ip("link", "set", name, "up")
    return None if res.returncode == 0 else res.stderr.strip()


def remove_bridge(name: str) -> None:
    if os.path.exists("/sys/class/net/%s" % name):
        _ip("link", "del", name)


def ensure_guest_kernel(log) -> bool:
    """Build (or reuse) the guest kernel and initrd; False if impossible here."""
    if os.path.exists(os.path.join(GUEST_DIR, "vmlinuz")) and \
            os.path.exists(os.path.join(GUEST_DIR, "initrd.img")):
        return True
    if not os.access(GUEST_KERNEL_TOOL, os.X_OK):
        log("no %s; kvm guests will not boot" % GUEST_KERNEL_TOOL)
        return False
    res = subprocess.run([GUEST_KERNEL_TOOL, GUEST_DIR], capture_output=True, text=True,
                         check=False, timeout=600)
    log("guest-kernel: rc=%d %s %s" % (res.returncode, res.stdout.strip(), res.stderr.strip()))
    return res.returncode == 0


def node_files(root: str, shared_dir: str) -> None:
    """Allowed file storage paths and the busybox OS on one node."""
    conf = os.path.join(root, "etc", "ganeti")
    os.makedirs(conf, exist_ok=True)
    with open(os.path.join(conf, "file-storage-paths"), "w") as fh:
        fh.write("# written by vcluster\n/srv/ganeti/file-storage\n%s\n" % shared_dir)
    os_dir = os.path.join(root, "srv", "ganeti", "os")
    os.makedirs(os_dir, exist_ok=True)
    link = os.path.join(os_dir, "busybox")
    if os.path.isdir(BUSYBOX_OS) and not os.path.lexists(link):
        os.symlink(BUSYBOX_OS, link)
    for sub in ("extstorage",):
        os.makedirs(os.path.join(root, "srv", "ganeti", sub), exist_ok=True)


def init_args(hypervisors: str, bridge: str | None, shared_dir: str) -> list[str]:
    # small guests: disks from 4 MiB (the default policy starts at 1 GiB)
    args = ["--enabled-disk-templates=%s" % DISK_TEMPLATES,
            "--shared-file-storage-dir=%s" % shared_dir,
            "--specs-disk-size=min=4,std=1024,max=1048576"]
    if "kvm" in hypervisors.split(","):
        args.append("-H" "kvm:kvm_path=%s,kvm_flag=disabled,kernel_path=%s,initrd_path=%s,"
                    "root_path=/dev/vda,kernel_args=ro panic=-1,vhost_net=false,"
                    "serial_console=true" % (QEMU, os.path.join(GUEST_DIR, "vmlinuz"),
                                             os.path.join(GUEST_DIR, "initrd.img")))
    if bridge:
        args.append("-Nlink=%s,mode=bridged" % bridge)
    if any(os.access(p, os.X_OK) for p in HAIL_PATHS):
        # so that 'gnt-instance add' needs no -n; a small virtual cluster cannot be
        # N+1 redundant, so hail's capacity checks would refuse every instance
        args += ["--default-iallocator=hail", "--default-iallocator-params=no-capacity-checks"]
    return args


def release_mounts_and_loops(base: str, log) -> None:
    """Unmount what guests left mounted under DIR and free loop devices of its files."""
    prefix = os.path.abspath(base) + "/"
    try:
        with open("/proc/mounts") as fh:
            points = [line.split()[1].replace("\\040", " ") for line in fh]
    except OSError:
        points = []
    for point in sorted((p for p in points if p.startswith(prefix)), reverse=True):
        res = subprocess.run(["umount", "-l", point], capture_output=True, text=True,
                             check=False)
        log("umount %s: rc=%d %s" % (point, res.returncode, res.stderr.strip()))
    res = subprocess.run(["losetup", "-a", "-O", "NAME,BACK-FILE", "-n"], capture_output=True,
                         text=True, check=False)
    for line in res.stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[1].strip().startswith(prefix):
            subprocess.run(["losetup", "-d", parts[0]], check=False)
            log("losetup -d %s (%s)" % (parts[0], parts[1].strip()))
