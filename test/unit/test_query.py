"""Query machinery (ganeti.query): tables, rows, sorting, job and lock fields."""

import os
import random
import re

import pytest
from hypothesis import given, strategies as st

from ganeti import constants as C
from ganeti import errors, query
from ganeti.cli import table

REF = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared",
                                    "reference", "ganeti-3.0", "outputs"))


def ref_lines(name):
    with open(os.path.join(REF, name)) as fh:
        lines = fh.read().splitlines()
    return lines[1:-1]


# --- a toy resource table ------------------------------------------------------------

def _node_table():
    return query.build_table([
        query.make_field("name", "Node", C.QFT_TEXT, "Node name",
                         lambda ctx, n: n["name"], query.QFF_HOSTNAME),
        query.make_field("mfree", "MFree", C.QFT_UNIT, "Free memory",
                         lambda ctx, n: query.OFFLINE if n.get("offline")
                         else n.get("mfree", query.NODATA), data_kind="live"),
        query.make_field("pinst", "Pinst", C.QFT_NUMBER, "Primary instances",
                         lambda ctx, n: ctx["pinst"].get(n["name"], 0), data_kind="inst"),
        query.make_field("tags", "Tags", C.QFT_OTHER, "Tags",
                         lambda ctx, n: n.get("tags", [])),
    ], aliases=[("free_memory", "mfree")])


NODES = _node_table()
CTX = {"pinst": {"node1.example.com": 2}}
ITEMS = [{"name": "node10.example.com", "mfree": 100},
         {"name": "node2.example.com", "offline": True},
         {"name": "node1.example.com", "mfree": 300, "tags": ["a"]},
         {"name": "node3.example.com"}]


def test_fielddef_and_unknown_fields():
    q = query.Query(NODES, ["name", "nosuch", "free_memory"])
    defs = [f.to_dict() for f in q.get_fields()]
    assert defs[0] == {"name": "name", "title": "Node", "kind": "text", "doc": "Node name"}
    assert defs[1] == {"name": "nosuch", "title": "nosuch", "kind": C.QFT_UNKNOWN,
                       "doc": "Unknown field 'nosuch'"}
    assert defs[2] == {"name": "free_memory", "title": "MFree", "kind": "unit",
                       "doc": "Free memory"}
    assert q.unknown_fields() == ["nosuch"]
    rows = q.query(CTX, ITEMS)
    assert [r[1] for r in rows] == [[C.RS_UNKNOWN, None]] * 4


def test_rows_sorted_naturally_with_specials():
    q = query.Query(NODES, ["name", "mfree", "pinst"])
    assert q.query(CTX, ITEMS) == [
        [[0, "node1.example.com"], [0, 300], [0, 2]],
        [[0, "node2.example.com"], [C.RS_OFFLINE, None], [0, 0]],
        [[0, "node3.example.com"], [C.RS_NODATA, None], [0, 0]],
        [[0, "node10.example.com"], [0, 100], [0, 0]],
    ]
    res = q.result(CTX, ITEMS)
    assert [f["name"] for f in res["fields"]] == ["name", "mfree", "pinst"]
    assert len(res["data"]) == 4


def test_sort_key_and_unsorted():
    q = query.Query(NODES, ["name"], sort_key=lambda n: -len(n["name"]))
    assert q.query(CTX, ITEMS)[0] == [[0, "node10.example.com"]]
    q = query.Query(NODES, ["name"], namefield=None)
    assert [r[0][1] for r in q.query(CTX, ITEMS)] == [n["name"] for n in ITEMS]


def test_filter_applied_and_names():
    qfilter = ["|", ["==", "name", "node1"], ["==", "name", "node3.example.com"]]
    q = query.Query(NODES, ["name"], qfilter)
    assert q.requested_names() == ["node1", "node3.example.com"]
    assert q.query(CTX, ITEMS) == [[[0, "node1.example.com"]], [[0, "node3.example.com"]]]
    q = query.Query(NODES, ["name"], [">", "mfree", 150])
    assert q.requested_names() is None
    assert q.query(CTX, ITEMS) == [[[0, "node1.example.com"]]]
    with pytest.raises(errors.QueryFilterParseError):
        query.Query(NODES, ["name"], ["==", "nosuch", 1])


def test_requested_data_covers_fields_and_filter():
    assert query.Query(NODES, ["name"]).requested_data() == set()
    assert query.Query(NODES, ["name", "free_memory"]).requested_data() == {"live"}
    q = query.Query(NODES, ["name"], ["!", [">", "pinst", 0]])
    assert q.requested_data() == {"inst"}


def test_old_style_query():
    q = query.Query(NODES, ["name", "mfree"])
    assert q.old_style_query(CTX, ITEMS)[:2] == [["node1.example.com", 300],
                                                 ["node2.example.com", None]]
    with pytest.raises(errors.OpPrereqError) as exc:
        query.Query(NODES, ["name", "bad"]).old_style_query(CTX, ITEMS)
    assert exc.value.args == ("Unknown output fields selected: bad", errors.ECODE_INVAL)


def test_query_fields_natural_order_and_selection():
    res = query.query_fields(NODES, None)
    assert [f["name"] for f in res["fields"]] == ["free_memory", "mfree", "name", "pinst",
                                                  "tags"]
    res = query.query_fields(NODES, ["tags", "zzz"])
    assert res["fields"][0]["title"] == "Tags"
    assert res["fields"][1] == {"name": "zzz", "title": "zzz", "kind": "unknown",
                                "doc": "Unknown field 'zzz'"}
    table_ = query.build_table([query.make_field("disk.size/%d" % i, "Disk/%d" % i,
                                                 C.QFT_UNIT, "Disk %d" % i, lambda c, x: 0)
                                for i in (10, 2, 1)] +
                               [query.make_field("disk.sizes", "Disk_sizes", C.QFT_OTHER,
                                                 "Sizes", lambda c, x: [])])
    assert [f["name"] for f in query.query_fields(table_, None)["fields"]] == \
        ["disk.size/1", "disk.size/2", "disk.size/10", "disk.sizes"]


@pytest.mark.parametrize("bad", [
    query.make_field("Bad Name", "T", C.QFT_TEXT, "Doc", lambda c, x: 0),
    query.make_field("ok", "Two words", C.QFT_TEXT, "Doc", lambda c, x: 0),
    query.make_field("ok", "T", "strange", "Doc", lambda c, x: 0),
    query.make_field("ok", "T", C.QFT_TEXT, " Doc", lambda c, x: 0),
    query.make_field("ok", "T", C.QFT_TEXT, "Doc", None),
])
def test_build_table_rejects_bad_entries(bad):
    with pytest.raises(errors.ProgrammerError):
        query.build_table([bad])


def test_build_table_rejects_duplicates_and_bad_aliases():
    field = query.make_field("a", "A", C.QFT_TEXT, "Doc", lambda c, x: 0)
    with pytest.raises(errors.ProgrammerError):
        query.build_table([field, field])
    with pytest.raises(errors.ProgrammerError):
        query.build_table([field], aliases=[("b", "missing")])
    with pytest.raises(errors.ProgrammerError):
        query.build_table([field], aliases=[("a", "a")])


def test_simple_table_missing_key_unavailable():
    t = query.make_simple_table([("name", "Name", C.QFT_TEXT, "Name", "n"),
                                 ("x", "X", C.QFT_NUMBER, "X", "x")])
    assert query.Query(t, ["name", "x"]).query(None, [{"n": "a"}]) == \
        [[[0, "a"], [C.RS_UNAVAIL, None]]]


# --- jobs -----------------------------------------------------------------------------

def test_job_field_definitions_match_reference():
    lines = ref_lines("gnt-job-list-fields.txt")
    header = lines[0]
    starts = [header.index(t) for t in ("Name", "Type", "Title", "Description")]
    kinds = {v: k for k, v in table.KIND_NAMES.items()}
    expected = {}
    for line in lines[1:]:
        name, kind, title, doc = [line[a:b].rstrip()
                                  for a, b in zip(starts, starts[1:] + [None], strict=True)]
        expected[name] = {"name": name, "kind": kinds[kind], "title": title, "doc": doc}
    assert {n: f.fdef.to_dict() for n, f in query.JOB_FIELDS.items()} == expected
    assert query.JOB_DEFAULT_FIELDS == ["id", "status", "summary"]
    assert query.JOB_FIELDS["id"].flags & query.QFF_JOB_ID
    assert query.JOB_FIELDS["received_ts"].flags & query.QFF_SPLIT_TIMESTAMP


_SUMMARY_KEYS = {"INSTANCE_CREATE": "instance_name", "INSTANCE_SHUTDOWN": "instance_name",
                 "INSTANCE_STARTUP": "instance_name", "CLUSTER_VERIFY_GROUP": "group_name",
                 "TEST_DELAY": "duration"}


def _job_from_summary(job_id, status, summary, ts=None, priority=0):
    m = re.fullmatch(r"([A-Z_]+)(?:\((.*)\))?", summary)
    op_input = {"OP_ID": "OP_" + m.group(1), "priority": priority}
    if m.group(2) is not None:
        key = _SUMMARY_KEYS[m.group(1)]
        op_input[key] = float(m.group(2)) if key == "duration" else m.group(2)
    ts = ts or [None, None, None]
    return {"id": job_id, "received_timestamp": ts[0], "start_timestamp": ts[1],
            "end_timestamp": ts[2],
            "ops": [{"input": op_input, "status": status, "result": None, "log": [],
                     "priority": priority, "start_timestamp": ts[1],
                     "exec_timestamp": ts[1], "end_timestamp": ts[2]}]}


def test_job_list_custom_reference_end_to_end():
    expected = ref_lines("gnt-job-list-custom.txt")
    jobs = []
    for line in expected[1:]:
        m = re.fullmatch(r"\s*(\d+) (\w+)\s+(\d+) (\S+)\s+\[(\d+), (\d+)\]\s+\[(\d+), (\d+)\]"
                         r"\s+\[(\d+), (\d+)\]", line)
        nums = [int(x) for x in m.groups()[4:]]
        ts = [nums[0:2], nums[2:4], nums[4:6]]
        jobs.append(_job_from_summary(int(m.group(1)), m.group(2), m.group(4), ts))
    random.Random(4).shuffle(jobs)
    fields = ["id", "status", "priority", "summary", "received_ts", "start_ts", "end_ts"]
    res = query.Query(query.JOB_FIELDS, fields, None, namefield="id").result(None, jobs)
    status, lines = table.format_query_result(res["fields"], res["data"])
    assert (status, lines) == (table.QR_NORMAL, expected)


def test_job_list_after_delay_reference():
    expected = ref_lines("gnt-job-list-after-delay.txt")
    jobs = [_job_from_summary(int(job_id), status, summary)
            for job_id, status, summary in (line.split() for line in expected[1:])]
    assert jobs[1]["ops"][0]["input"]["duration"] == 0.0
    q = query.Query(query.JOB_FIELDS, query.JOB_DEFAULT_FIELDS,
                    ["|"] + [["==", "id", str(j["id"])] for j in jobs], namefield="id")
    assert q.requested_names() == [str(j["id"]) for j in jobs]
    res = q.result(None, list(reversed(jobs)) + [_job_from_summary(99, "success", "X")])
    assert table.format_query_result(res["fields"], res["data"])[1] == expected


@pytest.mark.parametrize("statuses,expected", [
    ([], "success"),
    (["success", "success"], "success"),
    (["success", "queued"], "queued"),
    (["success", "running", "queued"], "running"),
    (["waiting", "queued"], "waiting"),
    (["running", "waiting"], "waiting"),
    (["success", "error", "error"], "error"),
    (["canceling", "queued"], "canceling"),
    (["running", "canceled"], "canceled"),
    (["error", "canceled"], "error"),
])
def test_job_status(statuses, expected):
    assert query.job_status({"ops": [{"status": s} for s in statuses]}) == expected


def test_job_priority():
    def job(*ops):
        return {"ops": [{"status": s, "priority": p} for s, p in ops]}
    assert query.job_priority(job(("success", -5), ("queued", 3), ("waiting", 1))) == 1
    assert query.job_priority(job(("success", -5), ("error", 10))) == C.OP_PRIO_DEFAULT
    assert query.job_priority(job(("running", -20))) == -20
    assert query.job_priority({"ops": []}) == C.OP_PRIO_DEFAULT


@pytest.mark.parametrize("value,text", [
    (0.0, "0.0"), (0, "0.0"), (0.01, "1.0e-2"), (1.0, "1.0"), (10.0, "10.0"), (0.5, "0.5"),
    (0.1, "0.1"), (0.07, "7.0e-2"), (0.0123, "1.23e-2"), (1234.5678, "1234.5678"),
    (9999999.0, "9999999.0"), (1e7, "1.0e7"), (12345678.9, "1.23456789e7"),
    (1e22, "1.0e22"), (-2.5, "-2.5"), (5e-324, "5.0e-324"),
])
def test_haskell_show_double(value, text):
    assert query.haskell_show_double(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_haskell_show_double_round_trips(value):
    text = query.haskell_show_double(value)
    assert float(text) == value
    mantissa = text.lstrip("-").split("e")[0]
    assert re.fullmatch(r"\d+\.\d+", mantissa)
    assert ("e" in text) == (value != 0 and not 0.1 <= abs(value) < 1e7)


@pytest.mark.parametrize("op_input,summary", [
    ({"OP_ID": "OP_TEST_DELAY", "duration": 0.01}, "TEST_DELAY(1.0e-2)"),
    ({"OP_ID": "OP_INSTANCE_STARTUP", "instance_name": "i1"}, "INSTANCE_STARTUP(i1)"),
    ({"OP_ID": "OP_INSTANCE_QUERY_DATA", "instances": ["i1"]}, "INSTANCE_QUERY_DATA"),
    ({"OP_ID": "OP_OS_DIAGNOSE", "output_fields": ["name"]}, "OS_DIAGNOSE"),
    ({"OP_ID": "OP_CLUSTER_VERIFY_GROUP", "group_name": "g"}, "CLUSTER_VERIFY_GROUP(g)"),
    ({"OP_ID": "OP_NETWORK_CONNECT", "group_name": "g", "network_name": "n"},
     "NETWORK_CONNECT(n)"),
    ({"OP_ID": "OP_FROM_THE_FUTURE", "node_name": "n1"}, "FROM_THE_FUTURE(n1)"),
    ({"OP_ID": "OP_FROM_THE_FUTURE"}, "FROM_THE_FUTURE"),
    ({"no": "op id"}, "INVALID_OP"),
    ("garbage", "INVALID_OP"),
])
def test_op_summary(op_input, summary):
    assert query.op_summary(op_input) == summary


def test_job_fields_values_and_filters():
    job = _job_from_summary(7, "running", "TEST_DELAY(10.0)", [[100, 5], [101, 0], None],
                            priority=-10)
    job["archived"] = False
    job["ops"][0]["log"] = [[1, [100, 6], "message", "hi"]]
    fields = ["id", "status", "priority", "archived", "oplog", "opstatus", "oppriority",
              "opstart", "opend", "ops", "summary", "end_ts"]
    row = query.Query(query.JOB_FIELDS, fields).old_style_query(None, [job])[0]
    assert row == [7, "running", -10, False, [[[1, [100, 6], "message", "hi"]]], ["running"],
                   [-10], [[101, 0]], [None], [job["ops"][0]["input"]], ["TEST_DELAY(10.0)"],
                   None]
    other = _job_from_summary(8, "success", "TEST_DELAY(1.0)", [[200, 0], [200, 0], [201, 0]])

    def select(qfilter):
        q = query.Query(query.JOB_FIELDS, ["id"], qfilter, namefield="id")
        return [r[0][1] for r in q.query(None, [other, job])]
    assert select(["==", "id", "8"]) == [8]
    assert select(["<", "received_ts", 150]) == [7]
    assert select(["==", "received_ts", 100]) == [7]
    assert select(["==", "status", "running"]) == [7]
    assert select(["=[]", "summary", "TEST_DELAY(1.0)"]) == [8]
    assert select(["?", "archived"]) == []
    assert select(None) == [7, 8]
    with pytest.raises(errors.QueryFilterParseError):
        select(["==", "id", "seven"])


# --- locks -----------------------------------------------------------------------------

def test_lock_fields():
    rows = [("cluster/BGL", "shared", ["job/3", "job/4"], [("exclusive", ["job/5"])]),
            ("node/n1", None, [], [])]
    q = query.Query(query.LOCK_FIELDS, query.LOCK_DEFAULT_FIELDS, sort_key=lambda r: 0)
    assert q.query(None, rows) == [
        [[0, "cluster/BGL"], [0, "shared"], [0, ["job/3", "job/4"]],
         [0, [["exclusive", ["job/5"]]]]],
        [[0, "node/n1"], [C.RS_UNAVAIL, None], [0, []], [0, []]],
    ]
    q = query.Query(query.LOCK_FIELDS, ["name"], ["=[]", "owner", "job/4"])
    assert q.query(None, rows) == [[[0, "cluster/BGL"]]]
    assert [f.title for f in q.get_fields()] == ["Name"]
    assert {n: f.fdef.title for n, f in query.LOCK_FIELDS.items()} == \
        {"name": "Name", "mode": "Mode", "owner": "Owner", "pending": "Pending"}
    assert query.LOCK_FIELDS["pending"].fdef.kind == C.QFT_OTHER
