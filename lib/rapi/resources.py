"""The RAPI v2 resource table, in the order of the specification (rapi.md §4).

The daemon routes with it, checks access with it and generates the
OpenAPI document from it; handlers live in small ``res_*`` modules, one
per area, each exporting its own ``RESOURCES`` list.
"""

from __future__ import annotations

from ganeti.rapi import (res_cluster, res_groups, res_instances, res_jobs, res_misc, res_nodes,
                         res_query)
from ganeti.rapi.base import Resource


def _by_path(resources: list[Resource]) -> dict[str, Resource]:
    return {res.path: res for res in resources}


_CLUSTER = _by_path(res_cluster.RESOURCES)

#: cluster-level resources first (spec order: /version, /2/info, ... /2/os),
#: the legacy roots right after /version
RESOURCES: list[Resource] = [
    _CLUSTER["/version"], _CLUSTER["/"], _CLUSTER["/2"],
    *[res for res in res_cluster.RESOURCES if res.path not in ("/version", "/", "/2")],
    *res_jobs.RESOURCES,
    *res_nodes.RESOURCES,
    *res_groups.RESOURCES,
    *res_instances.RESOURCES,
    *res_misc.RESOURCES[:7],        # networks
    *res_query.RESOURCES,
    *res_misc.RESOURCES[7:],        # filters
]


def _check_unique() -> None:
    """Two rows for one path template would make routing ambiguous."""
    seen: set[str] = set()
    for res in RESOURCES:
        if res.path in seen:
            raise AssertionError("duplicate RAPI resource %s" % res.path)
        seen.add(res.path)


_check_unique()
