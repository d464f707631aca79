"""Fake hypervisor: instances are state files, no processes.

Used for testing the cluster logic at scale (10,000 instances), so every
operation is a single small file write or read, and listing is one
``listdir``. State survives node daemon restarts because it is on disk.
"""

from __future__ import annotations

import json
import os
import time

from ganeti import errors
from ganeti.hypervisor import base
from ganeti.utils import io


class FakeHypervisor(base.BaseHypervisor):
    """Pretends to run instances; records memory, vcpus, state, start time."""

    NAME = "fake"
    RUN_SUBDIR = "fake-hv"
    PARAMETERS = {
        "migration_mode": base.opt_enum(("live", "non-live")),
    }

    def _file(self, name: str) -> str:
        return os.path.join(self.run_dir, name)

    def _read(self, name: str) -> dict | None:
        return io.read_json(self._file(name))

    def start_instance(self, instance: dict, block_devices: list[tuple[dict, str, str | None]],
                       startup_paused: bool) -> None:
        name = instance["name"]
        if os.path.exists(self._file(name)):
            raise errors.HypervisorError("Failed to start instance %s: already running" % name)
        os.makedirs(self.run_dir, mode=0o750, exist_ok=True)
        state = {"memory": base.instance_memory(instance), "vcpus": base.instance_vcpus(instance),
                 "state": "paused" if startup_paused else "running", "start": time.time()}
        # no fsync: a fake guest "dies" with the node like a real one would
        io.write_file_atomic(self._file(name), json.dumps(state), fsync=False)

    def stop_instance(self, instance: dict, force: bool = False, timeout: int = 120) -> None:
        io.remove_file(self._file(instance["name"]))

    def reboot_instance(self, instance: dict) -> None:
        name = instance["name"]
        state = self._read(name)
        if state is None:
            raise errors.HypervisorError("Failed to reboot instance %s: not running" % name)
        state["start"] = time.time()
        state["state"] = "running"
        io.write_file_atomic(self._file(name), json.dumps(state), fsync=False)

    def cleanup_instance(self, instance_name: str) -> None:
        """Nothing besides the state file, which stop already removed."""

    def list_instances(self, hvparams: dict | None = None) -> list[str]:
        try:
            return sorted(n for n in os.listdir(self.run_dir) if not n.startswith("."))
        except OSError:
            return []

    def _info(self, state: dict) -> dict:
        return {"memory": int(state["memory"]), "vcpus": int(state["vcpus"]),
                "state": state.get("state", "running"),
                "time": int(max(time.time() - float(state["start"]), 0))}

    def get_instance_info(self, instance_name: str, hvparams: dict | None = None) -> dict | None:
        state = self._read(instance_name)
        return None if state is None else self._info(state)

    def get_all_instances_info(self, hvparams: dict | None = None) -> dict[str, dict]:
        result = {}
        for name in self.list_instances(hvparams):
            state = self._read(name)
            if state is not None:
                result[name] = self._info(state)
        return result

    def get_node_info(self, hvparams: dict | None = None) -> dict:
        """Host facts minus what the fake guests "use", so allocation is realistic."""
        info = super().get_node_info(hvparams)
        used = sum(i["memory"] for i in self.get_all_instances_info().values())
        info["memory_free"] = max(info["memory_free"] - used, 0)
        return info

    @classmethod
    def get_instance_console(cls, instance: dict, primary_node: dict, node_group: dict,
                             hvparams: dict, beparams: dict) -> dict:
        return cls._console_msg(instance, "Console not available for fake hypervisor")

    def get_version(self) -> str:
        return "fake"
