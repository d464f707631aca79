"""Hook scripts: run-parts style execution of ``<hpath>-<phase>.d``.

Scripts run one after another in lexicographic order, with an empty
environment apart from the hook variables and a fixed PATH, stdin on
/dev/null and stdout+stderr captured together. Names outside
``[A-Za-z0-9_-]+`` (e.g. ``x.sh``, editor backups) and non-executables
are reported as skipped, like run-parts does.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess

from ganeti import constants, errors, pathutils

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
_HPATH_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
HOOK_TIMEOUT = 3600
HOOK_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"
_MAX_OUTPUT = 1024 * 1024


def run_script(path: str, env: dict[str, str], cwd: str,
               timeout: float = HOOK_TIMEOUT) -> tuple[bool, str]:
    """Run one script; (success, output). Kills its whole process group on timeout."""
    try:
        proc = subprocess.Popen([path], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
    except OSError as err:
        return False, "Can't execute %s: %s" % (path, err.strerror or err)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.communicate()
        return False, "Timeout after %g seconds" % timeout
    text = out[-_MAX_OUTPUT:].decode("utf-8", "replace").strip()
    return proc.returncode == 0, text


def hooks_runner(hpath: str, phase: str, env: dict) -> list[list]:
    """Run the hooks of one phase; ``[[relpath, HKR_*, output], ...]``."""
    if phase not in (constants.HOOKS_PHASE_PRE, constants.HOOKS_PHASE_POST):
        raise errors.ParameterError("Unknown hooks phase '%s'" % (phase,))
    if not isinstance(hpath, str) or not _HPATH_RE.match(hpath) or hpath.startswith("."):
        raise errors.ParameterError("Invalid hooks path %r" % (hpath,))
    if not isinstance(env, dict) or not all(isinstance(k, str) for k in env):
        raise errors.ParameterError("Hooks environment must be a dict with string keys")
    subdir = "%s-%s.d" % (hpath, phase)
    directory = os.path.join(pathutils.HOOKS_BASE_DIR, subdir)
    try:
        names = sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as err:
        raise errors.OpExecError("Can't list hooks directory %s: %s" % (subdir, err.strerror))
    run_env = {k: "" if v is None else str(v) for k, v in env.items()
               if k and "=" not in k and "\0" not in k and "\0" not in str(v)}
    run_env["PATH"] = HOOK_PATH
    results: list[list] = []
    for name in names:
        script = os.path.join(directory, name)
        rel = os.path.join(subdir, name)
        if not _NAME_RE.match(name) or not os.path.isfile(script) or \
                not os.access(script, os.X_OK):
            results.append([rel, constants.HKR_SKIP, ""])
            continue
        ok, output = run_script(script, run_env, directory)
        results.append([rel, constants.HKR_SUCCESS if ok else constants.HKR_FAIL, output])
    return results
