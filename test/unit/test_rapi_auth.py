"""RAPI users file and the access rule (spec/rapi.md §2)."""

from __future__ import annotations

import base64
import hashlib
import os
import time

import pytest

from ganeti.rapi import auth
from ganeti.rapi.base import NO_AUTH, READ_WRITE, WRITE, RapiError


def basic(user: str, pw: str) -> str:
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


USERS = """\
# comment line

plain   secret
clear   {cleartext}s3cret   read
hashed  {HA1}%s   write
both    pw      read,write
braced  {unknown}x write
bad
too many fields here
""" % hashlib.md5(b"hashed:Ganeti Remote API:hpw").hexdigest().upper()


def test_parse_users_formats_and_bad_lines():
    users = auth.parse_users(USERS)
    assert sorted(users) == ["both", "braced", "clear", "hashed", "plain"]
    assert users["plain"].options == frozenset()
    assert users["clear"].options == {"read"}
    assert users["both"].options == {"read", "write"}


@pytest.mark.parametrize("name,pw,ok", [
    ("plain", "secret", True), ("plain", "secreT", False), ("plain", "", False),
    ("clear", "s3cret", True), ("clear", "{cleartext}s3cret", False),
    ("hashed", "hpw", True), ("hashed", "HPW", False),
    ("both", "pw", True), ("braced", "x", False), ("braced", "{unknown}x", False),
])
def test_check_password(name, pw, ok):
    users = auth.parse_users(USERS)
    assert auth.check_password(users[name], pw) is ok


def test_ha1_helper_matches_spec():
    assert auth.ha1("u", "p") == hashlib.md5(b"u:Ganeti Remote API:p").hexdigest()


@pytest.mark.parametrize("header,expected", [
    (None, None), ("", None), ("Digest abc", None), ("Basic", None),
    ("Basic !!!notbase64", None), ("Basic " + base64.b64encode(b"nocolon").decode(), None),
    ("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), None),
    (basic("a", "b:c"), ("a", "b:c")), ("basic " + base64.b64encode(b"a:").decode(), ("a", "")),
])
def test_parse_basic(header, expected):
    assert auth.parse_basic(header) == expected


def _authn(tmp_path, text=USERS, require=False):
    path = tmp_path / "users"
    path.write_text(text)
    return auth.Authenticator(auth.UsersFile(str(path)), require), path


def _code(fn) -> int:
    with pytest.raises(RapiError) as exc:
        fn()
    return exc.value.code


def test_access_rule(tmp_path):
    a, _ = _authn(tmp_path)
    # open GET: anyone; valid credentials name the user, wrong ones are ignored
    assert a.authorize(None, NO_AUTH) is None
    assert a.authorize(basic("plain", "secret"), NO_AUTH) == "plain"
    assert a.authorize(basic("plain", "wrong"), NO_AUTH) is None
    # write methods
    assert _code(lambda: a.authorize(None, WRITE)) == 401
    assert _code(lambda: a.authorize(basic("nobody", "x"), WRITE)) == 401
    assert _code(lambda: a.authorize(basic("hashed", "bad"), WRITE)) == 401
    assert _code(lambda: a.authorize(basic("clear", "s3cret"), WRITE)) == 403
    assert _code(lambda: a.authorize(basic("plain", "secret"), WRITE)) == 403
    assert a.authorize(basic("hashed", "hpw"), WRITE) == "hashed"
    # [write, read] lists (console, /2/query)
    assert a.authorize(basic("clear", "s3cret"), READ_WRITE) == "clear"
    assert _code(lambda: a.authorize(basic("plain", "secret"), READ_WRITE)) == 403


def test_require_authentication(tmp_path):
    a, _ = _authn(tmp_path, require=True)
    assert _code(lambda: a.authorize(None, NO_AUTH)) == 401
    assert _code(lambda: a.authorize(basic("plain", "nope"), NO_AUTH)) == 401
    # an empty access list admits any valid user, even one without options
    assert a.authorize(basic("plain", "secret"), NO_AUTH) == "plain"


def test_users_file_reread_on_change_and_missing(tmp_path):
    a, path = _authn(tmp_path, "u1 pw1 write\n")
    assert a.authorize(basic("u1", "pw1"), WRITE) == "u1"
    # replaced like an editor does (new inode), same size and maybe same mtime
    new = tmp_path / "users.new"
    new.write_text("u2 pw2 write\n")
    os.replace(new, path)
    assert _code(lambda: a.authorize(basic("u1", "pw1"), WRITE)) == 401
    assert a.authorize(basic("u2", "pw2"), WRITE) == "u2"
    # rewritten in place with a new mtime
    time.sleep(0.01)
    path.write_text("u3 pw3 write\n")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert a.authorize(basic("u3", "pw3"), WRITE) == "u3"
    path.unlink()
    assert _code(lambda: a.authorize(basic("u3", "pw3"), WRITE)) == 401


def test_forced_reload_sees_same_stamp_change(tmp_path):
    path = tmp_path / "users"
    path.write_text("u1 pw1 write\n")
    st = os.stat(path)
    users = auth.UsersFile(str(path))
    assert "u1" in users.users()
    with open(path, "r+") as fh:  # same size, same inode, mtime put back
        fh.write("u2 pw2 write\n")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert "u1" in users.users()      # identical stamp: not noticed...
    users.reload()                    # ...until SIGHUP
    assert "u2" in users.users()


def test_unreadable_file_keeps_users(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads any file")
    a, path = _authn(tmp_path, "u1 pw1 write\n")
    assert a.authorize(basic("u1", "pw1"), WRITE) == "u1"
    path.write_text("u1 pw1 write\nu2 x write\n")
    path.chmod(0)
    assert a.authorize(basic("u1", "pw1"), WRITE) == "u1"
