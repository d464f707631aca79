"""Node facts: version, node_info and small per-node helpers.

Every function here is an RPC procedure body: arguments come from the
wire (already JSON-decoded), so they are type-checked before use, and
errors are raised as ``errors.*`` whose message goes back to the master.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Any

from ganeti import constants, errors, pathutils

_MIB = 1024 * 1024
_BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"


def version() -> int:
    """Protocol version; the master refuses nodes that differ."""
    return constants.PROTOCOL_VERSION


def boot_id() -> str:
    """Changes on every boot: the watcher uses it to spot rebooted nodes."""
    try:
        with open(_BOOT_ID_FILE, encoding="ascii") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def hv_node_info(hv: str, hvparams: dict | None = None) -> dict[str, Any]:
    """Memory and CPU facts as the hypervisor layer reports them (MiB).

    ``memory_free`` counts page cache as free (it is reclaimable), and
    ``memory_dom0`` is what the host itself uses; without Xen no CPUs are
    reserved for a dom0.
    """
    if hv not in constants.HYPER_TYPES:
        raise errors.HypervisorError("Unknown hypervisor '%s'" % hv)
    from ganeti import hypervisor
    return hypervisor.get_hypervisor(hv).get_node_info(hvparams or {})


def _statvfs_info(stype: str, key: str) -> dict[str, Any]:
    path = pathutils.add_root(key)
    try:
        st = os.statvfs(path)
    except OSError as err:
        raise errors.StorageError("Can't get storage information for %s '%s': %s"
                                  % (stype, key, err.strerror or err))
    return {"type": stype, "name": key,
            "storage_size": st.f_blocks * st.f_frsize // _MIB,
            "storage_free": st.f_bavail * st.f_frsize // _MIB}


def _lvm_vg_info(key: str) -> dict[str, Any]:
    vgs = shutil.which("vgs") or "/sbin/vgs"
    try:
        res = subprocess.run([vgs, "--noheadings", "--nosuffix", "--units=m",
                              "--separator=|", "-o", "vg_size,vg_free", key],
                             capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as err:
        raise errors.StorageError("Can't run vgs for volume group '%s': %s" % (key, err))
    if res.returncode != 0:
        raise errors.StorageError("Can't get information on volume group '%s': %s"
                                  % (key, (res.stderr or res.stdout).strip()))
    size, _, free = res.stdout.strip().partition("|")
    return {"type": "lvm-vg", "name": key, "storage_size": int(float(size)),
            "storage_free": int(float(free))}


def storage_unit_info(unit: Any) -> dict[str, Any]:
    """Size and free space (MiB) of one ``[type, key, params]`` storage unit."""
    if not isinstance(unit, (list, tuple)) or len(unit) < 2 or \
            not all(isinstance(u, str) for u in unit[:2]):
        raise errors.ParameterError("Invalid storage unit %r: expected [type, key, params]"
                                    % (unit,))
    stype, key = unit[0], unit[1]
    if stype in ("file", "sharedfile", "gluster"):
        return _statvfs_info(stype, key)
    if stype == "lvm-vg":
        return _lvm_vg_info(key)
    if stype in ("diskless", "ext", "rados", "lvm-pv"):
        # no space accounting for these (as upstream): report the unit only
        return {"type": stype, "name": key, "storage_size": 0, "storage_free": 0}
    raise errors.ParameterError("Unknown storage type '%s'" % stype)


def node_info(storage_units: list, hv_specs: list) -> list:
    """``[bootid, [storage info...], [hv info...]]`` for capacity planning."""
    if not isinstance(storage_units, list) or not isinstance(hv_specs, list):
        raise errors.ParameterError("node_info expects two lists")
    hv_info = []
    for spec in hv_specs:
        if not isinstance(spec, (list, tuple)) or not spec or not isinstance(spec[0], str):
            raise errors.ParameterError("Invalid hypervisor spec %r" % (spec,))
        params = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
        hv_info.append(hv_node_info(spec[0], params))
    storage = []
    for unit in storage_units:
        try:
            storage.append(storage_unit_info(unit))
        except errors.StorageError as err:
            # one unusable unit must not hide the rest (memory, CPUs, other units)
            storage.append({"type": unit[0], "name": unit[1], "storage_size": None,
                            "storage_free": None, "error": str(err)})
    return [boot_id(), storage, hv_info]


def test_delay(duration: float) -> None:
    """Sleep; used by OP_TEST_DELAY to exercise locking and timeouts."""
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or \
            not 0 <= duration <= 86400:
        raise errors.ParameterError("Invalid delay duration %r" % (duration,))
    time.sleep(duration)


def master_node_name() -> str:
    """Who this node believes is master (its ssconf): the vote in elections."""
    from ganeti import ssconf
    return ssconf.SimpleStore().get_master_node()


def get_watcher_pause() -> int | None:
    """Epoch until which the watcher is paused, or None."""
    try:
        with open(pathutils.WATCHER_PAUSEFILE, encoding="ascii") as fh:
            return int(fh.read().strip())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None


def set_watcher_pause(until: float | None) -> None:
    """Pause the watcher until an epoch (None removes the pause)."""
    from ganeti.utils import io
    if until is None:
        io.remove_file(pathutils.WATCHER_PAUSEFILE)
        return
    if isinstance(until, bool) or not isinstance(until, (int, float)):
        raise errors.ParameterError("Watcher pause must be a timestamp or null, got %r"
                                    % (until,))
    io.write_file_atomic(pathutils.WATCHER_PAUSEFILE, "%d\n" % int(until), mode=0o644)


def get_file_info(path: str) -> dict[str, Any] | None:
    """Size, mode and mtime of a file (cluster-wide path), None if absent."""
    if not isinstance(path, str) or not os.path.isabs(path):
        raise errors.ParameterError("Invalid path %r: must be absolute" % (path,))
    try:
        st = os.stat(pathutils.add_root(path))
    except FileNotFoundError:
        return None
    except OSError as err:
        raise errors.OpExecError("Can't stat %s: %s" % (path, err.strerror))
    return {"size": st.st_size, "mode": st.st_mode & 0o7777, "uid": st.st_uid,
            "gid": st.st_gid, "mtime": st.st_mtime}
