"""instance_utils: hook environment, MACs, policy and NIC/disk checks on the
Ganeti 3.0 reference configuration (loaded into a real ConfigWriter)."""

from __future__ import annotations

import copy
import os
import random
import shutil

import pytest

from ganeti import config, errors, objects
from ganeti import constants as C
from ganeti.cmdlib import instance_utils as iu

REF = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared",
                                    "reference", "ganeti-3.0"))
NODE1 = "5a7abf07-579a-45c6-95e3-fbabd8cbac10"
GROUP = "f519c630-23c6-47ee-aa10-2eb9fa59182c"


def ref_error(name: str) -> str:
    """The error detail line of a reference failure output."""
    with open(os.path.join(REF, "outputs", name)) as fh:
        lines = fh.read().splitlines()
    return lines[lines.index(next(x for x in lines if x.startswith("error type:"))) + 1]


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "config.data"
    shutil.copy(os.path.join(REF, "files", "config.data"), path)
    return config.ConfigWriter(path=str(path))


def by_name(cfg, name: str) -> objects.Instance:
    inst = cfg.get_instance_by_name(name)
    assert inst is not None
    return inst


def add_node(cfg, name: str) -> objects.Node:
    node = copy.deepcopy(cfg.data.nodes[NODE1])
    node.uuid = objects.new_uuid()
    node.name = name
    cfg.data.nodes[node.uuid] = node
    cfg.set_data(cfg.data)
    return node


# --- names and reference texts ----------------------------------------------------------

def test_existing_name_message_matches_reference(cfg):
    with pytest.raises(errors.OpPrereqError) as err:
        iu.check_instance_name_free(cfg, "inst1.example.com")
    assert err.value.args == (ref_error("error-instance-add-already-exists.txt"),
                              errors.ECODE_EXISTS)
    iu.check_instance_name_free(cfg, "brand-new.example.com")


def test_ipolicy_disk_too_small_matches_reference(cfg):
    bep = cfg.get_cluster_info().filled_beparams({"minmem": 128, "maxmem": 128})
    spec = iu.instance_spec(bep, [4], 1)
    with pytest.raises(errors.OpPrereqError) as err:
        iu.check_ipolicy(cfg, GROUP, spec, C.DT_FILE)
    assert err.value.args == (ref_error("error-instance-add-ipolicy-disk-too-small.txt"),
                              errors.ECODE_INVAL)


def test_ipolicy_ignored_warns_and_returns(cfg):
    warnings: list[str] = []
    spec = iu.instance_spec(cfg.get_cluster_info().filled_beparams(), [4], 1)
    got = iu.check_ipolicy(cfg, GROUP, spec, C.DT_FILE, ignore_ipolicy=True,
                           log_warning=warnings.append)
    assert got == ["disk-size/0 value 4 is not in range [1024, 1048576]"]
    assert len(warnings) == 1 and "violates policy" in warnings[0]


def test_routed_nic_without_ip_matches_reference(cfg):
    with pytest.raises(errors.OpPrereqError) as err:
        iu.check_nic_params(cfg.get_cluster_info(), {"mode": "routed"})
    assert err.value.args == (ref_error("error-instance-add-routed-nic-without-ip.txt"),
                              errors.ECODE_INVAL)


# --- instance policy ---------------------------------------------------------------------

def test_diskless_fits_default_policy_without_disk_count(cfg):
    ipolicy = iu.group_ipolicy(cfg, GROUP)
    spec = iu.instance_spec(cfg.get_cluster_info().filled_beparams(), [], 1)
    assert iu.compute_ipolicy_instance_spec_violation(ipolicy, spec, C.DT_DISKLESS) == []


def test_every_spec_is_checked():
    ipolicy = copy.deepcopy(C.IPOLICY_DEFAULTS)
    spec = {"memory-size": 64, "cpu-count": 9, "disk-count": 17, "disk-size": [2048] * 17,
            "nic-count": 0, "spindle-use": 13}
    got = iu.compute_ipolicy_instance_spec_violation(ipolicy, spec, C.DT_PLAIN)
    assert got == [
        "memory-size value 64 is not in range [128, 32768]",
        "cpu-count value 9 is not in range [1, 8]",
        "nic-count value 0 is not in range [1, 8]",
        "spindle-use value 13 is not in range [1, 12]",
        "disk-count value 17 is not in range [1, 16]",
    ]


def test_disallowed_templates():
    ipolicy = copy.deepcopy(C.IPOLICY_DEFAULTS)
    ipolicy["disk-templates"] = ["file"]
    spec = {"memory-size": 128, "cpu-count": 1, "disk-size": [], "nic-count": 1}
    assert iu.compute_ipolicy_instance_spec_violation(ipolicy, spec, C.DT_DISKLESS) == [
        "Disk template diskless is not allowed (allowed templates file)"]
    spec = {"memory-size": 128, "cpu-count": 1, "disk-size": [1024], "nic-count": 1}
    assert iu.compute_ipolicy_instance_spec_violation(ipolicy, spec, C.DT_PLAIN) == [
        "Disk template plain is not allowed (allowed templates: file)"]


def test_best_of_several_minmax_pairs_is_reported():
    ipolicy = copy.deepcopy(C.IPOLICY_DEFAULTS)
    small = {"min": {"memory-size": 128, "cpu-count": 1}, "max": {"memory-size": 256,
                                                                   "cpu-count": 1}}
    big = {"min": {"memory-size": 1024, "cpu-count": 2}, "max": {"memory-size": 4096,
                                                                  "cpu-count": 8}}
    ipolicy["minmax"] = [small, big]
    assert iu.compute_ipolicy_spec_violation(ipolicy, 2048, 4, 0, 1, [], None, []) == []
    assert iu.compute_ipolicy_spec_violation(ipolicy, 512, 1, 0, 1, [], None, []) == [
        "memory-size value 512 is not in range [128, 256]"]


def test_group_policy_overrides_cluster(cfg):
    cfg.data.nodegroups[GROUP].ipolicy = {"disk-templates": ["diskless"]}
    assert iu.group_ipolicy(cfg, GROUP)["disk-templates"] == ["diskless"]
    inst = by_name(cfg, "inst2.example.com")  # a file instance in the reference
    got = iu.compute_ipolicy_instance_violation(iu.group_ipolicy(cfg, GROUP), cfg, inst)
    assert got == ["Disk template file is not allowed (allowed templates: diskless)"]


# --- NICs --------------------------------------------------------------------------------

def test_nic_defaults_store_only_requested_params(cfg):
    cluster = cfg.get_cluster_info()
    assert iu.check_nic_params(cluster, {}) == {
        "mac": "auto", "ip": None, "network": None, "name": None, "nicparams": {}}
    got = iu.check_nic_params(cluster, {"mode": "routed", "ip": "192.0.2.5", "link": "100",
                                        "mac": "AA:00:00:12:34:56", "name": "eth0"})
    assert got == {"mac": "aa:00:00:12:34:56", "ip": "192.0.2.5", "network": None,
                   "name": "eth0", "nicparams": {"mode": "routed", "link": "100"}}


@pytest.mark.parametrize("nic, text", [
    ({"mode": "bogus"}, "Invalid NIC mode 'bogus'"),
    ({"ip": "300.1.1.1"}, "Invalid IP address '300.1.1.1'"),
    ({"ip": "pool"}, "if ip=pool, parameter network must be passed too"),
    ({"ip": "auto"}, "IP address set to auto but name checks have been skipped"),
    ({"mac": "aa:00:00:12:34"}, "Invalid MAC address 'aa:00:00:12:34'"),
    ({"bridge": "br1", "link": "br2"}, "Cannot pass 'bridge' and 'link' at the same time"),
    ({"vlan": "5"}, "VLAN is given, but network mode is not openvswitch"),
    ({"mode": "openvswitch", "vlan": "x5"}, "Specified VLAN parameter is invalid : x5"),
    ({"network": "nosuch"}, "Network 'nosuch' not found"),
    ({"network": "net1", "mode": "routed"},
     "If network is given, no mode or link is allowed to be passed"),
    ({"speed": 10}, "Unknown NIC parameter(s): speed"),
])
def test_nic_errors(cfg, nic, text):
    with pytest.raises(errors.OpPrereqError) as err:
        iu.check_nic_params(cfg.get_cluster_info(), nic)
    assert err.value.args[0] == text


def test_nic_bridged_needs_a_link(cfg):
    cluster = cfg.get_cluster_info()
    cluster.nicparams["default"]["link"] = ""
    with pytest.raises(errors.OpPrereqError, match="Missing bridged NIC link"):
        iu.check_nic_params(cluster, {})
    assert iu.check_nic_params(cluster, {"bridge": "br7"})["nicparams"] == {"link": "br7"}


def test_nic_network_and_pool(cfg):
    net = objects.Network(name="net1", network="192.0.2.0/24", mac_prefix="aa:11:22",
                          tags=["a", "b"])
    objects.stamp_new(net)
    cfg.data.networks[net.uuid] = net
    got = iu.check_nic_params(cfg.get_cluster_info(), {"network": "net1", "ip": "pool"},
                              networks=cfg.data.networks)
    assert got["network"] == net.uuid and got["ip"] == "pool"
    got = iu.check_nic_params(cfg.get_cluster_info(), {"mode": "routed", "ip": "auto"},
                              name_check=True, default_ip="192.0.2.9")
    assert got["ip"] == "192.0.2.9"


def test_vlan_forms():
    assert iu.check_vlan("5") == ".5"
    assert iu.check_vlan(".5:6:7") == ".5:6:7"
    assert iu.check_vlan(":6:7") == ":6:7"
    assert iu.check_vlan("") == ""
    with pytest.raises(errors.OpPrereqError):
        iu.check_vlan(".5:x")


# --- MACs --------------------------------------------------------------------------------

def test_check_mac_normalises():
    assert iu.check_mac("AA:00:00:0A:0b:0C") == "aa:00:00:0a:0b:0c"
    for bad in ("aa:00:00:0a:0b", "aa-00-00-0a-0b-0c", "gg:00:00:00:00:00", ""):
        with pytest.raises(errors.OpPrereqError, match="Invalid MAC address"):
            iu.check_mac(bad)


def test_generate_mac_uses_cluster_prefix_and_avoids_used(cfg):
    used = iu.macs_in_use(cfg)
    assert len(used) == 200
    mac = iu.generate_mac(cfg)
    assert mac.startswith("aa:00:00:") and mac not in used
    assert iu.check_mac(mac) == mac
    assert iu.generate_mac(cfg, prefix="AA:11:22").startswith("aa:11:22:")


def test_generate_mac_skips_reserved_and_gives_up(cfg):
    seeded = random.Random(7)
    first = iu.generate_mac(cfg, rng=random.Random(7))
    second = iu.generate_mac(cfg, reserved={first}, rng=seeded)
    assert second != first
    # a prefix whose 2^24 addresses are all "reserved" cannot be drawn from:
    # emulate it with a generator that always repeats the same draw

    class Stuck(random.Random):
        def randrange(self, *args, **kwargs):  # type: ignore[override]
            return 1

    with pytest.raises(errors.OpPrereqError, match="Unable to generate a unique MAC") as err:
        iu.generate_mac(cfg, reserved={"aa:00:00:01:01:01"}, rng=Stuck())
    assert err.value.args[1] == errors.ECODE_NORES


def test_check_mac_free(cfg):
    taken = by_name(cfg, "inst1.example.com").nics[0].mac
    with pytest.raises(errors.OpPrereqError, match="already in use in cluster"):
        iu.check_mac_free(cfg, taken.upper())
    with pytest.raises(errors.OpPrereqError):
        iu.check_mac_free(cfg, "aa:00:00:ff:ff:fe", reserved={"aa:00:00:ff:ff:fe"})
    iu.check_mac_free(cfg, "aa:00:00:ff:ff:fe")


def test_reservations_are_per_owner():
    res = iu.Reservations()
    assert res.reserve("job/1", "m1")
    assert res.reserve("job/1", "m1")
    assert not res.reserve("job/2", "m1")
    assert res.reserve("job/2", "m2")
    assert res.all() == {"m1", "m2"}
    res.release("job/1")
    assert res.all() == {"m2"}


# --- disks -------------------------------------------------------------------------------

def test_disk_template_and_paths(cfg):
    assert iu.disk_template_of(cfg, by_name(cfg, "inst1.example.com")) == C.DT_DISKLESS
    inst = by_name(cfg, "inst2.example.com")
    assert iu.disk_template_of(cfg, inst) == C.DT_FILE
    disk = iu.instance_disks(cfg, inst)[0]
    directory, base = os.path.split(disk.logical_id[1])
    unique = base.split(".", 1)[0]
    assert iu.file_disk_path(cfg.get_cluster_info().file_storage_dir, inst.name, unique,
                             0) == disk.logical_id[1]
    assert iu.file_disk_path("/srv/fs", "i1", "u", 2, subdir="sub") == \
        "/srv/fs/sub/i1/u.file.disk2"
    assert iu.file_disk_path("/srv/sh", "i1", "u", 0, template=C.DT_SHARED_FILE) == \
        "/srv/sh/i1/u.sharedfile.disk0"
    assert iu.file_storage_dir_for("/g", "i1", template=C.DT_GLUSTER) == "/g"


def test_disk_size_totals():
    disks = [{"size": 1024}, {"size": 512}]
    assert iu.compute_disk_size_total(C.DT_DISKLESS, []) == 0
    assert iu.compute_disk_size_total(C.DT_FILE, disks) == 1536
    assert iu.compute_disk_size_total(C.DT_PLAIN, disks) == 1536
    assert iu.compute_disk_size_total(C.DT_DRBD8, disks) == 1536 + 2 * 128
    assert iu.compute_disk_size_total(C.DT_BLOCK, disks) == 0
    assert iu.compute_disk_size_total(C.DT_FILE, [objects.Disk(size=10)]) == 10


def test_disk_template_enabled(cfg):
    cluster = cfg.get_cluster_info()
    iu.check_disk_template_enabled(cluster, C.DT_FILE)
    with pytest.raises(errors.OpPrereqError) as err:
        iu.check_disk_template_enabled(cluster, C.DT_PLAIN)
    assert err.value.args[0] == ("Disk template 'plain' is not enabled in cluster. Enabled"
                                 " disk templates are: file,diskless")


def test_secondaries_from_disk_nodes(cfg):
    inst = by_name(cfg, "inst2.example.com")
    other = add_node(cfg, "node2.example.com")
    assert iu.secondary_nodes(cfg, inst) == []
    iu.instance_disks(cfg, inst)[0].nodes.append(other.uuid)
    assert iu.secondary_nodes(cfg, inst) == [other.uuid]
    assert iu.all_nodes(cfg, inst) == [NODE1, other.uuid]


# --- hooks environment -------------------------------------------------------------------

def test_hook_env_of_a_diskless_instance(cfg):
    inst = by_name(cfg, "inst1.example.com")
    inst.tags = ["t1", "t2"]
    env = iu.build_instance_hook_env(cfg, inst)
    nic = inst.nics[0]
    assert env["OP_TARGET"] == env["INSTANCE_NAME"] == "inst1.example.com"
    assert env["INSTANCE_PRIMARY"] == "node1.example.com"
    assert env["INSTANCE_SECONDARIES"] == ""
    assert env["INSTANCE_OS_TYPE"] == "noop"
    assert env["INSTANCE_STATUS"] == inst.admin_state
    assert env["INSTANCE_MINMEM"] == env["INSTANCE_MAXMEM"] == env["INSTANCE_MEMORY"] == 128
    assert env["INSTANCE_VCPUS"] == 1
    assert env["INSTANCE_DISK_TEMPLATE"] == "diskless"
    assert env["INSTANCE_HYPERVISOR"] == "fake"
    assert env["INSTANCE_NIC_COUNT"] == 1
    assert env["INSTANCE_NIC0_MAC"] == nic.mac
    assert env["INSTANCE_NIC0_UUID"] == nic.uuid
    assert env["INSTANCE_NIC0_IP"] == ""
    assert env["INSTANCE_NIC0_MODE"] == "bridged"
    assert env["INSTANCE_NIC0_LINK"] == env["INSTANCE_NIC0_BRIDGE"] == "br0"
    assert env["INSTANCE_NIC0_VLAN"] == ""
    assert "INSTANCE_NIC0_NAME" not in env
    assert env["INSTANCE_DISK_COUNT"] == 0
    assert env["INSTANCE_TAGS"] == "t1 t2"
    assert env["INSTANCE_BE_auto_balance"] is True
    assert env["INSTANCE_BE_spindle_use"] == 1
    assert env["INSTANCE_HV_migration_mode"] == "live"


def test_hook_env_of_a_file_instance(cfg):
    inst = by_name(cfg, "inst2.example.com")
    disk = iu.instance_disks(cfg, inst)[0]
    env = iu.build_instance_hook_env(cfg, inst)
    assert env["INSTANCE_DISK_TEMPLATE"] == "file"
    assert env["INSTANCE_DISK_COUNT"] == 1
    assert env["INSTANCE_DISK0_DEV_TYPE"] == "file"
    assert env["INSTANCE_DISK0_DRIVER"] == "loop"
    assert env["INSTANCE_DISK0_ID"] == disk.logical_id[1]
    assert env["INSTANCE_DISK0_UUID"] == disk.uuid
    assert env["INSTANCE_DISK0_SIZE"] == disk.size
    assert env["INSTANCE_DISK0_MODE"] == "rw"


def test_hook_env_for_a_new_instance_from_override(cfg):
    bep = cfg.get_cluster_info().filled_beparams({"maxmem": 256, "vcpus": 2})
    env = iu.build_instance_hook_env(cfg, None, override={
        "name": "new.example.com", "primary_node": "node1.example.com", "os": "noop",
        "status": True, "nics": [{"mac": "aa:00:00:01:02:03", "mode": "routed",
                                  "link": "100", "ip": "192.0.2.1", "name": "n0"}],
        "disks": [{"dev_type": "plain", "logical_id": ["xenvg", "u.disk0"], "size": 1024,
                   "mode": "rw", "name": "root"}],
        "hypervisor": "kvm", "bep": bep, "hvp": {"kernel_path": "/k"}, "tags": []})
    assert env["INSTANCE_NAME"] == "new.example.com"
    assert env["INSTANCE_PRIMARY"] == "node1.example.com"
    assert env["INSTANCE_STATUS"] is True
    assert env["INSTANCE_MINMEM"] == 128 and env["INSTANCE_MAXMEM"] == 256
    assert env["INSTANCE_VCPUS"] == 2
    assert env["INSTANCE_DISK_TEMPLATE"] == "plain"
    assert env["INSTANCE_DISK0_VG"] == "xenvg" and env["INSTANCE_DISK0_ID"] == "u.disk0"
    assert env["INSTANCE_DISK0_NAME"] == "root"
    assert env["INSTANCE_NIC0_NAME"] == "n0"
    assert "INSTANCE_NIC0_BRIDGE" not in env
    assert env["INSTANCE_HV_kernel_path"] == "/k"
    assert env["INSTANCE_HYPERVISOR"] == "kvm"
    assert env["INSTANCE_TAGS"] == ""


def test_hook_env_override_wins_over_instance(cfg):
    inst = by_name(cfg, "inst1.example.com")
    env = iu.build_instance_hook_env(cfg, inst, {"status": "up", "memory": 512})
    assert env["INSTANCE_STATUS"] == "up"
    assert env["INSTANCE_MINMEM"] == env["INSTANCE_MAXMEM"] == 512


def test_drbd_and_network_env(cfg):
    data = objects.Disk(dev_type="lvm", logical_id=["xenvg", "u_data"])
    meta = objects.Disk(dev_type="lvm", logical_id=["xenvg", "u_meta"])
    drbd = objects.Disk(dev_type="drbd", logical_id=["n1", "n2", 11000, 0, 1, "s"],
                        children=[data, meta], size=1024, mode="rw", uuid="d1")
    env = iu.disk_hook_env(0, drbd)
    assert (env["INSTANCE_DISK0_PNODE"], env["INSTANCE_DISK0_SNODE"],
            env["INSTANCE_DISK0_PORT"], env["INSTANCE_DISK0_PMINOR"],
            env["INSTANCE_DISK0_SMINOR"]) == ("n1", "n2", 11000, 0, 1)
    assert env["INSTANCE_DISK0_DATA_ID"] == "u_data"
    assert env["INSTANCE_DISK0_META_VG"] == "xenvg"
    net = objects.Network(name="net1", network="192.0.2.0/24", gateway="192.0.2.1",
                          mac_prefix="aa:11:22", tags=["x"], uuid="nu")
    cfg.data.networks["nu"] = net
    nic = objects.NIC(mac="aa:11:22:00:00:01", network="nu", nicparams={"mode": "openvswitch",
                                                                       "link": "sw"},
                      uuid="c1")
    env = iu.nic_hook_env(3, iu.nic_hook_values(cfg, nic))
    assert env["INSTANCE_NIC3_NETWORK_NAME"] == "net1"
    assert env["INSTANCE_NIC3_NETWORK_SUBNET"] == "192.0.2.0/24"
    assert env["INSTANCE_NIC3_NETWORK_GATEWAY"] == "192.0.2.1"
    assert env["INSTANCE_NIC3_NETWORK_MAC_PREFIX"] == "aa:11:22"
    assert env["INSTANCE_NIC3_NETWORK_TAGS"] == "x"
    assert "INSTANCE_NIC3_NETWORK_SUBNET6" not in env
    assert env["INSTANCE_NIC3_BRIDGE"] == "sw"
