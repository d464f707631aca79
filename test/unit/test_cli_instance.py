"""gnt-instance: options -> opcodes, and what the commands print.

The master is replaced by a fake LUXI client answering queries from the
reference config.data through the real query code, OP_INSTANCE_QUERY_DATA
by the real logical unit, and other submissions by a recorder.
"""

from __future__ import annotations

import os
import shutil
import time
from types import SimpleNamespace

import pytest

from ganeti import config, errors, opcodes
from ganeti import constants as C
from ganeti.cli import base, gnt_instance, gnt_instance_info, jobs
from ganeti.cli import gnt_instance_console as console
from ganeti.cmdlib import query as cq
from ganeti.cmdlib.instance_query import LUInstanceQueryData

from test_query_instance import INST1, INST2, InstRpc
from test_query_node import REF, ref_lines


class FakeClient:
    def __init__(self, cfg, rpc):
        self.cfg, self.rpc = cfg, rpc
        self.submitted = []
        self.results = []
        self.next_id = 20

    def query(self, what, fields, qfilter=None):
        return cq.query_config_resource(self.cfg, what, fields, qfilter, rpc=self.rpc)

    def query_fields(self, what, fields=None):
        return cq.query_fields(what, fields)

    def submit_job(self, ops):
        for op in ops:
            opcodes.OpCode.from_dict(op)
        self.submitted.append(ops)
        self.next_id += 1
        return self.next_id


@pytest.fixture
def master(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    path = tmp_path / "config.data"
    shutil.copy(os.path.join(REF, "files", "config.data"), path)
    cfg = config.ConfigWriter(path=str(path))
    cfg.data.instances = {u: i for u, i in cfg.data.instances.items()
                          if i.name in (INST1, INST2)}
    cfg.set_data(cfg.data)
    client = FakeClient(cfg, InstRpc())

    def submit(op, opts, client_=None, *args, **kwargs):
        full = jobs.set_generic_opts(op, opts)
        opcodes.OpCode.from_dict(full)  # must be a valid opcode
        client.submitted.append([op])
        if op["OP_ID"] == "OP_INSTANCE_QUERY_DATA":
            proc = SimpleNamespace(context=SimpleNamespace(cfg=cfg, glm=None,
                                                           rpc=client.rpc))
            lu = LUInstanceQueryData(proc, opcodes.OpCode.from_dict(full),
                                     SimpleNamespace(job_id=1, feedback=lambda *a: None))
            lu.expand_names()
            return lu.exec(None)
        return client.results.pop(0) if client.results else None

    monkeypatch.setattr(jobs, "get_client", lambda: client)
    monkeypatch.setattr(jobs, "submit_opcode", submit)
    monkeypatch.setattr(jobs, "submit_or_send", submit)
    monkeypatch.setattr(jobs, "wait_for_jobs",
                        lambda cl, subm, names, verbose=True, **kw:
                        [print("Waiting for job %s for %s ..." % (j[1], n)) or (True, [None])
                         for j, n in zip(subm, names, strict=True)])
    yield client
    monkeypatch.undo()
    time.tzset()


def run(argv):
    return gnt_instance.main(argv)


def last_op(client):
    return client.submitted[-1][0]


# --- add ---------------------------------------------------------------------------------

def test_add_file_instance_opcode(master):
    rc = run(["add", "-t", "file", "--disk", "0:size=1G", "-o", "noop", "-n",
              "node1.example.com", "--no-name-check", "--no-ip-check", "-B", "memory=128M",
              "inst3.example.com"])
    assert rc == 0
    op = last_op(master)
    assert op["disks"] == [{"size": 1024}] and op["nics"] == [{}]
    assert op["beparams"] == {"memory": 128} and op["disk_template"] == "file"
    assert op["pnode"] == "node1.example.com" and op["snode"] is None
    assert op["name_check"] is False and op["ip_check"] is False
    assert op["start"] is True and op["mode"] == "create" and op["hypervisor"] is None


def test_add_all_options(master):
    rc = run(["add", "-t", "drbd", "-n", "a:b", "--disk", "0:size=10G,mode=ro,name=root",
              "--disk", "2:adopt=lv0,vg=xenvg", "--net", "1:mac=generate,ip=pool,mode=routed,"
              "link=br1,name=n1,network=net1", "-H", "kvm:acpi=no,kernel_path=/k",
              "-O", "a=b", "--os-parameters-private", "p=q", "--os-parameters-secret", "s=t",
              "-o", "debootstrap+default", "--force-variant", "--no-start", "--no-install",
              "--no-conflicts-check", "--file-storage-dir", "d", "--file-driver", "loop",
              "--tags", "a,b", "--dry-run", "--priority", "high", "-B", "maxmem=1G,vcpus=2",
              "x1"])
    assert rc == 0
    op = last_op(master)
    assert op["disks"] == [{"size": 10240, "mode": "ro", "name": "root"}, {},
                           {"adopt": "lv0", "vg": "xenvg", "size": 0}]
    assert op["nics"] == [{}, {"mac": "generate", "ip": "pool", "mode": "routed",
                               "link": "br1", "name": "n1", "network": "net1"}]
    assert op["hypervisor"] == "kvm" and op["hvparams"] == {"acpi": False,
                                                           "kernel_path": "/k"}
    assert op["beparams"] == {"maxmem": 1024, "vcpus": 2}
    assert (op["pnode"], op["snode"]) == ("a", "b")
    assert op["osparams_private"] == {"p": "q"} and op["osparams_secret"] == {"s": "t"}
    assert op["start"] is False and op["no_install"] is True and op["tags"] == ["a", "b"]
    assert op["conflicts_check"] is False and op["force_variant"] is True


def test_add_disk_errors(master, capsys):
    assert run(["add", "-t", "diskless", "-s", "1G", "-o", "noop", "x"]) == 1
    assert "Diskless instance but disk information passed" in capsys.readouterr().err
    assert run(["add", "-t", "file", "-o", "noop", "x"]) == 1
    assert "No disk information specified" in capsys.readouterr().err
    assert run(["add", "-t", "file", "-s", "1G", "--disk", "0:size=1", "-o", "noop",
                "x"]) == 1
    assert run(["add", "-t", "file", "--disk", "0:mode=rw", "-o", "noop", "x"]) == 1
    assert "Missing size or adoption source for disk 0" in capsys.readouterr().err
    assert run(["add", "-t", "diskless", "--no-nics", "-o", "noop", "x"]) == 0
    assert last_op(master)["nics"] == [] and last_op(master)["disks"] == []
    assert run(["add", "-t", "file", "-s", "512", "-o", "noop", "x"]) == 0
    assert last_op(master)["disks"] == [{"size": 512}]


def test_bad_option_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        run(["list", "--bogus-option"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "gnt-instance list [<instance-name>...]" in err
    assert "gnt-instance: error: no such option: --bogus-option" in err


# --- list / list-fields ----------------------------------------------------------------------

def test_list_and_fields(master, capsys):
    assert run(["list"]) == 0
    assert capsys.readouterr().out.splitlines() == ref_lines("gnt-instance-list.txt")
    assert run(["list", "-o", "name,nosuchfield"]) == 14
    out = capsys.readouterr()
    assert out.err == "Warning: Queried for unknown fields nosuchfield\n"
    assert out.out.splitlines() == ref_lines("error-bad-field.txt")[1:]
    assert run(["list-fields"]) == 0
    assert capsys.readouterr().out.splitlines() == ref_lines("gnt-instance-list-fields.txt")


def test_list_env_default_and_plus(master, capsys, monkeypatch):
    monkeypatch.setenv("GNT_INSTANCE_LIST", "--no-headers --separator=|")
    assert run(["list", "-o", "+snodes,tags", "inst1"]) == 0
    assert capsys.readouterr().out == \
        "inst1.example.com|fake|noop|node1.example.com|running|128||\n"


# --- info --------------------------------------------------------------------------------------

def _set_times(cfg, name, serial, ctime, mtime):
    inst = cfg.get_instance_by_name(name)
    inst.serial_no, inst.ctime, inst.mtime = serial, ctime, mtime


def test_info_matches_reference(master, capsys):
    cfg = master.cfg
    _set_times(cfg, INST2, 3, 1795508343.6, 1795508343.9)
    assert run(["info", INST1, INST2]) == 0
    assert capsys.readouterr().out.splitlines() == ref_lines("gnt-instance-info.txt")


def test_info_kvm_matches_reference(master, capsys):
    cfg = master.cfg
    inst = cfg.get_instance_by_name(INST2)
    inst.hypervisor = C.HT_KVM
    inst.network_port = 11000
    inst.name = "kvm1.example.com"
    inst.uuid_fixed = None
    cfg.set_data(cfg.data)
    lines = ref_lines("kvm-instance-info.txt")
    assert run(["info", "kvm1.example.com"]) == 0
    out = capsys.readouterr().out.splitlines()
    skip = ("UUID", "Serial", "Creation", "Modification", "MAC", "logical_id", "on primary")
    keep = [i for i, line in enumerate(lines) if not line.strip().startswith(skip)]
    assert [out[i] for i in keep] == [lines[i] for i in keep]
    assert len(out) == len(lines)


def test_info_static_all_and_errors(master, capsys):
    assert run(["info"]) == 1
    assert "Please pass in --all" in capsys.readouterr().err
    assert run(["info", "--all", INST1]) == 1
    assert run(["info", "-s", "--all"]) == 0
    out = capsys.readouterr().out
    assert "State: configured to be up\n" in out and "on primary" not in out
    assert out.count("- Instance name:") == 2
    assert run(["info", "nosuch.example.com"]) == 1
    assert capsys.readouterr().err.splitlines() == ref_lines("error-unknown-instance.txt")


def test_info_roman_and_vnc():
    inst = {"name": "i", "uuid": "u", "serial_no": 4, "ctime": 0, "mtime": 0,
            "config_state": "up", "run_state": None, "pnode": "n1", "pnode_group_name": "g",
            "pnode_group_uuid": "gu", "snodes": ["n2"], "snodes_group_names": ["g"],
            "snodes_group_uuids": ["gu"], "os": "o", "os_instance": {}, "os_actual": {},
            "network_port": 5901, "hypervisor": "kvm",
            "hv_instance": {}, "hv_actual": {"vnc_bind_address": "0.0.0.0"},
            "be_instance": {}, "be_actual": {"maxmem": 128}, "nics": [],
            "disk_template": "drbd",
            "disks": [{"dev_type": "drbd", "logical_id": None, "iv_name": "disk/0",
                       "size": 2048, "mode": "rw", "spindles": 2, "name": None, "uuid": "d",
                       "pstatus": ["/dev/drbd0", 147, 0, 55.5, 10, True, C.LDS_OKAY],
                       "sstatus": None, "children": []}]}
    lines = base.format_generic_info([gnt_instance_info.instance_info(inst, roman=True)])
    assert "  Serial number: IV" in lines
    assert "  console connection: vnc to n1:5901 (display 1)" in lines
    assert "    - secondaries: n2 (group g, group UUID gu)" in lines
    assert "    - disk/0: drbd, size 2.0G" in lines
    assert "      on primary: /dev/drbd0 (CXLVII:0) *RECOVERING* 55.50%, ETA Xs, status" \
        " *DEGRADED*" in lines
    assert "    memory: default (CXXVIII)" in lines


# --- many-instance operations --------------------------------------------------------------------

def test_shutdown_and_startup_output(master, capsys):
    assert run(["shutdown", INST2]) == 0
    assert capsys.readouterr().out == "Waiting for job 21 for inst2.example.com ...\n"
    op = master.submitted[-1][0]
    assert op["OP_ID"] == "OP_INSTANCE_SHUTDOWN" and op["timeout"] == 120
    assert run(["start", "--paused", "-H", "kernel_path=/x", "-B", "maxmem=256M", "inst2"]) == 0
    op = master.submitted[-1][0]
    assert op["startup_paused"] is True and op["hvparams"] == {"kernel_path": "/x"}
    assert op["beparams"] == {"maxmem": 256} and op["instance_name"] == INST2


def test_selection_modes_need_confirmation(master, capsys, monkeypatch):
    monkeypatch.setattr(base, "ask_user", lambda *a, **k: False)
    assert run(["stop", "--all"]) == 1
    assert master.submitted == []
    assert run(["stop", "--all", "--force-multiple", "--no-remember", "--timeout", "5"]) == 0
    ops = [job[0] for job in master.submitted]
    assert [o["instance_name"] for o in ops] == [INST1, INST2]
    assert ops[0]["no_remember"] is True and ops[0]["timeout"] == 5
    assert run(["reboot", "--node", "--force-multiple", "-t", "soft", "node1"]) == 0
    assert master.submitted[-1][0]["reboot_type"] == "soft"
    assert run(["stop", "--tags", "--force-multiple", "nosuchtag"]) == 1
    assert "Selection filter does not match any instances" in capsys.readouterr().err
    assert run(["stop", "nosuch"]) == 1


def test_submit_prints_job_ids(master, capsys):
    assert run(["startup", "--submit", INST1]) == 0
    assert capsys.readouterr().out == "21: inst1.example.com\n"


def test_reinstall_remove_confirmation(master, monkeypatch, capsys):
    monkeypatch.setattr(base, "ask_user", lambda *a, **k: False)
    assert run(["reinstall", INST1]) == 1
    assert run(["remove", INST1]) == 1
    assert master.submitted == []
    assert run(["reinstall", "-f", "-o", "noop", "-O", "a=b", INST1]) == 0
    op = master.submitted[-1][0]
    assert op["os_type"] == "noop" and op["osparams"] == {"a": "b"}
    assert run(["remove", "-f", "--ignore-failures", "--shutdown-timeout", "3", INST1]) == 0
    op = last_op(master)
    assert op == {"OP_ID": "OP_INSTANCE_REMOVE", "instance_name": INST1,
                  "ignore_failures": True, "shutdown_timeout": 3}


# --- modify / disks / rename ---------------------------------------------------------------------

def test_modify_opcode_and_result(master, capsys):
    master.results.append([["be/maxmem", 256]])
    assert run(["modify", "-B", "maxmem=256M,vcpus=default", "--disk", "add:size=2G",
                "--disk", "1:remove", "--net", "0:modify,ip=1.2.3.4", "--net", "add",
                "--offline", INST1]) == 0
    op = last_op(master)
    assert op["beparams"] == {"maxmem": 256, "vcpus": "default"}
    assert op["disks"] == [["add", -1, {"size": 2048}], ["remove", "1", {}]]
    assert op["nics"] == [["modify", "0", {"ip": "1.2.3.4"}], ["add", -1, {}]]
    assert op["offline"] is True
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["Modified instance inst1.example.com", " - be/maxmem -> 256"]
    assert run(["modify", INST1]) == 1
    assert "Please give at least one of the parameters." in capsys.readouterr().err
    assert run(["modify", "--disk", "add:mode=rw", INST1]) == 1
    assert "Missing required parameter 'size'" in capsys.readouterr().err
    assert run(["modify", "--disk", "0:remove,size=1", INST1]) == 1
    assert run(["modify", "-t", "drbd", INST1]) == 1


def test_disk_commands(master, capsys):
    master.results.append([["node1.example.com", "disk/0", "/dev/loop0"]])
    assert run(["activate-disks", "--wait-for-sync", INST2]) == 0
    assert capsys.readouterr().out == "node1.example.com:disk/0:/dev/loop0\n"
    assert run(["deactivate-disks", "-f", INST2]) == 0
    assert last_op(master)["force"] is True
    assert run(["grow-disk", "--absolute", INST2, "0", "2g"]) == 0
    op = last_op(master)
    assert (op["disk"], op["amount"], op["absolute"], op["wait_for_sync"]) == \
        (0, 2048, True, True)
    assert run(["grow-disk", INST2, "x", "2g"]) == 1
    assert run(["recreate-disks", "--disk", "0:size=2G", "-n", "a:b", INST2]) == 0
    op = last_op(master)
    assert op["disks"] == [[0, {"size": 2048}]] and op["nodes"] == ["a", "b"]
    master.results.append("new.example.com")
    assert run(["rename", "--no-name-check", "--no-ip-check", INST2, "new"]) == 0
    assert "renamed to 'new.example.com'" in capsys.readouterr().out
    assert run(["rename", "--no-name-check", INST2, "new"]) == 1


# --- console ------------------------------------------------------------------------------------

def test_console_kinds(master, capsys):
    master.results.append({"instance": INST1, "kind": "ssh", "host": "node1.example.com",
                           "port": 22, "user": "root",
                           "command": ["/usr/bin/socat", "STDIO,raw", "UNIX-CONNECT:/x y"]})
    assert run(["console", "--show-cmd", INST1]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("ssh -oEscapeChar=none -oHashKnownHosts=no"
                          " -oGlobalKnownHostsFile=")
    assert out.endswith("-oUserKnownHostsFile=/dev/null -oCheckHostIp=no"
                        " -oStrictHostKeyChecking=yes -oBatchMode=yes -p 22 -t -t"
                        " root@node1.example.com '/usr/bin/socat STDIO,raw"
                        " '\\''UNIX-CONNECT:/x y'\\'''")
    master.results.append({"instance": INST1, "kind": "vnc", "host": "n1", "port": 5901,
                           "display": 1})
    assert run(["console", INST1]) == 0
    out = capsys.readouterr().out
    assert "Instance inst1.example.com has VNC listening on n1:5901 (display 1)" in out
    assert "vnc://n1:5901/" in out
    assert console.console_lines({"kind": "msg", "message": "no console"}) == ["no console"]


def test_aliases_and_tags(master, monkeypatch):
    assert gnt_instance.ALIASES == {"start": "startup", "stop": "shutdown", "show": "info"}
    assert {"add-tags", "list-tags", "remove-tags"} <= set(gnt_instance.COMMANDS)
    assert run(["add-tags", INST1, "a", "b"]) == 0
    assert last_op(master) == {"OP_ID": "OP_TAGS_SET", "kind": "instance", "tags": ["a", "b"],
                               "name": INST1}


def test_argument_errors(capsys):
    with pytest.raises(errors.OpPrereqError):
        gnt_instance.build_grow_opcode(SimpleNamespace(), ["i", "0", "zz"])
    assert run(["rename", "a"]) == 1
    assert "expects 2 argument(s)" in capsys.readouterr().err
