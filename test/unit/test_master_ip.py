import os

import pytest

from ganeti import errors, pathutils
from ganeti.backend import master_ip

PARAMS = {"uuid": "u", "ip": "198.51.100.9", "netmask": 24, "netdev": "eth0", "ip_family": 2}


@pytest.mark.parametrize("bad", [None, {}, dict(PARAMS, ip="nope"), dict(PARAMS, netdev="-x"),
                                 dict(PARAMS, netmask="x")])
def test_invalid_parameters(bad):
    with pytest.raises(errors.ParameterError):
        master_ip.node_activate_master_ip(bad, False)


def test_loopback_in_virtual_cluster_is_a_no_op(monkeypatch):
    monkeypatch.setattr(pathutils, "VIRT_CLUSTER", True)
    calls = []
    monkeypatch.setattr(master_ip, "_run", lambda *a, **k: calls.append(a))
    master_ip.node_activate_master_ip(dict(PARAMS, ip="127.0.1.254", netdev="lo"), False)
    master_ip.node_deactivate_master_ip(dict(PARAMS, ip="127.0.1.254", netdev="lo"), False)
    assert calls == []


def test_external_script_gets_environment(monkeypatch, tmp_path):
    out = tmp_path / "env.txt"
    script = tmp_path / "master-ip-setup"
    script.write_text("#!/bin/sh\necho \"$1 $MASTER_IP $MASTER_NETMASK $MASTER_NETDEV"
                      " $CLUSTER_IP_VERSION\" >> %s\n" % out)
    os.chmod(script, 0o755)
    monkeypatch.setattr(pathutils, "EXTERNAL_MASTER_SETUP_SCRIPT", str(script))
    master_ip.node_activate_master_ip(PARAMS, True)
    master_ip.node_deactivate_master_ip(PARAMS, True)
    assert out.read_text().splitlines() == ["start 198.51.100.9 24 eth0 4",
                                            "stop 198.51.100.9 24 eth0 4"]
    script.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    with pytest.raises(errors.OpExecError, match="broken"):
        master_ip.node_activate_master_ip(PARAMS, True)
