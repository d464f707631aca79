"""Structured option values (ganeti.cli.kvparse), spec/cli.md §1.2."""

import pytest
from hypothesis import given, strategies as st

from ganeti import errors
from ganeti.cli import kvparse


def test_kv_forms():
    assert kvparse.parse_kv("") == {}
    assert kvparse.parse_kv("a=1,b,no_c,-d") == {"a": "1", "b": True, "c": False, "d": None}
    assert kvparse.parse_kv("kernel_args=ro console=ttyS0") == \
        {"kernel_args": "ro console=ttyS0"}
    assert kvparse.parse_kv("a=,b=x=y") == {"a": "", "b": "x=y"}
    assert kvparse.parse_kv("no_=1") == {"no_": "1"}


def test_kv_escapes():
    assert kvparse.parse_kv(r"a=x\,y,b=2") == {"a": "x,y", "b": "2"}
    assert kvparse.parse_kv("a=x\\\\,b=2") == {"a": "x\\", "b": "2"}
    assert kvparse.parse_kv("a=x\\") == {"a": "x\\"}
    assert kvparse.split_escaped(r"a\:b:c", ":") == ["a:b", "c"]


@pytest.mark.parametrize("text,words", [
    ("a=1,a=2", "Duplicate key 'a' in option -B"),
    ("a,no_a", "Duplicate key 'a' in option -B"),
    ("a=1,,b", "Empty parameter name in option -B"),
    ("=5", "Empty parameter name"),
])
def test_kv_errors(text, words):
    with pytest.raises(errors.ParameterError) as exc:
        kvparse.parse_kv(text, "option -B")
    assert words in exc.value.args[0]


keys = st.from_regex(r"[a-z_][a-z0-9_.]{0,8}", fullmatch=True).filter(
    lambda k: not k.startswith("no_"))


@given(st.dictionaries(keys, st.text(max_size=10), max_size=5))
def test_kv_escape_round_trip(values):
    text = ",".join("%s=%s" % (k, kvparse.escape(v)) for k, v in values.items())
    assert kvparse.parse_kv(text) == values


@given(st.lists(st.text(max_size=8), min_size=1, max_size=6))
def test_split_escaped_round_trip(items):
    assert kvparse.split_escaped(",".join(kvparse.escape(i) for i in items)) == items


@given(st.dictionaries(keys, st.sampled_from([True, False, None]), max_size=5))
def test_kv_prefix_forms_round_trip(flags):
    text = ",".join((k if v else ("no_" + k if v is False else "-" + k))
                    for k, v in flags.items())
    assert kvparse.parse_kv(text) == flags


def test_ident_kv():
    assert kvparse.parse_ident_kv("kvm:kernel_path=/x,acpi") == \
        ("kvm", {"kernel_path": "/x", "acpi": True})
    assert kvparse.parse_ident_kv("kvm") == ("kvm", {})
    assert kvparse.parse_ident_kv("0:size=10G") == ("0", {"size": "10G"})
    assert kvparse.parse_ident_kv("add:size=1g,mode=rw") == ("add", {"size": "1g",
                                                                     "mode": "rw"})
    assert kvparse.parse_ident_kv(r"x:a=b\:c\,d") == ("x", {"a": "b:c,d"})
    assert kvparse.parse_ident_kv("no_drbd") == ("drbd", False)
    assert kvparse.parse_ident_kv("-drbd") == ("drbd", None)
    assert kvparse.parse_ident_kv("-") == ("", None)
    assert kvparse.parse_ident_kv("-1:size=5") == ("-1", {"size": "5"})


@pytest.mark.parametrize("text", ["no_drbd:a=1", "-drbd:a=1", "no_x:,"])
def test_ident_kv_removal_takes_no_options(text):
    with pytest.raises(errors.ParameterError) as exc:
        kvparse.parse_ident_kv(text)
    assert "Cannot pass options when removing parameter groups" in exc.value.args[0]


def test_ident_kv_inner_errors_name_the_option():
    with pytest.raises(errors.ParameterError) as exc:
        kvparse.parse_ident_kv("kvm:a=1,a=2", "option -H")
    assert exc.value.args[0] == "Duplicate key 'a' in option -H"


@pytest.mark.parametrize("text,mib", [
    ("512", 512), ("1.5G", 1536), ("10gb", 10240), ("1t", 1048576), ("2TiB", 2097152),
    ("1M", 4), ("5", 8), ("0.1g", 104), ("3 m", 4), ("1024mib", 1024),
])
def test_sizes(text, mib):
    assert kvparse.parse_size(text) == mib


@pytest.mark.parametrize("text", ["12q", "", "g", "1.2.3g", "-5"])
def test_bad_sizes(text):
    with pytest.raises(errors.ParameterError) as exc:
        kvparse.parse_size(text)
    assert exc.value.args[0].startswith("Invalid size '%s'" % text)


@given(st.integers(0, 10**6))
def test_sizes_round_up_to_four(mib):
    got = kvparse.parse_size("%dm" % mib)
    assert got % 4 == 0 and mib <= got < mib + 4


@pytest.mark.parametrize("text,value", [("yes", True), ("YES", True), ("true", True),
                                        ("no", False), ("No", False), ("false", False)])
def test_yes_no(text, value):
    assert kvparse.parse_bool_yes_no(text) is value


@pytest.mark.parametrize("text", ["y", "1", "", "maybe"])
def test_yes_no_errors(text):
    with pytest.raises(errors.ParameterError) as exc:
        kvparse.parse_bool_yes_no(text, "option --offline")
    assert exc.value.args[0] == ("Invalid boolean value '%s' for option --offline"
                                 " (expected yes or no)" % text)


@pytest.mark.parametrize("text,seconds", [("30", 30), ("30s", 30), ("5m", 300), ("2h", 7200),
                                          ("1d", 86400), ("1w", 604800), ("0", 0)])
def test_timespec(text, seconds):
    assert kvparse.parse_timespec(text) == seconds


@given(st.integers(0, 10**6), st.sampled_from(list("smhdw") + [""]))
def test_timespec_property(number, suffix):
    mult = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[suffix]
    assert kvparse.parse_timespec("%d%s" % (number, suffix)) == number * mult


@pytest.mark.parametrize("text,words", [
    ("", "Empty time specification passed"),
    ("h", "only suffix passed"),
    ("xh", "Invalid time specification 'xh'"),
    ("1.5h", "Invalid time specification '1.5h'"),
    ("1y", "Invalid time specification '1y'"),
    ("1_000", "Invalid time specification '1_000'"),
])
def test_timespec_errors(text, words):
    with pytest.raises(errors.OpPrereqError) as exc:
        kvparse.parse_timespec(text)
    assert words in exc.value.args[0]
    assert exc.value.args[1] == errors.ECODE_INVAL
