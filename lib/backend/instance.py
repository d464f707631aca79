"""Node-side instance procedures: the glue between RPC, storage, OS and hypervisors.

Each function is one RPC procedure (rows in ``ganeti.rpc.defs``). They get
the instance dict the master builds (filled parameters, full disk dicts;
see ``doc/design/instances.md``) and keep no state of their own: what a
running guest needs to survive a node daemon restart lives in the
hypervisor's runtime files.

Imports of the hypervisor, storage and OS modules happen on first use, so
that a node daemon serving only cluster calls starts fast.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from typing import Any

from ganeti import constants, errors, pathutils

_INSTANCE_DISKS_DIR = pathutils.RUN_DIR + "/instance-disks"


def _hv(name: str):
    from ganeti import hypervisor
    return hypervisor.get_hypervisor(name)


def _storage():
    from ganeti import storage
    return storage


def _check_instance(instance: Any) -> dict:
    if not isinstance(instance, dict) or not isinstance(instance.get("name"), str):
        raise errors.ProgrammerError("Invalid instance argument: %r" % (instance,))
    if instance.get("hypervisor") not in constants.HYPER_TYPES:
        raise errors.HypervisorError("Unknown hypervisor '%s'" % instance.get("hypervisor"))
    return instance


def _check_disk(disk: Any) -> dict:
    if not isinstance(disk, dict) or "dev_type" not in disk or "logical_id" not in disk:
        raise errors.ProgrammerError("Invalid disk argument: %r" % (disk,))
    return disk


def _disk_link(instance_name: str, idx: int, path: str) -> str:
    """The stable symlink ``instance-disks/<inst>:<idx>`` to a disk's device."""
    os.makedirs(_INSTANCE_DISKS_DIR, mode=0o755, exist_ok=True)
    link = os.path.join(_INSTANCE_DISKS_DIR, "%s:%d" % (instance_name, idx))
    tmp = link + ".tmp"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    os.symlink(path, tmp)
    os.replace(tmp, link)
    return link


def _remove_disk_links(instance_name: str) -> None:
    try:
        names = os.listdir(_INSTANCE_DISKS_DIR)
    except FileNotFoundError:
        return
    for name in names:
        if name.startswith(instance_name + ":"):
            try:
                os.unlink(os.path.join(_INSTANCE_DISKS_DIR, name))
            except OSError:
                pass


def _gather_block_devices(instance: dict) -> list[tuple[dict, str, str | None]]:
    storage = _storage()
    out = []
    for idx, disk in enumerate(instance.get("disks") or []):
        path, uri = storage.assemble(_check_disk(disk), instance["name"])
        _disk_link(instance["name"], idx, path)
        out.append((disk, path, uri))
    return out


# -- hypervisor procedures -------------------------------------------------
def instance_start(instance: dict, startup_paused: bool, reason: Any = None) -> None:
    instance = _check_instance(instance)
    hv = _hv(instance["hypervisor"])
    if instance["name"] in hv.list_instances(instance.get("hvparams")):
        logging.info("Instance %s already running, not starting", instance["name"])
        return
    devices = _gather_block_devices(instance)
    try:
        hv.start_instance(instance, devices, bool(startup_paused))
    except errors.HypervisorError as err:
        raise errors.HypervisorError("Hypervisor error: %s" % err) from err


def instance_shutdown(instance: dict, timeout: int, reason: Any = None) -> None:
    instance = _check_instance(instance)
    hv = _hv(instance["hypervisor"])
    name = instance["name"]
    if name in hv.list_instances(instance.get("hvparams")):
        hv.stop_instance(instance, force=False, timeout=int(timeout))
    hv.cleanup_instance(name)
    _remove_disk_links(name)


def instance_reboot(instance: dict, reboot_type: str, shutdown_timeout: int,
                    reason: Any = None) -> None:
    instance = _check_instance(instance)
    hv = _hv(instance["hypervisor"])
    name = instance["name"]
    running = name in hv.list_instances(instance.get("hvparams"))
    if reboot_type in (constants.INSTANCE_REBOOT_SOFT, constants.INSTANCE_REBOOT_HARD):
        if not running:
            raise errors.HypervisorError("Cannot reboot instance %s that is not running" % name)
        if reboot_type == constants.INSTANCE_REBOOT_SOFT:
            hv.reboot_instance(instance)
        else:
            instance_shutdown(instance, shutdown_timeout)
            instance_start(instance, False)
    elif reboot_type == constants.INSTANCE_REBOOT_FULL:
        instance_shutdown(instance, shutdown_timeout)
        instance_start(instance, False)
    else:
        raise errors.ProgrammerError("Invalid reboot type '%s'" % reboot_type)


def instance_cleanup(instance_name: str, hv_name: str) -> None:
    _hv(hv_name).cleanup_instance(instance_name)
    _remove_disk_links(instance_name)


def instance_info(instance_name: str, hv_name: str, hvparams: dict | None) -> dict:
    return _hv(hv_name).get_instance_info(instance_name, hvparams) or {}


def _each_hv(hv_list: list, all_hvparams: dict | None):
    for name in hv_list or []:
        yield name, _hv(name), (all_hvparams or {}).get(name)


def all_instances_info(hv_list: list, all_hvparams: dict | None) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for hv_name, hv, params in _each_hv(hv_list, all_hvparams):
        for name, info in hv.get_all_instances_info(params).items():
            if name in out:
                raise errors.HypervisorError("Instance %s is running twice (with hypervisors"
                                             " %s and %s)" % (name, out[name]["hypervisor"],
                                                              hv_name))
            out[name] = dict(info, hypervisor=hv_name)
    return out


def instance_list(hv_list: list, all_hvparams: dict | None) -> list[str]:
    out: list[str] = []
    for _hv_name, hv, params in _each_hv(hv_list, all_hvparams):
        out.extend(hv.list_instances(params))
    return sorted(out)


def hypervisor_validate_params(hv_name: str, hvparams: dict) -> None:
    hv = _hv(hv_name)
    hv.check_parameter_syntax(hvparams)
    hv.validate_parameters(hvparams)


# -- OS procedures ------------------------------------------------------------
def instance_os_add(instance: dict, reinstall: bool, debug: int) -> None:
    from ganeti.backend import os_run
    os_run.instance_os_add(_check_instance(instance), bool(reinstall), int(debug or 0))


def instance_run_rename(instance: dict, old_name: str, debug: int) -> None:
    from ganeti.backend import os_run
    os_run.instance_run_rename(_check_instance(instance), old_name, int(debug or 0))


def os_validate(required: bool, name: str, checks: list, params: dict,
                force_variant: bool) -> bool:
    from ganeti.backend import os_run
    return os_run.os_validate(required, name, checks, params, force_variant)


# -- block devices ------------------------------------------------------------
def blockdev_create(disk: dict, size: int, owner: str, on_primary: bool, info: str,
                    excl_stor: bool) -> None:
    _storage().create(_check_disk(disk), int(size), owner)


def blockdev_remove(disk: dict) -> None:
    _storage().remove(_check_disk(disk))


def blockdev_assemble(disk: dict, instance: dict, on_primary: bool, idx: int) -> list:
    name = instance["name"] if isinstance(instance, dict) else str(instance)
    path, uri = _storage().assemble(_check_disk(disk), name)
    link = _disk_link(name, int(idx), path)
    return [path, link, uri]


def blockdev_shutdown(disk: dict) -> None:
    _storage().shutdown(_check_disk(disk))


def blockdev_find(disk: dict) -> dict | None:
    return _storage().find(_check_disk(disk))


def blockdev_getmirrorstatus(disks: list) -> list:
    storage = _storage()
    out = []
    for disk in disks:
        status = storage.find(_check_disk(disk))
        if status is None:
            out.append([False, "Can't find device %s" % (disk.get("logical_id"),)])
        else:
            out.append([True, status])
    return out


def blockdev_getdimensions(disks: list) -> list:
    return [list(d) if d else None
            for d in _storage().get_dimensions([_check_disk(d) for d in disks])]


def blockdev_grow(disk: dict, amount: int, dryrun: bool, backingstore: bool,
                  es_flag: bool) -> None:
    _storage().grow(_check_disk(disk), int(amount), bool(dryrun))


def blockdev_wipe(disk: dict, offset: int, size: int) -> None:
    _storage().wipe(_check_disk(disk), int(offset), int(size))


def blockdev_setinfo(disk: dict, info: str) -> None:
    _storage().setinfo(_check_disk(disk), info)


# -- file storage directories -------------------------------------------------
def _file_dir(path: Any) -> str:
    """The real directory for a cluster path (shared dirs are used as they are)."""
    if not isinstance(path, str) or not os.path.isabs(path) or \
            os.path.normpath(path) != path:
        raise errors.FileStoragePathError("Invalid file storage directory '%s'" % (path,))
    shared_dir = ""
    try:
        from ganeti import ssconf
        shared_dir = ssconf.SimpleStore().get_shared_file_storage_dir()
    except errors.GenericError:
        pass
    shared = bool(shared_dir) and (path == shared_dir or path.startswith(shared_dir + "/"))
    _storage().check_file_storage_path(path, shared)
    return path if shared else pathutils.add_root(path)


def file_storage_dir_create(file_storage_dir: str) -> None:
    path = _file_dir(file_storage_dir)
    if os.path.exists(path) and not os.path.isdir(path):
        raise errors.FileStoragePathError("Cannot create file storage directory '%s':"
                                          " not a directory" % file_storage_dir)
    os.makedirs(path, mode=0o750, exist_ok=True)


def file_storage_dir_remove(file_storage_dir: str) -> None:
    path = _file_dir(file_storage_dir)
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        if err.errno == errno.ENOTEMPTY:
            raise errors.FileStoragePathError("Cannot remove file storage directory '%s':"
                                              " not empty" % file_storage_dir) from err
        raise


def file_storage_dir_rename(old_file_storage_dir: str, new_file_storage_dir: str) -> None:
    old = _file_dir(old_file_storage_dir)
    new = _file_dir(new_file_storage_dir)
    if os.path.exists(new):
        raise errors.FileStoragePathError("Cannot rename '%s' to '%s': destination exists"
                                          % (old_file_storage_dir, new_file_storage_dir))
    if os.path.isdir(old):
        shutil.move(old, new)
