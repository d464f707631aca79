"""Xen (PV and HVM) through the ``xl`` toolstack.

Config files go to ``XEN_CONFIG_DIR`` (``/etc/xen``, under GANETI_ROOTDIR
on a virtual cluster node), where upstream Ganeti and admins expect them.
The ``xl`` binary is ``XL_COMMAND``, overridable with the environment
variable ``GANETI_XL_COMMAND`` (read at call time), so tests can drive the
simulated ``test/sim/xl``; the old ``xen_cmd`` (xm) parameter is accepted
but ignored, as in Ganeti 3.1.
"""

from __future__ import annotations

import os
import stat
import subprocess

from ganeti import errors, pathutils
from ganeti.hypervisor import base
from ganeti.hypervisor.base import to_bool
from ganeti.utils import io

XL_COMMAND = "/usr/sbin/xl"
XEN_CONFIG_DIR = pathutils.ROOTDIR + "/etc/xen"
DOM0_NAME = "Domain-0"

_STATE_NAMES = {"r": "running", "b": "running", "p": "paused", "s": "shutdown",
                "c": "crashed", "d": "dying"}


def xl_command() -> str:
    return os.environ.get("GANETI_XL_COMMAND") or XL_COMMAND


def parse_xl_list(text: str) -> dict[str, dict]:
    """``xl list`` output -> name -> {id, memory, vcpus, state, time}.

    Columns are parsed from the right, so names with odd characters and
    the tab-separated header do not matter.
    """
    result: dict[str, dict] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("Name "):
            continue
        parts = line.split()
        if len(parts) < 6:
            raise errors.HypervisorError("Cannot parse xl list line: %r" % line)
        name = " ".join(parts[:-5])
        try:
            dom_id, mem, vcpus = int(parts[-5]), int(parts[-4]), int(parts[-3])
            cpu_time = float(parts[-1])
        except ValueError:
            raise errors.HypervisorError("Cannot parse xl list line: %r" % line)
        flags = parts[-2]
        state = "running"
        for letter in flags:
            if letter in _STATE_NAMES and letter not in ("r", "b"):
                state = _STATE_NAMES[letter]
                break
        result[name] = {"id": dom_id, "memory": mem, "vcpus": vcpus, "state": state,
                        "time": cpu_time}
    return result


def parse_xl_info(text: str) -> dict[str, str]:
    info: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def _q(value: object) -> str:
    return "'%s'" % str(value).replace("\\", "\\\\").replace("'", "\\'")


def _xen_common_params() -> dict[str, tuple]:
    return {
        "migration_port": base.opt_nonneg_int(),
        "migration_mode": base.opt_enum(("live", "non-live")),
        "reboot_behavior": base.opt_enum(("reboot", "exit")),
        "cpu_mask": base.opt_str(),
        "cpu_cap": base.opt_nonneg_int(),
        "cpu_weight": base.opt_nonneg_int(),
        "vif_script": base.opt_str(),
        "cpuid": base.opt_str(),
        "soundhw": base.opt_str(),
        "xen_cmd": base.opt_enum(("xm", "xl")),
        "blockdev_prefix": base.opt_str(),
    }


class XenHypervisor(base.BaseHypervisor):
    """What PV and HVM share: xl invocation, listing, stop, node info."""

    NAME = "xen"
    RUN_SUBDIR = "xen-hypervisor"
    CAN_START_PAUSED = True

    def __init__(self, run_dir: str | None = None, config_dir: str | None = None) -> None:
        super().__init__(run_dir)
        self.config_dir = config_dir or XEN_CONFIG_DIR

    def _xl(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        return base.run_cmd([xl_command(), *args], check=check, timeout=timeout)

    def config_path(self, name: str) -> str:
        return os.path.join(self.config_dir, name)

    # ------------------------------------------------------------- config file
    def _disk_lines(self, instance: dict, block_devices: list) -> list[str]:
        prefix = (instance.get("hvparams") or {}).get("blockdev_prefix") or "xvd"
        lines = []
        for idx, (disk, path, _uri) in enumerate(block_devices):
            try:
                kind = "phy" if stat.S_ISBLK(os.stat(path).st_mode) else "file"
            except OSError:
                kind = "phy"
            mode = "r" if (disk or {}).get("mode") == "ro" else "w"
            lines.append("%s:%s,%s%s,%s" % (kind, path, prefix, chr(ord("a") + idx), mode))
        return lines

    def _vif_lines(self, instance: dict, extra: str = "") -> list[str]:
        hvp = instance.get("hvparams") or {}
        vifs = []
        for nic in instance.get("nics") or []:
            params = nic.get("nicparams") or {}
            parts = []
            if nic.get("mac"):
                parts.append("mac=%s" % nic["mac"])
            if params.get("mode") == "bridged" and params.get("link"):
                parts.append("bridge=%s" % params["link"])
            if nic.get("ip"):
                parts.append("ip=%s" % nic["ip"])
            if hvp.get("vif_script"):
                parts.append("script=%s" % hvp["vif_script"])
            if extra:
                parts.append(extra)
            vifs.append(",".join(parts))
        return vifs

    def _common_config(self, instance: dict, block_devices: list,
                       extra_disks: list[str] | None = None) -> list[str]:
        hvp = instance.get("hvparams") or {}
        lines = ["name = %s" % _q(instance["name"]),
                 "memory = %d" % base.instance_memory(instance),
                 "maxmem = %d" % base.instance_memory(instance),
                 "vcpus = %d" % base.instance_vcpus(instance)]
        if instance.get("uuid"):
            lines.append("uuid = %s" % _q(instance["uuid"]))
        if hvp.get("cpu_mask") and hvp["cpu_mask"] != "all":
            lines.append("cpus = %s" % _q(hvp["cpu_mask"]))
        if int(hvp.get("cpu_cap") or 0):
            lines.append("cap = %d" % int(hvp["cpu_cap"]))
        if hvp.get("cpu_weight"):
            lines.append("weight = %d" % int(hvp["cpu_weight"]))
        if hvp.get("cpuid"):
            lines.append("cpuid = %s" % _q(hvp["cpuid"]))
        disks = self._disk_lines(instance, block_devices) + (extra_disks or [])
        lines.append("disk = [%s]" % ", ".join(_q(d) for d in disks))
        lines.append("on_poweroff = 'destroy'")
        lines.append("on_reboot = %s" % _q("destroy" if hvp.get("reboot_behavior") == "exit"
                                           else "restart"))
        lines.append("on_crash = 'restart'")
        return lines

    def build_config(self, instance: dict, block_devices: list) -> str:
        raise NotImplementedError

    # --------------------------------------------------------------- lifecycle
    def start_instance(self, instance: dict, block_devices: list[tuple[dict, str, str | None]],
                       startup_paused: bool) -> None:
        name = instance["name"]
        if self.get_instance_info(name) is not None:
            raise errors.HypervisorError("Failed to start instance %s: already running" % name)
        self.check_parameter_syntax(instance.get("hvparams") or {})
        os.makedirs(self.config_dir, mode=0o755, exist_ok=True)
        io.write_file_atomic(self.config_path(name), self.build_config(instance, block_devices),
                             mode=0o644)
        args = ["create"] + (["-p"] if startup_paused else []) + [self.config_path(name)]
        res = self._xl(*args, check=False)
        if res.returncode != 0:
            raise errors.HypervisorError("Failed to start instance %s: %s"
                                         % (name, (res.stderr or res.stdout).strip()))

    def stop_instance(self, instance: dict, force: bool = False, timeout: int = 120) -> None:
        name = instance["name"]
        if self.get_instance_info(name) is None:
            self.cleanup_instance(name)
            return
        if not force:
            try:
                self._xl("shutdown", "-w", name, check=False, timeout=timeout)
            except errors.HypervisorError:
                pass  # timed out: destroy below
        if self.get_instance_info(name) is not None:
            res = self._xl("destroy", name, check=False)
            if res.returncode != 0 and self.get_instance_info(name) is not None:
                raise errors.HypervisorError("Failed to stop instance %s: %s"
                                             % (name, res.stderr.strip()))
        self.cleanup_instance(name)

    def reboot_instance(self, instance: dict) -> None:
        name = instance["name"]
        if self.get_instance_info(name) is None:
            raise errors.HypervisorError("Failed to reboot instance %s: not running" % name)
        self._xl("reboot", name)

    def cleanup_instance(self, instance_name: str) -> None:
        io.remove_file(self.config_path(instance_name))

    # -------------------------------------------------------------------- info
    def _list(self, name: str | None = None) -> dict[str, dict] | None:
        res = self._xl("list", *([name] if name else []), check=False)
        if res.returncode != 0:
            if name is not None:
                return None
            raise errors.HypervisorError("xl list failed: %s" % res.stderr.strip())
        return parse_xl_list(res.stdout)

    @staticmethod
    def _public(dom: dict) -> dict:
        return {"memory": dom["memory"], "vcpus": dom["vcpus"], "state": dom["state"],
                "time": int(dom["time"])}

    def get_instance_info(self, instance_name: str, hvparams: dict | None = None) -> dict | None:
        doms = self._list(instance_name)
        if not doms or instance_name not in doms:
            return None
        return self._public(doms[instance_name])

    def get_all_instances_info(self, hvparams: dict | None = None) -> dict[str, dict]:
        return {n: self._public(d) for n, d in (self._list() or {}).items() if n != DOM0_NAME}

    def list_instances(self, hvparams: dict | None = None) -> list[str]:
        return sorted(self.get_all_instances_info(hvparams))

    def get_node_info(self, hvparams: dict | None = None) -> dict:
        info = parse_xl_info(self._xl("info").stdout)
        doms = self._list() or {}
        dom0 = doms.get(DOM0_NAME, {"memory": 0, "vcpus": 0})
        cpus = int(info.get("nr_cpus", 1))
        per_socket = max(int(info.get("cores_per_socket", 1)) *
                         int(info.get("threads_per_core", 1)), 1)
        return {"memory_total": int(info.get("total_memory", 0)),
                "memory_free": int(info.get("free_memory", 0)),
                "memory_dom0": dom0["memory"], "cpu_total": cpus,
                "cpu_nodes": int(info.get("nr_nodes", 1)),
                "cpu_sockets": max(cpus // per_socket, 1), "cpu_dom0": dom0["vcpus"],
                "hv_version": self._version(info)}

    @staticmethod
    def _version(info: dict[str, str]) -> str:
        if "xen_major" in info:
            return "%s.%s%s" % (info["xen_major"], info.get("xen_minor", "0"),
                                info.get("xen_extra", ""))
        return "unknown"

    def get_version(self) -> str:
        try:
            return self._version(parse_xl_info(self._xl("info").stdout))
        except errors.HypervisorError:
            return "unknown"

    def verify(self, hvparams: dict | None = None) -> str | None:
        try:
            self._xl("info", timeout=30)
        except errors.HypervisorError as err:
            return "xl info failed: %s" % err
        return None

    @classmethod
    def get_instance_console(cls, instance: dict, primary_node: dict, node_group: dict,
                             hvparams: dict, beparams: dict) -> dict:
        return cls._console_ssh(instance, primary_node,
                                [xl_command(), "console", instance["name"]])


class XenPvmHypervisor(XenHypervisor):
    """Paravirtual guests: kernel from dom0 or a bootloader (pygrub)."""

    NAME = "xen-pvm"
    PARAMETERS = dict(_xen_common_params(), **{
        "use_bootloader": base.opt_bool(),
        "bootloader_path": base.opt_str(),
        "bootloader_args": base.opt_str(),
        "kernel_path": base.opt_file(),
        "initrd_path": base.opt_file(),
        "root_path": base.opt_str(),
        "kernel_args": base.opt_str(),
    })

    @classmethod
    def _check_parameter_combinations(cls, hvparams: dict) -> None:
        if not to_bool(hvparams.get("use_bootloader", False)) and \
                "kernel_path" in hvparams and not hvparams["kernel_path"]:
            raise errors.HypervisorError(
                "Invalid hypervisor parameter 'kernel_path': required without a bootloader")
        if to_bool(hvparams.get("use_bootloader", False)) and not hvparams.get("bootloader_path"):
            raise errors.HypervisorError(
                "Invalid hypervisor parameter 'bootloader_path': required with use_bootloader")

    def build_config(self, instance: dict, block_devices: list) -> str:
        hvp = instance.get("hvparams") or {}
        lines = ["# Xen PV config of %s, written by Ganeti" % instance["name"], "type = 'pv'"]
        if to_bool(hvp.get("use_bootloader", False)):
            lines.append("bootloader = %s" % _q(hvp["bootloader_path"]))
            if hvp.get("bootloader_args"):
                lines.append("bootloader_args = %s" % _q(hvp["bootloader_args"]))
        else:
            lines.append("kernel = %s" % _q(hvp.get("kernel_path", "")))
            if hvp.get("initrd_path"):
                lines.append("ramdisk = %s" % _q(hvp["initrd_path"]))
            if hvp.get("root_path"):
                lines.append("root = %s" % _q(hvp["root_path"]))
            if hvp.get("kernel_args"):
                lines.append("extra = %s" % _q(hvp["kernel_args"]))
        lines += self._common_config(instance, block_devices)
        lines.append("vif = [%s]" % ", ".join(_q(v) for v in self._vif_lines(instance)))
        return "\n".join(lines) + "\n"


class XenHvmHypervisor(XenHypervisor):
    """Fully virtualized guests with a device model and VNC."""

    NAME = "xen-hvm"
    PARAMETERS = dict(_xen_common_params(), **{
        "boot_order": (False, lambda v: isinstance(v, str) and v != "" and
                       set(v) <= set("acdn"), "must be letters from a, c, d, n", None, None),
        "cdrom_image_path": base.opt_file(),
        "nic_type": base.opt_enum(("e1000", "ne2k_isa", "ne2k_pci", "paravirtual", "rtl8139")),
        "disk_type": base.opt_enum(("ioemu", "paravirtual")),
        "vnc_bind_address": (False, base.is_ip_or_empty, "must be an IP address", None, None),
        "vnc_password_file": base.opt_file(),
        "acpi": base.opt_bool(),
        "pae": base.opt_bool(),
        "kernel_path": base.opt_file(),
        "device_model": base.opt_str(),
        "use_localtime": base.opt_bool(),
        "pci_pass": base.opt_str(),
        "vif_type": base.opt_enum(("ioemu", "vif")),
        "viridian": base.opt_bool(),
    })

    def build_config(self, instance: dict, block_devices: list) -> str:
        hvp = instance.get("hvparams") or {}
        lines = ["# Xen HVM config of %s, written by Ganeti" % instance["name"], "type = 'hvm'",
                 "boot = %s" % _q(hvp.get("boot_order") or "cd"),
                 "acpi = %d" % int(to_bool(hvp.get("acpi", True))),
                 "pae = %d" % int(to_bool(hvp.get("pae", True))),
                 "viridian = %d" % int(to_bool(hvp.get("viridian", False))),
                 "localtime = %d" % int(to_bool(hvp.get("use_localtime", False))),
                 "serial = 'pty'"]
        if hvp.get("vnc_bind_address"):
            lines += ["vnc = 1", "vnclisten = %s" % _q(hvp["vnc_bind_address"])]
            if instance.get("network_port"):
                lines.append("vncdisplay = %d" % (int(instance["network_port"]) - 5900))
            lines.append("vncunused = 0")
        else:
            lines.append("vnc = 0")
        cdrom = ["file:%s,hdc:cdrom,r" % hvp["cdrom_image_path"]] \
            if hvp.get("cdrom_image_path") else []
        lines += self._common_config(instance, block_devices, cdrom)
        nic_type = hvp.get("nic_type") or "rtl8139"
        extra = "" if nic_type == "paravirtual" else "model=%s" % nic_type
        if hvp.get("vif_type") == "ioemu" and nic_type != "paravirtual":
            extra += ",type=ioemu"
        lines.append("vif = [%s]" % ", ".join(_q(v) for v in self._vif_lines(instance, extra)))
        if hvp.get("pci_pass"):
            lines.append("pci = [%s]" % ", ".join(_q(p) for p in hvp["pci_pass"].split(";")))
        return "\n".join(lines) + "\n"

    @classmethod
    def get_instance_console(cls, instance: dict, primary_node: dict, node_group: dict,
                             hvparams: dict, beparams: dict) -> dict:
        """Serial (pty) console over ssh; VNC users read network_port from info."""
        return super().get_instance_console(instance, primary_node, node_group, hvparams,
                                            beparams)
