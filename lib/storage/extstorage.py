"""ExtStorage providers (template ``ext``).

A provider is a directory ``<es_search_path>/<provider>/`` of executables
(create, attach, detach, remove, grow, setinfo, verify) plus
``parameters.list``. Ganeti talks to it only through environment
variables, so each script runs with a cleared environment holding just
the documented ``VOL_*``/``EXTP_*`` variables and a fixed PATH: anything
else would make providers depend on the node daemon's environment.
Every run's output is kept in a log file, and failures quote its tail.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import time

from ganeti import pathutils
from ganeti.storage.base import StorageDriver, fail, logical_id, status_dict
from ganeti.utils import io

ES_SCRIPTS = ("create", "attach", "detach", "remove", "grow", "setinfo", "verify")
ES_PARAMETERS_FILE = "parameters.list"
ES_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"
# Disk parameters that belong to Ganeti, not to the provider.
_GANETI_PARAMS = frozenset(["access"])
_TAIL_LINES = 20


def find_provider(name: str, search_path: list[str] | None = None) -> str:
    """Directory of a valid provider; the first one on the search path wins."""
    if not name or "/" in name or name.startswith("."):
        fail("Invalid ExtStorage provider name '%s'", name)
    path = io.find_on_search_path(name, search_path or pathutils.ES_SEARCH_PATH)
    if path is not None:
        check_provider(path)
        return path
    fail("ExtStorage provider '%s' not found in the search path (%s)", name,
         ", ".join(search_path or pathutils.ES_SEARCH_PATH))
    raise AssertionError("unreachable")


def check_provider(path: str) -> None:
    """A provider missing a script would fail midway through an operation; refuse it early."""
    for script in ES_SCRIPTS:
        if not io.is_executable_file(os.path.join(path, script)):
            fail("ExtStorage provider %s: script '%s' is missing or not an executable file",
                 path, script)
    if not os.path.isfile(os.path.join(path, ES_PARAMETERS_FILE)):
        fail("ExtStorage provider %s: '%s' file not found", path, ES_PARAMETERS_FILE)


def provider_parameters(path: str) -> list[list[str]]:
    """``[name, description]`` pairs from ``parameters.list``."""
    out = []
    try:
        with open(os.path.join(path, ES_PARAMETERS_FILE), encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.split(None, 1)
                out.append([parts[0], parts[1].strip() if len(parts) > 1 else ""])
    except (OSError, UnicodeDecodeError) as err:
        fail("Cannot read %s of provider %s: %s", ES_PARAMETERS_FILE, path, err)
    return out


def diagnose(search_path: list[str] | None = None) -> list[list]:
    """``[name, path, valid, diagnose, parameters]`` for every provider on this node."""
    out: list[list] = []
    for name, path in io.search_path_dirs(search_path or pathutils.ES_SEARCH_PATH):
        try:
            check_provider(path)
            params = provider_parameters(path)
        except Exception as err:  # noqa: BLE001 - reported, not raised
            out.append([name, path, False, str(err), []])
            continue
        out.append([name, path, True, "", params])
    return out


def _log_path(action: str, provider: str, volume: str) -> str:
    stamp = time.strftime("%Y-%m-%d_%H_%M_%S")
    safe_vol = volume.replace("/", "_")
    return os.path.join(pathutils.LOG_DIR, "extstorage",
                        "%s-%s-%s-%s.log" % (action, provider, safe_vol, stamp))


def _tail(text: str) -> str:
    return "\n".join(text.strip().splitlines()[-_TAIL_LINES:])


class ExtStorage(StorageDriver):
    """A volume managed by an ExtStorage provider."""

    def __init__(self, disk: dict) -> None:
        super().__init__(disk)
        self.provider, self.volume = logical_id(disk)
        params = disk.get("params") or {}
        self.access = params.get("access", "kernelspace")
        self.ext_params = {k: v for k, v in params.items() if k not in _GANETI_PARAMS}

    def _env(self, size: int | None = None, new_size: int | None = None,
             metadata: str | None = None) -> dict[str, str]:
        env = {"PATH": ES_PATH, "VOL_NAME": self.volume}
        if size is not None:
            env["VOL_SIZE"] = str(size)
        if new_size is not None:
            env["VOL_NEW_SIZE"] = str(new_size)
        if metadata is not None:
            env["VOL_METADATA"] = metadata
        if self.disk.get("name"):
            env["VOL_CNAME"] = str(self.disk["name"])
        if self.disk.get("uuid"):
            env["VOL_UUID"] = str(self.disk["uuid"])
        for key, value in self.ext_params.items():
            env["EXTP_%s" % key.upper()] = "" if value is None else str(value)
        return env

    def run(self, action: str, env: dict[str, str]) -> str:
        """Run one provider script; its stdout on success, BlockDeviceError otherwise."""
        pdir = find_provider(self.provider)
        script = os.path.join(pdir, action)
        try:
            proc = subprocess.run([script], env=env, cwd=pdir, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  close_fds=True, check=False)
        except OSError as err:
            fail("Cannot run ExtStorage %s script of provider %s for %s: %s",
                 action, self.provider, self.label, err.strerror)
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        logfile = self._write_log(action, env, out, err, proc.returncode)
        if proc.returncode != 0:
            reason = ("exited with exit code %d" % proc.returncode if proc.returncode > 0
                      else "terminated by signal %d" % -proc.returncode)
            fail("ExtStorage %s script of provider '%s' failed for volume %s (%s) (%s)%s,"
                 " last lines of output:\n%s", action, self.provider, self.volume,
                 self.label, reason, ", log file %s" % logfile if logfile else "",
                 _tail(err + "\n" + out))
        return out

    def _write_log(self, action: str, env: dict[str, str], out: str, err: str,
                   code: int) -> str | None:
        path = _log_path(action, self.provider, self.volume)
        try:
            os.makedirs(os.path.dirname(path), 0o750, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write("# %s %s, exit code %d\n" % (action, self.provider, code))
                fh.write("".join("# %s=%s\n" % kv for kv in sorted(env.items())))
                fh.write(out)
                fh.write(err)
        except OSError as oerr:
            logging.warning("Cannot write ExtStorage log %s: %s", path, oerr)
            return None
        return path

    def _check_params(self) -> None:
        known = {p[0] for p in provider_parameters(find_provider(self.provider))}
        unknown = sorted(set(self.ext_params) - known)
        if unknown:
            fail("ExtStorage provider '%s' does not support the parameter(s) %s (for %s)",
                 self.provider, ", ".join(unknown), self.label)

    def create(self, size: int, instance_name: str) -> None:
        if not isinstance(size, int) or size <= 0:
            fail("Invalid size %r MiB for %s", size, self.label)
        self._check_params()
        self.run("verify", self._env())
        self.run("create", self._env(size=size))

    def remove(self) -> None:
        """Remove the volume; providers must tolerate an already-missing volume."""
        self.run("remove", self._env(size=self.disk.get("size")))

    def _attach(self) -> tuple[str | None, str | None]:
        out = self.run("attach", self._env(size=self.disk.get("size")))
        lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
        path = lines[0] if lines else None
        uri = lines[1] if len(lines) > 1 else None
        return path, uri

    def assemble(self, instance_name: str) -> tuple[str, str | None]:
        path, uri = self._attach()
        if self.access == "userspace":
            if not uri:
                fail("ExtStorage provider '%s' gave no URI for %s (userspace access)",
                     self.provider, self.label)
        if not path:
            fail("ExtStorage attach of %s (%s) printed no device path", self.volume, self.label)
        try:
            st = os.stat(path)
        except OSError as err:
            fail("ExtStorage attach of %s (%s) returned %s, which is unusable: %s",
                 self.volume, self.label, path, err.strerror)
        if not stat.S_ISBLK(st.st_mode):
            fail("ExtStorage attach of %s (%s) returned %s, which is not a block device",
                 self.volume, self.label, path)
        return path, uri if self.access == "userspace" else None

    def shutdown(self) -> None:
        self.run("detach", self._env(size=self.disk.get("size")))

    def find(self) -> dict | None:
        try:
            path, _ = self.assemble("")
        except Exception:  # noqa: BLE001 - a volume that cannot attach is "missing"
            return None
        return status_dict(path)

    def grow(self, amount: int, dryrun: bool) -> None:
        if not isinstance(amount, int) or amount < 0:
            fail("Invalid grow amount %r MiB for %s", amount, self.label)
        if dryrun:
            return
        size = int(self.disk.get("size") or 0)
        self.run("grow", self._env(size=size, new_size=size + amount))

    def setinfo(self, info: str) -> None:
        self.run("setinfo", self._env(metadata=info))
