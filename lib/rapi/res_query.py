"""Generic queries: ``/2/query/{resource}`` (query2 over LUXI) and its field list.

These pass the caller's fields and filter to LUXI ``Query`` unchanged;
the master checks field names and filters and reports unknown fields as
status 1 in the answer rather than failing.
"""

from __future__ import annotations

from typing import Any

from ganeti.rapi.base import READ_WRITE, Context, Method, RapiError, Resource
from ganeti.rapi.res_common import require_query

#: resources RAPI may query (spec fields.md §1)
QUERY_RESOURCES = ("group", "export", "instance", "job", "lock", "network", "node", "filter")
#: of those, what this cluster has no data for yet: answering 501 says
#: "not implemented" instead of a confusing "bad request"
UNSUPPORTED = {"network": "Networks", "filter": "Filters", "export": "Exports"}

_RESULT_SCHEMA = {"type": "object", "properties": {"fields": {"type": "array"},
                                                   "data": {"type": "array"}}}
_FIELDS_SCHEMA = {"type": "object", "properties": {"fields": {"type": "array"}}}
_PUT_BODY = {
    "type": "object", "additionalProperties": False,
    "properties": {"fields": {"type": "array", "items": {"type": "string"}},
                   "qfilter": {"type": ["array", "null"], "description": "Query filter"},
                   "filter": {"type": ["array", "null"], "description": "Old name of qfilter"}},
}


def _resource(ctx: Context) -> str:
    what = ctx.params.get("resource", "")
    if what not in QUERY_RESOURCES:
        raise RapiError(404, "Unknown query resource '%s' (known: %s)"
                        % (what, ", ".join(QUERY_RESOURCES)))
    if what in UNSUPPORTED:
        raise RapiError(501, "%s are not supported by this cluster yet" % UNSUPPORTED[what])
    return what


def _split_fields(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _check_fields(fields: Any) -> list[str]:
    if not isinstance(fields, list) or not fields or \
            not all(isinstance(f, str) and f for f in fields):
        raise RapiError(400, "'fields' must be a non-empty list of field names")
    return fields


def query_get(ctx: Context) -> dict:
    """Fields from the ``fields`` query argument (comma list); no filter."""
    what = _resource(ctx)
    fields = _check_fields(_split_fields(require_query(ctx, "fields")))
    return ctx.luxi().query(what, fields, None)


def query_put(ctx: Context) -> dict:
    """Body ``fields`` (else the query argument) and ``qfilter`` (legacy ``filter``)."""
    what = _resource(ctx)
    body = ctx.body_dict()
    unknown = sorted(set(body) - set(_PUT_BODY["properties"]))
    if unknown:
        raise RapiError(400, "Unknown body parameter(s): %s" % ", ".join(unknown))
    if "fields" in body:
        fields = _check_fields(body["fields"])
    else:
        fields = _check_fields(_split_fields(require_query(ctx, "fields")))
    qfilter = body.get("qfilter")
    if qfilter is None:
        qfilter = body.get("filter")
    if qfilter is not None and not isinstance(qfilter, list):
        raise RapiError(400, "'qfilter' must be a list (a filter) or null")
    return ctx.luxi().query(what, fields, qfilter)


def query_fields(ctx: Context) -> dict:
    """Field definitions, all or those named in ``fields``."""
    what = _resource(ctx)
    text = ctx.query_str("fields")
    fields = _split_fields(text) if text else None
    return ctx.luxi().query_fields(what, fields)


RESOURCES = [
    Resource("/2/query/{resource}", "query", {
        "GET": Method(query_get, "Query a resource (query2)", access=READ_WRITE,
                      query_args=("fields",), returns=_RESULT_SCHEMA),
        "PUT": Method(query_put, "Query a resource with a filter (query2)", access=READ_WRITE,
                      query_args=("fields",), body=_PUT_BODY, returns=_RESULT_SCHEMA),
    }),
    Resource("/2/query/{resource}/fields", "query_fields", {
        "GET": Method(query_fields, "Fields of a query resource", query_args=("fields",),
                      returns=_FIELDS_SCHEMA)}),
]
