"""Hook scripts: run-parts style execution of ``<path>-<phase>.d``."""

from __future__ import annotations

import os
import re
import subprocess

from ganeti import constants, errors, pathutils

_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
HOOK_TIMEOUT = 3600


def hooks_runner(hpath: str, phase: str, env: dict) -> list:
    if phase not in (constants.HOOKS_PHASE_PRE, constants.HOOKS_PHASE_POST):
        raise errors.ParameterError("Unknown hooks phase '%s'" % phase)
    if not isinstance(hpath, str) or "/" in hpath or hpath.startswith("."):
        raise errors.ParameterError("Invalid hooks path '%s'" % hpath)
    if not isinstance(env, dict):
        raise errors.ParameterError("Hooks environment must be a dict")
    subdir = "%s-%s.d" % (hpath, phase)
    directory = os.path.join(pathutils.HOOKS_BASE_DIR, subdir)
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return []
    run_env = {str(k): str(v) for k, v in env.items()}
    run_env["PATH"] = "/sbin:/bin:/usr/sbin:/usr/bin"
    results = []
    for name in names:
        script = os.path.join(directory, name)
        rel = os.path.join(subdir, name)
        if not _NAME_RE.match(name) or not os.path.isfile(script) or \
                not os.access(script, os.X_OK):
            results.append([rel, constants.HKR_SKIP, ""])
            continue
        try:
            proc = subprocess.run([script], env=run_env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  cwd=directory, timeout=HOOK_TIMEOUT, check=False)
            output = proc.stdout.decode("utf-8", "replace").strip()
            status = constants.HKR_SUCCESS if proc.returncode == 0 else constants.HKR_FAIL
        except subprocess.TimeoutExpired:
            output, status = "Timeout after %d seconds" % HOOK_TIMEOUT, constants.HKR_FAIL
        except OSError as err:
            output, status = "Can't execute: %s" % err, constants.HKR_FAIL
        results.append([rel, status, output])
    return results
