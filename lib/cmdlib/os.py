"""OS definitions as the cluster sees them (OP_OS_DIAGNOSE, query "os")."""

from __future__ import annotations

from ganeti import errors, locking
from ganeti.cmdlib.base import NoHooksLU
from ganeti.utils.text import nice_sort

OS_FIELDS = ("name", "valid", "hidden", "blacklisted", "variants", "api_versions",
             "parameters", "node_status", "os_hvp", "osparams", "trusted")


def gather_os_info(lu) -> dict[str, dict]:
    """Ask every online vm-capable node for its OSes and merge the answers."""
    cfg = lu.cfg
    nodes = [u for u, n in cfg.get_all_nodes_info().items() if not n.offline and n.vm_capable]
    results = lu.rpc.call("os_diagnose", cfg.node_targets(nodes), [])
    cluster = cfg.get_cluster_info()
    oses: dict[str, dict] = {}
    answered = 0
    for node_name, res in results.items():
        if res.fail_msg or not isinstance(res.payload, list):
            continue
        answered += 1
        seen = set()
        for entry in res.payload:
            name, path, status, diagnose, variants, params, api_versions, trusted = entry
            if name in seen:
                continue
            seen.add(name)
            info = oses.setdefault(name, {"node_status": {}, "variants": None,
                                          "api_versions": None, "parameters": None,
                                          "valid": True, "trusted": True, "count": 0})
            info["count"] += 1
            info["node_status"][node_name] = [[path, status, diagnose, variants, params,
                                               api_versions]]
            info["valid"] = info["valid"] and bool(status)
            info["trusted"] = info["trusted"] and bool(trusted)
            if status:
                for key, value in (("variants", variants), ("api_versions", api_versions),
                                   ("parameters", [tuple(p) for p in params])):
                    current = info[key]
                    info[key] = list(value) if current is None else \
                        [v for v in current if v in value]
    for name, info in oses.items():
        if info["count"] < answered:
            info["valid"] = False
        info["variants"] = info["variants"] or []
        info["api_versions"] = sorted(info["api_versions"] or [])
        info["parameters"] = [list(p) for p in info["parameters"] or []]
        info["hidden"] = name in cluster.hidden_os
        info["blacklisted"] = name in cluster.blacklisted_os
        info["os_hvp"] = cluster.os_hvp.get(name, {})
        info["osparams"] = cluster.osparams.get(name, {})
        info["name"] = name
    return oses


class LUOsDiagnose(NoHooksLU):
    def check_arguments(self) -> None:
        if self.op.names:
            raise errors.OpPrereqError("Selective OS query not supported", errors.ECODE_INVAL)
        unknown = [f for f in self.op.output_fields if f not in OS_FIELDS]
        if unknown:
            raise errors.OpPrereqError("Unknown output fields selected: %s" % ", ".join(unknown),
                                       errors.ECODE_INVAL)

    def expand_names(self) -> None:
        self.needed_locks = {locking.LEVEL_NODE: locking.ALL_SET}
        self.share_all()
        self.needed_locks = {}

    def exec(self, feedback_fn):
        oses = gather_os_info(self)
        return [[oses[name][f] for f in self.op.output_fields] for name in nice_sort(oses)]
