"""Hypervisor drivers and the name -> driver lookup the node daemon uses.

Drivers are imported lazily: a node only running fake instances should not
pay for importing qemu.qmp, and a broken optional dependency of one driver
must not take the others down.
"""

from __future__ import annotations

import importlib
import threading

from ganeti import errors
from ganeti.hypervisor.base import BaseHypervisor

_MODULES = {
    "kvm": ("ganeti.hypervisor.hv_kvm", "KvmHypervisor"),
    "lxc": ("ganeti.hypervisor.hv_lxc", "LxcHypervisor"),
    "fake": ("ganeti.hypervisor.hv_fake", "FakeHypervisor"),
    "chroot": ("ganeti.hypervisor.hv_chroot", "ChrootHypervisor"),
    "xen-pvm": ("ganeti.hypervisor.hv_xen", "XenPvmHypervisor"),
    "xen-hvm": ("ganeti.hypervisor.hv_xen", "XenHvmHypervisor"),
}


class _LazyClasses(dict):
    """name -> class mapping that imports a driver module on first access."""

    def __missing__(self, key: str) -> type:
        if key not in _MODULES:
            raise KeyError(key)
        module, cls_name = _MODULES[key]
        cls = getattr(importlib.import_module(module), cls_name)
        self[key] = cls
        return cls

    def __contains__(self, key: object) -> bool:
        return key in _MODULES

    def __iter__(self):  # type: ignore[override]
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)

    def keys(self):  # type: ignore[override]
        return _MODULES.keys()

    def items(self):  # type: ignore[override]
        return [(k, self[k]) for k in _MODULES]

    def values(self):  # type: ignore[override]
        return [self[k] for k in _MODULES]

    def get(self, key, default=None):  # type: ignore[override]
        return self[key] if key in _MODULES else default


HYPERVISOR_CLASSES: dict[str, type] = _LazyClasses()

_cache: dict[str, BaseHypervisor] = {}
_lock = threading.Lock()


def get_hypervisor(name: str) -> BaseHypervisor:
    """The (cached) driver object for ``name``; drivers keep no per-call state."""
    hv = _cache.get(name)
    if hv is not None:
        return hv
    if name not in _MODULES:
        raise errors.HypervisorError("Unknown hypervisor type '%s'" % name)
    with _lock:
        hv = _cache.get(name)
        if hv is None:
            hv = HYPERVISOR_CLASSES[name]()
            _cache[name] = hv
    return hv
