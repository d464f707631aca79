"""List output rendering (ganeti.cli.table) against real Ganeti 3.0 output.

Most tests rebuild the query answer that produced a reference file
(field definitions + typed values) and require the exact same lines.
"""

import calendar
import os
import re
import time

import pytest
from hypothesis import given, strategies as st

from ganeti import constants as C
from ganeti.cli import table

REF = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared",
                                    "reference", "ganeti-3.0", "outputs"))


def ref_lines(name):
    """Output lines of a reference file (without the command and exit code lines)."""
    with open(os.path.join(REF, name)) as fh:
        lines = fh.read().splitlines()
    assert lines[0].startswith("$ ") and lines[-1].startswith("[exit code")
    return lines[1:-1]


def fd(name, title, kind):
    return {"name": name, "title": title, "kind": kind, "doc": "doc of %s" % name}


FIELDS = {
    # instances
    "name": fd("name", "Instance", C.QFT_TEXT),
    "hypervisor": fd("hypervisor", "Hypervisor", C.QFT_TEXT),
    "os": fd("os", "OS", C.QFT_TEXT),
    "pnode": fd("pnode", "Primary_node", C.QFT_TEXT),
    "snodes": fd("snodes", "Secondary_Nodes", C.QFT_OTHER),
    "status": fd("status", "Status", C.QFT_TEXT),
    "oper_ram": fd("oper_ram", "Memory", C.QFT_UNIT),
    "admin_state": fd("admin_state", "InstanceState", C.QFT_TEXT),
    "oper_state": fd("oper_state", "Running", C.QFT_BOOL),
    "disk_template": fd("disk_template", "Disk_template", C.QFT_TEXT),
    "be/memory": fd("be/memory", "ConfigMaxMem", C.QFT_UNIT),
    "be/vcpus": fd("be/vcpus", "ConfigVCPUs", C.QFT_NUMBER),
    "nic.count": fd("nic.count", "NICs", C.QFT_NUMBER),
    "disk.count": fd("disk.count", "Disks", C.QFT_NUMBER),
    "disk.sizes": fd("disk.sizes", "Disk_sizes", C.QFT_OTHER),
    "disk.size/0": fd("disk.size/0", "Disk/0", C.QFT_UNIT),
    "ctime": fd("ctime", "CTime", C.QFT_TIMESTAMP),
    "uuid": fd("uuid", "UUID", C.QFT_TEXT),
}
NODE_FIELDS = {
    "name": fd("name", "Node", C.QFT_TEXT),
    "pip": fd("pip", "PrimaryIP", C.QFT_TEXT),
    "sip": fd("sip", "SecondaryIP", C.QFT_TEXT),
    "master": fd("master", "IsMaster", C.QFT_BOOL),
    "master_candidate": fd("master_candidate", "MasterC", C.QFT_BOOL),
    "offline": fd("offline", "Offline", C.QFT_BOOL),
    "drained": fd("drained", "Drained", C.QFT_BOOL),
    "vm_capable": fd("vm_capable", "VMCapable", C.QFT_BOOL),
    "group": fd("group", "Group", C.QFT_TEXT),
    "role": fd("role", "Role", C.QFT_TEXT),
    "pinst_list": fd("pinst_list", "PriInstances", C.QFT_OTHER),
    "sinst_list": fd("sinst_list", "SecInstances", C.QFT_OTHER),
}
for _n, _t in [("pinst_cnt", "Pinst"), ("sinst_cnt", "Sinst"), ("ctotal", "CTotal"),
               ("cnodes", "CNodes"), ("csockets", "CSockets")]:
    NODE_FIELDS[_n] = fd(_n, _t, C.QFT_NUMBER)
for _n, _t in [("mtotal", "MTotal"), ("mnode", "MNode"), ("mfree", "MFree"),
               ("dtotal", "DTotal"), ("dfree", "DFree")]:
    NODE_FIELDS[_n] = fd(_n, _t, C.QFT_UNIT)


def typed(kind, text):
    """Reference cell text -> the [status, value] pair a master would send."""
    special = {"??": C.RS_UNKNOWN, "?": C.RS_NODATA, "-": C.RS_UNAVAIL, "*": C.RS_OFFLINE}
    if text in special and kind != C.QFT_TEXT:
        return [special[text], None]
    if kind == C.QFT_NUMBER:
        return [0, int(text)]
    if kind == C.QFT_BOOL:
        return [0, {"Y": True, "N": False}[text]]
    if kind == C.QFT_UNIT:
        m = re.fullmatch(r"([\d.]+)([MGT]?)", text)
        mult = {"": 1, "M": 1, "G": 1024, "T": 1024 * 1024}[m.group(2)]
        return [0, int(float(m.group(1)) * mult)]
    return [0, text]


def rows_from(lines, fdefs):
    """Split whitespace-separated reference rows (no empty cells) into typed rows."""
    rows = []
    for line in lines:
        cells = line.split()
        assert len(cells) == len(fdefs), line
        rows.append([typed(f["kind"], c) for f, c in zip(fdefs, cells, strict=True)])
    return rows


def fdefs_of(table_, names):
    return [table_[n] for n in names]


DEFAULT_INSTANCE = ["name", "hypervisor", "os", "pnode", "status", "oper_ram"]


@pytest.mark.parametrize("refname", ["gnt-instance-list.txt",
                                     "gnt-instance-list-after-shutdown.txt",
                                     "gnt-instance-list-200-instances.txt"])
def test_instance_list_default_fields(refname):
    expected = ref_lines(refname)
    fdefs = fdefs_of(FIELDS, DEFAULT_INSTANCE)
    rows = rows_from(expected[1:], fdefs)
    status, lines = table.format_query_result(fdefs, rows)
    assert lines == expected
    incomplete = any(r[5][0] != 0 for r in rows)
    assert status == (table.QR_INCOMPLETE if incomplete else table.QR_NORMAL)


def test_instance_list_units_m_with_unavailable_disk():
    expected = ref_lines("gnt-instance-list-units.txt")
    fdefs = fdefs_of(FIELDS, ["name", "be/memory", "disk.size/0"])
    rows = rows_from(expected[1:], fdefs)
    assert rows[0][2] == [C.RS_UNAVAIL, None]
    status, lines = table.format_query_result(fdefs, rows, units="m")
    assert lines == expected and status == table.QR_INCOMPLETE


def test_instance_list_separator_with_and_without_headers():
    fdefs = fdefs_of(FIELDS, DEFAULT_INSTANCE)
    rows = [[[0, "inst%d.example.com" % i], [0, "fake"], [0, "noop"],
             [0, "node1.example.com"], [0, "running"], [0, 128]] for i in (1, 2)]
    _, lines = table.format_query_result(fdefs, rows, separator=",")
    assert lines == ref_lines("gnt-instance-list-sep-headers.txt")
    fdefs = fdefs_of(FIELDS, ["name", "status", "pnode", "os", "disk_template", "be/memory"])
    rows = [[[0, "inst1.example.com"], [0, "running"], [0, "node1.example.com"], [0, "noop"],
             [0, tmpl], [0, 128]] for tmpl in ("diskless", "file")]
    rows[1][0][1] = "inst2.example.com"
    _, lines = table.format_query_result(fdefs, rows, separator=",", header=False)
    assert lines == ref_lines("gnt-instance-list-noheaders-sep.txt")


@pytest.fixture
def utc():
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def _epoch(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M:%S")) + 0.25


def test_instance_list_custom_fields_with_timestamps_and_lists(utc):
    names = ["name", "status", "admin_state", "oper_state", "pnode", "disk_template",
             "be/memory", "be/vcpus", "nic.count", "disk.count", "disk.sizes", "ctime", "uuid"]
    fdefs = fdefs_of(FIELDS, names)

    def row(name, tmpl, sizes, ctime, uuid):
        return [[0, v] for v in (name, "running", "up", True, "node1.example.com", tmpl, 128,
                                 1, 1, len(sizes), sizes, _epoch(ctime), uuid)]
    rows = [row("inst1.example.com", "diskless", [], "2026-11-24 08:18:59",
                "a53c4cb1-124b-4fbe-81c6-1ae4fcc64ca5"),
            row("inst2.example.com", "file", [1024], "2026-11-24 08:19:03",
                "480ce061-9da4-44e7-9030-17b92e7617a3")]
    status, lines = table.format_query_result(
        fdefs, rows, format_override={"disk.sizes": (table.join_list, False)})
    assert lines == ref_lines("gnt-instance-list-fields-custom.txt")
    assert status == table.QR_NORMAL


def test_unknown_field_reference():
    fdefs = [FIELDS["name"], {"name": "nosuchfield", "title": "nosuchfield",
                              "kind": C.QFT_UNKNOWN, "doc": "Unknown field 'nosuchfield'"}]
    rows = [[[0, "inst%d.example.com" % i], [C.RS_UNKNOWN, None]] for i in (1, 2)]
    status, lines = table.format_query_result(fdefs, rows)
    assert status == table.QR_UNKNOWN
    assert lines == ref_lines("error-bad-field.txt")[1:]  # first line is the stderr warning


@pytest.mark.parametrize("refname,names", [
    ("gnt-node-list.txt", ["name", "dtotal", "dfree", "mtotal", "mnode", "mfree",
                           "pinst_cnt", "sinst_cnt"]),
    ("vcluster-gnt-node-list.txt", ["name", "dtotal", "dfree", "mtotal", "mnode", "mfree",
                                    "pinst_cnt", "sinst_cnt"]),
    ("gnt-node-list-all-fields.txt", ["name", "pip", "sip", "master", "master_candidate",
                                      "offline", "drained", "vm_capable", "group", "pinst_cnt",
                                      "sinst_cnt", "mtotal", "mfree", "dtotal", "dfree",
                                      "ctotal", "cnodes", "csockets"]),
])
def test_node_lists(refname, names):
    expected = ref_lines(refname)
    fdefs = fdefs_of(NODE_FIELDS, names)
    rows = rows_from(expected[1:], fdefs)
    status, lines = table.format_query_result(fdefs, rows)
    assert lines == expected
    nodata = any(cell[0] == C.RS_NODATA for r in rows for cell in r)
    assert status == (table.QR_INCOMPLETE if nodata else table.QR_NORMAL)


def test_empty_last_column_keeps_separating_space():
    fdefs = fdefs_of(NODE_FIELDS, ["name", "pip", "master", "master_candidate", "role",
                                   "pinst_list", "sinst_list"])
    rows = [[[0, v] for v in ("node1", "203.0.113.10", True, True, "M", ["vinst1", "vinst2"],
                              [])],
            [[0, v] for v in ("node2", "203.0.113.11", False, True, "C", [], [])]]
    _, lines = table.format_query_result(fdefs, rows)
    assert lines == ref_lines("vcluster-gnt-node-list-roles.txt")
    fdefs = fdefs_of(FIELDS, ["name", "pnode", "snodes", "status", "disk_template"])
    rows = [[[0, v] for v in (name, "node2", [], "running", "diskless")]
            for name in ("vinst1", "vinst2")]
    _, lines = table.format_query_result(fdefs, rows)
    assert lines == ref_lines("vcluster-gnt-instance-list.txt")


def test_group_list_with_dict_override():
    fdefs = [fd("name", "Group", C.QFT_TEXT), fd("node_cnt", "Nodes", C.QFT_NUMBER),
             fd("pinst_cnt", "Instances", C.QFT_NUMBER),
             fd("alloc_policy", "AllocPolicy", C.QFT_TEXT),
             fd("ndparams", "NDParams", C.QFT_OTHER)]
    ndparams = {"oob_program": "", "spindle_count": 1, "exclusive_storage": False,
                "ovs": False, "ovs_name": "switch1", "ovs_link": "", "ssh_port": 22,
                "cpu_speed": 1}
    rows = [[[0, "default"], [0, 1], [0, 2], [0, "preferred"], [0, ndparams]]]
    _, lines = table.format_query_result(fdefs, rows,
                                         format_override={"ndparams": (table.format_dict,
                                                                       False)})
    assert lines == ref_lines("gnt-group-list.txt")


def test_header_only_table():
    fdefs = [fd("name", "Network", C.QFT_TEXT), fd("network", "Subnet", C.QFT_TEXT),
             fd("gateway", "Gateway", C.QFT_OTHER), fd("mac_prefix", "MacPrefix", C.QFT_OTHER),
             fd("group_list", "GroupList", C.QFT_OTHER), fd("tags", "Tags", C.QFT_OTHER)]
    status, lines = table.format_query_result(fdefs, [])
    assert (status, lines) == (table.QR_NORMAL, ref_lines("gnt-network-list.txt"))
    assert table.format_query_result(fdefs, [], header=False) == (table.QR_NORMAL, [])


def test_job_lists():
    fdefs = [fd("id", "ID", C.QFT_NUMBER), fd("status", "Status", C.QFT_TEXT),
             fd("summary", "Summary", C.QFT_OTHER)]
    for refname in ("gnt-job-list.txt", "gnt-job-list-after-delay.txt"):
        expected = ref_lines(refname)
        rows = []
        for line in expected[1:]:
            job_id, status, summary = line.split()
            rows.append([[0, int(job_id)], [0, status], [0, [summary]]])
        assert table.format_query_result(fdefs, rows) == (table.QR_NORMAL, expected)


def _split_fields_table(lines):
    """Cells of a list-fields table, cut at the header's column offsets."""
    header = lines[0]
    starts = [header.index(t) for t in ("Name", "Type", "Title", "Description")]
    out = []
    for line in lines[1:]:
        cells = [line[a:b].rstrip() for a, b in zip(starts, starts[1:] + [None], strict=True)]
        out.append(cells)
    return out


@pytest.mark.parametrize("refname", ["gnt-job-list-fields.txt", "gnt-node-list-fields.txt",
                                     "gnt-instance-list-fields.txt"])
def test_list_fields_layout(refname):
    expected = ref_lines(refname)
    kinds = {v: k for k, v in table.KIND_NAMES.items()}
    fdefs = [{"name": n, "kind": kinds[t], "title": ti, "doc": d}
             for n, t, ti, d in _split_fields_table(expected)]
    assert table.format_list_fields(fdefs) == expected
    sep = table.format_list_fields(fdefs, separator="|", header=False)
    assert sep[0] == "|".join([fdefs[0]["name"], table.KIND_NAMES[fdefs[0]["kind"]],
                               fdefs[0]["title"], fdefs[0]["doc"]])
    assert len(sep) == len(fdefs)


def test_value_rendering_per_kind(utc):
    assert table.format_value(C.QFT_BOOL, True, "h") == "Y"
    assert table.format_value(C.QFT_BOOL, 0, "h") == "N"
    assert table.format_value(C.QFT_UNIT, 512, "h") == "512M"
    assert table.format_value(C.QFT_UNIT, 1536, "h") == "1.5G"
    assert table.format_value(C.QFT_UNIT, 3 * 1024 * 1024, "h") == "3.0T"
    assert table.format_value(C.QFT_UNIT, 1536, "g") == "1.5"
    assert table.format_value(C.QFT_UNIT, 1536, "m") == "1536"
    assert table.format_value(C.QFT_TIMESTAMP, 0, "h") == "1970-01-01 00:00:00"
    assert table.format_value(C.QFT_TIMESTAMP, None, "h") == "?"
    assert table.format_value(C.QFT_TIMESTAMP, [1, 2], "h") == "?"
    assert table.format_value(C.QFT_OTHER, ["a", "b"], "h") == "a,b"
    assert table.format_value(C.QFT_OTHER, [1795508336, 10587], "h") == "[1795508336, 10587]"
    assert table.format_value(C.QFT_OTHER, {"a": 1}, "h") == "{'a': 1}"
    assert table.format_value(C.QFT_OTHER, None, "h") == "None"
    assert table.format_value(C.QFT_NUMBER_FLOAT, 1.5, "h") == "1.5"
    assert table.format_value(C.QFT_TEXT, "x y", "h") == "x y"


def test_specials_status_and_verbose():
    fdefs = [fd("a", "A", C.QFT_TEXT), fd("b", "B", C.QFT_NUMBER)]
    rows = [[[C.RS_NODATA, None], [C.RS_UNAVAIL, None]],
            [[C.RS_OFFLINE, None], [0, 10]]]
    status, lines = table.format_query_result(fdefs, rows)
    assert status == table.QR_INCOMPLETE
    assert lines == ["A  B", "?  -", "* 10"]
    _, lines = table.format_query_result(fdefs, rows, verbose=True, separator="|",
                                         header=False)
    assert lines == ["(nodata)|(unavail)", "(offline)|10"]
    status, _ = table.format_query_result(fdefs, [[[0, "x"], [C.RS_UNKNOWN, None]]])
    assert status == table.QR_UNKNOWN
    unknown = [fd("zz", "zz", C.QFT_UNKNOWN)]
    assert table.format_query_result(unknown, [])[0] == table.QR_UNKNOWN
    assert table.format_special(C.RS_UNKNOWN) == "??"
    assert table.format_special(C.RS_OFFLINE, verbose=True) == "(offline)"


def test_units_default_depends_on_separator():
    fdefs = [fd("m", "Mem", C.QFT_UNIT)]
    rows = [[[0, 512]], [[0, 1536]], [[0, 2097152]]]
    assert table.format_query_result(fdefs, rows)[1] == [" Mem", "512M", "1.5G", "2.0T"]
    assert table.format_query_result(fdefs, rows, separator=",")[1] == \
        ["Mem", "512", "1536", "2097152"]
    assert table.format_query_result(fdefs, rows, separator=",", units="g")[1] == \
        ["Mem", "0.5", "1.5", "2048.0"]


def test_override_alignment_and_unknown_row_length():
    fdefs = [fd("a", "A", C.QFT_TEXT), fd("b", "Bee", C.QFT_OTHER)]
    rows = [[[0, "x"], [0, [1, 2]]]]
    _, lines = table.format_query_result(
        fdefs, rows, format_override={"b": (lambda v: "+".join(map(str, v)), True)})
    assert lines == ["A Bee", "x 1+2"]
    with pytest.raises(ValueError):
        table.format_query_result(fdefs, [[[0, "x"]]])


cell_text = st.text(alphabet="ab ,.-", max_size=6)


@given(st.integers(1, 4).flatmap(lambda n: st.tuples(
    st.lists(st.booleans(), min_size=n, max_size=n),
    st.lists(st.lists(cell_text, min_size=n, max_size=n), max_size=5))))
def test_aligned_columns_property(data):
    """Every line puts each cell at the same offset, padded to the column width."""
    right, rows = data
    titles = ["T%d" % i for i in range(len(right))]
    lines = table.format_table(rows, titles, right)
    all_rows = [titles] + rows
    widths = [max(len(r[i]) for r in all_rows) for i in range(len(right))]
    if not right[-1]:
        widths[-1] = 0
    for line, cells in zip(lines, all_rows, strict=True):
        pos = 0
        for cell, width, is_right in zip(cells, widths, right, strict=True):
            chunk = line[pos:pos + max(width, len(cell))]
            assert chunk == (cell.rjust(width) if is_right else cell.ljust(width))
            pos += len(chunk) + 1
        assert pos == len(line) + 1
    assert table.format_table(rows, None, right, "|") == ["|".join(r) for r in rows]


def test_generate_table():
    headers = {"name": "Name", "size": "Size", "inst": "Instance"}
    data = [["lv1", 1024, "inst1.example.com"], None, ["lv22", "x", "i"]]
    lines = table.generate_table(headers, ["name", "size", "inst"], None,
                                 [list(r) if r else None for r in data],
                                 numfields=["si.e"], unitfields=["size"])
    # the header's last column is padded to the data width (as upstream does)
    assert lines == ["Name Size Instance         ",
                     "lv1  1.0G inst1.example.com",
                     "-       - -",
                     "lv22    x i"]
    lines = table.generate_table(None, ["name", "size"], ":", [["a", 2048]],
                                 unitfields=["size"])
    assert lines == ["a:2048"]
    lines = table.generate_table({"name": "N"}, ["name", "other"], ",", [["a", "b"]])
    assert lines == ["N,other", "a,b"]
    lines = table.generate_table({"name": "Name"}, ["name"], None, [["noop"]])
    assert lines == ref_lines("gnt-os-list.txt")


def test_render_compat():
    assert table.render(["Name"], [["noop"]], [False], None) == ["Name", "noop"]
