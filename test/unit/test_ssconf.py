"""ssconf files: write/read round trip, validation, reference format."""

from __future__ import annotations

import os
import stat

import pytest

from ganeti import constants, errors, pathutils, ssconf

REFERENCE = "/work/shared/reference/ganeti-3.0/files"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(pathutils, "SSCONF_LOCK_FILE", str(tmp_path / "lock" / "ssconf.lock"))
    monkeypatch.setattr(pathutils, "DATA_DIR", str(tmp_path / "data"))
    return str(tmp_path / "data")


def test_round_trip_and_file_format(data_dir):
    values = {"cluster_name": "cluster.example.com", "cluster_tags": "",
              "node_list": "node1.example.com\nnode2.example.com",
              "node_primary_ips": "node1.example.com 198.51.100.10\n"
                                  "node2.example.com 198.51.100.11",
              "hvparams_fake": "migration_mode=live",
              "master_candidates_certs": "uuid-1=AA:BB\nuuid-2=CC:DD"}
    ssconf.write_ssconf_files(values)
    for key, value in values.items():
        path = pathutils.ssconf_file(key, data_dir)
        with open(path) as fh:
            assert fh.read() == (value + "\n" if value else "")
        assert stat.S_IMODE(os.stat(path).st_mode) == constants.SSCONF_FILEMODE
    store = ssconf.SimpleStore()
    assert store.get_cluster_name() == "cluster.example.com"
    assert store.get_cluster_tags() == []
    assert store.get_node_list() == ["node1.example.com", "node2.example.com"]
    assert store.get_node_primary_ips() == {"node1.example.com": "198.51.100.10",
                                            "node2.example.com": "198.51.100.11"}
    assert store.get_hvparams("fake") == {"migration_mode": "live"}
    assert store.get_master_candidates_certs() == {"uuid-1": "AA:BB", "uuid-2": "CC:DD"}
    assert sorted(os.listdir(data_dir)) == sorted("ssconf_" + k for k in values)


def test_only_given_keys_are_written_and_unchanged_files_kept(data_dir):
    ssconf.write_ssconf_files({"cluster_name": "a", "master_node": "n1"})
    path = pathutils.ssconf_file("master_node", data_dir)
    inode = os.stat(path).st_ino
    ssconf.write_ssconf_files({"cluster_name": "b", "master_node": "n1"})
    assert os.stat(path).st_ino == inode  # not rewritten
    assert ssconf.SimpleStore().get_cluster_name() == "b"
    assert ssconf.SimpleStore().get_master_node() == "n1"


@pytest.mark.parametrize("values, message", [
    ({"no_such_key": "x"}, "Invalid ssconf key(s): no_such_key"),
    ({"cluster_name": 5}, "must be a string"),
    ({"cluster_name": "x" * constants.SSCONF_MAX_SIZE}, "larger than"),
    (["cluster_name"], "must be a dict"),
])
def test_validation_writes_nothing(data_dir, values, message):
    with pytest.raises(errors.ParameterError) as exc:
        ssconf.write_ssconf_files(values)
    assert message in str(exc.value)
    assert not os.path.exists(data_dir) or os.listdir(data_dir) == []


def test_missing_file_means_not_in_cluster(data_dir):
    with pytest.raises(errors.ConfigurationError, match=r"not in cluster\? \(ssconf file"
                                                        r" missing\)"):
        ssconf.SimpleStore().get_master_node()
    assert ssconf.SimpleStore().read("master_node", default="") == ""
    with pytest.raises(errors.ProgrammerError):
        ssconf.SimpleStore().read("bogus")


def test_check_master(data_dir, monkeypatch):
    monkeypatch.setattr(pathutils, "HOSTNAME_OVERRIDE", "node1.example.com")
    with pytest.raises(errors.NotMasterError, match="Cluster configuration incomplete"):
        ssconf.check_master()
    ssconf.write_ssconf_files({"master_node": "node1.example.com"})
    ssconf.check_master()
    assert ssconf.SimpleStore().get_master_and_my_name() == ("node1.example.com",
                                                             "node1.example.com")
    monkeypatch.setattr(pathutils, "HOSTNAME_OVERRIDE", "node2.example.com")
    with pytest.raises(errors.NotMasterError, match="master is node1.example.com, this node"
                                                    " is node2.example.com"):
        ssconf.check_master(debug=True)


@pytest.mark.skipif(not os.path.isdir(REFERENCE), reason="reference files not available")
def test_reads_ganeti_30_files():
    store = ssconf.SimpleStore(REFERENCE)
    assert store.get_cluster_name() == "cluster.example.com"
    assert store.get_master_node() == "node1.example.com"
    assert store.get_node_primary_ips() == {"node1.example.com": "198.51.100.10"}
    assert store.get_node_vm_capable() == {"node1.example.com": True}
    assert store.get_hvparams("kvm")["vnet_hdr"] == "True"
    assert store.get_master_netmask() == 32 and store.get_primary_ip_family() == 2
    assert store.get_ssh_ports() == {"node1.example.com": 22}
    assert store.get_offline_nodes() == [] and not store.get_maintain_node_health()
    for name in os.listdir(REFERENCE):
        if name.startswith("ssconf_"):
            assert name[len("ssconf_"):] in ssconf.VALID_KEYS, name


@pytest.mark.skipif(not os.path.isdir(REFERENCE), reason="reference files not available")
def test_writes_byte_identical_files(data_dir):
    values = {}
    for name in os.listdir(REFERENCE):
        if name.startswith("ssconf_"):
            with open(os.path.join(REFERENCE, name)) as fh:
                values[name[len("ssconf_"):]] = fh.read().rstrip("\n")
    ssconf.write_ssconf_files(values)
    for key in values:
        with open(os.path.join(REFERENCE, "ssconf_" + key), "rb") as ref, \
                open(pathutils.ssconf_file(key, data_dir), "rb") as ours:
            assert ours.read() == ref.read(), key
