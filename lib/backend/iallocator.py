"""``iallocator_runner``: run an instance allocator plugin on the master node.

The plugin gets the request in a temporary file named on its command line,
plus ``--key=value`` (or ``--key`` for a null or true value) for each cluster
default parameter; its standard output is the answer, returned as text
for the master to parse.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile

from ganeti import errors, pathutils

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_PARAM_RE = re.compile(r"^[A-Za-z0-9_-]+$")
TIMEOUT = 300.0


def find_iallocator(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name) or name.startswith("."):
        raise errors.ParameterError("Invalid iallocator name %r" % (name,))
    for base in pathutils.IALLOCATOR_SEARCH_PATH:
        path = os.path.join(base, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise errors.OpExecError("Can't find instance allocator '%s' in the search path (%s)"
                             % (name, ", ".join(pathutils.IALLOCATOR_SEARCH_PATH)))


def iallocator_runner(name: str, idata: str, params: dict | None) -> str:
    path = find_iallocator(name)
    args = [path]
    for key, value in sorted((params or {}).items()):
        if not _PARAM_RE.match(str(key)):
            raise errors.ParameterError("Invalid iallocator parameter %r" % (key,))
        flag = value is None or value is True   # a bare key on the command line
        args.append("--%s" % key if flag else "--%s=%s" % (key, value))
    with tempfile.NamedTemporaryFile("w", prefix="ganeti-iallocator-", suffix=".json") as fh:
        fh.write(idata)
        fh.flush()
        try:
            res = subprocess.run(args[:1] + [fh.name] + args[1:], capture_output=True,
                                 text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL,
                                 check=False)
        except subprocess.TimeoutExpired:
            raise errors.OpExecError("Instance allocator %s timed out after %d s" %
                                     (name, TIMEOUT))
    if res.returncode != 0:
        raise errors.OpExecError("Instance allocator call failed: %s, output: %s" %
                                 (res.returncode, (res.stdout + res.stderr).strip()[-2000:]))
    return res.stdout
