"""chroot "hypervisor": an instance is a directory tree plus an init script.

The root is disk 0: used as is when it is a directory, otherwise mounted
(loop-mounted for image files). Useful for testing and for very light
service isolation; there is no resource control. Running = the instance's
state file exists (written after a successful start), so the answer
survives node daemon restarts without scanning processes.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time

from ganeti import errors, pathutils
from ganeti.hypervisor import base
from ganeti.utils import io


def mount_root(source: str, mountpoint: str) -> bool:
    """Mount disk 0 at ``mountpoint`` read-write; returns whether we mounted.

    A directory needs no mount (returns False); a regular file is an image
    and gets a loop device (freed automatically on umount).
    """
    try:
        mode = os.stat(source).st_mode
    except OSError as err:
        raise errors.HypervisorError("Root device %s not accessible: %s" % (source, err))
    if stat.S_ISDIR(mode):
        return False
    os.makedirs(mountpoint, mode=0o755, exist_ok=True)
    if os.path.ismount(mountpoint):
        return True
    argv = ["mount", "-o", "rw" + (",loop" if stat.S_ISREG(mode) else ""), source, mountpoint]
    base.run_cmd(argv)
    return True


def umount_root(mountpoint: str) -> None:
    """Unmount if mounted; lazily as a last resort so stop never gets stuck."""
    if not os.path.ismount(mountpoint):
        return
    res = base.run_cmd(["umount", mountpoint], check=False)
    if res.returncode != 0:
        base.run_cmd(["umount", "-l", mountpoint])


def processes_in_root(root: str) -> list[int]:
    """PIDs whose root directory is ``root`` (what a chroot instance runs)."""
    real = os.path.realpath(root)
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/root" % entry) == real:
                pids.append(int(entry))
        except OSError:
            continue
    return pids


class ChrootHypervisor(base.BaseHypervisor):
    """Runs ``<root><init_script> start|stop`` inside a chroot."""

    NAME = "chroot"
    RUN_SUBDIR = "chroot-hypervisor"
    PARAMETERS = {
        "init_script": (True, base.is_abs_path, "must be an absolute path", None, None),
    }

    def _state_file(self, name: str) -> str:
        return os.path.join(self.run_dir, name + ".json")

    def _mountpoint(self, name: str) -> str:
        return os.path.join(self.run_dir, name)

    def _state(self, name: str) -> dict | None:
        return io.read_json(self._state_file(name))

    def _run_init(self, name: str, root: str, script: str, action: str, timeout: float,
                  check: bool) -> None:
        """Run the init script with output to a log file, not a pipe.

        Daemons started by the script inherit its stdout; with a pipe we
        would wait for them to exit, i.e. forever.
        """
        log = os.path.join(self.run_dir, name + ".log")
        with open(log, "ab") as out:
            try:
                res = subprocess.run(["chroot", root, script, action], stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=out, timeout=timeout, check=False)
            except (OSError, subprocess.SubprocessError) as err:
                if check:
                    raise errors.HypervisorError("Instance %s: %s %s failed: %s"
                                                 % (name, script, action, err))
                return
        if check and res.returncode != 0:
            raise errors.HypervisorError("Instance %s: '%s %s' failed with exit code %d (see %s)"
                                         % (name, script, action, res.returncode, log))

    def start_instance(self, instance: dict, block_devices: list[tuple[dict, str, str | None]],
                       startup_paused: bool) -> None:
        name = instance["name"]
        if self._state(name) is not None:
            raise errors.HypervisorError("Failed to start instance %s: already running" % name)
        if not block_devices:
            raise errors.HypervisorError("Instance %s has no disk to use as root" % name)
        init_script = (instance.get("hvparams") or {}).get("init_script", "/ganeti-chroot")
        os.makedirs(self.run_dir, mode=0o750, exist_ok=True)
        source = block_devices[0][1]
        mnt = self._mountpoint(name)
        mounted = mount_root(source, mnt)
        root = mnt if mounted else source
        script = os.path.join(root, init_script.lstrip("/"))
        try:
            if not (os.path.isfile(script) and os.access(script, os.X_OK)):
                raise errors.HypervisorError("Instance %s: init script %s missing in %s"
                                             % (name, init_script, root))
            self._run_init(name, root, init_script, "start", 300, check=True)
        except BaseException:
            if mounted:
                umount_root(mnt)
            raise
        state = {"root": root, "mounted": mounted, "init_script": init_script,
                 "memory": base.instance_memory(instance), "vcpus": base.instance_vcpus(instance),
                 "start": time.time()}
        io.write_file_atomic(self._state_file(name), json.dumps(state), fsync=False)

    def stop_instance(self, instance: dict, force: bool = False, timeout: int = 120) -> None:
        name = instance["name"]
        state = self._state(name)
        if state is None:
            return
        root = state["root"]
        if not force:
            self._run_init(name, root, state["init_script"], "stop", timeout, check=False)
            self._wait_for(lambda: not processes_in_root(root), min(timeout, 10), 0.1)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in processes_in_root(root):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            if self._wait_for(lambda: not any(base.process_alive(p)
                                              for p in processes_in_root(root)), 5, 0.05):
                break
        self.cleanup_instance(name)

    def reboot_instance(self, instance: dict) -> None:
        name = instance["name"]
        state = self._state(name)
        if state is None:
            raise errors.HypervisorError("Failed to reboot instance %s: not running" % name)
        self._run_init(name, state["root"], state["init_script"], "stop", 120, check=False)
        self._run_init(name, state["root"], state["init_script"], "start", 300, check=True)
        state["start"] = time.time()
        io.write_file_atomic(self._state_file(name), json.dumps(state), fsync=False)

    def cleanup_instance(self, instance_name: str) -> None:
        state = self._state(instance_name) or {}
        mnt = self._mountpoint(instance_name)
        if state.get("mounted", True):
            umount_root(mnt)
        try:
            os.rmdir(mnt)
        except OSError:
            pass
        io.remove_file(self._state_file(instance_name))
        io.remove_file(os.path.join(self.run_dir, instance_name + ".log"))

    def list_instances(self, hvparams: dict | None = None) -> list[str]:
        try:
            return sorted(f[:-5] for f in os.listdir(self.run_dir) if f.endswith(".json"))
        except OSError:
            return []

    def get_instance_info(self, instance_name: str, hvparams: dict | None = None) -> dict | None:
        state = self._state(instance_name)
        if state is None:
            return None
        return {"memory": state["memory"], "vcpus": state["vcpus"], "state": "running",
                "time": int(time.time() - state["start"])}

    @classmethod
    def get_instance_console(cls, instance: dict, primary_node: dict, node_group: dict,
                             hvparams: dict, beparams: dict) -> dict:
        root = os.path.join(pathutils.RUN_DIR, cls.RUN_SUBDIR, instance["name"])
        return cls._console_ssh(instance, primary_node, ["chroot", root, "/bin/sh"])

    def get_version(self) -> str:
        return "chroot"
