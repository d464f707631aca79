"""OS definitions installed on this node (``os_diagnose``).

An OS definition is a directory ``<search dir>/<name>/`` following the
ganeti-os-interface layout (API 10/15/20). Each is inspected on every
call (OS packages come and go without telling Ganeti) and reported as
``[name, path, valid, diagnose, variants, parameters, api_versions,
trusted]``; an invalid one carries the reason in ``diagnose``.
"""

from __future__ import annotations

import os

from ganeti import constants, pathutils
from ganeti.utils import io

CREATE_UNTRUSTED = "create_untrusted"


class InvalidOS(Exception):
    """Why an OS directory is not a usable OS definition."""


def _read_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [line.strip() for line in fh
                if line.strip() and not line.lstrip().startswith("#")]


def _api_versions(path: str) -> list[int]:
    api_file = os.path.join(path, constants.OS_API_FILE)
    try:
        lines = _read_lines(api_file)
    except FileNotFoundError:
        raise InvalidOS("'%s' file not found under path %s" % (constants.OS_API_FILE, path))
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidOS("Error while reading the API version file at %s: %s" % (api_file, err))
    try:
        versions = [int(v) for v in lines]
    except ValueError:
        raise InvalidOS("API version file at %s does not contain integers" % api_file)
    if not versions:
        raise InvalidOS("API version file at %s is empty" % api_file)
    return versions


def _check_scripts(path: str, api: int) -> bool:
    """Validate the scripts; returns whether the OS is trusted."""
    scripts = [constants.OS_SCRIPT_IMPORT, constants.OS_SCRIPT_EXPORT,
               constants.OS_SCRIPT_RENAME]
    if api >= constants.OS_API_V20:
        scripts.append(constants.OS_SCRIPT_VERIFY)
    create = os.path.join(path, constants.OS_SCRIPT_CREATE)
    untrusted = os.path.join(path, CREATE_UNTRUSTED)
    if os.path.lexists(create) and os.path.lexists(untrusted):
        raise InvalidOS("Both '%s' and '%s' scripts exist; only one is allowed"
                        % (constants.OS_SCRIPT_CREATE, CREATE_UNTRUSTED))
    trusted = not os.path.lexists(untrusted)
    scripts.insert(0, constants.OS_SCRIPT_CREATE if trusted else CREATE_UNTRUSTED)
    for script in scripts:
        spath = os.path.join(path, script)
        if not os.path.lexists(spath):
            raise InvalidOS("Script '%s' not found under path %s" % (script, path))
        if not io.is_executable_file(spath):
            raise InvalidOS("Script '%s' under path %s is not an executable regular file"
                            % (script, path))
    return trusted


def _variants(path: str, api: int) -> list[str]:
    vfile = os.path.join(path, constants.OS_VARIANTS_FILE)
    if api < constants.OS_API_V15 or not os.path.exists(vfile):
        return []
    try:
        variants = _read_lines(vfile)
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidOS("Error while reading the OS variants file at %s: %s" % (vfile, err))
    if not variants:
        raise InvalidOS("No supported os variant found in %s" % vfile)
    return variants


def _parameters(path: str, api: int) -> list[list[str]]:
    if api < constants.OS_API_V20:
        return []
    pfile = os.path.join(path, constants.OS_PARAMETERS_FILE)
    try:
        lines = _read_lines(pfile)
    except FileNotFoundError:
        raise InvalidOS("'%s' file not found under path %s (required by API %d)"
                        % (constants.OS_PARAMETERS_FILE, path, api))
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidOS("Error while reading the OS parameters file at %s: %s" % (pfile, err))
    params = []
    for line in lines:
        parts = line.split(None, 1)
        params.append([parts[0], parts[1].strip() if len(parts) > 1 else ""])
    return params


def inspect_os(name: str, base: str) -> list:
    """One os_diagnose entry for ``<base>/<name>``."""
    path = os.path.join(base, name)
    shown = pathutils.strip_root(path)
    versions: list[int] = []
    try:
        versions = _api_versions(path)
        supported = constants.OS_API_VERSIONS.intersection(versions)
        if not supported:
            raise InvalidOS("API version mismatch for path '%s': found %s, want %s"
                            % (shown, versions, sorted(constants.OS_API_VERSIONS)))
        api = max(supported)
        trusted = _check_scripts(path, api)
        variants = _variants(path, api)
        params = _parameters(path, api)
    except InvalidOS as err:
        return [name, shown, False, str(err).replace(path, shown), [], [], versions, True]
    return [name, shown, True, "", variants, params, versions, trusted]


def os_diagnose(search_path: list[str] | None = None) -> list[list]:
    """Every OS on this node; for a name found twice the first directory wins."""
    return [inspect_os(name, os.path.dirname(path))
            for name, path in io.search_path_dirs(search_path or pathutils.OS_SEARCH_PATH)]
