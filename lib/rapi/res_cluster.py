"""Cluster-wide RAPI resources: version, info, features, modify, tags, OS list.

``/version``, ``/`` and ``/2`` are fixed answers kept for old clients;
everything else goes to the master over LUXI or as a job.
"""

from __future__ import annotations

from typing import Any

from ganeti import constants
from ganeti.rapi.base import NO_AUTH, Context, Method, RapiError, Resource
from ganeti.rapi.res_common import (JOB_ID_SCHEMA, NULL_SCHEMA, OpBinding, binding_method,
                                    fill_opcode, tag_methods, wait_for_job)

RAPI_VERSION = 2

#: Advertised to clients; order as upstream 3.0 sends it (reference output).
FEATURES = ["node-migrate-reqv1", "instance-create-reqv1", "instance-reinstall-reqv1",
            "node-evac-res1"]

#: Parameters RAPI may not change: the compression tools run as root on
#: every node, so only the CLI on the master may set them.
FORBIDDEN_CLUSTER_PARAMS = ("compression_tools",)

OS_BULK_FIELDS = ["name", "valid", "variants", "parameters", "api_versions", "blacklisted",
                  "hidden", "trusted"]


def get_version(ctx: Context) -> int:
    """The RAPI protocol version; clients probe it before anything else."""
    return RAPI_VERSION


def get_root(ctx: Context) -> None:
    """``/`` and ``/2`` answer null: kept only because old clients probe them."""
    return None


def get_info(ctx: Context) -> dict:
    """Cluster information straight from LUXI QueryClusterInfo (same keys and order)."""
    return ctx.luxi().query_cluster_info()


def get_features(ctx: Context) -> list[str]:
    """Lets clients pick request formats (e.g. instance creation version 1)."""
    return list(FEATURES)


def modify_cluster(ctx: Context) -> int:
    """OP_CLUSTER_SET_PARAMS from the body, minus what RAPI may not set (403)."""
    body = ctx.body_dict()
    for name in FORBIDDEN_CLUSTER_PARAMS:
        if name in body:
            raise RapiError(403, "Parameter '%s' can not be modified via RAPI" % name)
    return ctx.submit([fill_opcode("OP_CLUSTER_SET_PARAMS", body)])


def _os_names(name: str, variants: Any) -> list[str]:
    if isinstance(variants, list) and variants:
        return ["%s+%s" % (name, variant) for variant in variants]
    return [name]


def _os_dict(row: list) -> dict:
    item = dict(zip(OS_BULK_FIELDS, row, strict=False))
    params = item.get("parameters")
    if isinstance(params, list):
        item["parameters"] = [{"name": p[0], "description": p[1]} for p in params
                              if isinstance(p, (list, tuple)) and len(p) == 2]
    return item


def get_os(ctx: Context) -> list:
    """OS names (with variants) via an OP_OS_DIAGNOSE job the handler waits for."""
    bulk = ctx.query_bool("bulk")
    fields = OS_BULK_FIELDS if bulk else ["name", "variants"]
    op = fill_opcode("OP_OS_DIAGNOSE", None, {"output_fields": fields, "names": []})
    # a query: never a dry run, whatever the URL says
    job_id = int(ctx.luxi().submit_job([dict(op, reason=ctx.reason_trail())]))
    status, opresult = wait_for_job(ctx, job_id)
    result = opresult[0] if isinstance(opresult, list) and opresult else None
    if status != constants.JOB_STATUS_SUCCESS or not isinstance(result, list):
        raise RapiError(502, "Can't get OS list: %s" % (result,))
    if bulk:
        return [_os_dict(row) for row in result if isinstance(row, list)]
    names: list[str] = []
    for row in result:
        if isinstance(row, list) and len(row) == 2:
            names.extend(_os_names(row[0], row[1]))
    return names


_INFO_RETURNS = {"type": "object", "description": "Cluster information (LUXI QueryClusterInfo)"}

RESOURCES = [
    Resource("/version", "version", {
        "GET": Method(get_version, "RAPI version", access=NO_AUTH,
                      returns={"type": "integer", "enum": [RAPI_VERSION]})},
             doc="Version of the remote API"),
    Resource("/", "root", {"GET": Method(get_root, "Legacy root (null)", returns=NULL_SCHEMA)}),
    Resource("/2", "2", {"GET": Method(get_root, "Legacy version-2 root (null)",
                                       returns=NULL_SCHEMA)}),
    Resource("/2/info", "info", {"GET": Method(get_info, "Cluster information",
                                               returns=_INFO_RETURNS)}),
    Resource("/2/features", "features", {
        "GET": Method(get_features, "Features of this RAPI server",
                      returns={"type": "array", "items": {"type": "string"}})}),
    Resource("/2/modify", "cluster_modify", {
        "PUT": Method(modify_cluster, "Change cluster parameters (OP_CLUSTER_SET_PARAMS)",
                      query_args=("dry-run", "reason"),
                      body=OpBinding("OP_CLUSTER_SET_PARAMS").body_schema(),
                      returns=JOB_ID_SCHEMA, job=True)}),
    Resource("/2/redistribute-config", "redist_config", {
        "PUT": binding_method(OpBinding("OP_CLUSTER_REDIST_CONF", body=False),
                              "Redistribute the configuration files")}),
    Resource("/2/tags", "tags", tag_methods(constants.TAG_CLUSTER, None)),
    Resource("/2/os", "os", {
        "GET": Method(get_os, "Operating systems (with variants)", query_args=("bulk",),
                      returns={"type": "array"})}),
]
