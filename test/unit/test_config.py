"""config.data: the Ganeti 3.0 reference file loads and saves back losslessly."""

import json
import os
import shutil

import pytest

from ganeti import config, constants, errors, objects

REF = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference",
                   "ganeti-3.0", "files", "config.data")
REF = os.path.normpath(REF)


@pytest.fixture
def ref_copy(tmp_path):
    path = tmp_path / "config.data"
    shutil.copy(REF, path)
    return str(path)


def test_reference_round_trip_is_lossless():
    with open(REF) as fh:
        raw = json.load(fh)
    data = objects.ConfigData.from_dict(raw)
    assert data.to_dict() == raw
    assert len(data.instances) == 200


def test_unknown_keys_survive_a_save(ref_copy, monkeypatch):
    with open(ref_copy) as fh:
        raw = json.load(fh)
    raw["cluster"]["future_key"] = {"x": 1}
    first = next(iter(raw["nodes"]))
    raw["nodes"][first]["another_new_key"] = [1, 2]
    raw["top_level_extra"] = "kept"
    with open(ref_copy, "w") as fh:
        json.dump(raw, fh)
    cfg = config.ConfigWriter(path=ref_copy)
    monkeypatch.setattr(config.ConfigWriter, "_distribute", lambda self, blob: None)
    serial = cfg.data.serial_no
    cfg.write()
    with open(ref_copy) as fh:
        saved = json.load(fh)
    assert saved["serial_no"] == serial + 1
    assert saved["cluster"]["future_key"] == {"x": 1}
    assert saved["nodes"][first]["another_new_key"] == [1, 2]
    assert saved["top_level_extra"] == "kept"
    saved.pop("serial_no"), saved.pop("mtime")
    raw.pop("serial_no"), raw.pop("mtime")
    assert saved == raw


def test_save_is_atomic_and_durable(ref_copy, monkeypatch):
    calls = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real_fsync(fd)))
    monkeypatch.setattr(config.ConfigWriter, "_distribute", lambda self, blob: None)
    cfg = config.ConfigWriter(path=ref_copy)
    cfg.write()
    assert len(calls) >= 2  # file and directory
    leftovers = [n for n in os.listdir(os.path.dirname(ref_copy)) if n.endswith(".tmp")]
    assert leftovers == []


def test_verify_reference_config_is_clean(ref_copy):
    cfg = config.ConfigWriter(path=ref_copy)
    assert cfg.verify_config() == []


@pytest.mark.parametrize("content,fragment", [
    ("{not json", "not valid JSON"),
    ("[]", "no cluster object"),
    (json.dumps({"version": 2030000, "cluster": {}}), ""),
])
def test_bad_config_files_give_clear_errors(tmp_path, content, fragment):
    path = tmp_path / "config.data"
    path.write_text(content)
    with pytest.raises(errors.ConfigurationError) as exc:
        config.load_config_file(str(path))
    assert fragment in str(exc.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(errors.ConfigurationError, match="not found"):
        config.load_config_file(str(tmp_path / "nope"))


def test_ssconf_values_match_reference(ref_copy):
    cfg = config.ConfigWriter(path=ref_copy)
    values = cfg.get_ssconf_values()
    refdir = os.path.dirname(REF)
    for key in ("cluster_name", "master_node", "node_list", "node_primary_ips",
                "master_candidates", "master_candidates_certs", "instance_list",
                "hypervisor_list", "nodegroups", "online_nodes", "offline_nodes",
                "node_vm_capable", "primary_ip_family", "maintain_node_health",
                "hvparams_kvm", "hvparams_fake", "ssh_ports", "master_netmask"):
        with open(os.path.join(refdir, "ssconf_" + key)) as fh:
            expected = fh.read()
        got = values[key] + ("\n" if values[key] else "")
        assert got == expected, key


def test_expand_names(ref_copy):
    cfg = config.ConfigWriter(path=ref_copy)
    uuid, name = cfg.expand_node_name("node1")
    assert name == "node1.example.com"
    assert cfg.expand_node_name("nosuch") is None


def test_config_version_constant():
    assert constants.CONFIG_VERSION == 3000000
