"""LXC containers driven by the lxc-* tools.

All containers of this node live under their own lxcpath (``-P``,
``RUN_DIR/lxc``) so they never mix with hand-made ones in /var/lib/lxc.
We write each container's ``config`` ourselves instead of running a
template: the root filesystem is the instance's disk 0, mounted at
``<lxcpath>/<instance>/rootfs``, and the OS definition already filled it.
"""

from __future__ import annotations

import json
import os
import time

from ganeti import errors, pathutils
from ganeti.hypervisor import base
from ganeti.hypervisor.hv_chroot import mount_root, umount_root
from ganeti.utils import io

CGROUP_ROOT = "/sys/fs/cgroup"


def _cgroup_v1(controller: str) -> bool:
    return os.path.isdir(os.path.join(CGROUP_ROOT, controller))


class LxcHypervisor(base.BaseHypervisor):
    """System containers; memory/cpu limits through cgroup v1 when mounted."""

    NAME = "lxc"
    RUN_SUBDIR = "lxc"
    PARAMETERS = {
        "cpu_mask": base.opt_str(),
        "devices": base.opt_str(),
        "drop_capabilities": base.opt_str(),
        "extra_cgroups": base.opt_str(),
        "extra_config": base.opt_str(),
        "num_ttys": base.opt_nonneg_int(),
        "startup_timeout": base.opt_nonneg_int(),
    }

    def _dir(self, name: str) -> str:
        return os.path.join(self.run_dir, name)

    def _rootfs(self, name: str) -> str:
        return os.path.join(self._dir(name), "rootfs")

    def _state_file(self, name: str) -> str:
        return os.path.join(self._dir(name), "ganeti.json")

    def _lxc(self, tool: str, name: str, *args: str, check: bool = True,
             timeout: float = 120) -> object:
        return base.run_cmd([tool, "-P", self.run_dir, "-n", name, *args], check=check,
                            timeout=timeout)

    # ------------------------------------------------------------------ config
    def build_config(self, instance: dict, rootfs: str) -> str:
        """The container's lxc config text."""
        name = instance["name"]
        hvp = instance.get("hvparams") or {}
        lines = ["# LXC config of %s, written by Ganeti" % name,
                 "lxc.uts.name = %s" % name.split(".")[0],
                 "lxc.rootfs.path = dir:%s" % rootfs,
                 "lxc.log.file = %s" % os.path.join(self._dir(name), "lxc.log"),
                 "lxc.console.logfile = %s" % os.path.join(self._dir(name), "console.log"),
                 "lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed",
                 "lxc.autodev = 1",
                 "lxc.tty.max = %d" % int(hvp.get("num_ttys", 6) or 0),
                 "lxc.pty.max = 1024"]
        caps = [c.strip() for c in (hvp.get("drop_capabilities") or "").split(",") if c.strip()]
        if caps:
            lines.append("lxc.cap.drop = %s" % " ".join(caps))
        if _cgroup_v1("devices") and hvp.get("devices"):
            lines.append("lxc.cgroup.devices.deny = a")
            for dev in hvp["devices"].split(","):
                if dev.strip():
                    lines.append("lxc.cgroup.devices.allow = %s" % dev.strip())
        if _cgroup_v1("memory"):
            mem = base.instance_memory(instance) * 1024 * 1024
            lines.append("lxc.cgroup.memory.limit_in_bytes = %d" % mem)
        if _cgroup_v1("cpuset"):
            mask = hvp.get("cpu_mask") or ""
            if not mask:
                # vcpus as "the first N host CPUs"
                mask = "0-%d" % (min(base.instance_vcpus(instance), os.cpu_count() or 1) - 1)
            lines.append("lxc.cgroup.cpuset.cpus = %s" % mask)
        for extra in (hvp.get("extra_cgroups") or "").split(","):
            if extra.strip():
                lines.append("lxc.cgroup.%s" % extra.strip())
        nics = instance.get("nics") or []
        if not nics:
            lines.append("lxc.net.0.type = empty")
        for idx, nic in enumerate(nics):
            params = nic.get("nicparams") or {}
            lines.append("lxc.net.%d.type = veth" % idx)
            if params.get("link"):
                lines.append("lxc.net.%d.link = %s" % (idx, params["link"]))
            if nic.get("mac"):
                lines.append("lxc.net.%d.hwaddr = %s" % (idx, nic["mac"]))
            lines.append("lxc.net.%d.flags = up" % idx)
            lines.append("lxc.net.%d.name = eth%d" % (idx, idx))
        for extra in (hvp.get("extra_config") or "").split(","):
            if extra.strip():
                lines.append(extra.strip())
        return "\n".join(lines) + "\n"

    # --------------------------------------------------------------- lifecycle
    def start_instance(self, instance: dict, block_devices: list[tuple[dict, str, str | None]],
                       startup_paused: bool) -> None:
        name = instance["name"]
        if self._state_of(name) == "RUNNING":
            raise errors.HypervisorError("Failed to start instance %s: already running" % name)
        if not block_devices:
            raise errors.HypervisorError("Instance %s has no disk for its root" % name)
        hvp = instance.get("hvparams") or {}
        os.makedirs(self._dir(name), mode=0o750, exist_ok=True)
        source = block_devices[0][1]
        mounted = mount_root(source, self._rootfs(name))
        rootfs = self._rootfs(name) if mounted else source
        try:
            io.write_file_atomic(os.path.join(self._dir(name), "config"),
                                 self.build_config(instance, rootfs), mode=0o644, fsync=False)
            state = {"memory": base.instance_memory(instance),
                     "vcpus": base.instance_vcpus(instance), "mounted": mounted}
            io.write_file_atomic(self._state_file(name), json.dumps(state), fsync=False)
            self._lxc("lxc-start", name, "-d", "-o", os.path.join(self._dir(name), "lxc.log"))
            timeout = int(hvp.get("startup_timeout") or 30)
            self._lxc("lxc-wait", name, "-s", "RUNNING", "-t", str(timeout),
                      timeout=timeout + 10)
            if startup_paused:
                self._lxc("lxc-freeze", name)
        except BaseException:
            self._lxc("lxc-stop", name, "-k", check=False)
            self.cleanup_instance(name)
            raise

    def stop_instance(self, instance: dict, force: bool = False, timeout: int = 120) -> None:
        name = instance["name"]
        if self._state_of(name) not in ("STOPPED", None):
            if force:
                self._lxc("lxc-stop", name, "-k", check=False)
            else:
                res = self._lxc("lxc-stop", name, "-t", str(timeout), check=False,
                                timeout=timeout + 30)
                if res.returncode != 0 and self._state_of(name) != "STOPPED":  # type: ignore
                    self._lxc("lxc-stop", name, "-k", check=False)
            if self._state_of(name) not in ("STOPPED", None):
                raise errors.HypervisorError("Failed to stop instance %s" % name)
        self.cleanup_instance(name)

    def reboot_instance(self, instance: dict) -> None:
        name = instance["name"]
        if self._state_of(name) != "RUNNING":
            raise errors.HypervisorError("Failed to reboot instance %s: not running" % name)
        self._lxc("lxc-stop", name, "-r", "-t", "60", timeout=90)

    def cleanup_instance(self, instance_name: str) -> None:
        """Unmount the root and drop the config (the disk keeps the data)."""
        if self._state_of(instance_name) == "RUNNING":
            raise errors.HypervisorError("Instance %s is still running" % instance_name)
        umount_root(self._rootfs(instance_name))
        d = self._dir(instance_name)
        for f in ("config", "ganeti.json"):
            io.remove_file(os.path.join(d, f))
        try:
            os.rmdir(self._rootfs(instance_name))
        except OSError:
            pass

    # -------------------------------------------------------------------- info
    def _state_of(self, name: str) -> str | None:
        """lxc-info's state word, or None if the container is unknown."""
        if not os.path.exists(os.path.join(self._dir(name), "config")):
            return None
        res = self._lxc("lxc-info", name, "-s", check=False, timeout=30)
        for line in res.stdout.splitlines():  # type: ignore[attr-defined]
            if line.startswith("State:"):
                return line.split(":", 1)[1].strip()
        return None

    def _pid(self, name: str) -> int | None:
        res = self._lxc("lxc-info", name, "-p", check=False, timeout=30)
        for line in res.stdout.splitlines():  # type: ignore[attr-defined]
            if line.startswith("PID:"):
                return int(line.split(":", 1)[1])
        return None

    def list_instances(self, hvparams: dict | None = None) -> list[str]:
        try:
            names = os.listdir(self.run_dir)
        except OSError:
            return []
        return sorted(n for n in names if self._state_of(n) in ("RUNNING", "FROZEN"))

    def get_instance_info(self, instance_name: str, hvparams: dict | None = None) -> dict | None:
        lxc_state = self._state_of(instance_name)
        if lxc_state not in ("RUNNING", "FROZEN"):
            return None
        try:
            with open(self._state_file(instance_name)) as f:
                state = json.load(f)
        except (OSError, ValueError):
            state = {"memory": 0, "vcpus": 1}
        pid = self._pid(instance_name)
        return {"memory": state["memory"], "vcpus": state["vcpus"],
                "state": "running" if lxc_state == "RUNNING" else "paused",
                "time": int(base.process_uptime(pid)) if pid else 0}

    @classmethod
    def get_instance_console(cls, instance: dict, primary_node: dict, node_group: dict,
                             hvparams: dict, beparams: dict) -> dict:
        lxcpath = os.path.join(pathutils.RUN_DIR, cls.RUN_SUBDIR)
        return cls._console_ssh(instance, primary_node,
                                ["lxc-console", "-n", instance["name"], "-P", lxcpath])

    def verify(self, hvparams: dict | None = None) -> str | None:
        for tool in ("lxc-start", "lxc-stop", "lxc-info"):
            if not any(os.access(os.path.join(d, tool), os.X_OK)
                       for d in ("/usr/bin", "/usr/sbin", "/bin")):
                return "The '%s' program was not found" % tool
        return None

    def get_version(self) -> str:
        res = base.run_cmd(["lxc-start", "--version"], check=False, timeout=10)
        return "lxc %s" % res.stdout.strip() if res.returncode == 0 else "unknown"

    def wait_running(self, name: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._state_of(name) == "RUNNING":
                return True
            time.sleep(0.2)
        return False
