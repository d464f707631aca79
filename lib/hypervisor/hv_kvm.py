"""KVM (qemu) driver: daemonized qemu processes controlled over QMP.

Everything needed to find a running guest again lives in files under the
run directory (pid file, control sockets, runtime JSON, tap names), so a
restarted node daemon picks up where the previous one left off.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from ganeti import constants, errors, pathutils
from ganeti.hypervisor import base, nic
from ganeti.hypervisor import hv_kvm_cmd as kcmd
from ganeti.hypervisor.base import to_bool
from ganeti.hypervisor.hv_kvm_qmp import QmpConnection, qmp_command, qmp_try
from ganeti.utils import io

SOCAT_CONSOLE_OPTS = "STDIO,raw,echo=0,escape=0x1d"
#: sun_path holds 108 bytes including the terminating NUL
MAX_UNIX_PATH = 107


def console_wrapper_path() -> str:
    """The source checkout's tools/ copy, else the installed one (pkglibdir/tools)."""
    return pathutils.KVM_CONSOLE_WRAPPER


def ctrl_paths(run_dir: str, name: str) -> kcmd.KvmPaths:
    """All per-instance paths, absolute (qemu -daemonize chdirs to /)."""
    ctrl = os.path.join(run_dir, "ctrl")
    return kcmd.KvmPaths(pidfile=os.path.join(run_dir, "pid", name),
                         qmp=os.path.join(ctrl, name + ".qmp"),
                         monitor=os.path.join(ctrl, name + ".monitor"),
                         serial=os.path.join(ctrl, name + ".serial"),
                         qga=os.path.join(ctrl, name + ".qga"),
                         chroot=os.path.join(run_dir, "chroot", name))


class KvmHypervisor(base.BaseHypervisor):
    """qemu-system-x86_64 guests, one daemonized process per instance."""

    NAME = "kvm"
    RUN_SUBDIR = "kvm-hypervisor"
    PARAMETERS = kcmd.PARAMETERS

    # ------------------------------------------------------------------ paths
    def _paths(self, name: str) -> kcmd.KvmPaths:
        return ctrl_paths(self.run_dir, name)

    def _runtime_file(self, name: str) -> str:
        return os.path.join(self.run_dir, "conf", name + ".runtime")

    def _nic_dir(self, name: str) -> str:
        return os.path.join(self.run_dir, "nic", name)

    @classmethod
    def _check_parameter_combinations(cls, hvparams: dict) -> None:
        kcmd.check_combinations(hvparams)

    # ---------------------------------------------------------------- process
    def _read_pid(self, name: str) -> int | None:
        text = io.read_one_line(self._paths(name).pidfile, default=None)
        if not text:
            return None
        try:
            return int(text.strip())
        except ValueError:
            return None

    def _running_pid(self, name: str) -> int | None:
        """The qemu PID if the instance runs, else None.

        A pid file alone is not proof: the process must be alive (not a
        zombie) and be the qemu started for this instance (PID reuse).
        """
        pid = self._read_pid(name)
        if pid is None or not base.process_alive(pid):
            return None
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            return None
        try:
            idx = argv.index(b"-name")
        except ValueError:
            return None
        if idx + 1 >= len(argv) or argv[idx + 1] != name.encode():
            return None
        return pid

    def _load_runtime(self, name: str) -> list | None:
        return io.read_json(self._runtime_file(name))

    # -------------------------------------------------------------- lifecycle
    def start_instance(self, instance: dict, block_devices: list[tuple[dict, str, str | None]],
                       startup_paused: bool) -> None:
        """Create taps, launch daemonized qemu, record the runtime state."""
        name = instance["name"]
        if self._running_pid(name) is not None:
            raise errors.HypervisorError("Failed to start instance %s: already running" % name)
        hvp = instance.get("hvparams") or {}
        self.validate_parameters(hvp)
        for sub in ("pid", "ctrl", "conf", "nic"):
            self._ensure_dir(sub)
        self.cleanup_instance(name)
        paths = self._paths(name)
        for sock in (paths.qmp, paths.monitor, paths.serial, paths.qga):
            if len(sock.encode()) > MAX_UNIX_PATH:
                raise errors.HypervisorError(
                    "Failed to start instance %s: socket path %s is longer than %d bytes"
                    % (name, sock, MAX_UNIX_PATH))
        if to_bool(hvp.get("use_chroot", False)):
            os.makedirs(paths.chroot, mode=0o750, exist_ok=True)
        nics = list(instance.get("nics") or [])
        fds: list[int] = []
        taps: list[str] = []
        try:
            for nic_dict in nics:
                fd, tap = nic.open_tap(to_bool(hvp.get("vnet_hdr", True)))
                fds.append(fd)
                taps.append(tap)
                nic.configure_tap(name, nic_dict, tap)
            argv = kcmd.build_command(instance, block_devices, fds, paths, startup_paused)
            self._write_nic_files(name, taps)
            self._write_runtime(name, argv, nics, hvp, block_devices)
            self._launch(name, argv, fds)
        except BaseException:
            for tap in taps:
                nic.remove_tap(tap)
            self._kill_and_cleanup(name)
            raise
        finally:
            for fd in fds:
                os.close(fd)

    def _launch(self, name: str, argv: list[str], fds: list[int]) -> None:
        # qemu's launcher process exits once the daemon is up (sockets
        # listening, pid file written), so waiting for it is the readiness
        # signal; fds are inheritable only for this child.
        for fd in fds:
            os.set_inheritable(fd, True)
        try:
            res = subprocess.run(argv, capture_output=True, text=True, pass_fds=fds,
                                 timeout=120, check=False, cwd="/")
        except (OSError, subprocess.SubprocessError) as err:
            raise errors.HypervisorError("Failed to start instance %s: %s" % (name, err))
        if res.returncode != 0:
            raise errors.HypervisorError(
                "Failed to start instance %s: exit code %d: %s"
                % (name, res.returncode, (res.stderr or res.stdout).strip()))
        if self._running_pid(name) is None:
            raise errors.HypervisorError("Failed to start instance %s: qemu exited at once: %s"
                                         % (name, res.stderr.strip()))

    def _write_nic_files(self, name: str, taps: list[str]) -> None:
        ndir = self._nic_dir(name)
        os.makedirs(ndir, mode=0o750, exist_ok=True)
        for seq, tap in enumerate(taps):
            io.write_file_atomic(os.path.join(ndir, str(seq)), tap + "\n", fsync=False)

    def _write_runtime(self, name: str, argv: list[str], nics: list[dict], hvp: dict,
                       block_devices: list) -> None:
        disks = [[d, path, uri] for d, path, uri in block_devices]
        data = json.dumps([argv, nics, hvp, disks])
        io.write_file_atomic(self._runtime_file(name), data, mode=0o600)

    def _tap_names(self, name: str) -> list[str]:
        ndir = self._nic_dir(name)
        try:
            seqs = sorted((int(s) for s in os.listdir(ndir) if s.isdigit()))
        except OSError:
            return []
        return [(io.read_one_line(os.path.join(ndir, str(s)), "") or "").strip() for s in seqs]

    def stop_instance(self, instance: dict, force: bool = False, timeout: int = 120) -> None:
        """ACPI powerdown, wait ``timeout``, then quit/kill; force kills at once."""
        name = instance["name"]
        pid = self._running_pid(name)
        if pid is None:
            self.cleanup_instance(name)
            return
        if not force:
            qmp_try(self._paths(name).qmp, "system_powerdown")
            if self._wait_for(lambda: not base.process_alive(pid), timeout, 0.2):
                self.cleanup_instance(name)
                return
        self._kill_and_cleanup(name)

    def _kill_and_cleanup(self, name: str) -> None:
        pid = self._running_pid(name)
        if pid is not None:
            qmp_try(self._paths(name).qmp, "quit", timeout=3)
            if not self._wait_for(lambda: not base.process_alive(pid), 5, 0.05):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                if not self._wait_for(lambda: not base.process_alive(pid), 10, 0.05):
                    raise errors.HypervisorError("Failed to stop instance %s: pid %d survives"
                                                 " SIGKILL" % (name, pid))
        self.cleanup_instance(name)

    def reboot_instance(self, instance: dict) -> None:
        """Hard reset through QMP (the guest's disks stay attached)."""
        name = instance["name"]
        if self._running_pid(name) is None:
            raise errors.HypervisorError("Failed to reboot instance %s: not running" % name)
        qmp_command(self._paths(name).qmp, "system_reset")

    def cleanup_instance(self, instance_name: str) -> None:
        """Remove pid file, sockets, runtime file and taps of a stopped guest."""
        if self._running_pid(instance_name) is not None:
            raise errors.HypervisorError("Instance %s is still running, cannot clean up"
                                         % instance_name)
        paths = self._paths(instance_name)
        for tap in self._tap_names(instance_name):
            nic.remove_tap(tap)
        ndir = self._nic_dir(instance_name)
        if os.path.isdir(ndir):
            for entry in os.listdir(ndir):
                io.remove_file(os.path.join(ndir, entry))
            try:
                os.rmdir(ndir)
            except OSError:
                pass
        for path in (paths.pidfile, paths.qmp, paths.monitor, paths.serial, paths.qga,
                     self._runtime_file(instance_name)):
            io.remove_file(path)
        try:
            os.rmdir(paths.chroot)
        except OSError:
            pass

    # ------------------------------------------------------------------- info
    def list_instances(self, hvparams: dict | None = None) -> list[str]:
        try:
            names = os.listdir(os.path.join(self.run_dir, "pid"))
        except OSError:
            return []
        return sorted(n for n in names if not n.startswith(".") and self._running_pid(n))

    def get_instance_info(self, instance_name: str, hvparams: dict | None = None) -> dict | None:
        pid = self._running_pid(instance_name)
        if pid is None:
            return None
        memory, vcpus = 0, 1
        runtime = self._load_runtime(instance_name)
        if runtime:
            argv = runtime[0]
            if "-m" in argv:
                memory = int(argv[argv.index("-m") + 1])
            if "-smp" in argv:
                vcpus = int(argv[argv.index("-smp") + 1].split(",")[0])
        state = "running"
        try:
            status = qmp_command(self._paths(instance_name).qmp, "query-status", timeout=5)
            state = str(status.get("status", state))
        except errors.HypervisorError:
            pass
        return {"memory": memory, "vcpus": vcpus, "state": state,
                "time": int(base.process_uptime(pid))}

    @classmethod
    def get_instance_console(cls, instance: dict, primary_node: dict, node_group: dict,
                             hvparams: dict, beparams: dict) -> dict:
        """ssh to the node + wrapper/socat on the serial socket, or VNC."""
        name = instance["name"]
        if to_bool(hvparams.get("serial_console", False)):
            run_dir = os.path.join(pathutils.RUN_DIR, cls.RUN_SUBDIR)
            paths = ctrl_paths(run_dir, name)
            cmd = [console_wrapper_path(), "socat", name, paths.qmp, SOCAT_CONSOLE_OPTS,
                   "UNIX-CONNECT:%s" % paths.serial]
            return cls._console_ssh(instance, primary_node, cmd)
        bind = hvparams.get("vnc_bind_address", "")
        port = int(instance.get("network_port") or 0)
        if bind and port > 5900 and not os.path.isabs(bind):
            host = primary_node.get("primary_ip") or primary_node["name"] \
                if bind in ("0.0.0.0", "::") else bind
            return {"instance": name, "kind": "vnc", "message": None, "host": host,
                    "port": port, "user": None, "command": None, "display": port - 5900}
        spice = hvparams.get("spice_bind", "")
        if spice and port:
            return {"instance": name, "kind": "spice", "message": None, "host": spice,
                    "port": port, "user": None, "command": None, "display": None}
        return cls._console_msg(instance, "No serial shell for instance %s" % name)

    def verify(self, hvparams: dict | None = None) -> str | None:
        path = (hvparams or {}).get("kvm_path") or \
            constants.HVC_DEFAULTS[constants.HT_KVM]["kvm_path"]
        if not os.access(path, os.X_OK):
            return "The KVM binary ('%s') does not exist" % path
        return None

    def get_version(self) -> str:
        return self._version_of(constants.HVC_DEFAULTS[constants.HT_KVM]["kvm_path"])

    _versions: dict[str, str] = {}

    def _version_of(self, path: str) -> str:
        if path not in self._versions:
            res = base.run_cmd([path, "--version"], check=False, timeout=10)
            first = (res.stdout or "").splitlines()
            self._versions[path] = first[0].strip() if first else "unknown"
        return self._versions[path]

    def get_node_info(self, hvparams: dict | None = None) -> dict:
        info = super().get_node_info(hvparams)
        path = (hvparams or {}).get("kvm_path") or \
            constants.HVC_DEFAULTS[constants.HT_KVM]["kvm_path"]
        info["hv_version"] = self._version_of(path) if os.access(path, os.X_OK) else None
        return info

    # ----------------------------------------------------------- extra helpers
    def qmp(self, instance_name: str) -> QmpConnection:
        """A QMP session for callers needing several commands (migration)."""
        return QmpConnection(self._paths(instance_name).qmp)

    def serial_socket(self, instance_name: str) -> str:
        return self._paths(instance_name).serial

    def wait_stopped(self, instance_name: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._running_pid(instance_name) is None:
                return True
            time.sleep(0.1)
        return self._running_pid(instance_name) is None
