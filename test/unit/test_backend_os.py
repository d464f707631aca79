"""os_diagnose: OS definition discovery and validation rules."""

from __future__ import annotations

import os

import pytest

from ganeti.backend import os_defs


def make_os(base, name, api="20\n", scripts=("create", "import", "export", "rename", "verify"),
            variants=None, params=""):
    path = os.path.join(str(base), name)
    os.makedirs(path)
    if api is not None:
        with open(os.path.join(path, "ganeti_api_version"), "w") as fh:
            fh.write(api)
    for script in scripts:
        with open(os.path.join(path, script), "w") as fh:
            fh.write("#!/bin/sh\n")
        os.chmod(os.path.join(path, script), 0o755)
    if variants is not None:
        with open(os.path.join(path, "variants.list"), "w") as fh:
            fh.write(variants)
    if params is not None:
        with open(os.path.join(path, "parameters.list"), "w") as fh:
            fh.write(params)
    return path


def diagnose(*dirs):
    return {e[0]: e for e in os_defs.os_diagnose([str(d) for d in dirs])}


def test_valid_api20_os(tmp_path):
    make_os(tmp_path, "debootstrap", api="20\n15\n10\n",
            variants="# comment\ndefault\n\nminimal\n",
            params="dhcp\twhether to use DHCP\nroot_size  size of root\n")
    entry = diagnose(tmp_path)["debootstrap"]
    assert entry == ["debootstrap", str(tmp_path / "debootstrap"), True, "",
                     ["default", "minimal"],
                     [["dhcp", "whether to use DHCP"], ["root_size", "size of root"]],
                     [20, 15, 10], True]


def test_api10_needs_no_verify_nor_lists(tmp_path):
    make_os(tmp_path, "old", api="10\n", scripts=("create", "import", "export", "rename"),
            params=None)
    assert diagnose(tmp_path)["old"][2:4] == [True, ""]


def test_untrusted_os(tmp_path):
    make_os(tmp_path, "u", scripts=("create_untrusted", "import", "export", "rename",
                                    "verify"))
    entry = diagnose(tmp_path)["u"]
    assert entry[2] is True and entry[7] is False


@pytest.mark.parametrize("kwargs, fragment", [
    ({"api": None}, "'ganeti_api_version' file not found"),
    ({"api": "5\n"}, "API version mismatch"),
    ({"api": "twenty\n"}, "does not contain integers"),
    ({"api": ""}, "is empty"),
    ({"scripts": ("create", "import", "export", "rename")}, "Script 'verify' not found"),
    ({"params": None}, "'parameters.list' file not found"),
    ({"variants": "\n# nothing\n"}, "No supported os variant found"),
    ({"scripts": ("create", "create_untrusted", "import", "export", "rename", "verify")},
     "Both 'create' and 'create_untrusted'"),
])
def test_invalid_os_reasons(tmp_path, kwargs, fragment):
    make_os(tmp_path, "bad", **kwargs)
    entry = diagnose(tmp_path)["bad"]
    assert entry[2] is False and fragment in entry[3], entry[3]
    assert entry[4:6] == [[], []]


def test_script_not_executable(tmp_path):
    path = make_os(tmp_path, "noexec")
    os.chmod(os.path.join(path, "export"), 0o644)
    entry = diagnose(tmp_path)["noexec"]
    assert entry[2] is False
    assert "Script 'export'" in entry[3] and "not an executable regular file" in entry[3]


def test_first_directory_wins(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    make_os(first, "dup", api=None)  # invalid in the first dir...
    make_os(second, "dup")           # ...valid in the second: first still wins
    make_os(second, "only2")
    (first / "stray-file").write_text("x")
    (first / ".hidden").mkdir()
    entries = os_defs.os_diagnose([str(first), str(tmp_path / "missing"), str(second)])
    assert [e[0] for e in entries] == ["dup", "only2"]
    assert entries[0][1] == str(first / "dup") and entries[0][2] is False
