"""CLI building blocks: key=value parsing, filters, tables, error texts."""

import os

import pytest
from hypothesis import given, strategies as st

from ganeti import constants, errors, qlang, query
from ganeti.cli import errors as cli_errors
from ganeti.cli import kvparse, table

REF = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared",
                                    "reference", "ganeti-3.0", "outputs"))


def _ref(name):
    with open(os.path.join(REF, name)) as fh:
        lines = fh.read().splitlines()
    return [line for line in lines[1:] if not line.startswith("[exit code")]


def test_kv_forms():
    assert kvparse.parse_kv("a=1,b,no_c,-d") == {"a": "1", "b": True, "c": False, "d": None}
    assert kvparse.parse_kv(r"a=x\,y,b=2") == {"a": "x,y", "b": "2"}
    with pytest.raises(errors.ParameterError, match="Duplicate key 'a'"):
        kvparse.parse_kv("a=1,a=2")


@given(st.dictionaries(st.text(alphabet="abcdefgh_", min_size=1, max_size=5).filter(
    lambda k: not k.startswith("no_")),
    st.text(alphabet="xyz,=1 ", max_size=6), max_size=4))
def test_kv_escape_round_trip(values):
    text = ",".join("%s=%s" % (k, v.replace(",", "\\,")) for k, v in values.items())
    assert kvparse.parse_kv(text) == values


def test_ident_kv():
    assert kvparse.parse_ident_kv("kvm:kernel_path=/x,acpi") == \
        ("kvm", {"kernel_path": "/x", "acpi": True})
    assert kvparse.parse_ident_kv("no_drbd") == ("drbd", False)
    assert kvparse.parse_ident_kv("-drbd") == ("drbd", None)
    with pytest.raises(errors.ParameterError):
        kvparse.parse_ident_kv("no_drbd:a=1")


@pytest.mark.parametrize("text,mib", [("512", 512), ("1.5G", 1536), ("10gb", 10240),
                                      ("1t", 1048576), ("1M", 4), ("5", 8)])
def test_sizes(text, mib):
    assert kvparse.parse_size(text) == mib


def test_bad_size_and_timespec():
    with pytest.raises(errors.ParameterError):
        kvparse.parse_size("12q")
    assert kvparse.parse_timespec("1d") == 86400
    assert kvparse.parse_timespec("30") == 30
    with pytest.raises(errors.OpPrereqError):
        kvparse.parse_timespec("xh")


@pytest.mark.parametrize("text,expected", [
    ('status == "running"', ["==", "status", "running"]),
    ("pinst_cnt != 0", ["!=", "pinst_cnt", 0]),
    ("not master_candidate", ["!", ["?", "master_candidate"]]),
    ('"web" in tags', ["=[]", "tags", "web"]),
    ("name =~ m/^a/i", ["=~", "name", "(?i)^a"]),
    ("(a == 1 or a == 2) and b", ["&", ["|", ["==", "a", 1], ["==", "a", 2]], ["?", "b"]]),
])
def test_filter_text(text, expected):
    assert qlang.parse_filter(text) == expected


def test_filter_errors_and_names():
    with pytest.raises(errors.QueryFilterParseError):
        qlang.parse_filter("name ==")
    assert qlang.make_filter(["1", "2"], False, "id", True) == \
        ["|", ["==", "id", 1], ["==", "id", 2]]
    with pytest.raises(errors.OpPrereqError):
        qlang.make_filter(["x"], False, "id", True)
    glob = qlang.make_filter(["web*"], False)
    pred = qlang.compile_filter(query.make_simple_table([("name", "N", "text", "", "name")]),
                                glob)
    assert pred(None, {"name": "web1.example.com"}) and not pred(None, {"name": "db1"})
    with pytest.raises(errors.QueryFilterParseError):
        qlang.compile_filter(query.JOB_FIELDS, ["==", "nosuch", 1])
    with pytest.raises(errors.QueryFilterParseError):
        qlang.compile_filter(query.JOB_FIELDS, ["~~", "id", 1])


def _job_rows(refname, fields):
    rows = []
    for line in _ref(refname)[1:]:
        parts = line.split()
        rows.append([[0, int(parts[0])], [0, parts[1]], [0, [parts[2]]]])
    return rows


def test_job_list_table_matches_reference():
    fdefs = [query.JOB_FIELDS[f].fdef.to_dict() for f in ("id", "status", "summary")]
    rows = _job_rows("gnt-job-list.txt", fdefs)
    status, lines = table.format_query_result(fdefs, rows)
    assert status == table.QR_NORMAL
    assert lines == _ref("gnt-job-list.txt")


def test_job_list_fields_matches_reference():
    res = query.query_fields(query.JOB_FIELDS, None)
    lines = table.format_list_fields(res["fields"])
    assert lines == _ref("gnt-job-list-fields.txt")


def test_unknown_field_and_specials():
    fdefs = [{"name": "a", "title": "A", "kind": constants.QFT_TEXT, "doc": ""},
             {"name": "b", "title": "b", "kind": constants.QFT_UNKNOWN, "doc": ""}]
    status, lines = table.format_query_result(fdefs, [[[0, "x"], [1, None]],
                                                      [[2, None], [1, None]]])
    assert status == table.QR_UNKNOWN
    assert lines == ["A b", "x ??", "? ??"]
    _, lines = table.format_query_result(fdefs, [[[3, None], [4, None]]], verbose=True,
                                         separator="|", header=False)
    assert lines == ["(unavail)|(offline)"]


def test_units():
    fdefs = [{"name": "m", "title": "Mem", "kind": constants.QFT_UNIT, "doc": ""}]
    _, lines = table.format_query_result(fdefs, [[[0, 512]], [[0, 1536]], [[0, 2097152]]])
    assert lines == [" Mem", "512M", "1.5G", "2.0T"]
    _, lines = table.format_query_result(fdefs, [[[0, 1536]]], separator=",")
    assert lines == ["Mem", "1536"]


@pytest.mark.parametrize("err,code,text", [
    (errors.OpPrereqError("Duration must be greater than zero"), 1,
     "Failure: prerequisites not met for this operation:\nDuration must be greater than zero"),
    (errors.OpPrereqError("Instance 'x' not known", "unknown_entity"), 1,
     "Failure: prerequisites not met for this operation:\nerror type: unknown_entity,"
     " error details:\nInstance 'x' not known"),
    (errors.OpExecError("boom"), 1, "Failure: command execution error:\nboom"),
    (errors.NoMasterError("/x", "nope"), 1, "Cannot communicate with the master daemon.\n"
     "Is it running and listening for connections?"),
    (errors.ConfigurationError("no config"), 5, "Cluster configuration incomplete: no config"),
])
def test_error_texts(err, code, text):
    assert cli_errors.format_error(err) == (code, text)
