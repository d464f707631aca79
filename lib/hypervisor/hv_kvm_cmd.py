"""KVM parameter table and qemu command line construction.

Kept apart from the process handling so the command line can be unit
tested as a pure function of (instance, disks, tap fds, paths).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass

from ganeti import errors
from ganeti.hypervisor import base
from ganeti.hypervisor.base import to_bool

NIC_TYPES = ("rtl8139", "ne2k_isa", "ne2k_pci", "i82551", "i82557b", "i82559er",
             "pcnet", "e1000", "paravirtual")
DISK_TYPES = ("paravirtual", "ide", "scsi", "sd", "mtd", "pflash", "scsi-generic",
              "scsi-block", "scsi-hd", "scsi-cd")
SCSI_DEVICE_TYPES = ("scsi-generic", "scsi-block", "scsi-hd", "scsi-cd")
BOOT_ORDERS = {"floppy": "a", "cdrom": "d", "disk": "c", "network": "n"}


def _vnc_bind_ok(value: object) -> bool:
    # an IP address, an interface name, or a unix socket path
    return isinstance(value, str) and (base.is_ip_or_empty(value) or os.path.isabs(value)
                                       or (value.isprintable() and " " not in value))


def _image_ok(value: object) -> bool:
    return isinstance(value, str) and (value == "" or os.path.isabs(value)
                                       or "://" in value)


PARAMETERS: dict[str, tuple] = {
    "kvm_path": base.req_executable(),
    "kernel_path": base.opt_file(),
    "initrd_path": base.opt_file(),
    "kernel_args": base.opt_str(),
    "root_path": base.opt_str(),
    "acpi": base.opt_bool(),
    "serial_console": base.opt_bool(),
    "serial_speed": base.opt_nonneg_int(),
    "vnc_bind_address": (False, _vnc_bind_ok, "must be an IP address, interface or path",
                         None, None),
    "vnc_tls": base.opt_bool(),
    "vnc_x509_path": (False, base.is_abs_path_or_empty, "must be an absolute path",
                      lambda v: v == "" or os.path.isdir(v), "directory does not exist"),
    "vnc_x509_verify": base.opt_bool(),
    "vnc_password_file": base.opt_file(),
    "spice_bind": base.opt_str(),
    "spice_ip_version": (False, base.in_set((0, 4, 6, "0", "4", "6")),
                         "must be 0, 4 or 6", None, None),
    "spice_password_file": base.opt_file(),
    "spice_image_compression": base.opt_str(),
    "spice_jpeg_wan_compression": base.opt_str(),
    "spice_zlib_glz_wan_compression": base.opt_str(),
    "spice_streaming_video": base.opt_str(),
    "spice_playback_compression": base.opt_bool(),
    "spice_use_tls": base.opt_bool(),
    "spice_tls_ciphers": base.opt_str(),
    "spice_use_vdagent": base.opt_bool(),
    "boot_order": base.opt_enum(tuple(BOOT_ORDERS)),
    "cdrom_image_path": (False, _image_ok, "must be an absolute path or URL", None, None),
    "cdrom2_image_path": (False, _image_ok, "must be an absolute path or URL", None, None),
    "floppy_image_path": base.opt_file(),
    "nic_type": base.opt_enum(NIC_TYPES),
    "disk_type": base.opt_enum(DISK_TYPES),
    "cdrom_disk_type": (False, base.in_set(("",) + DISK_TYPES),
                        "must be empty or a disk type", None, None),
    "scsi_controller_type": base.opt_enum(("lsi", "megasas", "virtio-scsi-pci", "dc390")),
    "kvm_pci_reservations": base.opt_nonneg_int(),
    "disk_cache": base.opt_enum(("default", "none", "writethrough", "writeback")),
    "disk_aio": base.opt_enum(("threads", "native", "io_uring")),
    "disk_discard": base.opt_enum(("default", "ignore", "unmap")),
    "usb_mouse": base.opt_enum(("", "mouse", "tablet")),
    "keymap": base.opt_str(),
    "migration_port": base.opt_nonneg_int(),
    "migration_bandwidth": base.opt_nonneg_int(),
    "migration_downtime": base.opt_nonneg_int(),
    "migration_mode": base.opt_enum(("live", "non-live")),
    "migration_caps": base.opt_str(),
    "use_localtime": base.opt_bool(),
    "use_guest_agent": base.opt_bool(),
    "security_model": base.opt_enum(("none", "user", "pool")),
    "security_domain": base.opt_str(),
    "kvm_flag": base.opt_enum(("", "enabled", "disabled")),
    "vhost_net": base.opt_bool(),
    "vnet_hdr": base.opt_bool(),
    "virtio_net_queues": (False, lambda v: base.is_int(v) and 1 <= int(v) <= 8,
                          "must be an integer between 1 and 8", None, None),
    "use_chroot": base.opt_bool(),
    "user_shutdown": base.opt_bool(),
    "mem_path": (False, base.is_abs_path_or_empty, "must be an absolute path",
                 lambda v: v == "" or os.path.isdir(v), "directory does not exist"),
    "reboot_behavior": base.opt_enum(("reboot", "exit")),
    "cpu_mask": base.opt_str(),
    "cpu_type": base.opt_str(),
    "cpu_cores": base.opt_nonneg_int(),
    "cpu_threads": base.opt_nonneg_int(),
    "cpu_sockets": base.opt_nonneg_int(),
    "soundhw": base.opt_str(),
    "usb_devices": base.opt_str(),
    "vga": base.opt_str(),
    "kvm_extra": base.opt_str(),
    "machine_version": base.opt_str(),
}


def check_combinations(hvparams: dict) -> None:
    """Rules spanning several parameters (master side, pure)."""
    model = hvparams.get("security_model", "none")
    domain = hvparams.get("security_domain", "")
    if model == "user" and not domain:
        raise errors.HypervisorError(
            "Invalid hypervisor parameter 'security_domain': required when"
            " security_model is 'user'")
    if model != "user" and domain:
        raise errors.HypervisorError(
            "Invalid hypervisor parameter 'security_domain': only valid when"
            " security_model is 'user'")
    if hvparams.get("boot_order") == "cdrom" and not hvparams.get("cdrom_image_path"):
        raise errors.HypervisorError(
            "Invalid hypervisor parameter 'boot_order': 'cdrom' needs cdrom_image_path")
    if hvparams.get("boot_order") == "floppy" and not hvparams.get("floppy_image_path"):
        raise errors.HypervisorError(
            "Invalid hypervisor parameter 'boot_order': 'floppy' needs floppy_image_path")
    if hvparams.get("initrd_path") and not hvparams.get("kernel_path"):
        raise errors.HypervisorError(
            "Invalid hypervisor parameter 'initrd_path': needs kernel_path")
    if to_bool(hvparams.get("vnc_tls", False)) and not hvparams.get("vnc_bind_address"):
        raise errors.HypervisorError(
            "Invalid hypervisor parameter 'vnc_tls': needs vnc_bind_address")
    if hvparams.get("security_model") == "pool":
        pass  # the uid pool is a cluster setting; the node rejects it at start


@dataclass
class KvmPaths:
    """Per-instance runtime paths (spec section 3 layout)."""
    pidfile: str
    qmp: str
    monitor: str
    serial: str
    qga: str
    chroot: str


def kernel_cmdline(hvparams: dict) -> str:
    """``root=<root_path> <kernel_args>`` plus the serial console."""
    parts = []
    if hvparams.get("root_path"):
        parts.append("root=%s" % hvparams["root_path"])
    if hvparams.get("kernel_args"):
        parts.append(str(hvparams["kernel_args"]))
    if to_bool(hvparams.get("serial_console", False)):
        parts.append("console=ttyS0")
    return " ".join(parts)


def _drive_opts(hvp: dict) -> list[str]:
    opts = []
    cache = hvp.get("disk_cache", "default")
    if cache and cache != "default":
        opts.append("cache=%s" % cache)
    aio = hvp.get("disk_aio", "threads")
    if aio:
        opts.append("aio=%s" % aio)
    discard = hvp.get("disk_discard", "default")
    if discard and discard != "default":
        opts.append("discard=%s" % discard)
    return opts


def _disk_args(hvp: dict, block_devices: list) -> list[str]:
    args: list[str] = []
    disk_type = hvp.get("disk_type", "paravirtual") or "paravirtual"
    extra = _drive_opts(hvp)
    scsi_ctrl = False
    for idx, (disk, path, uri) in enumerate(block_devices):
        target = uri or path
        opts = ["file=%s" % target, "format=raw"] + extra
        if (disk or {}).get("mode", "rw") == "ro":
            opts.append("readonly=on")
        if disk_type in SCSI_DEVICE_TYPES:
            if not scsi_ctrl:
                args += ["-device", "%s,id=scsi" % hvp.get("scsi_controller_type", "lsi")]
                scsi_ctrl = True
            opts += ["if=none", "id=disk%d" % idx]
            args += ["-drive", ",".join(opts),
                     "-device", "%s,drive=disk%d,bus=scsi.0" % (disk_type, idx)]
        else:
            iface = "virtio" if disk_type == "paravirtual" else disk_type
            opts.append("if=%s" % iface)
            if idx == 0 and iface != "virtio" and hvp.get("boot_order") == "disk":
                opts.append("index=0")
            args += ["-drive", ",".join(opts)]
    for key in ("cdrom_image_path", "cdrom2_image_path"):
        if hvp.get(key):
            ctype = hvp.get("cdrom_disk_type") or "ide"
            if ctype == "paravirtual":
                ctype = "virtio"
            args += ["-drive", "file=%s,media=cdrom,if=%s,readonly=on" % (hvp[key], ctype)]
    if hvp.get("floppy_image_path"):
        args += ["-drive", "file=%s,if=floppy,format=raw" % hvp["floppy_image_path"]]
    return args


def _nic_args(hvp: dict, nics: list[dict], tap_fds: list[int]) -> list[str]:
    args: list[str] = []
    nic_type = hvp.get("nic_type", "paravirtual") or "paravirtual"
    device = "virtio-net-pci" if nic_type == "paravirtual" else nic_type
    vhost = "on" if to_bool(hvp.get("vhost_net", False)) else "off"
    for idx, (nic, fd) in enumerate(zip(nics, tap_fds, strict=True)):
        netdev = "tap,id=hostnet%d,fd=%d" % (idx, fd)
        if nic_type == "paravirtual":
            netdev += ",vhost=%s" % vhost
        dev = "%s,netdev=hostnet%d,id=nic%d" % (device, idx, idx)
        if nic.get("mac"):
            dev += ",mac=%s" % nic["mac"]
        args += ["-netdev", netdev, "-device", dev]
    return args


def _display_args(hvp: dict, instance: dict) -> list[str]:
    args: list[str] = []
    bind = hvp.get("vnc_bind_address", "")
    graphics = False
    if bind:
        graphics = True
        if os.path.isabs(bind):
            vnc = "unix:%s" % bind
        else:
            port = int(instance.get("network_port") or 0)
            if port < 5900:
                raise errors.HypervisorError(
                    "Instance %s has VNC enabled but no network port >= 5900"
                    % instance["name"])
            vnc = "%s:%d" % (bind, port - 5900)
        if to_bool(hvp.get("vnc_tls", False)):
            vnc += ",tls-creds=vnctls0"
        if hvp.get("vnc_password_file"):
            vnc += ",password=on"
        args += ["-vnc", vnc]
    if hvp.get("spice_bind"):
        graphics = True
        port = int(instance.get("network_port") or 0)
        args += ["-spice", "addr=%s,port=%d,disable-ticketing=on" % (hvp["spice_bind"], port)]
    if hvp.get("vga"):
        args += ["-vga", hvp["vga"]]
    elif graphics:
        args += ["-vga", "std"]
    if not graphics:
        args += ["-display", "none"]
    if hvp.get("keymap"):
        args += ["-k", hvp["keymap"]]
    if hvp.get("usb_mouse"):
        args += ["-usb", "-device", "usb-%s" % hvp["usb_mouse"]]
    return args


def _cpu_args(hvp: dict, vcpus: int) -> list[str]:
    smp = str(vcpus)
    for key, name in (("cpu_sockets", "sockets"), ("cpu_cores", "cores"),
                      ("cpu_threads", "threads")):
        if int(hvp.get(key) or 0) > 0:
            smp += ",%s=%d" % (name, int(hvp[key]))
    args = ["-smp", smp]
    if hvp.get("cpu_type"):
        args += ["-cpu", hvp["cpu_type"]]
    return args


def build_command(instance: dict, block_devices: list, tap_fds: list[int],
                  paths: KvmPaths, startup_paused: bool) -> list[str]:
    """The complete qemu argv for ``instance``.

    ``tap_fds`` are the descriptors qemu inherits, one per NIC in order.
    """
    hvp = instance.get("hvparams") or {}
    name = instance["name"]
    args = [hvp.get("kvm_path") or "/usr/bin/qemu-system-x86_64"]
    if hvp.get("kvm_flag") == "enabled":
        args.append("-enable-kvm")
    else:
        args += ["-accel", "tcg"]
    args += ["-name", name, "-nodefaults", "-no-user-config"]
    if instance.get("uuid"):
        args += ["-uuid", instance["uuid"]]
    machine = []
    if hvp.get("machine_version"):
        machine.append(hvp["machine_version"])
    if not to_bool(hvp.get("acpi", True)):
        machine.append("acpi=off")
    if machine:
        args += ["-machine", ",".join(machine)]
    args += ["-m", str(base.instance_memory(instance))]
    args += _cpu_args(hvp, base.instance_vcpus(instance))
    if hvp.get("mem_path"):
        args += ["-mem-path", hvp["mem_path"]]
    if hvp.get("kernel_path"):
        args += ["-kernel", hvp["kernel_path"]]
        if hvp.get("initrd_path"):
            args += ["-initrd", hvp["initrd_path"]]
        args += ["-append", kernel_cmdline(hvp)]
    boot = hvp.get("boot_order", "disk") or "disk"
    if not hvp.get("kernel_path") or boot != "disk":
        args += ["-boot", "order=%s" % BOOT_ORDERS.get(boot, "c")]
    args += _disk_args(hvp, block_devices)
    args += _nic_args(hvp, instance.get("nics") or [], tap_fds)
    args += _display_args(hvp, instance)
    if to_bool(hvp.get("serial_console", False)):
        args += ["-serial", "unix:%s,server,nowait" % paths.serial]
    else:
        args += ["-serial", "none"]
    if to_bool(hvp.get("use_localtime", False)):
        args += ["-rtc", "base=localtime"]
    if hvp.get("reboot_behavior") == "exit":
        args.append("-no-reboot")
    if to_bool(hvp.get("use_guest_agent", False)):
        args += ["-chardev", "socket,path=%s,server=on,wait=off,id=qga0" % paths.qga,
                 "-device", "virtio-serial",
                 "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0"]
    if hvp.get("soundhw"):
        args += ["-device", hvp["soundhw"]]
    for dev in (hvp.get("usb_devices") or "").split():
        args += ["-usbdevice", dev]
    model = hvp.get("security_model", "none")
    if model == "user":
        args += ["-runas", hvp["security_domain"]]
    elif model == "pool":
        raise errors.HypervisorError("security_model 'pool' is not supported on this node")
    if to_bool(hvp.get("use_chroot", False)):
        args += ["-chroot", paths.chroot]
    args += ["-monitor", "unix:%s,server,nowait" % paths.monitor,
             "-qmp", "unix:%s,server,nowait" % paths.qmp,
             "-daemonize", "-pidfile", paths.pidfile]
    if startup_paused:
        args.append("-S")
    if hvp.get("kvm_extra"):
        args += shlex.split(hvp["kvm_extra"])
    return args
