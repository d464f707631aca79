"""Running OS definition scripts for instances (ganeti-os-interface).

The node daemon installs, renames, imports and exports instances by
running the scripts of an OS definition (found with ``os_defs``). Scripts
get a cleared environment describing the instance (spec: OS interface,
"Environment variables"): nothing from the daemon's own environment may
leak in, so that an OS behaves the same under any daemon. Output goes to
a per-run log file under ``LOG_OS_DIR``; a failure quotes its last lines
so the user sees why without logging into the node.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from typing import BinaryIO

from ganeti import constants, errors, pathutils, storage
from ganeti.backend import os_defs
from ganeti.utils import io

OS_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"
LOG_TAIL_LINES = 20
_BLOCK_TEMPLATES = frozenset(["plain", "drbd", "blockdev", "rbd", "ext"])
_FILE_TEMPLATES = frozenset(["file", "sharedfile", "gluster"])


@dataclass
class OSDefinition:
    """A validated OS definition as found on this node."""

    name: str
    path: str
    api_versions: list[int]
    variants: list[str] = field(default_factory=list)
    parameters: list[list[str]] = field(default_factory=list)
    trusted: bool = True

    @property
    def api_version(self) -> int:
        """The highest API version both the OS and this Ganeti speak."""
        return max(constants.OS_API_VERSIONS.intersection(self.api_versions))

    def script(self, name: str) -> str:
        return os.path.join(self.path, name)


def split_os_name(os_name: str) -> tuple[str, str | None]:
    """``name+variant`` → (name, variant or None)."""
    name, sep, variant = (os_name or "").partition("+")
    return name, (variant if sep else None)


def find_os(name: str, search_path: list[str] | None = None) -> OSDefinition | None:
    """The first OS directory called ``name`` on the search path, or None.

    An invalid definition raises OpExecError with the diagnosis: it would
    be wrong to silently fall through to a later directory, since
    ``os_diagnose`` reports the first one too.
    """
    if not name or "/" in name or name.startswith("."):
        raise errors.OpExecError("Invalid OS name '%s'" % name)
    path = io.find_on_search_path(name, search_path or pathutils.OS_SEARCH_PATH)
    if path is None:
        return None
    entry = os_defs.inspect_os(name, os.path.dirname(path))
    _, _, valid, diag, variants, params, versions, trusted = entry
    if not valid:
        raise errors.OpExecError("OS '%s' is invalid: %s" % (name, diag))
    return OSDefinition(name, path, list(versions), list(variants),
                        [list(p) for p in params], trusted)


def _get_os(name: str) -> OSDefinition:
    os_def = find_os(name)
    if os_def is None:
        raise errors.OpExecError("OS '%s' not found in the search path (%s)"
                                 % (name, ", ".join(pathutils.OS_SEARCH_PATH)))
    return os_def


def resolve_variant(os_def: OSDefinition, variant: str | None, force: bool) -> str:
    """The variant to pass as OS_VARIANT; unlisted ones only with force."""
    if os_def.api_version < constants.OS_API_V15 or not os_def.variants:
        if variant and not force:
            raise errors.OpExecError("OS '%s' does not support variants ('%s' passed)"
                                     % (os_def.name, variant))
        return variant or ""
    if not variant:
        return os_def.variants[0]
    if variant not in os_def.variants and not force:
        raise errors.OpExecError("Unsupported OS variant '%s' for OS '%s' (supported: %s)"
                                 % (variant, os_def.name, ", ".join(os_def.variants)))
    return variant


def _s(value: object) -> str:
    return "" if value is None else str(value)


def os_core_env(os_def: OSDefinition, variant: str, osparams: dict,
                debug: int) -> dict[str, str]:
    """The variables every OS script gets, with or without an instance."""
    api = os_def.api_version
    env = {"OS_API_VERSION": str(api), "OS_NAME": os_def.name,
           "DEBUG_LEVEL": str(int(debug)), "PATH": OS_PATH}
    if api >= constants.OS_API_V15:
        env["OS_VARIANT"] = variant
    if api >= constants.OS_API_V20:
        for key, value in osparams.items():
            env["OSP_%s" % key.upper().replace("-", "_")] = _s(value)
    return env


def _secondary_nodes(instance: dict) -> list[str]:
    if instance.get("secondary_nodes") is not None:
        return list(instance["secondary_nodes"])
    primary = instance.get("primary_node")
    out: list[str] = []
    for disk in instance.get("disks") or []:
        for node in disk.get("nodes") or []:
            if node != primary and node not in out:
                out.append(node)
    return out


def _disk_env(env: dict[str, str], idx: int, disk: dict, path: str | None,
              uri: str | None, hvparams: dict) -> None:
    pre = "DISK_%d_" % idx
    if path:
        env[pre + "PATH"] = path
    if uri:
        env[pre + "URI"] = uri
    env[pre + "ACCESS"] = _s(disk.get("mode") or "rw")
    env[pre + "UUID"] = _s(disk.get("uuid"))
    if disk.get("name"):
        env[pre + "NAME"] = _s(disk["name"])
    if disk.get("size") is not None:
        env[pre + "SIZE"] = _s(disk["size"])
    if hvparams.get("disk_type"):
        env[pre + "FRONTEND_TYPE"] = _s(hvparams["disk_type"])
    dev_type = disk.get("dev_type")
    if dev_type in _BLOCK_TEMPLATES:
        env[pre + "BACKEND_TYPE"] = "block"
    elif dev_type in _FILE_TEMPLATES:
        env[pre + "BACKEND_TYPE"] = "file:%s" % (disk.get("logical_id") or ["loop"])[0]


_NETINFO_KEYS = (("NAME", "name"), ("UUID", "uuid"), ("SUBNET", "network"),
                 ("GATEWAY", "gateway"), ("SUBNET6", "network6"),
                 ("GATEWAY6", "gateway6"), ("MAC_PREFIX", "mac_prefix"))


def _nic_env(env: dict[str, str], idx: int, nic: dict, hvparams: dict) -> None:
    pre = "NIC_%d_" % idx
    params = nic.get("nicparams") or {}
    env[pre + "MAC"] = _s(nic.get("mac"))
    env[pre + "UUID"] = _s(nic.get("uuid"))
    if nic.get("name"):
        env[pre + "NAME"] = _s(nic["name"])
    if nic.get("ip"):
        env[pre + "IP"] = _s(nic["ip"])
    mode = _s(params.get("mode"))
    env[pre + "MODE"] = mode
    if mode == "bridged":
        env[pre + "BRIDGE"] = _s(params.get("link"))
    env[pre + "LINK"] = _s(params.get("link"))
    if hvparams.get("nic_type"):
        env[pre + "FRONTEND_TYPE"] = _s(hvparams["nic_type"])
    netinfo = nic.get("netinfo") or {}
    if nic.get("network") or netinfo:
        for var, key in _NETINFO_KEYS:
            if netinfo.get(key):
                env[pre + "NETWORK_" + var] = _s(netinfo[key])
        if not netinfo.get("uuid") and nic.get("network"):
            env[pre + "NETWORK_UUID"] = _s(nic["network"])
        if netinfo.get("tags"):
            env[pre + "NETWORK_TAGS"] = " ".join(sorted(netinfo["tags"]))


def build_os_env(instance: dict, os_def: OSDefinition, debug: int,
                 block_devices: list[tuple[str, str | None]]) -> dict[str, str]:
    """The complete environment of an instance's OS script (spec table §1.3).

    ``block_devices`` holds the assembled (path, uri) of every disk, in
    index order. The instance's ``os`` may carry a variant; it must be
    listed by the OS unless the dict says ``force_variant``.
    """
    _, variant = split_os_name(instance.get("os", ""))
    variant = resolve_variant(os_def, variant, bool(instance.get("force_variant")))
    osparams = dict(instance.get("osparams") or {})
    osparams.update(instance.get("osparams_private") or {})
    env = os_core_env(os_def, variant, osparams, debug)
    env["INSTANCE_OS"] = _s(instance.get("os"))
    env["INSTANCE_NAME"] = _s(instance.get("name"))
    env["INSTANCE_UUID"] = _s(instance.get("uuid"))
    env["INSTANCE_CTIME"] = _s(instance.get("ctime"))
    env["INSTANCE_MTIME"] = _s(instance.get("mtime"))
    env["INSTANCE_PRIMARY_NODE"] = _s(instance.get("primary_node"))
    env["INSTANCE_SECONDARY_NODES"] = " ".join(_secondary_nodes(instance))
    env["HYPERVISOR"] = _s(instance.get("hypervisor"))
    hvparams = instance.get("hvparams") or {}
    disks = instance.get("disks") or []
    if len(block_devices) != len(disks):
        raise errors.ProgrammerError("Got %d block devices for %d disks"
                                     % (len(block_devices), len(disks)))
    env["DISK_COUNT"] = str(len(disks))
    for idx, (disk, (path, uri)) in enumerate(zip(disks, block_devices, strict=True)):
        _disk_env(env, idx, disk, path, uri, hvparams)
    nics = instance.get("nics") or []
    env["NIC_COUNT"] = str(len(nics))
    for idx, nic in enumerate(nics):
        _nic_env(env, idx, nic, hvparams)
    for kind, params in (("BE", instance.get("beparams") or {}), ("HV", hvparams)):
        for key, value in params.items():
            env["INSTANCE_%s_%s" % (kind, key)] = _s(value)
    return env


def _log_name(kind: str, os_name: str, instance_name: str, component: str | None) -> str:
    stamp = time.strftime("%Y-%m-%d_%H_%M_%S")
    comp = "-%s" % component if component else ""
    base = "%s-%s-%s%s-%s.log" % (kind, os_name.replace("/", "_"),
                                    instance_name.replace("/", "_"), comp, stamp)
    return os.path.join(pathutils.LOG_OS_DIR, base)


def _open_log(kind: str, os_name: str, instance_name: str,
              component: str | None) -> tuple[str, BinaryIO]:
    """A fresh log file; runs within the same second get a ``-N`` suffix, never a shared log."""
    base = _log_name(kind, os_name, instance_name, component)
    try:
        os.makedirs(pathutils.LOG_OS_DIR, 0o750, exist_ok=True)
    except OSError as err:
        raise errors.OpExecError("Cannot create the OS log directory %s: %s"
                                 % (pathutils.LOG_OS_DIR, err.strerror))
    candidate = base
    for num in range(2, 1000):
        try:
            return candidate, open(candidate, "xb")
        except FileExistsError:
            candidate = "%s-%d.log" % (base[:-len(".log")], num)
        except OSError as err:
            raise errors.OpExecError("Cannot open OS log file %s: %s"
                                     % (candidate, err.strerror))
    raise errors.OpExecError("Cannot find a free OS log file name for %s" % base)


def _last_lines(path: str, count: int = LOG_TAIL_LINES) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return [line.rstrip("\n") for line in fh.readlines()[-count:]]
    except OSError as err:
        return ["(cannot read %s: %s)" % (path, err.strerror)]


def _fail_reason(code: int) -> str:
    if code < 0:
        return "terminated by signal %d" % -code
    return "exited with exit code %d" % code


def run_os_script(os_def: OSDefinition, script: str, env: dict[str, str], kind: str,
                  instance: dict, component: str | None = None,
                  stdin_path: str | None = None, stdout_path: str | None = None) -> str:
    """Run one OS script with its log file; returns the log path, raises on failure.

    stdout goes to the log unless ``stdout_path`` (export) takes it;
    stderr always goes to the log.
    """
    logfile, log = _open_log(kind, _s(instance.get("os")), _s(instance.get("name")),
                             component)
    stdin = stdout = None
    try:
        stdin = open(stdin_path or os.devnull, "rb")
        stdout = open(stdout_path, "wb") if stdout_path else log
        proc = subprocess.run([os_def.script(script)], env=env, cwd=os_def.path,
                              stdin=stdin, stdout=stdout, stderr=log, close_fds=True,
                              check=False)
    except OSError as err:
        raise errors.OpExecError("Cannot run OS %s script of %s: %s"
                                 % (script, os_def.name, err.strerror or err))
    finally:
        for fh in (stdin, stdout, log):
            if fh is not None and not fh.closed:
                fh.close()
    if proc.returncode != 0:
        lines = "\n".join(_last_lines(logfile))
        raise errors.OpExecError("OS %s script failed (%s), last lines in the log file:\n%s"
                                 "\n(full log in %s)"
                                 % (script, _fail_reason(proc.returncode), lines, logfile))
    return logfile


def _prepare(instance: dict, debug: int) -> tuple[OSDefinition, dict[str, str],
                                                   list[tuple[str, str | None]]]:
    name, _ = split_os_name(_s(instance.get("os")))
    os_def = _get_os(name)
    devs = [storage.assemble(disk, _s(instance.get("name")))
            for disk in instance.get("disks") or []]
    return os_def, build_os_env(instance, os_def, debug, devs), devs


def instance_os_add(instance: dict, reinstall: bool, debug: int) -> None:
    """Install the instance's OS onto its (assembled) disks with ``create``."""
    os_def, env, _ = _prepare(instance, debug)
    if not os_def.trusted:
        raise errors.OpExecError("OS '%s' is untrusted (create_untrusted); installing it"
                                 " needs a helper VM, which this node cannot run"
                                 % os_def.name)
    if reinstall:
        env["INSTANCE_REINSTALL"] = "1"
    run_os_script(os_def, constants.OS_SCRIPT_CREATE, env, "add", instance)


def instance_run_rename(instance: dict, old_name: str, debug: int) -> None:
    """Let the OS adapt the guest to a new name; ``instance`` carries the new one."""
    os_def, env, _ = _prepare(instance, debug)
    env["OLD_INSTANCE_NAME"] = old_name
    run_os_script(os_def, constants.OS_SCRIPT_RENAME, env, "rename", instance)


def _disk_io_env(env: dict[str, str], prefix: str, idx: int,
                 devs: list[tuple[str, str | None]]) -> None:
    if not 0 <= idx < len(devs):
        raise errors.OpExecError("Invalid disk index %d (instance has %d disks)"
                                 % (idx, len(devs)))
    path, uri = devs[idx]
    env["%s_INDEX" % prefix] = str(idx)
    if path:
        env["%s_DISK_PATH" % prefix] = path
        env["%s_DEVICE" % prefix] = path
    if uri:
        env["%s_DISK_URI" % prefix] = uri


def instance_os_import(instance: dict, idx: int, stdin_path: str, debug: int) -> None:
    """Restore disk ``idx`` from the data in ``stdin_path`` with the OS ``import`` script."""
    os_def, env, devs = _prepare(instance, debug)
    _disk_io_env(env, "IMPORT", idx, devs)
    run_os_script(os_def, constants.OS_SCRIPT_IMPORT, env, "import", instance,
                  component=str(idx), stdin_path=stdin_path)


def instance_os_export(instance: dict, idx: int, stdout_path: str, debug: int) -> None:
    """Dump disk ``idx`` into ``stdout_path`` with the OS ``export`` script."""
    os_def, env, devs = _prepare(instance, debug)
    _disk_io_env(env, "EXPORT", idx, devs)
    run_os_script(os_def, constants.OS_SCRIPT_EXPORT, env, "export", instance,
                  component=str(idx), stdout_path=stdout_path)


def os_validate(required: bool, name: str, checks: list, params: dict,
                force_variant: bool) -> bool:
    """Check OS parameters with the OS's ``verify`` script.

    Returns False only when the OS is absent and not ``required`` (the
    master validates on every node, and some may lack the OS). OSes older
    than API 20 have nothing to verify.
    """
    os_name, variant = split_os_name(name)
    try:
        os_def = find_os(os_name)
    except errors.OpExecError:
        if required:
            raise
        return False
    if os_def is None:
        if not required:
            return False
        raise errors.OpExecError("OS '%s' not found in the search path (%s)"
                                 % (os_name, ", ".join(pathutils.OS_SEARCH_PATH)))
    variant = resolve_variant(os_def, variant, force_variant)
    if os_def.api_version < constants.OS_API_V20:
        return True
    bad = sorted(set(checks) - constants.OS_VALIDATE_CALLS)
    if bad:
        raise errors.OpExecError("Unknown OS validation checks: %s" % ", ".join(bad))
    if constants.OS_VALIDATE_PARAMETERS in checks:
        known = {p[0] for p in os_def.parameters}
        unknown = sorted(set(params) - known)
        if unknown:
            raise errors.OpExecError("The following parameters are not supported by the OS"
                                     " %s: %s" % (os_name, ", ".join(unknown)))
    env = os_core_env(os_def, variant, params, 0)
    try:
        proc = subprocess.run([os_def.script(constants.OS_SCRIPT_VERIFY)] + list(checks),
                              env=env, cwd=os_def.path, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              close_fds=True, check=False)
    except OSError as err:
        raise errors.OpExecError("Cannot run the verify script of OS %s: %s"
                                 % (os_name, err.strerror or err))
    if proc.returncode != 0:
        out = proc.stdout.decode("utf-8", "replace").strip()
        raise errors.OpExecError("OS validation script failed (%s), output: %s"
                                 % (_fail_reason(proc.returncode), out))
    return True
