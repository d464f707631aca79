"""qemu command line construction from hvparams (pure function)."""

from __future__ import annotations

import copy

import pytest

from ganeti import constants, errors
from ganeti.hypervisor import hv_kvm
from ganeti.hypervisor import hv_kvm_cmd as kcmd

PATHS = hv_kvm.ctrl_paths("/run/kvm", "web1")


def make(**hv):
    hvp = copy.deepcopy(constants.HVC_DEFAULTS["kvm"])
    hvp.update(kernel_path="/k/vmlinuz", initrd_path="/k/initrd.img", root_path="/dev/vda")
    hvp.update(hv)
    nics = [{"mac": "aa:00:00:00:00:01", "nicparams": {"mode": "bridged", "link": "br0"}},
            {"mac": "aa:00:00:00:00:02", "nicparams": {"mode": "routed", "link": ""}}]
    disks = [({"mode": "rw"}, "/dev/loop0", None), ({"mode": "ro"}, "/srv/d1", None)]
    inst = {"name": "web1", "uuid": "u-1", "hvparams": hvp, "nics": nics,
            "beparams": {"maxmem": 512, "vcpus": 2}, "network_port": 5907}
    return inst, disks


def build(paused=False, **hv):
    inst, disks = make(**hv)
    return kcmd.build_command(inst, disks, [7, 8], PATHS, paused)


def opt_after(argv, flag):
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def test_defaults():
    argv = build()
    assert argv[0] == "/usr/bin/qemu-system-x86_64"
    assert opt_after(argv, "-accel") == ["tcg"] and "-enable-kvm" not in argv
    assert opt_after(argv, "-m") == ["512"] and opt_after(argv, "-smp") == ["2"]
    assert opt_after(argv, "-name") == ["web1"] and opt_after(argv, "-uuid") == ["u-1"]
    assert opt_after(argv, "-kernel") == ["/k/vmlinuz"]
    assert opt_after(argv, "-initrd") == ["/k/initrd.img"]
    assert opt_after(argv, "-append") == ["root=/dev/vda ro console=ttyS0"]
    drives = opt_after(argv, "-drive")
    assert drives[0] == "file=/dev/loop0,format=raw,aio=threads,if=virtio"
    assert drives[1] == "file=/srv/d1,format=raw,aio=threads,readonly=on,if=virtio"
    assert opt_after(argv, "-netdev") == ["tap,id=hostnet0,fd=7,vhost=off",
                                          "tap,id=hostnet1,fd=8,vhost=off"]
    assert opt_after(argv, "-device")[0] == \
        "virtio-net-pci,netdev=hostnet0,id=nic0,mac=aa:00:00:00:00:01"
    assert opt_after(argv, "-serial") == ["unix:/run/kvm/ctrl/web1.serial,server,nowait"]
    assert opt_after(argv, "-qmp") == ["unix:/run/kvm/ctrl/web1.qmp,server,nowait"]
    assert opt_after(argv, "-monitor") == ["unix:/run/kvm/ctrl/web1.monitor,server,nowait"]
    assert opt_after(argv, "-pidfile") == ["/run/kvm/pid/web1"]
    assert "-daemonize" in argv and "-S" not in argv
    assert opt_after(argv, "-display") == ["none"] and "-vnc" not in argv
    assert "-machine" not in argv and "-boot" not in argv


def test_variants():
    argv = build(paused=True, kvm_flag="enabled", acpi=False, machine_version="pc-q35-7.2",
                 cpu_type="host", use_localtime=True, disk_cache="writeback",
                 disk_type="ide", nic_type="e1000", serial_console=False,
                 vnc_bind_address="127.0.0.1", security_model="user",
                 security_domain="nobody", use_chroot=True, kvm_extra="-foo bar",
                 disk_discard="unmap", reboot_behavior="exit", cpu_sockets=1, cpu_cores=2)
    assert "-enable-kvm" in argv and "-accel" not in argv
    assert opt_after(argv, "-machine") == ["pc-q35-7.2,acpi=off"]
    assert opt_after(argv, "-cpu") == ["host"]
    assert opt_after(argv, "-smp") == ["2,sockets=1,cores=2"]
    assert opt_after(argv, "-rtc") == ["base=localtime"]
    assert opt_after(argv, "-drive")[0] == \
        "file=/dev/loop0,format=raw,cache=writeback,aio=threads,discard=unmap,if=ide,index=0"
    assert opt_after(argv, "-device")[0].startswith("e1000,netdev=hostnet0")
    assert opt_after(argv, "-netdev")[0] == "tap,id=hostnet0,fd=7"
    assert opt_after(argv, "-serial") == ["none"]
    assert opt_after(argv, "-append") == ["root=/dev/vda ro"]
    assert opt_after(argv, "-vnc") == ["127.0.0.1:7"] and opt_after(argv, "-vga") == ["std"]
    assert opt_after(argv, "-runas") == ["nobody"]
    assert opt_after(argv, "-chroot") == ["/run/kvm/chroot/web1"]
    assert "-S" in argv and "-no-reboot" in argv
    assert argv[-2:] == ["-foo", "bar"]


def test_boot_from_disk_and_cdrom():
    argv = build(kernel_path="", initrd_path="", boot_order="cdrom",
                 cdrom_image_path="/iso/x.iso")
    assert "-kernel" not in argv and "-append" not in argv
    assert opt_after(argv, "-boot") == ["order=d"]
    assert "file=/iso/x.iso,media=cdrom,if=ide,readonly=on" in opt_after(argv, "-drive")


def test_scsi_disks():
    argv = build(disk_type="scsi-hd", scsi_controller_type="virtio-scsi-pci")
    devices = opt_after(argv, "-device")
    assert devices[0] == "virtio-scsi-pci,id=scsi"
    assert "scsi-hd,drive=disk0,bus=scsi.0" in devices
    assert opt_after(argv, "-drive")[0].endswith("if=none,id=disk0")


def test_errors():
    inst, disks = make(vnc_bind_address="0.0.0.0")
    inst["network_port"] = 0
    with pytest.raises(errors.HypervisorError, match="network port"):
        kcmd.build_command(inst, disks, [7, 8], PATHS, False)
    inst, disks = make(security_model="pool")
    with pytest.raises(errors.HypervisorError, match="pool"):
        kcmd.build_command(inst, disks, [7, 8], PATHS, False)


def test_kernel_cmdline():
    assert kcmd.kernel_cmdline({"root_path": "/dev/vda1", "kernel_args": "ro quiet",
                                "serial_console": True}) == \
        "root=/dev/vda1 ro quiet console=ttyS0"
    assert kcmd.kernel_cmdline({"root_path": "", "kernel_args": "",
                                "serial_console": False}) == ""
