"""The filter language (ganeti.qlang): text parsing, CLI arguments, evaluation."""

import json
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from ganeti import constants as C
from ganeti import errors, qlang, query


# --- text form -------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ('status == "running"', ["==", "status", "running"]),
    ("status = 'running'", ["==", "status", "running"]),
    ("pinst_cnt != 0", ["!=", "pinst_cnt", 0]),
    ("be/vcpus >= +3", [">=", "be/vcpus", 3]),
    ("x<-1", ["<", "x", -1]),
    ("x <= 1", ["<=", "x", 1]),
    ("x > 1", [">", "x", 1]),
    ("not master_candidate", ["!", ["?", "master_candidate"]]),
    ("admin_state", ["?", "admin_state"]),
    ("notes", ["?", "notes"]),
    ('"web" in tags', ["=[]", "tags", "web"]),
    ("5 not in ids", ["!", ["=[]", "ids", 5]]),
    ("name =~ m/^a/i", ["=~", "name", "(?i)^a"]),
    ("name =~ /x/si", ["=~", "name", "(?is)x"]),
    ("name !~ #a/b#", ["!", ["=~", "name", "a/b"]]),
    (r"name =~ /a\/b\d/", ["=~", "name", r"a/b\d"]),
    ("name =~ m|a|", ["=~", "name", "a"]),
    ("name =~ ^x^", ["=~", "name", "x"]),
    ("name =~ ;x;", ["=~", "name", "x"]),
    ('name =* "web*.example.com"', ["=~", "name", r"^web[^.]*\.example\.com(\..*)?$"]),
    ("name !* 'db?'", ["!", ["=~", "name", r"^db[^.](\..*)?$"]]),
    (r'os == "a\"b"', ["==", "os", 'a"b']),
    (r"os == 'a\\t\tb\q'", ["==", "os", "a\\t\tbq"]),
    ("(be/vcpus == 3 or be/vcpus == 6) and pnode.group =~ m/^rack/",
     ["&", ["|", ["==", "be/vcpus", 3], ["==", "be/vcpus", 6]],
      ["=~", "pnode.group", "^rack"]]),
    ("a or b and c", ["|", ["?", "a"], ["&", ["?", "b"], ["?", "c"]]]),
    ("a and b and c", ["&", ["?", "a"], ["?", "b"], ["?", "c"]]),
    ("not a and b", ["&", ["!", ["?", "a"]], ["?", "b"]]),
    ("not not a", ["!", ["!", ["?", "a"]]]),
    ("((a))", ["?", "a"]),
    ("\ta ==\n 1 ", ["==", "a", 1]),
])
def test_parse_filter(text, expected):
    assert qlang.parse_filter(text) == expected


@pytest.mark.parametrize("text,column,words", [
    ("name ==", 8, "Expected value"),
    ("a ==== 1", 5, "Expected value"),
    ("a and", 6, "Expected condition"),
    ("", 1, "Expected condition"),
    ("(a == 1", 8, "Expected ')'"),
    ("a b", 3, "end of text"),
    ("name =~ /x/q", 9, "Unknown regular expression flag(s) 'q'"),
    ("name =~ /(/", 9, "Invalid regular expression"),
    ("a =~ 5", 6, "Expected regular expression"),
    ('"x" in', 7, "Expected field name"),
    ("a == b", 6, "Expected value"),
])
def test_parse_errors_point_at_the_problem(text, column, words):
    with pytest.raises(errors.QueryFilterParseError) as exc:
        qlang.parse_filter(text)
    err = exc.value
    assert err.args[0].startswith("Failed to parse query filter '%s': " % text)
    assert words in err.args[0]
    line, caret, detail = err.GetDetails()
    assert line == text and caret == " " * (column - 1) + "^"
    assert "col:%d" % column in detail


def test_module_import_does_not_load_pyparsing():
    code = ("import sys; import ganeti.qlang as q; "
            "assert q.make_filter(['a'], False) == ['|', ['==', 'name', 'a']]; "
            "print('pyparsing' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# Random filters in the JSON form the text syntax produces, rendered back to text.
names = st.from_regex(r"[a-z][a-z0-9_/.]{0,6}", fullmatch=True).filter(
    lambda n: n not in ("not", "and", "or", "in"))
strings = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=8)
values = st.one_of(strings, st.integers(-10**6, 10**6))


def _quote(value):
    if isinstance(value, int):
        return str(value)
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


leaves = st.one_of(
    st.builds(lambda op, f, v: [op, f, v], st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
              names, values),
    st.builds(lambda f: ["?", f], names),
    st.builds(lambda f, v: ["=[]", f, v], names, values),
    st.builds(lambda f, r: ["=~", f, r], names, st.from_regex(r"[a-z.^$]{0,5}", fullmatch=True)),
)
filters = st.recursive(leaves, lambda sub: st.one_of(
    st.builds(lambda f: ["!", f], sub),
    st.builds(lambda fs: ["&"] + fs, st.lists(sub, min_size=2, max_size=3)),
    st.builds(lambda fs: ["|"] + fs, st.lists(sub, min_size=2, max_size=3))), max_leaves=8)


def _to_text(node):
    op = node[0]
    if op == "?":
        return node[1]
    if op == "!":
        return "not (%s)" % _to_text(node[1])
    if op in ("&", "|"):
        word = " and " if op == "&" else " or "
        return word.join("(%s)" % _to_text(sub) for sub in node[1:])
    if op == "=[]":
        return "%s in %s" % (_quote(node[2]), node[1])
    if op == "=~":
        return "%s =~ /%s/" % (node[1], node[2])
    return "%s %s %s" % (node[1], op, _quote(node[2]))


@settings(max_examples=300)
@given(filters)
def test_text_form_round_trip(qfilter):
    assert qlang.parse_filter(_to_text(qfilter)) == qfilter
    json.dumps(qfilter)  # plain JSON, no pyparsing objects


# --- CLI arguments -------------------------------------------------------------------

def test_make_filter_forms():
    assert qlang.make_filter([], False) is None
    assert qlang.make_filter([], True) is None
    assert qlang.make_filter(["a", "b"], False) == \
        ["|", ["==", "name", "a"], ["==", "name", "b"]]
    assert qlang.make_filter(["web*", "db"], False, namefield="node") == \
        ["|", ["=~", "node", r"^web[^.]*(\..*)?$"], ["==", "node", "db"]]
    assert qlang.make_filter(["*.site1", "*.site2"], False) == \
        ["|", ["=~", "name", r"^[^.]*\.site1(\..*)?$"], ["=~", "name", r"^[^.]*\.site2(\..*)?$"]]
    assert qlang.make_filter(["pinst_cnt != 0"], False) == ["!=", "pinst_cnt", 0]
    assert qlang.make_filter(["admin_state"], True) == ["?", "admin_state"]
    assert qlang.make_filter(["1", "22"], False, "id", True) == \
        ["|", ["==", "id", 1], ["==", "id", 22]]
    # two arguments are never a filter expression, whatever they contain
    assert qlang.make_filter(["a b", "c"], False) == \
        ["|", ["==", "name", "a b"], ["==", "name", "c"]]


def test_make_filter_errors():
    with pytest.raises(errors.OpPrereqError) as exc:
        qlang.make_filter(["a", "b"], True)
    assert "only one argument" in exc.value.args[0]
    assert exc.value.args[1] == errors.ECODE_INVAL
    with pytest.raises(errors.OpPrereqError) as exc:
        qlang.make_filter(["3", "x"], False, "id", True)
    assert exc.value.args == ("Invalid job ID passed: 'x' is not a number",
                              errors.ECODE_INVAL)
    with pytest.raises(errors.QueryFilterParseError):
        qlang.make_filter(["name =="], False)


@pytest.mark.parametrize("char", sorted(qlang.FILTER_DETECTION_CHARS))
def test_every_detection_char_triggers_parsing(char, monkeypatch):
    seen = []
    monkeypatch.setattr(qlang, "parse_filter", lambda text: seen.append(text) or ["?", "x"])
    assert qlang.make_filter(["a%sb" % char], False) == ["?", "x"]
    assert seen == ["a%sb" % char]


@given(st.from_regex(r"[a-z0-9-]{1,8}", fullmatch=True),
       st.from_regex(r"[a-z0-9.-]{0,10}", fullmatch=True))
def test_glob_semantics(label, domain):
    literal = re.compile(qlang.glob_to_regex(label))
    assert literal.match(label)
    assert literal.match(label + "." + domain)
    assert not literal.match(label + "x" + domain)
    star = re.compile(qlang.glob_to_regex(label[0] + "*"))
    assert star.match(label) and star.match(label + "." + domain)
    assert not star.match("." + label)
    assert re.compile(qlang.glob_to_regex("?" * len(label))).match(label)


def test_filter_names():
    assert qlang.filter_names(None, "name") is None
    assert qlang.filter_names(["==", "name", "a"], "name") == ["a"]
    assert qlang.filter_names(["|", ["==", "name", "a"], ["=", "name", "b"],
                               ["|", ["==", "name", "a"]]], "name") == ["a", "b"]
    assert qlang.filter_names(["|"], "name") == []
    assert qlang.filter_names(["|", ["==", "id", 5]], "id") == [5]
    assert qlang.filter_names(["|", ["==", "name", "a"], ["==", "os", "b"]], "name") is None
    assert qlang.filter_names(["|", ["=~", "name", "a"]], "name") is None
    assert qlang.filter_names(["&", ["==", "name", "a"]], "name") is None
    assert qlang.filter_names(["==", "name", True], "name") is None


def test_filter_fields():
    assert qlang.filter_fields(None) == set()
    assert qlang.filter_fields(["&", ["!", ["?", "a"]], ["|", ["==", "b", 1],
                                                          ["=~", "c", "x"]]]) == {"a", "b", "c"}


# --- evaluation ----------------------------------------------------------------------

TABLE = query.build_table([
    query.make_field("name", "Name", C.QFT_TEXT, "Name", lambda c, i: i["name"],
                     qlang.QFF_HOSTNAME),
    query.make_field("os", "OS", C.QFT_TEXT, "OS", lambda c, i: i.get("os", query.UNAVAIL)),
    query.make_field("n", "N", C.QFT_NUMBER, "Number", lambda c, i: i.get("n", query.NODATA)),
    query.make_field("up", "Up", C.QFT_BOOL, "Up", lambda c, i: i.get("up", query.OFFLINE)),
    query.make_field("tags", "Tags", C.QFT_OTHER, "Tags", lambda c, i: i.get("tags", [])),
    query.make_field("ts", "TS", C.QFT_OTHER, "Timestamp", lambda c, i: i.get("ts"),
                     qlang.QFF_SPLIT_TIMESTAMP),
])
ITEMS = [
    {"name": "node1.example.com", "os": "debian", "n": 1, "up": True, "tags": ["a", "b"],
     "ts": [100, 999999]},
    {"name": "node10.example.com", "os": "Ubuntu", "n": 10, "up": False, "tags": [1],
     "ts": [200, 0]},
    {"name": "node2", "tags": []},
]


def _select(qfilter):
    pred = qlang.compile_filter(TABLE, qfilter)
    return [item["name"] for item in ITEMS if pred(None, item)]


@pytest.mark.parametrize("qfilter,expected", [
    (None, ["node1.example.com", "node10.example.com", "node2"]),
    (["|"], []),
    (["&"], ["node1.example.com", "node10.example.com", "node2"]),
    (["==", "name", "node1"], ["node1.example.com"]),
    (["=", "name", "node1.example.com"], ["node1.example.com"]),
    (["==", "name", "node1.example"], ["node1.example.com"]),
    (["==", "name", "node"], []),
    (["!=", "name", "node1"], ["node10.example.com", "node2"]),
    (["==", "os", "debian"], ["node1.example.com"]),
    (["!=", "os", "debian"], ["node10.example.com"]),
    (["!", ["==", "os", "debian"]], ["node10.example.com", "node2"]),
    (["<", "n", 10], ["node1.example.com"]),
    (["<=", "n", 10], ["node1.example.com", "node10.example.com"]),
    ([">", "n", 1], ["node10.example.com"]),
    ([">=", "n", 1.5], ["node10.example.com"]),
    ([">", "n", "5"], []),
    ([">", "os", "a"], ["node1.example.com"]),
    (["==", "n", 1.0], ["node1.example.com"]),
    (["==", "up", 1], []),
    (["?", "up"], ["node1.example.com"]),
    (["!", ["?", "up"]], ["node10.example.com", "node2"]),
    (["?", "tags"], ["node1.example.com", "node10.example.com"]),
    (["=[]", "tags", "a"], ["node1.example.com"]),
    (["=[]", "tags", 1], ["node10.example.com"]),
    (["=[]", "tags", True], []),
    (["=[]", "os", "e"], []),
    (["=~", "os", "(?i)^u"], ["node10.example.com"]),
    (["=~", "os", "bia"], ["node1.example.com"]),
    (["=~", "n", "1"], []),
    (["==", "ts", 100], ["node1.example.com"]),
    ([">", "ts", 100], ["node10.example.com"]),
    (["&", ["?", "tags"], ["|", ["==", "n", 1], ["==", "n", 10]], ["!", ["?", "up"]]],
     ["node10.example.com"]),
])
def test_compile_filter_semantics(qfilter, expected):
    assert _select(qfilter) == expected


@pytest.mark.parametrize("qfilter,words", [
    ("name", "expected a list"),
    ([], "expected a list"),
    (["~~", "name", "x"], "Unknown operator '~~'"),
    ([5, "name"], "Unknown operator 5"),
    (["==", "nosuch", 1], "Unknown field 'nosuch'"),
    (["?", "nosuch"], "Unknown field 'nosuch'"),
    (["==", 5, 1], "must be a string"),
    (["==", "name"], "exactly two operands"),
    (["==", "name", 1, 2], "exactly two operands"),
    (["!"], "exactly one operand"),
    (["!", ["?", "up"], ["?", "up"]], "exactly one operand"),
    (["?", "up", "n"], "exactly one operand"),
    (["=~", "name", "("], "Invalid regular expression"),
    (["=~", "name", 5], "must be a string"),
    (["==", "name", ["a"]], "must be a string or a number"),
    (["==", "name", None], "must be a string or a number"),
    (["&", ["?", "up"], ["|", "bad"]], "expected a list"),
])
def test_compile_filter_errors(qfilter, words):
    with pytest.raises(errors.QueryFilterParseError) as exc:
        qlang.compile_filter(TABLE, qfilter)
    assert words in exc.value.args[0]


def test_deep_nesting_is_an_error_not_a_crash():
    deep = ["?", "up"]
    for _ in range(5000):
        deep = ["!", deep]
    with pytest.raises(errors.QueryFilterParseError):
        qlang.compile_filter(TABLE, deep)


def test_regex_compiled_once(monkeypatch):
    calls = []
    real = re.compile
    monkeypatch.setattr(re, "compile", lambda *a: calls.append(a) or real(*a))
    pred = qlang.compile_filter(TABLE, ["=~", "os", "^deb"])
    assert [pred(None, item) for item in ITEMS * 50].count(True) == 50
    assert len(calls) == 1


def test_job_id_strings_compare_as_numbers():
    assert qlang.compile_filter(query.JOB_FIELDS, ["==", "id", "12"])(None, {"id": 12})


@settings(max_examples=200)
@given(filters, filters)
def test_logic_laws(f, g):
    """not-not, De Morgan: checks the logic operators against each other."""
    table_ = query.build_table([
        query.make_field(name, "T", C.QFT_OTHER, "Doc",
                         lambda c, item, _n=name: item.get(_n, query.UNAVAIL))
        for name in _field_names(f) | _field_names(g)])
    items = [{}, {n: 1 for n in table_}, {n: "a" for n in table_}, {n: [1, "a"] for n in table_},
             {n: i for i, n in enumerate(sorted(table_))}]
    for item in items:
        ff = qlang.compile_filter(table_, f)(None, item)
        gg = qlang.compile_filter(table_, g)(None, item)
        assert qlang.compile_filter(table_, ["!", ["!", f]])(None, item) == ff
        assert qlang.compile_filter(table_, ["&", f, g])(None, item) == (ff and gg)
        assert qlang.compile_filter(table_, ["!", ["|", ["!", f], ["!", g]]])(None, item) == \
            (ff and gg)


def _field_names(node):
    return qlang.filter_fields(node)
