"""Driver lookup and the table-driven parameter checks of all drivers."""

from __future__ import annotations

import copy

import pytest

from ganeti import constants, errors
from ganeti.hypervisor import HYPERVISOR_CLASSES, base, get_hypervisor


def test_lookup_and_cache():
    assert set(HYPERVISOR_CLASSES) == set(constants.HYPER_TYPES)
    for name in constants.HYPER_TYPES:
        hv = get_hypervisor(name)
        assert isinstance(hv, base.BaseHypervisor)
        assert hv is get_hypervisor(name)
        assert isinstance(hv, HYPERVISOR_CLASSES[name])
    with pytest.raises(errors.HypervisorError, match="Unknown hypervisor"):
        get_hypervisor("vmware")


@pytest.mark.parametrize("name", sorted(constants.HYPER_TYPES))
def test_defaults_are_valid_and_complete(name):
    cls = HYPERVISOR_CLASSES[name]
    defaults = copy.deepcopy(constants.HVC_DEFAULTS[name])
    assert set(defaults) <= set(cls.PARAMETERS), set(defaults) - set(cls.PARAMETERS)
    if name == "xen-pvm":
        defaults["kernel_path"] = "/boot/vmlinuz"
    cls.check_parameter_syntax(defaults)
    cls.check_parameter_syntax({})  # nothing given: only required ones could fail


@pytest.mark.parametrize("name", sorted(constants.HYPER_TYPES))
def test_unknown_parameter(name):
    with pytest.raises(errors.HypervisorError, match="Unknown hypervisor parameter 'bogus'"):
        HYPERVISOR_CLASSES[name].check_parameter_syntax({"bogus": 1})


@pytest.mark.parametrize("params,pattern", [
    ({"nic_type": "virtio"}, "nic_type"),
    ({"disk_cache": "sometimes"}, "disk_cache"),
    ({"acpi": "maybe"}, "acpi"),
    ({"kernel_path": "relative/vmlinuz"}, "kernel_path"),
    ({"kvm_path": ""}, "kvm_path"),
    ({"serial_speed": "fast"}, "serial_speed"),
    ({"security_model": "user"}, "security_domain"),
    ({"security_model": "none", "security_domain": "nobody"}, "security_domain"),
    ({"boot_order": "cdrom"}, "boot_order"),
    ({"initrd_path": "/boot/initrd"}, "initrd_path"),
    ({"virtio_net_queues": 0}, "virtio_net_queues"),
])
def test_kvm_invalid(params, pattern):
    with pytest.raises(errors.HypervisorError, match="Invalid hypervisor parameter '%s'" % pattern):
        HYPERVISOR_CLASSES["kvm"].check_parameter_syntax(params)


def test_kvm_valid_variants():
    cls = HYPERVISOR_CLASSES["kvm"]
    cls.check_parameter_syntax({"acpi": "true", "serial_speed": "115200",
                                "security_model": "user", "security_domain": "nobody",
                                "cdrom_image_path": "http://example.com/x.iso",
                                "boot_order": "cdrom"})


def test_node_side_validation(tmp_path):
    kvm = HYPERVISOR_CLASSES["kvm"](run_dir=str(tmp_path))
    with pytest.raises(errors.HypervisorError, match="kernel_path.*does not exist"):
        kvm.validate_parameters({"kvm_path": "/bin/true", "kernel_path": str(tmp_path / "nope")})
    with pytest.raises(errors.HypervisorError, match="kvm_path.*not an executable"):
        kvm.validate_parameters({"kvm_path": str(tmp_path)})
    kernel = tmp_path / "vmlinuz"
    kernel.write_bytes(b"x")
    kvm.validate_parameters({"kvm_path": "/bin/true", "kernel_path": str(kernel)})


def test_xen_and_others_invalid():
    with pytest.raises(errors.HypervisorError, match="boot_order"):
        HYPERVISOR_CLASSES["xen-hvm"].check_parameter_syntax({"boot_order": "xyz"})
    with pytest.raises(errors.HypervisorError, match="kernel_path"):
        HYPERVISOR_CLASSES["xen-pvm"].check_parameter_syntax({"kernel_path": ""})
    with pytest.raises(errors.HypervisorError, match="init_script"):
        HYPERVISOR_CLASSES["chroot"].check_parameter_syntax({"init_script": "x"})
    with pytest.raises(errors.HypervisorError, match="num_ttys"):
        HYPERVISOR_CLASSES["lxc"].check_parameter_syntax({"num_ttys": -1})
    with pytest.raises(errors.HypervisorError, match="migration_mode"):
        HYPERVISOR_CLASSES["fake"].check_parameter_syntax({"migration_mode": "teleport"})


def test_node_info_shape():
    info = get_hypervisor("fake").get_node_info()
    for key in ("memory_total", "memory_free", "memory_dom0", "cpu_total", "cpu_nodes",
                "cpu_sockets", "cpu_dom0", "hv_version"):
        assert key in info
    assert info["memory_total"] > 0 and info["cpu_total"] >= 1


def test_process_alive():
    import os
    assert base.process_alive(os.getpid())
    assert not base.process_alive(2 ** 22 + 7)
