"""OS definitions found on this node (``os_diagnose``)."""

from __future__ import annotations

import os
import stat

from ganeti import constants, pathutils


def _read_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [line.strip() for line in fh
                if line.strip() and not line.lstrip().startswith("#")]


def _is_exec(path: str) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and bool(st.st_mode & stat.S_IXUSR)


def inspect_os(name: str, base: str) -> list:
    """[name, path, valid, diagnose, variants, parameters, api_versions, trusted]."""
    path = os.path.join(base, name)
    try:
        versions = [int(v) for v in _read_lines(os.path.join(path, constants.OS_API_FILE))]
    except FileNotFoundError:
        return [name, path, False, "API version file not found", [], [], [], True]
    except (OSError, ValueError) as err:
        return [name, path, False, "Error while reading the API version file: %s" % err,
                [], [], [], True]
    if not constants.OS_API_VERSIONS.intersection(versions):
        return [name, path, False, "API version mismatch (found %s, expected one of %s)" % (
            versions, sorted(constants.OS_API_VERSIONS)), [], [], versions, True]
    api = max(constants.OS_API_VERSIONS.intersection(versions))
    trusted = True
    scripts = [constants.OS_SCRIPT_CREATE, constants.OS_SCRIPT_IMPORT,
               constants.OS_SCRIPT_EXPORT, constants.OS_SCRIPT_RENAME]
    if api >= constants.OS_API_V20:
        scripts.append(constants.OS_SCRIPT_VERIFY)
    for script in scripts:
        spath = os.path.join(path, script)
        if script == constants.OS_SCRIPT_CREATE and not os.path.exists(spath) and \
                _is_exec(os.path.join(path, "create_untrusted")):
            trusted = False
            continue
        if not os.path.exists(spath):
            return [name, path, False, "Script %s is missing" % script, [], [], versions,
                    trusted]
        if not _is_exec(spath):
            return [name, path, False, "Script %s is not an executable regular file" % script,
                    [], [], versions, trusted]
    variants: list[str] = []
    if api >= constants.OS_API_V15:
        vfile = os.path.join(path, constants.OS_VARIANTS_FILE)
        if os.path.exists(vfile):
            try:
                variants = _read_lines(vfile)
            except OSError as err:
                return [name, path, False, "Error while reading the variants file: %s" % err,
                        [], [], versions, trusted]
    params: list[list[str]] = []
    if api >= constants.OS_API_V20:
        pfile = os.path.join(path, constants.OS_PARAMETERS_FILE)
        if os.path.exists(pfile):
            try:
                for line in _read_lines(pfile):
                    parts = line.split(None, 1)
                    params.append([parts[0], parts[1] if len(parts) > 1 else ""])
            except OSError as err:
                return [name, path, False, "Error while reading the parameters file: %s" % err,
                        [], [], versions, trusted]
    return [name, path, True, "", variants, params, versions, trusted]


def os_diagnose(search_path: list[str] | None = None) -> list[list]:
    """Every OS on this node; the first directory on the search path wins."""
    out = []
    seen = set()
    for base in search_path or pathutils.OS_SEARCH_PATH:
        try:
            names = sorted(os.listdir(base))
        except OSError:
            continue
        for name in names:
            if name in seen or not os.path.isdir(os.path.join(base, name)):
                continue
            seen.add(name)
            out.append(inspect_os(name, base))
    return out
